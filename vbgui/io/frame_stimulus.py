"""A stimulus shown frame by frame, read from a file of its own, and its average over uniform bins.

Used with recordings that hold only spikes (a Kilosort/phy folder).  The
file holds the stimulus, one row per frame, (N,) or (N, K), and the frame
times, the onsets in seconds on the spikes' clock, (N,):

    .npz        arrays 'stimulus' and 'frame_times'
    .mat        variables 'stimulus' and 'frame_times' (v5 or v7.3)
    .csv, .tsv  a header row; a column 'frame_times' and stimulus columns 'stim*'

Other names: ``variables={"stimulus": NAME, "frame_times": NAME}`` (in a
table, several stimulus columns separated by commas).  Frame j shows its
value from frame_times[j] until frame_times[j+1]; the last frame lasts the
median frame interval.
"""
from __future__ import annotations

import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from vbgui.errors import NamingError, RecordingError
from vbgui.io.delimited import read_header
from vbgui.io.limits import check_memory, check_values
from vbgui.io.matlab import numeric_array, read_variables
from vbgui.io.npz import check_npz_members, not_an_archive_error

ROLES = ("stimulus", "frame_times")
EXTENSIONS = (".npz", ".mat", ".csv", ".tsv")


@dataclass(frozen=True, eq=False)
class FrameStimulus:
    """``values`` (N, K), one row per frame, shown from ``frame_times`` (N,) seconds on; read from ``source``."""

    frame_times: np.ndarray
    values: np.ndarray
    source: str

    @property
    def start(self) -> float:
        return float(self.frame_times[0])

    @property
    def frame_interval(self) -> float:
        """The median interval between frame onsets (seconds): the last frame's duration and the default bin
        width; rounded to 12 significant digits, so frames at k * dt give back dt itself, not dt - 2e-16."""
        return float(f"{np.median(np.diff(self.frame_times)):.12g}")

    @property
    def end(self) -> float:
        return float(self.frame_times[-1]) + self.frame_interval

    def bytes_on_bins(self, n_bins: int) -> float:
        """Bytes :meth:`on_bins` allocates for ``n_bins`` bins (edges, frame indices, integrals, the result)."""
        return float(n_bins + 1) * 8 * (2 + 4 * self.values.shape[1])

    def on_bins(self, dt: float, n_bins: int) -> np.ndarray:
        """The stimulus averaged over each bin [start + k dt, start + (k+1) dt), k < ``n_bins``: (n_bins, K).

        The stimulus is a step function (each frame's value until the next
        onset), so a bin's mean is exact: the difference of its integral S(t)
        at the bin's edges over dt, where S(t) = S(f_j) + s_j (t - f_j) for the
        frame j showing at t.  A bin as long as a frame and aligned with it
        takes that frame's value; a finer bin takes the value of the frame
        showing; a coarser one the duration-weighted mean of its frames.
        """
        frames, values = self.frame_times, self.values
        durations = np.diff(np.append(frames, self.end))
        integral_at_onsets = np.concatenate([np.zeros((1, values.shape[1])),
                                             np.cumsum(values * durations[:, None], axis=0)])
        edges = self.start + np.arange(n_bins + 1) * dt
        showing = np.clip(np.searchsorted(frames, edges, side="right") - 1, 0, frames.size - 1)
        integral = integral_at_onsets[showing] + values[showing] * (edges - frames[showing])[:, None]
        return np.diff(integral, axis=0) / dt


def _from_npz(path: Path, names: Mapping[str, str]) -> tuple[Any, Any]:
    source = str(path)
    if not zipfile.is_zipfile(path):
        raise not_an_archive_error(source, path)
    try:
        with zipfile.ZipFile(path) as archive:
            check_npz_members(source, archive, names.values())
        with np.load(path, allow_pickle=False) as archive:
            for role, name in names.items():
                if name not in archive.files:
                    raise NamingError(f"{source}: no array '{name}' (the {role}); arrays: "
                                      f"{', '.join(archive.files) or 'none'}")
            return archive[names["stimulus"]], archive[names["frame_times"]]
    except RecordingError:
        raise
    except Exception as exc:  # noqa: BLE001 - untrusted bytes: zipfile, zlib and numpy raise many types
        raise RecordingError(f"{source}: not a readable .npz archive ({exc.__class__.__name__}: {exc})") from None


def _from_mat(path: Path, names: Mapping[str, str]) -> tuple[Any, Any]:
    found = read_variables(path)
    for role, name in names.items():
        if name not in found:
            raise NamingError(f"{path}: no variable '{name}' (the {role}); the file holds "
                              f"{', '.join(sorted(found)) or 'nothing'}")
    return found[names["stimulus"]], found[names["frame_times"]]


