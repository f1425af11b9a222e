"""The stimulus term x_{t+1} = A x_t + b + B u_t + noise: the Kalman oracle with input, the closed-form M-step
against a numerical maximiser, and EM's monotone ELBO."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import minimize

from tests.core.lds.conftest import rotating_params
from tests.core.lds.kalman_oracle import kalman_smoother
from vbgui.core.generators import run_to_end
from vbgui.core.lds.em import EmSettings, variational_em
from vbgui.core.lds.model import LdsParams, expected_log_prior
from vbgui.core.lds.mstep import update_dynamics
from vbgui.core.lds.observations import Observations
from vbgui.core.lds.sample import initial_params, sample_observations, sample_path
from vbgui.core.likelihoods import Likelihood

NOISE_SD = 0.7


def driven_params(seed: int, latent_dim: int, n_units: int, n_inputs: int, input_scale: float = 0.3) -> LdsParams:
    rng = np.random.default_rng(seed)
    return rotating_params(rng, latent_dim, n_units).with_changes(
        B=input_scale * rng.standard_normal((latent_dim, n_inputs)))


def driven_trial(params: LdsParams, n_steps: int, likelihood: Likelihood, seed: int):
    """(true path, Observations with their input u ~ N(0, 1) per bin and column)."""
    rng = np.random.default_rng(seed)
    inputs = rng.standard_normal((n_steps, params.input_dim))
    path = sample_path(params, n_steps, rng, inputs)
    return path, Observations.create(sample_observations(params, path, likelihood, rng), likelihood, inputs)


def fixed_parameter_fit(params, trials, max_iter=50):
    settings = EmSettings(learn=False, max_iter=max_iter, tolerance=1e-14)
    return run_to_end(variational_em(trials, params, settings))


def test_structured_q_with_an_input_is_the_kalman_smoother_with_that_input():
    """T = 90, K = 3, M = 2, N = 6, gaussian observations.  Measured: |ELBO - log p(y)| 2e-16 relative, means
    9e-16 and covariances 2e-15 apart; without the input term the smoother's means are up to 0.96 away."""
    params = driven_params(1, 3, 6, 2, input_scale=0.5)
    likelihood = Likelihood("gaussian", noise_sd=NOISE_SD)
    _, observations = driven_trial(params, 90, likelihood, seed=2)
    log_evidence, mean, marginal, cross = kalman_smoother(
        params.A, params.b, params.Q, params.mu0, params.Sigma0, params.C, params.d, NOISE_SD ** 2 * np.eye(6),
        observations.y, B=params.B, u=observations.inputs)
    outcome = fixed_parameter_fit(params, [observations])
    q = outcome.posteriors[0]
    assert abs(outcome.terms.elbo - log_evidence) <= 1e-8 * abs(log_evidence)
    np.testing.assert_allclose(q.mean, mean, atol=1e-8)
    np.testing.assert_allclose(q.moments.marginal, marginal, atol=1e-9)
    np.testing.assert_allclose(q.moments.cross, cross, atol=1e-9)
    _, undriven_mean, _, _ = kalman_smoother(params.A, params.b, params.Q, params.mu0, params.Sigma0, params.C,
                                             params.d, NOISE_SD ** 2 * np.eye(6), observations.y)
    assert np.max(np.abs(undriven_mean - q.mean)) > 0.05  # the input matters in this problem


def _unpack(theta: np.ndarray, size: int, n_inputs: int) -> LdsParams:
    """(A, b, B, L_Q, mu0, L_Sigma0) from a flat vector; Q = L_Q L_Q', Sigma0 likewise (L lower triangular)."""
    rows, cols = np.tril_indices(size)
    n_tri = rows.size
    pieces = np.split(theta, np.cumsum([size * size, size, size * n_inputs, n_tri, size]))
    factor_q = np.zeros((size, size))
    factor_q[rows, cols] = pieces[3]
    factor_s = np.zeros((size, size))
    factor_s[rows, cols] = pieces[5]
    return LdsParams(A=pieces[0].reshape(size, size), b=pieces[1], Q=factor_q @ factor_q.T, mu0=pieces[4],
                     Sigma0=factor_s @ factor_s.T, C=np.zeros((1, size)), d=np.zeros(1),
                     B=pieces[2].reshape(size, n_inputs))


