"""The M-step: the dynamics in closed form, the loadings by line-searched Newton.

With E[x_t] = m_t, E[x_t x_t'] = S_t + m_t m_t', E[x_{t+1} x_t'] = P_t' + m_{t+1} m_t'
and z_t = [x_t; 1; u_t] (u_t the input of bin t, absent without one), summed
over the transitions of every trial, the expected log prior is maximised by

    [A b B] = (sum E[x_{t+1} z_t']) (sum E[z_t z_t'])^{-1}
    Q = (sum E[x_{t+1} x_{t+1}'] - [A b B] sum E[z_t x_{t+1}']) / (number of transitions)

(A, b and B share one regression of E[x_{t+1}] on (x_t, 1, u_t); when the
inputs are collinear with the bias the maximiser is not unique and the
minimum-norm one is taken)
    mu0 = mean over trials of m_0,   Sigma0 = mean over trials of S_0 + (m_0 - mu0)(m_0 - mu0)'.

Sigma0 is learned only from two trials on: with one trial its maximiser
follows the posterior's S_0, which shrinks with it, and the fit would chase a
degenerate prior.  C and d: :func:`vbgui.core.lds.observations.update_loadings`.
"""
from __future__ import annotations

import numpy as np

from vbgui.core.lds.elbo import TrialPosterior
from vbgui.core.lds.model import LdsParams

COV_FLOOR = 1e-10  # relative to the trace: keeps Q and Sigma0 positive definite in floating point


def _floored(cov: np.ndarray) -> np.ndarray:
    cov = 0.5 * (cov + cov.T)
    values, vectors = np.linalg.eigh(cov)
    floor = COV_FLOOR * max(float(np.trace(cov)) / cov.shape[0], 1e-300)
    return (vectors * np.maximum(values, floor)) @ vectors.T


def update_dynamics(params: LdsParams, posteriors: list[TrialPosterior], learn_initial_cov: bool,
                    inputs: list[np.ndarray | None] | None = None) -> LdsParams:
    """The parameters with A, b, B, Q, mu0 (and Sigma0 when ``learn_initial_cov``) at their maximisers.

    Parameters
    ----------
    params : LdsParams
        The current parameters (C and d are kept; B's width M says whether there is an input).
    posteriors : list of TrialPosterior
        q over each trial's path.
    learn_initial_cov : bool
        Whether Sigma0 is learned too (from two trials on, see the module docstring).
    inputs : list of (T_i, M) arrays, optional
        Each trial's input u; needed when M > 0.

    Returns
    -------
    LdsParams
        The parameters at the maximiser of the summed expected log prior over (A, b, B, Q, mu0[, Sigma0]).
    """
    size = params.latent_dim
    n_inputs = params.input_dim
    lifted = size + 1 + n_inputs
    lifted_second = np.zeros((lifted, lifted))  # sum E[z_t z_t']
    next_lifted = np.zeros((size, lifted))  # sum E[x_{t+1} z_t']
    next_second = np.zeros((size, size))  # sum E[x_{t+1} x_{t+1}']
    count = 0
    inputs = inputs if inputs is not None else [None] * len(posteriors)
    for q, trial_inputs in zip(posteriors, inputs):
        mean, marginal, cross = q.mean, q.moments.marginal, q.moments.cross
        if mean.shape[0] < 2:
            continue
        head, tail = mean[:-1], mean[1:]
        every_marginal, every_mean = marginal.sum(axis=0), mean.sum(axis=0)  # the ends taken off below
        lifted_second[:size, :size] += every_marginal - marginal[-1] + head.T @ head
        lifted_second[:size, size] += every_mean - mean[-1]
        lifted_second[size, :size] += every_mean - mean[-1]
        lifted_second[size, size] += head.shape[0]
        next_lifted[:, :size] += cross.sum(axis=0).T + tail.T @ head
        next_lifted[:, size] += every_mean - mean[0]
        if n_inputs:
            driving = trial_inputs[:-1]  # u_t of the transitions t = 0 .. T-2
            state_input = head.T @ driving  # sum m_t u_t'
            lifted_second[:size, size + 1:] += state_input
            lifted_second[size + 1:, :size] += state_input.T
            lifted_second[size, size + 1:] += driving.sum(axis=0)
            lifted_second[size + 1:, size] += driving.sum(axis=0)
            lifted_second[size + 1:, size + 1:] += driving.T @ driving
            next_lifted[:, size + 1:] += tail.T @ driving
        next_second += every_marginal - marginal[0] + tail.T @ tail
        count += head.shape[0]
    transition = np.linalg.lstsq(lifted_second, next_lifted.T, rcond=None)[0].T
    noise = _floored((next_second - transition @ next_lifted.T) / count)
    starts = np.array([q.mean[0] for q in posteriors])
    mu0 = starts.mean(axis=0)
    changes = {"A": transition[:, :size], "b": transition[:, size], "B": transition[:, size + 1:], "Q": noise,
               "mu0": mu0}
    if learn_initial_cov:
        spread = starts - mu0
        changes["Sigma0"] = _floored(np.mean([q.moments.marginal[0] for q in posteriors], axis=0)
                                     + spread.T @ spread / len(posteriors))
    return params.with_changes(**changes)
