"""One contract over the whole matrix family x likelihood x estimator, through FitSession.

Every registered family, likelihood and estimator enters the matrix by
itself (the lists come from vbgui.core.names).  For each combination, on a
small synthetic recording:

* the reported ELBO equals an independent evaluation at the returned q
  (numpy Gauss-Hermite with 60 nodes per row over scipy.stats densities,
  and a dense KL);
* an exact fit reaches the optimum: no Newton direction of the independent
  ELBO gains more than 1e-8 nats;
* a Monte Carlo fit ends within its stated tolerance of the exact optimum of
  the same family: 2e-3 nats per variational parameter for reparam and 4e-3
  for the score-function estimator, whose gradients are several times
  noisier.  Measured over this matrix (10 draws per step): reparam
  0.1-1.0e-3 except mean-field gaussian at 1.6e-3, score-function
  0.6-3.1e-3 (the largest: low-rank poisson).  (On the larger problems of
  tests/core/test_optimize.py reparam stays within 1e-3.)
* the estimator's gradient matches finite differences (exact, and reparam at
  fixed draws) or, for the score-function estimator, averages to the exact
  gradient within five standard errors.
"""
from __future__ import annotations

import itertools
from functools import lru_cache

import numpy as np
import pytest

from tests.core import likelihood_oracle as oracle
from vbgui.app.fit import FitSession
from vbgui.core.elbo import make_estimator
from vbgui.core.families import GaussianPosterior
from vbgui.core.gradient_variance import flatten, gradient_spread
from vbgui.core.low_rank import LowRankPosterior, exact_low_rank_gradient, monte_carlo_low_rank_gradient
from vbgui.core.names import ESTIMATOR_NAMES, FAMILY_NAMES, LIKELIHOOD_NAMES
from vbgui.models.preset import preset_from_dict
from vbgui.models.synthetic import make_synthetic_recording

NATS_PER_PARAMETER = {"reparam": 2e-3, "score-function": 4e-3}
MATRIX = list(itertools.product(FAMILY_NAMES, LIKELIHOOD_NAMES, ESTIMATOR_NAMES))


def preset_for(likelihood: str, family: str, estimator: str):
    data = {"likelihood": likelihood, "design": {"stimulus_lags": 3, "spike_history_lags": 0, "bias": True},
            "prior": {"scale": 1.0},
            "fit": {"family": family, "estimator": estimator, "max_iter": 20_000, "seed": 4, "samples": 10,
                    "rank": 2}}
    if likelihood == "gaussian":
        data["noise_sd"] = 0.7
    if likelihood == "negative-binomial":
        data["dispersion"] = 0.5
    return preset_from_dict(data, source="contract")


@lru_cache(maxsize=None)
def recording(likelihood: str):
    return make_synthetic_recording(likelihood, n_bins=500, stimulus_lags=3, mean_response=0.5, seed=11,
                                    noise_sd=0.7, dispersion=0.5)


@lru_cache(maxsize=None)
def fitted(family: str, likelihood: str, estimator: str):
    session = FitSession(preset_for(likelihood, family, estimator), recording(likelihood))
    return session, session.run()


def independent_elbo(session: FitSession, mean: np.ndarray, cov: np.ndarray) -> float:
    """E_q[log p(y | X w)] by 60-node Gauss-Hermite per row on scipy.stats densities, minus a dense KL."""
    problem = session.problem
    X, y = problem.design.materialise(), problem.response
    nodes, weights = np.polynomial.hermite_e.hermegauss(60)
    weights = weights / weights.sum()
    mu = X @ mean
    sd = np.sqrt(np.einsum("ti,ij,tj->t", X, cov, X))
    eta = mu[:, None] + sd[:, None] * nodes[None, :]
    ell = float(np.sum(oracle.log_prob(problem.likelihood, y[:, None], eta) @ weights))
    d, s2 = len(mean), problem.prior_scale ** 2
    kl = 0.5 * (np.trace(cov) / s2 + mean @ mean / s2 - d + d * np.log(s2) - np.linalg.slogdet(cov)[1])
    return ell - kl


@pytest.mark.parametrize("family,likelihood,estimator", MATRIX)
def test_reported_elbo_is_the_independent_elbo_at_the_returned_q(family, likelihood, estimator):
    session, result = fitted(family, likelihood, estimator)
    assert result.stop_reason in ("converged", "max_iter")
    reference = independent_elbo(session, result.mean, result.cov)
    assert result.elbo == pytest.approx(reference, rel=1e-9, abs=1e-8)
    assert result.elbo == pytest.approx(result.expected_log_likelihood - result.kl, abs=1e-9)


@pytest.mark.parametrize("family,likelihood", list(itertools.product(FAMILY_NAMES, LIKELIHOOD_NAMES)))
def test_exact_fits_reach_the_optimum_and_monte_carlo_fits_come_within_their_tolerance(family, likelihood):
    session, exact = fitted(family, likelihood, "exact")
    assert exact.converged
    # No step along the Newton direction in the mean (the exact curvature) gains anything.
    estimator = make_estimator("exact", session.problem)
    q = GaussianPosterior(session.family, exact.mean, np.linalg.cholesky(exact.cov) * session.family.block_mask())
    evaluation = estimator.evaluate(q, want_curvature=True)
    hessian = evaluation.curvature + np.eye(q.dim) / session.problem.prior_scale ** 2
    direction = np.linalg.solve(hessian, evaluation.grad_mean)
    # L-BFGS (low-rank) stops on a predicted gain of 1e-10 relative, Newton on the ELBO's rounding
    bound = 1e-10 * abs(exact.elbo) if session.family.is_low_rank else 1e-8
    assert 0.5 * direction @ evaluation.grad_mean < bound
    fitted_family = session.family
    n_variational = (fitted_family.dim * (2 + fitted_family.rank) if fitted_family.is_low_rank
                     else q.dim + int(fitted_family.chol_mask().sum()))
    for estimator_name in ESTIMATOR_NAMES:
        if estimator_name == "exact":
            continue
        _, monte_carlo = fitted(family, likelihood, estimator_name)
        deficit = exact.elbo - monte_carlo.elbo
        assert -1e-9 <= deficit < NATS_PER_PARAMETER[estimator_name] * n_variational, estimator_name


