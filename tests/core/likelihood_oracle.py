"""Independent log p(y | eta) of every likelihood, from scipy.stats: the tests' oracle.

The engine states each likelihood once, in numba (vbgui.core.likelihoods);
these formulas share no code with it.
"""
from __future__ import annotations

import numpy as np
from scipy import stats

from vbgui.core.likelihoods import Likelihood


def log_prob(likelihood: Likelihood, y: np.ndarray, eta: np.ndarray) -> np.ndarray:
    """log p(y_t | eta_t) elementwise, every constant included."""
    y = np.asarray(y, dtype=float)
    eta = np.asarray(eta, dtype=float)
    if likelihood.name == "poisson":
        return stats.poisson.logpmf(y, np.exp(eta))
    if likelihood.name == "bernoulli":
        return stats.bernoulli.logpmf(y, 1.0 / (1.0 + np.exp(-eta)))
    if likelihood.name == "gaussian":
        return stats.norm.logpdf(y, eta, likelihood.noise_sd)
    if likelihood.name == "negative-binomial":
        size = 1.0 / likelihood.dispersion
        return stats.nbinom.logpmf(y, size, size / (size + np.exp(eta)))
    raise ValueError(f"no oracle for {likelihood.name!r}")
