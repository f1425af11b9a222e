"""Poisson spike counts with the log link.

    log p(y | eta) = y eta - exp(eta) - log y!
    d/deta = y - exp(eta),   d^2/deta^2 = -exp(eta)

Under eta ~ N(mu, v) the expectation is exact through the log-normal moment
E[exp(eta)] = exp(mu + v/2):

    E[log p] = y mu - exp(mu + v/2) - log y!
    dE/dmu = y - exp(mu + v/2),   dE/dv = -exp(mu + v/2) / 2
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit
from scipy.special import gammaln

from vbgui.core.likelihoods.common import FAST

NAME = "poisson"
CODE = 0
# No spike train has more spikes in one bin; a larger count is a unit error, not data.
MAX_COUNT = 1e6


@njit(cache=True, nogil=True, fastmath=FAST, inline="always")
def log_density(y, eta, parameter):
    """(log p(y | eta) without -log y!, its first and second derivatives in eta).

    Parameters
    ----------
    y : float
        Spike count of the row.
    eta : float
        Linear predictor (log rate per bin).
    parameter : float
        Unused (the poisson likelihood has no parameter).

    Returns
    -------
    tuple of float
        (y eta - exp(eta), y - exp(eta), -exp(eta)), in nats.
    """
    rate = math.exp(eta)
    return y * eta - rate, y - rate, -rate


@njit(cache=True, nogil=True, fastmath=FAST, inline="always")
def expected_log_density(y, mu, var, parameter):
    """(E[log p] without -log y!, dE/dmu, dE/dv) for eta ~ N(mu, var), exactly.

    Parameters
    ----------
    y : float
        Spike count of the row.
    mu, var : float
        Mean and variance of eta under q.
    parameter : float
        Unused.

    Returns
    -------
    tuple of float
        (y mu - exp(mu + var / 2), y - exp(mu + var / 2), -exp(mu + var / 2) / 2), in nats.
    """
    rate = math.exp(mu + 0.5 * var)
    return y * mu - rate, y - rate, -0.5 * rate


def log_normaliser_terms(y: np.ndarray, parameter: float) -> np.ndarray:
    """The data-only part of log p per row: -log y!.

    Parameters
    ----------
    y : (T,) array
        Spike counts.
    parameter : float
        Unused.

    Returns
    -------
    (T,) array
        -log y! per row, in nats.
    """
    return -gammaln(y + 1.0)


def mean_response(eta: np.ndarray, parameter: float) -> np.ndarray:
    """E[y | eta] = exp(eta), counts per bin.

    Parameters
    ----------
    eta : array
        Linear predictor, any shape.
    parameter : float
        Unused.

    Returns
    -------
    array
        exp(eta), the shape of eta.
    """
    return np.exp(eta)


def linear_predictor_of_mean(mean: float, parameter: float) -> float:
    """log(mean), the mean clipped below at 1e-6.

    Parameters
    ----------
    mean : float
        Mean count per bin.
    parameter : float
        Unused.

    Returns
    -------
    float
        log(max(mean, 1e-6)).
    """
    return float(np.log(max(mean, 1e-6)))


def response_problem(y: np.ndarray) -> str | None:
    """Counts must be non-negative integers no spike train exceeds.

    Parameters
    ----------
    y : (T,) array
        Candidate responses.

    Returns
    -------
    str or None
        What :func:`count_problem` finds wrong, or None.
    """
    return count_problem(y)


def count_problem(y: np.ndarray) -> str | None:
    """Why ``y`` are not spike counts (negative, fractional, above MAX_COUNT), or None.

    Parameters
    ----------
    y : (T,) array
        Candidate spike counts.

    Returns
    -------
    str or None
        A phrase naming the first offending bin, or None if y are counts.
    """
    if np.any(y < 0):
        return f"contains negative counts (first at bin {int(np.flatnonzero(y < 0)[0])})"
    if np.any(y != np.round(y)):
        return f"contains non-integer counts (first at bin {int(np.flatnonzero(y != np.round(y))[0])})"
    if np.any(y > MAX_COUNT):
        first = int(np.flatnonzero(y > MAX_COUNT)[0])
        return (f"contains a count of {y[first]:.3g} at bin {first}; no spike train has more than "
                f"{MAX_COUNT:.0e} spikes in one bin")
    return None


def draw(rng: np.random.Generator, eta: np.ndarray, parameter: float) -> np.ndarray:
    """y ~ Poisson(exp(eta)).

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of randomness.
    eta : array
        Linear predictor, any shape.
    parameter : float
        Unused.

    Returns
    -------
    array of float64
        Counts, the shape of eta.
    """
    return rng.poisson(np.exp(eta)).astype(np.float64)
