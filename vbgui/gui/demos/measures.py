"""Numbers the 2-D demonstrations show, computed without Qt (so a worker thread can run them).

    fit_path        the iterates of a reverse-KL fit, start first and optimum last
    reverse_kl      KL(q || p) = -ELBO(q), exact for a normalised target (Gauss-Hermite rule)
    forward_kl      KL(p || q) = sum_grid p (log p - log q) dA, p normalised on the grid
    density_grid    p on a square grid, for contours and marginals
    gaussian_marginal   the density of one coordinate of a 2-D Gaussian
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vbgui.core.fit2d import Gaussian2D, Target, elbo_2d, grid, reverse_kl_fit
from vbgui.core.targets import gaussian_log_density


def fit_path(target: Target, mean_field: bool, start_mean: np.ndarray, start_sd: float) -> list[Gaussian2D]:
    """The start, every optimiser iterate and the optimum of a reverse-KL fit."""
    path = [Gaussian2D(np.array(start_mean, dtype=float), start_sd ** 2 * np.eye(2))]
    optimum = reverse_kl_fit(target, mean_field, np.array(start_mean, dtype=float), start_sd, on_iterate=path.append)
    if not (np.array_equal(optimum.mean, path[-1].mean) and np.array_equal(optimum.cov, path[-1].cov)):
        path.append(optimum)
    return path


def reverse_kl(target: Target, q: Gaussian2D) -> float:
    """KL(q || p) = -(E_q[log p] + H[q]) for a normalised target density p."""
    return -elbo_2d(target, q.mean, np.linalg.cholesky(q.cov))[0]


@dataclass(frozen=True, eq=False)
class DensityGrid:
    """p on the grid axis x axis: ``density`` (n, n) indexed [x, y], normalised to sum 1 times ``cell``."""

    axis: np.ndarray
    points: np.ndarray
    log_density: np.ndarray
    cell: float

    @property
    def density(self) -> np.ndarray:
        n = self.axis.size
        return np.exp(self.log_density).reshape(n, n)

    def marginal_x(self) -> np.ndarray:
        """p(x) on ``axis``: the density summed over y."""
        return self.density.sum(axis=1) * (self.axis[1] - self.axis[0])


def density_grid(target: Target, limit: float, n: int) -> DensityGrid:
    points, axis, cell = grid(limit, n)
    log_p = target.log_density(points)
    log_p = log_p - np.log(np.sum(np.exp(log_p - log_p.max())) * cell) - log_p.max()
    return DensityGrid(axis, points, log_p, cell)


def forward_kl(target_grid: DensityGrid, q: Gaussian2D) -> float:
    """KL(p || q) by the grid: the mass-covering direction (infinite in the limit when q misses a mode)."""
    p = np.exp(target_grid.log_density)
    log_q = gaussian_log_density(target_grid.points, q.mean, q.cov)
    return float(np.sum(p * (target_grid.log_density - log_q)) * target_grid.cell)


def gaussian_marginal(q: Gaussian2D, index: int, x: np.ndarray) -> np.ndarray:
    """The marginal density of coordinate ``index`` of q: N(x; m_i, Sigma_ii)."""
    variance = float(q.cov[index, index])
    return np.exp(-0.5 * (x - q.mean[index]) ** 2 / variance) / np.sqrt(2.0 * np.pi * variance)
