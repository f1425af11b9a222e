"""Streamed designs: peak memory against the recording's size, and speed against the materialised matrix.

Memory: for each length (default 1e6, 4e6, 1e7 bins) a child process
simulates a Poisson recording (one stimulus, float64 stimulus and counts),
then fits the poisson-glm preset with 20 stimulus lags and 5 history lags
(D = 26, full-rank) through FitSession.  The child reports its
resident memory before the fit (the recording, the interpreter and the
compiled kernels; resident memory now, from /proc) and its peak during the
fit (VmHWM, reset just before it): the difference is what the fit added, beside
the recording's arrays and what the materialised T x 26 matrix would have
taken.  The issue's bound: the fit adds at most the recording's size plus
O(D^2).

Speed: at 1e6 bins x 20 columns (19 lags and a bias), one exact full-rank
pass with curvature, on the streamed rows and on the materialised matrix, and
the fit to convergence on each, measured in the same run, in units of the
floor, one numpy ``X @ v`` of the materialised matrix.

    python benchmarks/bench_streaming.py [--bins 1000000 4000000 10000000] [--repeats 2]
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from dataclasses import replace

import numpy as np

from timing import median_time  # benchmarks/ is on sys.path when run as a script


def resident_bytes(field: str) -> int:
    """VmRSS (resident now) or VmHWM (peak resident since the last reset) of this process, from /proc."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def reset_peak() -> None:
    """Reset VmHWM to the current resident size (Linux: writing 5 to /proc/self/clear_refs), so that the
    peak measured after the fit is the fit's own, not the simulation's before it."""
    with open("/proc/self/clear_refs", "w") as clear_refs:
        clear_refs.write("5")


def child(n_bins: int) -> None:
    """Fit n_bins in this process; print a JSON line of memory figures (bytes)."""
    from vbgui.app.fit import FitSession, warm_up_engine
    from vbgui.models.preset import load_preset
    from vbgui.models.synthetic import make_synthetic_recording

    warm_up_engine()
    recording = make_synthetic_recording("poisson", n_bins=n_bins, stimulus_lags=20, spike_history_lags=0,
                                         dt=0.001, mean_response=0.02, seed=0)
    preset = load_preset("poisson-glm")
    preset = replace(preset, design=replace(preset.design, stimulus_lags=20, spike_history_lags=5),
                     fit=replace(preset.fit, family="full-rank"))
    before = resident_bytes("VmRSS")
    reset_peak()
    start = time.perf_counter()
    session = FitSession(preset, recording)
    result = session.run()
    seconds = time.perf_counter() - start
    after = resident_bytes("VmHWM")
    print(json.dumps({"bins": n_bins, "recording": recording.response.nbytes + recording.stimulus.nbytes,
                      "matrix": session.design.n_rows * session.design.dim * 8, "before": before, "after": after,
                      "seconds": seconds, "iterations": result.iterations, "converged": result.converged}))


def memory(bins: list[int]) -> None:
    print("peak memory of a full-rank fit, D = 26 (20 stimulus lags, 5 history lags, bias)")
    print(f"{'bins':>10} {'recording':>10} {'T x D matrix':>13} {'fit added':>10} {'added/recording':>16} "
          f"{'seconds':>8} {'iterations':>10}")
    for n_bins in bins:
        completed = subprocess.run([sys.executable, __file__, "--child", str(n_bins)], capture_output=True,
                                   text=True, check=True)
        row = json.loads(completed.stdout.strip().splitlines()[-1])
        added = row["after"] - row["before"]
        print(f"{n_bins:>10} {row['recording'] / 2**20:>8.0f} MB {row['matrix'] / 2**20:>10.0f} MB "
              f"{added / 2**20:>7.0f} MB {added / row['recording']:>16.2f} {row['seconds']:>8.1f} "
              f"{row['iterations']:>10}{'' if row['converged'] else ' (not converged)'}")


def speed(repeats: int) -> None:
    from vbgui.core.design_rows import DenseRows, LaggedRows
    from vbgui.core.elbo import ExactEstimator, GLMProblem
    from vbgui.core.families import Family, GaussianPosterior
    from vbgui.core.generators import run_to_end
    from vbgui.core.likelihoods import Likelihood
    from vbgui.core.optimize import newton_fixed_point

    n_bins, lags = 1_000_000, 19
    rng = np.random.default_rng(0)
    stimulus = rng.standard_normal((n_bins, 1))
    streamed = LaggedRows(stimulus, np.zeros(1), np.ones(1), lags, np.zeros(n_bins), 0, True, lags - 1)
    matrix = streamed.materialise()
    weights = np.r_[-2.0, 0.1 * rng.standard_normal(lags)]
    counts = np.zeros(n_bins)
    counts[lags - 1:] = rng.poisson(np.exp(matrix @ weights))
    streamed = replace(streamed, response=counts)
    response = counts[lags - 1:]
    vector = np.ones(matrix.shape[1])
    print(f"\nspeed at {matrix.shape[0]} x {matrix.shape[1]}, full-rank, exact (units: one X @ v of the matrix)")
    for repeat in range(repeats):
        floor = median_time(lambda: matrix @ vector)
        line = [f"run {repeat + 1}: X @ v {floor * 1000:.1f} ms"]
        for label, rows in (("matrix", DenseRows(matrix)), ("streamed", streamed)):
            problem = GLMProblem(rows, response, Likelihood("poisson"), 1.0)
            estimator = ExactEstimator(problem)
            q0 = GaussianPosterior.isotropic(Family.create("full-rank", problem.dim), np.zeros(problem.dim), 0.1)
            one_pass = median_time(lambda: estimator.evaluate(q0, want_curvature=True), repeats=5)
            start = time.perf_counter()
            run_to_end(newton_fixed_point(estimator, q0, 200, 1e-10))
            fit = time.perf_counter() - start
            line.append(f"{label}: pass {one_pass / floor:.1f}, fit {fit / floor:.0f} passes ({fit:.2f} s)")
        print("   ".join(line))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bins", type=int, nargs="+", default=[1_000_000, 4_000_000, 10_000_000])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return 0
    memory(args.bins)
    speed(args.repeats)
    return 0


if __name__ == "__main__":
    sys.exit(main())
