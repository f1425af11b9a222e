"""An optional Gaussian prior on the loadings C and offsets d, which makes their M-step a MAP estimate.

    c_nk ~ N(0, loading_sd^2),   d_n ~ N(0, offset_sd^2),   independently,

either factor absent (None: a flat prior, the maximum-likelihood M-step).  The
loadings' Newton step (:func:`vbgui.core.lds.observations.loading_update`)
then maximises, per unit n,

    sum_t E_q[log p(y_nt | x_t)] + log p(c_n) + log p(d_n),

and variational EM reports the objective ELBO + log p(C, d), with every
constant of the log densities kept (-1/2 log(2 pi sd^2) per entry).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

LOG_2PI = math.log(2.0 * math.pi)


@dataclass(frozen=True)
class LoadingPrior:
    """Independent zero-mean Gaussian priors on every entry of C (sd ``loading_sd``) and of d (sd ``offset_sd``);
    None leaves that parameter without a prior."""

    loading_sd: float | None = None
    offset_sd: float | None = None

    @property
    def is_flat(self) -> bool:
        """True when neither C nor d has a prior (the M-step is then maximum likelihood)."""
        return self.loading_sd is None and self.offset_sd is None

    def precisions(self, latent_dim: int) -> np.ndarray:
        """The prior precision of each of a unit's K + 1 parameters (c_n1 .. c_nK, d_n), 0 where flat.

        Parameters
        ----------
        latent_dim : int
            K.

        Returns
        -------
        ndarray of shape (K + 1,)
        """
        loading = 0.0 if self.loading_sd is None else self.loading_sd ** -2
        offset = 0.0 if self.offset_sd is None else self.offset_sd ** -2
        return np.append(np.full(latent_dim, loading), offset)

    def unit_log_density(self, loading: np.ndarray, offset: np.ndarray) -> np.ndarray:
        """log p(c_n) + log p(d_n) of every unit, every constant kept.

        Parameters
        ----------
        loading : ndarray of shape (N, K)
            C.
        offset : ndarray of shape (N,)
            d.

        Returns
        -------
        ndarray of shape (N,)
            0 for the factors without a prior.
        """
        total = np.zeros(loading.shape[0])
        if self.loading_sd is not None:
            total += -0.5 * np.sum(loading ** 2, axis=1) / self.loading_sd ** 2 \
                - 0.5 * loading.shape[1] * (LOG_2PI + 2.0 * math.log(self.loading_sd))
        if self.offset_sd is not None:
            total += -0.5 * np.asarray(offset) ** 2 / self.offset_sd ** 2 \
                - 0.5 * (LOG_2PI + 2.0 * math.log(self.offset_sd))
        return total

    def log_density(self, loading: np.ndarray, offset: np.ndarray) -> float:
        """log p(C, d), the sum of :meth:`unit_log_density` (0 for a flat prior).

        Parameters
        ----------
        loading : ndarray of shape (N, K)
            C.
        offset : ndarray of shape (N,)
            d.

        Returns
        -------
        float
            In nats.
        """
        return float(np.sum(self.unit_log_density(loading, offset)))

    def gradient(self, loading: np.ndarray, offset: np.ndarray) -> np.ndarray:
        """d log p(c_n, d_n) / d (c_n, d_n) of every unit.

        Parameters
        ----------
        loading : ndarray of shape (N, K)
            C.
        offset : ndarray of shape (N,)
            d.

        Returns
        -------
        ndarray of shape (N, K + 1)
            -precision * (c_n, d_n).
        """
        return -self.precisions(loading.shape[1]) * np.column_stack([loading, offset])