def _from_table(path: Path, names: Mapping[str, str], stimulus_named: bool) -> tuple[Any, Any]:
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    # a value takes at least 2 characters ("1,"), and becomes 8 bytes, once parsed and once kept as float64
    check_memory(str(path), "parsing the table", path.stat().st_size / 2 * 8 * 2)
    header = read_header(path, delimiter)
    stimulus_columns = ([n.strip() for n in names["stimulus"].split(",") if n.strip()] if stimulus_named
                        else [n for n in header if n.startswith("stim")])
    for role, wanted in (("frame_times", [names["frame_times"]]), ("stimulus", stimulus_columns or ["stim*"])):
        missing = [n for n in wanted if n not in header]
        if missing:
            raise NamingError(f"{path}: no column '{missing[0]}' (the {role}); columns: {', '.join(header)}")
    columns = [header.index(names["frame_times"])] + [header.index(n) for n in stimulus_columns]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "input contained no data": reported by the checks
            data = np.loadtxt(path, delimiter=delimiter, skiprows=1, ndmin=2, encoding="utf-8-sig", usecols=columns)
    except (ValueError, OSError, UnicodeDecodeError) as exc:
        raise RecordingError(f"{path}: not a table of numbers under the header ({exc})") from None
    return data[:, 1:], data[:, 0]


def read_frame_stimulus(path: str | Path, variables: Mapping[str, str] | None = None) -> FrameStimulus:
    """Read a stimulus and its frame times (see the module docstring); RecordingError naming the file otherwise."""
    path = Path(path)
    source = str(path)
    if not path.is_file():
        raise RecordingError(f"{source}: no such file (the stimulus file)")
    variables = dict(variables or {})
    unknown = sorted(set(variables) - set(ROLES))
    if unknown:
        raise RecordingError(f"{source}: no role '{unknown[0]}' in a stimulus file (roles: {', '.join(ROLES)})")
    names = {role: variables.get(role, role) for role in ROLES}
    suffix = path.suffix.lower()
    if suffix == ".npz":
        stimulus, frames = _from_npz(path, names)
    elif suffix == ".mat":
        stimulus, frames = _from_mat(path, names)
    elif suffix in (".csv", ".tsv"):
        stimulus, frames = _from_table(path, names, "stimulus" in variables)
    else:
        raise RecordingError(f"{source}: a stimulus file must be {', '.join(EXTENSIONS)}, not "
                             f"'{suffix or 'no extension'}'")
    return _checked(source, names, stimulus, frames)


def _checked(source: str, names: Mapping[str, str], stimulus: Any, frames: Any) -> FrameStimulus:
    """The arrays as a FrameStimulus, if they are numeric, finite, one stimulus row per increasing frame time."""
    stimulus_name, frames_name = names["stimulus"], names["frame_times"]
    frames = numeric_array(source, frames_name, frames)
    stimulus = numeric_array(source, stimulus_name, stimulus)
    if frames.ndim == 2 and 1 in frames.shape:  # MATLAB row or column vector
        frames = frames.reshape(-1)
    if frames.ndim != 1:
        raise RecordingError(f"{source}: '{frames_name}' must be a vector of frame times, got shape {frames.shape}")
    if stimulus.ndim == 2 and stimulus.shape[0] == 1 and stimulus.shape[1] == frames.size:  # a MATLAB row vector
        stimulus = stimulus.reshape(-1)
    if stimulus.ndim == 1:
        stimulus = stimulus[:, None]
    if stimulus.ndim != 2:
        raise RecordingError(f"{source}: '{stimulus_name}' must be (N,) or (N, K), got shape {stimulus.shape}")
    if stimulus.shape[0] != frames.size:
        raise RecordingError(f"{source}: '{frames_name}' has {frames.size} frame times but '{stimulus_name}' has "
                             f"{stimulus.shape[0]} rows (one row per frame)")
    frames = frames.astype(np.float64)
    if frames.size < 2 or not np.all(np.isfinite(frames)) or np.any(np.diff(frames) <= 0):
        raise RecordingError(f"{source}: '{frames_name}' must be at least two finite, increasing frame onset "
                             "times (seconds)")
    if stimulus.shape[1] == 0:
        raise RecordingError(f"{source}: '{stimulus_name}' has no columns")
    stimulus = np.ascontiguousarray(stimulus, dtype=np.float64)
    if not np.all(np.isfinite(stimulus)):
        raise RecordingError(f"{source}: '{stimulus_name}' contains NaN or Inf")
    check_values(source, stimulus_name, "stimulus", stimulus)
    return FrameStimulus(frames, stimulus, source)