def _pack(params: LdsParams) -> np.ndarray:
    rows, cols = np.tril_indices(params.latent_dim)
    return np.concatenate([params.A.ravel(), params.b, params.B.ravel(), np.linalg.cholesky(params.Q)[rows, cols],
                           params.mu0, np.linalg.cholesky(params.Sigma0)[rows, cols]])


def test_the_closed_form_dynamics_step_is_the_numerical_maximiser_of_the_expected_log_prior():
    """Two trials (T = 60 and 45), K = 2, M = 2, q from the E-step at the true parameters: BFGS on the summed
    expected log prior over (A, b, B, Q, mu0, Sigma0) from a perturbed start reaches the closed form.
    Measured: largest difference 2e-10, objectives equal in floating point."""
    params = driven_params(5, 2, 5, 2)
    likelihood = Likelihood("gaussian", noise_sd=NOISE_SD)
    trials = [driven_trial(params, length, likelihood, seed=6 + length)[1] for length in (60, 45)]
    posteriors = fixed_parameter_fit(params, trials).posteriors

    def objective(candidate: LdsParams) -> float:
        return sum(expected_log_prior(candidate, q.mean, q.moments.marginal, q.moments.cross, o.inputs)
                   for q, o in zip(posteriors, trials))

    closed = update_dynamics(params, list(posteriors), True, [o.inputs for o in trials])

    def negative(theta: np.ndarray) -> float:
        return -objective(_unpack(theta, 2, 2))

    def central_gradient(theta: np.ndarray) -> np.ndarray:
        step = 1e-6
        return np.array([(negative(theta + step * e) - negative(theta - step * e)) / (2 * step)
                         for e in np.eye(theta.size)])

    start = _pack(params) + 0.05 * np.random.default_rng(8).standard_normal(_pack(params).size)
    found = minimize(negative, start, jac=central_gradient, method="BFGS", options={"gtol": 1e-10, "maxiter": 2000})
    numerical = _unpack(found.x, 2, 2)
    assert objective(closed) >= objective(numerical) - 1e-9 * abs(objective(closed))
    for name in ("A", "b", "B", "Q", "mu0", "Sigma0"):
        np.testing.assert_allclose(getattr(closed, name), getattr(numerical, name), atol=1e-6, err_msg=name)


@pytest.mark.parametrize("likelihood_name", ["poisson", "gaussian"])
def test_em_with_an_input_never_lowers_the_elbo_and_learns_the_inputs_effect(likelihood_name):
    """T = 2 trials x 400 bins, K = 2, M = 2, N = 12.  C B (the input's effect on each unit's log rate, free of
    the latents' rotation) is learned; measured: 5.9 % (poisson, converged in 167 iterations) and 3.8 %
    (gaussian, 118) relative error."""
    params = driven_params(11, 2, 12, 2, input_scale=0.4)
    likelihood = Likelihood(likelihood_name, noise_sd=NOISE_SD)
    trials = [driven_trial(params, 400, likelihood, seed=seed)[1] for seed in (12, 13)]
    start = initial_params(np.concatenate([o.y for o in trials]), likelihood, 2, input_dim=2)
    elbos = []
    outcome = run_to_end(variational_em(trials, start, EmSettings(max_iter=300)),
                         lambda report: elbos.append(report.terms.elbo))
    assert len(elbos) >= 5
    assert np.all(np.diff(elbos) >= 0.0)
    assert outcome.params.B.shape == (2, 2)
    truth, learned = params.C @ params.B, outcome.params.C @ outcome.params.B
    assert np.linalg.norm(learned - truth) <= 0.2 * np.linalg.norm(truth)
