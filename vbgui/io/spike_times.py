"""Spike times to spike counts, exactly.

Bins are [e_k, e_{k+1}) with edges e_k = k dt (computed as k * dt, the same
floats every loader uses); the last bin also takes a spike at exactly its
right edge, as numpy.histogram does.  A spike that lies on an edge e_k
therefore lands in bin k and in no other.
"""
from __future__ import annotations

import numpy as np

from vbgui.errors import RecordingError


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
    return int(np.floor(duration / dt + 1e-9))
