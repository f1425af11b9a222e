"""Recordings from a Kilosort/phy output folder: the units labelled good, binned at a chosen width.

The folder holds ``spike_times.npy`` (N,) integer sample indices, sorted;
``spike_clusters.npy`` (N,) the cluster of each spike; ``params.py`` with
``sample_rate`` (Hz; parsed, never run: :mod:`vbgui.io.phy_params`); and
``cluster_group.tsv`` or else ``cluster_info.tsv``, whose 'group' column
labels the clusters (good, mua, noise).  Every cluster labelled ``good`` is
a unit, named ``cluster<ID>``; the spikes of the others are ignored.

The spike arrays are memory-mapped and binned in chunks of
:data:`CHUNK_SPIKES` spikes (a Neuropixels session has 1e8 spikes); the
counts array is estimated against the memory budget before it is allocated.

Bins are [k dt, (k+1) dt) of the time since the start, as for every loader
(:mod:`vbgui.io.spike_times`).  Without a stimulus the start is sample 0 and
the bins run to the last spike.  With a stimulus file
(:mod:`vbgui.io.frame_stimulus`) the start is the first frame onset, the
bins cover the frames, dt defaults to the frame interval, and the stimulus
is averaged over each bin; spikes outside the frames are not counted (how
many is stated in the notes), and frames that miss the spikes altogether
are refused.
"""
from __future__ import annotations

import csv
import math
from collections import Counter
from pathlib import Path
from typing import Mapping

import numpy as np

from vbgui.errors import NamingError, RecordingError
from vbgui.io.frame_stimulus import FrameStimulus, read_frame_stimulus
from vbgui.io.limits import check_memory
from vbgui.io.npy_arrays import open_vector
from vbgui.io.phy_params import read_sample_rate
from vbgui.io.recording import RecordingFile

SPIKE_TIMES = "spike_times.npy"
SPIKE_CLUSTERS = "spike_clusters.npy"
PARAMS = "params.py"
LABEL_FILES = ("cluster_group.tsv", "cluster_info.tsv")
GOOD = "good"
CHUNK_SPIKES = 1 << 19
MAX_BLOCK_ELEMENTS = 1 << 21  # the per-chunk count block; a chunk spanning more bins adds spike by spike
CHUNK_BYTES_PER_SPIKE = 48  # a chunk's copies and temporaries (measured with tracemalloc: about 40)
MAX_BINS = 2 ** 53
MAX_TABLE_IDS = 1 << 22  # cluster ids below this are looked up in a table (Kilosort's are below 1e4)


def is_phy_folder(path: Path) -> bool:
    """A folder holding any of a phy folder's own files (the loader then names whichever is missing)."""
    return path.is_dir() and any((path / name).is_file() for name in (SPIKE_TIMES, SPIKE_CLUSTERS, PARAMS))


def read_good_clusters(folder: Path) -> tuple[np.ndarray, str]:
    """(sorted ids of the clusters labelled good, a sentence saying where the labels came from).

    Reads ``cluster_group.tsv``, else ``cluster_info.tsv``; raises
    RecordingError naming the file for a missing file, no id or 'group'
    column, an id that is not a whole number, a cluster listed twice, or no
    cluster labelled good.
    """
    path = next((folder / name for name in LABEL_FILES if (folder / name).is_file()), None)
    if path is None:
        raise RecordingError(f"{folder}: no {' or '.join(LABEL_FILES)} (the clusters' labels); label the units in "
                             "phy and save, so the good ones are known")
    check_memory(str(path), "reading the cluster labels", path.stat().st_size * 16)
    labels: dict[int, str] = {}
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            rows = csv.reader(handle, delimiter="\t")
            header = [cell.strip() for cell in next(rows, [])]
            id_column = next((header.index(n) for n in ("cluster_id", "id") if n in header), None)
            if id_column is None or "group" not in header:
                missing = "cluster_id" if id_column is None else "group"
                raise RecordingError(f"{path}: no '{missing}' column (columns: {', '.join(header) or 'none'}); "
                                     "phy writes cluster_id and group (good, mua, noise)")
            group_column = header.index("group")
            for line, row in enumerate(rows, start=2):
                if not any(cell.strip() for cell in row):
                    continue
                if len(row) <= max(id_column, group_column):
                    raise RecordingError(f"{path}: line {line} has {len(row)} fields, fewer than the header")
                text = row[id_column].strip()
                if not text.isdigit():
                    raise RecordingError(f"{path}: line {line}: cluster id {text!r} is not a whole number >= 0")
                cluster = int(text)
                if cluster in labels:
                    raise RecordingError(f"{path}: line {line} lists cluster {cluster} a second time")
                labels[cluster] = row[group_column].strip()
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise RecordingError(f"{path}: not a readable table ({exc.__class__.__name__}: {exc})") from None
    good = np.array(sorted(c for c, label in labels.items() if label == GOOD), dtype=np.int64)
    others = Counter(label or "unlabelled" for label in labels.values() if label != GOOD)
    other_text = ", ".join(f"{label} {count}" for label, count in sorted(others.items())) or "none"
    if good.size == 0:
        raise RecordingError(f"{path}: no cluster is labelled '{GOOD}' (labels: {other_text}); label units good "
                             "in phy first")
    return good, f"{good.size} clusters labelled good in {path.name} (others ignored: {other_text})"


