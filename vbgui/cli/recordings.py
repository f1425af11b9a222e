"""`vbgui recordings`: list the shipped recordings, by the name `--recording` accepts, with their paths."""
from __future__ import annotations

import argparse


def add_parser(commands: argparse._SubParsersAction) -> None:
    recordings = commands.add_parser("recordings", help="list the shipped recordings (use a name as --recording NAME)")
    recordings.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from vbgui.io.loaders import shipped_recordings

    for name, path in shipped_recordings().items():
        print(f"{name:24s} {path}")
    return 0
