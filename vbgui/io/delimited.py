"""Recordings from CSV/TSV files: a header row, one row per bin.

Columns are chosen by name (``variables={"counts": "spikes", "stimulus": "light,sound", "time": "t"}``,
several names separated by commas).  Defaults: counts = the column 'counts' or
every column whose name starts with 'counts' (one unit each; 'response' for a
continuous response), stimulus = every column whose name starts with 'stim',
time = a column 'time' or 't' (seconds).  The bin width is the (uniform)
spacing of the time column, or ``dt`` given to the loader.
"""
from __future__ import annotations

import csv
import warnings
from pathlib import Path
from typing import Mapping

import numpy as np

from vbgui.errors import NamingError, RecordingError
from vbgui.io.limits import check_memory
from vbgui.io.recording import RecordingFile

ROLES = ("counts", "response", "stimulus", "time")


def read_header(path: Path, delimiter: str) -> list[str]:
    """The stripped names of the header row; RecordingError for an unreadable, empty or repeating header."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:  # a byte-order mark is not a name
            row = next(csv.reader(handle, delimiter=delimiter), None)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise RecordingError(f"{path}: cannot read the header row ({exc.__class__.__name__}: {exc})") from None
    if not row or not any(cell.strip() for cell in row):
        raise RecordingError(f"{path}: empty file (expected a header row naming the columns)")
    names = [cell.strip() for cell in row]
    if len(set(names)) != len(names):
        raise RecordingError(f"{path}: the header names a column twice")
    return names


def _pick(path: Path, header: list[str], requested: str | None, default: list[str], role: str) -> list[int]:
    if requested is None:
        return [header.index(n) for n in default]
    wanted = [n.strip() for n in requested.split(",") if n.strip()]
    missing = [n for n in wanted if n not in header]
    if missing:
        raise NamingError(f"{path}: no column '{missing[0]}' (for {role}); columns: {', '.join(header)}")
    return [header.index(n) for n in wanted]


def read_delimited(path: str | Path, variables: Mapping[str, str] | None = None,
                   dt: float | None = None) -> RecordingFile:
    """Read a recording from a .csv or .tsv file (see the module docstring)."""
    path = Path(path)
    if not path.is_file():
        raise RecordingError(f"{path}: no such file")
    variables = dict(variables or {})
    unknown = set(variables) - set(ROLES)
    if unknown:
        raise RecordingError(f"{path}: unknown column role '{sorted(unknown)[0]}' (roles: {', '.join(ROLES)})")
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    # a value takes at least 2 characters ("1,"), and becomes 8 bytes, once parsed and once kept as float64
    check_memory(str(path), "parsing the table", path.stat().st_size / 2 * 8 * 2)
    header = read_header(path, delimiter)
    counts_default = [n for n in header if n == "counts" or n.startswith("counts")]
    response_role = "response" if ("response" in variables or ("response" in header and not counts_default)) \
        else "counts"
    response_default = counts_default if response_role == "counts" else ["response"]
    response_columns = _pick(path, header, variables.get(response_role), response_default, response_role)
    if not response_columns:
        raise NamingError(f"{path}: no 'counts' or 'response' column; columns: {', '.join(header)} "
                          "(pick the columns by role)")
    stimulus_columns = _pick(path, header, variables.get("stimulus"),
                             [n for n in header if n.startswith("stim")], "stimulus")
    time_default = [n for n in header if n in ("time", "t")][:1]
    time_columns = _pick(path, header, variables.get("time"), time_default, "time")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "input contained no data": reported below
            data = np.loadtxt(path, delimiter=delimiter, skiprows=1, ndmin=2, encoding="utf-8-sig",
                              usecols=sorted(set(response_columns + stimulus_columns + time_columns)))
    except (ValueError, OSError, UnicodeDecodeError) as exc:
        raise RecordingError(f"{path}: not a table of numbers under the header ({exc})") from None
    if data.shape[0] == 0:
        raise RecordingError(f"{path}: the header has no rows of data under it")
    position = {c: i for i, c in enumerate(sorted(set(response_columns + stimulus_columns + time_columns)))}
    if time_columns:
        times = data[:, position[time_columns[0]]]
        steps = np.diff(times)
        if times.size < 2 or not np.all(np.isfinite(steps)) or np.any(steps <= 0):
            raise RecordingError(f"{path}: column '{header[time_columns[0]]}' must increase from row to row")
        step = float(np.median(steps))
        if np.max(np.abs(steps - step)) > 1e-6 * step + 1e-12:
            raise RecordingError(f"{path}: column '{header[time_columns[0]]}' is not evenly spaced; "
                                 "resample to uniform bins first")
        dt = step
    elif dt is None:
        raise NamingError(f"{path}: no time column ('time' or 't'); give the bin width dt")
    responses = data[:, [position[c] for c in response_columns]]
    stimulus = data[:, [position[c] for c in stimulus_columns]] if stimulus_columns else None
    names = tuple(header[c] for c in response_columns)
    return RecordingFile(responses=responses, unit_names=names, dt=float(dt), source=str(path),
                         stimulus=stimulus, response_name=response_role)
