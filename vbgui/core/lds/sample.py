"""Draws from an LDS and a data-driven starting point for its parameters."""
from __future__ import annotations

import numpy as np

from vbgui.core.likelihoods import Likelihood
from vbgui.core.lds.model import LdsParams, transition_drive


def sample_path(params: LdsParams, n_steps: int, rng: np.random.Generator,
                inputs: np.ndarray | None = None) -> np.ndarray:
    """A draw of the latent path.

    Parameters
    ----------
    params : LdsParams
        The model.
    n_steps : int
        T, the number of bins.
    rng : numpy.random.Generator
        The source of randomness.
    inputs : ndarray of shape (T, M), optional
        The input u_t, needed when the model has one (M > 0).

    Returns
    -------
    ndarray of shape (T, K)
        x from x_0 ~ N(mu0, Sigma0), x_{t+1} = A x_t + b + B u_t + N(0, Q).
    """
    size = params.latent_dim
    noise = rng.standard_normal((n_steps, size)) @ np.linalg.cholesky(params.Q).T
    drive = transition_drive(params, inputs, n_steps)
    path = np.empty((n_steps, size))
    path[0] = params.mu0 + np.linalg.cholesky(params.Sigma0) @ rng.standard_normal(size)
    for t in range(1, n_steps):  # the recursion is sequential; K is small
        path[t] = params.A @ path[t - 1] + drive[t - 1] + noise[t]
    return path


def sample_observations(params: LdsParams, path: np.ndarray, likelihood: Likelihood,
                        rng: np.random.Generator) -> np.ndarray:
    """y (T, N) with y_nt ~ p(y | c_n' x_t + d_n).

    Parameters
    ----------
    params : LdsParams
        The model (C and d).
    path : (T, K) array
        The latent path x.
    likelihood : Likelihood
        The observation model.
    rng : numpy.random.Generator
        The source of randomness.

    Returns
    -------
    (T, N) array
        One draw per bin and unit.
    """
    return likelihood.draw(rng, path @ params.C.T + params.d)


def initial_params(y: np.ndarray, likelihood: Likelihood, latent_dim: int, input_dim: int = 0) -> LdsParams:
    """A starting point: d at the link of each unit's mean, C from the top principal axes of the
    z-scored responses (scaled by 1/2), A = 0.9 I, Q = 0.19 I (stationary variance 1), x_0 ~ N(0, I), and
    B = 0 (K, ``input_dim``) for a model driven by an input of ``input_dim`` columns.

    Parameters
    ----------
    y : (T, N) array
        The counts (or responses), every trial's bins stacked.
    likelihood : Likelihood
        The observation model (its link maps each unit's mean to d_n).
    latent_dim : int
        K, the number of latents (columns of C beyond min(K, N) stay zero).
    input_dim : int
        M, the number of input columns (0: no input).

    Returns
    -------
    LdsParams
        The starting parameters.
    """
    n_units = y.shape[1]
    unit_mean = y.mean(axis=0)
    unit_sd = np.maximum(y.std(axis=0), 1e-9)
    corr = np.corrcoef(((y - unit_mean) / unit_sd).T) if n_units > 1 else np.ones((1, 1))
    values, vectors = np.linalg.eigh(np.nan_to_num(corr))
    axes = vectors[:, ::-1][:, :latent_dim]
    loading = np.zeros((n_units, latent_dim))
    loading[:, :axes.shape[1]] = 0.5 * axes
    offset = np.array([likelihood.linear_predictor_of_mean(float(m)) for m in unit_mean])
    eye = np.eye(latent_dim)
    return LdsParams(A=0.9 * eye, b=np.zeros(latent_dim), Q=0.19 * eye, mu0=np.zeros(latent_dim), Sigma0=eye.copy(),
                     C=loading, d=offset, B=np.zeros((latent_dim, input_dim)))
