"""The exact ELBO of an LDS for a Gaussian q over each trial's latent path, every constant kept.

    ELBO = E_q[log p(y | x)] - KL(q || p(x))
    KL(q || p(x)) = -E_q[log p(x)] - H[q],   H[q] = T K (1 + log 2 pi) / 2 + log det Cov_q / 2

E_q[log p(y | x)] is :func:`vbgui.core.lds.observations.observation_pass`
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
from vbgui.core.lds.observations import ObservationPass, Observations, observation_pass


@dataclass(frozen=True)
class LdsElboTerms:
    """ELBO = expected_log_likelihood - kl, in nats; ``log_loading_prior`` log p(C, d) under the optional prior
    on the loadings (:mod:`vbgui.core.lds.loading_prior`; 0 without one), so that EM maximises ``objective`` =
    ELBO + log p(C, d).  ``data_pass``, when the terms came from a pass over the data, what that pass gave at
    these C, d and q (each unit's sums, and the derivatives it was asked for)."""

    expected_log_likelihood: float
    kl: float
    data_pass: ObservationPass | None = field(default=None, compare=False, repr=False)
    log_loading_prior: float = 0.0

    @property
    def elbo(self) -> float:
        return self.expected_log_likelihood - self.kl

    @property
    def objective(self) -> float:
        """ELBO + log p(C, d): what variational EM with a prior on the loadings maximises (the ELBO without)."""
        return self.elbo + self.log_loading_prior

    def with_loading_prior(self, log_loading_prior: float) -> "LdsElboTerms":
        """These terms with log p(C, d) set (the prior belongs to the parameters, not to any one trial).

        Parameters
        ----------
        log_loading_prior : float
            log p(C, d) in nats.

        Returns
        -------
        LdsElboTerms
            The same expected log-likelihood, KL and data pass, with ``log_loading_prior`` replaced.
        """
        return LdsElboTerms(self.expected_log_likelihood, self.kl, self.data_pass, log_loading_prior)

    def __add__(self, other: "LdsElboTerms") -> "LdsElboTerms":
        return LdsElboTerms(self.expected_log_likelihood + other.expected_log_likelihood, self.kl + other.kl,
                            log_loading_prior=self.log_loading_prior + other.log_loading_prior)


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
    """H[q] = T K (1 + log 2 pi) / 2 + log det Cov / 2.

    Parameters
    ----------
    moments : PathMoments
        q's moments (its ``logdet_cov``).
    n_steps : int
        T, the trial's number of bins.
    latent_dim : int
        K, the number of latents.

    Returns
    -------
    float
        The entropy of q over the trial's path, in nats.
    """
    return 0.5 * n_steps * latent_dim * (1.0 + LOG_2PI) + 0.5 * moments.logdet_cov


def kl_to_prior(params: LdsParams, mean: np.ndarray, moments: PathMoments, inputs: np.ndarray | None = None) -> float:
    """KL(q || p(x)) = -E_q[log p(x)] - H[q] for one trial; ``inputs`` its u (T, M), None without an input.

    Parameters
    ----------
    params : LdsParams
        The parameters of the prior over the path.
    mean : (T, K) array
        q's means.
    moments : PathMoments
        q's marginal and cross covariances and log det Cov.
    inputs : (T, M) array, optional
        The trial's input u_t; None when the model has none.

    Returns
    -------
    float
        KL(q || p(x)) in nats.
    """
    return -(expected_log_prior(params, mean, moments.marginal, moments.cross, inputs)
             + entropy(moments, mean.shape[0], params.latent_dim))


def trial_terms(params: LdsParams, observations: Observations, mean: np.ndarray, moments: PathMoments,
                accuracy: float | None = None, want_latent: bool = False, want_loading: bool = False
                ) -> LdsElboTerms:
    """The ELBO's two terms for one trial; ``accuracy``, when the caller knows E_q[log p(y | x)] for these
    loadings and q, saves the pass over the data.  Otherwise the pass also gives the derivatives asked for
    (:func:`vbgui.core.lds.observations.observation_pass`), kept in the terms' ``data_pass``.

    Parameters
    ----------
    params : LdsParams
        The parameters (C and d for the data term, the rest for the KL).
    observations : Observations
        The trial's data (and input).
    mean : (T, K) array
        q's means.
    moments : PathMoments
        q's marginal and cross covariances and log det Cov.
    accuracy : float, optional
        E_q[log p(y | x)] with its constant, when already known; then no pass is made and no derivatives are given.
    want_latent : bool
        Whether the pass also gives the derivatives in the means (gradient and W).
    want_loading : bool
        Whether the pass also gives the loadings' gradient and preconditioner.

    Returns
    -------
    LdsElboTerms
        The expected log-likelihood and the KL (nats), with the pass in ``data_pass`` when one was made.
    """
    if accuracy is not None:
        return LdsElboTerms(accuracy, kl_to_prior(params, mean, moments, observations.inputs))
    return terms_from_pass(params, mean, moments, observation_pass(observations, params.C, params.d, mean,
                                                                   moments.marginal, want_latent, want_loading),
                           observations.inputs)


def terms_from_pass(params: LdsParams, mean: np.ndarray, moments: PathMoments,
                    data_pass: ObservationPass, inputs: np.ndarray | None = None) -> LdsElboTerms:
    """The ELBO's two terms for one trial from a pass over its data at ``params``' C, d and this q; ``inputs``
    the trial's u (T, M), None without an input.

    Parameters
    ----------
    params : LdsParams
        The parameters the pass was made at.
    mean : (T, K) array
        q's means.
    moments : PathMoments
        q's marginal and cross covariances and log det Cov.
    data_pass : ObservationPass
        The pass over the trial's data at these C, d and q.
    inputs : (T, M) array, optional
        The trial's input u_t; None when the model has none.

    Returns
    -------
    LdsElboTerms
        ``data_pass.total`` as the expected log-likelihood, the KL, and ``data_pass`` kept.
    """
    return LdsElboTerms(data_pass.total, kl_to_prior(params, mean, moments, inputs), data_pass)
