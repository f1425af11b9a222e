"""Recordings from MATLAB ``.mat`` files: v5 through scipy.io, v7.3 (HDF5) through h5py.

Variables (names can be remapped with ``variables={"counts": "myName", ...}``):

    counts or response   (T,) or (T, units), column or row vectors alike
    stimulus             (T,) or (T, K)
    dt                   seconds per bin (or give ``dt`` to the loader)
    spike_times          instead of counts: a vector of spike times in seconds,
                         or a cell array of them, one cell per unit
    duration             seconds, with spike_times (default: up to the last spike)
    unit_names           optional cell array of strings
    trial_start          optional: the bin at which each trial begins, counted from 0
                         as in every file vbgui reads (:mod:`vbgui.io.trials`)

h5py stores MATLAB's column-major arrays transposed; :func:`_h5_value`
transposes them back so both versions give the same arrays.
"""
from __future__ import annotations

import struct
import zlib
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from vbgui.errors import NamingError, RecordingError
from vbgui.io.hdf5_checks import check_hdf5_file
from vbgui.io.limits import MemoryLimitError, check_memory, format_bytes, memory_budget
from vbgui.io.recording import RecordingFile
from vbgui.io.spike_times import bin_spike_times, check_binning_memory, n_bins_for
from vbgui.io.trials import TRIAL_START_NAME

ROLES = ("counts", "response", "stimulus", "dt", "spike_times", "duration", "unit_names")

# MAT v5 data element types and their sizes in bytes (MATLAB's "MAT-File Format", table 1-1);
# 14 = miMATRIX, 15 = miCOMPRESSED
V5_TYPE_SIZES = {1: 1, 2: 1, 3: 2, 4: 2, 5: 4, 6: 4, 7: 4, 9: 8, 12: 8, 13: 8, 14: 1, 15: 1, 16: 1, 17: 2, 18: 4}
V5_HEADER = 128
MX_CELL, MX_STRUCT, MX_OBJECT, MX_CHAR, MX_SPARSE = 1, 2, 3, 4, 5
MX_NUMERIC = set(range(6, 16))
COMPLEX_FLAG = 0x0800


def check_v5_structure(data: bytes, max_inflated: int | None = None) -> int:
    """Walk the tagged data elements of a MAT v5 file; raise ValueError at the first malformed one.

    Returns the total size of the compressed elements once inflated; raises
    :class:`MemoryLimitError` as soon as it passes ``max_inflated`` bytes (a zip
    bomb is never inflated in full).

    scipy.io's compiled reader trusts type codes, flags and sizes and can
    crash the process on a corrupt file (segmentation faults, found by
    fuzzing: a mutated type code, a complex flag without an imaginary part),
    so every element is checked before scipy sees the bytes: known types,
    sizes within their parent, compressed elements that inflate, and for
    every matrix the sub-elements its class and flags promise, with data
    sizes that match its dimensions.
    """
    if len(data) < V5_HEADER:
        raise ValueError("shorter than the 128-byte MAT header")
    endian = {b"IM": "<", b"MI": ">"}.get(data[126:128])
    if endian is None:
        raise ValueError("no MAT v5 endian indicator")
    total_inflated = 0
    for kind, body, size in _elements(data, V5_HEADER, len(data), endian, top_level=True):
        if kind == 15:
            allowed = 0 if max_inflated is None else max(max_inflated - total_inflated, 0) + 1
            try:
                inflater = zlib.decompressobj()
                inflated = inflater.decompress(data[body:body + size], allowed)
            except zlib.error as exc:
                raise ValueError(f"compressed element at byte {body - 8} does not inflate ({exc})") from None
            total_inflated += len(inflated)
            if max_inflated is not None and total_inflated > max_inflated:
                raise MemoryLimitError(f"its compressed variables inflate to more than {format_bytes(max_inflated)}, "
                                       "the memory limit (raise it with --memory-limit or VBGUI_MEMORY_LIMIT, "
                                       "e.g. 16G, if the machine has the memory)")
            for inner_kind, inner_body, inner_size in _elements(inflated, 0, len(inflated), endian, True):
                _check_matrix(inflated, inner_kind, inner_body, inner_size, endian, 0)
        else:
            _check_matrix(data, kind, body, size, endian, 0)
    return total_inflated


