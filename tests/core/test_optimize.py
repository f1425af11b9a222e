"""Optimisers against closed-form optima, and their stopping behaviour."""
from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import FAMILIES, LIKELIHOODS, make_problem, reparam_elbo_tolerance
from vbgui.core.conjugate import linear_gaussian_posterior, mean_field_gap
from vbgui.core.elbo import ExactEstimator, GLMProblem, ReparamEstimator
from vbgui.core.families import Family, GaussianPosterior
from vbgui.core.likelihoods import Likelihood
from vbgui.core.optimize import adam, newton_fixed_point



def drive(optimizer):
    reports = []
    try:
        while True:
            reports.append(next(optimizer))
    except StopIteration as stop:
        return reports, stop.value


def start(problem: GLMProblem, family_name: str) -> GaussianPosterior:
    family = Family.create(family_name, problem.dim, [[0], list(range(1, problem.dim))])
    return GaussianPosterior.isotropic(family, np.zeros(problem.dim), 0.1)


def test_full_rank_fit_of_linear_gaussian_reaches_the_exact_log_evidence():
    problem = make_problem("gaussian", n_rows=2000, dim=5, prior_scale=1.5)
    exact = linear_gaussian_posterior(problem)
    reports, outcome = drive(newton_fixed_point(ExactEstimator(problem), start(problem, "full-rank"), 50))
    assert outcome.converged
    assert reports[-1].terms.elbo == pytest.approx(exact.log_evidence, rel=1e-6)
    assert reports[-1].terms.elbo <= exact.log_evidence + 1e-9 * abs(exact.log_evidence)
    np.testing.assert_allclose(outcome.q.mean, exact.mean, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(outcome.q.cov, exact.cov, rtol=1e-8, atol=1e-12)


def test_mean_field_fit_of_linear_gaussian_matches_its_closed_form():
    problem = make_problem("gaussian", n_rows=2000, dim=5, prior_scale=1.5)
    exact = linear_gaussian_posterior(problem)
    reports, outcome = drive(newton_fixed_point(ExactEstimator(problem), start(problem, "mean-field"), 50))
    assert outcome.converged
    np.testing.assert_allclose(outcome.q.mean, exact.mean, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(outcome.q.variance, 1.0 / np.diag(exact.precision), rtol=1e-8)
    gap = exact.log_evidence - reports[-1].terms.elbo
    assert gap == pytest.approx(mean_field_gap(exact.precision), rel=1e-6)
    assert gap > 0.1  # the design is correlated: mean-field really loses something here


@pytest.mark.parametrize("likelihood", ["poisson", "bernoulli"])
def test_richer_families_reach_higher_elbos(likelihood):
    problem = make_problem(likelihood, n_rows=4000, dim=6)
    elbos = {}
    for family_name in FAMILIES:
        reports, outcome = drive(newton_fixed_point(ExactEstimator(problem), start(problem, family_name), 100))
        assert outcome.converged, outcome.message
        elbos[family_name] = reports[-1].terms.elbo
        assert all(b.terms.elbo >= a.terms.elbo for a, b in zip(reports, reports[1:]))  # monotone ascent
    assert elbos["full-rank"] >= elbos["structured"] >= elbos["mean-field"]
    assert elbos["full-rank"] - elbos["mean-field"] > 0.01


@pytest.mark.parametrize("family_name", FAMILIES)
def test_an_independent_optimiser_cannot_improve_on_the_newton_optimum(family_name):
    """scipy's L-BFGS over (m, free entries of L), started at our optimum, gains < 1e-6 nats."""
    from scipy.optimize import minimize

    problem = make_problem("poisson", n_rows=4000, dim=6)
    estimator = ExactEstimator(problem)
    _, outcome = drive(newton_fixed_point(estimator, start(problem, family_name), 100))
    q = outcome.q
    free = q.family.chol_mask()

    def negative_elbo(theta):
        chol = np.zeros((q.dim, q.dim))
        chol[free] = theta[q.dim:]
        trial = GaussianPosterior(q.family, theta[:q.dim], chol)
        gradient = estimator.gradient(trial)
        return -gradient.terms.elbo, -np.concatenate([gradient.grad_mean, gradient.grad_chol[free]])

    theta0 = np.concatenate([q.mean, q.chol[free]])
    found = minimize(negative_elbo, theta0, jac=True, method="L-BFGS-B",
                     options={"ftol": 1e-15, "gtol": 1e-10, "maxiter": 500})
    assert -found.fun - estimator.value(q).elbo < 1e-6


def correlated_lag_design(n_rows: int, n_lags: int, rho: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    s = np.empty(n_rows + n_lags)
    s[0] = rng.standard_normal()
    for t in range(1, s.size):
        s[t] = rho * s[t - 1] + np.sqrt(1 - rho ** 2) * rng.standard_normal()
    lags = np.column_stack([s[n_lags - lag: n_lags - lag + n_rows] for lag in range(n_lags)])
    return np.column_stack([np.ones(n_rows), lags])


def test_mean_field_converges_quickly_on_strongly_correlated_lags():
    """Adjacent lags correlate at 0.92, as in the grasshopper recording: coordinate-wise
    mean-field schemes crawl here; the full-Hessian Newton step on m does not."""
    X = correlated_lag_design(30_000, 20, 0.92, seed=4)
    assert np.corrcoef(X[:, 1], X[:, 2])[0, 1] > 0.9
    rng = np.random.default_rng(1)
    w = np.concatenate([[-2.0], 0.3 * np.sin(np.arange(20) / 3.0)])
    problem = GLMProblem(X, rng.poisson(np.exp(X @ w)).astype(float), Likelihood("poisson"), 1.0)
    reports, outcome = drive(newton_fixed_point(ExactEstimator(problem), start(problem, "mean-field"), 30))
    assert outcome.converged and len(reports) <= 15
    full_reports, _ = drive(newton_fixed_point(ExactEstimator(problem), start(problem, "full-rank"), 30))
    full = ExactEstimator(problem).value(full_reports[-1].q)
    assert np.all(reports[-1].q.sd[1:] < 0.5 * full_reports[-1].q.sd[1:])  # mean-field underestimates spread
    assert full.elbo - reports[-1].terms.elbo > 1.0


@pytest.mark.parametrize("likelihood", LIKELIHOODS)
@pytest.mark.parametrize("family_name", ["mean-field", "full-rank"])
def test_adam_on_the_monte_carlo_elbo_reaches_the_exact_optimum(likelihood, family_name):
    problem = make_problem(likelihood, n_rows=5000, dim=6)
    estimator = ExactEstimator(problem)
    _, best = drive(newton_fixed_point(estimator, start(problem, family_name), 100))
    _, outcome = drive(adam(ReparamEstimator(problem, 10, seed=0), start(problem, family_name), 20_000, 0.05))
    assert outcome.converged, outcome.message
    deficit = estimator.value(best.q).elbo - estimator.value(outcome.q).elbo
    assert -1e-9 <= deficit < reparam_elbo_tolerance(outcome.q.family)


def test_adam_that_diverges_keeps_the_last_finite_q():
    problem = make_problem("poisson", n_rows=2000, dim=4)
    _, outcome = drive(adam(ReparamEstimator(problem, 1, seed=0), start(problem, "full-rank"), 5000,
                            learning_rate=8.0))
    assert outcome.reason == "non-finite"
    assert "non-finite" in outcome.message
    assert outcome.q.is_finite()


def test_a_start_with_an_infinite_elbo_is_reported_not_run():
    problem = GLMProblem(np.full((10, 2), 1e4), np.ones(10), Likelihood("poisson"), 1.0)
    reports, outcome = drive(newton_fixed_point(ExactEstimator(problem), start(problem, "full-rank"), 10))
    assert reports == [] and outcome.reason == "non-finite"


def test_iteration_cap_is_reported():
    problem = make_problem("poisson", n_rows=2000, dim=4)
    reports, outcome = drive(newton_fixed_point(ExactEstimator(problem), start(problem, "full-rank"), 2))
    assert len(reports) == 2 and outcome.reason == "max_iter" and not outcome.converged


def _lagged_problem(likelihood: str, n_rows: int, dim: int, seed: int = 0) -> GLMProblem:
    """Lags of one white-noise stimulus (neighbouring columns overlap), a bias, a response from the model."""
    rng = np.random.default_rng(seed)
    stimulus = rng.standard_normal(n_rows + dim)
    design = 0.3 * np.lib.stride_tricks.sliding_window_view(stimulus, dim)[:n_rows].copy()
    design[:, 0] = 1.0
    weights = np.r_[-1.0, 0.05 * rng.standard_normal(dim - 1)]
    eta = design @ weights
    draws = {"poisson": lambda: rng.poisson(np.exp(eta)),
             "negative-binomial": lambda: rng.negative_binomial(2.0, 2.0 / (2.0 + np.exp(eta))),
             "bernoulli": lambda: rng.random(n_rows) < 1 / (1 + np.exp(-eta)),
             "gaussian": lambda: eta + 0.7 * rng.standard_normal(n_rows)}
    return GLMProblem(design, draws[likelihood]().astype(float), Likelihood(likelihood, 0.7, 0.5), 1.0)


@pytest.mark.parametrize("likelihood", LIKELIHOODS)
def test_matrix_free_newton_reaches_the_dense_optimum_without_a_d_by_d_matrix(likelihood, monkeypatch):
    problem = _lagged_problem(likelihood, n_rows=4000, dim=120)
    family = Family.create("mean-field", problem.dim)
    q0 = GaussianPosterior.isotropic(family, np.zeros(problem.dim), 0.1)
    _, dense = drive(newton_fixed_point(ExactEstimator(problem), q0, 100, matrix_free=False))
    estimator = ExactEstimator(problem)
    evaluate = estimator.evaluate
    curvature_requests = []

    def spy(q, want_curvature=False):
        curvature_requests.append(want_curvature)
        return evaluate(q, want_curvature)

    monkeypatch.setattr(estimator, "evaluate", spy)
    _, matrix_free = drive(newton_fixed_point(estimator, q0, 100))  # the default at D >= 100
    assert dense.converged and matrix_free.converged
    assert not any(curvature_requests)
    value = ExactEstimator(problem).value
    assert value(matrix_free.q).elbo == pytest.approx(value(dense.q).elbo, rel=1e-11, abs=1e-8)
    # Both stop on a relative ELBO change of 1e-10, which places q only to about its square root.
    np.testing.assert_allclose(matrix_free.q.mean, dense.q.mean, atol=1e-5)
    np.testing.assert_allclose(matrix_free.q.variance, dense.q.variance, rtol=1e-4)


def test_matrix_free_newton_refuses_a_non_diagonal_family():
    problem = _lagged_problem("poisson", n_rows=200, dim=5)
    q0 = GaussianPosterior.isotropic(Family.create("full-rank", 5), np.zeros(5), 0.1)
    with pytest.raises(ValueError, match="diagonal"):
        next(newton_fixed_point(ExactEstimator(problem), q0, 10, matrix_free=True))
