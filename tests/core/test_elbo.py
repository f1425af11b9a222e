"""The exact and the reparameterisation estimators: values and gradients.

One contract runs every family x estimator x likelihood through the same checks.
"""
from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from tests.conftest import FAMILIES, LIKELIHOODS, make_problem, random_q
from tests.core import likelihood_oracle as oracle
from vbgui.core import rowpass
from vbgui.core.cancel import CancelToken, FitCancelled
from vbgui.core.conjugate import linear_gaussian_posterior
from vbgui.core.elbo import ExactEstimator, GLMProblem, ReparamEstimator
from vbgui.core.families import Family, GaussianPosterior


def perturbed(q: GaussianPosterior, d_mean=None, d_chol=None) -> GaussianPosterior:
    mean = q.mean if d_mean is None else q.mean + d_mean
    chol = q.chol if d_chol is None else q.chol + d_chol
    return GaussianPosterior(q.family, mean, chol)


def finite_difference_gradients(value, q: GaussianPosterior, step: float = 1e-6):
    """Central differences of ``value(q)`` in every mean entry and every free entry of L."""
    grad_mean = np.zeros(q.dim)
    for i in range(q.dim):
        d = np.zeros(q.dim)
        d[i] = step
        grad_mean[i] = (value(perturbed(q, d_mean=d)) - value(perturbed(q, d_mean=-d))) / (2 * step)
    grad_chol = np.zeros((q.dim, q.dim))
    for i, j in zip(*np.nonzero(q.family.chol_mask())):
        d = np.zeros((q.dim, q.dim))
        d[i, j] = step
        grad_chol[i, j] = (value(perturbed(q, d_chol=d)) - value(perturbed(q, d_chol=-d))) / (2 * step)
    return grad_mean, grad_chol


def independent_elbo(problem: GLMProblem, q: GaussianPosterior, n_draws: int, seed: int) -> tuple[float, float]:
    """Plain numpy Monte Carlo of E_q[log p(y | Xw)] (mean, standard error) minus the closed-form KL."""
    draws = q.sample(np.random.default_rng(seed), n_draws)
    per_draw = oracle.log_prob(problem.likelihood, problem.response[:, None], problem.design.materialise() @ draws.T).sum(axis=0)
    kl = q.kl_to_prior(problem.prior_scale)
    return float(per_draw.mean() - kl), float(per_draw.std(ddof=1) / np.sqrt(n_draws))


@pytest.mark.parametrize("likelihood", LIKELIHOODS)
@pytest.mark.parametrize("family_name", FAMILIES)
def test_exact_estimator_agrees_with_large_monte_carlo_average(likelihood, family_name):
    problem = make_problem(likelihood, n_rows=400, dim=4)
    q = random_q(family_name, 4)
    exact = ExactEstimator(problem).value(q)
    mc, se = independent_elbo(problem, q, 40_000, seed=5)
    assert abs(exact.elbo - mc) < 4 * se + 1e-9
    assert exact.elbo == pytest.approx(exact.expected_log_likelihood - exact.kl)


