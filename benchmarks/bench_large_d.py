"""Fits at large D: matrix-free mean-field and low-rank against the dense (full-curvature) methods.

A Poisson GLM of a white-noise stimulus seen through D - 1 lags (neighbouring
columns share all but one value) and a bias, T bins.  The dense Newton step
forms the D x D curvature X' diag(c) X on every pass (T D^2); the
matrix-free mean-field step solves the Newton system by preconditioned
conjugate gradients on Hessian-vector products (T D each); the low-rank
family (rank k) needs T D (k + 2) per pass and is fitted by L-BFGS.
Printed: one pass of each kind and each fit to convergence, beside the
floor, one numpy ``X @ v`` pass over the same design, measured in the same
run.  The dense methods run only up to ``--dense-max-dim`` (a full-rank pass
at D = 1000 is timed once; its fit would take hours).

    python benchmarks/bench_large_d.py [--bins 100000] [--dims 200 1000] [--rank 5] [--dense-max-dim 200]
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from timing import median_time  # benchmarks/ is on sys.path when run as a script
from vbgui.core.elbo import ExactEstimator, GLMProblem
from vbgui.core.families import Family, GaussianPosterior
from vbgui.core.likelihoods import Likelihood
from vbgui.core.low_rank import LowRankPosterior, exact_low_rank_gradient
from vbgui.core.optimize import lbfgs, newton_fixed_point


def lagged_poisson_problem(n_rows: int, dim: int, seed: int = 0) -> GLMProblem:
    rng = np.random.default_rng(seed)
    stimulus = rng.standard_normal(n_rows + dim)
    design = 0.3 * np.lib.stride_tricks.sliding_window_view(stimulus, dim)[:n_rows].copy()
    design[:, 0] = 1.0
    weights = np.r_[-1.0, 0.05 * rng.standard_normal(dim - 1)]
    return GLMProblem(design, rng.poisson(np.exp(design @ weights)).astype(float), Likelihood("poisson"), 1.0)


def converge(problem: GLMProblem, matrix_free: bool) -> tuple[float, int, float]:
    """Mean-field to convergence: wall time, iterations and final ELBO."""
    estimator = ExactEstimator(problem)
    q0 = GaussianPosterior.isotropic(Family.create("mean-field", problem.dim), np.zeros(problem.dim), 0.1)
    return _drive(estimator, newton_fixed_point(estimator, q0, 200, 1e-10, matrix_free=matrix_free))


def low_rank_start(problem: GLMProblem, rank: int) -> LowRankPosterior:
    """Diagonal 0.1^2 and a small V: the family's own start, no D x D matrix."""
    rng = np.random.default_rng(1)
    return LowRankPosterior(Family.create("low-rank", problem.dim, rank=rank), np.zeros(problem.dim),
                            np.full(problem.dim, np.log(0.1)), 0.01 * rng.standard_normal((problem.dim, rank)))


class PassCounter:
    """Counts the passes over the data a fit makes (fused ELBO passes, and the two products of each
    Hessian-vector product), so fits compare by work, whatever else runs on the machine."""

    def __init__(self) -> None:
        self.passes = 0.0

    def __enter__(self) -> "PassCounter":
        import vbgui.core.elbo as elbo_module
        import vbgui.core.low_rank as low_rank_module

        self._saved = [(module, name, getattr(module, name)) for module, name in
                       ((elbo_module, "reduce_rows"), (low_rank_module, "reduce_rows"),
                        (elbo_module, "weighted_gram_product"), (elbo_module, "map_rows"))]
        for module, name, original in self._saved:
            setattr(module, name, self._counting(original, 2.0 if name == "weighted_gram_product" else 1.0))
        return self

    def _counting(self, original, passes: float):
        def counted(*args, **kwargs):
            self.passes += passes
            return original(*args, **kwargs)
        return counted

    def __exit__(self, *_exc) -> None:
        for module, name, original in self._saved:
            setattr(module, name, original)


def converge_low_rank(problem: GLMProblem, rank: int) -> tuple[float, int, float, float]:
    """Low-rank to convergence by L-BFGS.  Returns seconds, iterations, ELBO and passes over the data."""
    estimator = ExactEstimator(problem)
    optimizer = lbfgs(estimator, low_rank_start(problem, rank), 5000, 1e-10)
    with PassCounter() as counter:
        seconds, iterations, elbo = _drive(estimator, optimizer)
    return seconds, iterations, elbo, counter.passes


def _drive(estimator: ExactEstimator, optimizer) -> tuple[float, int, float]:
    start = time.perf_counter()
    iterations = 0
    try:
        while True:
            iterations = next(optimizer).iteration
    except StopIteration as stop:
        outcome = stop.value
    seconds = time.perf_counter() - start
    assert outcome.converged, outcome.message
    q = outcome.q
    elbo = exact_low_rank_gradient(estimator, q).terms.elbo if q.family.is_low_rank else estimator.value(q).elbo
    return seconds, iterations, elbo


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bins", type=int, default=100_000)
    parser.add_argument("--dims", type=int, nargs="+", default=[200, 1000])
    parser.add_argument("--rank", type=int, default=5)
    parser.add_argument("--dense-max-dim", type=int, default=200)
    args = parser.parse_args()
    # Warm the kernels (compile or load from the cache) outside the timings.
    converge(lagged_poisson_problem(2000, 120), True)
    converge(lagged_poisson_problem(2000, 20), False)
    converge_low_rank(lagged_poisson_problem(2000, 20), 2)
    small = lagged_poisson_problem(2000, 20)
    ExactEstimator(small).evaluate(GaussianPosterior.isotropic(Family.create("full-rank", 20), np.zeros(20), 0.1),
                                   want_curvature=True)
    for dim in args.dims:
        problem = lagged_poisson_problem(args.bins, dim)
        vector = np.ones(dim)
        X = problem.design.materialise()
        floor = median_time(lambda: X @ vector)
        estimator = ExactEstimator(problem)
        low_rank_q = low_rank_start(problem, args.rank)
        full_q = GaussianPosterior.isotropic(Family.create("full-rank", dim), np.zeros(dim), 0.1)
        low_rank_pass = median_time(lambda: exact_low_rank_gradient(estimator, low_rank_q), repeats=3)
        full_pass = median_time(lambda: estimator.evaluate(full_q, want_curvature=True), repeats=1)
        print(f"T = {args.bins}, D = {dim}: one pass: low-rank (k = {args.rank}) {low_rank_pass * 1e3:.0f} ms "
              f"({low_rank_pass / floor:.1f} x floor), full-rank with curvature {full_pass * 1e3:.0f} ms "
              f"({full_pass / floor:.0f} x floor): {full_pass / low_rank_pass:.0f}x")
        seconds, iterations, elbo, passes = converge_low_rank(problem, args.rank)
        print(f"    low-rank (k = {args.rank}), L-BFGS: converged in {iterations} iterations, {passes:.0f} passes "
              f"over the data, {seconds:.2f} s ({seconds / floor:.0f} x floor), ELBO {elbo:.6f}")
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
