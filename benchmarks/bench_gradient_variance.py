"""Gradient variance of the three ELBO estimators at the same q and sample count.

A Poisson GLM (the shipped synthetic recording, 60,000 bins, 26 regressors)
is fitted exactly (full-rank); at that optimum, and at a q moved away from
it, each estimator's gradient is drawn ``--repeats`` times with K samples
per call.  Printed per estimator: the median over components of the
per-component variance, and the median variance ratio score-function /
reparam.  The exact estimator's variance is zero up to the rounding of
threaded BLAS sums.

    python benchmarks/bench_gradient_variance.py [--samples 10] [--repeats 200]
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from vbgui.app.fit import FitSession
from vbgui.core.elbo import make_estimator
from vbgui.core.families import GaussianPosterior
from vbgui.core.gradient_variance import gradient_spread
from vbgui.core.names import ESTIMATOR_NAMES
from vbgui.io.loaders import load_recording
from vbgui.models.preset import load_preset

RECORDING = Path(__file__).resolve().parent.parent / "resources" / "recordings" / "synthetic-poisson.npz"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=200)
    args = parser.parse_args()
    session = FitSession(load_preset("poisson-glm"), load_recording(RECORDING))
    optimum = session.run()
    family = session.family
    chol = np.linalg.cholesky(optimum.cov)
    points = {"at the optimum": GaussianPosterior(family, optimum.mean, chol),
              "0.5 sd off, sd x 1.5": GaussianPosterior(family, optimum.mean + 0.5 * np.sqrt(np.diag(optimum.cov)),
                                                        1.5 * chol)}
    print(f"{session.problem.n_rows} bins x {session.problem.dim} regressors, K = {args.samples} samples, "
          f"{args.repeats} repeats")
    for label, q in points.items():
        spreads = {name: gradient_spread(make_estimator(name, session.problem, args.samples, seed=1), q, args.repeats)
                   for name in ESTIMATOR_NAMES}
        ratio = spreads["score-function"].variance / spreads["reparam"].variance
        print(f"{label}: median variance per component  "
              + "  ".join(f"{name} {np.median(s.variance):.3g}" for name, s in spreads.items())
              + f"  | score-function / reparam: median {np.median(ratio):.3g}, "
                f"range {ratio.min():.3g}-{ratio.max():.3g}")


if __name__ == "__main__":
    main()
