"""Recordings from MATLAB ``.mat`` files: v5 through scipy.io, v7.3 (HDF5) through h5py.

Variables (names can be remapped with ``variables={"counts": "myName", ...}``):

    counts or response   (T,) or (T, units), column or row vectors alike
    stimulus             (T,) or (T, K)
    dt                   seconds per bin (or give ``dt`` to the loader)
    spike_times          instead of counts: a vector of spike times in seconds,
                         or a cell array of them, one cell per unit
    duration             seconds, with spike_times (default: up to the last spike)
    unit_names           optional cell array of strings

h5py stores MATLAB's column-major arrays transposed; :func:`_h5_value`
transposes them back so both versions give the same arrays.
"""
from __future__ import annotations

import struct
import zlib
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from vbgui.errors import RecordingError
from vbgui.io.recording import RecordingFile
from vbgui.io.spike_times import bin_spike_times, n_bins_for

ROLES = ("counts", "response", "stimulus", "dt", "spike_times", "duration", "unit_names")

# MAT v5 data element types (MATLAB's "MAT-File Format", table 1-1); 14 = miMATRIX, 15 = miCOMPRESSED
V5_TYPES = {1, 2, 3, 4, 5, 6, 7, 9, 12, 13, 14, 15, 16, 17, 18}
V5_HEADER = 128


def check_v5_structure(data: bytes) -> None:
    """Walk the tagged data elements of a MAT v5 file; raise ValueError at the first malformed one.

    scipy.io's compiled reader trusts type codes and sizes and can crash the
    process on a corrupt file (a segmentation fault, seen with a mutated type
    code), so every element is checked before scipy sees the bytes: a known
    type, a size within its parent, compressed elements that inflate, and
    the same for the elements nested in every matrix.
    """
    if len(data) < V5_HEADER:
        raise ValueError("shorter than the 128-byte MAT header")
    endian = {b"IM": "<", b"MI": ">"}.get(data[126:128])
    if endian is None:
        raise ValueError("no MAT v5 endian indicator")
    _check_elements(data, V5_HEADER, len(data), endian, depth=0)


def _check_elements(data: bytes, start: int, stop: int, endian: str, depth: int) -> None:
    if depth > 32:
        raise ValueError("matrices nested too deeply")
    position = start
    while position < stop:
        if stop - position < 8 and depth > 0 and not any(data[position:stop]):
            return  # padding at the end of a nested matrix
        if stop - position < 4:
            raise ValueError(f"truncated element at byte {position}")
        first = struct.unpack(endian + "I", data[position:position + 4])[0]
        if first >> 16:  # small data element: type and size packed in 4 bytes, data in the next 4
            kind, size, body, length = first & 0xFFFF, first >> 16, position + 4, 8
            if size > 4:
                raise ValueError(f"small element of {size} bytes at byte {position}")
        else:
            if stop - position < 8:
                raise ValueError(f"truncated tag at byte {position}")
            kind, size = first, struct.unpack(endian + "I", data[position + 4:position + 8])[0]
            body = position + 8
            length = 8 + size + (0 if kind == 15 else (-size) % 8)
        if kind not in V5_TYPES:
            raise ValueError(f"unknown data type {kind} at byte {position}")
        if body + size > stop:
            raise ValueError(f"element at byte {position} runs past its end")
        if kind == 15:
            try:
                inflated = zlib.decompress(data[body:body + size])
            except zlib.error as exc:
                raise ValueError(f"compressed element at byte {position} does not inflate ({exc})") from None
            _check_elements(inflated, 0, len(inflated), endian, depth + 1)
        elif kind == 14:
            _check_elements(data, body, body + size, endian, depth + 1)
        position += length


def _h5_value(handle: Any, item: Any) -> Any:
    """A MATLAB v7.3 dataset as a numpy array, or a list for a cell array (object references)."""
    import h5py

    if isinstance(item, h5py.Group):
        raise RecordingError("structs are not supported; store plain arrays or cell arrays")
    data = item[()]
    matlab_class = item.attrs.get("MATLAB_class", b"")
    matlab_class = matlab_class.decode() if isinstance(matlab_class, bytes) else str(matlab_class)
    if data.dtype == h5py.ref_dtype or data.dtype.kind == "O":
        return [_h5_value(handle, handle[ref]) for ref in np.asarray(data).T.reshape(-1)]
    if matlab_class == "char":
        return "".join(chr(c) for c in np.asarray(data).reshape(-1))
    if item.attrs.get("MATLAB_empty", 0):
        return np.zeros(0)
    return np.asarray(data).T


def _read_variables(path: Path) -> dict[str, Any]:
    """All variables of a .mat file (v5 or v7.3) by name."""
    import scipy.io

    import h5py

    source = str(path)
    if not h5py.is_hdf5(path):
        try:
            check_v5_structure(path.read_bytes())
            return {k: v for k, v in scipy.io.loadmat(path, squeeze_me=False, chars_as_strings=True).items()
                    if not k.startswith("__")}
        except Exception as exc:  # noqa: BLE001 - untrusted bytes: scipy.io raises many types
            raise RecordingError(f"{source}: not a readable MATLAB file ({exc.__class__.__name__}: {exc})") from None
    try:  # MATLAB v7.3 is HDF5 inside
        with h5py.File(path, "r") as handle:
            return {name: _h5_value(handle, handle[name]) for name in handle if not name.startswith("#")}
    except RecordingError as exc:
        raise RecordingError(f"{source}: {exc}") from None
    except Exception as exc:  # noqa: BLE001
        raise RecordingError(f"{source}: not a readable MATLAB v7.3 file ({exc.__class__.__name__}: {exc})") from None


