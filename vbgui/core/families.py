"""Gaussian variational families and the approximate posterior q = N(m, S).

All three families are Gaussian with a block-diagonal covariance; they differ
only in their blocks:

    mean-field  every parameter its own block: S diagonal (no correlations)
    low-rank    S = diag(d) + V V' with V (D, k): see vbgui.core.low_rank
    full-rank   one block holding every parameter: S = L L' any covariance
    structured  the model's parameter groups (stimulus filter, spike
                history, bias) as blocks: correlations within a group only

q is stored as its mean m and a lower-triangular factor L with S = L L',
zero outside the blocks.  Against the prior p(w) = N(0, s^2 I):

    entropy      H[q] = D/2 log(2 pi e) + sum_i log L_ii
    KL(q || p)   = 1/2 [ (tr S + m'm) / s^2 - D + D log s^2 - log det S ]
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Sequence

import numpy as np
from scipy.linalg import cho_factor, cho_solve

from vbgui.core.names import FAMILY_NAMES


@dataclass(frozen=True)
class Family:
    """Which entries of the covariance q may use: a partition of 0..D-1 into blocks."""

    name: str
    blocks: tuple[tuple[int, ...], ...]
    rank: int = 0  # low-rank only: the number of columns k of V in S = diag(d) + V V'

    def __post_init__(self) -> None:
        if self.name not in FAMILY_NAMES:
            raise ValueError(f"unknown family {self.name!r}; choose one of {', '.join(FAMILY_NAMES)}")
        flat = sorted(i for block in self.blocks for i in block)
        if flat != list(range(len(flat))):
            raise ValueError("family blocks must partition the parameter indices 0..D-1")

    @classmethod
    def create(cls, name: str, dim: int, groups: Sequence[Sequence[int]] | None = None,
               rank: int | None = None) -> "Family":
        """Build a family by name; ``groups`` (the parameter groups) are used by 'structured',
        ``rank`` (at most D) by 'low-rank'.

        Parameters
        ----------
        name : str
            One of :data:`vbgui.core.names.FAMILY_NAMES`.
        dim : int
            Number of parameters D.
        groups : sequence of sequences of int, optional
            Parameter indices of each block (structured only; empty groups are dropped).
        rank : int, optional
            Number of columns k of V (low-rank only), clipped to D.

        Returns
        -------
        Family
            The family.

        Raises
        ------
        ValueError
            For an unknown name, or a missing groups or rank.
        """
        if name == "mean-field":
            return cls(name, tuple((i,) for i in range(dim)))
        if name == "full-rank":
            return cls(name, (tuple(range(dim)),))
        if name == "structured":
            if groups is None:
                raise ValueError("the structured family needs parameter groups")
            return cls(name, tuple(tuple(int(i) for i in g) for g in groups if len(g)))
        if name == "low-rank":
            if rank is None or rank < 1:
                raise ValueError("the low-rank family needs a rank of at least 1")
            return cls(name, (tuple(range(dim)),), min(int(rank), dim))
        raise ValueError(f"unknown family {name!r}; choose one of {', '.join(FAMILY_NAMES)}")

    @property
    def dim(self) -> int:
        return sum(len(b) for b in self.blocks)

    @property
    def is_diagonal(self) -> bool:
        return self.rank == 0 and all(len(b) == 1 for b in self.blocks)

    @property
    def is_low_rank(self) -> bool:
        """S = diag(d) + V V' (:mod:`vbgui.core.low_rank`) rather than a block Cholesky factor."""
        return self.name == "low-rank"

    @cached_property
    def _block_mask(self) -> np.ndarray:
        mask = np.zeros((self.dim, self.dim), dtype=bool)
        for block in self.blocks:
            mask[np.ix_(block, block)] = True
        mask.setflags(write=False)
        return mask

    @cached_property
    def _chol_mask(self) -> np.ndarray:
        mask = np.tril(self._block_mask)
        mask.setflags(write=False)
        return mask

    def block_mask(self) -> np.ndarray:
        """Boolean (D, D), read-only, built once: True where two parameters share a block.

        Returns
        -------
        (D, D) bool array
            Read-only.
        """
        return self._block_mask

    def chol_mask(self) -> np.ndarray:
        """Boolean (D, D), read-only, built once: the free entries of the lower-triangular factor L.

        Returns
        -------
        (D, D) bool array
            Read-only.
        """
        return self._chol_mask


class GaussianSummaries:
    """Entropy and KL to the prior of any Gaussian q offering ``dim``, ``mean``, ``variance`` and
    ``log_det_cov()`` (the block families here, the low-rank family in :mod:`vbgui.core.low_rank`)."""

    def entropy(self) -> float:
        """H[q] = D/2 log(2 pi e) + 1/2 log det S.

        Returns
        -------
        float
            Nats.
        """
        return float(0.5 * self.dim * np.log(2.0 * np.pi * np.e) + 0.5 * self.log_det_cov())

    def kl_to_prior(self, prior_scale: float) -> float:
        """KL(q || N(0, s^2 I)) in closed form, s = ``prior_scale``.

        Parameters
        ----------
        prior_scale : float
            Prior standard deviation s of every parameter.

        Returns
        -------
        float
            Nats.
        """
        s2 = prior_scale ** 2
        trace = float(np.sum(self.variance))
        return float(0.5 * ((trace + self.mean @ self.mean) / s2 - self.dim
                            + self.dim * np.log(s2) - self.log_det_cov()))


