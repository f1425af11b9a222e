"""The exact posterior and log evidence of the linear-Gaussian model.

y = X w + e, e ~ N(0, sigma^2 I), w ~ N(0, s^2 I).  Then

    Lambda = X'X / sigma^2 + I / s^2,    b = X'y / sigma^2,
    p(w | y) = N(Lambda^-1 b, Lambda^-1),
    log p(y) = -T/2 log(2 pi sigma^2) - y'y / (2 sigma^2) - D/2 log s^2
               - 1/2 log det Lambda + 1/2 b' Lambda^-1 b.

For a mean-field q the optimum is known too: the means equal the posterior
means, the variances are 1 / Lambda_ii, and the ELBO falls short of log p(y)
by KL(q || posterior) = 1/2 (sum_i log Lambda_ii - log det Lambda).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.linalg import cho_factor, cho_solve

from vbgui.core.design_rows import gram
from vbgui.core.elbo import GLMProblem


@dataclass(frozen=True, eq=False)
class GaussianPosteriorExact:
    mean: np.ndarray
    cov: np.ndarray
    precision: np.ndarray
    log_evidence: float


def linear_gaussian_posterior(problem: GLMProblem) -> GaussianPosteriorExact:
    """Exact posterior and log evidence of a GLM with the gaussian likelihood.

    Parameters
    ----------
    problem : GLMProblem
        A GLM with the gaussian likelihood.

    Returns
    -------
    GaussianPosteriorExact
        Posterior mean (D,), covariance and precision (D, D), and log p(y) in nats.

    Raises
    ------
    ValueError
        For any other likelihood.
    """
    if problem.likelihood.name != "gaussian":
        raise ValueError("the exact posterior is known in closed form for the gaussian likelihood only")
    y = problem.response
    noise_var = problem.likelihood.noise_var
    prior_var = problem.prior_scale ** 2
    n_rows, dim = problem.design.shape
    cross, projected = gram(problem.design, y)
    precision = cross / noise_var + np.eye(dim) / prior_var
    b = projected / noise_var
    factor = cho_factor(precision, lower=True)
    mean = cho_solve(factor, b)
    cov = cho_solve(factor, np.eye(dim))
    log_det_precision = 2.0 * np.sum(np.log(np.diag(factor[0])))
    log_evidence = (-0.5 * n_rows * np.log(2.0 * np.pi * noise_var) - 0.5 * (y @ y) / noise_var
                    - 0.5 * dim * np.log(prior_var) - 0.5 * log_det_precision + 0.5 * (b @ mean))
    return GaussianPosteriorExact(mean, 0.5 * (cov + cov.T), precision, float(log_evidence))


def mean_field_gap(precision: np.ndarray) -> float:
    """KL(q* || posterior) of the optimal mean-field q for a Gaussian posterior with this precision.

    Parameters
    ----------
    precision : (D, D) array
        The posterior precision Lambda.

    Returns
    -------
    float
        Nats: (sum_i log Lambda_ii - log det Lambda) / 2.
    """
    sign, log_det = np.linalg.slogdet(precision)
    return float(0.5 * (np.sum(np.log(np.diag(precision))) - log_det))
