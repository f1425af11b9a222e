"""Flags several commands share."""
from __future__ import annotations

import argparse
import math

from vbgui.errors import VbguiError
from vbgui.io.limits import MEMORY_LIMIT_VARIABLE


def add_memory_limit(parser: argparse.ArgumentParser) -> None:
    """``--memory-limit SIZE``: the memory one input may need (see :mod:`vbgui.io.limits`)."""
    parser.add_argument("--memory-limit", metavar="SIZE",
                        help="refuse inputs that would need more memory than SIZE (bytes, or with K, M, G, T: "
                             f"e.g. 8G) (default: ${MEMORY_LIMIT_VARIABLE}, else half the physical memory)")


def add_recording_options(parser: argparse.ArgumentParser) -> None:
    """``--dt``, ``--stimulus`` and ``--variable``: how to read a recording whose file does not say everything."""
    parser.add_argument("--dt", type=float,
                        help="bin width in seconds: for files that do not say (csv, spike times), and the chosen "
                             "width for a Kilosort/phy folder (default there: the stimulus frame interval)")
    parser.add_argument("--stimulus", metavar="FILE",
                        help="for a Kilosort/phy folder: the stimulus and its frame times (.npz, .mat, .csv, .tsv "
                             "with 'stimulus' and 'frame_times'; other names with --variable); without it the "
                             "units are binned with no stimulus")
    parser.add_argument("--variable", action="append", default=[], metavar="ROLE=NAME",
                        help="the file's name for a role: counts, response, stimulus, dt, spike_times, duration, "
                             "time, unit_names, frame_times (repeatable), e.g. --variable counts=spk")


def check_recording_options(args: argparse.Namespace) -> None:
    """Refuse a ``--dt`` that is not a positive, finite number of seconds, before anything is read."""
    if args.dt is not None and not (math.isfinite(args.dt) and args.dt > 0):
        raise VbguiError(f"--dt must be a positive number of seconds per bin, got {args.dt}")
