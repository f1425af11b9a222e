"""Command line: ``vbgui`` (the window) and its subcommands, one module each.

The project's own errors (:class:`vbgui.errors.VbguiError`) become exit status
2 and one line on stderr; nothing is written then.
"""
from __future__ import annotations

import argparse
import sys
from typing import Sequence

from vbgui.cli import compare, export, fit, presets, simulate
from vbgui.errors import VbguiError

SUBCOMMANDS = (fit, export, simulate, presets, compare)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vbgui", description="Variational Bayesian fits of models of neural data. "
                                     "Without a command, opens the application window.")
    commands = parser.add_subparsers(dest="command")
    for module in SUBCOMMANDS:
        module.add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args, rest = parser.parse_known_args(argv)
    if args.command is None:
        from vbgui.gui.application import run_application

        return run_application(rest)
    if rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    try:
        return args.run(args)
    except VbguiError as exc:
        print(f"vbgui: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("vbgui: interrupted; nothing written", file=sys.stderr)
        return 130
