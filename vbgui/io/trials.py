"""Trials in a recording file: the ``trial_start`` array and its checks.

Convention (``.npz`` and ``.mat`` alike): the trials are stored one after the
other in the recording's T bins (``counts``/``response`` and ``stimulus``
concatenated along time), and ``trial_start`` (a vector of whole numbers)
gives the bin at which each trial begins, counted from 0 (also in a ``.mat``
file).  Trial i holds bins trial_start[i] .. trial_start[i+1] - 1, the last
trial runs to the end, so trial_start[0] must be 0 and the starts strictly
increasing and below T.  Without ``trial_start`` the recording is one trial.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from vbgui.errors import RecordingError

TRIAL_START_NAME = "trial_start"
MAX_TRIALS = 100_000  # each trial is a path of its own, held and stepped separately: more is not an experiment


def checked_trial_starts(source: str, value: Any, n_bins: int) -> np.ndarray:
    """The trial starts of a file as int64, or RecordingError in one line naming ``source`` and the problem.

    Parameters
    ----------
    source : str
        The file, for messages.
    value : array_like
        What the file holds as ``trial_start``.
    n_bins : int
        T, the recording's number of bins.

    Returns
    -------
    ndarray of shape (n_trials,)
        Whole-number bin indices: 0 first, strictly increasing, each below T.
    """
    where = f"{source}: '{TRIAL_START_NAME}'"
    array = np.asarray(value)
    if array.dtype.kind not in "iuf":
        raise RecordingError(f"{where} must hold whole numbers (bin indices), got {array.dtype} values")
    if array.ndim == 2 and 1 in array.shape:  # MATLAB stores a vector as a 1 x n or n x 1 matrix
        array = array.reshape(-1)
    if array.ndim != 1 or array.size == 0:
        raise RecordingError(f"{where} must be a non-empty vector of bin indices, got shape {array.shape}")
    if array.size > MAX_TRIALS:
        raise RecordingError(f"{where} has {array.size} trials; at most {MAX_TRIALS} are read")
    if array.size > n_bins:
        raise RecordingError(f"{where} has {array.size} trials for {n_bins} bins")
    if array.dtype.kind == "f" and not np.all(np.isfinite(array)):
        raise RecordingError(f"{where} contains NaN or Inf")
    outside = (array < 0) | (array >= n_bins)
    if np.any(outside):
        raise RecordingError(f"{where} holds {array[outside][0].item()!r}, out of range: a trial starts at a bin "
                             f"from 0 to {n_bins - 1}")
    fractional = array != np.round(array)
    if array.dtype.kind == "f" and np.any(fractional):
        raise RecordingError(f"{where} must hold whole numbers (bin indices), got {array[fractional][0].item()!r}")
    starts = array.astype(np.int64)
    if starts[0] != 0:
        raise RecordingError(f"{where} must begin with 0 (the first trial starts at the first bin; bins count from "
                             f"0), got {int(starts[0])}")
    steps = np.diff(starts)
    if np.any(steps <= 0):
        index = int(np.flatnonzero(steps <= 0)[0])
        raise RecordingError(f"{where}: trial {index + 1} starts at bin {int(starts[index + 1])}, not after trial "
                             f"{index} (bin {int(starts[index])}); trials must not overlap and must be in order")
    return starts


def trial_lengths(trial_starts: np.ndarray, n_bins: int) -> np.ndarray:
    """The number of bins of each trial, (n_trials,).

    Parameters
    ----------
    trial_starts : ndarray of shape (n_trials,)
        Checked starts (:func:`checked_trial_starts`).
    n_bins : int
        T.

    Returns
    -------
    ndarray of shape (n_trials,)
    """
    return np.diff(np.append(trial_starts, n_bins))
