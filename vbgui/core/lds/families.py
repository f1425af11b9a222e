"""Gaussian families over a latent path x_0 .. x_{T-1} in R^K, each parameterised by its precision.

Every family gives the moments the ELBO needs (marginal covariances S_t,
cross covariances P_t = Cov(x_t, x_{t+1}), log det Cov) and the member
nearest the covariance fixed point S^{-1} = H, where H = J0 + blockdiag(W_t)
is the Hessian of the ELBO's negative in the means (block tridiagonal):

    structured-markov  precision block tridiagonal (a Gauss-Markov q); target H itself.  O(T K^3).
    mean-field         independent x_t (block-diagonal precision, P_t = 0); target the diagonal blocks of H.
    full-rank          any dense (T K) x (T K) precision; target H.  O((T K)^3): small problems, a check.

For the structured and full-rank families the target is the optimum of the
covariance given the means; with a Gaussian-Markov prior the full-rank
optimum is therefore structured.  Moving the precision from J to
J + alpha (target - J), alpha in (0, 1], is an ascent direction of the ELBO:
its derivative at alpha = 0 is tr(Delta S Delta S) / 2 >= 0 with
Delta = target - J (the E-step's line search relies on it).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from vbgui.core.lds.blocktri import (block_cholesky, block_logdet, block_selected_inverse, block_solve,
                                     dense_from_blocks)
from vbgui.core.lds.names import PATH_FAMILY_NAMES
FULL_RANK_MAX_DIM = 2000  # (T K) above this is refused: a dense (T K)^2 precision would not fit


class NotPositiveDefinite(ArithmeticError):
    """A precision that is not positive definite (an E-step candidate to reject)."""


def linear_blend(state: Any, target: Any, alpha: float) -> Any:
    """state + alpha (target - state): a precision moved a fraction alpha towards its fixed point.

    Parameters
    ----------
    state : array
        The current precision (any array form a family uses).
    target : array
        The precision it moves towards, of the same form.
    alpha : float
        The fraction of the way, in (0, 1].

    Returns
    -------
    array
        The blended precision; ``target`` itself (not a copy) when alpha is 1.
    """
    return target if alpha == 1.0 else state + alpha * (target - state)


def cholesky_or_raise(precision: np.ndarray) -> np.ndarray:
    """The Cholesky factor(s) of ``precision`` (one matrix or a stack); NotPositiveDefinite if it has none.

    Parameters
    ----------
    precision : (D, D) or (T, K, K) array
        One symmetric matrix or a stack of them.

    Returns
    -------
    array
        The lower Cholesky factor(s), of the same shape.

    Raises
    ------
    NotPositiveDefinite
        When a matrix is not positive definite.
    """
    try:
        return np.linalg.cholesky(precision)
    except np.linalg.LinAlgError:
        raise NotPositiveDefinite() from None


@dataclass(frozen=True, eq=False)
class PathMoments:
    """What the ELBO needs from q's covariance: S_t (T, K, K), P_t (T - 1, K, K), log det Cov."""

    marginal: np.ndarray
    cross: np.ndarray
    logdet_cov: float


