"""`vbgui simulate`: write a synthetic recording with known ground truth."""
from __future__ import annotations

import argparse
import math
import sys

from vbgui.cli.interrupt import run_interruptibly
from vbgui.cli.options import add_memory_limit
from vbgui.core.names import DISPERSION_RANGE, LIKELIHOOD_NAMES
from vbgui.errors import VbguiError

MAX_LAGS = 10_000
MAX_SEED = 2 ** 63 - 1
MAX_UNITS = 1000
DEFAULT_COUPLING_FRACTION = 0.1
DEFAULT_COUPLING_STRENGTH = 0.6
MAX_COUPLING_STRENGTH = 5.0


def add_parser(commands: argparse._SubParsersAction) -> None:
    sim = commands.add_parser("simulate", help="write a synthetic recording with known ground truth (.npz)",
                              description="Simulate a GLM neuron driven by a smooth random stimulus and write "
                                          "its counts (or response), stimulus, dt and true weights as .npz.")
    sim.add_argument("--out", required=True, help="the .npz file to write (required)")
    sim.add_argument("--force", action="store_true", help="replace --out if it exists")
    sim.add_argument("--likelihood", choices=LIKELIHOOD_NAMES, default="poisson",
                     help="how the response is drawn: spike counts, over-dispersed counts, 0/1 spikes or a "
                          "continuous value (default: %(default)s)")
    sim.add_argument("--bins", type=int, default=20_000, help="number of time bins, 1 or more (default: %(default)s)")
    sim.add_argument("--lags", type=int, default=10,
                     help=f"stimulus filter taps of the true model, 0 to {MAX_LAGS} (default: %(default)s)")
    sim.add_argument("--history", type=int, default=0,
                     help=f"spike-history taps of the true model, 0 to {MAX_LAGS} (default: %(default)s)")
    sim.add_argument("--units", type=int, default=1,
                     help=f"units sharing the stimulus, 1 to {MAX_UNITS}; more than one writes counts (T, units) "
                          "and unit_names, without ground truth unless --coupling-lags is given (default: %(default)s)")
    sim.add_argument("--coupling-lags", type=int, default=0,
                     help="with --units 2 or more: simulate a coupled population (Pillow et al. 2008) in which "
                          "each unit's rate also depends on the other units' counts of the last K bins, through "
                          f"known couplings stored in the file; 0 to {MAX_LAGS} (default: %(default)s, uncoupled)")
    sim.add_argument("--coupling-fraction", type=float,
                     help="with --coupling-lags: the share of ordered unit pairs that are coupled, 0 to 1 "
                          f"(default: {DEFAULT_COUPLING_FRACTION})")
    sim.add_argument("--coupling-strength", type=float,
                     help="with --coupling-lags: the largest peak coupling weight; peaks are uniform between "
                          f"half and all of it, of either sign, above 0 and at most {MAX_COUPLING_STRENGTH:g} "
                          f"(default: {DEFAULT_COUPLING_STRENGTH})")
    sim.add_argument("--dt", type=float, default=0.01, help="seconds per bin, positive (default: %(default)s)")
    sim.add_argument("--seed", type=int, default=0, help="random seed, 0 or more (default: %(default)s)")
    sim.add_argument("--dispersion", type=float, default=0.5,
                     help="negative-binomial only: Var[y] = mu + dispersion mu^2, "
                          f"{DISPERSION_RANGE[0]:g} to {DISPERSION_RANGE[1]:g} (default: %(default)s)")
    add_memory_limit(sim)
    sim.set_defaults(run=run)


def check_flags(args: argparse.Namespace) -> None:
    """Refuse bad flag values before anything is simulated."""
    if args.bins < 1:
        raise VbguiError(f"--bins must be 1 or more, got {args.bins}")
    for flag, value in (("--lags", args.lags), ("--history", args.history)):
        if not 0 <= value <= MAX_LAGS:
            raise VbguiError(f"{flag} must be an integer from 0 to {MAX_LAGS}, got {value}")
    if not 1 <= args.units <= MAX_UNITS:
        raise VbguiError(f"--units must be an integer from 1 to {MAX_UNITS}, got {args.units}")
    if args.units > 1 and args.seed > MAX_SEED - MAX_UNITS:
        raise VbguiError(f"--seed must be at most {MAX_SEED - MAX_UNITS} with --units, got {args.seed}")
    if not (0 < args.dt < math.inf):
        raise VbguiError(f"--dt must be a positive number of seconds per bin, got {args.dt}")
    if not 0 <= args.seed <= MAX_SEED:
        raise VbguiError(f"--seed must be an integer from 0 to {MAX_SEED}, got {args.seed}")
    low, high = DISPERSION_RANGE
    if not low <= args.dispersion <= high:
        raise VbguiError(f"--dispersion must lie in [{low:g}, {high:g}], got {args.dispersion!r}")
    check_coupling_flags(args)


