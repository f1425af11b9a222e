"""Mean-field fits at large D: the matrix-free Newton step against the dense one.

A Poisson GLM of a white-noise stimulus seen through D - 1 lags (neighbouring
columns share all but one value) and a bias, T bins.  The dense Newton step
forms the D x D curvature X' diag(c) X on every pass (T D^2); the
matrix-free one solves the Newton system by preconditioned conjugate
gradients on Hessian-vector products (T D each).  Both converge to a relative
ELBO change below 1e-10; the floor is one numpy ``X @ v`` pass over the same
design, measured in the same run.  The dense step runs only where it takes
minutes or less (``--dense-max-dim``).

    python benchmarks/bench_large_d.py [--bins 100000] [--dims 200 1000] [--dense-max-dim 200]
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from timing import median_time  # benchmarks/ is on sys.path when run as a script
from vbgui.core.elbo import ExactEstimator, GLMProblem
from vbgui.core.families import Family, GaussianPosterior
from vbgui.core.likelihoods import Likelihood
from vbgui.core.optimize import newton_fixed_point


def lagged_poisson_problem(n_rows: int, dim: int, seed: int = 0) -> GLMProblem:
    rng = np.random.default_rng(seed)
    stimulus = rng.standard_normal(n_rows + dim)
    design = 0.3 * np.lib.stride_tricks.sliding_window_view(stimulus, dim)[:n_rows].copy()
    design[:, 0] = 1.0
    weights = np.r_[-1.0, 0.05 * rng.standard_normal(dim - 1)]
    return GLMProblem(design, rng.poisson(np.exp(design @ weights)).astype(float), Likelihood("poisson"), 1.0)


def converge(problem: GLMProblem, matrix_free: bool) -> tuple[float, int, float]:
    """Wall time, iterations and final ELBO."""
    estimator = ExactEstimator(problem)
    q0 = GaussianPosterior.isotropic(Family.create("mean-field", problem.dim), np.zeros(problem.dim), 0.1)
    start = time.perf_counter()
    optimizer = newton_fixed_point(estimator, q0, 200, 1e-10, matrix_free=matrix_free)
    iterations = 0
    try:
        while True:
            iterations = next(optimizer).iteration
    except StopIteration as stop:
        outcome = stop.value
    seconds = time.perf_counter() - start
    assert outcome.converged, outcome.message
    return seconds, iterations, estimator.value(outcome.q).elbo


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bins", type=int, default=100_000)
    parser.add_argument("--dims", type=int, nargs="+", default=[200, 1000])
    parser.add_argument("--dense-max-dim", type=int, default=200)
    args = parser.parse_args()
    # Warm the kernels (compile or load from the cache) outside the timings.
    converge(lagged_poisson_problem(2000, 120), True)
    converge(lagged_poisson_problem(2000, 20), False)
    for dim in args.dims:
        problem = lagged_poisson_problem(args.bins, dim)
        vector = np.ones(dim)
        floor = median_time(lambda: problem.design @ vector)
        seconds, iterations, elbo = converge(problem, True)
        print(f"T = {args.bins}, D = {dim}: floor (one X @ v) {floor * 1e3:.1f} ms; matrix-free mean-field "
              f"converged in {iterations} iterations, {seconds:.2f} s ({seconds / floor:.0f} x floor), "
              f"ELBO {elbo:.6f}")
        if dim <= args.dense_max_dim:
            dense_seconds, dense_iterations, dense_elbo = converge(problem, False)
            print(f"    dense: {dense_iterations} iterations, {dense_seconds:.2f} s "
                  f"({dense_seconds / floor:.0f} x floor), ELBO {dense_elbo:.6f}; "
                  f"matrix-free is {dense_seconds / seconds:.1f}x faster, "
                  f"ELBOs differ by {abs(elbo - dense_elbo):.2e} nats")


if __name__ == "__main__":
    main()
