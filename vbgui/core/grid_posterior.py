"""The exact posterior of a small Bayesian GLM, evaluated on a grid.

For a model with D <= MAX_GRID_DIM weights the posterior

    p(w | y)  propto  p(y | X w) p(w),    p(w) = N(0, s^2 I),

is evaluated (up to its normalising constant) at every node of a regular
D-dimensional grid, normalised numerically, and summed over the other axes
to give the exact marginal of any pair of weights.  No Gaussian assumption
enters the density; a Laplace approximation (MAP and the inverse Hessian of
the log joint) only places the grid: MAP +- ``extent_sd`` Laplace standard
deviations along each axis.

The log joint is :func:`vbgui.core.hmc.log_joint`, every likelihood through
its one definition (:mod:`vbgui.core.likelihoods.registry`).

HPD regions of a pair marginal are found by mass: the density threshold
whose super-level set holds a given probability.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
from scipy.interpolate import RectBivariateSpline
from scipy.special import logsumexp

from vbgui.core.cancel import CancelToken
from vbgui.core.elbo import ExactEstimator, GLMProblem
from vbgui.core.hmc import log_joint

MAX_GRID_DIM = 3
# Likelihood terms (rows x grid nodes) evaluated per grid; bounds the work to a few seconds.
EVALUATION_BUDGET = 2.0e8
MIN_POINTS_PER_AXIS = 15
MAX_POINTS_PER_AXIS = 201


@dataclass(frozen=True, eq=False)
class GridPosterior:
    """A normalised posterior on a regular grid.

    ``axes[d]`` holds the n_d node positions of weight d; ``log_density`` has
    shape (n_0, ..., n_{D-1}) and satisfies sum(exp(log_density)) * cell = 1,
    with cell the volume of one grid cell.
    """

    axes: tuple[np.ndarray, ...]
    log_density: np.ndarray

    @property
    def dim(self) -> int:
        return len(self.axes)

    def pair_marginal(self, i: int, j: int, resolution: int = 121) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The exact marginal density of weights (i, j), i != j.

        Sums the grid over the other axes, then interpolates the log
        marginal (smooth, close to quadratic) with a bicubic spline onto a
        ``resolution`` x ``resolution`` grid spanning the same box, and
        renormalises.  Returns x (resolution,), y (resolution,) and the
        density (resolution, resolution) indexed [x, y].

        Parameters
        ----------
        i, j : int
            The two weights, different, in 0..D-1.
        resolution : int
            Points per axis of the returned grid.

        Returns
        -------
        x, y : (resolution,) array
            The axes.
        density : (resolution, resolution) array
            The marginal density, indexed [x, y], integrating to 1 over the box.

        Raises
        ------
        ValueError
            When i == j or either is out of range.
        """
        if i == j or not (0 <= i < self.dim and 0 <= j < self.dim):
            raise ValueError(f"need two different weights among 0..{self.dim - 1}, got {i} and {j}")
        other_axes = tuple(d for d in range(self.dim) if d not in (i, j))
        other_cell = float(np.prod([_spacing(self.axes[d]) for d in other_axes])) if other_axes else 1.0
        log_marginal = logsumexp(self.log_density, axis=other_axes) + np.log(other_cell) if other_axes \
            else self.log_density
        if i > j:
            log_marginal = log_marginal.T
        x_nodes, y_nodes = self.axes[i], self.axes[j]
        floor = np.max(log_marginal) - 60.0  # far tails: keep the spline away from -inf
        spline = RectBivariateSpline(x_nodes, y_nodes, np.maximum(log_marginal, floor), kx=3, ky=3)
        x = np.linspace(x_nodes[0], x_nodes[-1], resolution)
        y = np.linspace(y_nodes[0], y_nodes[-1], resolution)
        log_fine = spline(x, y)
        density = np.exp(log_fine - np.max(log_fine))
        density /= density.sum() * _spacing(x) * _spacing(y)
        return x, y, density


def _spacing(axis: np.ndarray) -> float:
    return float(axis[1] - axis[0]) if axis.size > 1 else 1.0


def hpd_thresholds(density: np.ndarray, masses: Sequence[float]) -> np.ndarray:
    """Density levels whose super-level sets {density >= level} hold the given probability masses.

    ``density`` is on a regular grid and sums to 1 times the cell area (any
    positive normalisation works: only ratios matter).  Returns one level
    per mass, in the order given.

    Parameters
    ----------
    density : array
        Density values on a regular grid, any shape.
    masses : sequence of float
        Probability masses, each in (0, 1).

    Returns
    -------
    (len(masses),) array
        The density levels.

    Raises
    ------
    ValueError
        For a mass outside (0, 1).
    """
    values = np.sort(np.ravel(density))[::-1]
    cumulative = np.cumsum(values)
    cumulative /= cumulative[-1]
    levels = []
    for mass in masses:
        if not 0.0 < mass < 1.0:
            raise ValueError(f"HPD masses must lie in (0, 1), got {mass}")
        index = int(np.searchsorted(cumulative, mass))
        levels.append(values[min(index, values.size - 1)])
    return np.array(levels)


