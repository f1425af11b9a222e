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
Each pass over the (t, n) pairs is one numba loop, :func:`_pass` (mu, v, E
and whichever sums are asked for, covariances packed as their upper
triangles), so no T x N array is ever formed; ranges of bins run on threads
(:mod:`vbgui.core.lds.threads`).  The exponential of each (bin, unit) pair is
the pass's main cost, so one pass serves two steps where it can
(:func:`observation_pass`): the E-step's line search also sums the loadings'
Newton step at the new q, and the loadings' line search the next E-step's
derivatives at the new (C, d).

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

from vbgui.core.lds.loading_prior import LoadingPrior
from vbgui.core.lds.threads import over_row_ranges
from vbgui.core.likelihoods import Likelihood, gauss_hermite_standard_normal
from vbgui.core.likelihoods.common import FAST
from vbgui.core.likelihoods.registry import expected_log_density

MAX_HALVINGS = 30
NORMALISER_BLOCK_ROWS = 65_536


@dataclass(frozen=True, eq=False)
class Observations:
    """Counts (or responses) y (T, N) of one trial with their likelihood and data-only constant, and the
    trial's input u (T, M) that drives the latents (None without one)."""

    y: np.ndarray
    likelihood: Likelihood
    log_normaliser: float
    inputs: np.ndarray | None = None

    @classmethod
    def create(cls, y: np.ndarray, likelihood: Likelihood, inputs: np.ndarray | None = None) -> "Observations":
        """Observations of one trial.

        Parameters
        ----------
        y : ndarray of shape (T, N)
            The trial's counts (or responses).
        likelihood : Likelihood
            Their likelihood.
        inputs : ndarray of shape (T, M), optional
            The input u_t of each bin (x_{t+1} = A x_t + b + B u_t + noise); None without one.

        Returns
        -------
        Observations
            With the data-only constant summed over blocks of bins, so no temporary as large as ``y`` is formed.
        """
        y = np.ascontiguousarray(y, dtype=np.float64)
        constant = sum(likelihood.log_normaliser(y[start:start + NORMALISER_BLOCK_ROWS])
                       for start in range(0, y.shape[0], NORMALISER_BLOCK_ROWS))
        if inputs is not None:
            inputs = np.ascontiguousarray(inputs, dtype=np.float64)
        return cls(y, likelihood, float(constant), inputs)


