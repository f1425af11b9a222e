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
Each pass over the (t, n) pairs is one numba loop (mu, v, E and the sums
together, covariances packed as their upper triangles), so no T x N array is
ever formed; ranges of bins run on threads (:mod:`vbgui.core.lds.threads`).

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

from vbgui.core.lds.threads import over_row_ranges
from vbgui.core.likelihoods import Likelihood, gauss_hermite_standard_normal
from vbgui.core.likelihoods.common import FAST
from vbgui.core.likelihoods.registry import expected_log_density

MAX_HALVINGS = 30
NORMALISER_BLOCK_ROWS = 65_536


@dataclass(frozen=True, eq=False)
class Observations:
    """Counts (or responses) y (T, N) of one trial with their likelihood and data-only constant."""

    y: np.ndarray
    likelihood: Likelihood
    log_normaliser: float

    @classmethod
    def create(cls, y: np.ndarray, likelihood: Likelihood) -> "Observations":
        """Observations of ``y`` (T, N); the data-only constant is summed over blocks of bins, so no
        temporary as large as ``y`` is formed."""
        y = np.ascontiguousarray(y, dtype=np.float64)
        constant = sum(likelihood.log_normaliser(y[start:start + NORMALISER_BLOCK_ROWS])
                       for start in range(0, y.shape[0], NORMALISER_BLOCK_ROWS))
        return cls(y, likelihood, float(constant))


@njit(cache=True, nogil=True, inline="always")
def _moments_of_eta(loading, offset, mean, packed, pairs, t, n):
    """mu = c_n' m_t + d_n and v = c_n' S_t c_n (from the packed upper triangles)."""
    mu = offset[n]
    for i in range(mean.shape[1]):
        mu += loading[n, i] * mean[t, i]
    var = 0.0
    for p in range(pairs.shape[1]):
        var += pairs[n, p] * packed[t, p]
    return mu, var


@njit(cache=True, nogil=True, fastmath=FAST)
def _values_pass(code, parameter, y, loading, offset, mean, packed, pairs, nodes, weights, unit_totals):
    """sum over (t, n) of E(y_nt, mu_nt, v_nt); adds each unit's sum to ``unit_totals``."""
    total = 0.0
    for t in range(y.shape[0]):
        for n in range(y.shape[1]):
            mu, var = _moments_of_eta(loading, offset, mean, packed, pairs, t, n)
            value, _first, _second = expected_log_density(code, y[t, n], mu, var, parameter, nodes, weights)
            unit_totals[n] += value
            total += value
    return total


@njit(cache=True, nogil=True, fastmath=FAST)
def _latent_derivatives_pass(code, parameter, y, loading, offset, mean, packed, pairs, nodes, weights, gradient,
                             curvature_packed):
    """The total, and per bin sum_n dE/dmu c_n into ``gradient`` and sum_n -2 dE/dv c_n c_n' (packed) into
    ``curvature_packed``."""
    total = 0.0
    size = mean.shape[1]
    for t in range(y.shape[0]):
        for n in range(y.shape[1]):
            mu, var = _moments_of_eta(loading, offset, mean, packed, pairs, t, n)
            value, first, second = expected_log_density(code, y[t, n], mu, var, parameter, nodes, weights)
            total += value
            for i in range(size):
                gradient[t, i] += first * loading[n, i]
            weight = -2.0 * second
            for p in range(pairs.shape[1]):
                curvature_packed[t, p] += weight * pairs[n, p]
    return total