def _bin_index(seconds: np.ndarray, dt: float) -> np.ndarray:
    """The bin k with k dt <= t < (k+1) dt for each time (edges computed as k * dt, as every loader does)."""
    index = np.floor(seconds / dt).astype(np.int64)
    index -= seconds < index * dt
    index += seconds >= (index + 1) * dt
    return index


class _ChunkChecker:
    """Checks each chunk of spike times and clusters as it is binned: sorted, >= 0, and (for signed
    dtypes) no negative cluster ids.  One pass over the memory-mapped arrays does both jobs."""

    def __init__(self, times_path: Path, clusters_path: Path) -> None:
        self.times_path, self.clusters_path = times_path, clusters_path
        self.previous = None

    def check(self, start: int, samples: np.ndarray, clusters: np.ndarray) -> None:
        if samples.dtype.kind == "i" and samples.min() < 0:
            position = start + int(np.flatnonzero(samples < 0)[0])
            raise RecordingError(f"{self.times_path}: spike {position} has a negative sample index "
                                 f"({int(samples[position - start])})")
        if clusters.dtype.kind == "i" and clusters.min() < 0:
            position = start + int(np.flatnonzero(clusters < 0)[0])
            raise RecordingError(f"{self.clusters_path}: spike {position} has a negative cluster id")
        falls = np.flatnonzero(samples[1:] < samples[:-1])
        position = None
        if self.previous is not None and samples[0] < self.previous:
            position = start
        elif falls.size:
            position = start + int(falls[0]) + 1
        if position is not None:
            raise RecordingError(f"{self.times_path}: not sorted (spike {position} comes before the one listed "
                                 "ahead of it); Kilosort writes spike times in increasing order")
        self.previous = samples[-1]


class _GoodUnits:
    """Which good unit (column) each spike's cluster is: a table indexed by cluster id when the good ids are
    small (one gather per spike), else a binary search of the sorted good ids."""

    def __init__(self, good: np.ndarray) -> None:
        self.good = good
        self.table = None
        if int(good[-1]) < MAX_TABLE_IDS:
            self.table = np.full(int(good[-1]) + 2, -1, dtype=np.int32)  # the last entry: every larger id
            self.table[good] = np.arange(good.size, dtype=np.int32)

    @staticmethod
    def table_bytes(good: np.ndarray) -> int:
        return 4 * (int(good[-1]) + 2) if int(good[-1]) < MAX_TABLE_IDS else 0

    def columns(self, clusters: np.ndarray) -> np.ndarray:
        """The column of each spike's cluster, -1 for a cluster not labelled good."""
        if self.table is not None:
            return self.table[np.minimum(clusters, self.table.size - 1)]
        position = np.minimum(np.searchsorted(self.good, clusters), self.good.size - 1)
        return np.where(self.good[position] == clusters, position, -1)


def _count_chunk(counts: np.ndarray, bins: np.ndarray, units: np.ndarray) -> None:
    """Add one to ``counts[bin, unit]`` for each spike (bins sorted): a bincount over the chunk's span of
    bins when that block is small, else spike by spike (few spikes spread over many bins)."""
    if bins.size == 0:
        return
    first, last = int(bins[0]), int(bins[-1])
    n_units = counts.shape[1]
    span = last - first + 1
    if span * n_units <= MAX_BLOCK_ELEMENTS:
        block = np.bincount(units * span + (bins - first), minlength=span * n_units)  # unit-major, as counts
        counts[first:last + 1] += block.reshape(n_units, span).T.astype(counts.dtype, copy=False)
    else:
        np.add.at(counts, (bins, units), 1)


def _binning(source: str, dt: float | None, stimulus: FrameStimulus | None, first_spike: float, last_spike: float,
             times_name: str) -> tuple[float, float, int]:
    """(dt, start, n_bins): bins [start + k dt, start + (k+1) dt) from sample 0 to the last spike, or over the
    stimulus frames (dt then defaults to the frame interval); RecordingError when no dt is known, when the
    frames miss every spike, or for more bins than any recording holds."""
    if stimulus is None:
        if dt is None:
            raise NamingError(f"{source}: give the bin width dt (seconds) for a Kilosort/phy folder, or a "
                              "stimulus file whose frames set it")
        start, span = 0.0, max(last_spike, 0.0)
    else:
        dt = stimulus.frame_interval if dt is None else dt
        start, span = stimulus.start, stimulus.end - stimulus.start
        if stimulus.end <= first_spike or stimulus.start > last_spike:
            raise RecordingError(f"{stimulus.source}: its frames ({stimulus.start:g} to {stimulus.end:g} s) miss "
                                 f"every spike ({first_spike:g} to {last_spike:g} s in {times_name}); the "
                                 "frame times must be seconds on the spikes' clock")
    if not span / dt < MAX_BINS:
        raise RecordingError(f"{source}: {span:g} s in bins of {dt:g} s are {span / dt:.3g} bins, more than any "
                             "recording can hold; check dt")
    if stimulus is None:
        return dt, start, int(_bin_index(np.array([span]), dt)[0]) + 1  # up to the last spike's bin
    return dt, start, max(int(math.floor(span / dt + 1e-9)), 1)  # whole bins within the frames


