"""Gaussian fits to two-dimensional targets, for the teaching demonstrations.

Reverse KL (what variational inference does): maximise over q = N(m, L L')

    ELBO(q) = E_q[log p~(x)] + H[q],     H[q] = log(2 pi e) + log L_11 + log L_22,

with E_q computed by a tensor Gauss-Hermite rule (exact for Gaussian
targets, smooth for all), so the objective is deterministic and an
optimiser's path can be animated.  Its gradient uses the target's score
g = d log p / dx at the nodes x_k = m + L z_k:

    dELBO/dm = sum_k w_k g(x_k),   dELBO/dL = lower(sum_k w_k g(x_k) z_k') + diag(1 / L_ii).  Mean-field restricts L to be diagonal.
For a unit-variance Gaussian target with correlation rho the mean-field
optimum has variances 1 - rho^2 and KL(q || p) = -1/2 log(1 - rho^2); the
full-rank optimum is p itself.

Forward KL (moment matching): the Gaussian with the target's mean and
covariance, computed on a grid.

The numbers the demonstrations show (Qt-free, so a worker thread can compute them):

    fit_path            the iterates of a reverse-KL fit, start first and optimum last
    reverse_kl          KL(q || p) = -ELBO(q), exact for a normalised Gaussian target (Gauss-Hermite rule)
    density_grid        p on a square grid, normalised there, for contours, marginals and forward KL
    forward_kl          KL(p || q) = sum_grid p (log p - log q) dA
    gaussian_marginal   N(x; m_i, Sigma_ii), one coordinate's density under a 2-D Gaussian
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Callable, Protocol

import numpy as np
from scipy.optimize import minimize
from scipy.stats import chi2

from vbgui.core.targets import gaussian_log_density

NODES_PER_AXIS = 24


class Target(Protocol):
    def log_density(self, points: np.ndarray) -> np.ndarray:
        """The normalised log density log p(x) at each point.

        Parameters
        ----------
        points : (n, 2) array
            One point per row.

        Returns
        -------
        (n,) array
            log p, in nats.
        """

    def score(self, points: np.ndarray) -> np.ndarray:
        """The gradient d/dx log p(x) at each point.

        Parameters
        ----------
        points : (n, 2) array
            One point per row.

        Returns
        -------
        (n, 2) array
            The score, one row per point.
        """


@dataclass(frozen=True, eq=False)
class Gaussian2D:
    mean: np.ndarray
    cov: np.ndarray

    def mahalanobis_squared(self, points: np.ndarray) -> np.ndarray:
        """(x - mean)' cov^-1 (x - mean) for each point x.

        Parameters
        ----------
        points : (n, 2) array
            One point per row.

        Returns
        -------
        (n,) array
            The squared Mahalanobis distances.
        """
        diff = points - self.mean
        return np.einsum("ni,ij,nj->n", diff, np.linalg.inv(self.cov), diff)


@lru_cache(maxsize=2)
def _standard_rule(n: int = NODES_PER_AXIS) -> tuple[np.ndarray, np.ndarray]:
    """Nodes (n^2, 2) and weights (n^2,) for E[f(z)], z ~ N(0, I_2); built once, read-only."""
    x, w = np.polynomial.hermite.hermgauss(n)
    z = np.sqrt(2.0) * x
    w = w / np.sqrt(np.pi)
    nodes = np.stack(np.meshgrid(z, z, indexing="ij"), axis=-1).reshape(-1, 2)
    weights = np.outer(w, w).reshape(-1)
    nodes.setflags(write=False)
    weights.setflags(write=False)
    return nodes, weights


def _unpack(theta: np.ndarray, mean_field: bool) -> tuple[np.ndarray, np.ndarray]:
    """theta = (m1, m2, log L11, log L22, L21); L21 fixed at 0 for mean-field."""
    chol = np.array([[np.exp(theta[2]), 0.0], [0.0 if mean_field else theta[4], np.exp(theta[3])]])
    return theta[:2], chol


def elbo_2d(target: Target, mean: np.ndarray, chol: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """E_q[log p] + H[q] by the tensor Gauss-Hermite rule, with its gradients in m and L.

    Parameters
    ----------
    target : Target
        The normalised target density p.
    mean : (2,) array
        The mean m of q.
    chol : (2, 2) array
        Lower-triangular Cholesky factor L of q's covariance, positive diagonal.

    Returns
    -------
    elbo : float
        E_q[log p] + H[q], in nats.
    grad_mean : (2,) array
        dELBO/dm.
    grad_chol : (2, 2) array
        dELBO/dL, lower-triangular.
    """
    nodes, weights = _standard_rule()
    points = mean + nodes @ chol.T
    entropy = np.log(2.0 * np.pi * np.e) + np.log(chol[0, 0]) + np.log(chol[1, 1])
    scores = target.score(points) * weights[:, None]
    grad_chol = np.tril(scores.T @ nodes) + np.diag(1.0 / np.diag(chol))
    return float(weights @ target.log_density(points) + entropy), scores.sum(axis=0), grad_chol


def reverse_kl_fit(target: Target, mean_field: bool, start_mean: np.ndarray = np.zeros(2), start_sd: float = 1.0,
                   on_iterate: Callable[[Gaussian2D], None] | None = None) -> Gaussian2D:
    """The Gaussian maximising the ELBO (minimising KL(q || p)), from the given start.

    ``on_iterate`` sees q after every optimiser iteration (for animation).

    Parameters
    ----------
    target : Target
        The normalised target density p.
    mean_field : bool
        Restrict q to a diagonal covariance.
    start_mean : (2,) array
        The start's mean.
    start_sd : float
        The start's standard deviation of each coordinate.
    on_iterate : callable, optional
        Called with q (a Gaussian2D) after every iteration.

    Returns
    -------
    Gaussian2D
        The optimum found by BFGS.
    """
    theta0 = np.concatenate([start_mean, [np.log(start_sd)] * 2, [] if mean_field else [0.0]])

    def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
        mean, chol = _unpack(theta, mean_field)
        value, grad_mean, grad_chol = elbo_2d(target, mean, chol)
        grad = [grad_mean[0], grad_mean[1], grad_chol[0, 0] * chol[0, 0], grad_chol[1, 1] * chol[1, 1]]
        if not mean_field:
            grad.append(grad_chol[1, 0])
        return -value, -np.array(grad)

    def as_gaussian(theta: np.ndarray) -> Gaussian2D:
        mean, chol = _unpack(theta, mean_field)
        return Gaussian2D(mean.copy(), chol @ chol.T)

    callback = None if on_iterate is None else (lambda theta: on_iterate(as_gaussian(theta)))
    found = minimize(objective, theta0, jac=True, method="BFGS", callback=callback,
                     options={"gtol": 1e-10, "maxiter": 500})
    return as_gaussian(found.x)


def grid(limit: float, n: int) -> tuple[np.ndarray, np.ndarray, float]:
    """Points (n^2, 2) of a square grid on [-limit, limit]^2, its axis and the cell area.

    Parameters
    ----------
    limit : float
        Half-width of the square.
    n : int
        Points per axis.

    Returns
    -------
    points : (n^2, 2) array
        The grid points, the first coordinate varying slowest.
    axis : (n,) array
        The points of one axis.
    cell : float
        Area of one grid cell.
    """
    axis = np.linspace(-limit, limit, n)
    points = np.stack(np.meshgrid(axis, axis, indexing="ij"), axis=-1).reshape(-1, 2)
    return points, axis, float((axis[1] - axis[0]) ** 2)


def moment_matched(target: Target, limit: float = 10.0, n: int = 401) -> Gaussian2D:
    """The forward-KL optimum: the Gaussian with the target's mean and covariance (grid integration).

    Parameters
    ----------
    target : Target
        The target density p.
    limit : float
        Half-width of the integration grid.
    n : int
        Grid points per axis.

    Returns
    -------
    Gaussian2D
        N(E_p[x], Cov_p[x]).
    """
    points, _, _ = grid(limit, n)
    log_p = target.log_density(points)
    p = np.exp(log_p - log_p.max())
    p /= p.sum()
    mean = p @ points
    diff = points - mean
    return Gaussian2D(mean, (diff * p[:, None]).T @ diff)


def mass_outside(target: Target, q: Gaussian2D, level: float = 0.99, limit: float = 12.0, n: int = 601) -> float:
    """Target probability mass outside q's central ``level`` region (grid integration).

    Parameters
    ----------
    target : Target
        The target density p.
    q : Gaussian2D
        The approximation.
    level : float
        Probability mass of q's central ellipse (0 < level < 1).
    limit : float
        Half-width of the integration grid.
    n : int
        Grid points per axis.

    Returns
    -------
    float
        The fraction of p's mass, in [0, 1].
    """
    points, _, _ = grid(limit, n)
    log_p = target.log_density(points)
    p = np.exp(log_p - log_p.max())
    p /= p.sum()
    return float(p[q.mahalanobis_squared(points) > chi2.ppf(level, 2)].sum())


def kl_gaussians(q: Gaussian2D, p: Gaussian2D) -> float:
    """KL(q || p) between Gaussians.

    Parameters
    ----------
    q, p : Gaussian2D
        The two Gaussians.

    Returns
    -------
    float
        Nats.
    """
    p_inv = np.linalg.inv(p.cov)
    diff = p.mean - q.mean
    return float(0.5 * (np.trace(p_inv @ q.cov) + diff @ p_inv @ diff - 2
                        + np.linalg.slogdet(p.cov)[1] - np.linalg.slogdet(q.cov)[1]))


def fit_path(target: Target, mean_field: bool, start_mean: np.ndarray, start_sd: float) -> list[Gaussian2D]:
    """The start N(start_mean, start_sd^2 I), every optimiser iterate and the optimum of a reverse-KL fit.

    Parameters
    ----------
    target : Target
        The normalised target density p.
    mean_field : bool
        Restrict q to a diagonal covariance.
    start_mean : (2,) array
        The start's mean.
    start_sd : float
        The start's standard deviation of each coordinate.

    Returns
    -------
    list of Gaussian2D
        The start first, the optimum last.
    """
    path = [Gaussian2D(np.array(start_mean, dtype=float), start_sd ** 2 * np.eye(2))]
    optimum = reverse_kl_fit(target, mean_field, np.array(start_mean, dtype=float), start_sd, on_iterate=path.append)
    if not (np.array_equal(optimum.mean, path[-1].mean) and np.array_equal(optimum.cov, path[-1].cov)):
        path.append(optimum)
    return path


def reverse_kl(target: Target, q: Gaussian2D) -> float:
    """KL(q || p) = E_q[log q - log p] = -(E_q[log p] + H[q]) = -ELBO(q) for a normalised target density p.

    E_q[log p] is taken by the tensor Gauss-Hermite rule of :func:`elbo_2d`: exact when p is Gaussian
    (log p is then quadratic), a close approximation for smooth p.

    Parameters
    ----------
    target : Target
        The normalised target density p.
    q : Gaussian2D
        The approximation.

    Returns
    -------
    float
        Nats.
    """
    return -elbo_2d(target, q.mean, np.linalg.cholesky(q.cov))[0]


@dataclass(frozen=True, eq=False)
class DensityGrid:
    """p on the grid axis x axis, normalised on the grid: sum(exp(log_density)) * cell = 1.

    ``points`` (n^2, 2) and ``log_density`` (n^2,) are in the order of :func:`grid` (x major);
    ``density`` is (n, n) indexed [x, y].
    """

    axis: np.ndarray
    points: np.ndarray
    log_density: np.ndarray
    cell: float

    @property
    def density(self) -> np.ndarray:
        n = self.axis.size
        return np.exp(self.log_density).reshape(n, n)

    def marginal_x(self) -> np.ndarray:
        """p(x) = integral p(x, y) dy on ``axis``, by the grid: sum_y p(x, y) dy.

        Returns
        -------
        (n,) array
            p(x) at each point of axis.
        """
        return self.density.sum(axis=1) * (self.axis[1] - self.axis[0])


def density_grid(target: Target, limit: float, n: int) -> DensityGrid:
    """p on the n x n grid over [-limit, limit]^2, renormalised so that sum p dA = 1 there:
    log p_k = log p~_k - log(sum_j p~_j dA), computed stably (shifted by the maximum).

    Parameters
    ----------
    target : Target
        The target density.
    limit : float
        Half-width of the square.
    n : int
        Points per axis.

    Returns
    -------
    DensityGrid
        The axis, the (n^2, 2) points, log p at them and the cell area.
    """
    points, axis, cell = grid(limit, n)
    log_p = target.log_density(points)
    log_p = log_p - np.log(np.sum(np.exp(log_p - log_p.max())) * cell) - log_p.max()
    return DensityGrid(axis, points, log_p, cell)


def forward_kl(target_grid: DensityGrid, q: Gaussian2D) -> float:
    """KL(p || q) = integral p (log p - log q) dx, by the grid: sum_k p_k (log p_k - log q(x_k)) dA.

    The mass-covering direction: it grows without bound when q misses mass of p (a mode); accurate
    when the grid covers p's mass and resolves both densities.

    Parameters
    ----------
    target_grid : DensityGrid
        p on a grid, as from :func:`density_grid`.
    q : Gaussian2D
        The approximation.

    Returns
    -------
    float
        Nats.
    """
    p = np.exp(target_grid.log_density)
    log_q = gaussian_log_density(target_grid.points, q.mean, q.cov)
    return float(np.sum(p * (target_grid.log_density - log_q)) * target_grid.cell)


def gaussian_marginal(q: Gaussian2D, index: int, x: np.ndarray) -> np.ndarray:
    """The marginal density of coordinate ``index`` under q = N(m, Sigma): N(x; m_i, Sigma_ii).

    Parameters
    ----------
    q : Gaussian2D
        The Gaussian.
    index : int
        The coordinate, 0 or 1.
    x : array
        Values of that coordinate, any shape.

    Returns
    -------
    array
        The density at x, the shape of x.
    """
    variance = float(q.cov[index, index])
    return np.exp(-0.5 * (x - q.mean[index]) ** 2 / variance) / np.sqrt(2.0 * np.pi * variance)
