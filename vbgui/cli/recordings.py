"""`vbgui recordings`: list the shipped recordings, by the name `--recording` accepts, with their paths;
`vbgui recordings RECORDING` shows what a recording holds once read (bins, units, rates, stimulus, notes)."""
from __future__ import annotations

import argparse

from vbgui.cli.interrupt import run_interruptibly
from vbgui.cli.options import add_memory_limit, add_recording_options, check_recording_options

MAX_UNITS_SHOWN = 50


def add_parser(commands: argparse._SubParsersAction) -> None:
    recordings = commands.add_parser(
        "recordings", help="list the shipped recordings (use a name as --recording NAME), or show one recording",
        description="Without RECORDING: list the shipped recordings. With it: read it as 'vbgui fit' would "
                    "(same flags) and show its bins, units, firing rates, stimulus and notes, so a binning can "
                    "be checked before fitting.")
    recordings.add_argument("recording", nargs="?", help="a recording file or folder, or a shipped name")
    add_recording_options(recordings)
    add_memory_limit(recordings)
    recordings.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from vbgui.cli.fit import parse_variables
    from vbgui.io.loaders import LoadOptions, read_recording_file, shipped_recordings

    if args.recording is None:
        for name, path in shipped_recordings().items():
            print(f"{name:24s} {path}")
        return 0
    check_recording_options(args)
    options = LoadOptions(parse_variables(args.variable), args.dt, keep_bad_units=True, stimulus_path=args.stimulus)
    recording = run_interruptibly(lambda: read_recording_file(args.recording, options))
    n_bins = recording.responses.shape[0]
    stimulus = "none" if recording.stimulus is None else f"{recording.stimulus.shape[1]} column(s)"
    print(f"{recording.source}: {recording.n_units} unit(s), {n_bins} bins of {recording.dt:g} s "
          f"({n_bins * recording.dt:g} s), {recording.response_name}, stimulus {stimulus}")
    for index, name in enumerate(recording.unit_names[:MAX_UNITS_SHOWN]):
        if index in recording.unit_problems:
            print(f"  {index:4d} {name:20s} unusable: {recording.unit_problems[index]}")
            continue
        total = float(recording.responses[:, index].sum())
        per_second = total / (n_bins * recording.dt)
        print(f"  {index:4d} {name:20s} total {total:g}, mean {per_second:.3g} per second")
    if recording.n_units > MAX_UNITS_SHOWN:
        print(f"  ... and {recording.n_units - MAX_UNITS_SHOWN} more")
    for note in recording.notes:
        print(f"note: {note}")
    return 0
