"""Numba passes over the rows of a design for many weight vectors at once.

For K weight vectors w_k (the rows of W, (K, D)) and a C-contiguous float64
design X (T, D), one pass gives

    loglik_k   = sum_t log p(y_t | eta_tk) (without the data-only constant),
    gradient_k = X' g_k,   g_tk = d log p(y_t | eta) / d eta at eta_tk,

with eta = X W'.  The products X_b W' and X_b' G_b are formed with BLAS on
blocks of rows still in cache, so the design is read from memory once per
pass whatever K is (the chains of an HMC sampler advancing together; the
large importance-sampling batches use numpy's vectorised exp instead, see
:func:`vbgui.core.hmc.log_likelihood`).  Per-row terms:

    poisson   log p = y eta - exp(eta)                g = y - exp(eta)
    bernoulli log p = y eta - log(1 + exp(eta))       g = y - sigmoid(eta)
    gaussian  log p = -(y - eta)^2 / (2 sigma^2)      g = (y - eta) / sigma^2

Kernels are generic in D and K, cached on disk and release the GIL, so
:func:`vbgui.core.rowpass.reduce_rows` can split a pass over threads and
check a cancel token between chunks.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

from vbgui.core.kernels import BERNOULLI, GAUSSIAN, POISSON

# Rows per BLAS block: 512 rows x 26 columns x 8 bytes = 106 kB stays in L2,
# and the (rows x K) block of eta stays small for K up to a few thousand.
BLOCK_ROWS = 512
# Cap on rows x K per block, so that a large importance batch stays in cache.
BLOCK_ELEMENTS = 262_144

_FAST = {"reassoc", "contract", "nsz", "arcp"}

__all__ = ["batch_log_likelihood_gradient", "POISSON", "BERNOULLI", "GAUSSIAN"]


@njit(cache=True, nogil=True, fastmath=_FAST, inline="always")
def _term_and_slope(code, y, eta, noise_var):
    """Return log p(y | eta) (without the data-only constant) and d log p / d eta."""
    if code == POISSON:
        rate = math.exp(eta)
        return y * eta - rate, y - rate
    if code == GAUSSIAN:
        resid = y - eta
        return -resid * resid / (2.0 * noise_var), resid / noise_var
    if eta > 0.0:
        z = math.exp(-eta)
        return y * eta - (eta + math.log1p(z)), y - 1.0 / (1.0 + z)
    z = math.exp(eta)
    return y * eta - math.log1p(z), y - z / (1.0 + z)


@njit(cache=True, nogil=True, fastmath=_FAST)
def batch_log_likelihood_gradient(X, y, weights_t, code, noise_var):
    """loglik (K,) and gradient (D, K) = X' G for the K columns of ``weights_t`` (D, K)."""
    n_rows, dim = X.shape
    n_draws = weights_t.shape[1]
    loglik = np.zeros(n_draws)
    gradient = np.zeros((dim, n_draws))
    block = max(1, min(BLOCK_ROWS, BLOCK_ELEMENTS // max(1, n_draws)))
    slope = np.empty((block, n_draws))
    for start in range(0, n_rows, block):
        n = min(block, n_rows - start)
        Xb = X[start:start + n]
        eta = np.dot(Xb, weights_t)
        for t in range(n):
            yt = y[start + t]
            for k in range(n_draws):
                term, g = _term_and_slope(code, yt, eta[t, k], noise_var)
                loglik[k] += term
                slope[t, k] = g
        gradient += np.dot(Xb.T, slope[:n])
    return loglik, gradient