@njit(cache=True, nogil=True, fastmath=FAST)
def _pass(code, parameter, y, loading_t, offset, mean, packed, pairs_t, nodes, weights, unit_totals, gradient,
          curvature_packed, slope_sum, weighted_cov, weighted_outer):
    """One pass over the (t, n) pairs: returns sum E(y_nt, mu_nt, v_nt) and adds each unit's sum to
    ``unit_totals`` (N,).  When ``gradient`` has rows: per bin sum_n dE/dmu c_n into ``gradient`` (T, K) and
    sum_n -2 dE/dv c_n c_n' (packed) into ``curvature_packed`` (T, P).  When ``slope_sum`` has columns: per unit
    sum_t dE/dmu z_t into ``slope_sum`` (K + 1, N), sum_t dE/dv S_t (packed) into ``weighted_cov`` (P, N) and
    sum_t -2 dE/dv z_t z_t' (upper triangle, row by row) into ``weighted_outer`` (Q, N), z_t = [m_t; 1].

    Bins outside, units inside: mu, v and the derivatives of one bin are vectors over the units (loadings and
    pair products stored transposed, (K, N) and (P, N)), so every loop but the expectation's vectorises and
    the per-unit sums (a few kB) stay in cache.
    """
    n_units = y.shape[1]
    size = mean.shape[1]
    n_pairs = packed.shape[1]
    want_latent = gradient.shape[0] > 0
    want_loading = slope_sum.shape[1] > 0
    mu = np.empty(n_units)
    var = np.empty(n_units)
    first = np.empty(n_units)
    weight = np.empty(n_units)
    total = 0.0
    for t in range(y.shape[0]):
        for n in range(n_units):
            mu[n] = offset[n]
            var[n] = 0.0
        for i in range(size):
            mean_ti = mean[t, i]
            for n in range(n_units):
                mu[n] += loading_t[i, n] * mean_ti
        for p in range(n_pairs):
            cov_tp = packed[t, p]
            for n in range(n_units):
                var[n] += pairs_t[p, n] * cov_tp
        for n in range(n_units):
            value, d_mu, d_var = expected_log_density(code, y[t, n], mu[n], var[n], parameter, nodes, weights)
            unit_totals[n] += value
            total += value
            first[n] = d_mu
            weight[n] = -2.0 * d_var
        if want_latent:
            for i in range(size):
                acc = 0.0
                for n in range(n_units):
                    acc += first[n] * loading_t[i, n]
                gradient[t, i] += acc
            for p in range(n_pairs):
                acc = 0.0
                for n in range(n_units):
                    acc += weight[n] * pairs_t[p, n]
                curvature_packed[t, p] += acc
        if want_loading:
            for i in range(size + 1):
                lifted_i = mean[t, i] if i < size else 1.0
                for n in range(n_units):
                    slope_sum[i, n] += first[n] * lifted_i
            for p in range(n_pairs):
                half_cov_tp = -0.5 * packed[t, p]
                for n in range(n_units):
                    weighted_cov[p, n] += weight[n] * half_cov_tp
            row = 0
            for i in range(size + 1):
                lifted_i = mean[t, i] if i < size else 1.0
                for j in range(i, size + 1):
                    product = lifted_i * (mean[t, j] if j < size else 1.0)
                    for n in range(n_units):
                        weighted_outer[row, n] += weight[n] * product
                    row += 1
    return total


def pair_index(size: int) -> tuple[np.ndarray, np.ndarray]:
    """Row and column indices of the upper triangle of a K x K block (i <= j).

    Parameters
    ----------
    size : int
        K.

    Returns
    -------
    rows, cols : (P,) int arrays
        The P = K (K + 1) / 2 index pairs, row by row (``numpy.triu_indices``).
    """
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
    code, parameter, y, loading_t, offset, mean, packed, pairs_t, nodes, weights = arguments
    return (code, parameter, y[start:stop], loading_t, offset, mean[start:stop], packed[start:stop], pairs_t,
            nodes, weights)


def _kernel_arguments(observations: Observations, loading: np.ndarray, offset: np.ndarray, mean: np.ndarray,
                      packed: np.ndarray) -> tuple:
    lik = observations.likelihood
    nodes, weights = gauss_hermite_standard_normal()
    return (lik.code, lik.parameter, observations.y, np.ascontiguousarray(np.transpose(loading), dtype=np.float64),
            np.ascontiguousarray(offset, dtype=np.float64), np.ascontiguousarray(mean), packed,
            np.ascontiguousarray(_pair_products(loading).T), nodes, weights)


@dataclass(frozen=True, eq=False)
class _PassSums:
    """What one pass over the data returns: the total and per-unit sums of E, the latent derivatives per bin
    (``gradient`` (T, K), ``curvature_packed`` (T, P); no rows unless asked for) and the loadings' per-unit
    sums (``slope_sum`` (K + 1, N), ``weighted_cov`` (P, N), ``weighted_outer`` (Q, N); no columns unless asked
    for), as :func:`_pass` defines them."""

    total: float
    unit_totals: np.ndarray
    gradient: np.ndarray
    curvature_packed: np.ndarray
    slope_sum: np.ndarray
    weighted_cov: np.ndarray
    weighted_outer: np.ndarray


