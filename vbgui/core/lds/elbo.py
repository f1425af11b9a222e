"""The exact ELBO of an LDS for a Gaussian q over each trial's latent path, every constant kept.

    ELBO = E_q[log p(y | x)] - KL(q || p(x))
    KL(q || p(x)) = -E_q[log p(x)] - H[q],   H[q] = T K (1 + log 2 pi) / 2 + log det Cov_q / 2

E_q[log p(y | x)] is :func:`vbgui.core.lds.observations.observation_values`
(with log y! or the Gaussian normaliser), E_q[log p(x)] is
:func:`vbgui.core.lds.model.expected_log_prior`.  So ELBO <= log p(y) for
the given parameters, with equality when q is the exact posterior (linear-
Gaussian observations).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from vbgui.core.lds.families import PathMoments
from vbgui.core.lds.model import LOG_2PI, LdsParams, expected_log_prior
from vbgui.core.lds.observations import Observations, observation_values


@dataclass(frozen=True)
class LdsElboTerms:
    """ELBO = expected_log_likelihood - kl, in nats; ``unit_values``, when the terms came from a pass over
    the data, each unit's sum_t E(y_nt, mu_nt, v_nt) there (what the loadings' update starts from)."""

    expected_log_likelihood: float
    kl: float
    unit_values: np.ndarray | None = field(default=None, compare=False, repr=False)

    @property
    def elbo(self) -> float:
        return self.expected_log_likelihood - self.kl

    def __add__(self, other: "LdsElboTerms") -> "LdsElboTerms":
        return LdsElboTerms(self.expected_log_likelihood + other.expected_log_likelihood, self.kl + other.kl)


@dataclass(frozen=True, eq=False)
class TrialPosterior:
    """q over one trial's path: means (T, K), the family's precision ``state`` and its moments."""

    mean: np.ndarray
    state: Any
    moments: PathMoments

    @property
    def sd(self) -> np.ndarray:
        return np.sqrt(np.diagonal(self.moments.marginal, axis1=1, axis2=2))


def entropy(moments: PathMoments, n_steps: int, latent_dim: int) -> float:
    """H[q] = T K (1 + log 2 pi) / 2 + log det Cov / 2."""
    return 0.5 * n_steps * latent_dim * (1.0 + LOG_2PI) + 0.5 * moments.logdet_cov


def kl_to_prior(params: LdsParams, mean: np.ndarray, moments: PathMoments) -> float:
    """KL(q || p(x)) = -E_q[log p(x)] - H[q] for one trial."""
    return -(expected_log_prior(params, mean, moments.marginal, moments.cross)
             + entropy(moments, mean.shape[0], params.latent_dim))


def trial_terms(params: LdsParams, observations: Observations, mean: np.ndarray, moments: PathMoments,
                accuracy: float | None = None) -> LdsElboTerms:
    """The ELBO's two terms for one trial; ``accuracy``, when the caller knows E_q[log p(y | x)] for these
    loadings and q, saves the pass over the data."""
    unit_values = None
    if accuracy is None:
        accuracy, unit_values = observation_values(observations, params.C, params.d, mean, moments.marginal)
    return LdsElboTerms(accuracy, kl_to_prior(params, mean, moments), unit_values)
