"""The expected log-likelihood of an LDS's observations and its derivatives.

Unit n in bin t sees eta = c_n' x_t + d_n; under q, eta ~ N(mu, v) with
mu = c_n' m_t + d_n and v = c_n' S_t c_n.  Each likelihood's expectation
E(y, mu, v) and its derivatives come from the registry
(:func:`vbgui.core.likelihoods.registry.expected_log_density`: exact for
poisson, E = y mu - exp(mu + v/2), and for gaussian; Gauss-Hermite for
bernoulli), so

    E_q[log p(y_t | x_t)] = sum_n E(y_nt, mu_nt, v_nt) + log-normaliser
    d/d m_t = sum_n dE/dmu c_n,     d/d S_t = sum_n dE/dv c_n c_n'.

Hence the fixed point of the covariance adds W_t = -2 sum_n dE/dv c_n c_n'
(for poisson sum_n rate_nt c_n c_n') to the prior precision's diagonal blocks.
mu, v, the gradient and W are matrix products over row blocks (BLAS); only
the elementwise E and its derivatives run in numba, so memory stays
O(block x N) whatever T.

For the loadings, per unit,

    d/dc = sum_t dE/dmu m_t + 2 dE/dv S_t c,   d/dd = sum_t dE/dmu,

and the step solves with sum_t w_t ([m_t; 1][m_t; 1]' + [S_t 0; 0 0]),
w_t = -2 dE/dv (for poisson the Hessian with the terms in S_t c left out: a
positive definite preconditioner); a backtracking line search per unit on
its expected log-likelihood keeps every step an ascent.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from vbgui.core import blas_threads  # noqa: F401  (BLAS on one thread: small blocks, a shared machine)
from vbgui.core.likelihoods import Likelihood, gauss_hermite_standard_normal
from vbgui.core.likelihoods.registry import expected_log_density

MAX_HALVINGS = 30
ROW_BLOCK = 4096  # rows per pass: a few (block x N) float64 arrays at a time


@dataclass(frozen=True, eq=False)
class Observations:
    """Counts (or responses) y (T, N) of one trial with their likelihood and data-only constant."""

    y: np.ndarray
    likelihood: Likelihood
    log_normaliser: float

    @classmethod
    def create(cls, y: np.ndarray, likelihood: Likelihood) -> "Observations":
        y = np.ascontiguousarray(y, dtype=np.float64)
        return cls(y, likelihood, likelihood.log_normaliser(y))


@njit(cache=True, nogil=True)
def _expectations(code, parameter, y, mu, var, nodes, weights, slope, var_slope, want_derivatives):
    """Fill slope = dE/dmu and var_slope = dE/dv (when wanted); return sum E, and per unit in ``per_unit``."""
    total = 0.0
    for t in range(y.shape[0]):
        for n in range(y.shape[1]):
            value, first, second = expected_log_density(code, y[t, n], mu[t, n], var[t, n], parameter, nodes,
                                                        weights)
            total += value
            if want_derivatives:
                slope[t, n] = first
                var_slope[t, n] = second
    return total


@njit(cache=True, nogil=True)
def _unit_values(code, parameter, y, mu, var, nodes, weights, out):
    """Add sum_t E(y_nt, mu_nt, v_nt) to out[n]."""
    for t in range(y.shape[0]):
        for n in range(y.shape[1]):
            value, _first, _second = expected_log_density(code, y[t, n], mu[t, n], var[t, n], parameter, nodes,
                                                          weights)
            out[n] += value


def pair_index(size: int) -> tuple[np.ndarray, np.ndarray]:
    """Row and column indices of the upper triangle of a K x K block (i <= j)."""
    return np.triu_indices(size)


def _pair_products(loading: np.ndarray) -> np.ndarray:
    """c_ni c_nj for i <= j, (N, P)."""
    rows, cols = pair_index(loading.shape[1])
    return loading[:, rows] * loading[:, cols]


def _packed_cov(marginal: np.ndarray) -> np.ndarray:
    """S_t packed so that v = packed @ pairs': S_ii and 2 S_ij (i < j), (T, P)."""
    rows, cols = pair_index(marginal.shape[1])
    return marginal[:, rows, cols] * np.where(rows == cols, 1.0, 2.0)


def _unpacked(packed: np.ndarray, size: int) -> np.ndarray:
    """Symmetric (T, K, K) blocks from their upper triangles (T, P)."""
    rows, cols = pair_index(size)
    blocks = np.empty((packed.shape[0], size, size))
    blocks[:, rows, cols] = packed
    blocks[:, cols, rows] = packed
    return blocks


def observation_terms(observations: Observations, loading: np.ndarray, offset: np.ndarray, mean: np.ndarray,
                      marginal: np.ndarray, want_derivatives: bool = True
                      ) -> tuple[float, np.ndarray, np.ndarray]:
    """(E_q[log p(y | x)] with its constant, its gradient in m (T, K), W (T, K, K)) for one trial."""
    lik = observations.likelihood
    nodes, weights = gauss_hermite_standard_normal()
    y = observations.y
    n_steps, size = mean.shape
    pairs = _pair_products(loading)
    packed = _packed_cov(marginal)
    gradient = np.zeros((n_steps, size)) if want_derivatives else np.zeros((0, size))
    curvature_packed = np.zeros((n_steps, pairs.shape[1])) if want_derivatives else np.zeros((0, 0))
    total = observations.log_normaliser
    slope = np.empty((min(ROW_BLOCK, n_steps), y.shape[1]))
    var_slope = np.empty_like(slope)
    for start in range(0, n_steps, ROW_BLOCK):
        rows = slice(start, min(start + ROW_BLOCK, n_steps))
        mu = mean[rows] @ loading.T + offset
        var = packed[rows] @ pairs.T
        used = mu.shape[0]
        total += _expectations(lik.code, lik.parameter, y[rows], mu, var, nodes, weights, slope[:used],
                               var_slope[:used], want_derivatives)
        if want_derivatives:
            gradient[rows] = slope[:used] @ loading
            curvature_packed[rows] = (-2.0 * var_slope[:used]) @ pairs
    curvature = _unpacked(curvature_packed, size) if want_derivatives else np.zeros((0, size, size))
    return total, gradient, curvature


