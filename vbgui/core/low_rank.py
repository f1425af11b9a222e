"""The low-rank plus diagonal Gaussian family: q = N(m, S), S = diag(d) + V V', V (D, k).

It keeps k directions of posterior correlation at O(T D k) per pass (no D x D
matrix), between mean-field (k = 0) and full-rank (k = D).  With
C = I_k + V' diag(d)^-1 V (k x k) and W = diag(d)^-1 V,

    log det S = sum_i log d_i + log det C                         (determinant lemma)
    S^-1      = diag(d)^-1 - W C^-1 W'                            (Woodbury)
    S^-1 V    = W C^-1

The exact ELBO (see :mod:`vbgui.core.elbo`) has, with G = dELL/dS =
X' diag(d_var) X from one pass (:func:`vbgui.core.kernels.low_rank_pass`) and
dKL/dS = (I / s^2 - S^-1) / 2,

    dELBO/dm = X' d_mu - m / s^2
    dELBO/dd = diag(G) - 1 / (2 s^2) + diag(S^-1) / 2
    dELBO/dV = 2 G V - V / s^2 + S^-1 V

Every estimator serves it (:func:`low_rank_gradient`; the Monte Carlo ones
draw w = m + sqrt(d) e + V f).  With the exact estimator the optimiser is
L-BFGS (:func:`vbgui.core.optimize.lbfgs`), with a Monte Carlo one Adam, both in coordinates
u = (m - m0) / sd0, log sqrt(d) and V / sd0 (sd0: q0's marginal sds), which
makes one unit of every coordinate one posterior sd.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Sequence

import numpy as np
from scipy.linalg import cho_factor, cho_solve, eigh

from vbgui.core import kernels
from vbgui.core.elbo import ElboTerms, ExactEstimator, MonteCarloEstimator, log_likelihood_of_draws
from vbgui.core.families import Family, GaussianSummaries
from vbgui.core.rowpass import reduce_rows


@dataclass(frozen=True, eq=False)
class LowRankPosterior(GaussianSummaries):
    """q(w) = N(mean, diag(exp(2 log_sd)) + factor factor'); arrays are read-only copies.

    It offers what :class:`~vbgui.core.families.GaussianPosterior` offers
    (``cov`` and ``chol`` are formed, D^2 and D^3 work, only when asked for).
    """

    family: Family
    mean: np.ndarray
    log_sd: np.ndarray
    factor: np.ndarray

    def __post_init__(self) -> None:
        dim, rank = self.family.dim, self.family.rank
        for name, shape in (("mean", (dim,)), ("log_sd", (dim,)), ("factor", (dim, rank))):
            value = np.array(getattr(self, name), dtype=np.float64, order="C")
            if value.shape != shape:
                raise ValueError(f"low-rank q needs {name} of shape {shape}, got {value.shape}")
            value.setflags(write=False)
            object.__setattr__(self, name, value)

    @classmethod
    def from_precision(cls, family: Family, mean: np.ndarray, precision: np.ndarray) -> "LowRankPosterior":
        """The q closest to N(mean, precision^-1) in the family by eigen-truncation.

        d = 1 / diag(precision) (the mean-field fixed point), and V holds the
        k leading eigen-directions of precision^-1 - diag(d), scaled by the
        square roots of their (positive) eigenvalues.

        Parameters
        ----------
        family : Family
            A low-rank family (its ``dim`` D and ``rank`` k).
        mean : (D,) array
            m.
        precision : (D, D) array
            A symmetric positive definite precision.

        Returns
        -------
        LowRankPosterior
            q with d = 1 / diag(precision) and V (D, k) from the truncated eigen-decomposition.

        Raises
        ------
        numpy.linalg.LinAlgError
            When the precision's diagonal is not positive and finite, or the precision is not positive definite.
        """
        diagonal = np.diag(precision)
        if not np.all(np.isfinite(diagonal) & (diagonal > 0)):
            raise np.linalg.LinAlgError("the precision's diagonal is not positive")
        diag_var = 1.0 / diagonal
        cov = cho_solve(cho_factor(precision, lower=True), np.eye(family.dim))
        residual = 0.5 * (cov + cov.T) - np.diag(diag_var)
        values, vectors = eigh(residual, subset_by_index=[family.dim - family.rank, family.dim - 1])
        factor = vectors * np.sqrt(np.clip(values, 1e-12 * diag_var.min(), None))
        return cls(family, mean, 0.5 * np.log(diag_var), factor)

    @property
    def dim(self) -> int:
        return self.family.dim

    @cached_property
    def diag_var(self) -> np.ndarray:
        """d, the diagonal part of S."""
        return np.exp(2.0 * self.log_sd)

    @cached_property
    def variance(self) -> np.ndarray:
        """diag(S) = d + row sums of V^2."""
        return self.diag_var + np.einsum("ij,ij->i", self.factor, self.factor)

    @property
    def sd(self) -> np.ndarray:
        return np.sqrt(self.variance)

    @cached_property
    def cov(self) -> np.ndarray:
        cov = np.diag(self.diag_var) + self.factor @ self.factor.T
        cov.setflags(write=False)
        return cov

    @cached_property
    def chol(self) -> np.ndarray:
        """The lower Cholesky factor of S (D^3 work; the fit itself never needs it)."""
        chol = np.linalg.cholesky(self.cov)
        chol.setflags(write=False)
        return chol

    @cached_property
    def _capacitance(self) -> tuple[np.ndarray, tuple]:
        """W = diag(d)^-1 V and the Cholesky factor of C = I + V' W."""
        scaled = self.factor / self.diag_var[:, None]
        capacitance = np.eye(self.family.rank) + self.factor.T @ scaled
        return scaled, cho_factor(capacitance, lower=True)

    def log_det_cov(self) -> float:
        """log det S = sum_i log d_i + log det C (the determinant lemma), O(D k^2).

        Returns
        -------
        float
            log det S.
        """
        _, (factor, _) = self._capacitance
        return float(np.sum(np.log(self.diag_var)) + 2.0 * np.sum(np.log(np.diag(factor))))

    def inverse_cov_diagonal(self) -> np.ndarray:
        """diag(S^-1) = 1/d - row sums of (W C^-1) * W.

        Returns
        -------
        (D,) array
            The diagonal of the precision S^-1.
        """
        scaled, _ = self._capacitance
        return 1.0 / self.diag_var - np.einsum("ij,ij->i", self.inverse_cov_times_factor(), scaled)

    def inverse_cov_times_factor(self) -> np.ndarray:
        """S^-1 V = W C^-1 (formed once).

        Returns
        -------
        (D, k) array
            S^-1 V (cached: the same array on every call).
        """
        return self._inverse_cov_times_factor

    @cached_property
    def _inverse_cov_times_factor(self) -> np.ndarray:
        scaled, capacitance = self._capacitance
        return cho_solve(capacitance, scaled.T).T

    def inverse_cov_times(self, vectors: np.ndarray) -> np.ndarray:
        """S^-1 applied to the columns of ``vectors`` (D, n): diag(d)^-1 v - W C^-1 W' v, O(D k n).

        Parameters
        ----------
        vectors : (D, n) array
            The columns v to multiply.

        Returns
        -------
        (D, n) array
            S^-1 v for each column.
        """
        scaled, capacitance = self._capacitance
        return vectors / self.diag_var[:, None] - scaled @ cho_solve(capacitance, scaled.T @ vectors)

    def precision(self) -> np.ndarray:
        """S^-1 = diag(d)^-1 - W C^-1 W' (dense, D^2).

        Returns
        -------
        (D, D) array
            The precision S^-1.
        """
        scaled, capacitance = self._capacitance
        return np.diag(1.0 / self.diag_var) - scaled @ cho_solve(capacitance, scaled.T)

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """n draws w = m + sqrt(d) * e1 + V e2, e1 ~ N(0, I_D), e2 ~ N(0, I_k); returns (n, D).

        Parameters
        ----------
        rng : numpy.random.Generator
            The source of the standard normals.
        n : int
            How many draws.

        Returns
        -------
        (n, D) array
            One draw of w per row.
        """
        noise = rng.standard_normal((n, self.dim + self.family.rank))
        return self.mean + noise[:, :self.dim] * np.sqrt(self.diag_var) + noise[:, self.dim:] @ self.factor.T

    def marginal(self, indices: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        """q's marginal over the coordinates ``indices``: N(m[idx], diag(d[idx]) + V[idx] V[idx]').

        Parameters
        ----------
        indices : sequence of int
            The n coordinates, in the order wanted.

        Returns
        -------
        mean : (n,) array
            Their means (a copy).
        cov : (n, n) array
            Their covariance.
        """
        idx = np.asarray(indices, dtype=int)
        cov = np.diag(self.diag_var[idx]) + self.factor[idx] @ self.factor[idx].T
        return self.mean[idx].copy(), cov

    def is_finite(self) -> bool:
        """Whether m, log sqrt(d) and V hold finite numbers only.

        Returns
        -------
        bool
            True when every entry of ``mean``, ``log_sd`` and ``factor`` is finite.
        """
        return bool(np.all(np.isfinite(self.mean)) and np.all(np.isfinite(self.log_sd))
                    and np.all(np.isfinite(self.factor)))


@dataclass(frozen=True, eq=False)
class LowRankGradient:
    """The exact ELBO at a low-rank q and its gradients in (m, log sqrt(d), V)."""

    terms: ElboTerms
    grad_mean: np.ndarray
    grad_log_sd: np.ndarray
    grad_factor: np.ndarray


def _gradient(q: LowRankPosterior, prior_scale: float, terms: ElboTerms, ell_mean: np.ndarray,
              ell_diag: np.ndarray, ell_factor: np.ndarray) -> LowRankGradient:
    """Add the KL's gradients to the expected log-likelihood's in (m, d, V); return them in (m, log sqrt(d), V).

    dKL/dm = m / s^2, dKL/dd = (1/s^2 - diag(S^-1)) / 2, dKL/dV = V / s^2 - S^-1 V.
    """
    s2 = prior_scale ** 2
    grad_diag = ell_diag - 0.5 / s2 + 0.5 * q.inverse_cov_diagonal()
    grad_factor = ell_factor - q.factor / s2 + q.inverse_cov_times_factor()
    return LowRankGradient(terms, ell_mean - q.mean / s2, 2.0 * q.diag_var * grad_diag, grad_factor)


def exact_low_rank_gradient(estimator: ExactEstimator, q: LowRankPosterior) -> LowRankGradient:
    """One O(T D k) pass: the exact ELBO and its gradients (the module docstring's formulas).

    Parameters
    ----------
    estimator : the exact estimator (its problem, quadrature and cancel token)
    q : the low-rank q = N(m, diag(d) + V V')

    Returns
    -------
    :class:`LowRankGradient`: the ELBO terms and the gradients in m, log sqrt(d) and V
    """
    p = estimator.problem
    lik = p.likelihood
    nodes, weights = estimator.quadrature
    total, grad_ell_mean, grad_ell_diag, grad_ell_cov_factor = reduce_rows(
        kernels.low_rank_pass, p.design, p.response,
        (np.array(q.mean), np.array(q.diag_var), np.array(q.factor), lik.code, lik.parameter, nodes, weights),
        estimator.cancel, row_cost=p.dim * (q.family.rank + 2))
    terms = ElboTerms.from_parts(total + p.log_normaliser, q.kl_to_prior(p.prior_scale))
    return _gradient(q, p.prior_scale, terms, grad_ell_mean, grad_ell_diag, 2.0 * grad_ell_cov_factor)


def monte_carlo_low_rank_gradient(estimator: MonteCarloEstimator, q: LowRankPosterior,
                                  eps: np.ndarray | None = None) -> LowRankGradient:
    """The Monte Carlo ELBO and gradients from K draws w_k = m + sqrt(d) * e_k + V f_k.

    ``eps`` (K, D + k) holds (e_k, f_k) (fresh standard normals when None).
    Reparameterisation: dELL/dm ~ mean g_k, dELL/dd_i ~ mean g_ki e_ki / (2 sqrt(d_i)),
    dELL/dV ~ mean g_k f_k', g_k = X' dlog p / d eta at w_k.  Score function
    (as :class:`~vbgui.core.elbo.ScoreFunctionEstimator`, leave-one-out
    baseline): with u_k = S^-1 (w_k - m), d log q / dm = u_k,
    d log q / dd = (u_k^2 - diag(S^-1)) / 2, d log q / dV = u_k u_k'V - S^-1 V.
    The KL's gradients are exact, as for every estimator.

    Parameters
    ----------
    estimator : the Monte Carlo estimator (its problem, draw count, generator and name)
    q : the low-rank q
    eps : the standard normal draws (K, D + k), or None for fresh ones

    Returns
    -------
    :class:`LowRankGradient`: the Monte Carlo ELBO terms and gradients
    """
    p = estimator.problem
    dim, rank = q.dim, q.family.rank
    if eps is None:
        eps = estimator.rng.standard_normal((estimator.n_samples, dim + rank))
    noise_diag, noise_factor = eps[:, :dim], eps[:, dim:]
    scale = np.sqrt(q.diag_var)
    draws = q.mean + noise_diag * scale + noise_factor @ q.factor.T
    pathwise = estimator.name == "reparam"
    loglik, slopes = log_likelihood_of_draws(p, draws, estimator.cancel, want_gradient=pathwise)
    k = eps.shape[0]
    terms = ElboTerms.from_parts(float(np.mean(loglik)), q.kl_to_prior(p.prior_scale))
    with np.errstate(invalid="ignore", over="ignore"):  # an overflowed draw is reported as non-finite
        if pathwise:
            return _gradient(q, p.prior_scale, terms, slopes.mean(axis=0),
                             np.mean(slopes * noise_diag, axis=0) / (2.0 * scale), slopes.T @ noise_factor / k)
        baseline = (loglik.sum() - loglik) / (k - 1) if k > 1 else np.zeros(k)
        weight = (loglik - baseline) / k
        whitened = q.inverse_cov_times((draws - q.mean).T).T  # rows u_k = S^-1 (w_k - m)
        ell_mean = weight @ whitened
        ell_diag = 0.5 * (weight @ whitened ** 2 - weight.sum() * q.inverse_cov_diagonal())
        ell_factor = (whitened.T * weight) @ (whitened @ q.factor) - weight.sum() * q.inverse_cov_times_factor()
        return _gradient(q, p.prior_scale, terms, ell_mean, ell_diag, ell_factor)


def low_rank_gradient(estimator: ExactEstimator | MonteCarloEstimator, q: LowRankPosterior) -> LowRankGradient:
    """The ELBO and its gradients in (m, log sqrt(d), V) by whichever estimator is given.

    Parameters
    ----------
    estimator : ExactEstimator or MonteCarloEstimator
        The exact one (it offers curvature) takes :func:`exact_low_rank_gradient`, any other
        :func:`monte_carlo_low_rank_gradient` with fresh draws.
    q : LowRankPosterior
        The low-rank q = N(m, diag(d) + V V').

    Returns
    -------
    LowRankGradient
        The ELBO terms (nats) and the gradients in m (D,), log sqrt(d) (D,) and V (D, k).
    """
    if estimator.offers_curvature:
        return exact_low_rank_gradient(estimator, q)
    return monte_carlo_low_rank_gradient(estimator, q)


class LowRankCoordinates:
    """theta = (u, log sqrt(d), B) with m = m0 + sd0 * u and V = sd0[:, None] * B."""

    def __init__(self, q0: LowRankPosterior) -> None:
        self.q0 = q0
        self.scale = q0.sd
        self.dim, self.rank = q0.dim, q0.family.rank

    def start(self) -> np.ndarray:
        """theta at q0: u = 0, q0's log sqrt(d), B = V0 / sd0.

        Returns
        -------
        (2 D + D k,) array
            (u, log sqrt(d), B flattened row by row).
        """
        return np.concatenate([np.zeros(self.dim), self.q0.log_sd, (self.q0.factor / self.scale[:, None]).ravel()])

    def to_q(self, theta: np.ndarray) -> LowRankPosterior:
        """The q at coordinates ``theta``.

        Parameters
        ----------
        theta : (2 D + D k,) array
            (u, log sqrt(d), B flattened row by row).

        Returns
        -------
        LowRankPosterior
            m = m0 + sd0 * u, log sqrt(d), V = sd0[:, None] * B, in q0's family.
        """
        dim = self.dim
        factor = theta[2 * dim:].reshape(dim, self.rank) * self.scale[:, None]
        return LowRankPosterior(self.q0.family, self.q0.mean + self.scale * theta[:dim], theta[dim:2 * dim], factor)

    def gradient(self, theta: np.ndarray, gradient: LowRankGradient) -> np.ndarray:
        """The ascent gradient in theta (``theta`` is unused: the map is linear but for log sqrt(d)).

        Parameters
        ----------
        theta : (2 D + D k,) array
            The coordinates the gradient was taken at (not used).
        gradient : LowRankGradient
            The ELBO's gradients in (m, log sqrt(d), V) at ``to_q(theta)``.

        Returns
        -------
        (2 D + D k,) array
            dELBO/dtheta: (sd0 * dELBO/dm, dELBO/dlog sqrt(d), (dELBO/dV * sd0[:, None]) flattened).
        """
        return np.concatenate([self.scale * gradient.grad_mean, gradient.grad_log_sd,
                               (gradient.grad_factor * self.scale[:, None]).ravel()])
