"""Binary spike indicators with the logit link.

    log p(y | eta) = y eta - log(1 + exp(eta)),   y in {0, 1}
    d/deta = y - sigmoid(eta),   d^2/deta^2 = -sigmoid(eta) (1 - sigmoid(eta))

No closed form under a Gaussian eta: the expectation is taken by
Gauss-Hermite quadrature (:mod:`vbgui.core.likelihoods.quadrature`).
"""
from __future__ import annotations

import numpy as np
from numba import njit
from scipy.special import expit, logit

from vbgui.core.likelihoods.common import FAST, softplus_sigmoid

NAME = "bernoulli"
CODE = 1


@njit(cache=True, nogil=True, fastmath=FAST, inline="always")
def log_density(y, eta, parameter):
    """(log p(y | eta), its first and second derivatives in eta).

    Parameters
    ----------
    y : float
        Response of the row, 0 or 1.
    eta : float
        Linear predictor (log odds).
    parameter : float
        Unused (the bernoulli likelihood has no parameter).

    Returns
    -------
    tuple of float
        (y eta - log(1 + exp(eta)), y - sigmoid(eta), -sigmoid(eta) (1 - sigmoid(eta))), in nats.
    """
    softplus, sigmoid = softplus_sigmoid(eta)
    return y * eta - softplus, y - sigmoid, -sigmoid * (1.0 - sigmoid)


def log_normaliser_terms(y: np.ndarray, parameter: float) -> np.ndarray:
    """No data-only part.

    Parameters
    ----------
    y : (T,) array
        Responses.
    parameter : float
        Unused.

    Returns
    -------
    (T,) array
        Zeros.
    """
    return np.zeros(y.shape)


def mean_response(eta: np.ndarray, parameter: float) -> np.ndarray:
    """P(y = 1 | eta) = sigmoid(eta).

    Parameters
    ----------
    eta : array
        Linear predictor, any shape.
    parameter : float
        Unused.

    Returns
    -------
    array
        sigmoid(eta), the shape of eta.
    """
    return expit(eta)


def linear_predictor_of_mean(mean: float, parameter: float) -> float:
    """logit(mean), the mean clipped into [1e-6, 1 - 1e-6].

    Parameters
    ----------
    mean : float
        Probability of a 1.
    parameter : float
        Unused.

    Returns
    -------
    float
        The log odds of the clipped mean.
    """
    return float(logit(min(max(mean, 1e-6), 1 - 1e-6)))


def response_problem(y: np.ndarray) -> str | None:
    """Only 0 and 1 are allowed.

    Parameters
    ----------
    y : (T,) array
        Candidate responses.

    Returns
    -------
    str or None
        A phrase naming the first bin holding neither 0 nor 1, or None.
    """
    other = (y != 0) & (y != 1)
    if np.any(other):
        return f"must hold only 0 and 1 (first other value at bin {int(np.flatnonzero(other)[0])})"
    return None


def draw(rng: np.random.Generator, eta: np.ndarray, parameter: float) -> np.ndarray:
    """y ~ Bernoulli(sigmoid(eta)).

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
        Zeros and ones, the shape of eta.
    """
    return (rng.random(np.shape(eta)) < expit(eta)).astype(np.float64)
