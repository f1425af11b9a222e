"""The HMC sampler and its target against closed forms and an exact grid posterior."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import norm

from tests.conftest import LIKELIHOODS, make_problem
from tests.core import likelihood_oracle as oracle
from vbgui.core import hmc
from vbgui.core.conjugate import linear_gaussian_posterior
from vbgui.core.convergence import mcse_mean, mcse_sd
from vbgui.core.grid_posterior import glm_grid_posterior
from vbgui.core.cancel import CancelToken, FitCancelled


@pytest.mark.parametrize("name", LIKELIHOODS)
def test_log_joint_and_gradient_agree_with_numpy_and_finite_differences(name):
    problem = make_problem(name, n_rows=70_000, dim=4, seed=2)  # > 2 row chunks: threaded path
    rng = np.random.default_rng(0)
    weights = 0.2 * rng.standard_normal((3, 4))
    reference = np.array([oracle.log_prob(problem.likelihood, problem.response, problem.design.materialise() @ w).sum()
                          + norm.logpdf(w, scale=problem.prior_scale).sum() for w in weights])
    target = hmc.LogPosterior(problem)
    value, grad = target(weights)
    assert np.allclose(value, reference, rtol=1e-11)
    assert np.allclose(hmc.log_joint(problem, weights), reference, rtol=1e-11)
    step = 1e-5
    for k in range(3):
        numeric = [(target(weights[k] + step * e)[0] - target(weights[k] - step * e)[0])[0] / (2 * step)
                   for e in np.eye(4)[:, None, :]]
        assert np.allclose(grad[k], numeric, rtol=1e-6, atol=1e-6 * np.abs(grad[k]).max())


def test_adaptation_windows_follow_stan():
    assert hmc.adaptation_windows(1000) == [(75, 100), (100, 150), (150, 250), (250, 450), (450, 950)]
    assert hmc.adaptation_windows(200) == [(75, 100), (100, 150)]
    short = hmc.adaptation_windows(100)
    assert short == [(15, 90)]


def check_against(draws: np.ndarray, mean: np.ndarray, sd: np.ndarray, n_mcse: float = 3.0) -> None:
    """Each parameter's mean and sd within n_mcse Monte Carlo standard errors of the truth."""
    for i in range(mean.size):
        column = draws[:, :, i]
        assert abs(column.mean() - mean[i]) < n_mcse * mcse_mean(column), f"mean of parameter {i}"
        assert abs(column.std() - sd[i]) < n_mcse * mcse_sd(column), f"sd of parameter {i}"


@pytest.mark.parametrize("metric", ["dense", "diag"])
def test_sampler_agrees_with_the_linear_gaussian_closed_form(metric):
    problem = make_problem("gaussian", n_rows=2000, dim=4, seed=0)
    exact = linear_gaussian_posterior(problem)
    rng = np.random.default_rng(1)
    start_cov = 4.0 * np.diag(np.diag(exact.cov))  # a poor start: no correlations, twice the sd
    initial = exact.mean + rng.standard_normal((4, 4)) @ np.sqrt(start_cov)
    result = hmc.sample(problem, initial, hmc.HmcSettings(warmup=300, draws=800, seed=2, metric=metric),
                        initial_inverse_metric=start_cov)
    assert result.converged, result.summary_message()
    assert np.all(result.ess_bulk > 400)
    check_against(result.draws, exact.mean, np.sqrt(np.diag(exact.cov)))
    if metric == "dense":  # the adapted metric is the posterior covariance, to sampling error
        assert np.allclose(result.inverse_metric, exact.cov, atol=0.2 * np.sqrt(np.outer(*[np.diag(exact.cov)] * 2)))


def test_sampler_agrees_with_the_exact_grid_on_a_two_parameter_poisson_model():
    problem = make_problem("poisson", n_rows=100, dim=2, seed=5)  # 34 spikes: a skewed posterior
    grid = glm_grid_posterior(problem, n_points=201)
    density = np.exp(grid.log_density)
    density /= density.sum()
    a, b = np.meshgrid(*grid.axes, indexing="ij")
    grid_mean = np.array([np.sum(density * a), np.sum(density * b)])
    grid_sd = np.sqrt([np.sum(density * (a - grid_mean[0]) ** 2), np.sum(density * (b - grid_mean[1]) ** 2)])
    rng = np.random.default_rng(3)
    initial = grid_mean + 0.5 * grid_sd * rng.standard_normal((4, 2))
    result = hmc.sample(problem, initial, hmc.HmcSettings(warmup=300, draws=1000, seed=4),
                        initial_inverse_metric=np.diag(grid_sd ** 2))
    assert result.converged, result.summary_message()
    check_against(result.draws, grid_mean, grid_sd)
    skew = np.mean(((result.draws[:, :, 0] - grid_mean[0]) / grid_sd[0]) ** 3)
    grid_skew = np.sum(density * ((a - grid_mean[0]) / grid_sd[0]) ** 3)
    skew_se = np.sqrt(6.0 / result.ess_bulk[0])  # sd of a sample skewness
    assert abs(grid_skew) > 0.15 and skew == pytest.approx(grid_skew, abs=3 * skew_se)


def test_step_size_adaptation_reaches_the_target_acceptance():
    """The kept step size is the dual-averaging mean of log eps over the terminal buffer, which
    lands at or somewhat above the target acceptance (as in Stan): the acceptance falls steeply
    with eps, so the mean of oscillating log steps accepts more often than the mean acceptance.
    In whitened near-Gaussian coordinates the leapfrog becomes unstable near eps = 2, a cliff
    that a low target cannot sit on."""
    problem = make_problem("bernoulli", n_rows=3000, dim=5, seed=1)
    initial = 0.05 * np.random.default_rng(0).standard_normal((4, 5))
    results = {}
    for target in (0.6, 0.8, 0.95):
        results[target] = hmc.sample(problem, initial,
                                     hmc.HmcSettings(warmup=300, draws=300, seed=1, target_accept=target))
    assert 0.78 <= results[0.8].accept_rate <= 0.92
    assert 0.93 <= results[0.95].accept_rate <= 0.99
    assert results[0.6].accept_rate >= 0.5
    assert results[0.6].step_size > results[0.8].step_size > results[0.95].step_size


def test_progress_cancel_and_seeds():
    problem = make_problem("poisson", n_rows=3000, dim=3, seed=1)
    initial = np.array([[-1.0, 0.0, 0.0]] * 2) + 0.01
    settings = hmc.HmcSettings(chains=2, warmup=30, draws=20, seed=7)
    seen = []
    first = hmc.sample(problem, initial, settings, on_progress=seen.append)
    assert [p.iteration for p in seen] == list(range(1, 51)) and seen[-1].total == 50
    assert {p.phase for p in seen[:30]} == {"warmup"} and {p.phase for p in seen[30:]} == {"sampling"}
    again = hmc.sample(problem, initial, settings)
    assert np.array_equal(first.draws, again.draws)
    other = hmc.sample(problem, initial, hmc.HmcSettings(chains=2, warmup=30, draws=20, seed=8))
    assert not np.array_equal(first.draws, other.draws)
    token = CancelToken()

    def cancel_at_ten(progress):
        if progress.iteration == 10:
            token.cancel()

    with pytest.raises(FitCancelled):
        hmc.sample(problem, initial, settings, cancel=token, on_progress=cancel_at_ten)


def test_bad_initial_points_are_refused():
    problem = make_problem("poisson", n_rows=100, dim=3)
    with pytest.raises(ValueError):
        hmc.sample(problem, np.zeros((3, 3)), hmc.HmcSettings(chains=4))
