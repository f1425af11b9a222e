"""``vbgui --demo NAME`` and ``vbgui --list-demos``: the talk mode from the command line.

Parsing is Qt-free so the listing works without a display.
"""
from __future__ import annotations

from dataclasses import dataclass

from vbgui.app.demos import DEMOS, demo
from vbgui.errors import VbguiError


@dataclass(frozen=True)
class DemoRequest:
    """What the arguments ask for: the listing, one demonstration (``name``), or neither;
    ``remaining`` holds the other arguments."""

    list_demos: bool = False
    name: str | None = None
    remaining: tuple[str, ...] = ()


def parse_demo_arguments(argv: list[str]) -> DemoRequest:
    """Find ``--list-demos`` and ``--demo NAME`` (or ``--demo=NAME``) among the application's arguments."""
    name = None
    remaining: list[str] = []
    arguments = iter(argv)
    for arg in arguments:
        if arg == "--demo":
            name = next(arguments, None)
            if name is None:
                raise VbguiError("--demo needs a name; see vbgui --list-demos")
        elif arg.startswith("--demo="):
            name = arg.split("=", 1)[1]
        elif arg != "--list-demos":
            remaining.append(arg)
    if name is not None:
        demo(name)  # an unknown name raises, listing the known ones
    return DemoRequest(list_demos="--list-demos" in argv, name=name, remaining=tuple(remaining))


def demo_listing() -> str:
    """One line per demonstration: its name (for --demo) and its title."""
    width = max(len(info.name) for info in DEMOS)
    return "\n".join(f"{info.name:<{width}}  {info.title}" for info in DEMOS)


def open_demos_window(name: str):
    """The demos window on demonstration ``name``, shown (a QApplication must exist)."""
    from vbgui.gui.demos.window import DemosWindow

    window = DemosWindow(name)
    window.resize(1600, 1000)
    window.show()
    return window
