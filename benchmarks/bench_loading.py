"""Loading benchmark: a 1,000,000-bin, 100-unit recording in .npz and .mat, time and peak memory.

Peak memory is the largest heap allocation tracemalloc sees while loading
(numpy reports its buffers to it), beside the size of the data itself, so
"copied at most once" reads as a ratio close to 1.

    python benchmarks/bench_loading.py [--bins 1000000] [--units 100]
"""
from __future__ import annotations

import argparse
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np
import scipy.io

from vbgui.io.loaders import read_recording_file


def measure(path: Path) -> tuple[float, int]:
    tracemalloc.start()
    start = time.perf_counter()
    recording_file = read_recording_file(path)
    recording = recording_file.unit(recording_file.n_units - 1)
    seconds = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert recording.n_bins == recording_file.responses.shape[0]
    return seconds, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bins", type=int, default=1_000_000)
    parser.add_argument("--units", type=int, default=100)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    counts = rng.poisson(0.05, (args.bins, args.units)).astype(np.int32)
    stimulus = rng.standard_normal(args.bins)
    data_bytes = counts.nbytes + stimulus.nbytes
    print(f"{args.bins:,} bins x {args.units} units: {data_bytes / 1e6:.0f} MB of data (int32 counts, float64 stimulus)")
    with tempfile.TemporaryDirectory() as folder:
        npz = Path(folder) / "big.npz"
        np.savez(npz, counts=counts, stimulus=stimulus, dt=np.array(0.001))
        mat = Path(folder) / "big.mat"
        scipy.io.savemat(mat, {"counts": counts, "stimulus": stimulus, "dt": 0.001})
        del counts, stimulus
        for path in (npz, mat):
            seconds, peak = measure(path)
            print(f"{path.suffix}: loaded and one unit picked in {seconds:.2f} s; peak memory {peak / 1e6:.0f} MB "
                  f"= {peak / data_bytes:.2f} x the data")


if __name__ == "__main__":
    main()
