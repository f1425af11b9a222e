"""The in-memory recording every loader returns, and the checks it passes."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from vbgui.errors import RecordingError


@dataclass(frozen=True, eq=False)
class Recording:
    """One unit's response in T bins of width ``dt`` seconds, with its regressors.

    ``response`` holds spike counts (or 0/1 spikes, or a continuous response);
    ``stimulus`` is (T, K) or None; ``design`` is a ready design matrix (T, D)
    used as it is, or None; ``truth`` maps parameter names to ground-truth
    weights when the recording is synthetic.
    """

    response: np.ndarray
    dt: float
    source: str
    stimulus: np.ndarray | None = None
    design: np.ndarray | None = None
    truth: dict[str, float] = field(default_factory=dict)
    response_name: str = "counts"

    def __post_init__(self) -> None:
        object.__setattr__(self, "response", np.ascontiguousarray(self.response, dtype=np.float64))
        for name in ("stimulus", "design"):
            array = getattr(self, name)
            if array is not None:
                array = np.asarray(array, dtype=np.float64)
                object.__setattr__(self, name, np.ascontiguousarray(array[:, None] if array.ndim == 1 else array))
        check_recording_arrays(self)

    @property
    def n_bins(self) -> int:
        return int(self.response.shape[0])

    @property
    def duration(self) -> float:
        return self.n_bins * self.dt

    @property
    def n_stimuli(self) -> int:
        return 0 if self.stimulus is None else int(self.stimulus.shape[1])

    def mean_rate(self) -> float:
        """Mean response per second (the firing rate in Hz for spike counts)."""
        return float(np.mean(self.response) / self.dt)


def _finite(source: str, name: str, array: np.ndarray) -> None:
    if not np.all(np.isfinite(array)):
        flat = np.flatnonzero(~np.isfinite(array.reshape(array.shape[0], -1)).any(axis=1))
        raise RecordingError(f"{source}: '{name}' contains NaN or Inf (first at bin {int(flat[0])})")


def check_recording_arrays(rec: Recording) -> None:
    """Raise :class:`RecordingError` naming the source and array if ``rec`` is inconsistent."""
    src, name = rec.source, rec.response_name
    if rec.response.ndim != 1:
        raise RecordingError(f"{src}: '{name}' must be a vector of length T, got shape {rec.response.shape}")
    n_bins = rec.response.shape[0]
    if n_bins == 0:
        raise RecordingError(f"{src}: '{name}' is empty")
    _finite(src, name, rec.response)
    if not (np.isfinite(rec.dt) and rec.dt > 0):
        raise RecordingError(f"{src}: 'dt' must be a positive number of seconds per bin, got {rec.dt!r}")
    for array_name, array in (("stimulus", rec.stimulus), ("design", rec.design)):
        if array is None:
            continue
        if array.ndim != 2:
            raise RecordingError(f"{src}: '{array_name}' must be (T,) or (T, K), got shape {array.shape}")
        if array.shape[0] != n_bins:
            raise RecordingError(f"{src}: '{array_name}' has {array.shape[0]} bins but '{name}' has {n_bins}")
        if array.shape[1] == 0:
            raise RecordingError(f"{src}: '{array_name}' has no columns")
        _finite(src, array_name, array)
    for key, value in rec.truth.items():
        if not np.isfinite(value):
            raise RecordingError(f"{src}: ground truth for '{key}' is not finite")
