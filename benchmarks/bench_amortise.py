"""Amortised inference benchmark: units per second amortised against fitted, and the two gaps' distributions.

A synthetic population (:func:`vbgui.models.synthetic.make_synthetic_population`:
U poisson units sharing one stimulus, so one design) of T bins is fitted
with poisson-glm at L stimulus lags and a bias, no spike history, full-rank.

* fitted: every unit fitted exactly (``vbgui batch``'s thread pool);
* amortised: ``amortise_batch`` without the gaps: N training units fitted
  exactly, every other unit's q from the encoder (refine 0 and 1); the rate
  counts all U units and the training, and the forward pass alone is shown too;
* gaps: ``amortise_batch`` with the gaps (every unit also fitted to its
  optimum, its log evidence importance-weighted from the full-rank optimum),
  the amortisation gap of the encoder's q and after one refinement pass,
  and the approximation gap, as median, 90th percentile and maximum in nats.

    python benchmarks/bench_amortise.py [--units 1000] [--bins 5000] [--lags 10] [--train 60] [--workers 2]
                                        [--draws 1000] [--rates-only]
"""
from __future__ import annotations

import argparse
import functools
import os
import time
from dataclasses import replace

import numpy as np

from vbgui.app.amortise import AmortiseSettings, amortise_batch
from vbgui.app.batch import run_batch
from vbgui.app.fit import warm_up_engine
from vbgui.models.preset import load_preset
from vbgui.models.synthetic import make_synthetic_population

print = functools.partial(print, flush=True)  # noqa: A001 - lines appear as they are measured


def spread(values: list[float]) -> str:
    array = np.asarray(values, dtype=float)
    return (f"median {np.median(array):.2e}  90% {np.quantile(array, 0.9):.2e}  max {np.max(array):.2e}  "
            f"min {np.min(array):.2e}  ({array.size} units)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=1000)
    parser.add_argument("--bins", type=int, default=5000)
    parser.add_argument("--lags", type=int, default=10)
    parser.add_argument("--train", type=int, default=60)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--draws", type=int, default=1000, help="importance draws per unit for the evidence")
    parser.add_argument("--rates-only", action="store_true", help="units per second only, no gaps")
    args = parser.parse_args()

    warm_up_engine()
    recording = make_synthetic_population("poisson", args.units, n_bins=args.bins, stimulus_lags=args.lags, seed=0)
    preset = load_preset("poisson-glm")
    preset = replace(preset, design=replace(preset.design, stimulus_lags=args.lags, spike_history_lags=0))
    units = list(range(args.units))
    print(f"{args.units} poisson units x {args.bins} bins x {args.lags + 1} regressors (full-rank, shared design), "
          f"{args.workers} worker thread(s), {os.cpu_count()} CPU(s), load average {os.getloadavg()[0]:.1f}")

    start = time.perf_counter()
    fitted = [o for o in run_batch(recording, preset, units, executor="threads", workers=args.workers)]
    fit_seconds = time.perf_counter() - start
    assert all(o.succeeded for o in fitted)
    print(f"fitted    : {args.units / fit_seconds:8.1f} units/s  ({fit_seconds:.1f} s)")

    for refine in (0, 1):
        settings = AmortiseSettings(train=args.train, refine=refine, measure_gaps=False)
        start = time.perf_counter()
        outcomes, trained_at = [], start
        for outcome in amortise_batch(recording, preset, units, settings, workers=args.workers):
            outcomes.append(outcome)
            if len(outcomes) == args.train:  # the training units come first
                trained_at = time.perf_counter()
        seconds = time.perf_counter() - start
        assert len(outcomes) == args.units and all(o.succeeded for o in outcomes)
        forward = [o.result["seconds"] for o in outcomes if o.result["amortisation"]["amortised"]]
        amortised_rate = (args.units - args.train) / (time.perf_counter() - trained_at)
        print(f"amortised (refine {refine}): {args.units / seconds:8.1f} units/s with training "
              f"({seconds:.1f} s, {seconds / fit_seconds:.2f} of fitted), {amortised_rate:.1f} units/s after it; "
              f"per amortised unit {np.median(forward) * 1e3:.2f} ms median in features, forward pass and "
              f"{refine} pass(es) (the rest: each unit's design, exact ELBO and result)")

    if args.rates_only:
        return
    settings = AmortiseSettings(train=args.train, refine=1, evidence_draws=args.draws)
    start = time.perf_counter()
    records = [o.result["amortisation"] for o in amortise_batch(recording, preset, units, settings,
                                                                   workers=args.workers)]
    print(f"gaps measured in {time.perf_counter() - start:.1f} s (every unit fitted to its optimum, "
          f"{args.draws} importance draws)")
    amortised = [r for r in records if r["amortised"]]
    print("amortisation gap, encoder q    :", spread([r["encoder_amortisation_gap"] for r in amortised]))
    print("amortisation gap, 1 exact pass :", spread([r["amortisation_gap"] for r in amortised]))
    approximation = [r["approximation_gap"] for r in records if r["approximation_gap"] is not None]
    print("approximation gap (all units)  :", spread(approximation),
          f"; {len(records) - len(approximation)} unit(s) without a reliable evidence")


if __name__ == "__main__":
    main()
