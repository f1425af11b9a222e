"""Write a multi-unit recording of spike counts as the files population labs have: a Kilosort/phy
folder (with its stimulus file) or an NWB file.

Each count of c spikes in bin [k dt, (k+1) dt) becomes c spike times drawn
inside the bin, away from its edges, so reading the files back at the same
dt (``vbgui.io.phy``, ``vbgui.io.nwb``) gives the same counts exactly; the
stimulus goes with its frame times (phy: ``stimulus.npz``, frame k shown
from k dt) or as a TimeSeries sampled at the bin centres (NWB).  Used by
``vbgui simulate --format`` to make test data in these formats.
"""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from vbgui.errors import OutputFileError, RecordingError
from vbgui.io.limits import check_memory
from vbgui.io.recording import RecordingFile
from vbgui.io.safe_write import check_target, write_files

PHY_SAMPLE_RATE = 30000.0
PHY_MIN_SAMPLES_PER_BIN = 4
PHY_FILES = ("spike_times.npy", "spike_clusters.npy", "params.py", "cluster_group.tsv")
PHY_STIMULUS_FILE = "stimulus.npz"
EDGE_MARGIN = 0.05  # spike times stay this share of a bin away from its edges


def _spike_bins(recording: RecordingFile, what: str) -> tuple[np.ndarray, np.ndarray]:
    """(bin of each spike, unit of each spike), sorted by bin then unit; refuses responses that are not counts."""
    counts = recording.responses
    if recording.response_name != "counts" or np.any(counts < 0) or np.any(counts != np.round(counts)):
        raise RecordingError(f"{recording.source}: {what} holds spike times, so the responses must be spike "
                             "counts (whole numbers >= 0)")
    total = int(counts.sum())
    check_memory(recording.source, f"writing {total} spike times", 48.0 * total)
    whole = counts.astype(np.int64)
    bins = np.repeat(np.repeat(np.arange(counts.shape[0]), counts.shape[1]), whole.reshape(-1))
    units = np.repeat(np.tile(np.arange(counts.shape[1]), counts.shape[0]), whole.reshape(-1))
    return bins, units


def phy_files(folder: str | Path) -> list[Path]:
    """The files :func:`save_phy_folder` writes into ``folder`` (the stimulus file last)."""
    return [Path(folder) / name for name in (*PHY_FILES, PHY_STIMULUS_FILE)]


def check_phy_folder_target(folder: str | Path, *, force: bool) -> None:
    """Raise OutputFileError unless :func:`save_phy_folder` may write ``folder``: a folder whose files are
    absent (or ``force``), or a new folder in an existing one."""
    folder = Path(folder)
    if folder.is_dir():
        for target in phy_files(folder):
            check_target(target, force=force)
    elif folder.exists():
        raise OutputFileError(f"{folder}: exists and is not a folder")
    elif not (folder.parent if str(folder.parent) else Path(".")).is_dir():
        raise OutputFileError(f"{folder}: its parent folder {folder.parent} does not exist")


def _save_npy(array: np.ndarray):
    return lambda handle: np.save(handle, array, allow_pickle=False)