def check_coupling_flags(args: argparse.Namespace) -> None:
    """Refuse bad --coupling-* values, and fill in the defaults of the coupled simulation."""
    if not 0 <= args.coupling_lags <= MAX_LAGS:
        raise VbguiError(f"--coupling-lags must be an integer from 0 to {MAX_LAGS}, got {args.coupling_lags}")
    if args.coupling_lags == 0:
        for flag, value in (("--coupling-fraction", args.coupling_fraction),
                            ("--coupling-strength", args.coupling_strength)):
            if value is not None:
                raise VbguiError(f"{flag} applies to a coupled population: add --coupling-lags K (1 or more)")
        return
    if args.units < 2:
        raise VbguiError(f"--coupling-lags {args.coupling_lags} couples units to each other: it needs --units 2 or "
                         f"more, got {args.units}")
    if args.coupling_fraction is None:
        args.coupling_fraction = DEFAULT_COUPLING_FRACTION
    if args.coupling_strength is None:
        args.coupling_strength = DEFAULT_COUPLING_STRENGTH
    if not 0 <= args.coupling_fraction <= 1:
        raise VbguiError(f"--coupling-fraction must lie in [0, 1], got {args.coupling_fraction!r}")
    if not 0 < args.coupling_strength <= MAX_COUPLING_STRENGTH:
        raise VbguiError(f"--coupling-strength must be above 0 and at most {MAX_COUPLING_STRENGTH:g}, "
                         f"got {args.coupling_strength!r}")


def run(args: argparse.Namespace) -> int:
    from vbgui.io.limits import check_memory
    from vbgui.io.npz import save_npz, save_units_npz
    from vbgui.io.safe_write import check_target
    from vbgui.models.synthetic import make_coupled_population, make_synthetic_population, make_synthetic_recording

    check_flags(args)
    check_target(args.out, force=args.force)
    # the stimulus, its innovations, the drive, the response and the compressed copy: ~8 float64 per bin
    of_units = f" of {args.units} units" if args.units > 1 else ""
    check_memory("--bins", f"simulating {args.bins} bins{of_units}", 8.0 * 8 * args.bins * args.units)
    if args.coupling_lags:
        feedback_lags = max(args.coupling_lags, args.history)
        check_memory("--coupling-lags", f"the coupling weights of {args.units} units over {feedback_lags} lags "
                     f"and {args.bins} bins", 8.0 * (3.0 * args.units ** 2 * feedback_lags
                                                     + 4.0 * (args.bins + feedback_lags) * args.units))
        population = run_interruptibly(lambda: make_coupled_population(
            args.likelihood, args.units, n_bins=args.bins, stimulus_lags=args.lags, spike_history_lags=args.history,
            coupling_lags=args.coupling_lags, coupling_fraction=args.coupling_fraction,
            coupling_strength=args.coupling_strength, dt=args.dt, seed=args.seed, dispersion=args.dispersion))
        write = lambda: save_units_npz(population, args.out, force=args.force)  # noqa: E731
    elif args.units > 1:
        population = run_interruptibly(lambda: make_synthetic_population(
            args.likelihood, args.units, n_bins=args.bins, stimulus_lags=args.lags,
            spike_history_lags=args.history, dt=args.dt, seed=args.seed, dispersion=args.dispersion))
        write = lambda: save_units_npz(population, args.out, force=args.force)  # noqa: E731
    else:
        recording = run_interruptibly(lambda: make_synthetic_recording(
            args.likelihood, n_bins=args.bins, stimulus_lags=args.lags, spike_history_lags=args.history,
            dt=args.dt, seed=args.seed, dispersion=args.dispersion))
        write = lambda: save_npz(recording, args.out, force=args.force)  # noqa: E731
    try:
        write()
    except OSError as exc:
        raise VbguiError(f"{args.out}: cannot write ({exc.strerror or exc})") from None
    coupled = f", coupled over {args.coupling_lags} lag(s)" if args.coupling_lags else ""
    print(f"wrote {args.bins} bins{of_units} ({args.likelihood}{coupled}) to {args.out}", file=sys.stderr)
    return 0
