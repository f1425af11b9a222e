"""`vbgui simulate`: write a synthetic recording with known ground truth."""
from __future__ import annotations

import argparse
import math
import sys

from vbgui.cli.interrupt import run_interruptibly
from vbgui.cli.options import add_memory_limit
from vbgui.core.names import DISPERSION_RANGE, LIKELIHOOD_NAMES
from vbgui.errors import VbguiError
from vbgui.io.spike_writers import PHY_MIN_SAMPLES_PER_BIN, PHY_SAMPLE_RATE

MAX_LAGS = 10_000
MAX_SEED = 2 ** 63 - 1
MAX_UNITS = 1000
FORMATS = ("npz", "phy", "nwb")


def add_parser(commands: argparse._SubParsersAction) -> None:
    sim = commands.add_parser("simulate", help="write a synthetic recording with known ground truth (.npz)",
                              description="Simulate a GLM neuron driven by a smooth random stimulus and write "
                                          "its counts (or response), stimulus, dt and true weights as .npz.")
    sim.add_argument("--out", required=True,
                     help="the .npz file to write (required); with --format phy a folder, with --format nwb an .nwb file")
    sim.add_argument("--format", choices=FORMATS, default="npz",
                     help="npz (default): counts and stimulus; phy: a Kilosort/phy folder of spike times, every unit "
                          "a cluster labelled good, the stimulus and its frame times in OUT/stimulus.npz; nwb: an NWB "
                          "file (units table and stimulus; needs pip install \"vbgui[nwb]\"). phy and nwb need spike "
                          "counts (not --likelihood gaussian)")
    sim.add_argument("--force", action="store_true", help="replace --out (or, for phy, its files) if it exists")
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
                          "and unit_names, without ground truth (default: %(default)s)")
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
    if args.format != "npz" and args.likelihood == "gaussian":
        raise VbguiError(f"--format {args.format} writes spike times: --likelihood gaussian has no spikes")
    if args.format == "phy" and args.dt * PHY_SAMPLE_RATE < PHY_MIN_SAMPLES_PER_BIN:
        raise VbguiError(f"--dt {args.dt:g}: a phy folder's bins need at least {PHY_MIN_SAMPLES_PER_BIN} samples "
                         f"at {PHY_SAMPLE_RATE:g} Hz (dt >= {PHY_MIN_SAMPLES_PER_BIN / PHY_SAMPLE_RATE:g} s)")


def run(args: argparse.Namespace) -> int:
    from vbgui.io.limits import check_memory
    from vbgui.io.npz import save_npz, save_units_npz
    from vbgui.io.safe_write import check_target
    from vbgui.io.spike_writers import check_phy_folder_target, save_nwb, save_phy_folder
    from vbgui.models.synthetic import make_synthetic_population, make_synthetic_recording

    check_flags(args)
    if args.format == "phy":
        check_phy_folder_target(args.out, force=args.force)
    else:
        check_target(args.out, force=args.force)
    # the stimulus, its innovations, the drive, the response and the compressed copy: ~8 float64 per bin
    of_units = f" of {args.units} units" if args.units > 1 else ""
    check_memory("--bins", f"simulating {args.bins} bins{of_units}", 8.0 * 8 * args.bins * args.units)
    if args.units > 1 or args.format != "npz":
        population = run_interruptibly(lambda: make_synthetic_population(
            args.likelihood, args.units, n_bins=args.bins, stimulus_lags=args.lags,
            spike_history_lags=args.history, dt=args.dt, seed=args.seed, dispersion=args.dispersion))
        if args.format == "npz":
            write = lambda: save_units_npz(population, args.out, force=args.force)  # noqa: E731
        else:
            save = save_phy_folder if args.format == "phy" else save_nwb
            write = lambda: save(population, args.out, seed=args.seed, force=args.force)  # noqa: E731
    else:
        recording = run_interruptibly(lambda: make_synthetic_recording(
            args.likelihood, n_bins=args.bins, stimulus_lags=args.lags, spike_history_lags=args.history,
            dt=args.dt, seed=args.seed, dispersion=args.dispersion))
        write = lambda: save_npz(recording, args.out, force=args.force)  # noqa: E731
    try:
        write()
    except OSError as exc:
        raise VbguiError(f"{args.out}: cannot write ({exc.strerror or exc})") from None
    as_format = "" if args.format == "npz" else f" as {args.format}"
    print(f"wrote {args.bins} bins{of_units} ({args.likelihood}){as_format} to {args.out}", file=sys.stderr)
    return 0
