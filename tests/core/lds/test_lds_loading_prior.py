"""The Gaussian prior on C and d: its log density with every constant, the MAP loadings step against
scipy.optimize on the same objective, a finite-difference gradient check, and EM's monotone objective."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import minimize
from scipy.stats import norm

from tests.core.lds.conftest import rotating_params, simulate
from vbgui.core.generators import run_to_end
from vbgui.core.lds.em import EmSettings, variational_em
from vbgui.core.lds.loading_prior import LoadingPrior
from vbgui.core.lds.observations import loading_objective, loading_update
from vbgui.core.lds.sample import initial_params
from vbgui.core.likelihoods import Likelihood

PRIOR = LoadingPrior(loading_sd=0.4, offset_sd=2.0)


@pytest.fixture
def fitted_q():
    """(observations, C, d, q's means and marginal covariances) after a few EM iterations without a prior."""
    lik = Likelihood("poisson")
    truth = rotating_params(np.random.default_rng(41), 2, 6)
    _, observations = simulate(truth, 200, lik, seed=42)
    start = initial_params(observations.y, lik, 2)
    outcome = run_to_end(variational_em([observations], start, EmSettings(max_iter=5)))
    q = outcome.posteriors[0]
    return observations, outcome.params.C, outcome.params.d, q.mean, q.moments.marginal


def test_the_log_density_keeps_every_constant():
    rng = np.random.default_rng(0)
    loading, offset = rng.standard_normal((5, 3)), rng.standard_normal(5)
    expected = norm.logpdf(loading, scale=0.4).sum() + norm.logpdf(offset, scale=2.0).sum()
    assert PRIOR.log_density(loading, offset) == pytest.approx(expected, rel=1e-14)
    assert LoadingPrior(loading_sd=0.4).log_density(loading, offset) == pytest.approx(
        norm.logpdf(loading, scale=0.4).sum(), rel=1e-14)
    assert LoadingPrior().log_density(loading, offset) == 0.0


def test_the_objectives_gradient_is_its_finite_difference(fitted_q):
    """Central differences, step 1e-6, on every c_nk and d_n.  Measured: 6e-8 relative to the gradient's largest
    entry."""
    observations, loading, offset, mean, marginal = fitted_q
    _, gradient = loading_objective(observations, loading, offset, mean, marginal, PRIOR)
    numerical = np.zeros_like(gradient)
    step = 1e-6
    for n in range(loading.shape[0]):
        for k in range(loading.shape[1] + 1):
            values = []
            for sign in (1.0, -1.0):
                moved_loading, moved_offset = np.array(loading), np.array(offset)
                if k < loading.shape[1]:
                    moved_loading[n, k] += sign * step
                else:
                    moved_offset[n] += sign * step
                values.append(loading_objective(observations, moved_loading, moved_offset, mean, marginal,
                                                PRIOR)[0])
            numerical[n, k] = (values[0] - values[1]) / (2 * step)
    np.testing.assert_allclose(gradient, numerical, atol=1e-6 * np.max(np.abs(gradient)))


def test_the_map_loadings_step_reaches_scipys_maximiser_of_the_same_objective(fitted_q):
    """30 Newton steps against L-BFGS-B (gtol 1e-12) on sum E + log p(C, d) at a fixed q.  Measured: C and d 9e-8
    apart; objectives equal to 1e-15 relative; the prior moves C by up to 0.04 from the flat-prior maximiser."""
    observations, loading, offset, mean, marginal = fitted_q
    update = loading_update(observations, loading, offset, mean, marginal, steps=30, prior=PRIOR)
    size = loading.shape[1]

    def negative(theta: np.ndarray) -> tuple[float, np.ndarray]:
        pieces = theta.reshape(-1, size + 1)
        value, gradient = loading_objective(observations, pieces[:, :size], pieces[:, size], mean, marginal, PRIOR)
        return -value, -gradient.ravel()

    start = np.column_stack([loading, offset]).ravel()
    found = minimize(negative, start, jac=True, method="L-BFGS-B",
                     options={"gtol": 1e-12, "ftol": 1e-16, "maxiter": 5000})
    best = found.x.reshape(-1, size + 1)
    np.testing.assert_allclose(update.loading, best[:, :size], atol=1e-6)
    np.testing.assert_allclose(update.offset, best[:, size], atol=1e-6)
    map_value = loading_objective(observations, update.loading, update.offset, mean, marginal, PRIOR)[0]
    assert map_value >= -found.fun - 1e-9 * abs(map_value)
    flat = loading_update(observations, loading, offset, mean, marginal, steps=30)
    assert np.max(np.abs(flat.loading - update.loading)) > 0.01  # the prior changes the answer
    assert np.sum(update.loading ** 2) < np.sum(flat.loading ** 2)  # towards zero


def test_em_with_a_prior_never_lowers_its_objective_and_reports_log_p_of_c_and_d():
    lik = Likelihood("poisson")
    truth = rotating_params(np.random.default_rng(51), 2, 10)
    _, observations = simulate(truth, 300, lik, seed=52)
    start = initial_params(observations.y, lik, 2)
    reports = []
    outcome = run_to_end(variational_em([observations], start, EmSettings(max_iter=60, loading_prior=PRIOR)),
                         reports.append)
    objectives = [report.terms.objective for report in reports]
    assert len(objectives) >= 5 and np.all(np.diff(objectives) >= 0.0) and objectives[-1] > objectives[0]
    for report in reports:
        expected = norm.logpdf(report.params.C, scale=0.4).sum() + norm.logpdf(report.params.d, scale=2.0).sum()
        assert report.terms.log_loading_prior == pytest.approx(expected, rel=1e-12)
        assert report.terms.objective == pytest.approx(report.terms.elbo + expected, rel=1e-12)
    assert outcome.terms.objective == objectives[-1]
