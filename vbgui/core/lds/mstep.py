"""The M-step: the dynamics in closed form, the loadings by line-searched Newton.

With E[x_t] = m_t, E[x_t x_t'] = S_t + m_t m_t', E[x_{t+1} x_t'] = P_t' + m_{t+1} m_t'
and z_t = [x_t; 1], summed over the transitions of every trial, the expected
log prior is maximised by

    [A b] = (sum E[x_{t+1} z_t']) (sum E[z_t z_t'])^{-1}
    Q = (sum E[x_{t+1} x_{t+1}'] - [A b] sum E[z_t x_{t+1}']) / (number of transitions)
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


def update_dynamics(params: LdsParams, posteriors: list[TrialPosterior], learn_initial_cov: bool) -> LdsParams:
    """The parameters with A, b, Q, mu0 (and Sigma0 when ``learn_initial_cov``) at their maximisers."""
    size = params.latent_dim
    lifted_second = np.zeros((size + 1, size + 1))  # sum E[z_t z_t']
    next_lifted = np.zeros((size, size + 1))  # sum E[x_{t+1} z_t']
    next_second = np.zeros((size, size))  # sum E[x_{t+1} x_{t+1}']
    count = 0
    for q in posteriors:
        mean, marginal, cross = q.mean, q.moments.marginal, q.moments.cross
        if mean.shape[0] < 2:
            continue
        head, tail = mean[:-1], mean[1:]
        lifted_second[:size, :size] += marginal[:-1].sum(axis=0) + head.T @ head
        lifted_second[:size, size] += head.sum(axis=0)
        lifted_second[size, :size] += head.sum(axis=0)
        lifted_second[size, size] += head.shape[0]
        next_lifted[:, :size] += cross.sum(axis=0).T + tail.T @ head
        next_lifted[:, size] += tail.sum(axis=0)
        next_second += marginal[1:].sum(axis=0) + tail.T @ tail
        count += head.shape[0]
    transition = np.linalg.solve(lifted_second, next_lifted.T).T
    noise = _floored((next_second - transition @ next_lifted.T) / count)
    starts = np.array([q.mean[0] for q in posteriors])
    mu0 = starts.mean(axis=0)
    changes = {"A": transition[:, :size], "b": transition[:, size], "Q": noise, "mu0": mu0}
    if learn_initial_cov:
        spread = starts - mu0
        changes["Sigma0"] = _floored(np.mean([q.moments.marginal[0] for q in posteriors], axis=0)
                                     + spread.T @ spread / len(posteriors))
    return params.with_changes(**changes)