def _unit_expected_log_likelihoods(observations: Observations, loading: np.ndarray, offset: np.ndarray,
                                   mean: np.ndarray, packed: np.ndarray) -> np.ndarray:
    """sum_t E(y_nt, mu_nt, v_nt) per unit (without the data-only constant), (N,)."""
    lik = observations.likelihood
    nodes, weights = gauss_hermite_standard_normal()
    pairs = _pair_products(loading)
    values = np.zeros(loading.shape[0])
    for start in range(0, mean.shape[0], ROW_BLOCK):
        rows = slice(start, start + ROW_BLOCK)
        _unit_values(lik.code, lik.parameter, observations.y[rows], mean[rows] @ loading.T + offset,
                     packed[rows] @ pairs.T, nodes, weights, values)
    return values


def _loading_step(observations: Observations, loading: np.ndarray, offset: np.ndarray, mean: np.ndarray,
                  marginal: np.ndarray, packed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per unit: the gradient in (c, d) (N, K + 1) and the preconditioner (N, K + 1, K + 1)."""
    lik = observations.likelihood
    nodes, weights = gauss_hermite_standard_normal()
    n_steps, size = mean.shape
    n_units = loading.shape[0]
    pairs = _pair_products(loading)
    lifted = np.column_stack([mean, np.ones(n_steps)])
    lifted_outer = (lifted[:, :, None] * lifted[:, None, :]).reshape(n_steps, -1)
    flat_cov = marginal.reshape(n_steps, -1)
    gradient = np.zeros((n_units, size + 1))
    weighted_cov = np.zeros((n_units, size * size))
    weighted_outer = np.zeros((n_units, (size + 1) ** 2))
    slope = np.empty((min(ROW_BLOCK, n_steps), n_units))
    var_slope = np.empty_like(slope)
    for start in range(0, n_steps, ROW_BLOCK):
        rows = slice(start, min(start + ROW_BLOCK, n_steps))
        used = min(ROW_BLOCK, n_steps - start)
        _expectations(lik.code, lik.parameter, observations.y[rows], mean[rows] @ loading.T + offset,
                      packed[rows] @ pairs.T, nodes, weights, slope[:used], var_slope[:used], True)
        gradient += slope[:used].T @ lifted[rows]
        weighted_cov += var_slope[:used].T @ flat_cov[rows]
        weighted_outer += (-2.0 * var_slope[:used]).T @ lifted_outer[rows]
    weighted_cov = weighted_cov.reshape(n_units, size, size)
    gradient[:, :size] += 2.0 * np.einsum("nij,nj->ni", weighted_cov, loading)
    precision = weighted_outer.reshape(n_units, size + 1, size + 1)
    precision[:, :size, :size] -= 2.0 * weighted_cov
    return gradient, precision


def update_loadings(observations: Observations, loading: np.ndarray, offset: np.ndarray, mean: np.ndarray,
                    marginal: np.ndarray, steps: int = 2) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """New (C, d) by up to ``steps`` preconditioned, line-searched steps per unit, and each unit's
    sum_t E(y_nt, mu_nt, v_nt) there (N,); no unit's expected log-likelihood falls.  ``observations``,
    ``mean`` and ``marginal`` hold every trial's bins stacked."""
    size = loading.shape[1]
    packed = _packed_cov(marginal)
    loading = np.array(loading, dtype=np.float64)
    offset = np.array(offset, dtype=np.float64)
    values = _unit_expected_log_likelihoods(observations, loading, offset, mean, packed)
    for _ in range(steps):
        gradient, precision = _loading_step(observations, loading, offset, mean, marginal, packed)
        ridge = 1e-12 * (1.0 + np.abs(np.diagonal(precision, axis1=1, axis2=2)))
        precision[:, np.arange(size + 1), np.arange(size + 1)] += ridge
        direction = np.linalg.solve(precision, gradient[:, :, None])[:, :, 0]
        pending = np.einsum("ni,ni->n", gradient, direction) > 1e-14 * (1.0 + np.abs(values))
        step = np.ones(loading.shape[0])
        for _ in range(MAX_HALVINGS):
            if not pending.any():
                break
            trial_loading = loading + (step * pending)[:, None] * direction[:, :size]
            trial_offset = offset + step * pending * direction[:, size]
            trial = _unit_expected_log_likelihoods(observations, trial_loading, trial_offset, mean, packed)
            accept = pending & (trial >= values)
            loading[accept], offset[accept], values[accept] = trial_loading[accept], trial_offset[accept], \
                trial[accept]
            pending &= ~accept
            step = np.where(pending, 0.5 * step, step)
    return loading, offset, values
