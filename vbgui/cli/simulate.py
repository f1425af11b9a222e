"""`vbgui simulate`: write a synthetic recording with known ground truth."""
from __future__ import annotations

import argparse
import sys

from vbgui.core.names import DISPERSION_RANGE, LIKELIHOOD_NAMES
from vbgui.errors import VbguiError


def add_parser(commands: argparse._SubParsersAction) -> None:
    sim = commands.add_parser("simulate", help="write a synthetic recording with known ground truth (.npz)")
    sim.add_argument("--out", required=True, help="the recording to write (.npz)")
    sim.add_argument("--force", action="store_true", help="replace --out if it exists")
    sim.add_argument("--likelihood", choices=LIKELIHOOD_NAMES, default="poisson")
    sim.add_argument("--bins", type=int, default=20_000)
    sim.add_argument("--lags", type=int, default=10, help="stimulus filter taps")
    sim.add_argument("--history", type=int, default=0, help="spike-history taps")
    sim.add_argument("--dt", type=float, default=0.01, help="seconds per bin")
    sim.add_argument("--seed", type=int, default=0)
    sim.add_argument("--dispersion", type=float, default=0.5,
                     help="negative-binomial only: Var[y] = mu + dispersion mu^2 (default: 0.5)")
    sim.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from vbgui.io.npz import save_npz
    from vbgui.io.safe_write import check_target
    from vbgui.models.synthetic import make_synthetic_recording

    low, high = DISPERSION_RANGE
    if not low <= args.dispersion <= high:
        raise VbguiError(f"--dispersion must lie in [{low:g}, {high:g}], got {args.dispersion!r}")
    check_target(args.out, force=args.force)
    recording = make_synthetic_recording(args.likelihood, n_bins=args.bins, stimulus_lags=args.lags,
                                         spike_history_lags=args.history, dt=args.dt, seed=args.seed,
                                         dispersion=args.dispersion)
    try:
        save_npz(recording, args.out, force=args.force)
    except OSError as exc:
        raise VbguiError(f"{args.out}: cannot write ({exc.strerror or exc})") from None
    print(f"wrote {recording.n_bins} bins ({args.likelihood}) to {args.out}", file=sys.stderr)
    return 0