def _elements(data: bytes, start: int, stop: int, endian: str, top_level: bool = False) -> list[tuple[int, int, int]]:
    """The (type, body offset, size) of each tagged element in data[start:stop]."""
    found = []
    position = start
    while position < stop:
        if stop - position < 8:
            if not any(data[position:stop]):
                break  # padding
            raise ValueError(f"truncated element at byte {position}")
        first = struct.unpack(endian + "I", data[position:position + 4])[0]
        if first >> 16:  # small data element: type and size in 4 bytes, data in the next 4
            kind, size, body, length = first & 0xFFFF, first >> 16, position + 4, 8
            if size > 4:
                raise ValueError(f"small element of {size} bytes at byte {position}")
        else:
            kind, size = first, struct.unpack(endian + "I", data[position + 4:position + 8])[0]
            body = position + 8
            length = 8 + size + (0 if kind == 15 else (-size) % 8)
        if kind not in V5_TYPE_SIZES or (kind == 15 and not top_level):
            raise ValueError(f"unknown data type {kind} at byte {position}")
        if body + size > stop:
            raise ValueError(f"element at byte {position} runs past its end")
        found.append((kind, body, size))
        position += length
    return found


def _check_matrix(data: bytes, kind: int, body: int, size: int, endian: str, depth: int) -> None:
    """Check one miMATRIX element against what its class and flags promise."""
    if kind != 14:
        raise ValueError(f"expected a matrix at byte {body - 8}, found data type {kind}")
    if size == 0:
        return  # an empty matrix
    if depth > 32:
        raise ValueError("matrices nested too deeply")
    parts = _elements(data, body, body + size, endian)
    if len(parts) < 3 or parts[0][0] != 6 or parts[0][2] != 8 or parts[1][0] != 5 or parts[2][0] not in (1, 2):
        raise ValueError(f"matrix at byte {body - 8} lacks its flags, dimensions or name")
    flags = struct.unpack(endian + "I", data[parts[0][1]:parts[0][1] + 4])[0]
    matrix_class = flags & 0xFF
    dims = struct.unpack(endian + f"{parts[1][2] // 4}i", data[parts[1][1]:parts[1][1] + parts[1][2] // 4 * 4])
    if len(dims) < 2 or min(dims) < 0:
        raise ValueError(f"matrix at byte {body - 8} has bad dimensions {dims}")
    count = int(np.prod(dims, dtype=np.int64))
    rest = parts[3:]
    if matrix_class in MX_NUMERIC or matrix_class == MX_CHAR:
        expected = 2 if flags & COMPLEX_FLAG else 1
        if len(rest) != expected:
            raise ValueError(f"matrix at byte {body - 8} has {len(rest)} data parts, its flags promise {expected}")
        for part_kind, _, part_size in rest:
            utf8_text = matrix_class == MX_CHAR and part_kind == 16 and part_size >= count  # multi-byte chars
            if part_kind in (14, 15) or (part_size != count * V5_TYPE_SIZES[part_kind] and not utf8_text):
                raise ValueError(f"matrix at byte {body - 8}: data do not match its dimensions {dims}")
    elif matrix_class == MX_CELL:
        if len(rest) != count:
            raise ValueError(f"cell array at byte {body - 8} has {len(rest)} cells for dimensions {dims}")
        for part in rest:
            _check_matrix(data, *part, endian, depth + 1)
    elif matrix_class == MX_STRUCT:
        if len(rest) < 2 or rest[0][0] != 5 or rest[0][2] != 4 or rest[1][0] != 1:
            raise ValueError(f"struct at byte {body - 8} lacks its field names")
        name_length = struct.unpack(endian + "i", data[rest[0][1]:rest[0][1] + 4])[0]
        if name_length <= 0 or rest[1][2] % name_length:
            raise ValueError(f"struct at byte {body - 8} has bad field names")
        fields = rest[2:]
        if len(fields) != count * (rest[1][2] // name_length):
            raise ValueError(f"struct at byte {body - 8} has {len(fields)} field values for dimensions {dims}")
        for part in fields:
            _check_matrix(data, *part, endian, depth + 1)
    else:
        raise ValueError(f"matrix at byte {body - 8} has an unsupported class {matrix_class} (sparse or object)")


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


def read_variables(path: Path) -> dict[str, Any]:
    """All variables of a .mat file (v5 or v7.3) by name."""
    import scipy.io

    import h5py

    source = str(path)
    if not h5py.is_hdf5(path):
        file_size = path.stat().st_size
        check_memory(source, "reading the file", 2 * file_size)
        try:
            # The bytes are checked, dropped, and the file read again by scipy: parsing from the bytes in
            # memory instead doubled the peak memory (benchmarks/bench_loading.py: 2.00x against 1.03x).
            inflated = check_v5_structure(path.read_bytes(), max_inflated=memory_budget())
        except MemoryLimitError as exc:
            raise MemoryLimitError(f"{source}: {exc}") from None
        except Exception as exc:  # noqa: BLE001 - untrusted bytes
            raise RecordingError(f"{source}: not a readable MATLAB file ({exc.__class__.__name__}: {exc})") from None
        # scipy holds the file, then the arrays: every array's bytes are in the file or inflated from it
        check_memory(source, "reading its variables", file_size + 2 * inflated)
        try:
            return {k: v for k, v in scipy.io.loadmat(path, squeeze_me=False, chars_as_strings=True).items()
                    if not k.startswith("__")}
        except Exception as exc:  # noqa: BLE001 - untrusted bytes: scipy.io raises many types
            raise RecordingError(f"{source}: not a readable MATLAB file ({exc.__class__.__name__}: {exc})") from None
    check_hdf5_file(path, source, "MATLAB v7.3")  # MATLAB v7.3 is HDF5 inside
    try:
        with h5py.File(path, "r") as handle:
            return {name: _h5_value(handle, handle[name]) for name in handle if not name.startswith("#")}
    except RecordingError as exc:
        raise RecordingError(f"{source}: {exc}") from None
    except Exception as exc:  # noqa: BLE001
        raise RecordingError(f"{source}: not a readable MATLAB v7.3 file ({exc.__class__.__name__}: {exc})") from None


def cells(value: Any) -> list[Any]:
    """A MATLAB cell array (scipy: object ndarray; h5py: list) as a flat list; anything else as [value]."""
    if isinstance(value, list):
        return value
    if isinstance(value, np.ndarray) and value.dtype == object:
        return [v for v in value.T.reshape(-1)]
    return [value]


def numeric_array(source: str, name: str, value: Any) -> np.ndarray:
    """``value`` as a numeric ndarray, or RecordingError naming ``source`` and the variable ``name``."""
    array = np.asarray(value)
    if array.dtype.kind not in "biuf":
        raise RecordingError(f"{source}: '{name}' must be numeric, got {array.dtype} "
                             "(a cell array or struct where a matrix was expected?)")
    return array


def _vector_or_columns(source: str, name: str, value: Any) -> np.ndarray:
    """MATLAB vectors come as (1, T) or (T, 1); matrices as (T, K)."""
    array = numeric_array(source, name, value)
    if array.ndim == 2 and array.shape[0] == 1:
        array = array.reshape(-1)
    if array.ndim > 2:
        raise RecordingError(f"{source}: '{name}' must be a vector or a (T, K) matrix, got shape {array.shape}")
    return array


def _scalar(source: str, name: str, value: Any) -> float:
    array = numeric_array(source, name, value)
    if array.size != 1:
        raise RecordingError(f"{source}: '{name}' must be a single number, got shape {array.shape}")
    return float(array.reshape(-1)[0])


def _names(source: str, value: Any, n_units: int) -> tuple[str, ...]:
    names = []
    for cell in cells(value):
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
    found = read_variables(path)
    names = {role: (variables or {}).get(role, role) for role in ROLES}
    for role, name in (variables or {}).items():
        if role not in ROLES:
            raise RecordingError(f"{source}: unknown variable role '{role}' (roles: {', '.join(ROLES)})")
        if name not in found:
            raise NamingError(f"{source}: no variable '{name}' (for {role}); the file holds "
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
            raise NamingError(f"{source}: no variable '{names['dt']}' (seconds per bin); add it or give dt")
    elif get("spike_times") is not None:
        role = "counts"
        if dt is None:
            raise NamingError(f"{source}: spike times need a bin width: a variable '{names['dt']}' or dt")
        trains = [numeric_array(source, names["spike_times"], cell).reshape(-1)
                  for cell in cells(get("spike_times"))]
        if get("duration") is not None:
            n_bins = n_bins_for(_scalar(source, names["duration"], get("duration")), dt, source)
        elif stimulus is not None:
            n_bins = stimulus.shape[0]
        else:
            last = max((float(t.max()) for t in trains if t.size), default=dt)
            n_bins = n_bins_for(last, dt, source) + 1
        check_binning_memory(source, n_bins, len(trains))
        responses = np.column_stack([bin_spike_times(t, dt, n_bins, source, names["spike_times"]) for t in trains])
    else:
        raise NamingError(f"{source}: no variable 'counts', 'response' or 'spike_times'; the file holds "
                          f"{', '.join(sorted(found)) or 'nothing'} (pick the variables by role)")
    n_units = 1 if responses.ndim == 1 else responses.shape[1]
    unit_names = (_names(source, get("unit_names"), n_units) if get("unit_names") is not None
                  else tuple(f"unit {i}" for i in range(n_units)))
    trial_starts = found.get(TRIAL_START_NAME)
    if trial_starts is not None:
        trial_starts = numeric_array(source, TRIAL_START_NAME, trial_starts)
    return RecordingFile(responses=responses, unit_names=unit_names, dt=dt, source=source,
                         stimulus=stimulus, response_name=role, trial_starts=trial_starts)
