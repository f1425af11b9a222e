"""Poisson LDS benchmark: variational EM to convergence at T = 1e4, 1e5 (and 1e6) bins, K = 3, N = 100.

Each size runs in its own process (so its peak resident memory is its own):
a population with the parameters of
:func:`vbgui.models.lds_synthetic.lds_population_params` is drawn (counts in
blocks, so drawing them does not set the peak), then the structured-markov fit of the poisson-lds preset runs from the
data-driven start until an iteration gains less than ``--tolerance`` times
|ELBO| (after two iterations on 300 bins that load numba's cache).  Printed
beside the time: the floor of the same run, one numpy pass ``Y @ C`` over the
counts (what any method that reads the data pays), the time per EM iteration
in such passes, the peak resident memory and the counts' own size.

    python benchmarks/bench_lds.py [--bins 10000 100000 1000000] [--tolerance 1e-8] [--max-iter 500]
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

import numpy as np

from timing import median_time  # benchmarks/ is on sys.path when run as a script


def one_size(n_bins: int, tolerance: float, max_iter: int) -> dict:
    """Fit one size in this process; return its figures."""
    from vbgui.core.generators import run_to_end
    from vbgui.core.lds.em import EmSettings, variational_em
    from vbgui.core.lds.observations import Observations
    from vbgui.core.lds.sample import initial_params
    from vbgui.core.likelihoods import Likelihood
    from vbgui.core.lds.sample import sample_path
    from vbgui.models.lds_synthetic import lds_population_params

    params = lds_population_params(n_units=100, latent_dim=3, seed=1)
    rng = np.random.default_rng(2)
    path = sample_path(params, n_bins, rng)
    counts = np.empty((n_bins, 100))
    for start in range(0, n_bins, 65_536):  # in blocks, so drawing the counts does not set the peak memory
        rows = slice(start, start + 65_536)
        counts[rows] = rng.poisson(np.exp(path[rows] @ params.C.T + params.d))
    likelihood = Likelihood("poisson")
    observations = Observations.create(counts, likelihood)
    del counts
    start_params = initial_params(observations.y, likelihood, 3)
    floor = median_time(lambda: observations.y @ start_params.C, repeats=5)
    settings = EmSettings(max_iter=max_iter, tolerance=tolerance)
    warm_up = Observations.create(observations.y[:300], likelihood)  # numba compiles or loads its cache here
    run_to_end(variational_em([warm_up], start_params, EmSettings(max_iter=2)))
    start = time.perf_counter()
    outcome = run_to_end(variational_em([observations], start_params, settings))
    seconds = time.perf_counter() - start
    fitted = outcome.posteriors[0].mean
    design = np.column_stack([fitted, np.ones(n_bins)])
    coef, *_ = np.linalg.lstsq(design, path, rcond=None)
    r_squared = 1 - (path - design @ coef).var(axis=0) / path.var(axis=0)
    return {"bins": n_bins, "seconds": seconds, "iterations": outcome.iterations, "reason": outcome.reason,
            "floor": floor, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "counts_mb": observations.y.nbytes / 2 ** 20, "elbo": outcome.terms.elbo,
            "r_squared": [round(float(r), 3) for r in r_squared]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bins", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--tolerance", type=float, default=1e-8)
    parser.add_argument("--max-iter", type=int, default=500)
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one_size(args.one, args.tolerance, args.max_iter)))
        return
    print(f"Poisson LDS, K = 3, N = 100, structured-markov, tolerance {args.tolerance:g} relative")
    for n_bins in args.bins:
        completed = subprocess.run([sys.executable, __file__, "--one", str(n_bins), "--tolerance",
                                    str(args.tolerance), "--max-iter", str(args.max_iter)],
                                   capture_output=True, text=True)
        if completed.returncode != 0:
            print(f"T = {n_bins}: failed: {completed.stderr.strip().splitlines()[-1:]}")
            continue
        row = json.loads(completed.stdout.strip().splitlines()[-1])
        per_iteration = row["seconds"] / max(row["iterations"], 1)
        print(f"T = {n_bins:>9,}: {row['seconds']:8.2f} s to {row['reason']} in {row['iterations']} iterations "
              f"({per_iteration:.3f} s each = {per_iteration / row['floor']:.0f} x the floor, one Y @ C pass of "
              f"{row['floor'] * 1e3:.1f} ms); peak RSS {row['peak_mb']:.0f} MB (counts {row['counts_mb']:.0f} MB); "
              f"R^2 of the true latents {row['r_squared']}", flush=True)


if __name__ == "__main__":
    main()