class StructuredMarkov:
    """Block-tridiagonal precision: state (diag (T, K, K), lower (T - 1, K, K))."""

    name = "structured-markov"
    target_is_hessian = True  # so the Newton step's factor of H is the target's

    def target(self, hessian_diag: np.ndarray, hessian_lower: np.ndarray) -> Any:
        """The member nearest the fixed point S^{-1} = H: H itself.

        Parameters
        ----------
        hessian_diag : (T, K, K) array
            The diagonal blocks of H = J0 + blockdiag(W_t).
        hessian_lower : (T - 1, K, K) array
            Its sub-diagonal blocks, ``hessian_lower[t] = H[t+1, t]``.

        Returns
        -------
        (diag (T, K, K), lower (T - 1, K, K))
            Copies of H's blocks.
        """
        return hessian_diag.copy(), hessian_lower.copy()

    def blend(self, state: Any, target: Any, alpha: float) -> Any:
        """The precision moved a fraction alpha towards ``target``, block by block.

        Parameters
        ----------
        state : (diag (T, K, K), lower (T - 1, K, K))
            The current precision.
        target : (diag (T, K, K), lower (T - 1, K, K))
            The precision it moves towards (from :meth:`target`).
        alpha : float
            The fraction of the way, in (0, 1].

        Returns
        -------
        (diag (T, K, K), lower (T - 1, K, K))
            state + alpha (target - state); ``target`` itself when alpha is 1.
        """
        if alpha == 1.0:
            return target
        return tuple(old + alpha * (new - old) for old, new in zip(state, target))

    def moments(self, state: Any, factor: tuple[np.ndarray, np.ndarray] | None = None) -> PathMoments:
        """The moments of q; ``factor``, when known, the block Cholesky factor of ``state``.

        Parameters
        ----------
        state : (diag (T, K, K), lower (T - 1, K, K))
            q's block-tridiagonal precision.
        factor : (factor_diag (T, K, K), factor_lower (T - 1, K, K)), optional
            Its block Cholesky factor (:func:`vbgui.core.lds.blocktri.block_cholesky`), which saves factoring it.

        Returns
        -------
        PathMoments
            S_t and P_t from the selected inverse, and log det Cov = -log det J.

        Raises
        ------
        NotPositiveDefinite
            When ``state`` is not positive definite (only checked when ``factor`` is not given).
        """
        if factor is None:
            factor_diag, factor_lower, ok = block_cholesky(*state)
            if not ok:
                raise NotPositiveDefinite()
        else:
            factor_diag, factor_lower = factor
        marginal, cross = block_selected_inverse(factor_diag, factor_lower)
        return PathMoments(marginal, cross, -block_logdet(factor_diag))

    def dense_precision(self, state: Any) -> np.ndarray:
        """The precision as a dense (T K) x (T K) matrix (for small problems and tests).

        Parameters
        ----------
        state : (diag (T, K, K), lower (T - 1, K, K))
            q's precision.

        Returns
        -------
        (T K, T K) array
            J, block tridiagonal.
        """
        return dense_from_blocks(*state)


class MeanFieldOverTime:
    """Independent x_t: state the precision blocks (T, K, K)."""

    name = "mean-field"
    target_is_hessian = False

    def target(self, hessian_diag: np.ndarray, hessian_lower: np.ndarray) -> Any:
        """The member nearest the fixed point S^{-1} = H: H's diagonal blocks (the rest is dropped).

        Parameters
        ----------
        hessian_diag : (T, K, K) array
            The diagonal blocks of H = J0 + blockdiag(W_t).
        hessian_lower : (T - 1, K, K) array
            Its sub-diagonal blocks (not used).

        Returns
        -------
        (T, K, K) array
            A copy of H's diagonal blocks.
        """
        return hessian_diag.copy()

    def blend(self, state: Any, target: Any, alpha: float) -> Any:
        """The precision moved a fraction alpha towards ``target``, block by block.

        Parameters
        ----------
        state : (T, K, K) array
            The current precision.
        target : (T, K, K) array
            The precision it moves towards (from :meth:`target`).
        alpha : float
            The fraction of the way, in (0, 1].

        Returns
        -------
        (T, K, K) array
            state + alpha (target - state); ``target`` itself when alpha is 1.
        """
        return linear_blend(state, target, alpha)

    def moments(self, state: Any, factor: Any = None) -> PathMoments:
        """The moments of q (``factor`` is not used: this family's target is not H).

        Parameters
        ----------
        state : (T, K, K) array
            q's precision blocks, one per bin.
        factor : optional
            Ignored.

        Returns
        -------
        PathMoments
            S_t = state[t]^{-1} (symmetrised), P_t = 0, and log det Cov = -sum_t log det state[t].

        Raises
        ------
        NotPositiveDefinite
            When a block is not positive definite.
        """
        factor = cholesky_or_raise(state)
        marginal = np.linalg.inv(state)
        marginal = 0.5 * (marginal + marginal.transpose(0, 2, 1))
        logdet = 2.0 * float(np.sum(np.log(np.diagonal(factor, axis1=1, axis2=2))))
        size = state.shape[1]
        return PathMoments(marginal, np.zeros((state.shape[0] - 1, size, size)), -logdet)

    def dense_precision(self, state: Any) -> np.ndarray:
        """The precision as a dense (T K) x (T K) matrix (for small problems and tests).

        Parameters
        ----------
        state : (T, K, K) array
            q's precision.

        Returns
        -------
        (T K, T K) array
            J, block diagonal.
        """
        return dense_from_blocks(state, np.zeros((state.shape[0] - 1,) + state.shape[1:]))


