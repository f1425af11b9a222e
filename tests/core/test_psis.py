"""PSIS and the importance-weighted evidence against closed forms and scipy."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import genpareto

from tests.conftest import make_problem
from vbgui.core.conjugate import linear_gaussian_posterior, mean_field_gap
from vbgui.core.families import Family, GaussianPosterior
from vbgui.core.hmc import log_joint
from vbgui.core.psis import (fit_generalized_pareto, gaussian_log_density, generalized_pareto_quantile,
                             importance_weighted_evidence, khat_verdict, psis, tail_length)


def gaussian_log_ratios(proposal_sd: float, dim: int, n_draws: int, seed: int) -> np.ndarray:
    """log N(w; 0, I) - log N(w; 0, sd^2 I) for w ~ N(0, sd^2 I)."""
    rng = np.random.default_rng(seed)
    w = proposal_sd * rng.standard_normal((n_draws, dim))
    sq = np.sum(w ** 2, axis=1)
    return -0.5 * sq - (-0.5 * sq / proposal_sd ** 2 - dim * np.log(proposal_sd))


@pytest.mark.parametrize("shape", [-0.3, 0.2, 0.6, 1.0])
def test_generalized_pareto_fit_agrees_with_scipy_maximum_likelihood(shape):
    data = genpareto.rvs(shape, scale=2.0, size=3000, random_state=np.random.default_rng(4))
    k, sigma = fit_generalized_pareto(data, prior=False)
    k_ml, _, sigma_ml = genpareto.fit(data, floc=0.0)
    assert k == pytest.approx(k_ml, abs=0.02)
    assert sigma == pytest.approx(sigma_ml, rel=0.03)
    assert k == pytest.approx(shape, abs=4 * (1 + shape) / np.sqrt(data.size))  # sd of the MLE: (1+k)/sqrt(n)


def test_prior_shrinks_k_towards_one_half_by_ten_observations():
    data = genpareto.rvs(0.1, scale=1.0, size=200, random_state=np.random.default_rng(0))
    k_raw, _ = fit_generalized_pareto(data, prior=False)
    k_prior, _ = fit_generalized_pareto(data, prior=True)
    assert k_prior == pytest.approx((200 * k_raw + 5.0) / 210.0)


@pytest.mark.parametrize("k", [-0.4, 0.0, 0.3, 0.9])
def test_quantile_function_matches_scipy(k):
    p = np.linspace(0.01, 0.99, 25)
    assert np.allclose(generalized_pareto_quantile(p, k, 1.7), genpareto.ppf(p, k, scale=1.7))


def test_too_narrow_proposal_gives_a_large_khat_and_a_wide_one_a_small_khat():
    narrow = psis(gaussian_log_ratios(0.5, dim=5, n_draws=4000, seed=1))
    wide = psis(gaussian_log_ratios(1.2, dim=5, n_draws=4000, seed=1))
    assert narrow.khat > 0.7 and narrow.verdict == "poor"
    assert wide.khat < 0.5 and wide.verdict == "good"
    assert wide.ess > 0.5 * 4000 > narrow.ess


@pytest.mark.parametrize("ratio", [0.5, 0.6])
def test_khat_estimates_the_known_tail_shape_of_a_narrow_normal_proposal(ratio):
    """For target N(0, 1) and proposal N(0, r^2), P(w > t) ~ t^(-1 / (1 - r^2)): k = 1 - r^2."""
    result = psis(gaussian_log_ratios(ratio, dim=1, n_draws=20_000, seed=2))
    assert result.khat == pytest.approx(1.0 - ratio ** 2, abs=0.1)


def test_proposal_equal_to_target_gives_uniform_weights_and_a_small_khat():
    rng = np.random.default_rng(3)
    log_ratios = np.full(1000, -1234.5) + 1e-12 * rng.standard_normal(1000)
    result = psis(log_ratios)
    assert result.khat < 0.5 and result.verdict == "good"
    assert np.allclose(result.weights, 1.0 / 1000, rtol=1e-9)
    assert result.ess == pytest.approx(1000.0)


def test_smoothing_keeps_the_body_replaces_the_tail_in_order_and_truncates():
    log_ratios = gaussian_log_ratios(0.6, dim=3, n_draws=2000, seed=5)
    result = psis(log_ratios)
    m = tail_length(2000)
    assert m == int(np.ceil(min(400, 3 * np.sqrt(2000))))
    assert np.exp(result.log_weights).sum() == pytest.approx(1.0)
    order = np.argsort(log_ratios)
    body, tail = order[:-m], order[-m:]
    # the body keeps its raw ratios (up to one common normaliser)
    assert np.allclose(np.diff(result.log_weights[body]), np.diff(log_ratios[body]))
    shift = result.log_weights[body[0]] - log_ratios[body[0]]
    assert np.all(np.diff(result.log_weights[tail]) >= -1e-12)  # order statistics stay in order
    assert np.all(result.log_weights[tail] <= np.max(log_ratios) + shift + 1e-12)  # truncated at the raw max
    assert result.log_weights[tail[0]] >= result.log_weights[body[-1]] - 1e-12


def test_verdict_thresholds():
    assert [khat_verdict(k) for k in (-1.0, 0.49, 0.5, 0.69, 0.7, 2.0)] == \
        ["good", "good", "unreliable", "unreliable", "poor", "poor"]


def test_evidence_standard_error_matches_the_spread_over_repeats():
    """1-D toy: target N(0, 1) * Z with Z = e^2, proposal N(0.3, 0.9^2); repeat K = 300 draws 400 times."""
    rng = np.random.default_rng(6)
    estimates, errors = [], []
    for _ in range(400):
        w = 0.3 + 0.9 * rng.standard_normal(300)
        log_q = -0.5 * ((w - 0.3) / 0.9) ** 2 - np.log(0.9) - 0.5 * np.log(2 * np.pi)
        log_p = 2.0 - 0.5 * w ** 2 - 0.5 * np.log(2 * np.pi)
        est = importance_weighted_evidence(log_p - log_q)
        estimates.append(est.log_evidence)
        errors.append(est.standard_error)
    assert np.mean(estimates) == pytest.approx(2.0, abs=3 * np.std(estimates) / np.sqrt(400))
    assert np.mean(errors) == pytest.approx(np.std(estimates), rel=0.15)


@pytest.fixture(scope="module")
def gaussian_problem():
    return make_problem("gaussian", n_rows=2000, dim=5, seed=3)


def test_evidence_with_the_exact_posterior_as_q_is_exact_for_every_draw(gaussian_problem):
    exact = linear_gaussian_posterior(gaussian_problem)
    q = GaussianPosterior(Family.create("full-rank", 5), exact.mean, np.linalg.cholesky(exact.cov))
    draws = q.sample(np.random.default_rng(0), 500)
    log_ratios = log_joint(gaussian_problem, draws) - gaussian_log_density(q, draws)
    assert np.allclose(log_ratios, exact.log_evidence, rtol=0, atol=1e-8 * abs(exact.log_evidence))
    estimate = importance_weighted_evidence(log_ratios)
    assert estimate.log_evidence == pytest.approx(exact.log_evidence, abs=1e-7)
    assert estimate.standard_error < 1e-8
    assert psis(log_ratios).khat < 0.5


def test_evidence_with_mean_field_q_lies_between_the_elbo_and_the_evidence(gaussian_problem):
    exact = linear_gaussian_posterior(gaussian_problem)
    variances = 1.0 / np.diag(exact.precision)  # the optimal mean-field q
    q = GaussianPosterior(Family.create("mean-field", 5), exact.mean, np.diag(np.sqrt(variances)))
    from vbgui.core.elbo import ExactEstimator

    elbo = ExactEstimator(gaussian_problem).value(q).elbo
    assert exact.log_evidence - elbo == pytest.approx(mean_field_gap(exact.precision), rel=1e-6)
    assert exact.log_evidence - elbo > 0.3  # a real gap, or the test would say nothing
    draws = q.sample(np.random.default_rng(1), 4000)
    log_ratios = log_joint(gaussian_problem, draws) - gaussian_log_density(q, draws)
    assert np.mean(log_ratios) == pytest.approx(elbo, abs=4 * np.std(log_ratios) / np.sqrt(4000))
    estimate = importance_weighted_evidence(log_ratios)
    assert elbo < estimate.log_evidence < exact.log_evidence + 3 * estimate.standard_error


def test_gaussian_log_density_matches_scipy():
    from scipy.stats import multivariate_normal

    rng = np.random.default_rng(9)
    chol = np.tril(rng.normal(size=(3, 3)), -1) + np.diag([0.5, 1.0, 2.0])
    q = GaussianPosterior(Family.create("full-rank", 3), np.array([0.1, -0.2, 0.3]), chol)
    points = rng.normal(size=(5, 3))
    assert np.allclose(gaussian_log_density(q, points), multivariate_normal(q.mean, q.cov).logpdf(points))
