"""The linear dynamical system prior over a latent path, and its parameters.

Latents x_t in R^K for t = 0 .. T-1 follow

    x_0 ~ N(mu0, Sigma0),   x_{t+1} = A x_t + b + B u_t + e_t,   e_t ~ N(0, Q),

and unit n's observation in bin t depends on eta_{n,t} = c_n' x_t + d_n
through a likelihood of :mod:`vbgui.core.likelihoods` (C is N x K, d is N).
u_t in R^M is a known input (the recording's stimulus in bin t; M = 0, B
a K x 0 matrix, without one), so the transition out of bin t has the drive
b + B u_t (:func:`transition_drive`).

For a Gaussian q over the path with means m_t, marginal covariances S_t and
cross covariances P_t = Cov(x_t, x_{t+1}), the expected log prior is exact:

    E_q[log p(x)] = -1/2 [K log 2 pi + log|Sigma0| + tr Sigma0^{-1} (S_0 + (m_0 - mu0)(m_0 - mu0)')]
                    - 1/2 sum_{t<T-1} [K log 2 pi + log|Q| + tr Q^{-1} (V_t + r_t r_t')]

with r_t = m_{t+1} - A m_t - b - B u_t and V_t = S_{t+1} - P_t' A' - A P_t + A S_t A'.
Its gradient in m is Sigma0^{-1}(mu0 - m_0) [t = 0] + A' Q^{-1} r_t [t < T-1]
- Q^{-1} r_{t-1} [t > 0], and its (negated) Hessian is the prior precision
J0, block tridiagonal: J0_tt = Sigma0^{-1} [t = 0] + Q^{-1} [t > 0]
+ A' Q^{-1} A [t < T-1], J0_{t+1,t} = -Q^{-1} A.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

LOG_2PI = math.log(2.0 * math.pi)


@dataclass(frozen=True, eq=False)
class LdsParams:
    """The parameters of a linear dynamical system with K latents, M inputs and N observed units.

    Shapes: A (K, K), b (K,), Q (K, K) positive definite, mu0 (K,), Sigma0
    (K, K) positive definite, C (N, K), d (N,), B (K, M) (None: no input,
    stored as a K x 0 matrix).
    """

    A: np.ndarray
    b: np.ndarray
    Q: np.ndarray
    mu0: np.ndarray
    Sigma0: np.ndarray
    C: np.ndarray
    d: np.ndarray
    B: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.B is None:
            object.__setattr__(self, "B", np.zeros((self.A.shape[0], 0)))

    @property
    def latent_dim(self) -> int:
        return int(self.A.shape[0])

    @property
    def input_dim(self) -> int:
        """M, the number of input columns u_t drives the latents with (0 without an input)."""
        return int(self.B.shape[1])

    @property
    def n_units(self) -> int:
        return int(self.C.shape[0])

    def with_changes(self, **changes: np.ndarray) -> "LdsParams":
        """A copy with some parameters replaced.

        Parameters
        ----------
        **changes : ndarray
            New values by parameter name (A, b, Q, mu0, Sigma0, C, d, B).

        Returns
        -------
        LdsParams
            These parameters with ``changes`` applied (the arrays not named are shared, not copied).
        """
        return replace(self, **changes)

    def to_dict(self) -> dict[str, list]:
        """Every parameter as nested lists, by its name; B only when the model has an input (M > 0).

        Returns
        -------
        dict of str to list
            A, b, Q, mu0, Sigma0, C, d (and B) as nested lists of floats.
        """
        names = PARAMETER_NAMES + ((INPUT_PARAMETER_NAME,) if self.input_dim else ())
        return {name: np.asarray(getattr(self, name)).tolist() for name in names}


PARAMETER_NAMES = ("A", "b", "Q", "mu0", "Sigma0", "C", "d")
INPUT_PARAMETER_NAME = "B"  # present only in a model with an input


def transition_drive(params: LdsParams, inputs: np.ndarray | None, n_steps: int) -> np.ndarray:
    """b + B u_t for the transitions t = 0 .. T-2 of a trial of T bins, (T - 1, K).

    Parameters
    ----------
    params : LdsParams
        The parameters (b and B).
    inputs : ndarray of shape (T, M) or None
        The trial's input u_t; None when the model has none (M = 0).
    n_steps : int
        T, the trial's number of bins.

    Returns
    -------
    ndarray of shape (T - 1, K)
        The drive of each transition; u_{T-1} drives no transition of the trial.
    """
    n_moves = max(n_steps - 1, 0)
    drive = np.broadcast_to(params.b, (n_moves, params.latent_dim))
    if params.input_dim == 0:
        return drive
    if inputs is None or inputs.shape[0] != n_steps or inputs.shape[1] != params.input_dim:
        raise ValueError(f"the model has {params.input_dim} input(s); give inputs of shape ({n_steps}, "
                         f"{params.input_dim})")
    return drive + inputs[:n_moves] @ params.B.T


def _logdet(matrix: np.ndarray) -> float:
    return 2.0 * float(np.sum(np.log(np.diag(np.linalg.cholesky(matrix)))))


def summed_residual_cov(params: LdsParams, marginal: np.ndarray, cross: np.ndarray) -> np.ndarray:
    """sum_t V_t, V_t = Cov_q(x_{t+1} - A x_t) = S_{t+1} - P_t' A' - A P_t + A S_t A' (linear in the
    blocks, so only their sums are formed), (K, K).

    Parameters
    ----------
    params : LdsParams
        The parameters (A).
    marginal : (T, K, K) array
        q's marginal covariances S_t.
    cross : (T - 1, K, K) array
        q's cross covariances P_t = Cov(x_t, x_{t+1}).

    Returns
    -------
    (K, K) array
        The sum of V_t over the transitions t = 0 .. T-2.
    """
    A = params.A
    a_cross = A @ cross.sum(axis=0)
    every = marginal.sum(axis=0)  # one reduction over the long axis, the two ends taken off
    return every - marginal[0] - a_cross - a_cross.T + A @ (every - marginal[-1]) @ A.T


def expected_log_prior(params: LdsParams, mean: np.ndarray, marginal: np.ndarray, cross: np.ndarray,
                       inputs: np.ndarray | None = None) -> float:
    """E_q[log p(x)] for one trial (see the module docstring); mean (T, K), marginal (T, K, K), cross (T-1, K, K),
    inputs (T, M) or None without an input.

    Parameters
    ----------
    params : LdsParams
        The parameters (A, b, B, Q, mu0, Sigma0).
    mean : (T, K) array
        q's means m_t.
    marginal : (T, K, K) array
        q's marginal covariances S_t.
    cross : (T - 1, K, K) array
        q's cross covariances P_t = Cov(x_t, x_{t+1}).
    inputs : (T, M) array, optional
        The trial's input u_t; None when the model has none.

    Returns
    -------
    float
        E_q[log p(x)] in nats, every constant kept.
    """
    size = params.latent_dim
    start = mean[0] - params.mu0
    sigma0_inv = np.linalg.inv(params.Sigma0)
    total = -0.5 * (size * LOG_2PI + _logdet(params.Sigma0)
                    + float(np.sum(sigma0_inv * (marginal[0] + np.outer(start, start)))))
    n_moves = mean.shape[0] - 1
    if n_moves > 0:
        q_inv = np.linalg.inv(params.Q)
        residual = mean[1:] - mean[:-1] @ params.A.T - transition_drive(params, inputs, mean.shape[0])
        spread = summed_residual_cov(params, marginal, cross) + residual.T @ residual
        total -= 0.5 * (n_moves * (size * LOG_2PI + _logdet(params.Q)) + float(np.sum(q_inv * spread)))
    return total


def prior_gradient(params: LdsParams, mean: np.ndarray, inputs: np.ndarray | None = None) -> np.ndarray:
    """d E_q[log p(x)] / d m, (T, K); inputs (T, M) or None without an input.

    Parameters
    ----------
    params : LdsParams
        The parameters (A, b, B, Q, mu0, Sigma0).
    mean : (T, K) array
        q's means m_t.
    inputs : (T, M) array, optional
        The trial's input u_t; None when the model has none.

    Returns
    -------
    (T, K) array
        The gradient of the expected log prior in the means (it does not depend on q's covariance).
    """
    gradient = np.zeros_like(mean)
    gradient[0] = np.linalg.solve(params.Sigma0, params.mu0 - mean[0])
    if mean.shape[0] > 1:
        q_inv = np.linalg.inv(params.Q)
        residual = mean[1:] - mean[:-1] @ params.A.T - transition_drive(params, inputs, mean.shape[0])
        weighted = residual @ q_inv  # rows r_t' Q^{-1}
        gradient[:-1] += weighted @ params.A
        gradient[1:] -= weighted
    return gradient


def prior_precision_blocks(params: LdsParams, n_steps: int) -> tuple[np.ndarray, np.ndarray]:
    """The blocks of J0: diagonal (T, K, K) and sub-diagonal (T - 1, K, K).

    Parameters
    ----------
    params : LdsParams
        The parameters (A, Q, Sigma0).
    n_steps : int
        T, the trial's number of bins.

    Returns
    -------
    diag : (T, K, K) array
        J0_tt = Sigma0^{-1} [t = 0] + Q^{-1} [t > 0] + A' Q^{-1} A [t < T-1].
    lower : (T - 1, K, K) array
        J0_{t+1,t} = -Q^{-1} A.
    """
    size = params.latent_dim
    q_inv = np.linalg.inv(params.Q)
    diag = np.empty((n_steps, size, size))
    diag[:] = q_inv
    diag[0] = np.linalg.inv(params.Sigma0)
    diag[:-1] += params.A.T @ q_inv @ params.A
    lower = np.empty((n_steps - 1, size, size))
    lower[:] = -q_inv @ params.A
    return diag, lower
