"""The computation behind the talk-mode demonstration "Structure over time" (Qt-free).

One latent x_t (K = 1) follows x_{t+1} = a x_t + noise with a = exp(-dt / tau)
and stationary variance 1, so its time constant is tau; ``n_units`` poisson
units fire Poisson(exp(c_n x_t + d_n)) counts per bin, loadings and offsets
from :func:`vbgui.models.lds_synthetic.lds_population_params`.  With the
parameters held at the truth, two Gaussian families over the path are fitted
by the E-step of :func:`vbgui.core.lds.em.variational_em`: mean-field over
time (independent x_t) and structured-markov (block-tridiagonal precision,
which holds the best Gaussian q).  The result holds every iterate's means and
sds, each family's ELBO, and the coverage of the true path by its bands.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from functools import cache

import numpy as np

from vbgui.core.lds.em import EmReport, EmSettings, variational_em
from vbgui.core.lds.estep import initial_posterior
from vbgui.core.lds.families import make_path_family
from vbgui.core.lds.observations import Observations
from vbgui.core.lds.sample import sample_observations, sample_path
from vbgui.core.likelihoods import Likelihood
from vbgui.errors import VbguiError
from vbgui.models.lds_synthetic import lds_population_params

DEMO_FAMILIES = ("mean-field", "structured-markov")
DEMO_BINS = 200
DEMO_BIN_SECONDS = 0.01
TIME_CONSTANT_RANGE_MS = (10.0, 1000.0)
UNITS_RANGE = (1, 60)
BAND_SDS = 2.0
MAX_ITERATIONS = 200
TOLERANCE = 1e-10  # relative: the E-step converges in under ten iterations at these sizes


@dataclass(frozen=True, eq=False)
class PathFit:
    """One family's fit of the latent path: ``means``, ``sds`` (iterations + 1, T) and ``cross_covs``
    Cov_q(x_t, x_{t+1}) (iterations + 1, T - 1; zero for mean-field), the start (the prior's precision,
    zero means) first, the ELBO after each iteration (``elbo_trace``, nats) and the seconds the fit took."""

    family: str
    means: np.ndarray
    sds: np.ndarray
    cross_covs: np.ndarray
    elbo_trace: np.ndarray
    seconds: float

    @property
    def mean(self) -> np.ndarray:
        return self.means[-1]

    @property
    def sd(self) -> np.ndarray:
        return self.sds[-1]

    @property
    def elbo(self) -> float:
        return float(self.elbo_trace[-1])

    @property
    def iterations(self) -> int:
        return len(self.elbo_trace)

    def coverage(self, truth: np.ndarray, iteration: int = -1) -> float:
        """The fraction of bins whose true latent lies within ``BAND_SDS`` sds of q's mean.

        Parameters
        ----------
        truth : (T,) array
            The true latent path.
        iteration : int
            Which iterate, an index into ``means`` (0: the start; -1, the default: the last).

        Returns
        -------
        float
            The fraction, in [0, 1].
        """
        return float(np.mean(np.abs(truth - self.means[iteration]) <= BAND_SDS * self.sds[iteration]))

    def joint(self, t: int, iteration: int = -1) -> tuple[np.ndarray, np.ndarray]:
        """q's mean (2,) and covariance (2, 2) of (x_t, x_{t+1}) at an iterate (the last by default).

        Parameters
        ----------
        t : int
            The first bin of the pair, 0 .. T-2.
        iteration : int
            Which iterate, an index into ``means`` (0: the start; -1: the last).

        Returns
        -------
        mean : (2,) array
            q's means of x_t and x_{t+1} (a copy).
        cov : (2, 2) array
            Their covariance: the sds squared on the diagonal, Cov_q(x_t, x_{t+1}) off it.
        """
        sd, cross = self.sds[iteration], self.cross_covs[iteration, t]
        return self.means[iteration, t:t + 2].copy(), np.array([[sd[t] ** 2, cross], [cross, sd[t + 1] ** 2]])


@dataclass(frozen=True, eq=False)
class StructureDemo:
    """The true path (T,) on its time axis (s) and each family's :class:`PathFit`, for one setting."""

    time_s: np.ndarray
    truth: np.ndarray
    fits: dict[str, PathFit]
    time_constant_ms: float
    n_units: int
    seed: int
    total_spikes: int

    @property
    def elbo_gap(self) -> float:
        """ELBO(structured-markov) - ELBO(mean-field), nats."""
        return self.fits["structured-markov"].elbo - self.fits["mean-field"].elbo

    @property
    def lag_one_correlation(self) -> float:
        """The true prior's correlation of adjacent latents, exp(-dt / tau)."""
        return math.exp(-1e3 * DEMO_BIN_SECONDS / self.time_constant_ms)


