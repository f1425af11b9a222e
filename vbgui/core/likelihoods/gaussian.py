"""A continuous response with the identity link and known noise variance s2.

``parameter`` is the noise variance s2 = noise_sd^2.

    log p(y | eta) = -(y - eta)^2 / (2 s2) - log(2 pi s2) / 2
    d/deta = (y - eta) / s2,   d^2/deta^2 = -1 / s2

Under eta ~ N(mu, v), exactly:

    E[log p] = -((y - mu)^2 + v) / (2 s2) - log(2 pi s2) / 2
    dE/dmu = (y - mu) / s2,   dE/dv = -1 / (2 s2)
"""
from __future__ import annotations

import numpy as np
from numba import njit

from vbgui.core.likelihoods.common import FAST

NAME = "gaussian"
CODE = 2


@njit(cache=True, nogil=True, fastmath=FAST, inline="always")
def log_density(y, eta, parameter):
    """(log p(y | eta) without the log(2 pi s2) term, its first and second derivatives in eta).

    Parameters
    ----------
    y : float
        Response of the row.
    eta : float
        Linear predictor (the mean of y).
    parameter : float
        Noise variance s2, in squared units of y.

    Returns
    -------
    tuple of float
        (-(y - eta)^2 / (2 s2), (y - eta) / s2, -1 / s2), in nats.
    """
    resid = y - eta
    return -resid * resid / (2.0 * parameter), resid / parameter, -1.0 / parameter


@njit(cache=True, nogil=True, fastmath=FAST, inline="always")
def expected_log_density(y, mu, var, parameter):
    """(E[log p] without the log(2 pi s2) term, dE/dmu, dE/dv) for eta ~ N(mu, var).

    Parameters
    ----------
    y : float
        Response of the row.
    mu, var : float
        Mean and variance of eta under q.
    parameter : float
        Noise variance s2.

    Returns
    -------
    tuple of float
        (-((y - mu)^2 + var) / (2 s2), (y - mu) / s2, -1 / (2 s2)), in nats.
    """
    resid = y - mu
    return -(resid * resid + var) / (2.0 * parameter), resid / parameter, -0.5 / parameter


def log_normaliser_terms(y: np.ndarray, parameter: float) -> np.ndarray:
    """The data-only part of log p per row: -log(2 pi s2) / 2.

    Parameters
    ----------
    y : (T,) array
        Responses (only their shape is used).
    parameter : float
        Noise variance s2.

    Returns
    -------
    (T,) array
        -log(2 pi s2) / 2 in every row, in nats.
    """
    return np.full(y.shape, -0.5 * np.log(2.0 * np.pi * parameter))


def mean_response(eta: np.ndarray, parameter: float) -> np.ndarray:
    """E[y | eta] = eta.

    Parameters
    ----------
    eta : array
        Linear predictor, any shape.
    parameter : float
        Unused.

    Returns
    -------
    array of float
        eta as floats.
    """
    return np.asarray(eta, dtype=float)


def linear_predictor_of_mean(mean: float, parameter: float) -> float:
    """The mean itself.

    Parameters
    ----------
    mean : float
        Mean response.
    parameter : float
        Unused.

    Returns
    -------
    float
        mean.
    """
    return float(mean)


def response_problem(y: np.ndarray) -> str | None:
    """Any finite value is a response.

    Parameters
    ----------
    y : (T,) array
        Candidate responses (finiteness is checked by the caller).

    Returns
    -------
    None
        Always.
    """
    return None


def draw(rng: np.random.Generator, eta: np.ndarray, parameter: float) -> np.ndarray:
    """y ~ N(eta, s2).

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of randomness.
    eta : array
        Linear predictor, any shape.
    parameter : float
        Noise variance s2.

    Returns
    -------
    array of float
        Responses, the shape of eta.
    """
    return np.asarray(eta, dtype=float) + np.sqrt(parameter) * rng.standard_normal(np.shape(eta))