def save_phy_folder(recording: RecordingFile, folder: str | Path, *, seed: int = 0, force: bool = False,
                    sample_rate: float = PHY_SAMPLE_RATE) -> Path:
    """Write ``recording`` (spike counts) as a Kilosort/phy folder: every unit a cluster labelled good.

    Cluster u is unit u; spike times are sample indices at ``sample_rate``;
    the stimulus, if any, goes to ``folder/stimulus.npz`` (arrays 'stimulus'
    and 'frame_times').  Files are written as a set (:func:`write_files`).
    """
    folder = Path(folder)
    samples_per_bin = recording.dt * sample_rate
    if samples_per_bin < PHY_MIN_SAMPLES_PER_BIN:
        raise RecordingError(f"{recording.source}: bins of {recording.dt:g} s hold {samples_per_bin:g} samples at "
                             f"{sample_rate:g} Hz; a phy folder needs at least {PHY_MIN_SAMPLES_PER_BIN} per bin")
    bins, units = _spike_bins(recording, "a phy folder")
    first_sample = np.floor(bins * samples_per_bin).astype(np.int64) + 1
    last_sample = np.ceil((bins + 1) * samples_per_bin).astype(np.int64) - 1
    rng = np.random.default_rng(seed)
    samples = first_sample + np.floor(rng.random(bins.size) * (last_sample - first_sample)).astype(np.int64)
    order = np.lexsort((units, samples))
    labels = "cluster_id\tgroup\n" + "".join(f"{u}\tgood\n" for u in range(recording.n_units))
    params = (f"dat_path = 'synthetic.bin'\nn_channels_dat = {recording.n_units}\ndtype = 'int16'\noffset = 0\n"
              f"sample_rate = {sample_rate!r}\nhp_filtered = False\n")
    times_path, clusters_path, params_path, labels_path, stimulus_path = phy_files(folder)
    outputs = [(times_path, _save_npy(samples[order].astype(np.uint64))),
               (clusters_path, _save_npy(units[order].astype(np.int32))),
               (params_path, lambda handle: handle.write(params.encode("utf-8"))),
               (labels_path, lambda handle: handle.write(labels.encode("utf-8")))]
    if recording.stimulus is not None:
        frame_times = np.arange(recording.stimulus.shape[0]) * recording.dt
        outputs.append((stimulus_path, lambda handle: np.savez_compressed(
            handle, stimulus=recording.stimulus, frame_times=frame_times)))
    check_phy_folder_target(folder, force=force)
    folder.mkdir(exist_ok=True)
    write_files(outputs, force=force)
    return folder


def save_nwb(recording: RecordingFile, path: str | Path, *, seed: int = 0, force: bool = False) -> Path:
    """Write ``recording`` (spike counts) as an NWB file: a units table with spike times in seconds and a
    'unit_name' column, the stimulus as a TimeSeries at the bin centres, and the trials (when ``recording``
    has ``trial_starts``) as a trials table whose times are the trials' bin edges.  Needs pynwb."""
    from vbgui.io.nwb import INSTALL_HINT

    try:
        import pynwb
    except ImportError:
        raise RecordingError(f"{path}: {INSTALL_HINT}") from None
    from datetime import datetime, timezone

    bins, units = _spike_bins(recording, "an NWB units table")
    rng = np.random.default_rng(seed)
    times = (bins + EDGE_MARGIN + rng.random(bins.size) * (1 - 2 * EDGE_MARGIN)) * recording.dt
    nwbfile = pynwb.NWBFile(session_description=f"synthetic population ({recording.source})",
                            identifier=recording.source, session_start_time=datetime(2026, 1, 1, tzinfo=timezone.utc))
    nwbfile.add_unit_column("unit_name", "the unit's name")
    for unit, name in enumerate(recording.unit_names):
        nwbfile.add_unit(spike_times=np.sort(times[units == unit]), unit_name=name)
    if recording.stimulus is not None:
        centres = (np.arange(recording.stimulus.shape[0]) + 0.5) * recording.dt
        nwbfile.add_stimulus(pynwb.TimeSeries(name="stimulus", data=recording.stimulus, unit="a.u.",
                                              timestamps=centres))
    if recording.trial_starts is not None:
        edges = np.append(recording.trial_starts, recording.responses.shape[0]) * recording.dt
        for start, stop in zip(edges[:-1], edges[1:]):
            nwbfile.add_trial(start_time=float(start), stop_time=float(stop))

    def write(handle) -> None:
        import h5py

        buffer = io.BytesIO()
        with h5py.File(buffer, "w") as h5file, pynwb.NWBHDF5IO(file=h5file, mode="w") as nwb_io:
            nwb_io.write(nwbfile)
        handle.write(buffer.getvalue())

    return write_files([(path, write)], force=force)[0]
