"""HPD contours of a pair of parameters from weighted draws: a 2-D kernel density on a grid.

The draws (N, 2) are whitened with their weighted mean m and covariance
C = L L' (u = L^-1 (w - m)), binned with their weights on a regular grid in
u, and smoothed with an isotropic Gaussian kernel of bandwidth
h = n_eff^(-1/6) (Scott's rule in two dimensions, with the effective number
of draws n_eff = 1 / sum(weights^2)).  In w this is a Gaussian kernel of
covariance h^2 C, which follows the posterior's correlation.  The HPD levels
are found by mass on that grid (:func:`vbgui.core.grid_posterior.hpd_thresholds`;
the whitening maps equal cells to equal areas, so masses are unchanged) and
the level lines are mapped back to w.

Pure numpy/scipy (imported when first used: the window imports this module
before the engine is loaded); the level lines are traced by the caller.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

GRID_SIZE = 120
# the grid spans the weighted 0.05..99.95 % range of each whitened coordinate, plus this many bandwidths
MARGIN_BANDWIDTHS = 4.0


@dataclass(frozen=True)
class KdeGrid:
    """A density on a whitened grid: ``u`` (G,) and ``v`` (G,) axes, ``density`` (G, G) indexed [u, v].

    ``mean`` (2,) and ``chol`` (2, 2) map grid points back: w = mean + chol @ (u, v).
    """

    u: np.ndarray
    v: np.ndarray
    density: np.ndarray
    mean: np.ndarray
    chol: np.ndarray
    bandwidth: float

    def levels(self, masses: np.ndarray) -> np.ndarray:
        """Density levels whose super-level sets hold ``masses`` of the kernel density."""
        from vbgui.core.grid_posterior import hpd_thresholds

        return hpd_thresholds(self.density, masses)

    def to_parameters(self, u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Grid coordinates (u, v) back to the parameters (NaN separators stay NaN)."""
        points = self.mean[:, None] + self.chol @ np.stack([u, v])
        return points[0], points[1]


def effective_draws(weights: np.ndarray) -> float:
    """Kish's effective sample size 1 / sum(w^2) of normalised weights."""
    weights = np.asarray(weights, dtype=float)
    weights = weights / weights.sum()
    return float(1.0 / np.sum(weights ** 2))


def weighted_kde(draws: np.ndarray, weights: np.ndarray, grid_size: int = GRID_SIZE) -> KdeGrid:
    """The kernel density of ``draws`` (N, 2) with ``weights`` (N,), on a whitened grid (see the module)."""
    from scipy.ndimage import gaussian_filter

    draws = np.asarray(draws, dtype=float)
    weights = np.asarray(weights, dtype=float)
    weights = weights / weights.sum()
    mean = weights @ draws
    centred = draws - mean
    cov = (centred * weights[:, None]).T @ centred
    # a tiny ridge keeps a (nearly) degenerate pair drawable
    cov += np.eye(2) * 1e-12 * max(float(np.trace(cov)), 1e-300)
    chol = np.linalg.cholesky(cov)
    whitened = np.linalg.solve(chol, centred.T).T
    bandwidth = effective_draws(weights) ** (-1.0 / 6.0)
    axes = []
    for k in range(2):
        order = np.argsort(whitened[:, k])
        cumulative = np.cumsum(weights[order])
        low = whitened[order[np.searchsorted(cumulative, 0.0005)], k]
        high = whitened[order[min(np.searchsorted(cumulative, 0.9995), order.size - 1)], k]
        axes.append(np.linspace(low - MARGIN_BANDWIDTHS * bandwidth, high + MARGIN_BANDWIDTHS * bandwidth,
                                grid_size))
    u, v = axes
    edges = [np.concatenate([a - (a[1] - a[0]) / 2.0, [a[-1] + (a[1] - a[0]) / 2.0]]) for a in axes]
    binned, _, _ = np.histogram2d(whitened[:, 0], whitened[:, 1], bins=edges, weights=weights)
    sigma_cells = (bandwidth / (u[1] - u[0]), bandwidth / (v[1] - v[0]))
    density = gaussian_filter(binned, sigma_cells, mode="constant", truncate=4.0)
    return KdeGrid(u, v, density, mean, chol, bandwidth)