@njit(cache=True, nogil=True, fastmath=FAST)
def _loading_derivatives_pass(code, parameter, y, loading, offset, mean, packed, pairs, nodes, weights, slope_sum,
                              weighted_cov, weighted_outer):
    """Per unit: sum_t dE/dmu [m_t; 1] into ``slope_sum`` (N, K + 1), sum_t dE/dv S_t (packed) into
    ``weighted_cov`` (N, P), sum_t -2 dE/dv [m_t; 1][m_t; 1]' (upper triangle) into ``weighted_outer``
    (N, K + 1, K + 1).  Units outside, bins inside: each unit's sums stay in cache."""
    size = mean.shape[1]
    n_pairs = packed.shape[1]
    slope_local = np.zeros(size + 1)
    cov_local = np.zeros(n_pairs)
    outer_local = np.zeros((size + 1, size + 1))
    for n in range(y.shape[1]):
        slope_local[:] = 0.0
        cov_local[:] = 0.0
        outer_local[:] = 0.0
        for t in range(y.shape[0]):
            mu, var = _moments_of_eta(loading, offset, mean, packed, pairs, t, n)
            _value, first, second = expected_log_density(code, y[t, n], mu, var, parameter, nodes, weights)
            weight = -2.0 * second
            for i in range(size):
                slope_local[i] += first * mean[t, i]
                scaled = weight * mean[t, i]
                for j in range(i, size):
                    outer_local[i, j] += scaled * mean[t, j]
                outer_local[i, size] += scaled
            slope_local[size] += first
            outer_local[size, size] += weight
            for p in range(n_pairs):
                cov_local[p] += second * packed[t, p]
        slope_sum[n] += slope_local
        weighted_cov[n] += cov_local
        weighted_outer[n] += outer_local


def pair_index(size: int) -> tuple[np.ndarray, np.ndarray]:
    """Row and column indices of the upper triangle of a K x K block (i <= j)."""
    return np.triu_indices(size)


def _pair_products(loading: np.ndarray) -> np.ndarray:
    """c_ni c_nj for i <= j, (N, P)."""
    rows, cols = pair_index(loading.shape[1])
    return np.ascontiguousarray(loading[:, rows] * loading[:, cols])


def _packed_cov(marginal: np.ndarray) -> np.ndarray:
    """S_t packed so that v = packed @ pairs': S_ii and 2 S_ij (i < j), (T, P)."""
    rows, cols = pair_index(marginal.shape[1])
    return np.ascontiguousarray(marginal[:, rows, cols] * np.where(rows == cols, 1.0, 2.0))


def _unpacked(packed: np.ndarray, size: int) -> np.ndarray:
    """Symmetric (T, K, K) blocks from their upper triangles (T, P)."""
    rows, cols = pair_index(size)
    blocks = np.empty((packed.shape[0], size, size))
    blocks[:, rows, cols] = packed
    blocks[:, cols, rows] = packed
    return blocks


def _rows(arguments: tuple, start: int, stop: int) -> tuple:
    """The kernel arguments restricted to bins [start, stop): y, mean and packed are sliced (views)."""
    code, parameter, y, loading, offset, mean, packed, pairs, nodes, weights = arguments
    return (code, parameter, y[start:stop], loading, offset, mean[start:stop], packed[start:stop], pairs, nodes,
            weights)


def _kernel_arguments(observations: Observations, loading: np.ndarray, offset: np.ndarray, mean: np.ndarray,
                      packed: np.ndarray) -> tuple:
    lik = observations.likelihood
    nodes, weights = gauss_hermite_standard_normal()
    return (lik.code, lik.parameter, observations.y, np.ascontiguousarray(loading, dtype=np.float64),
            np.ascontiguousarray(offset, dtype=np.float64), np.ascontiguousarray(mean), packed,
            _pair_products(loading), nodes, weights)


def _unit_values_over_ranges(arguments: tuple, n_units: int) -> tuple[float, np.ndarray]:
    def work(start: int, stop: int) -> tuple[float, np.ndarray]:
        unit_totals = np.zeros(n_units)
        return _values_pass(*_rows(arguments, start, stop), unit_totals), unit_totals

    parts = over_row_ranges(work, arguments[2].shape[0])
    return sum(p[0] for p in parts), np.sum([p[1] for p in parts], axis=0)