def _numeric_gradient(value, q: GaussianPosterior, step: float = 1e-5) -> np.ndarray:
    """Central differences of ``value(q)`` in (m, free entries of L), flattened like gradient_variance.flatten."""
    parts = []
    for i in range(q.dim):
        e = np.zeros(q.dim)
        e[i] = step
        parts.append((value(replace_q(q, mean=q.mean + e)) - value(replace_q(q, mean=q.mean - e))) / (2 * step))
    for i, j in zip(*np.nonzero(q.family.chol_mask())):
        e = np.zeros((q.dim, q.dim))
        e[i, j] = step
        parts.append((value(replace_q(q, chol=q.chol + e)) - value(replace_q(q, chol=q.chol - e))) / (2 * step))
    return np.array(parts)


def replace_q(q: GaussianPosterior, mean=None, chol=None) -> GaussianPosterior:
    return GaussianPosterior(q.family, q.mean if mean is None else mean, q.chol if chol is None else chol)


@pytest.mark.parametrize("family,likelihood,estimator", MATRIX)
def test_gradients_are_right(family, likelihood, estimator):
    session, exact = fitted(family, likelihood, "exact")
    rng = np.random.default_rng(5)
    chol = np.linalg.cholesky(exact.cov) * session.family.block_mask()
    q = GaussianPosterior(session.family, exact.mean + 0.05 * rng.standard_normal(len(exact.mean)),
                          chol * (1.0 + 0.2 * np.tril(rng.random(chol.shape))))
    exact_estimator = make_estimator("exact", session.problem)
    if session.family.is_low_rank:
        check_low_rank_gradient(exact_estimator, make_estimator(estimator, session.problem, 10, seed=2), session, exact)
        return
    exact_gradient = flatten(q, exact_estimator.gradient(q))
    if estimator == "exact":
        numeric = _numeric_gradient(lambda r: exact_estimator.value(r).elbo, q)
        np.testing.assert_allclose(exact_gradient, numeric, rtol=1e-5, atol=1e-5)
        return
    mc = make_estimator(estimator, session.problem, 10, seed=2)
    if estimator == "reparam":
        eps = mc.draw_noise()
        numeric = _numeric_gradient(lambda r: mc.gradient_at(r, eps).terms.elbo, q)
        np.testing.assert_allclose(flatten(q, mc.gradient_at(q, eps)), numeric, rtol=1e-5, atol=1e-5)
    spread = gradient_spread(mc, q, 600)
    standard_error = np.sqrt(spread.variance / spread.repeats)
    assert np.all(np.abs(spread.mean - exact_gradient) < 5 * standard_error + 1e-9)


def check_low_rank_gradient(exact_estimator, estimator, session, exact) -> None:
    """Low-rank gradients in (m, log sqrt(d), V), away from the optimum: the exact one and reparam at fixed
    draws against central differences; the score function's average against the exact gradient."""
    rng = np.random.default_rng(6)
    family = session.family
    q = LowRankPosterior(family, exact.mean + 0.05 * rng.standard_normal(family.dim),
                         np.log(0.1 + 0.05 * rng.random(family.dim)), 0.1 * rng.standard_normal((family.dim, family.rank)))

    def flat(gradient):
        return np.concatenate([gradient.grad_mean, gradient.grad_log_sd, gradient.grad_factor.ravel()])

    exact_gradient = flat(exact_low_rank_gradient(exact_estimator, q))
    if estimator.name == "score-function":
        draws = np.array([flat(monte_carlo_low_rank_gradient(estimator, q)) for _ in range(600)])
        standard_error = draws.std(axis=0, ddof=1) / np.sqrt(len(draws))
        assert np.all(np.abs(draws.mean(axis=0) - exact_gradient) < 5 * standard_error + 1e-9)
        return
    if estimator.name == "exact":
        value, analytic = (lambda r: exact_low_rank_gradient(exact_estimator, r).terms.elbo), exact_gradient
    else:
        eps = rng.standard_normal((10, family.dim + family.rank))
        value = lambda r: monte_carlo_low_rank_gradient(estimator, r, eps).terms.elbo  # noqa: E731
        analytic = flat(monte_carlo_low_rank_gradient(estimator, q, eps))
    theta = [q.mean, q.log_sd, q.factor]
    numeric, step = [], 1e-5
    for part in range(3):
        for index in np.ndindex(theta[part].shape):
            plus, minus = [t.copy() for t in theta], [t.copy() for t in theta]
            plus[part][index] += step
            minus[part][index] -= step
            numeric.append((value(LowRankPosterior(family, *plus)) - value(LowRankPosterior(family, *minus)))
                           / (2 * step))
    np.testing.assert_allclose(analytic, numeric, rtol=1e-5, atol=1e-5)


def test_the_matrix_covers_every_registered_name():
    assert len(MATRIX) == len(FAMILY_NAMES) * len(LIKELIHOOD_NAMES) * len(ESTIMATOR_NAMES) >= 48
