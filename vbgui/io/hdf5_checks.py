"""Check an HDF5 file (MATLAB v7.3, NWB) before anything in it is read.

An HDF5 file can make a reader fetch bytes from other files: external links
to objects in another file, datasets whose storage is an external raw file,
virtual datasets mapped onto other files.  A recording must hold its own data,
so each of these is refused.  The declared shapes of all datasets are summed
and checked against the memory budget, so a small file that claims a huge
(compressed or unallocated) dataset is refused before it is read.
"""
from __future__ import annotations

import math
from pathlib import Path

from vbgui.errors import RecordingError
from vbgui.io.limits import check_memory

MAX_OBJECTS = 100_000  # groups and datasets walked at most; a recording has a handful


def declared_bytes(dataset) -> int:
    """Bytes a dataset's shape and element type declare (what reading all of it allocates)."""
    shape = dataset.shape or ()
    return math.prod(shape) * dataset.dtype.itemsize


def check_hdf5_file(path: str | Path, source: str, kind: str) -> None:
    """Raise RecordingError naming ``source`` for external links, external or virtual storage, or
    (MemoryLimitError) datasets whose declared sizes exceed the memory budget; a file h5py cannot
    walk is "not a readable ``kind`` file"."""
    try:
        _walk(path, source)
    except RecordingError:
        raise
    except Exception as exc:  # noqa: BLE001 - untrusted bytes: h5py raises many types
        raise RecordingError(f"{source}: not a readable {kind} file ({exc.__class__.__name__}: {exc})") from None


def _walk(path: str | Path, source: str) -> None:
    import h5py

    total = 0
    seen: set[int] = set()
    with h5py.File(path, "r") as handle:
        pending = [handle]
        while pending:
            group = pending.pop()
            for name in group:
                link = group.get(name, getlink=True)
                where = f"{group.name.rstrip('/')}/{name}"
                if isinstance(link, h5py.ExternalLink):
                    raise RecordingError(f"{source}: '{where}' is a link to another file ({link.filename}); "
                                         "vbgui reads only data held in the file itself")
                if isinstance(link, h5py.SoftLink):
                    continue  # its target is walked where it lives
                item = group.get(name)
                address = h5py.h5o.get_info(item.id).addr
                if address in seen:
                    continue
                seen.add(address)
                if len(seen) > MAX_OBJECTS:
                    raise RecordingError(f"{source}: more than {MAX_OBJECTS} objects; not a recording")
                if isinstance(item, h5py.Group):
                    pending.append(item)
                elif isinstance(item, h5py.Dataset):
                    if item.external:
                        raise RecordingError(f"{source}: '{where}' keeps its data in an external file; "
                                             "vbgui reads only data held in the file itself")
                    if item.is_virtual:
                        raise RecordingError(f"{source}: '{where}' is a virtual dataset mapped onto other "
                                             "files; vbgui reads only data held in the file itself")
                    total += declared_bytes(item)
    # read once as stored, once converted to float64 (at most 8 bytes per element, counted as the same again)
    check_memory(source, "reading its datasets", 2 * total)