@pytest.mark.parametrize("likelihood", LIKELIHOODS)
@pytest.mark.parametrize("family_name", FAMILIES)
def test_exact_gradients_match_finite_differences(likelihood, family_name):
    problem = make_problem(likelihood, n_rows=300, dim=4)
    estimator = ExactEstimator(problem)
    q = random_q(family_name, 4)
    gradient = estimator.gradient(q)
    fd_mean, fd_chol = finite_difference_gradients(lambda qq: estimator.value(qq).elbo, q)
    np.testing.assert_allclose(gradient.grad_mean, fd_mean, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(gradient.grad_chol, fd_chol, rtol=1e-6, atol=1e-6)
    assert np.all(gradient.grad_chol[~q.family.chol_mask()] == 0.0)


@pytest.mark.parametrize("likelihood", LIKELIHOODS)
@pytest.mark.parametrize("family_name", FAMILIES)
def test_reparam_gradients_match_finite_differences_with_common_random_numbers(likelihood, family_name):
    problem = make_problem(likelihood, n_rows=300, dim=4)
    estimator = ReparamEstimator(problem, n_samples=3, seed=2)
    q = random_q(family_name, 4)
    eps = estimator.draw_noise()
    gradient = estimator.gradient_at(q, eps)
    fd_mean, fd_chol = finite_difference_gradients(lambda qq: estimator.gradient_at(qq, eps).terms.elbo, q)
    np.testing.assert_allclose(gradient.grad_mean, fd_mean, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(gradient.grad_chol, fd_chol, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("likelihood", LIKELIHOODS)
def test_reparam_estimates_are_unbiased_for_the_exact_elbo_and_gradient(likelihood):
    problem = make_problem(likelihood, n_rows=300, dim=4)
    q = random_q("full-rank", 4)
    exact = ExactEstimator(problem).gradient(q)
    estimator = ReparamEstimator(problem, n_samples=50, seed=11)
    estimates = [estimator.gradient(q) for _ in range(100)]
    elbos = np.array([e.terms.elbo for e in estimates])
    assert abs(elbos.mean() - exact.terms.elbo) < 4 * elbos.std(ddof=1) / np.sqrt(len(elbos))
    grads = np.array([e.grad_mean for e in estimates])
    se = grads.std(axis=0, ddof=1) / np.sqrt(len(grads))
    assert np.all(np.abs(grads.mean(axis=0) - exact.grad_mean) < 4.5 * se + 1e-9)


def test_elbo_bounds_the_exact_log_evidence_and_touches_it_at_the_posterior():
    problem = make_problem("gaussian", n_rows=500, dim=4)
    exact = linear_gaussian_posterior(problem)
    estimator = ExactEstimator(problem)
    full = Family.create("full-rank", 4)
    at_posterior = GaussianPosterior(full, exact.mean, np.linalg.cholesky(exact.cov))
    assert estimator.value(at_posterior).elbo == pytest.approx(exact.log_evidence, rel=1e-12)
    for family_name in FAMILIES:
        assert estimator.value(random_q(family_name, 4)).elbo < exact.log_evidence


def test_log_evidence_matches_the_marginal_gaussian_density():
    from scipy import stats

    problem = make_problem("gaussian", n_rows=60, dim=3, prior_scale=1.3)
    X, s2, n2 = problem.design.materialise(), problem.prior_scale ** 2, problem.likelihood.noise_var
    marginal = stats.multivariate_normal(np.zeros(60), s2 * X @ X.T + n2 * np.eye(60))
    assert linear_gaussian_posterior(problem).log_evidence == pytest.approx(marginal.logpdf(problem.response),
                                                                           rel=1e-12)


@pytest.mark.parametrize("family_name", ["mean-field", "full-rank"])
def test_a_pass_split_over_threads_equals_a_single_pass(monkeypatch, family_name):
    problem = make_problem("poisson", n_rows=5000, dim=5)
    q = random_q(family_name, 5)
    whole = ExactEstimator(problem).evaluate(q, want_curvature=True)
    monkeypatch.setattr(rowpass, "CHUNK_ROWS", 700)
    split = ExactEstimator(problem).evaluate(q, want_curvature=True)
    assert split.terms.elbo == pytest.approx(whole.terms.elbo, rel=1e-13)
    np.testing.assert_allclose(split.curvature, whole.curvature, rtol=1e-12)
    np.testing.assert_allclose(split.grad_mean, whole.grad_mean, rtol=1e-11, atol=1e-9)


def test_a_cancelled_token_stops_a_pass():
    problem = make_problem("poisson", n_rows=200_000, dim=3)
    token = CancelToken()
    token.cancel()
    with pytest.raises(FitCancelled):
        ExactEstimator(problem, token).value(random_q("full-rank", 3))


@pytest.mark.parametrize("n_rows", [5_000, 60_000])
def test_cancel_stops_a_monte_carlo_pass_of_many_draws_within_100_ms(n_rows):
    """One step with 100,000 draws takes tens of seconds; a cancel must not wait for it."""
    problem = make_problem("poisson", n_rows=n_rows, dim=26)
    estimator = ReparamEstimator(problem, 10, seed=0, cancel=CancelToken())
    estimator.gradient(random_q("full-rank", 26))  # warm: compiled, threads started
    estimator.n_samples = 100_000
    outcome: dict[str, float] = {}

    def run() -> None:
        try:
            estimator.gradient(random_q("full-rank", 26))
        except FitCancelled:
            outcome["stopped"] = time.perf_counter()

    worker = threading.Thread(target=run)
    worker.start()
    time.sleep(0.3)
    cancelled_at = time.perf_counter()
    estimator.cancel.cancel()
    worker.join(5.0)
    assert not worker.is_alive() and "stopped" in outcome
    assert outcome["stopped"] - cancelled_at < 0.100
