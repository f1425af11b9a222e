"""Small LDS problems shared by the tests of vbgui.core.lds."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.linalg import expm

from vbgui.core.lds.model import LdsParams
from vbgui.core.lds.observations import Observations
from vbgui.core.lds.sample import sample_observations, sample_path
from vbgui.core.likelihoods import Likelihood


def rotating_params(rng: np.random.Generator, latent_dim: int, n_units: int, base_rate: float = 0.3,
                    loading_scale: float = 0.6) -> LdsParams:
    """A slowly rotating, stable LDS (|eigenvalues| 0.97) with stationary latent variance about 1."""
    skew = rng.standard_normal((latent_dim, latent_dim))
    dynamics = 0.97 * expm(0.1 * (skew - skew.T))
    return LdsParams(A=dynamics, b=0.02 * rng.standard_normal(latent_dim), Q=(1 - 0.97 ** 2) * np.eye(latent_dim),
                     mu0=0.3 * rng.standard_normal(latent_dim), Sigma0=np.eye(latent_dim),
                     C=loading_scale * rng.standard_normal((n_units, latent_dim)),
                     d=np.log(base_rate) + 0.2 * rng.standard_normal(n_units))


def simulate(params: LdsParams, n_steps: int, likelihood: Likelihood, seed: int):
    """(true path (T, K), Observations) drawn from the model."""
    rng = np.random.default_rng(seed)
    path = sample_path(params, n_steps, rng)
    return path, Observations.create(sample_observations(params, path, likelihood, rng), likelihood)


@pytest.fixture
def small_poisson():
    params = rotating_params(np.random.default_rng(3), 2, 4, base_rate=1.0)
    path, observations = simulate(params, 12, Likelihood("poisson"), seed=4)
    return params, path, observations