def _check(time_constant_ms: float, n_units: int) -> None:
    low, high = TIME_CONSTANT_RANGE_MS
    if not (math.isfinite(time_constant_ms) and low <= time_constant_ms <= high):
        raise VbguiError(f"time constant must be in [{low:g}, {high:g}] ms, got {time_constant_ms!r}")
    if not (UNITS_RANGE[0] <= n_units <= UNITS_RANGE[1]):
        raise VbguiError(f"number of units must be in [{UNITS_RANGE[0]}, {UNITS_RANGE[1]}], got {n_units!r}")


@cache
def _load_kernels() -> None:
    """Fit a two-bin path once per process, so that loading the compiled kernels (seconds, the first time)
    is not counted in the first fit's time."""
    params = lds_population_params(1, 1, 0)
    observations = Observations.create(np.zeros((2, 1)), Likelihood("poisson"))
    for family in DEMO_FAMILIES:
        for _ in variational_em([observations], params, EmSettings(family=family, max_iter=2, learn=False)):
            pass


def _fit_path(family: str, params, observations: Observations) -> PathFit:
    _load_kernels()
    start = time.perf_counter()
    first = initial_posterior(make_path_family(family, 1), params, observations.y.shape[0])
    reports: list[EmReport] = []
    settings = EmSettings(family=family, max_iter=MAX_ITERATIONS, tolerance=TOLERANCE, learn=False)
    fit = variational_em([observations], params, settings)
    while True:
        try:
            reports.append(next(fit))
        except StopIteration as stop:
            outcome = stop.value
            break
    posteriors = [first] + [report.posteriors[0] for report in reports]
    if outcome.reason != "converged":
        raise VbguiError(f"the {family} fit of the demonstration's path did not converge ({outcome.message})")
    return PathFit(family, np.array([q.mean[:, 0] for q in posteriors]), np.array([q.sd[:, 0] for q in posteriors]),
                   np.array([q.moments.cross[:, 0, 0] for q in posteriors]),
                   np.array([report.terms.elbo for report in reports]), time.perf_counter() - start)


def structure_demo(time_constant_ms: float, n_units: int, seed: int) -> StructureDemo:
    """Draw a path and counts with these settings (seeded) and fit both families of q over the path.

    Parameters
    ----------
    time_constant_ms : float
        tau, the latent's time constant in ms, within TIME_CONSTANT_RANGE_MS.
    n_units : int
        How many poisson units observe the latent, within UNITS_RANGE.
    seed : int
        Seeds the loadings and offsets, the path and the counts.

    Returns
    -------
    StructureDemo
        The true path over DEMO_BINS bins of DEMO_BIN_SECONDS and each family's :class:`PathFit`.

    Raises
    ------
    VbguiError
        When a setting is outside its range, or a family's fit does not converge.
    """
    _check(time_constant_ms, n_units)
    decay = math.exp(-1e3 * DEMO_BIN_SECONDS / time_constant_ms)
    params = lds_population_params(n_units, 1, seed).with_changes(
        A=np.array([[decay]]), Q=np.array([[1.0 - decay ** 2]]))
    rng = np.random.default_rng(seed + 1)
    truth = sample_path(params, DEMO_BINS, rng)
    likelihood = Likelihood("poisson")
    counts = sample_observations(params, truth, likelihood, rng)
    observations = Observations.create(counts, likelihood)
    fits = {family: _fit_path(family, params, observations) for family in DEMO_FAMILIES}
    return StructureDemo(np.arange(DEMO_BINS) * DEMO_BIN_SECONDS, truth[:, 0], fits, float(time_constant_ms),
                         int(n_units), int(seed), int(counts.sum()))