def laplace_approximation(problem: GLMProblem, max_iter: int = 100) -> tuple[np.ndarray, np.ndarray]:
    """MAP weights and the inverse negative Hessian of the log joint there (damped Newton).

    The gradient X'g - w/s^2 and the negative Hessian X' diag(c) X + I/s^2
    (g, -c the first and second eta-derivatives of log p(y_t | eta)) come
    from one exact pass at a point mass (the kernels' pass with S = 0).

    Parameters
    ----------
    problem : GLMProblem
        The GLM.
    max_iter : int
        Most Newton steps.

    Returns
    -------
    weights : (D,) array
        The MAP weights.
    cov : (D, D) array
        The inverse negative Hessian there, symmetric.
    """
    prior_precision = np.eye(problem.dim) / problem.prior_scale ** 2
    estimator = ExactEstimator(problem)

    def point_pass(weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        slope, curvature = estimator.point_derivatives(weights)
        return slope - prior_precision @ weights, curvature + prior_precision

    weights = np.zeros(problem.dim)
    current = float(log_joint(problem, weights)[0])
    gradient, negative_hessian = point_pass(weights)
    for _ in range(max_iter):
        step = np.linalg.solve(negative_hessian, gradient)
        for _halving in range(40):
            candidate = weights + step
            value = float(log_joint(problem, candidate)[0])
            if np.isfinite(value) and value >= current - 1e-12 * abs(current):
                break
            step = step / 2.0
        else:
            break
        weights, previous, current = candidate, current, value
        gradient, negative_hessian = point_pass(weights)
        if abs(current - previous) <= 1e-12 * max(1.0, abs(current)):
            break
    cov = np.linalg.inv(negative_hessian)
    return weights, 0.5 * (cov + cov.T)


def points_per_axis(n_rows: int, dim: int, budget: float = EVALUATION_BUDGET) -> int:
    """Grid nodes per axis so that rows x nodes stays near ``budget`` (within the allowed range).

    Parameters
    ----------
    n_rows : int
        Rows T of the design.
    dim : int
        Number of weights D.
    budget : float
        Target number of row evaluations (rows x grid nodes).

    Returns
    -------
    int
        An odd number of nodes, clipped to [MIN_POINTS_PER_AXIS, MAX_POINTS_PER_AXIS].
    """
    nodes = int((budget / max(1, n_rows)) ** (1.0 / dim))
    return int(np.clip(nodes | 1, MIN_POINTS_PER_AXIS, MAX_POINTS_PER_AXIS))


def glm_grid_posterior(problem: GLMProblem, n_points: int | None = None, extent_sd: float = 6.0,
                       cancel: CancelToken | None = None) -> GridPosterior:
    """Evaluate the posterior of ``problem`` (at most MAX_GRID_DIM weights) on a grid.

    The grid spans MAP +- ``extent_sd`` Laplace sd along each axis with
    ``n_points`` nodes per axis (default: :func:`points_per_axis`).  Raises
    ValueError for larger models and :class:`~vbgui.core.cancel.FitCancelled`
    when ``cancel`` is set.

    Parameters
    ----------
    problem : GLMProblem
        The GLM, at most MAX_GRID_DIM weights.
    n_points : int, optional
        Nodes per axis.
    extent_sd : float
        Half-width of the grid, in Laplace standard deviations.
    cancel : CancelToken, optional
        Checked during the pass over the data.

    Returns
    -------
    GridPosterior
        The axes and the normalised log density on the grid (n_points,) * D.
    """
    dim = problem.dim
    if dim > MAX_GRID_DIM:
        raise ValueError(f"a grid posterior needs at most {MAX_GRID_DIM} weights, this model has {dim}")
    n_points = n_points or points_per_axis(problem.n_rows, dim)
    centre, cov = laplace_approximation(problem)
    half_width = extent_sd * np.sqrt(np.diag(cov))
    axes = tuple(np.linspace(c - h, c + h, n_points) for c, h in zip(centre, half_width))
    mesh = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, dim)
    log_values = log_joint(problem, mesh, cancel).reshape((n_points,) * dim)
    cell = float(np.prod([_spacing(a) for a in axes]))
    log_density = log_values - logsumexp(log_values) - np.log(cell)
    return GridPosterior(axes, log_density)
