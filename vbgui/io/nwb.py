"""Recordings from Neurodata Without Borders (``.nwb``) files, through pynwb (optional extra).

Spike times of the units table are binned at ``dt`` (default 1 ms); the
stimulus is a TimeSeries from the file's ``stimulus`` group (the one named by
``variables={"stimulus": NAME}``, else the first), averaged over each bin
(linearly interpolated at bin centres when it is sampled more coarsely than
the bins).  Units are named by the table's 'unit_name' column when it has
one, else by their ids.

Trials: when the file has a trials table (``/intervals/trials`` with the NWB
standard's ``start_time`` and ``stop_time`` columns, in seconds), the
recording is cut into those trials (:mod:`vbgui.io.nwb_trials`): the bins whose
centres lie in each trial's [start_time, stop_time), concatenated in trial
order, with ``trial_starts`` where each begins (:mod:`vbgui.io.trials`); the
stimulus is cut the same way and bins outside every trial are dropped (the
recording's notes say how many).  The recording then runs at least to the
last trial's stop_time (bins without spikes count 0); a stimulus must cover
every trial.
"""
from __future__ import annotations

from pathlib import Path
from typing import Mapping

import numpy as np

from vbgui.errors import RecordingError
from vbgui.io.hdf5_checks import check_hdf5_file
from vbgui.io.limits import check_memory
from vbgui.io.nwb_trials import TRIALS_TABLE, read_trial_windows, trial_bin_index, trial_bin_ranges
from vbgui.io.recording import RecordingFile
from vbgui.io.spike_times import bin_edges, bin_spike_times, check_binning_memory, n_bins_for

DEFAULT_DT = 0.001
INSTALL_HINT = "reading .nwb files needs pynwb: pip install \"vbgui[nwb]\""


def _series_samples(series, source: str) -> tuple[np.ndarray, np.ndarray]:
    """(times in seconds, values (n, K)) of a pynwb TimeSeries; raises RecordingError for a bad clock."""
    values = np.asarray(series.data[:], dtype=np.float64)
    if values.ndim == 0 or values.shape[0] == 0:
        raise RecordingError(f"{source}: stimulus '{series.name}' holds no samples")
    values = values[:, None] if values.ndim == 1 else values.reshape(values.shape[0], -1)
    if series.timestamps is not None:
        times = np.asarray(series.timestamps[:], dtype=np.float64).reshape(-1)
        if times.shape[0] != values.shape[0]:
            raise RecordingError(f"{source}: stimulus '{series.name}' has {times.shape[0]} timestamps for "
                                 f"{values.shape[0]} samples")
    else:
        rate, start = float(series.rate), float(series.starting_time or 0.0)
        if not (np.isfinite(rate) and rate > 0):
            raise RecordingError(f"{source}: stimulus '{series.name}' has sampling rate {rate!r}; "
                                 "it must be a positive number of samples per second")
        times = start + np.arange(values.shape[0]) / rate
    if not np.all(np.isfinite(times)) or np.any(np.diff(times) < 0):
        raise RecordingError(f"{source}: stimulus '{series.name}' has times that are not finite and increasing")
    return times, values


def resample_onto_bins(times: np.ndarray, values: np.ndarray, dt: float, n_bins: int) -> np.ndarray:
    """Mean of the samples in each bin; bins without a sample take the interpolated value at their centre."""
    edges = bin_edges(dt, n_bins)
    index = np.searchsorted(edges, times, side="right") - 1
    inside = (index >= 0) & (index < n_bins)
    sums = np.zeros((n_bins, values.shape[1]))
    np.add.at(sums, index[inside], values[inside])
    counts = np.bincount(index[inside], minlength=n_bins)
    result = np.empty_like(sums)
    filled = counts > 0
    result[filled] = sums[filled] / counts[filled, None]
    centres = edges[:-1] + dt / 2
    for k in range(values.shape[1]):
        result[~filled, k] = np.interp(centres[~filled], times, values[:, k])
    return result


