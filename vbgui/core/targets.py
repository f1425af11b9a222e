"""Two-dimensional target densities for the teaching demonstrations.

Each target has a normalised log density over points (n, 2) and its
gradient (n, 2).  The demos fit Gaussians to them by reverse KL (see
:mod:`vbgui.core.fit2d`) and show what the fit misses.

    CorrelatedGaussian  N(0, [[1, rho], [rho, 1]])          closed-form answers
    StudentT            bivariate t, dof nu, correlation rho  heavy tails
    Banana              x ~ N(0, 1), y | x ~ N(b (x^2 - 1), s^2)  skew
    GaussianMixture     sum_k w_k N(mu_k, S_k)               several modes
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import gammaln, logsumexp

LOG_2PI = float(np.log(2.0 * np.pi))


def unit_correlation(rho: float) -> np.ndarray:
    """[[1, rho], [rho, 1]].

    Parameters
    ----------
    rho : float
        The correlation, in (-1, 1).

    Returns
    -------
    (2, 2) array
        The correlation matrix.
    """
    return np.array([[1.0, rho], [rho, 1.0]])


def gaussian_log_density(points: np.ndarray, mean: np.ndarray, cov: np.ndarray) -> np.ndarray:
    """log N(x; mean, cov) for points (n, 2).

    Parameters
    ----------
    points : (n, 2) array
        One point per row.
    mean : (2,) array
        The mean.
    cov : (2, 2) array
        The covariance, positive definite.

    Returns
    -------
    (n,) array
        Nats.
    """
    chol = np.linalg.cholesky(cov)
    z = np.linalg.solve(chol, (points - mean).T)
    return -0.5 * np.sum(z * z, axis=0) - np.sum(np.log(np.diag(chol))) - 0.5 * len(mean) * LOG_2PI


def gaussian_score(points: np.ndarray, mean: np.ndarray, cov: np.ndarray) -> np.ndarray:
    """d/dx log N(x; mean, cov) = -cov^-1 (x - mean), for points (n, 2).

    Parameters
    ----------
    points : (n, 2) array
        One point per row.
    mean : (2,) array
        The mean.
    cov : (2, 2) array
        The covariance.

    Returns
    -------
    (n, 2) array
        The score, one row per point.
    """
    return -(points - mean) @ np.linalg.inv(cov)


@dataclass(frozen=True)
class CorrelatedGaussian:
    """Unit-variance bivariate Gaussian with correlation ``rho``."""

    rho: float
    name: str = "correlated Gaussian"

    @property
    def cov(self) -> np.ndarray:
        return unit_correlation(self.rho)

    @property
    def mean(self) -> np.ndarray:
        return np.zeros(2)

    def log_density(self, points: np.ndarray) -> np.ndarray:
        """log N(x; 0, [[1, rho], [rho, 1]]) at each point.

        Parameters
        ----------
        points : (n, 2) array
            One point per row.

        Returns
        -------
        (n,) array
            Nats.
        """
        return gaussian_log_density(points, self.mean, self.cov)

    def score(self, points: np.ndarray) -> np.ndarray:
        """d/dx log p(x) at each point.

        Parameters
        ----------
        points : (n, 2) array
            One point per row.

        Returns
        -------
        (n, 2) array
            The score, one row per point.
        """
        return gaussian_score(points, self.mean, self.cov)


@dataclass(frozen=True)
class StudentT:
    """Bivariate Student-t with ``dof`` degrees of freedom and unit scales, correlation ``rho``."""

    dof: float = 2.5
    rho: float = 0.0
    name: str = "Student-t"

    def _projected(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """A^-1 x and x'A^-1 x, A the scale matrix."""
        projected = points @ np.linalg.inv(unit_correlation(self.rho))
        return projected, np.sum(projected * points, axis=1)

    def log_density(self, points: np.ndarray) -> np.ndarray:
        """The normalised log density of the bivariate t at each point.

        Parameters
        ----------
        points : (n, 2) array
            One point per row.

        Returns
        -------
        (n,) array
            Nats.
        """
        _, quad = self._projected(points)
        nu = self.dof
        return (gammaln((nu + 2) / 2) - gammaln(nu / 2) - np.log(nu * np.pi) - 0.5 * np.log(1.0 - self.rho ** 2)
                - (nu + 2) / 2 * np.log1p(quad / nu))

    def score(self, points: np.ndarray) -> np.ndarray:
        """-(nu + 2) / (nu + x'A^-1 x) A^-1 x.

        Parameters
        ----------
        points : (n, 2) array
            One point per row.

        Returns
        -------
        (n, 2) array
            The score, one row per point.
        """
        projected, quad = self._projected(points)
        return -((self.dof + 2) / (self.dof + quad))[:, None] * projected


