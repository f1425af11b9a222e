"""The low-rank plus diagonal family: its algebra against dense formulas, its gradient, and the ELBO ladder."""
from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import LIKELIHOODS, make_problem
from tests.core.test_optimize import correlated_lag_design, drive
from vbgui.core.elbo import ExactEstimator, GLMProblem
from vbgui.core.families import Family, GaussianPosterior
from vbgui.core.likelihoods import Likelihood
from vbgui.core.low_rank import LowRankPosterior, exact_low_rank_gradient
from vbgui.core.optimize import optimizer_for


def random_low_rank(dim: int = 7, rank: int = 3, seed: int = 0) -> LowRankPosterior:
    rng = np.random.default_rng(seed)
    return LowRankPosterior(Family.create("low-rank", dim, rank=rank), rng.normal(size=dim),
                            np.log(rng.uniform(0.2, 0.6, dim)), 0.4 * rng.normal(size=(dim, rank)))


def test_algebra_matches_the_dense_covariance():
    q = random_low_rank()
    cov = np.diag(q.diag_var) + q.factor @ q.factor.T
    np.testing.assert_allclose(q.cov, cov)
    np.testing.assert_allclose(q.chol @ q.chol.T, cov)
    np.testing.assert_allclose(q.precision(), np.linalg.inv(cov), rtol=1e-10)
    np.testing.assert_allclose(q.inverse_cov_diagonal(), np.diag(np.linalg.inv(cov)), rtol=1e-10)
    np.testing.assert_allclose(q.inverse_cov_times_factor(), np.linalg.solve(cov, q.factor), rtol=1e-10)
    assert q.log_det_cov() == pytest.approx(np.linalg.slogdet(cov)[1], rel=1e-12)
    dense = GaussianPosterior(Family.create("full-rank", q.dim), q.mean, np.linalg.cholesky(cov))
    assert q.kl_to_prior(1.3) == pytest.approx(dense.kl_to_prior(1.3), rel=1e-12)
    assert q.entropy() == pytest.approx(dense.entropy(), rel=1e-12)
    draws = q.sample(np.random.default_rng(1), 200_000)
    np.testing.assert_allclose(np.cov(draws.T), cov, atol=0.02)


@pytest.mark.parametrize("likelihood", LIKELIHOODS)
def test_the_low_rank_pass_equals_the_dense_pass(likelihood):
    problem = make_problem(likelihood, n_rows=2000, dim=6)
    q = random_low_rank(dim=6, rank=2, seed=3)
    estimator = ExactEstimator(problem)
    dense = GaussianPosterior(Family.create("full-rank", 6), q.mean, q.chol)
    low_rank = exact_low_rank_gradient(estimator, q)
    assert low_rank.terms.elbo == pytest.approx(estimator.value(dense).elbo, rel=1e-12)
    np.testing.assert_allclose(low_rank.grad_mean, estimator.evaluate(dense).grad_mean, rtol=1e-9, atol=1e-9)


def test_the_elbo_ladder_mean_field_low_rank_full_rank():
    dim = 12
    rng = np.random.default_rng(0)
    design = correlated_lag_design(5000, dim - 1, 0.9, 0)
    response = rng.poisson(np.exp(design @ (0.1 * rng.standard_normal(dim)) - 1.0)).astype(float)
    problem = GLMProblem(design, response, Likelihood("poisson"), 1.0)
    estimator = ExactEstimator(problem)
    precision = estimator.curvature_at_point(np.zeros(dim)) + np.eye(dim)
    elbos = {}
    for name, rank in (("mean-field", None), ("low-rank", 1), ("low-rank", 3), ("low-rank", 6),
                       ("low-rank", dim - 1), ("full-rank", None)):
        family = Family.create(name, dim, rank=rank)
        q0 = (LowRankPosterior if family.is_low_rank else GaussianPosterior).from_precision(
            family, np.zeros(dim), precision)
        _, outcome = drive(optimizer_for(estimator, q0, 5000))
        assert outcome.converged, (name, rank, outcome.message)
        elbos[(name, rank)] = estimator.value(GaussianPosterior(Family.create("full-rank", dim), outcome.q.mean,
                                                                outcome.q.chol)).elbo
    ladder = list(elbos.values())
    assert all(a < b for a, b in zip(ladder[:-2], ladder[1:-1]))  # strictly better with every rank
    # rank D - 1 plus a diagonal can represent any covariance: it meets full-rank (to the L-BFGS stop)
    assert elbos[("full-rank", None)] - elbos[("low-rank", dim - 1)] == pytest.approx(0.0, abs=1e-5)
    assert elbos[("low-rank", dim - 1)] <= elbos[("full-rank", None)] + 1e-9