def read_nwb(path: str | Path, variables: Mapping[str, str] | None = None, dt: float | None = None) -> RecordingFile:
    path = Path(path)
    source = str(path)
    if not path.is_file():
        raise RecordingError(f"{source}: no such file")
    try:
        from pynwb import NWBHDF5IO
    except ImportError:
        raise RecordingError(f"{source}: {INSTALL_HINT}") from None
    dt = DEFAULT_DT if dt is None else dt
    check_hdf5_file(path, source, "NWB")
    try:
        windows = read_trial_windows(path, source)
        with NWBHDF5IO(str(path), "r", load_namespaces=True) as io:
            nwbfile = io.read()
            units = nwbfile.units
            if units is None or len(units) == 0:
                raise RecordingError(f"{source}: no units table with spike times")
            trains = [np.asarray(units["spike_times"][i], dtype=np.float64) for i in range(len(units))]
            if "unit_name" in units.colnames:
                names = tuple(str(units["unit_name"][i]) for i in range(len(units)))
            else:
                names = tuple(str(i) for i in units.id[:])
            stimuli = dict(nwbfile.stimulus)
            wanted = (variables or {}).get("stimulus")
            series = None
            if wanted is not None:
                if wanted not in stimuli:
                    raise RecordingError(f"{source}: no stimulus '{wanted}'; stimuli: {', '.join(stimuli) or 'none'}")
                series = stimuli[wanted]
            elif stimuli:
                series = next(iter(stimuli.values()))
            samples = _series_samples(series, source) if series is not None else None
    except RecordingError:
        raise
    except Exception as exc:  # noqa: BLE001 - untrusted bytes: h5py/hdmf/pynwb raise many types
        raise RecordingError(f"{source}: not a readable NWB file ({exc.__class__.__name__}: {exc})") from None
    ends = [float(t.max()) for t in trains if t.size]
    if samples is not None:
        ends.append(float(samples[0][-1]))
    n_bins = n_bins_for(max(ends, default=dt), dt, source) + 1
    n_stimuli = 0 if samples is None else samples[1].shape[1]
    kept: np.ndarray | slice = slice(None)  # every bin, as a view
    trial_starts, notes = None, ()
    if windows is None:
        check_binning_memory(source, n_bins, len(trains), n_stimuli)
    else:
        first, end = trial_bin_ranges(windows, dt, source)
        if samples is not None:
            stimulus_bins = n_bins_for(samples[0][-1], dt, source) + 1
            _check_stimulus_covers_trials(source, series.name, stimulus_bins, dt, end, windows)
        n_bins = max(n_bins, int(end[-1]))
        n_kept = int(np.sum(end - first))
        # binning as without trials, plus the kept bins' index, counts (and their float64 copy) and stimulus
        check_memory(source, f"binning {len(trains)} spike train(s) into {n_bins} bins and cutting {n_kept} of "
                     f"them into {len(first)} trial(s)",
                     float(n_bins) * 8 * (2 + 2 * len(trains) + 2 * n_stimuli)
                     + float(n_kept) * 8 * (1 + 2 * len(trains) + n_stimuli))
        kept, trial_starts = trial_bin_index(first, end)
        notes = (f"cut into {len(first)} trial(s) by the trials table {TRIALS_TABLE}: {n_kept} of {n_bins} bins "
                 "kept, bins outside every trial dropped",)
    responses = np.column_stack([bin_spike_times(t, dt, n_bins, source, "spike_times")[kept] for t in trains])
    stimulus = None if samples is None else resample_onto_bins(samples[0], samples[1], dt, n_bins)[kept]
    return RecordingFile(responses=responses, unit_names=names, dt=dt, source=source, stimulus=stimulus,
                         response_name="counts", notes=notes, trial_starts=trial_starts)


def _check_stimulus_covers_trials(source: str, series_name: str, stimulus_bins: int, dt: float, end: np.ndarray,
                                  windows: np.ndarray) -> None:
    """Refuse a trial that runs past the bin of the stimulus's last sample (its values there would be invented)."""
    beyond = np.flatnonzero(end > stimulus_bins)
    if beyond.size:
        index = int(beyond[0])
        raise RecordingError(f"{source}: trial {index} stops at {windows[index, 1]:g} s, after the stimulus "
                             f"'{series_name}' ends (its last sample lies in the bin ending at "
                             f"{stimulus_bins * dt:g} s)")
