"""Flags several commands share."""
from __future__ import annotations

import argparse

from vbgui.io.limits import MEMORY_LIMIT_VARIABLE


def add_memory_limit(parser: argparse.ArgumentParser) -> None:
    """``--memory-limit SIZE``: the memory one input may need (see :mod:`vbgui.io.limits`)."""
    parser.add_argument("--memory-limit", metavar="SIZE",
                        help="refuse inputs that would need more memory than SIZE (bytes, or with K, M, G, T: "
                             f"e.g. 8G) (default: ${MEMORY_LIMIT_VARIABLE}, else half the physical memory)")