@dataclass(frozen=True)
class Banana:
    """x ~ N(0, 1); y | x ~ N(bend (x^2 - 1), spread^2): a curved, skewed density."""

    bend: float = 1.0
    spread: float = 0.5
    name: str = "banana"

    def log_density(self, points: np.ndarray) -> np.ndarray:
        """log N(x; 0, 1) + log N(y; b (x^2 - 1), s^2) at each point (x, y).

        Parameters
        ----------
        points : (n, 2) array
            One point per row.

        Returns
        -------
        (n,) array
            Nats.
        """
        x, y = points[:, 0], points[:, 1]
        resid = (y - self.bend * (x ** 2 - 1.0)) / self.spread
        return -0.5 * x ** 2 - 0.5 * resid ** 2 - LOG_2PI - np.log(self.spread)

    def score(self, points: np.ndarray) -> np.ndarray:
        """d/dx log p(x) at each point.

        Parameters
        ----------
        points : (n, 2) array
            One point per row.

        Returns
        -------
        (n, 2) array
            The score, one row per point.
        """
        x, y = points[:, 0], points[:, 1]
        resid = (y - self.bend * (x ** 2 - 1.0)) / self.spread ** 2
        return np.column_stack([-x + resid * 2.0 * self.bend * x, -resid])


@dataclass(frozen=True)
class GaussianMixture:
    """A mixture of bivariate Gaussians: weights (K,), means (K, 2), covs (K, 2, 2)."""

    weights: tuple[float, ...]
    means: tuple[tuple[float, float], ...]
    covs: tuple[tuple[tuple[float, float], tuple[float, float]], ...]
    name: str = "two modes"

    @classmethod
    def two_modes(cls, separation: float = 4.0, sd: float = 0.7) -> "GaussianMixture":
        """An equal-weight mixture of two isotropic Gaussians at -+(separation / 2, separation / 4).

        Parameters
        ----------
        separation : float
            Distance between the modes along the first coordinate.
        sd : float
            Standard deviation of each coordinate in each component.

        Returns
        -------
        GaussianMixture
            The mixture.
        """
        cov = ((sd ** 2, 0.0), (0.0, sd ** 2))
        half = separation / 2
        return cls((0.5, 0.5), ((-half, -half / 2), (half, half / 2)), (cov, cov))

    def log_density(self, points: np.ndarray) -> np.ndarray:
        """log sum_k w_k N(x; mu_k, S_k) at each point.

        Parameters
        ----------
        points : (n, 2) array
            One point per row.

        Returns
        -------
        (n,) array
            Nats.
        """
        return logsumexp(self._component_log_densities(points), axis=0)

    def _component_log_densities(self, points: np.ndarray) -> np.ndarray:
        return np.vstack([np.log(w) + gaussian_log_density(points, np.array(m), np.array(c))
                          for w, m, c in zip(self.weights, self.means, self.covs)])

    def score(self, points: np.ndarray) -> np.ndarray:
        """Responsibility-weighted component scores.

        Parameters
        ----------
        points : (n, 2) array
            One point per row.

        Returns
        -------
        (n, 2) array
            The score, one row per point.
        """
        parts = self._component_log_densities(points)
        responsibility = np.exp(parts - logsumexp(parts, axis=0))
        return sum(r[:, None] * gaussian_score(points, np.array(m), np.array(c))
                   for r, m, c in zip(responsibility, self.means, self.covs))
