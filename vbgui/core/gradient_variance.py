"""The spread of an estimator's ELBO gradient at a fixed q, measured by repetition.

For an estimator g_hat of grad ELBO(q) (in q's mean and the free entries of
its Cholesky factor), R independent calls give per component the sample
mean and variance; the exact estimator's variance is zero.  The ratio of two
estimators' variances at the same q and sample count is what the
noisy-gradients demonstration reports.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vbgui.core.elbo import ElboGradient, ExactEstimator, MonteCarloEstimator
from vbgui.core.families import GaussianPosterior


@dataclass(frozen=True, eq=False)
class GradientSpread:
    """Per component of (m, free L): the mean and variance of one call's gradient over ``repeats`` calls."""

    mean: np.ndarray
    variance: np.ndarray
    repeats: int


def flatten(q: GaussianPosterior, gradient: ElboGradient) -> np.ndarray:
    """The gradient as one vector: dELBO/dm, then dELBO/dL on L's free entries (row-major).

    Parameters
    ----------
    q : GaussianPosterior
        Gives the family's mask.
    gradient : ElboGradient
        The gradient.

    Returns
    -------
    (D + F,) array
        F the number of free entries of L.
    """
    return np.concatenate([gradient.grad_mean, gradient.grad_chol[q.family.chol_mask()]])


def gradient_spread(estimator: ExactEstimator | MonteCarloEstimator, q: GaussianPosterior,
                    repeats: int) -> GradientSpread:
    """Call ``estimator.gradient(q)`` ``repeats`` times (>= 2) and summarise the components.

    Parameters
    ----------
    estimator : any ELBO estimator (fresh draws on every call for Monte Carlo ones)
    q : the fixed approximation
    repeats : the number of calls

    Returns
    -------
    GradientSpread with the sample mean and (unbiased) sample variance of each component.
    """
    if repeats < 2:
        raise ValueError("repeats must be at least 2")
    draws = np.array([flatten(q, estimator.gradient(q)) for _ in range(repeats)])
    return GradientSpread(draws.mean(axis=0), draws.var(axis=0, ddof=1), repeats)
