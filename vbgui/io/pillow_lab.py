"""The Pillow lab retinal ganglion cell tutorial files (not redistributable; never shipped).

A folder holding ``Stim.mat`` (N x 1 stimulus, one value per frame),
``stimtimes.mat`` (N x 1 frame onset times, seconds) and ``SpTimes.mat``
(a 1 x 4 cell of spike times in seconds, one per cell).  Spikes are binned
onto the frames: bin k is [stimtimes_k, stimtimes_{k+1}), the last frame
lasting the median frame interval.  Spikes outside the frames are not
counted; how many is stated in the recording's notes.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from vbgui.errors import RecordingError
from vbgui.io.matlab import cells, numeric_array, read_variables
from vbgui.io.recording import RecordingFile

FILES = ("Stim.mat", "stimtimes.mat", "SpTimes.mat")


def is_pillow_folder(path: Path) -> bool:
    folder = path if path.is_dir() else path.parent
    return all((folder / name).is_file() for name in FILES) and (path.is_dir() or path.name in FILES)


def _only_variable(path: Path, preferred: str):
    found = read_variables(path)
    if preferred in found:
        return found[preferred]
    if len(found) == 1:
        return next(iter(found.values()))
    raise RecordingError(f"{path}: expected a variable '{preferred}', found {', '.join(sorted(found)) or 'none'}")


def read_pillow_folder(path: str | Path) -> RecordingFile:
    """Read the three tutorial files from ``path`` (the folder, or any one of the files)."""
    path = Path(path)
    folder = path if path.is_dir() else path.parent
    stim_path, times_path, spikes_path = (folder / name for name in FILES)
    stimulus = numeric_array(str(stim_path), "Stim", _only_variable(stim_path, "Stim")).reshape(-1)
    frames = numeric_array(str(times_path), "stimtimes", _only_variable(times_path, "stimtimes")).reshape(-1)
    if frames.size != stimulus.size:
        raise RecordingError(f"{times_path}: 'stimtimes' has {frames.size} frames but 'Stim' has {stimulus.size}")
    if frames.size < 2 or not np.all(np.isfinite(frames)) or np.any(np.diff(frames) <= 0):
        raise RecordingError(f"{times_path}: 'stimtimes' must be at least two increasing, finite frame times")
    dt = float(np.median(np.diff(frames)))
    edges = np.append(frames, frames[-1] + dt)
    counts = []
    dropped = 0
    trains = cells(_only_variable(spikes_path, "SpTimes"))
    if not trains:
        raise RecordingError(f"{spikes_path}: 'SpTimes' holds no cells (one vector of spike times per cell expected)")
    for train in trains:
        times = numeric_array(str(spikes_path), "SpTimes", train).reshape(-1)
        if not np.all(np.isfinite(times)):
            raise RecordingError(f"{spikes_path}: 'SpTimes' contains NaN or Inf")
        inside = (times >= edges[0]) & (times < edges[-1])
        dropped += int((~inside).sum())
        index = np.searchsorted(edges, times[inside], side="right") - 1
        counts.append(np.bincount(index, minlength=frames.size).astype(np.float64))
    notes = (f"{dropped} spike(s) outside the stimulus frames were not counted",) if dropped else ()
    return RecordingFile(responses=np.column_stack(counts), unit_names=tuple(f"cell {i + 1}" for i in range(len(trains))),
                         dt=dt, source=str(folder), stimulus=stimulus, response_name="counts", notes=notes)