def read_phy_folder(path: str | Path, dt: float | None = None, stimulus_path: str | Path | None = None,
                    variables: Mapping[str, str] | None = None) -> RecordingFile:
    """Read a Kilosort/phy folder (see the module docstring) as a recording of its good units.

    ``dt`` is the bin width in seconds (required without a stimulus; the
    frame interval by default with one); ``stimulus_path`` a stimulus file
    with frame times, or None; ``variables`` its names for 'stimulus' and
    'frame_times'.  Raises :class:`RecordingError` naming the file and the
    problem.
    """
    folder = Path(path)
    source = str(folder)
    variables = dict(variables or {})
    if variables and stimulus_path is None:
        raise RecordingError(f"{source}: a Kilosort/phy folder takes no variable names (they name the arrays of "
                             "a stimulus file, given with it)")
    if dt is not None and not (math.isfinite(dt) and dt > 0):
        raise RecordingError(f"{source}: dt must be a positive number of seconds, got {dt!r}")
    sample_rate = read_sample_rate(folder / PARAMS)
    good, labels_note = read_good_clusters(folder)
    times_path, clusters_path = folder / SPIKE_TIMES, folder / SPIKE_CLUSTERS
    spike_samples = open_vector(times_path, "spike times (sample indices)")
    spike_clusters = open_vector(clusters_path, "cluster ids (one per spike)")
    if spike_clusters.shape[0] != spike_samples.shape[0]:
        raise RecordingError(f"{clusters_path}: {spike_clusters.shape[0]} cluster ids but {times_path.name} has "
                             f"{spike_samples.shape[0]} spikes; they must be the same length (one id per spike)")
    stimulus = read_frame_stimulus(stimulus_path, variables) if stimulus_path is not None else None
    dt, start, n_bins = _binning(source, dt, stimulus, float(spike_samples[0]) / sample_rate,
                                 float(spike_samples[-1]) / sample_rate, times_path.name)
    n_units = good.size
    count_dtype = np.int32 if spike_samples.shape[0] < 2 ** 31 else np.int64
    chunk_bytes = (CHUNK_SPIKES * CHUNK_BYTES_PER_SPIKE + MAX_BLOCK_ELEMENTS * 16  # the block: int64, then a copy
                   + _GoodUnits.table_bytes(good))
    check_memory(source, f"binning {spike_samples.shape[0]} spikes of {n_units} good units into {n_bins} bins "
                 f"of {dt:g} s", float(n_bins) * n_units * np.dtype(count_dtype).itemsize + chunk_bytes
                 + (0 if stimulus is None else stimulus.bytes_on_bins(n_bins)))
    counts = np.zeros((n_bins, n_units), dtype=count_dtype, order="F")  # a unit's counts are contiguous
    checker = _ChunkChecker(times_path, clusters_path)
    good_units = _GoodUnits(good)
    outside = 0
    for begin in range(0, spike_samples.shape[0], CHUNK_SPIKES):
        samples = np.asarray(spike_samples[begin:begin + CHUNK_SPIKES])
        clusters = np.asarray(spike_clusters[begin:begin + CHUNK_SPIKES])
        checker.check(begin, samples, clusters)
        units = good_units.columns(clusters)
        is_good = units >= 0
        seconds = samples[is_good] / sample_rate - start
        inside = (seconds >= 0) & (seconds < n_bins * dt)  # the last edge, as _bin_index computes it
        outside += int(inside.size - np.count_nonzero(inside))
        _count_chunk(counts, _bin_index(seconds[inside], dt), units[is_good][inside])
    notes = [labels_note]
    if outside:
        notes.append(f"{outside} spike(s) of good units outside the stimulus frames ({stimulus.start:g} to "
                     f"{stimulus.start + n_bins * dt:g} s) were not counted")
    silent = [f"cluster{c}" for c, total in zip(good, counts.sum(axis=0)) if total == 0]
    if silent:
        notes.append(f"no spikes counted for {', '.join(silent[:10])}{' ...' if len(silent) > 10 else ''}")
    return RecordingFile(responses=counts, unit_names=tuple(f"cluster{c}" for c in good), dt=float(dt),
                         source=source, stimulus=None if stimulus is None else stimulus.on_bins(dt, n_bins),
                         response_name="counts", notes=tuple(notes))

