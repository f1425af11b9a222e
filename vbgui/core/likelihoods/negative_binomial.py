"""Over-dispersed spike counts: the negative binomial with the log link.

With mean mu = exp(eta) and dispersion a > 0, Var[y] = mu + a mu^2 (a -> 0 is
Poisson).  ``parameter`` is the size r = 1 / a.  Writing
log(r + exp(eta)) = log r + softplus(eta - log r),

    log p(y | eta) = log G(y + r) - log G(r) - log y! - y log r           (data only)
                     + y eta - (y + r) softplus(eta - log r)
    d/deta = y - (y + r) s,   d^2/deta^2 = -(y + r) s (1 - s),   s = sigmoid(eta - log r)

No closed form under a Gaussian eta: the expectation is taken by
Gauss-Hermite quadrature, whose accuracy is that of the softplus
(:mod:`vbgui.core.likelihoods.quadrature`), tested against adaptive quadrature.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit
from scipy.special import gammaln

from vbgui.core.likelihoods import poisson
from vbgui.core.likelihoods.common import FAST, softplus_sigmoid

NAME = "negative-binomial"
CODE = 3


@njit(cache=True, nogil=True, fastmath=FAST, inline="always")
def log_density(y, eta, parameter):
    """(log p(y | eta) without its data-only part, its first and second derivatives in eta).

    Parameters
    ----------
    y : float
        Spike count of the row.
    eta : float
        Linear predictor (log mean count per bin).
    parameter : float
        Size r = 1 / dispersion.

    Returns
    -------
    tuple of float
        (y eta - (y + r) log(1 + exp(eta) / r), its first and second derivatives in eta), in nats.
    """
    total = y + parameter
    softplus, sigmoid = softplus_sigmoid(eta - math.log(parameter))
    return y * eta - total * softplus, y - total * sigmoid, -total * sigmoid * (1.0 - sigmoid)


def log_normaliser_terms(y: np.ndarray, parameter: float) -> np.ndarray:
    """The data-only part of log p per row: log G(y + r) - log G(r) - log y! - y log r.

    Parameters
    ----------
    y : (T,) array
        Spike counts.
    parameter : float
        Size r = 1 / dispersion.

    Returns
    -------
    (T,) array
        The data-only part per row, in nats.
    """
    return gammaln(y + parameter) - gammaln(parameter) - gammaln(y + 1.0) - y * np.log(parameter)


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
    """Counts, as for poisson.

    Parameters
    ----------
    y : (T,) array
        Candidate responses.

    Returns
    -------
    str or None
        What :func:`vbgui.core.likelihoods.poisson.count_problem` finds wrong, or None.
    """
    return poisson.count_problem(y)


def draw(rng: np.random.Generator, eta: np.ndarray, parameter: float) -> np.ndarray:
    """y ~ NB(r, p) with p = r / (r + exp(eta)), so that E[y] = exp(eta).

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of randomness.
    eta : array
        Linear predictor, any shape.
    parameter : float
        Size r = 1 / dispersion.

    Returns
    -------
    array of float64
        Counts, the shape of eta.
    """
    mean = np.exp(eta)
    return rng.negative_binomial(parameter, parameter / (parameter + mean)).astype(np.float64)