class FullRank:
    """Any Gaussian over the path: state a dense (T K) x (T K) precision."""

    name = "full-rank"
    target_is_hessian = False  # H as a dense matrix: the Newton step's block factor does not serve

    def __init__(self, latent_dim: int) -> None:
        self.latent_dim = latent_dim

    def target(self, hessian_diag: np.ndarray, hessian_lower: np.ndarray) -> Any:
        """The member nearest the fixed point S^{-1} = H: H itself, as a dense matrix.

        Parameters
        ----------
        hessian_diag : (T, K, K) array
            The diagonal blocks of H = J0 + blockdiag(W_t).
        hessian_lower : (T - 1, K, K) array
            Its sub-diagonal blocks, ``hessian_lower[t] = H[t+1, t]``.

        Returns
        -------
        (T K, T K) array
            H.
        """
        return dense_from_blocks(hessian_diag, hessian_lower)

    def blend(self, state: Any, target: Any, alpha: float) -> Any:
        """The precision moved a fraction alpha towards ``target``.

        Parameters
        ----------
        state : (T K, T K) array
            The current precision.
        target : (T K, T K) array
            The precision it moves towards (from :meth:`target`).
        alpha : float
            The fraction of the way, in (0, 1].

        Returns
        -------
        (T K, T K) array
            state + alpha (target - state); ``target`` itself when alpha is 1.
        """
        return linear_blend(state, target, alpha)

    def moments(self, state: Any, factor: Any = None) -> PathMoments:
        """The moments of q (``factor`` is not used: the dense state is factored here).

        Parameters
        ----------
        state : (T K, T K) array
            q's dense precision.
        factor : optional
            Ignored.

        Returns
        -------
        PathMoments
            The diagonal and next-to-diagonal K x K blocks of Cov = state^{-1}, and log det Cov.

        Raises
        ------
        NotPositiveDefinite
            When ``state`` is not positive definite.
        """
        factor = cholesky_or_raise(state)
        identity = np.eye(state.shape[0])
        cov = np.linalg.solve(factor.T, np.linalg.solve(factor, identity))
        dim = state.shape[0]
        size = self.latent_dim
        n_steps = dim // size
        blocks = cov.reshape(n_steps, size, n_steps, size)
        marginal = np.stack([blocks[t, :, t, :] for t in range(n_steps)])
        marginal = 0.5 * (marginal + marginal.transpose(0, 2, 1))
        cross = np.stack([blocks[t, :, t + 1, :] for t in range(n_steps - 1)]) if n_steps > 1 else \
            np.zeros((0, size, size))
        return PathMoments(marginal, cross, -2.0 * float(np.sum(np.log(np.diag(factor)))))

    def dense_precision(self, state: Any) -> np.ndarray:
        """The precision as a dense (T K) x (T K) matrix (for small problems and tests).

        Parameters
        ----------
        state : (T K, T K) array
            q's precision.

        Returns
        -------
        (T K, T K) array
            ``state`` itself.
        """
        return state


def make_path_family(name: str, latent_dim: int) -> StructuredMarkov | MeanFieldOverTime | FullRank:
    """The family called ``name`` (one of PATH_FAMILY_NAMES).

    Parameters
    ----------
    name : str
        "structured-markov", "mean-field" or "full-rank".
    latent_dim : int
        K, the number of latents (the full-rank family splits its dense covariance into K x K blocks).

    Returns
    -------
    StructuredMarkov or MeanFieldOverTime or FullRank
        A new instance of the family.

    Raises
    ------
    ValueError
        When ``name`` is not a family's name.
    """
    if name == "structured-markov":
        return StructuredMarkov()
    if name == "mean-field":
        return MeanFieldOverTime()
    if name == "full-rank":
        return FullRank(latent_dim)
    raise ValueError(f"unknown latent-path family {name!r}; choose one of {', '.join(PATH_FAMILY_NAMES)}")


def newton_direction(hessian_diag: np.ndarray, hessian_lower: np.ndarray, gradient: np.ndarray
                     ) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """H^{-1} g for the block-tridiagonal H (the Newton step of the means), (T, K), and the block Cholesky
    factor of H (the structured family's moments at its target reuse it).

    Parameters
    ----------
    hessian_diag : (T, K, K) array
        The diagonal blocks of H (the ELBO's negative Hessian in the means).
    hessian_lower : (T - 1, K, K) array
        Its sub-diagonal blocks, ``hessian_lower[t] = H[t+1, t]``.
    gradient : (T, K) array
        g = dELBO/dm.

    Returns
    -------
    direction : (T, K) array
        H^{-1} g.
    factor : (factor_diag (T, K, K), factor_lower (T - 1, K, K))
        The block Cholesky factor of H.

    Raises
    ------
    NotPositiveDefinite
        When H is not positive definite.
    """
    factor_diag, factor_lower, ok = block_cholesky(hessian_diag, hessian_lower)
    if not ok:
        raise NotPositiveDefinite()
    return block_solve(factor_diag, factor_lower, np.ascontiguousarray(gradient)), (factor_diag, factor_lower)