def _data_pass(arguments: tuple, n_units: int, want_latent: bool, want_loading: bool) -> _PassSums:
    """:func:`_pass` over row ranges on the thread pool; the per-range sums added in range order."""
    n_steps, size = arguments[5].shape
    n_pairs = size * (size + 1) // 2
    latent_rows = n_steps if want_latent else 0
    gradient = np.zeros((latent_rows, size))
    curvature_packed = np.zeros((latent_rows, n_pairs))
    loading_columns = n_units if want_loading else 0

    def work(start: int, stop: int) -> tuple:
        unit_totals = np.zeros(n_units)
        per_unit = (np.zeros((size + 1, loading_columns)), np.zeros((n_pairs, loading_columns)),
                    np.zeros(((size + 1) * (size + 2) // 2, loading_columns)))
        rows = slice(start, stop) if want_latent else slice(0, 0)
        total = _pass(*_rows(arguments, start, stop), unit_totals, gradient[rows], curvature_packed[rows],
                      *per_unit)
        return (total, unit_totals) + per_unit

    parts = over_row_ranges(work, n_steps)
    total = sum(part[0] for part in parts)
    unit_totals, slope_sum, weighted_cov, weighted_outer = (np.sum([part[k] for part in parts], axis=0)
                                                            for k in range(1, 5))
    return _PassSums(total, unit_totals, gradient, curvature_packed, slope_sum, weighted_cov, weighted_outer)


@dataclass(frozen=True, eq=False)
class ObservationPass:
    """What one pass over a trial's data gives at (C, d, q): ``total`` E_q[log p(y | x)] with its constant,
    ``unit_values`` each unit's sum_t E(y_nt, mu_nt, v_nt) without it (N,), and when asked for, ``latent``
    (its gradient in m (T, K), W (T, K, K)) and ``loading`` (the loadings' gradient (N, K + 1) and
    preconditioner (N, K + 1, K + 1)).  The E-step and the M-step hand these on, so that one pass serves both."""

    total: float
    unit_values: np.ndarray
    latent: tuple[np.ndarray, np.ndarray] | None = None
    loading: tuple[np.ndarray, np.ndarray] | None = None


def observation_pass(observations: Observations, loading: np.ndarray, offset: np.ndarray, mean: np.ndarray,
                     marginal: np.ndarray, want_latent: bool = False, want_loading: bool = False
                     ) -> ObservationPass:
    """One pass over the trial at (C, d) = (``loading``, ``offset``) and q = (``mean``, ``marginal``), with the
    derivatives asked for.

    Parameters
    ----------
    observations : Observations
        The trial's data (or every trial's bins stacked), T bins of N units.
    loading : (N, K) array
        C.
    offset : (N,) array
        d.
    mean : (T, K) array
        q's means m_t over the same bins.
    marginal : (T, K, K) array
        q's marginal covariances S_t.
    want_latent : bool
        Whether to sum the derivatives in the means: the gradient (T, K) and W (T, K, K).
    want_loading : bool
        Whether to sum the loadings' Newton pieces: the gradient (N, K + 1) and preconditioner (N, K + 1, K + 1).

    Returns
    -------
    ObservationPass
        E_q[log p(y | x)] with its constant (nats), each unit's sum without it, and the pieces asked for (None
        otherwise).
    """
    arguments = _kernel_arguments(observations, loading, offset, mean, _packed_cov(marginal))
    sums = _data_pass(arguments, loading.shape[0], want_latent, want_loading)
    size = mean.shape[1]
    return ObservationPass(sums.total + observations.log_normaliser, sums.unit_totals,
                           (sums.gradient, _unpacked(sums.curvature_packed, size)) if want_latent else None,
                           _loading_newton_pieces(sums, loading) if want_loading else None)


def observation_terms(observations: Observations, loading: np.ndarray, offset: np.ndarray, mean: np.ndarray,
                      marginal: np.ndarray, want_derivatives: bool = True
                      ) -> tuple[float, np.ndarray, np.ndarray]:
    """(E_q[log p(y | x)] with its constant, its gradient in m (T, K), W (T, K, K)) for one trial
    (empty arrays without ``want_derivatives``).

    Parameters
    ----------
    observations : Observations
        The trial's data (or every trial's bins stacked), T bins of N units.
    loading : (N, K) array
        C.
    offset : (N,) array
        d.
    mean : (T, K) array
        q's means m_t over the same bins.
    marginal : (T, K, K) array
        q's marginal covariances S_t.
    want_derivatives : bool
        Whether to sum the gradient and W.

    Returns
    -------
    total : float
        E_q[log p(y | x)] in nats, with the likelihood's data-only constant.
    gradient : (T, K) array
        sum_n dE/dmu c_n per bin ((0, K) without ``want_derivatives``).
    curvature : (T, K, K) array
        W_t = -2 sum_n dE/dv c_n c_n' per bin ((0, K, K) without ``want_derivatives``).
    """
    size = mean.shape[1]
    if not want_derivatives:
        total, _ = observation_values(observations, loading, offset, mean, marginal)
        return total, np.zeros((0, size)), np.zeros((0, size, size))
    data_pass = observation_pass(observations, loading, offset, mean, marginal, want_latent=True)
    return (data_pass.total,) + data_pass.latent


def observation_values(observations: Observations, loading: np.ndarray, offset: np.ndarray, mean: np.ndarray,
                       marginal: np.ndarray) -> tuple[float, np.ndarray]:
    """(E_q[log p(y | x)] with its constant, each unit's sum_t E(y_nt, mu_nt, v_nt) without it (N,)).

    Parameters
    ----------
    observations : Observations
        The trial's data (or every trial's bins stacked), T bins of N units.
    loading : (N, K) array
        C.
    offset : (N,) array
        d.
    mean : (T, K) array
        q's means m_t over the same bins.
    marginal : (T, K, K) array
        q's marginal covariances S_t.

    Returns
    -------
    total : float
        E_q[log p(y | x)] in nats, with the likelihood's data-only constant.
    unit_values : (N,) array
        Each unit's sum_t E(y_nt, mu_nt, v_nt), without the constant.
    """
    data_pass = observation_pass(observations, loading, offset, mean, marginal)
    return data_pass.total, data_pass.unit_values


def _unit_expected_log_likelihoods(observations: Observations, loading: np.ndarray, offset: np.ndarray,
                                   mean: np.ndarray, packed: np.ndarray) -> np.ndarray:
    """sum_t E(y_nt, mu_nt, v_nt) per unit (without the data-only constant), (N,)."""
    arguments = _kernel_arguments(observations, loading, offset, mean, packed)
    return _data_pass(arguments, loading.shape[0], want_latent=False, want_loading=False).unit_totals


def _loading_newton_pieces(sums: _PassSums, loading: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per unit, from a pass's loading sums: the gradient in (c, d) (N, K + 1) and the preconditioner
    (N, K + 1, K + 1)."""
    size = loading.shape[1]
    rows, cols = pair_index(size)
    weighted_cov = _unpacked(sums.weighted_cov.T / np.where(rows == cols, 1.0, 2.0), size)  # sum dE/dv S_t
    lifted_rows, lifted_cols = pair_index(size + 1)
    precision = np.empty((loading.shape[0], size + 1, size + 1))
    precision[:, lifted_rows, lifted_cols] = sums.weighted_outer.T
    precision[:, lifted_cols, lifted_rows] = sums.weighted_outer.T
    precision[:, :size, :size] -= 2.0 * weighted_cov
    gradient = np.ascontiguousarray(sums.slope_sum.T)
    gradient[:, :size] += 2.0 * np.einsum("nij,nj->ni", weighted_cov, loading)
    return gradient, precision


def _loading_step(observations: Observations, loading: np.ndarray, offset: np.ndarray, mean: np.ndarray,
                  packed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per unit: the gradient in (c, d) (N, K + 1) and the preconditioner (N, K + 1, K + 1), by a pass."""
    arguments = _kernel_arguments(observations, loading, offset, mean, packed)
    return _loading_newton_pieces(_data_pass(arguments, loading.shape[0], want_latent=False, want_loading=True),
                                  loading)


@dataclass(frozen=True, eq=False)
class LoadingUpdate:
    """The loadings' update: new C (N, K) and d (N,), each unit's sum_t E there (N,), and, when asked for and
    known, the latent derivatives (gradient (T, K), W (T, K, K)) at the new (C, d) (else None)."""

    loading: np.ndarray
    offset: np.ndarray
    unit_values: np.ndarray
    latent: tuple[np.ndarray, np.ndarray] | None


def update_loadings(observations: Observations, loading: np.ndarray, offset: np.ndarray, mean: np.ndarray,
                    marginal: np.ndarray, steps: int = 2, start_values: np.ndarray | None = None,
                    prior: LoadingPrior | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """New (C, d) by up to ``steps`` preconditioned, line-searched steps per unit, and each unit's
    sum_t E(y_nt, mu_nt, v_nt) there (N,): :func:`loading_update` without the pieces it can reuse.

    Parameters
    ----------
    observations : Observations
        The trial's data (or every trial's bins stacked), T bins of N units.
    loading : (N, K) array
        C.
    offset : (N,) array
        d.
    mean : (T, K) array
        q's means m_t over the same bins.
    marginal : (T, K, K) array
        q's marginal covariances S_t.
    steps : int
        The most preconditioned, line-searched steps per unit.
    start_values : (N,) array, optional
        Each unit's sum_t E at the given (C, d), when known (saves a pass).
    prior : LoadingPrior, optional
        The prior on C and d (None: flat, the maximum-likelihood update).

    Returns
    -------
    loading : (N, K) array
        The new C.
    offset : (N,) array
        The new d.
    unit_values : (N,) array
        Each unit's sum_t E(y_nt, mu_nt, v_nt) at the new (C, d), without the prior.
    """
    update = loading_update(observations, loading, offset, mean, marginal, steps, start_values, prior=prior)
    return update.loading, update.offset, update.unit_values


def loading_objective(observations: Observations, loading: np.ndarray, offset: np.ndarray, mean: np.ndarray,
                      marginal: np.ndarray, prior: LoadingPrior | None = None) -> tuple[float, np.ndarray]:
    """The objective the loadings' M-step maximises, and its gradient.

    Parameters
    ----------
    observations : Observations
        Every trial's bins stacked (T, N).
    loading, offset : ndarray of shape (N, K) and (N,)
        C and d.
    mean, marginal : ndarray of shape (T, K) and (T, K, K)
        q's means and marginal covariances over the same bins.
    prior : LoadingPrior, optional
        The prior on C and d (None: flat).

    Returns
    -------
    value : float
        sum_{t,n} E(y_nt, mu_nt, v_nt) + log p(C, d) (the data-only constant of the likelihood left out).
    gradient : ndarray of shape (N, K + 1)
        Its derivative in each unit's (c_n, d_n).
    """
    prior = prior if prior is not None else LoadingPrior()
    packed = _packed_cov(marginal)
    arguments = _kernel_arguments(observations, loading, offset, mean, packed)
    sums = _data_pass(arguments, loading.shape[0], want_latent=False, want_loading=True)
    gradient, _ = _loading_newton_pieces(sums, loading)
    return (float(np.sum(sums.unit_totals)) + prior.log_density(loading, offset),
            gradient + prior.gradient(loading, offset))


def loading_update(observations: Observations, loading: np.ndarray, offset: np.ndarray, mean: np.ndarray,
                   marginal: np.ndarray, steps: int = 2, start_values: np.ndarray | None = None,
                   start_pieces: tuple[np.ndarray, np.ndarray] | None = None, want_latent: bool = False,
                   prior: LoadingPrior | None = None) -> LoadingUpdate:
    """New (C, d) by up to ``steps`` preconditioned, line-searched steps per unit; no unit's objective falls.

    The objective of unit n is sum_t E(y_nt, mu_nt, v_nt) + log p(c_n) + log p(d_n) (:func:`loading_objective`):
    with a ``prior`` (:class:`vbgui.core.lds.loading_prior.LoadingPrior`) the update moves towards the MAP
    estimate of C and d, without one (None or flat) towards their maximum-likelihood estimate; the prior adds
    its gradient to the step's gradient and its precision to the preconditioner's diagonal.  ``observations``,
    ``mean`` and ``marginal`` hold every trial's bins stacked.

    What a caller already knows at the given (C, d) saves passes: ``start_values`` each unit's sum_t E,
    ``start_pieces`` the first step's (gradient, preconditioner) of the expected log-likelihood alone
    (:class:`ObservationPass` ``loading``).  With ``want_latent`` the line search's passes also sum the latent
    derivatives; they are returned when the pass that set the final (C, d) of every unit that moved computed
    them (the next E-step's first pass).  The returned ``unit_values`` are each unit's sum_t E (no prior).

    Parameters
    ----------
    observations : Observations
        The trial's data (or every trial's bins stacked), T bins of N units.
    loading : (N, K) array
        C.
    offset : (N,) array
        d.
    mean : (T, K) array
        q's means m_t over the same bins.
    marginal : (T, K, K) array
        q's marginal covariances S_t.
    steps : int
        The most preconditioned, line-searched steps per unit.
    start_values : (N,) array, optional
        Each unit's sum_t E at the given (C, d), when known (saves a pass).
    start_pieces : ((N, K + 1) array, (N, K + 1, K + 1) array), optional
        The first step's gradient and preconditioner of the expected log-likelihood at the given (C, d).
    want_latent : bool
        Whether the line search's passes also sum the latent derivatives.
    prior : LoadingPrior, optional
        The prior on C and d (None: flat, the maximum-likelihood update).

    Returns
    -------
    LoadingUpdate
        The new C and d, each unit's sum_t E there, and the latent derivatives at them when asked for and known
        (else None).
    """
    size = loading.shape[1]
    prior = prior if prior is not None else LoadingPrior()
    prior_precision = prior.precisions(size)
    packed = _packed_cov(marginal)
    loading = np.array(loading, dtype=np.float64)
    offset = np.array(offset, dtype=np.float64)
    values = _unit_expected_log_likelihoods(observations, loading, offset, mean, packed) \
        if start_values is None else np.array(start_values, dtype=np.float64)
    latent = None
    for step_index in range(steps):
        if step_index == 0 and start_pieces is not None:
            gradient, precision = (np.array(piece) for piece in start_pieces)
        else:
            gradient, precision = _loading_step(observations, loading, offset, mean, packed)
        gradient = gradient + prior.gradient(loading, offset)
        precision[:, np.arange(size + 1), np.arange(size + 1)] += prior_precision
        ridge = 1e-12 * (1.0 + np.abs(np.diagonal(precision, axis1=1, axis2=2)))
        precision[:, np.arange(size + 1), np.arange(size + 1)] += ridge
        direction = np.linalg.solve(precision, gradient[:, :, None])[:, :, 0]
        objective = values + prior.unit_log_density(loading, offset)
        pending = np.einsum("ni,ni->n", gradient, direction) > 1e-14 * (1.0 + np.abs(objective))
        step = np.ones(loading.shape[0])
        for _ in range(MAX_HALVINGS):
            if not pending.any():
                break
            trial_loading = np.where(pending[:, None], loading + step[:, None] * direction[:, :size], loading)
            trial_offset = np.where(pending, offset + step * direction[:, size], offset)
            arguments = _kernel_arguments(observations, trial_loading, trial_offset, mean, packed)
            sums = _data_pass(arguments, loading.shape[0], want_latent, want_loading=False)
            trial = sums.unit_totals
            accept = pending & (trial + prior.unit_log_density(trial_loading, trial_offset) >= objective)
            if accept.any():  # units moved: derivatives from an earlier pass no longer hold
                latent = (sums.gradient, _unpacked(sums.curvature_packed, size)) \
                    if want_latent and np.array_equal(accept, pending) else None
            loading[accept], offset[accept], values[accept] = trial_loading[accept], trial_offset[accept], \
                trial[accept]
            pending &= ~accept
            step = np.where(pending, 0.5 * step, step)
    return LoadingUpdate(loading, offset, values, latent)