def observation_terms(observations: Observations, loading: np.ndarray, offset: np.ndarray, mean: np.ndarray,
                      marginal: np.ndarray, want_derivatives: bool = True
                      ) -> tuple[float, np.ndarray, np.ndarray]:
    """(E_q[log p(y | x)] with its constant, its gradient in m (T, K), W (T, K, K)) for one trial
    (empty arrays without ``want_derivatives``)."""
    n_steps, size = mean.shape
    if not want_derivatives:
        total, _ = observation_values(observations, loading, offset, mean, marginal)
        return total, np.zeros((0, size)), np.zeros((0, size, size))
    arguments = _kernel_arguments(observations, loading, offset, mean, _packed_cov(marginal))
    gradient = np.zeros((n_steps, size))
    curvature_packed = np.zeros((n_steps, size * (size + 1) // 2))

    def work(start: int, stop: int) -> float:
        return _latent_derivatives_pass(*_rows(arguments, start, stop), gradient[start:stop],
                                        curvature_packed[start:stop])

    total = sum(over_row_ranges(work, n_steps))
    return total + observations.log_normaliser, gradient, _unpacked(curvature_packed, size)


def observation_values(observations: Observations, loading: np.ndarray, offset: np.ndarray, mean: np.ndarray,
                       marginal: np.ndarray) -> tuple[float, np.ndarray]:
    """(E_q[log p(y | x)] with its constant, each unit's sum_t E(y_nt, mu_nt, v_nt) without it (N,))."""
    arguments = _kernel_arguments(observations, loading, offset, mean, _packed_cov(marginal))
    total, unit_values = _unit_values_over_ranges(arguments, loading.shape[0])
    return total + observations.log_normaliser, unit_values


def _unit_expected_log_likelihoods(observations: Observations, loading: np.ndarray, offset: np.ndarray,
                                   mean: np.ndarray, packed: np.ndarray) -> np.ndarray:
    """sum_t E(y_nt, mu_nt, v_nt) per unit (without the data-only constant), (N,)."""
    arguments = _kernel_arguments(observations, loading, offset, mean, packed)
    return _unit_values_over_ranges(arguments, loading.shape[0])[1]


def _loading_step(observations: Observations, loading: np.ndarray, offset: np.ndarray, mean: np.ndarray,
                  packed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per unit: the gradient in (c, d) (N, K + 1) and the preconditioner (N, K + 1, K + 1)."""
    size = mean.shape[1]
    n_units = loading.shape[0]
    arguments = _kernel_arguments(observations, loading, offset, mean, packed)

    def work(start: int, stop: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        sums = (np.zeros((n_units, size + 1)), np.zeros((n_units, packed.shape[1])),
                np.zeros((n_units, size + 1, size + 1)))
        _loading_derivatives_pass(*_rows(arguments, start, stop), *sums)
        return sums

    parts = over_row_ranges(work, mean.shape[0])
    slope_sum, weighted_cov_packed, weighted_outer = (np.sum([p[k] for p in parts], axis=0) for k in range(3))
    rows, cols = pair_index(size)
    weighted_cov = _unpacked(weighted_cov_packed / np.where(rows == cols, 1.0, 2.0), size)  # sum dE/dv S_t
    upper = np.triu(np.ones((size + 1, size + 1), dtype=bool))
    precision = np.where(upper, weighted_outer, weighted_outer.transpose(0, 2, 1))
    precision[:, :size, :size] -= 2.0 * weighted_cov
    gradient = slope_sum
    gradient[:, :size] += 2.0 * np.einsum("nij,nj->ni", weighted_cov, loading)
    return gradient, precision


def update_loadings(observations: Observations, loading: np.ndarray, offset: np.ndarray, mean: np.ndarray,
                    marginal: np.ndarray, steps: int = 2, start_values: np.ndarray | None = None
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """New (C, d) by up to ``steps`` preconditioned, line-searched steps per unit, and each unit's
    sum_t E(y_nt, mu_nt, v_nt) there (N,); no unit's expected log-likelihood falls.  ``observations``,
    ``mean`` and ``marginal`` hold every trial's bins stacked; ``start_values``, when known, are those sums at
    the given (C, d) (saving a pass)."""
    size = loading.shape[1]
    packed = _packed_cov(marginal)
    loading = np.array(loading, dtype=np.float64)
    offset = np.array(offset, dtype=np.float64)
    values = _unit_expected_log_likelihoods(observations, loading, offset, mean, packed) \
        if start_values is None else np.array(start_values, dtype=np.float64)
    for _ in range(steps):
        gradient, precision = _loading_step(observations, loading, offset, mean, packed)
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
