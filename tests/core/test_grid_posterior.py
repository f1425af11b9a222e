"""The grid posterior against the closed-form posterior of the linear-Gaussian model."""
from __future__ import annotations

import numpy as np
import pytest

from vbgui.core.conjugate import linear_gaussian_posterior
from vbgui.core.elbo import GLMProblem
from vbgui.core.grid_posterior import (MAX_GRID_DIM, glm_grid_posterior, hpd_thresholds, laplace_approximation,
                                       points_per_axis)
from vbgui.core.likelihoods import Likelihood
from vbgui.core.cancel import CancelToken, FitCancelled

HPD_RADII = np.array([1.0, 2.0, 3.035])
HPD_MASSES = 1.0 - np.exp(-HPD_RADII ** 2 / 2.0)


def _problem(likelihood: str, dim: int, n_rows: int = 400, seed: int = 3, prior_scale: float = 1.5) -> GLMProblem:
    rng = np.random.default_rng(seed)
    X = np.column_stack([np.ones(n_rows), rng.standard_normal((n_rows, dim - 1))])
    # correlated columns, so the posterior is tilted and the marginals are not conditionals
    X[:, 1:] = X[:, 1:] @ np.linalg.cholesky(0.7 * np.eye(dim - 1) + 0.3).T
    w = np.linspace(-0.6, 0.5, dim)
    eta = X @ w
    lik = Likelihood(likelihood, 0.8)
    if likelihood == "gaussian":
        y = eta + 0.8 * rng.standard_normal(n_rows)
    elif likelihood == "poisson":
        y = rng.poisson(np.exp(eta)).astype(float)
    else:
        y = (rng.random(n_rows) < 1 / (1 + np.exp(-eta))).astype(float)
    return GLMProblem(X, y, lik, prior_scale)


def _moments(x: np.ndarray, y: np.ndarray, density: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    weights = density / density.sum()
    gx, gy = np.meshgrid(x, y, indexing="ij")
    mean = np.array([np.sum(weights * gx), np.sum(weights * gy)])
    dx, dy = gx - mean[0], gy - mean[1]
    cov = np.array([[np.sum(weights * dx * dx), np.sum(weights * dx * dy)],
                    [np.sum(weights * dx * dy), np.sum(weights * dy * dy)]])
    return mean, cov


@pytest.mark.parametrize("pair", [(0, 1), (1, 2), (2, 0)])
def test_grid_marginal_matches_the_conjugate_posterior(pair: tuple[int, int]) -> None:
    problem = _problem("gaussian", 3)
    exact = linear_gaussian_posterior(problem)
    grid = glm_grid_posterior(problem, n_points=41)
    x, y, density = grid.pair_marginal(*pair)
    mean, cov = _moments(x, y, density)
    idx = list(pair)
    exact_mean, exact_cov = exact.mean[idx], exact.cov[np.ix_(idx, idx)]
    exact_sd = np.sqrt(np.diag(exact_cov))
    np.testing.assert_allclose(mean, exact_mean, atol=1e-3 * exact_sd.max())
    np.testing.assert_allclose(cov, exact_cov, rtol=2e-3, atol=2e-3 * exact_sd.prod())


def test_hpd_levels_of_the_grid_match_gaussian_mahalanobis_radii() -> None:
    """For a Gaussian marginal the HPD level of mass 1 - exp(-r^2/2) is its density at radius r."""
    problem = _problem("gaussian", 3)
    exact = linear_gaussian_posterior(problem)
    x, y, density = glm_grid_posterior(problem, n_points=41).pair_marginal(1, 2, resolution=241)
    cov = exact.cov[np.ix_([1, 2], [1, 2])]
    expected = np.exp(-HPD_RADII ** 2 / 2.0) / (2.0 * np.pi * np.sqrt(np.linalg.det(cov)))
    np.testing.assert_allclose(hpd_thresholds(density, HPD_MASSES), expected, rtol=0.02)


def test_laplace_approximation_is_exact_for_the_linear_gaussian_model() -> None:
    problem = _problem("gaussian", 3)
    exact = linear_gaussian_posterior(problem)
    mode, cov = laplace_approximation(problem)
    np.testing.assert_allclose(mode, exact.mean, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(cov, exact.cov, rtol=1e-8, atol=1e-12)


@pytest.mark.parametrize("likelihood", ["poisson", "bernoulli"])
def test_non_gaussian_grid_is_normalised_and_near_laplace_with_much_data(likelihood: str) -> None:
    problem = _problem(likelihood, 2, n_rows=3000)
    grid = glm_grid_posterior(problem, n_points=81)
    cell = np.prod([a[1] - a[0] for a in grid.axes])
    assert np.exp(grid.log_density).sum() * cell == pytest.approx(1.0, rel=1e-10)
    x, y, density = grid.pair_marginal(0, 1)
    mean, cov = _moments(x, y, density)
    mode, laplace_cov = laplace_approximation(problem)
    sd = np.sqrt(np.diag(laplace_cov))
    np.testing.assert_allclose(mean, mode, atol=0.1 * sd.max())
    np.testing.assert_allclose(np.sqrt(np.diag(cov)), sd, rtol=0.05)


def test_hpd_thresholds_hold_their_mass() -> None:
    rng = np.random.default_rng(0)
    density = rng.random((50, 60))
    levels = hpd_thresholds(density, [0.25, 0.5, 0.9])
    total = density.sum()
    for level, mass in zip(levels, [0.25, 0.5, 0.9]):
        assert density[density >= level].sum() / total == pytest.approx(mass, abs=2.0 / density.size)
    with pytest.raises(ValueError):
        hpd_thresholds(density, [1.0])


def test_refuses_large_models_and_honours_cancel() -> None:
    with pytest.raises(ValueError, match="at most"):
        glm_grid_posterior(_problem("gaussian", MAX_GRID_DIM + 1))
    token = CancelToken()
    token.cancel()
    with pytest.raises(FitCancelled):
        glm_grid_posterior(_problem("poisson", 2), n_points=21, cancel=token)


def test_points_per_axis_respects_the_budget_range() -> None:
    assert points_per_axis(60_000, 3) % 2 == 1
    assert 15 <= points_per_axis(10 ** 9, 3) <= points_per_axis(100, 1) <= 201
