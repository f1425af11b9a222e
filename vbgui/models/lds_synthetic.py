"""A synthetic population driven by known latents: a Poisson linear dynamical system, for tests and demos.

K latents rotate slowly and decay (A = 0.97 exp(0.1 (S - S')), S a seeded
Gaussian matrix, stationary variance 1); each of N units fires
Poisson(exp(c_n' x_t + d_n)) counts per bin, about ``mean_count`` on average,
with loadings of sd ``loading_sd``.  The same seed gives the same latents,
parameters and counts, so the shipped recording's truth is regenerated, not
stored.
"""
from __future__ import annotations

import numpy as np
from scipy.linalg import expm

from vbgui.core.lds.model import LdsParams
from vbgui.core.lds.sample import sample_observations, sample_path
from vbgui.core.likelihoods import Likelihood
from vbgui.io.recording import RecordingFile

SHIPPED_SEED = 0
SHIPPED_SHAPE = (3000, 30, 3)  # bins, units, latents of resources/recordings/synthetic-poisson-lds.npz


def lds_population_params(n_units: int, latent_dim: int, seed: int, mean_count: float = 0.3,
                          loading_sd: float = 0.5) -> LdsParams:
    """The true parameters of :func:`make_lds_population`."""
    rng = np.random.default_rng(seed)
    skew = rng.standard_normal((latent_dim, latent_dim))
    eye = np.eye(latent_dim)
    return LdsParams(A=0.97 * expm(0.1 * (skew - skew.T)), b=np.zeros(latent_dim), Q=(1 - 0.97 ** 2) * eye,
                     mu0=np.zeros(latent_dim), Sigma0=eye, C=loading_sd * rng.standard_normal((n_units, latent_dim)),
                     d=np.log(mean_count) + 0.2 * rng.standard_normal(n_units))


def make_lds_population(n_bins: int = SHIPPED_SHAPE[0], n_units: int = SHIPPED_SHAPE[1],
                        latent_dim: int = SHIPPED_SHAPE[2], seed: int = SHIPPED_SEED, dt: float = 0.01,
                        likelihood: str = "poisson") -> tuple[RecordingFile, np.ndarray, LdsParams]:
    """(the recording of N units, the true latent path (T, K), the true parameters)."""
    params = lds_population_params(n_units, latent_dim, seed)
    rng = np.random.default_rng(seed + 1)
    path = sample_path(params, n_bins, rng)
    lik = Likelihood(likelihood)
    counts = sample_observations(params, path, lik, rng)
    recording = RecordingFile(counts, tuple(f"unit{n}" for n in range(n_units)), dt,
                              f"synthetic-{likelihood}-lds-{latent_dim}-latents-seed{seed}",
                              response_name="response" if likelihood == "gaussian" else "counts")
    return recording, path, params
