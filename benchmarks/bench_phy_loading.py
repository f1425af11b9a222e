"""Kilosort/phy loading benchmark: spikes binned per second, and peak memory beside the counts array.

A synthetic session (sorted sample indices at 30 kHz over an hour, 300
clusters of which two thirds are labelled good) is written as a phy folder
and read at two bin widths.  Peak memory is the largest heap allocation
tracemalloc sees (numpy reports its buffers; the memory-mapped spike arrays
are not allocations), shown beside the counts array the recording must hold.

    python benchmarks/bench_phy_loading.py [--spikes 20000000]
"""
from __future__ import annotations

import argparse
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

from vbgui.io.loaders import LoadOptions, read_recording_file
from vbgui.io.spike_writers import PHY_SAMPLE_RATE

SECONDS = 3600
CLUSTERS = 300


def write_session(folder: Path, n_spikes: int) -> None:
    rng = np.random.default_rng(0)
    np.save(folder / "spike_times.npy", np.sort(rng.integers(0, int(PHY_SAMPLE_RATE) * SECONDS, n_spikes)).astype(
        np.uint64))
    np.save(folder / "spike_clusters.npy", rng.integers(0, CLUSTERS, n_spikes).astype(np.int32))
    (folder / "params.py").write_text(f"sample_rate = {PHY_SAMPLE_RATE!r}\n")
    (folder / "cluster_group.tsv").write_text("cluster_id\tgroup\n" + "".join(
        f"{c}\t{'good' if c % 3 else 'mua'}\n" for c in range(CLUSTERS)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spikes", type=int, default=20_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        write_session(folder, args.spikes)
        print(f"{args.spikes:,} spikes over {SECONDS} s, {CLUSTERS} clusters ({CLUSTERS * 2 // 3} good)")
        for dt in (1.0, 0.01):
            tracemalloc.start()
            start = time.perf_counter()
            recording = read_recording_file(folder, LoadOptions(dt=dt, keep_bad_units=True))
            seconds = time.perf_counter() - start
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            counts = recording.responses.nbytes
            print(f"dt {dt:g} s: {recording.responses.shape[0]:,} bins, {seconds:.2f} s "
                  f"({args.spikes / seconds / 1e6:.1f} M spikes/s), peak {peak / 2 ** 20:.0f} MiB = counts "
                  f"{counts / 2 ** 20:.0f} MiB + {(peak - counts) / 2 ** 20:.0f} MiB")


if __name__ == "__main__":
    main()
