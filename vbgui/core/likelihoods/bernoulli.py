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
    """(log p(y | eta), its first and second derivatives in eta)."""
    softplus, sigmoid = softplus_sigmoid(eta)
    return y * eta - softplus, y - sigmoid, -sigmoid * (1.0 - sigmoid)


def log_normaliser_terms(y: np.ndarray, parameter: float) -> np.ndarray:
    """No data-only part."""
    return np.zeros(y.shape)


def mean_response(eta: np.ndarray, parameter: float) -> np.ndarray:
    """P(y = 1 | eta) = sigmoid(eta)."""
    return expit(eta)


def linear_predictor_of_mean(mean: float, parameter: float) -> float:
    """logit(mean), the mean clipped into [1e-6, 1 - 1e-6]."""
    return float(logit(min(max(mean, 1e-6), 1 - 1e-6)))


def response_problem(y: np.ndarray) -> str | None:
    """Only 0 and 1 are allowed."""
    other = (y != 0) & (y != 1)
    if np.any(other):
        return f"must hold only 0 and 1 (first other value at bin {int(np.flatnonzero(other)[0])})"
    return None


def draw(rng: np.random.Generator, eta: np.ndarray, parameter: float) -> np.ndarray:
    """y ~ Bernoulli(sigmoid(eta))."""
    return (rng.random(np.shape(eta)) < expit(eta)).astype(np.float64)
