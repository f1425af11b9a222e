"""Every likelihood vbgui knows, in one table: the Python modules and the numba dispatch.

A likelihood is a module of this package giving, for one row,

    log_density(y, eta, parameter) -> (log p(y | eta) without its data-only part,
                                       d log p / d eta, d^2 log p / d eta^2)

(numba, inlined), optionally ``expected_log_density(y, mu, var, parameter)``
for eta ~ N(mu, var) in closed form, and the numpy helpers
``log_normaliser_terms``, ``mean_response``, ``linear_predictor_of_mean``,
``response_problem`` and ``draw``.  Every path of the engine (the ELBO
kernels, the Monte Carlo and sampler passes, the grid, the Laplace
approximation) evaluates a likelihood through the two dispatch functions
below.  Adding a likelihood: write its module, add it to ``MODULES``, give it
a branch in :func:`log_density` (and in :func:`expected_log_density` when it
has a closed form), and add its name to :data:`vbgui.core.names.LIKELIHOOD_NAMES`.

Without a closed form, the expectation under eta ~ N(mu, v) is taken by
Gauss-Hermite quadrature of the point function, with Bonnet's and Price's
theorems for the derivatives:

    dE/dmu = E[d log p / d eta],   dE/dv = E[d^2 log p / d eta^2] / 2.
"""
from __future__ import annotations

import math
from types import ModuleType

from numba import njit

from vbgui.core.likelihoods import bernoulli, gaussian, negative_binomial, poisson
from vbgui.core.likelihoods.common import FAST
from vbgui.core.likelihoods.quadrature import rule_range
from vbgui.core.names import LIKELIHOOD_NAMES

MODULES: dict[str, ModuleType] = {m.NAME: m for m in (poisson, bernoulli, gaussian, negative_binomial)}

if tuple(MODULES) != LIKELIHOOD_NAMES:
    raise ImportError(f"likelihood registry {tuple(MODULES)} disagrees with core.names {LIKELIHOOD_NAMES}")
if sorted(m.CODE for m in MODULES.values()) != list(range(len(MODULES))):
    raise ImportError("likelihood codes must be 0..n-1")

POISSON = poisson.CODE
BERNOULLI = bernoulli.CODE
GAUSSIAN = gaussian.CODE
NEGATIVE_BINOMIAL = negative_binomial.CODE


@njit(cache=True, nogil=True, fastmath=FAST, inline="always")
def log_density(code, y, eta, parameter):
    """(log p(y | eta) without its data-only part, first and second derivatives in eta).

    Parameters
    ----------
    code : int
        The likelihood's CODE (POISSON, BERNOULLI, GAUSSIAN, NEGATIVE_BINOMIAL).
    y : float
        Response of the row.
    eta : float
        Linear predictor.
    parameter : float
        The likelihood's scalar (see :attr:`Likelihood.parameter`).

    Returns
    -------
    tuple of float
        (log p, d log p / d eta, d^2 log p / d eta^2), in nats.
    """
    if code == POISSON:
        return poisson.log_density(y, eta, parameter)
    if code == GAUSSIAN:
        return gaussian.log_density(y, eta, parameter)
    if code == NEGATIVE_BINOMIAL:
        return negative_binomial.log_density(y, eta, parameter)
    return bernoulli.log_density(y, eta, parameter)


@njit(cache=True, nogil=True, fastmath=FAST, inline="always")
def _gauss_hermite_expectation(code, y, mu, var, parameter, nodes, weights):
    """(E[log p], dE/dmu, dE/dv) for eta ~ N(mu, var) by the Gauss-Hermite rule serving ``var``."""
    first, stop = rule_range(var)
    sd = math.sqrt(var)
    mean_value = 0.0
    mean_slope = 0.0
    mean_curvature = 0.0
    for k in range(first, stop):
        value, slope, curvature = log_density(code, y, mu + sd * nodes[k], parameter)
        w = weights[k]
        mean_value += w * value
        mean_slope += w * slope
        mean_curvature += w * curvature
    return mean_value, mean_slope, 0.5 * mean_curvature


@njit(cache=True, nogil=True, fastmath=FAST, inline="always")
def expected_log_density(code, y, mu, var, parameter, nodes, weights):
    """(E[log p(y | eta)] without its data-only part, dE/dmu, dE/dv) for eta ~ N(mu, var).

    Inlined into the kernels so that LLVM hoists the branch on ``code`` out of
    the row loop (a plain call measured 70 % slower).

    Parameters
    ----------
    code : int
        The likelihood's CODE.
    y : float
        Response of the row.
    mu, var : float
        Mean and variance of eta under q.
    parameter : float
        The likelihood's scalar (see :attr:`Likelihood.parameter`).
    nodes, weights : 1-D array
        The stored Gauss-Hermite rules of :func:`gauss_hermite_standard_normal`, used without a closed form.

    Returns
    -------
    tuple of float
        (E[log p], dE/dmu, dE/dv), in nats.
    """
    if code == POISSON:
        return poisson.expected_log_density(y, mu, var, parameter)
    if code == GAUSSIAN:
        return gaussian.expected_log_density(y, mu, var, parameter)
    return _gauss_hermite_expectation(code, y, mu, var, parameter, nodes, weights)
