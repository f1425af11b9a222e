"""Batch benchmark: units per second fitting one preset to many units, serially and on threads (and Dask).

A synthetic population (U units sharing one stimulus, each with its own
filter) of T bins is fitted with poisson-glm at 19 stimulus lags plus the
bias (20 regressors).  "serial" fits one unit after another in this thread
(each fit still spreads its passes over the row-chunk pool of
vbgui.core.rowpass, so serial already keeps several cores busy: the
"cores busy" column is CPU time over wall time); "threads N" runs N units at
once.  With Dask installed
(``pip install "vbgui[cluster]"``), an in-process LocalCluster (threads) runs
the same tasks the CLI's --scheduler sends, reading the recording from a file.
Every executor's results are checked to be bit-identical to serial.

    python benchmarks/bench_batch.py [--units 12] [--bins 100000] [--repeats 1]
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from vbgui.app.batch import run_batch
from vbgui.app.fit import warm_up_engine
from vbgui.io.loaders import read_recording_file
from vbgui.models.preset import load_preset
from vbgui.models.synthetic import make_synthetic_recording

KEYS = ("elbo", "parameters", "trace")


def population_file(folder: Path, n_units: int, n_bins: int) -> Path:
    stimulus = make_synthetic_recording("poisson", n_bins=n_bins, stimulus_lags=19, seed=0).stimulus
    rng = np.random.default_rng(1)
    drives = [np.convolve(stimulus[:, 0], 0.3 * rng.standard_normal(12))[:n_bins] for _ in range(n_units)]
    counts = np.column_stack([rng.poisson(0.1 * np.exp(drive)) for drive in drives])
    path = folder / "population.npz"
    np.savez(path, counts=counts, stimulus=stimulus, dt=np.array(0.01),
             unit_names=np.array([f"u{i}" for i in range(n_units)]))
    return path


def timed(label: str, units: list[int], run) -> tuple[float, float, dict[int, dict]]:
    """Wall seconds, CPU seconds of this process (all its threads) and the results."""
    cpu_start, start = time.process_time(), time.perf_counter()
    results = {outcome.index: outcome.result for outcome in run()}
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
    assert sorted(results) == units and all(results.values()), label
    return seconds, cpu_seconds, results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=12)
    parser.add_argument("--bins", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=1, help="runs per executor; the fastest counts")
    args = parser.parse_args()
    preset = load_preset("poisson-glm")
    preset = replace(preset, design=replace(preset.design, stimulus_lags=19, spike_history_lags=0))
    units = list(range(args.units))
    cores = os.cpu_count() or 1
    warm_up_engine()
    with tempfile.TemporaryDirectory() as folder:
        path = population_file(Path(folder), args.units, args.bins)
        recording = read_recording_file(path)
        print(f"{args.units} units x {args.bins} bins x 20 regressors, poisson-glm full-rank exact; "
              f"{cores} CPU(s)")
        runs: dict[str, callable] = {"serial": lambda: run_batch(recording, preset, units, executor="serial")}
        for workers in sorted({1, 2, cores}):
            runs[f"threads {workers}"] = (lambda w=workers: run_batch(recording, preset, units, workers=w))
        client = cluster = None
        try:
            from dask.distributed import Client, LocalCluster

            cluster = LocalCluster(n_workers=1, threads_per_worker=cores, processes=False, dashboard_address=None)
            client = Client(cluster)
            runs[f"dask in-process {cores} threads"] = lambda: run_batch(
                recording, preset, units, executor="dask", dask_client=client, recording_path=path)
        except ImportError:
            print("(dask not installed: pip install \"vbgui[cluster]\" to time it too)")
        try:
            reference = None
            serial_seconds = None
            for label, run in runs.items():
                seconds, cpu_seconds, results = min((timed(label, units, run) for _ in range(args.repeats)),
                                                    key=lambda run_times: run_times[0])
                if reference is None:
                    reference, serial_seconds = results, seconds
                identical = all(results[i][key] == reference[i][key] for i in units for key in KEYS)
                print(f"{label:28s} {args.units / seconds:7.2f} units/s  {seconds:7.2f} s  "
                      f"speed-up {serial_seconds / seconds:5.2f}x  cores busy {cpu_seconds / seconds:4.2f}  "
                      f"bit-identical to serial: {identical}")
        finally:
            if client is not None:
                client.close()
                cluster.close()


if __name__ == "__main__":
    main()
