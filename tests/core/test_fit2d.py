"""The 2-D teaching fits against their closed forms."""
from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from vbgui.core.fit2d import (Gaussian2D, density_grid, fit_path, forward_kl, gaussian_marginal, kl_gaussians,
                              mass_outside, moment_matched, reverse_kl, reverse_kl_fit)
from vbgui.core.targets import Banana, CorrelatedGaussian, GaussianMixture, StudentT


@pytest.mark.parametrize("rho", [-0.99, -0.9, -0.5, 0.0, 0.3, 0.8, 0.95, 0.99])
def test_mean_field_fit_of_a_correlated_gaussian_reaches_the_closed_form(rho):
    target = CorrelatedGaussian(rho)
    fit = reverse_kl_fit(target, mean_field=True, start_mean=np.array([0.7, -0.4]))
    np.testing.assert_allclose(np.diag(fit.cov), 1 - rho ** 2, rtol=1e-6, atol=1e-9)
    assert fit.cov[0, 1] == 0.0
    np.testing.assert_allclose(fit.mean, 0.0, atol=1e-6)
    kl = kl_gaussians(fit, Gaussian2D(target.mean, target.cov))
    assert kl == pytest.approx(-0.5 * np.log(1 - rho ** 2), abs=1e-6)


@pytest.mark.parametrize("rho", [-0.99, 0.0, 0.9])
def test_full_rank_fit_of_a_correlated_gaussian_is_the_target(rho):
    target = CorrelatedGaussian(rho)
    fit = reverse_kl_fit(target, mean_field=False)
    np.testing.assert_allclose(fit.cov, target.cov, atol=1e-6)
    assert kl_gaussians(fit, Gaussian2D(target.mean, target.cov)) < 1e-9


def test_target_densities_are_normalised():
    axis = np.linspace(-30, 30, 1501)
    points = np.stack(np.meshgrid(axis, axis, indexing="ij"), axis=-1).reshape(-1, 2)
    area = (axis[1] - axis[0]) ** 2
    for target in (CorrelatedGaussian(0.6), StudentT(4.0, 0.3), Banana(), GaussianMixture.two_modes()):
        assert np.exp(target.log_density(points)).sum() * area == pytest.approx(1.0, abs=2e-3)
    for target in (CorrelatedGaussian(0.6), StudentT(4.0, 0.3), Banana(), GaussianMixture.two_modes()):
        step = 1e-6
        x = np.array([[0.3, -0.7], [1.2, 0.4]])
        numeric = np.column_stack([(target.log_density(x + step * e) - target.log_density(x - step * e)) / (2 * step)
                                   for e in np.eye(2)])
        np.testing.assert_allclose(target.score(x), numeric, rtol=1e-6, atol=1e-8)
    t = StudentT(3.0, 0.0)
    reference = stats.multivariate_t(loc=np.zeros(2), shape=np.eye(2), df=3.0).logpdf(points[:5])
    np.testing.assert_allclose(t.log_density(points[:5]), reference, rtol=1e-12)


def test_reverse_kl_picks_one_mode_and_moment_matching_covers_both():
    target = GaussianMixture.two_modes(separation=5.0, sd=0.6)
    left = reverse_kl_fit(target, mean_field=False, start_mean=np.array([-2.0, -1.0]), start_sd=0.5)
    right = reverse_kl_fit(target, mean_field=False, start_mean=np.array([2.0, 1.0]), start_sd=0.5)
    np.testing.assert_allclose(left.mean, [-2.5, -1.25], atol=0.05)
    np.testing.assert_allclose(right.mean, [2.5, 1.25], atol=0.05)
    assert np.sqrt(np.diag(left.cov)).max() < 1.0
    matched = moment_matched(target)
    np.testing.assert_allclose(matched.mean, 0.0, atol=1e-6)
    assert matched.cov[0, 0] == pytest.approx(0.36 + 2.5 ** 2, rel=1e-4)


def test_heavy_tails_put_mass_outside_the_gaussian_fit():
    heavy = StudentT(2.5, 0.0)
    fit = reverse_kl_fit(heavy, mean_field=False)
    outside = mass_outside(heavy, fit)
    assert outside > 0.02  # five times the 1 % a Gaussian target would leave
    gaussian = CorrelatedGaussian(0.0)
    assert mass_outside(gaussian, reverse_kl_fit(gaussian, False)) == pytest.approx(
        0.01, abs=1e-3)


@pytest.mark.parametrize("rho", [-0.9, 0.0, 0.6])
def test_grid_and_quadrature_kls_of_gaussians_match_the_closed_form(rho):
    target = CorrelatedGaussian(rho)
    p = Gaussian2D(target.mean, target.cov)
    q = Gaussian2D(np.array([0.4, -0.3]), np.array([[0.8, 0.2], [0.2, 0.5]]))
    # forward KL(p || q) by a 241 x 241 grid on [-10, 10]^2 against the closed form
    assert forward_kl(density_grid(target, 10.0, 241), q) == pytest.approx(kl_gaussians(p, q), abs=1e-6)
    # reverse KL(q || p) by Gauss-Hermite: exact for a Gaussian target
    assert reverse_kl(target, q) == pytest.approx(kl_gaussians(q, p), abs=1e-10)
    assert forward_kl(density_grid(target, 10.0, 241), p) == pytest.approx(0.0, abs=1e-9)


def test_grid_marginal_of_a_correlated_gaussian_is_its_gaussian_marginal():
    target = CorrelatedGaussian(0.8)
    grid = density_grid(target, 10.0, 241)
    p = Gaussian2D(target.mean, target.cov)
    np.testing.assert_allclose(grid.marginal_x(), gaussian_marginal(p, 0, grid.axis), atol=1e-9)
    x = np.linspace(-5, 5, 11)
    q = Gaussian2D(np.array([1.0, 2.0]), np.array([[4.0, 0.5], [0.5, 1.0]]))
    np.testing.assert_allclose(gaussian_marginal(q, 1, x), stats.norm(2.0, 1.0).pdf(x), rtol=1e-12)
    np.testing.assert_allclose(gaussian_marginal(q, 0, x), stats.norm(1.0, 2.0).pdf(x), rtol=1e-12)


def test_fit_path_runs_from_the_start_to_the_optimum():
    target = CorrelatedGaussian(0.7)
    path = fit_path(target, True, np.array([1.5, -1.0]), 0.3)
    np.testing.assert_array_equal(path[0].mean, [1.5, -1.0])
    np.testing.assert_allclose(path[0].cov, 0.09 * np.eye(2))
    optimum = reverse_kl_fit(target, True, np.array([1.5, -1.0]), 0.3)
    np.testing.assert_allclose(path[-1].cov, optimum.cov, atol=1e-12)
    assert len(path) > 3
