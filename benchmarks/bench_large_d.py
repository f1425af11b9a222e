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
at D = 1000 is timed once; its fit would take hours); there the low-rank
optimum is also checked against scipy's L-BFGS-B run to its own tight
tolerance on the same ELBO and gradient (slower: it knows nothing of the
family's scaling), and the difference of the two ELBOs printed.

    python benchmarks/bench_large_d.py [--bins 100000] [--dims 200 1000] [--rank 5] [--dense-max-dim 200]
                                      [--low-rank-tolerance 1e-10 1e-12]
"""
from __future__ import annotations

import argparse
import time

import numpy as np
from scipy.optimize import minimize

from timing import median_time  # benchmarks/ is on sys.path when run as a script
from vbgui.core.elbo import ExactEstimator, GLMProblem
from vbgui.core.families import Family, GaussianPosterior
from vbgui.core.likelihoods import Likelihood
from vbgui.core.low_rank import LowRankCoordinates, LowRankPosterior, exact_low_rank_gradient
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
    """The start FitSession.initial_q gives a matrix-free low-rank fit: the bias at the log of the mean count,
    sds from the diagonal of the curvature there (one O(T D) pass), a small seeded V; no D x D matrix."""
    mean = np.zeros(problem.dim)
    mean[0] = np.log(np.mean(problem.response))
    sd = 1.0 / np.sqrt(ExactEstimator(problem).curvature_diagonal_at_point(mean) + 1.0 / problem.prior_scale ** 2)
    factor = 0.1 * sd[:, None] * np.random.default_rng(0).standard_normal((problem.dim, rank))
    return LowRankPosterior(Family.create("low-rank", problem.dim, rank=rank), mean, np.log(sd), factor)


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


def converge_low_rank(problem: GLMProblem, rank: int, tolerance: float = 1e-10) -> tuple[float, int, float, float]:
    """Low-rank to convergence by L-BFGS.  Returns seconds, iterations, ELBO and passes over the data."""
    estimator = ExactEstimator(problem)
    optimizer = lbfgs(estimator, low_rank_start(problem, rank), 5000, tolerance)
    with PassCounter() as counter:
        seconds, iterations, elbo = _drive(estimator, optimizer)
    return seconds, iterations, elbo, counter.passes


def low_rank_by_scipy(problem: GLMProblem, rank: int) -> tuple[float, int, float]:
    """The same low-rank ELBO maximised by scipy's L-BFGS-B from the same start, in the same coordinates, to
    a projected-gradient tolerance of 1e-8 (the reference).  Returns seconds, ELBO evaluations and the ELBO."""
    estimator = ExactEstimator(problem)
    coordinates = LowRankCoordinates(low_rank_start(problem, rank))

    def negative_elbo_and_gradient(theta: np.ndarray) -> tuple[float, np.ndarray]:
        estimate = exact_low_rank_gradient(estimator, coordinates.to_q(theta))
        return -estimate.terms.elbo, -coordinates.gradient(theta, estimate)

    start = time.perf_counter()
    found = minimize(negative_elbo_and_gradient, coordinates.start(), jac=True, method="L-BFGS-B",
                     options={"maxiter": 20_000, "maxfun": 40_000, "gtol": 1e-8, "ftol": 1e-15, "maxcor": 20})
    return time.perf_counter() - start, int(found.nfev), -float(found.fun)


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
    parser.add_argument("--low-rank-tolerance", type=float, nargs="+", default=[1e-10],
                        help="L-BFGS's stopping tolerance (the preset's, 1e-10, by default); several compare")
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
        for tolerance in args.low_rank_tolerance:
            seconds, iterations, elbo, passes = converge_low_rank(problem, args.rank, tolerance)
            print(f"    low-rank (k = {args.rank}), L-BFGS to {tolerance:g}: converged in {iterations} iterations, "
                  f"{passes:.0f} passes over the data, {seconds:.2f} s ({seconds / floor:.0f} x floor), ELBO {elbo:.6f}")
        if dim <= args.dense_max_dim:
            reference_seconds, evaluations, reference_elbo = low_rank_by_scipy(problem, args.rank)
            print(f"    low-rank reference, scipy L-BFGS-B: {evaluations} passes, {reference_seconds:.2f} s, "
                  f"ELBO {reference_elbo:.6f}; ours minus reference {elbo - reference_elbo:+.2e} nats")
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
