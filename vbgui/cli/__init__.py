"""Command line: ``vbgui`` (the window) and its subcommands, one module each.

The project's own errors (:class:`vbgui.errors.VbguiError`) become exit status
2 and one line on stderr; nothing is written then.
"""
from __future__ import annotations

import argparse
import os
import sys
import warnings
from typing import Sequence

import vbgui
from vbgui.cli import batch, compare, export, fit, presets, recordings, simulate
from vbgui.cli.interrupt import work_left_running
from vbgui.errors import VbguiError
from vbgui.io.limits import set_memory_limit

SUBCOMMANDS = (fit, batch, export, simulate, presets, recordings, compare)
INTERRUPTED = 130  # 128 + SIGINT, as shells report it

WINDOW_USAGE = """Without a command, vbgui opens the application window:
  vbgui [RECORDING]          open a recording instead of the sample
  vbgui --reset-layout       open the window with its default layout (forget the saved one)
  vbgui --demo NAME          open a teaching demonstration (vbgui --list-demos lists them)
  vbgui --list-demos         list the teaching demonstrations
  vbgui --selftest           open the window offscreen, fit, export, check; exit 0 or 1"""


def build_parser() -> tuple[argparse.ArgumentParser, set[str]]:
    """The parser, and the names of its subcommands (anything else goes to the window)."""
    parser = argparse.ArgumentParser(prog="vbgui", description="Variational Bayesian fits of models of neural data.",
                                     epilog=WINDOW_USAGE, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"vbgui {vbgui.__version__}")
    commands = parser.add_subparsers(dest="command")
    for module in SUBCOMMANDS:
        module.add_parser(commands)
    return parser, set(commands.choices)


def _one_line(message: str) -> str:
    return " ".join(str(message).split())


def main(argv: Sequence[str] | None = None) -> int:
    """Run a subcommand (or open the window); return the exit status: 0, 2 for bad input, 130 on Ctrl-C."""
    parser, subcommands = build_parser()
    whole_process = argv is None
    argv = list(sys.argv[1:] if argv is None else argv)
    if not (argv and (argv[0] in subcommands or argv[0] in ("-h", "--help", "--version"))):
        from vbgui.gui.application import run_application

        return run_application(argv)
    args = parser.parse_args(argv)
    try:
        with warnings.catch_warnings():
            # the engine reports non-finite numbers itself, in one line; numpy's and pynwb's warnings
            # would add lines a user cannot act on
            warnings.simplefilter("ignore", RuntimeWarning)
            warnings.filterwarnings("ignore", category=UserWarning, module=r"(pynwb|hdmf)")
            set_memory_limit(getattr(args, "memory_limit", None))
            return args.run(args)
    except VbguiError as exc:
        print(f"vbgui: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except MemoryError:
        print("vbgui: error: out of memory: the machine cannot hold this input (a smaller --memory-limit makes "
              "vbgui refuse such inputs before allocating)", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:
        # a command that keeps finished work says what it kept (as the exception's text)
        print(f"vbgui: interrupted; {_one_line(exc) or 'nothing written'}", file=sys.stderr)
        if whole_process or work_left_running():
            # leave at once: neither a pass over the data still finishing nor the engine's row threads
            # (joined at a normal exit) may hold the process; nothing is left to write or remove
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(INTERRUPTED)
        return INTERRUPTED
    finally:
        set_memory_limit(None)