@dataclass(frozen=True, eq=False)
class GaussianPosterior(GaussianSummaries):
    """q(w) = N(mean, chol chol') in a :class:`Family`; arrays are read-only copies."""

    family: Family
    mean: np.ndarray
    chol: np.ndarray

    def __post_init__(self) -> None:
        mean = np.array(self.mean, dtype=np.float64, order="C")
        chol = np.array(self.chol, dtype=np.float64, order="C")
        dim = self.family.dim
        if mean.shape != (dim,) or chol.shape != (dim, dim):
            raise ValueError(f"q needs mean ({dim},) and chol ({dim}, {dim}); got {mean.shape}, {chol.shape}")
        chol = np.where(self.family.chol_mask(), chol, 0.0)
        for name, value in (("mean", mean), ("chol", chol)):
            value.setflags(write=False)
            object.__setattr__(self, name, value)

    @classmethod
    def isotropic(cls, family: Family, mean: np.ndarray, sd: float) -> "GaussianPosterior":
        """q with the given mean and covariance sd^2 I.

        Parameters
        ----------
        family : Family
            The family of q.
        mean : (D,) array
            The mean m.
        sd : float
            Standard deviation of every parameter.

        Returns
        -------
        GaussianPosterior
            q = N(mean, sd^2 I).
        """
        return cls(family, mean, sd * np.eye(family.dim))

    @classmethod
    def from_precision(cls, family: Family, mean: np.ndarray, precision: np.ndarray) -> "GaussianPosterior":
        """Build q from its mean and precision; only the family's blocks of the precision are used.

        Parameters
        ----------
        family : Family
            The family of q.
        mean : (D,) array
            The mean m.
        precision : (D, D) array
            A symmetric precision; each of the family's blocks must be positive definite.

        Returns
        -------
        GaussianPosterior
            q whose covariance is, block by block, the inverse of the precision's block
            (for a diagonal family, 1 / its diagonal).

        Raises
        ------
        numpy.linalg.LinAlgError
            When a block (or, diagonal family, the diagonal) is not positive definite.
        """
        if family.is_diagonal:
            diagonal = np.diag(precision)
            if not np.all(np.isfinite(diagonal) & (diagonal > 0)):
                raise np.linalg.LinAlgError("the precision's diagonal is not positive")
            return cls(family, mean, np.diag(1.0 / np.sqrt(diagonal)))
        chol = np.zeros((family.dim, family.dim))
        for block in family.blocks:
            idx = np.array(block)
            block_precision = precision[np.ix_(idx, idx)]
            block_cov = cho_solve(cho_factor(block_precision, lower=True), np.eye(len(idx)))
            chol[np.ix_(idx, idx)] = np.linalg.cholesky(0.5 * (block_cov + block_cov.T))
        return cls(family, mean, chol)

    @property
    def dim(self) -> int:
        return self.family.dim

    @cached_property
    def cov(self) -> np.ndarray:
        """S = L L' (read-only), formed when first asked for: D^3 work that a diagonal q skips."""
        cov = np.diag(self.variance) if self.family.is_diagonal else self.chol @ self.chol.T
        cov.setflags(write=False)
        return cov

    @cached_property
    def variance(self) -> np.ndarray:
        """diag(S) (read-only)."""
        variance = np.diag(self.chol) ** 2 if self.family.is_diagonal else np.einsum("ij,ij->i", self.chol, self.chol)
        variance.setflags(write=False)
        return variance

    @property
    def sd(self) -> np.ndarray:
        return np.sqrt(self.variance)

    def precision(self) -> np.ndarray:
        """S^-1, block by block (zero between blocks).

        Returns
        -------
        (D, D) array
            The precision.
        """
        if self.family.is_diagonal:
            return np.diag(1.0 / self.variance)
        inverse_chol = np.zeros_like(self.chol)
        for block in self.family.blocks:
            idx = np.array(block)
            inverse_chol[np.ix_(idx, idx)] = np.linalg.inv(self.chol[np.ix_(idx, idx)])
        return inverse_chol.T @ inverse_chol

    def log_det_cov(self) -> float:
        """log det S = 2 sum_i log L_ii.

        Returns
        -------
        float
            The log-determinant.
        """
        return float(2.0 * np.sum(np.log(np.diag(self.chol))))

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Draw n reparameterised samples w = m + L eps, eps ~ N(0, I); returns (n, D).

        Parameters
        ----------
        rng : numpy.random.Generator
            Source of randomness.
        n : int
            Number of draws.

        Returns
        -------
        (n, D) array
            The draws, one per row.
        """
        eps = rng.standard_normal((n, self.dim))
        return self.mean + eps @ self.chol.T

    def marginal(self, indices: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        """Mean and covariance of q's marginal over ``indices``.

        Parameters
        ----------
        indices : sequence of int
            The k parameters kept.

        Returns
        -------
        mean : (k,) array
            Their means (a copy).
        cov : (k, k) array
            Their covariance (a copy).
        """
        idx = np.asarray(indices, dtype=int)
        return self.mean[idx].copy(), self.cov[np.ix_(idx, idx)].copy()

    def is_finite(self) -> bool:
        """Whether the mean and the Cholesky factor hold no NaN or infinity.

        Returns
        -------
        bool
            True if both are finite.
        """
        return bool(np.all(np.isfinite(self.mean)) and np.all(np.isfinite(self.chol)))
