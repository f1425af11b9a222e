"""Open a single ``.npy`` array memory-mapped, after checking its header; never a pickle.

The header is read first: a pickle, an object dtype, a shape the file does
not hold, or a layout other than the one asked for is refused before
:func:`numpy.load` sees the file.  The array is then memory-mapped
(``mmap_mode="r"``, ``allow_pickle=False``): nothing is read into memory
until a slice of it is used, so a spike array of 1e8 entries costs no RAM.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from vbgui.errors import RecordingError

NPY_MAGIC = b"\x93NUMPY"
PICKLE_START = b"\x80"


def _read_header(path: Path) -> tuple[tuple[int, ...], bool, np.dtype, int]:
    """(shape, fortran_order, dtype, header bytes) of the .npy file at ``path``; RecordingError for anything else."""
    try:
        with open(path, "rb") as handle:
            start = handle.read(len(NPY_MAGIC))
            if start.startswith(PICKLE_START):
                raise RecordingError(f"{path}: a Python pickle, not a .npy array; pickled data are refused "
                                     "because vbgui never unpickles")
            if start != NPY_MAGIC:
                raise RecordingError(f"{path}: not a .npy array (no NumPy header)")
            handle.seek(0)
            version = np.lib.format.read_magic(handle)
            if version == (1, 0):
                shape, fortran_order, dtype = np.lib.format.read_array_header_1_0(handle)
            elif version == (2, 0):
                shape, fortran_order, dtype = np.lib.format.read_array_header_2_0(handle)
            else:
                raise RecordingError(f"{path}: unsupported .npy version {version[0]}.{version[1]}")
            return shape, fortran_order, dtype, handle.tell()
    except RecordingError:
        raise
    except Exception as exc:  # noqa: BLE001 - untrusted bytes: numpy's header parser raises many types
        raise RecordingError(f"{path}: not a readable .npy array ({exc.__class__.__name__}: {exc})") from None


def open_vector(path: str | Path, what: str, kinds: str = "iu") -> np.ndarray:
    """The vector in the .npy file ``path``, memory-mapped read-only, of shape (N,) (a stored (N, 1) is flattened).

    ``what`` says what the array holds (for messages); ``kinds`` are the
    allowed dtype kinds (numpy's ``dtype.kind`` letters: 'i' signed and 'u'
    unsigned integers by default).  Raises :class:`RecordingError` naming the
    file for a missing or unreadable file, a pickle or object array, another
    dtype, another shape, an empty array, or a header promising more bytes
    than the file holds.
    """
    path = Path(path)
    if not path.is_file():
        raise RecordingError(f"{path}: no such file ({what})")
    shape, _, dtype, header_bytes = _read_header(path)
    if dtype.hasobject:
        raise RecordingError(f"{path}: an object array; object arrays are refused because vbgui never unpickles "
                             f"(save {what} as plain integers)")
    if dtype.kind not in kinds or dtype.kind == "b":
        raise RecordingError(f"{path}: dtype {dtype}, but {what} must be whole numbers stored as integers")
    if not (len(shape) == 1 or (len(shape) == 2 and shape[1] == 1)):
        raise RecordingError(f"{path}: shape {shape}, but {what} must be a vector (N,) or (N, 1)")
    length = shape[0]
    if length == 0:
        raise RecordingError(f"{path}: holds no entries ({what})")
    declared = math.prod(shape) * dtype.itemsize
    held = path.stat().st_size - header_bytes
    if declared > held:
        raise RecordingError(f"{path}: its header claims shape {shape} ({declared} bytes) but the file holds "
                             f"{max(held, 0)} bytes of data (truncated?)")
    try:
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    except Exception as exc:  # noqa: BLE001 - untrusted bytes
        raise RecordingError(f"{path}: not a readable .npy array ({exc.__class__.__name__}: {exc})") from None
    return array.reshape(length)  # (N, 1) is one column in either order: a view, no copy
