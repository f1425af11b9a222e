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


WINDOW_USAGE = """Without a command, vbgui opens the application window:
  vbgui [RECORDING]          open a recording instead of the sample
  vbgui --demo NAME          open a teaching demonstration (vbgui --list-demos lists them)
  vbgui --selftest           open the window offscreen, fit, export, check; exit 0 or 1"""


def build_parser() -> tuple[argparse.ArgumentParser, set[str]]:
    """The parser, and the names of its subcommands (anything else goes to the window)."""
    parser = argparse.ArgumentParser(prog="vbgui", description="Variational Bayesian fits of models of neural data.",
                                     epilog=WINDOW_USAGE, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command")
    for module in SUBCOMMANDS:
        module.add_parser(commands)
    return parser, set(commands.choices)


def main(argv: Sequence[str] | None = None) -> int:
    parser, subcommands = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    if not (argv and (argv[0] in subcommands or argv[0] in ("-h", "--help"))):
        from vbgui.gui.application import run_application

        return run_application(argv)
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except VbguiError as exc:
        print(f"vbgui: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("vbgui: interrupted; nothing written", file=sys.stderr)
        return 130
