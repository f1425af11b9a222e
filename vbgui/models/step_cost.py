"""How long one optimiser step will take, so settings that make a step take minutes are refused up front.

One step of the exact estimator forms the curvature X' diag(c) X: about
T x D^2 multiply-adds for T bins and D parameters, at roughly 1e10 a second
(benchmarks/bench_engine.py: 1e6 x 20^2 in 34 ms), except where no D x D
matrix is formed (:func:`vbgui.core.names.fits_matrix_free`): a mean-field q from 100 parameters on
(conjugate gradients, counted as 50 passes of T x D) and the low-rank family
(T x D x (rank + 2) per pass, counted as 3 passes).  One step of a Monte
Carlo estimator evaluates x_t'w for every sample: about samples x T x D
multiply-adds, at roughly 3e8 a second (measured: 10,000 samples x 10,000
bins x 26 parameters in 8 s on a shared 2-core machine).
A step estimated above :data:`REFUSE_SECONDS` is refused; above
:data:`WARN_SECONDS` the user is told what to expect.
"""
from __future__ import annotations

from vbgui.core.names import ESTIMATOR_NAMES, fits_matrix_free
from vbgui.errors import FitError
from vbgui.models.preset import Preset

OPERATIONS_PER_SECOND = {name: 1e10 if name == "exact" else 3e8 for name in ESTIMATOR_NAMES}
CONJUGATE_GRADIENT_PASSES = 50
REFUSE_SECONDS = 60.0
WARN_SECONDS = 5.0


def step_operations(preset: Preset, n_rows: int, dim: int) -> float:
    """Multiply-adds of one optimiser step for ``n_rows`` bins and ``dim`` parameters."""
    if preset.fit.estimator != "exact":
        return float(preset.fit.samples) * n_rows * dim
    if preset.fit.family == "low-rank":
        return 3.0 * n_rows * dim * (min(preset.fit.rank, dim) + 2)
    if fits_matrix_free(preset.fit.family, dim):
        return float(CONJUGATE_GRADIENT_PASSES) * n_rows * dim
    return float(n_rows) * dim * dim


def step_seconds(preset: Preset, n_rows: int, dim: int) -> float:
    """A rough estimate of the seconds one optimiser step takes."""
    return step_operations(preset, n_rows, dim) / OPERATIONS_PER_SECOND[preset.fit.estimator]


def _describe(preset: Preset, n_rows: int, dim: int) -> str:
    if preset.fit.estimator != "exact":
        return (f"{preset.fit.samples} Monte Carlo samples x {n_rows} bins x {dim} parameters; "
                "fewer samples (--samples) or the exact estimator make it faster")
    if preset.fit.family in ("low-rank", "mean-field") and step_operations(preset, n_rows, dim) < n_rows * dim * dim:
        return f"{n_rows} bins x {dim} parameters; fewer lags or a shorter recording make it faster"
    return (f"{n_rows} bins x {dim} parameters (squared, for the {preset.fit.family} family); fewer lags, "
            "a shorter recording, or the mean-field or low-rank family make it faster")


def check_step_cost(preset: Preset, n_rows: int, dim: int, source: str) -> str | None:
    """Raise :class:`FitError` naming ``source`` when one step would take minutes; return a warning
    sentence when it takes several seconds, else None."""
    seconds = step_seconds(preset, n_rows, dim)
    if seconds > REFUSE_SECONDS:
        raise FitError(f"{source}: one step of this fit would take about {seconds:.0f} s, more than "
                       f"{REFUSE_SECONDS:.0f} s ({_describe(preset, n_rows, dim)})")
    if seconds > WARN_SECONDS:
        return f"each step of this fit takes about {seconds:.0f} s ({_describe(preset, n_rows, dim)})"
    return None
