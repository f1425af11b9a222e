"""What a recording file holds, by name, so the user can say which variable plays which role.

Qt-free.  MATLAB v5 files are listed with ``scipy.io.whosmat``, v7.3 (HDF5)
files with h5py, CSV/TSV files by their header row.
"""
from __future__ import annotations

import csv
from pathlib import Path

from vbgui.io import delimited, matlab

REMAPPABLE = {".mat": matlab.ROLES, ".csv": delimited.ROLES, ".tsv": delimited.ROLES}


def roles_for(path: str | Path) -> tuple[str, ...]:
    """The roles a file of this format can have remapped (empty when the format takes no remapping)."""
    return REMAPPABLE.get(Path(path).suffix.lower(), ())


def _mat_names(path: Path) -> list[str]:
    import scipy.io

    try:
        return [name for name, _shape, _kind in scipy.io.whosmat(str(path))]
    except (NotImplementedError, ValueError):  # v7.3 files are HDF5
        import h5py

        with h5py.File(path, "r") as handle:
            return [name for name in handle.keys() if not name.startswith("#")]


def _header_names(path: Path) -> list[str]:
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    with open(path, newline="", encoding="utf-8") as handle:
        row = next(csv.reader(handle, delimiter=delimiter), [])
    return [cell.strip() for cell in row if cell.strip()]


def file_variables(path: str | Path) -> list[str]:
    """The variable (or column) names in ``path``; empty when it cannot be read or takes no remapping."""
    path = Path(path)
    suffix = path.suffix.lower()
    try:
        if suffix == ".mat":
            return _mat_names(path)
        if suffix in (".csv", ".tsv"):
            return _header_names(path)
    except Exception:  # noqa: BLE001 - an unreadable file: the loader's own message says why
        return []
    return []
