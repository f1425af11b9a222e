"""Read and write recordings as NumPy ``.npz`` archives, never with pickles.

Arrays: ``counts`` (T,) integers or ``response`` (T,) floats, or (T, U) for
U units with optional ``unit_names`` (strings); ``stimulus`` (T,) or (T, K);
``dt`` (seconds per bin, a scalar); optionally ``design`` (T, D); optionally
``truth_names`` (strings) and ``truth_weights`` (floats), the ground truth of
a synthetic recording, with optionally ``truth_units`` (strings, one per
entry): the unit an entry belongs to, or "" for an entry shared by every unit
(a simulated population, whose units have their own weights); optionally
``trial_start`` (whole numbers): the bin at which each trial of a recording of
several trials begins, counted from 0 (:mod:`vbgui.io.trials`).
"""
from __future__ import annotations

import math
import zipfile
from pathlib import Path
from typing import Iterable

import numpy as np

from vbgui.errors import RecordingError
from vbgui.io.limits import check_memory
from vbgui.io.recording import Recording, RecordingFile
from vbgui.io.safe_write import write_file
from vbgui.io.trials import TRIAL_START_NAME

KNOWN_ARRAYS = ("counts", "response", "unit_names", "stimulus", "dt", "design", "truth_names", "truth_weights",
                "truth_units", TRIAL_START_NAME)


def _numeric(source: str, name: str, array: np.ndarray) -> np.ndarray:
    if array.dtype.kind not in "biuf":
        raise RecordingError(f"{source}: '{name}' must be numeric, got dtype {array.dtype}")
    return array


def _as_columns(source: str, name: str, array: np.ndarray) -> np.ndarray:
    array = _numeric(source, name, array)
    if array.ndim == 1:
        array = array[:, None]
    if array.ndim != 2:
        raise RecordingError(f"{source}: '{name}' must be (T,) or (T, K), got shape {array.shape}")
    return np.ascontiguousarray(array, dtype=np.float64)


def not_an_archive_error(source: str, path: Path) -> RecordingError:
    """Say what a file that is not a zip archive is, without numpy's advice to unpickle it."""
    with open(path, "rb") as handle:
        start = handle.read(8)
    if start.startswith(b"\x80"):
        return RecordingError(f"{source}: a Python pickle, not a .npz archive; pickled and object data are "
                              "refused because vbgui never unpickles (save plain numeric arrays with numpy.savez)")
    if start.startswith(b"\x93NUMPY"):
        return RecordingError(f"{source}: a single .npy array, not a .npz archive (save with numpy.savez)")
    return RecordingError(f"{source}: not a readable .npz archive (not a zip of .npy arrays as numpy.savez writes)")


