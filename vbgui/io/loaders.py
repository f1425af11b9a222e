"""One entry point for every recording format: ``read_recording_file`` and ``load_recording``.

The format is chosen by extension (.npz, .mat, .csv, .tsv, .nwb) or, for a
folder, by its layout: a Kilosort/phy output folder, or the Pillow lab
tutorial layout (the folder or one of its files).  Every loader
returns a :class:`RecordingFile`; every problem is a :class:`RecordingError`
naming the file, the variable and what is wrong.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from vbgui.errors import RecordingError
from vbgui.io.delimited import read_delimited
from vbgui.io.matlab import read_mat
from vbgui.io.npz import read_npz
from vbgui.io.nwb import read_nwb
from vbgui.io.phy import is_phy_folder, read_phy_folder
from vbgui.io.pillow_lab import is_pillow_folder, read_pillow_folder
from vbgui.io.recording import Recording, RecordingFile

EXTENSIONS = (".npz", ".mat", ".csv", ".tsv", ".nwb")
SHIPPED_RECORDINGS_DIR = Path(__file__).resolve().parent.parent / "resources" / "recordings"
FILE_FILTER = "Recordings (*.npz *.mat *.csv *.tsv *.nwb)"


@dataclass(frozen=True)
class LoadOptions:
    """How to read a file whose names differ from the defaults.

    ``variables`` maps a role (counts, response, stimulus, dt, spike_times,
    duration, time, unit_names) to the variable or column name in the file;
    ``dt`` is the bin width in seconds when the file does not say;
    ``keep_bad_units`` opens a file of several units in which some are
    unusable (their problems in ``RecordingFile.unit_problems``, raised when
    one is picked) instead of refusing it (a batch over units wants the first,
    a user picking one unit the second).
    """

    variables: dict[str, str] = field(default_factory=dict)
    dt: float | None = None
    keep_bad_units: bool = False
    stimulus_path: str | None = None


# What each shipped recording is, in one line (the window's File > Open sample recording says it).
SHIPPED_RECORDING_NOTES = {
    "grasshopper-receptor-1": "a grasshopper auditory receptor neuron, 10 s at 1 ms (Rokem et al. 2006)",
    "grasshopper-receptor-2": "a second grasshopper auditory receptor neuron, 10 s at 1 ms (Rokem et al. 2006)",
    "synthetic-poisson": "one simulated unit with a known filter and spike history, 60,000 bins of 5 ms",
    "coupled-population": "20 simulated units with known couplings, 50,000 bins of 5 ms (Fit all units, "
                          "coupling lags)",
    "synthetic-poisson-lds": "30 simulated units driven by 3 known latents, 3000 bins of 10 ms (the poisson-lds "
                             "preset)",
}


def shipped_recordings() -> dict[str, Path]:
    """The recordings shipped with vbgui, by name (the file name without its extension)."""
    return {path.stem: path for path in sorted(SHIPPED_RECORDINGS_DIR.iterdir())
            if path.suffix.lower() in EXTENSIONS} if SHIPPED_RECORDINGS_DIR.is_dir() else {}


def resolve_recording(name_or_path: str | Path) -> Path:
    """A path as given when it exists, else the shipped recording of that name; raises RecordingError if neither."""
    path = Path(name_or_path)
    if path.exists():
        return path
    shipped = shipped_recordings()
    if str(name_or_path) in shipped:
        return shipped[str(name_or_path)]
    raise RecordingError(f"{path}: no such file, and not a shipped recording (shipped: {', '.join(shipped)}; "
                         "'vbgui recordings' lists them)")


def read_recording_file(path: str | Path, options: LoadOptions | None = None) -> RecordingFile:
    """Read a recording file or folder, or a shipped recording by name, as a :class:`RecordingFile`.

    A unit with unusable data makes the whole file refused unless ``options.keep_bad_units``.
    """
    options = options or LoadOptions()
    recording = _read_any(resolve_recording(path), options)
    if recording.unit_problems and not options.keep_bad_units:
        raise RecordingError(next(iter(recording.unit_problems.values())))
    return recording


def _read_any(path: Path, options: LoadOptions) -> RecordingFile:
    """The loader the path's layout or extension calls for."""
    if options.dt is not None and not options.dt > 0:
        raise RecordingError(f"{path}: dt must be a positive number of seconds, got {options.dt!r}")
    if is_phy_folder(path):
        return read_phy_folder(path, options.dt, options.stimulus_path, options.variables)
    if options.stimulus_path is not None:
        raise RecordingError(f"{options.stimulus_path}: a separate stimulus file goes with a Kilosort/phy folder "
                             f"only; {path} is not one")
    if is_pillow_folder(path):
        return read_pillow_folder(path)
    suffix = path.suffix.lower()
    if path.is_dir():
        raise RecordingError(f"{path}: a folder, but neither a Kilosort/phy output folder (spike_times.npy, "
                             "spike_clusters.npy, params.py, cluster_group.tsv) nor the Pillow lab tutorial "
                             "layout (Stim.mat, stimtimes.mat, SpTimes.mat)")
    if suffix == ".npz":
        if options.variables:
            raise RecordingError(f"{path}: .npz recordings use the standard array names; no remapping")
        return read_npz(path)
    if suffix == ".mat":
        return read_mat(path, options.variables, options.dt)
    if suffix in (".csv", ".tsv"):
        return read_delimited(path, options.variables, options.dt)
    if suffix == ".nwb":
        return read_nwb(path, options.variables, options.dt)
    raise RecordingError(f"{path}: unknown recording format '{suffix or 'no extension'}'; "
                         f"vbgui reads {', '.join(EXTENSIONS)}")


def load_recording(path: str | Path, unit: str | int | None = None,
                   options: LoadOptions | None = None) -> Recording:
    """Read ``path`` and pick one unit (by name or index; the first when None)."""
    return read_recording_file(path, options).unit(unit)
