"""Block-tridiagonal symmetric positive definite matrices: Cholesky, solve, log-determinant, selected inverse.

A (T K) x (T K) matrix J is stored by its diagonal blocks ``diag`` (T, K, K)
and its sub-diagonal blocks ``lower`` (T - 1, K, K), ``lower[t] = J[t+1, t]``
(so J[t, t+1] = lower[t]').  Its Cholesky factor J = L L' is lower block
bidiagonal, with lower-triangular diagonal blocks M_t and sub-diagonal
blocks B_t:

    M_0 M_0' = J_00,   B_t = J_{t+1,t} M_t^{-T},   M_{t+1} M_{t+1}' = J_{t+1,t+1} - B_t B_t'

which costs O(T K^3).  log det J = 2 sum_t sum_i log (M_t)_ii.  The blocks of
Sigma = J^{-1} on and next to the diagonal (all a Gaussian-Markov q needs)
follow from Sigma L = L^{-T} by a backward recursion with G_t = B_t M_t^{-1}:

    Sigma_{T-1} = M_{T-1}^{-T} M_{T-1}^{-1}
    Sigma_{t,t+1} = -G_t' Sigma_{t+1}
    Sigma_t = M_t^{-T} M_t^{-1} + G_t' Sigma_{t+1} G_t

(the Rauch-Tung-Striebel recursion in information form).  Loops are written
out for small K: numba's calls into LAPACK cost more than a 3 x 3 block.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def _cholesky_into(source, out):
    """Lower Cholesky factor of the K x K block ``source`` into ``out``; False if not positive definite."""
    size = source.shape[0]
    for i in range(size):
        for j in range(size):
            out[i, j] = 0.0
    for j in range(size):
        total = source[j, j]
        for k in range(j):
            total -= out[j, k] * out[j, k]
        if not total > 0.0:
            return False
        root = math.sqrt(total)
        out[j, j] = root
        for i in range(j + 1, size):
            value = source[i, j]
            for k in range(j):
                value -= out[i, k] * out[j, k]
            out[i, j] = value / root
    return True


@njit(cache=True, nogil=True)
def _lower_inverse_into(factor, out):
    """Inverse of the lower-triangular block ``factor`` into ``out`` (lower triangular)."""
    size = factor.shape[0]
    for i in range(size):
        for j in range(size):
            out[i, j] = 0.0
    for j in range(size):
        out[j, j] = 1.0 / factor[j, j]
        for i in range(j + 1, size):
            value = 0.0
            for k in range(j, i):
                value -= factor[i, k] * out[k, j]
            out[i, j] = value / factor[i, i]


@njit(cache=True, nogil=True)
def block_cholesky(diag, lower):
    """The Cholesky factor of a block-tridiagonal J: (M (T, K, K), B (T - 1, K, K), ok).

    ``ok`` is False (and the factor incomplete) when J is not positive definite.

    Parameters
    ----------
    diag : (T, K, K) array
        The diagonal blocks J_tt (symmetric; only the lower triangle is read).
    lower : (T - 1, K, K) array
        The sub-diagonal blocks, ``lower[t] = J[t+1, t]``.

    Returns
    -------
    factor_diag : (T, K, K) array
        The lower-triangular diagonal blocks M_t of L.
    factor_lower : (T - 1, K, K) array
        The sub-diagonal blocks B_t of L.
    ok : bool
        Whether every Schur complement was positive definite (J is); when False the factor is incomplete.
    """
    n_steps, size = diag.shape[0], diag.shape[1]
    factor_diag = np.zeros((n_steps, size, size))
    factor_lower = np.zeros((max(n_steps - 1, 0), size, size))
    inverse = np.empty((size, size))
    schur = np.empty((size, size))
    if not _cholesky_into(diag[0], factor_diag[0]):
        return factor_diag, factor_lower, False
    for t in range(n_steps - 1):
        _lower_inverse_into(factor_diag[t], inverse)
        # B_t = J_{t+1,t} M_t^{-T}
        for i in range(size):
            for j in range(size):
                value = 0.0
                for k in range(size):
                    value += lower[t, i, k] * inverse[j, k]
                factor_lower[t, i, j] = value
        for i in range(size):
            for j in range(size):
                value = diag[t + 1, i, j]
                for k in range(size):
                    value -= factor_lower[t, i, k] * factor_lower[t, j, k]
                schur[i, j] = value
        if not _cholesky_into(schur, factor_diag[t + 1]):
            return factor_diag, factor_lower, False
    return factor_diag, factor_lower, True


@njit(cache=True, nogil=True)
def block_logdet(factor_diag):
    """log det J from the diagonal blocks of its Cholesky factor.

    Parameters
    ----------
    factor_diag : (T, K, K) array
        The diagonal blocks M_t of L, from :func:`block_cholesky`.

    Returns
    -------
    float
        log det J = 2 sum_t sum_i log (M_t)_ii.
    """
    total = 0.0
    for t in range(factor_diag.shape[0]):
        for i in range(factor_diag.shape[1]):
            total += math.log(factor_diag[t, i, i])
    return 2.0 * total


@njit(cache=True, nogil=True)
def block_solve(factor_diag, factor_lower, rhs):
    """x with J x = rhs for J = L L' (rhs and x are (T, K)): forward then backward substitution.

    Parameters
    ----------
    factor_diag : (T, K, K) array
        The diagonal blocks M_t of L, from :func:`block_cholesky`.
    factor_lower : (T - 1, K, K) array
        The sub-diagonal blocks B_t of L.
    rhs : (T, K) array
        The right-hand side, one K-vector per step.

    Returns
    -------
    (T, K) array
        The solution x of J x = rhs.
    """
    n_steps, size = rhs.shape[0], rhs.shape[1]
    forward = np.empty((n_steps, size))
    for t in range(n_steps):
        for i in range(size):
            value = rhs[t, i]
            if t > 0:
                for k in range(size):
                    value -= factor_lower[t - 1, i, k] * forward[t - 1, k]
            for k in range(i):
                value -= factor_diag[t, i, k] * forward[t, k]
            forward[t, i] = value / factor_diag[t, i, i]
    solution = np.empty((n_steps, size))
    for t in range(n_steps - 1, -1, -1):
        for i in range(size - 1, -1, -1):
            value = forward[t, i]
            if t < n_steps - 1:
                for k in range(size):
                    value -= factor_lower[t, k, i] * solution[t + 1, k]
            for k in range(i + 1, size):
                value -= factor_diag[t, k, i] * solution[t, k]
            solution[t, i] = value / factor_diag[t, i, i]
    return solution


@njit(cache=True, nogil=True)
def block_selected_inverse(factor_diag, factor_lower):
    """The blocks of J^{-1} on the diagonal (T, K, K) and above it, ``cross[t] = (J^{-1})[t, t+1]`` (T - 1, K, K).

    Parameters
    ----------
    factor_diag : (T, K, K) array
        The diagonal blocks M_t of L, from :func:`block_cholesky`.
    factor_lower : (T - 1, K, K) array
        The sub-diagonal blocks B_t of L.

    Returns
    -------
    marginal : (T, K, K) array
        Sigma_t = (J^{-1})[t, t], symmetrised exactly.
    cross : (T - 1, K, K) array
        Sigma_{t,t+1} = (J^{-1})[t, t+1].
    """
    n_steps, size = factor_diag.shape[0], factor_diag.shape[1]
    marginal = np.zeros((n_steps, size, size))
    cross = np.zeros((max(n_steps - 1, 0), size, size))
    inverse = np.empty((size, size))
    gain = np.empty((size, size))
    product = np.empty((size, size))
    _lower_inverse_into(factor_diag[n_steps - 1], inverse)
    for i in range(size):
        for j in range(size):
            value = 0.0
            for k in range(size):
                value += inverse[k, i] * inverse[k, j]
            marginal[n_steps - 1, i, j] = value
    for t in range(n_steps - 2, -1, -1):
        _lower_inverse_into(factor_diag[t], inverse)
        for i in range(size):  # G_t = B_t M_t^{-1}
            for j in range(size):
                value = 0.0
                for k in range(size):
                    value += factor_lower[t, i, k] * inverse[k, j]
                gain[i, j] = value
        for i in range(size):  # Sigma_{t,t+1} = -G_t' Sigma_{t+1}
            for j in range(size):
                value = 0.0
                for k in range(size):
                    value -= gain[k, i] * marginal[t + 1, k, j]
                cross[t, i, j] = value
        for i in range(size):  # product = G_t' Sigma_{t+1} G_t = -Sigma_{t,t+1} G_t
            for j in range(size):
                value = 0.0
                for k in range(size):
                    value -= cross[t, i, k] * gain[k, j]
                product[i, j] = value
        for i in range(size):
            for j in range(size):
                value = product[i, j]
                for k in range(size):
                    value += inverse[k, i] * inverse[k, j]
                marginal[t, i, j] = value
        for i in range(size):  # exact symmetry keeps later Cholesky factors of these blocks clean
            for j in range(i):
                mean = 0.5 * (marginal[t, i, j] + marginal[t, j, i])
                marginal[t, i, j] = mean
                marginal[t, j, i] = mean
    return marginal, cross


def dense_from_blocks(diag: np.ndarray, lower: np.ndarray) -> np.ndarray:
    """The dense (T K) x (T K) matrix of a block-tridiagonal one (for small problems and tests).

    Parameters
    ----------
    diag : (T, K, K) array
        The diagonal blocks J_tt.
    lower : (T - 1, K, K) array
        The sub-diagonal blocks, ``lower[t] = J[t+1, t]``; their transposes fill the blocks above the diagonal.

    Returns
    -------
    (T K, T K) array
        J, with step t's block at rows and columns t K to (t + 1) K.
    """
    n_steps, size = diag.shape[0], diag.shape[1]
    dense = np.zeros((n_steps * size, n_steps * size))
    for t in range(n_steps):
        dense[t * size:(t + 1) * size, t * size:(t + 1) * size] = diag[t]
    for t in range(n_steps - 1):
        rows = slice((t + 1) * size, (t + 2) * size)
        cols = slice(t * size, (t + 1) * size)
        dense[rows, cols] = lower[t]
        dense[cols, rows] = lower[t].T
    return dense