def _member_bytes(source: str, archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> tuple[int, int]:
    """(bytes, elements) of the member's array, from its .npy header; refuses object arrays and false sizes."""
    name = info.filename[:-4]
    with archive.open(info) as member:
        version = np.lib.format.read_magic(member)
        if version == (1, 0):
            shape, _, dtype = np.lib.format.read_array_header_1_0(member)
        elif version == (2, 0):
            shape, _, dtype = np.lib.format.read_array_header_2_0(member)
        else:
            raise ValueError(f"'{name}' has an unsupported .npy version {version}")
        header_size = member.tell()
    if dtype.hasobject:
        raise RecordingError(f"{source}: '{name}' is an object array; object arrays are refused because vbgui "
                             "never unpickles (save plain numeric arrays)")
    size = math.prod(shape) * dtype.itemsize
    if size > info.file_size - header_size:
        raise RecordingError(f"{source}: '{name}' claims shape {shape} ({size} bytes) but the archive holds "
                             f"{max(info.file_size - header_size, 0)} bytes of it")
    return size, math.prod(shape)


def check_npz_members(source: str, archive: zipfile.ZipFile, names: Iterable[str] = KNOWN_ARRAYS) -> None:
    """Check the headers of the members ``names``, and that reading them (with a float64 copy) fits the
    memory budget."""
    names = set(names)
    needed = 0
    for info in archive.infolist():
        if info.filename.endswith(".npy") and info.filename[:-4] in names:
            size, elements = _member_bytes(source, archive, info)
            needed += size + 8 * elements  # the array as stored and its float64 copy
    check_memory(source, "reading its arrays", needed)


def read_npz(path: str | Path) -> RecordingFile:
    """Read a recording file; any problem raises :class:`RecordingError` naming the file and the array.

    Member headers are read first: object arrays are refused without being
    unpickled, and sizes are checked against the memory budget before anything is allocated.
    """
    path = Path(path)
    source = str(path)
    if not path.is_file():
        raise RecordingError(f"{source}: no such file")
    if not zipfile.is_zipfile(path):
        raise not_an_archive_error(source, path)
    try:
        with zipfile.ZipFile(path) as archive:
            check_npz_members(source, archive)
        with np.load(path, allow_pickle=False) as archive:
            names = set(archive.files)
            arrays = {}
            for name in names & set(KNOWN_ARRAYS):
                arrays[name] = archive[name]
                if not isinstance(arrays[name], np.ndarray):
                    raise RecordingError(f"{source}: '{name}' is not a NumPy array (.npy) member")
    except RecordingError:
        raise
    except Exception as exc:  # noqa: BLE001 - untrusted bytes: zipfile, zlib and numpy raise many types
        raise RecordingError(f"{source}: not a readable .npz archive ({exc.__class__.__name__}: {exc})") from None
    unknown = sorted(names - set(KNOWN_ARRAYS))
    if unknown:
        raise RecordingError(f"{source}: unknown array(s) {', '.join(unknown)}; "
                             f"expected some of {', '.join(KNOWN_ARRAYS)}")
    if "counts" in arrays and "response" in arrays:
        raise RecordingError(f"{source}: holds both 'counts' and 'response'; keep one")
    response_name = "counts" if "counts" in arrays else "response"
    if response_name not in arrays:
        raise RecordingError(f"{source}: missing array 'counts' (spike counts) or 'response'")
    response = _numeric(source, response_name, arrays[response_name])
    if response.ndim == 2 and response.shape[0] == 1:
        response = response.reshape(-1)
    if response.ndim not in (1, 2):
        raise RecordingError(f"{source}: '{response_name}' must be (T,) or (T, units), got shape {response.shape}")
    n_units = 1 if response.ndim == 1 else response.shape[1]
    unit_names = tuple(f"unit {i}" for i in range(n_units))
    if "unit_names" in arrays:
        names = arrays["unit_names"]
        if names.dtype.kind != "U" or names.shape != (n_units,):
            raise RecordingError(f"{source}: 'unit_names' must be {n_units} strings, one per column of "
                                 f"'{response_name}'")
        unit_names = tuple(str(n) for n in names)
    if "dt" not in arrays:
        raise RecordingError(f"{source}: missing array 'dt' (seconds per bin)")
    dt_array = _numeric(source, "dt", arrays["dt"])
    if dt_array.size != 1:
        raise RecordingError(f"{source}: 'dt' must be a single number, got shape {dt_array.shape}")
    truth: dict[str, float] = {}
    unit_truth: dict[str, dict[str, float]] = {}
    if ("truth_names" in arrays) != ("truth_weights" in arrays):
        raise RecordingError(f"{source}: 'truth_names' and 'truth_weights' must come together")
    if "truth_names" in arrays:
        names_array, weights = arrays["truth_names"], _numeric(source, "truth_weights", arrays["truth_weights"])
        if names_array.dtype.kind != "U" or names_array.shape != weights.shape or names_array.ndim != 1:
            raise RecordingError(f"{source}: 'truth_names' (strings) and 'truth_weights' must be vectors "
                                 "of the same length")
        owners = arrays.get("truth_units", np.full(names_array.shape, "", dtype=str))
        if owners.dtype.kind != "U" or owners.shape != names_array.shape:
            raise RecordingError(f"{source}: 'truth_units' must be strings, one per entry of 'truth_names'")
        for owner, name, weight in zip(owners, names_array, weights):
            (unit_truth.setdefault(str(owner), {}) if owner else truth)[str(name)] = float(weight)
    elif "truth_units" in arrays:
        raise RecordingError(f"{source}: 'truth_units' needs 'truth_names' and 'truth_weights'")
    return RecordingFile(
        responses=response,
        unit_names=unit_names,
        dt=float(dt_array.reshape(-1)[0]),
        source=source,
        stimulus=_as_columns(source, "stimulus", arrays["stimulus"]) if "stimulus" in arrays else None,
        design=_as_columns(source, "design", arrays["design"]) if "design" in arrays else None,
        truth=truth,
        response_name=response_name,
        unit_truth=unit_truth,
        trial_starts=arrays.get(TRIAL_START_NAME),
    )


def save_npz(recording: Recording, path: str | Path, *, force: bool = False) -> None:
    """Write ``recording`` to ``path`` atomically (a complete file or none); an existing file is replaced
    only with ``force`` (OutputFileError otherwise)."""
    path = Path(path)
    arrays: dict[str, np.ndarray] = {recording.response_name: recording.response, "dt": np.array(recording.dt)}
    if recording.stimulus is not None:
        arrays["stimulus"] = recording.stimulus
    if recording.design is not None:
        arrays["design"] = recording.design
    if recording.truth:
        arrays["truth_names"] = np.array(list(recording.truth), dtype=str)
        arrays["truth_weights"] = np.array(list(recording.truth.values()), dtype=float)
    write_file(path, lambda handle: np.savez_compressed(handle, **arrays), force=force)


def save_units_npz(recording: RecordingFile, path: str | Path, *, force: bool = False) -> None:
    """Write a recording of several units (responses (T, U) with ``unit_names``) as :func:`save_npz` does."""
    arrays: dict[str, np.ndarray] = {recording.response_name: recording.responses, "dt": np.array(recording.dt),
                                     "unit_names": np.array(recording.unit_names, dtype=str)}
    for name in ("stimulus", "design"):
        if getattr(recording, name) is not None:
            arrays[name] = getattr(recording, name)
    if recording.trial_starts is not None:
        arrays[TRIAL_START_NAME] = recording.trial_starts
    entries = [("", name, weight) for name, weight in recording.truth.items()]
    entries += [(unit, name, weight) for unit, truth in recording.unit_truth.items() for name, weight in truth.items()]
    if entries:
        arrays["truth_units"] = np.array([owner for owner, _, _ in entries], dtype=str)
        arrays["truth_names"] = np.array([name for _, name, _ in entries], dtype=str)
        arrays["truth_weights"] = np.array([weight for _, _, weight in entries], dtype=float)
    write_file(Path(path), lambda handle: np.savez_compressed(handle, **arrays), force=force)