def _cells(value: Any) -> list[Any]:
    """A MATLAB cell array (scipy: object ndarray; h5py: list) as a flat list; anything else as [value]."""
    if isinstance(value, list):
        return value
    if isinstance(value, np.ndarray) and value.dtype == object:
        return [v for v in value.T.reshape(-1)]
    return [value]


def _numeric_array(source: str, name: str, value: Any) -> np.ndarray:
    array = np.asarray(value)
    if array.dtype.kind not in "biuf":
        raise RecordingError(f"{source}: '{name}' must be numeric, got {array.dtype} "
                             "(a cell array or struct where a matrix was expected?)")
    return array


def _vector_or_columns(source: str, name: str, value: Any) -> np.ndarray:
    """MATLAB vectors come as (1, T) or (T, 1); matrices as (T, K)."""
    array = _numeric_array(source, name, value)
    if array.ndim == 2 and array.shape[0] == 1:
        array = array.reshape(-1)
    if array.ndim > 2:
        raise RecordingError(f"{source}: '{name}' must be a vector or a (T, K) matrix, got shape {array.shape}")
    return array


def _scalar(source: str, name: str, value: Any) -> float:
    array = _numeric_array(source, name, value)
    if array.size != 1:
        raise RecordingError(f"{source}: '{name}' must be a single number, got shape {array.shape}")
    return float(array.reshape(-1)[0])


def _names(source: str, value: Any, n_units: int) -> tuple[str, ...]:
    names = []
    for cell in _cells(value):
        if isinstance(cell, np.ndarray) and cell.dtype.kind == "U":
            cell = "".join(cell.reshape(-1))
        if not isinstance(cell, str):
            raise RecordingError(f"{source}: 'unit_names' must be a cell array of strings")
        names.append(cell)
    if len(names) != n_units:
        raise RecordingError(f"{source}: 'unit_names' has {len(names)} names for {n_units} units")
    return tuple(names)


def read_mat(path: str | Path, variables: Mapping[str, str] | None = None, dt: float | None = None) -> RecordingFile:
    """Read a recording from a .mat file (see the module docstring for the variables)."""
    path = Path(path)
    source = str(path)
    if not path.is_file():
        raise RecordingError(f"{source}: no such file")
    found = _read_variables(path)
    names = {role: (variables or {}).get(role, role) for role in ROLES}
    for role, name in (variables or {}).items():
        if role not in ROLES:
            raise RecordingError(f"{source}: unknown variable role '{role}' (roles: {', '.join(ROLES)})")
        if name not in found:
            raise RecordingError(f"{source}: no variable '{name}' (for {role}); the file holds "
                                 f"{', '.join(sorted(found)) or 'nothing'}")

    def get(role: str) -> Any:
        return found.get(names[role])

    if get("dt") is not None:
        dt = _scalar(source, names["dt"], get("dt"))
    stimulus = None if get("stimulus") is None else _vector_or_columns(source, names["stimulus"], get("stimulus"))
    if get("counts") is not None or get("response") is not None:
        role = "counts" if get("counts") is not None else "response"
        responses = _vector_or_columns(source, names[role], get(role))
        if dt is None:
            raise RecordingError(f"{source}: no variable '{names['dt']}' (seconds per bin); add it or give dt")
    elif get("spike_times") is not None:
        role = "counts"
        if dt is None:
            raise RecordingError(f"{source}: spike times need a bin width: a variable '{names['dt']}' or dt")
        trains = [_numeric_array(source, names["spike_times"], cell).reshape(-1)
                  for cell in _cells(get("spike_times"))]
        if get("duration") is not None:
            n_bins = n_bins_for(_scalar(source, names["duration"], get("duration")), dt, source)
        elif stimulus is not None:
            n_bins = stimulus.shape[0]
        else:
            last = max((float(t.max()) for t in trains if t.size), default=dt)
            n_bins = n_bins_for(last, dt, source) + 1
        responses = np.column_stack([bin_spike_times(t, dt, n_bins, source, names["spike_times"]) for t in trains])
    else:
        raise RecordingError(f"{source}: no variable 'counts', 'response' or 'spike_times'; the file holds "
                             f"{', '.join(sorted(found)) or 'nothing'} (pick the variables by role)")
    n_units = 1 if responses.ndim == 1 else responses.shape[1]
    unit_names = (_names(source, get("unit_names"), n_units) if get("unit_names") is not None
                  else tuple(f"unit {i}" for i in range(n_units)))
    return RecordingFile(responses=responses, unit_names=unit_names, dt=dt, source=source,
                         stimulus=stimulus, response_name=role)
