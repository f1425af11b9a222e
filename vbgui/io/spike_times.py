"""Spike times to spike counts, exactly.

Bins are [e_k, e_{k+1}) with edges e_k = k dt (computed as k * dt, the same
floats every loader uses); the last bin also takes a spike at exactly its
right edge, as numpy.histogram does.  A spike that lies on an edge e_k
therefore lands in bin k and in no other.
"""
from __future__ import annotations

import numpy as np

from vbgui.errors import RecordingError
from vbgui.io.limits import check_memory


def bin_edges(dt: float, n_bins: int) -> np.ndarray:
    return np.arange(n_bins + 1) * dt


def bin_spike_times(times: np.ndarray, dt: float, n_bins: int, source: str, variable: str) -> np.ndarray:
    """Counts (n_bins,) of spike ``times`` (seconds) in bins of ``dt`` seconds starting at 0.

    Raises RecordingError naming ``source`` and ``variable`` for non-finite
    times or times outside [0, n_bins dt].
    """
    times = np.asarray(times, dtype=np.float64).reshape(-1)
    if not np.all(np.isfinite(times)):
        raise RecordingError(f"{source}: '{variable}' contains NaN or Inf")
    if not (np.isfinite(dt) and dt > 0):
        raise RecordingError(f"{source}: 'dt' must be a positive number of seconds per bin, got {dt!r}")
    if n_bins < 1:
        raise RecordingError(f"{source}: the recording is shorter than one bin of {dt} s")
    edges = bin_edges(dt, n_bins)
    outside = (times < 0) | (times > edges[-1])
    if np.any(outside):
        raise RecordingError(f"{source}: '{variable}' has {int(outside.sum())} spike(s) outside the recording "
                             f"[0, {edges[-1]:g}] s (first at {times[outside][0]:g} s)")
    index = np.searchsorted(edges, times, side="right") - 1
    index[index == n_bins] = n_bins - 1  # a spike at exactly the final edge
    return np.bincount(index, minlength=n_bins).astype(np.float64)


def n_bins_for(duration: float, dt: float, source: str) -> int:
    """Number of whole bins of ``dt`` in ``duration`` seconds (rounding away float noise)."""
    if not (np.isfinite(duration) and duration > 0):
        raise RecordingError(f"{source}: 'duration' must be a positive number of seconds, got {duration!r}")
    if not (np.isfinite(dt) and dt > 0):
        raise RecordingError(f"{source}: 'dt' must be a positive number of seconds per bin, got {dt!r}")
    bins = duration / dt + 1e-9
    if not bins < 2 ** 53:
        raise RecordingError(f"{source}: {duration:g} s in bins of {dt:g} s are {bins:.3g} bins, "
                             "more than any recording can hold; check the duration and dt")
    return int(np.floor(bins))


def check_binning_memory(source: str, n_bins: int, n_units: int, n_stimuli: int = 0) -> None:
    """Refuse, before binning, spike trains whose counts (T x units) and stimulus would exceed the budget.

    Per bin: an edge, a count per unit and its float64 copy, and the stimulus columns (8 bytes each).
    """
    check_memory(source, f"binning {n_units} spike train(s) into {n_bins} bins",
                 float(n_bins) * 8 * (2 + 2 * n_units + 2 * n_stimuli))
