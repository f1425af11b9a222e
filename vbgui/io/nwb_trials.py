"""An NWB file's trials table (``/intervals/trials``) as bin ranges of a recording.

The NWB standard stores each trial's ``start_time`` and ``stop_time`` in
seconds.  Bin k of width dt covers [k dt, (k + 1) dt) (:mod:`vbgui.io.spike_times`);
it belongs to a trial when its centre (k + 1/2) dt lies in the trial's
[start_time, stop_time), so a trial whose times fall on bin edges gets exactly
the bins between them, and two trials that share a boundary never share a bin.
The table is read with h5py before pynwb opens the file, so a table that is
missing a column or holds the wrong values is named instead of failing
somewhere inside pynwb.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from vbgui.errors import RecordingError
from vbgui.io.trials import MAX_TRIALS

TRIALS_TABLE = "/intervals/trials"
TIME_COLUMNS = ("start_time", "stop_time")


def read_trial_windows(path: str | Path, source: str) -> np.ndarray | None:
    """The trials of an NWB file as (start_time, stop_time) rows in seconds, or None when it has no trials table.

    Parameters
    ----------
    path : str or Path
        The ``.nwb`` file (already checked by :func:`vbgui.io.hdf5_checks.check_hdf5_file`).
    source : str
        The file, for messages.

    Returns
    -------
    ndarray of shape (n_trials, 2) or None
        Float64 start and stop times in file order, not yet checked (:func:`trial_bin_ranges` checks them).

    Raises
    ------
    RecordingError
        In one line naming ``source``: the table is not a group, lacks a column, a column is not a vector of
        numbers, the columns differ in length, the table is empty or holds more than MAX_TRIALS trials.
    """
    import h5py

    with h5py.File(path, "r") as handle:
        if TRIALS_TABLE not in handle:
            return None
        table = handle[TRIALS_TABLE]
        if not isinstance(table, h5py.Group):
            raise RecordingError(f"{source}: '{TRIALS_TABLE}' is not a table (an HDF5 group)")
        columns = [_time_column(table, name, source) for name in TIME_COLUMNS]
    if columns[0].size != columns[1].size:
        raise RecordingError(f"{source}: the trials table has {columns[0].size} start_time(s) but "
                             f"{columns[1].size} stop_time(s)")
    if columns[0].size == 0:
        raise RecordingError(f"{source}: the trials table '{TRIALS_TABLE}' holds no trials")
    return np.column_stack(columns)


def _time_column(table, name: str, source: str) -> np.ndarray:
    """One time column of the trials table as float64, checked for kind, shape and count before it is read."""
    import h5py

    where = f"{source}: '{TRIALS_TABLE}/{name}'"
    if name not in table:
        raise RecordingError(f"{source}: the trials table '{TRIALS_TABLE}' has no '{name}' column "
                             "(the NWB standard's trial times, in seconds)")
    column = table[name]
    if not isinstance(column, h5py.Dataset):
        raise RecordingError(f"{where} is not a dataset")
    if column.dtype.kind not in "iuf":
        raise RecordingError(f"{where} must hold numbers (seconds), got {column.dtype} values")
    if len(column.shape) != 1:
        raise RecordingError(f"{where} must be a vector (one time per trial), got shape {column.shape}")
    if column.shape[0] > MAX_TRIALS:
        raise RecordingError(f"{where} has {column.shape[0]} trials; at most {MAX_TRIALS} are read")
    return np.asarray(column[()], dtype=np.float64)


def trial_bin_ranges(windows: np.ndarray, dt: float, source: str) -> tuple[np.ndarray, np.ndarray]:
    """The bins of each trial: those whose centres lie in [start_time, stop_time).

    Parameters
    ----------
    windows : ndarray of shape (n_trials, 2)
        Start and stop times in seconds (:func:`read_trial_windows`).
    dt : float
        Bin width in seconds (positive).
    source : str
        The file, for messages.

    Returns
    -------
    first : ndarray of shape (n_trials,)
        The first bin of each trial (int64).
    end : ndarray of shape (n_trials,)
        One past the last bin of each trial (int64); end[i] <= first[i + 1].

    Raises
    ------
    RecordingError
        In one line naming ``source`` and the trial: a time that is NaN or Inf or before 0 s, a trial that does
        not stop after it starts, trials out of time order or overlapping, a trial that holds no bin, or times
        beyond any number of bins a recording can hold.
    """
    starts, stops = windows[:, 0], windows[:, 1]
    if not np.all(np.isfinite(windows)):
        index = int(np.flatnonzero(~np.isfinite(windows).all(axis=1))[0])
        raise RecordingError(f"{source}: trial {index} of the trials table has a start_time or stop_time that is "
                             "NaN or Inf")
    if np.any(starts < 0):
        index = int(np.flatnonzero(starts < 0)[0])
        raise RecordingError(f"{source}: trial {index} starts at {starts[index]:g} s, before the recording "
                             "(0 s)")
    if np.any(stops <= starts):
        index = int(np.flatnonzero(stops <= starts)[0])
        raise RecordingError(f"{source}: trial {index} stops at {stops[index]:g} s, not after it starts "
                             f"({starts[index]:g} s)")
    if np.any(starts[1:] < stops[:-1]):
        index = int(np.flatnonzero(starts[1:] < stops[:-1])[0]) + 1
        raise RecordingError(f"{source}: trial {index} starts at {starts[index]:g} s, before trial {index - 1} "
                             f"stops ({stops[index - 1]:g} s); trials must be in time order and must not overlap")
    if not stops[-1] / dt < 2 ** 53:
        raise RecordingError(f"{source}: trial {len(stops) - 1} stops at {stops[-1]:g} s, {stops[-1] / dt:.3g} "
                             f"bins of {dt:g} s: more than any recording can hold; check the trial times")
    first = np.ceil(starts / dt - 0.5).astype(np.int64)
    end = np.ceil(stops / dt - 0.5).astype(np.int64)
    if np.any(end <= first):
        index = int(np.flatnonzero(end <= first)[0])
        raise RecordingError(f"{source}: trial {index} ({starts[index]:g} to {stops[index]:g} s) holds no bin "
                             f"of {dt:g} s (no bin centre lies in it)")
    return first, end


def trial_bin_index(first: np.ndarray, end: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The bins the trials keep, in trial order, and where each trial begins among them.

    Parameters
    ----------
    first, end : ndarray of shape (n_trials,)
        From :func:`trial_bin_ranges`.

    Returns
    -------
    kept : ndarray of shape (n_kept,)
        The recording's bin indices of every trial, one trial after the other (int64).
    trial_starts : ndarray of shape (n_trials,)
        The position in ``kept`` at which each trial begins (0 first), the ``trial_start`` convention of
        :mod:`vbgui.io.trials`.
    """
    lengths = end - first
    trial_starts = np.concatenate(([0], np.cumsum(lengths)[:-1])).astype(np.int64)
    kept = np.repeat(first - trial_starts, lengths) + np.arange(int(lengths.sum()), dtype=np.int64)
    return kept, trial_starts
