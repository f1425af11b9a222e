"""Start the application: the QApplication, the main window and the event loop.

``vbgui [RECORDING] [--reset-layout] [--selftest] [--launch-timing]``: a
recording argument is opened instead of the sample; ``--reset-layout``
forgets the saved window layout; ``--selftest`` runs
:mod:`vbgui.gui.selftest` in the real window, offscreen unless
QT_QPA_PLATFORM says otherwise, and exits 0 or 1; ``--launch-timing``
prints when the window and the first ELBO point appeared
(:mod:`vbgui.gui.launch_timing`, for benchmarks/bench_launch.py).
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import PySide6

from vbgui.errors import VbguiError
from vbgui.gui.demos.launch import demo_listing, open_demos_window, parse_demo_arguments
from vbgui.gui.recent_files import APPLICATION, ORGANISATION
from vbgui.io.loaders import EXTENSIONS

ICON = Path(__file__).resolve().parent.parent / "resources" / "icons" / "vbgui.png"

# seconds to let a background engine compilation end after the window closed (it cannot be interrupted)
WARMUP_JOIN_SECONDS = 60.0
FLAGS = ("--selftest", "--reset-layout", "--launch-timing")


def qt_binding_problem(pyside_version: str = PySide6.__version__,
                       python_version: tuple[int, int] = sys.version_info[:2]) -> str | None:
    """Why these Qt bindings cannot run the window, or None.

    PySide6 6.12.0 releases a reference to None after every call of a C++
    method returning void; Python 3.12+ makes None immortal, but Python 3.11
    crashes ("deallocating None") within seconds of using widgets.
    """
    if pyside_version.startswith("6.12.") and python_version < (3, 12):
        return (f"PySide6 {pyside_version} crashes on Python {python_version[0]}.{python_version[1]} "
                "(reference-count bug); install another version: pip install 'PySide6-Essentials>=6.6,<6.12'")
    return None


def display_problem(environ=os.environ, platform: str = sys.platform) -> str | None:
    """Why no window can open here (Linux without X11 or Wayland and no Qt platform chosen), or None."""
    if not platform.startswith("linux") or environ.get("QT_QPA_PLATFORM"):
        return None
    if environ.get("DISPLAY") or environ.get("WAYLAND_DISPLAY"):
        return None
    return ("no display: neither DISPLAY nor WAYLAND_DISPLAY is set, so the window cannot open; run vbgui "
            "on a desktop (or over ssh -X), use the command line (vbgui --help), or set QT_QPA_PLATFORM=offscreen")


def application_icon():
    """The window icon (resources/icons/vbgui.png, drawn by tools/make_icon.py)."""
    from PySide6.QtGui import QIcon

    return QIcon(str(ICON))


def run_application(argv: list[str]) -> int:
    """Open the main window and run until it closes (or run the self-test); returns the exit status.

    ``--list-demos`` prints the demonstrations; ``--demo NAME`` opens the talk-mode window on one instead.
    """
    try:
        demo_request = parse_demo_arguments(argv)
    except VbguiError as exc:
        print(f"vbgui: error: {exc}", file=sys.stderr)
        return 2
    if demo_request.list_demos:
        print(demo_listing())
        return 0
    argv = list(demo_request.remaining)
    problem = qt_binding_problem()
    if problem is not None:
        print(f"vbgui: error: {problem}", file=sys.stderr)
        return 2
    unknown = [arg for arg in argv if arg.startswith("-") and arg not in FLAGS]
    if unknown:
        print(f"vbgui: error: unrecognized arguments: {' '.join(unknown)}", file=sys.stderr)
        return 2
    selftest = "--selftest" in argv
    if selftest:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    problem = display_problem()
    if problem is not None:
        print(f"vbgui: error: {problem}", file=sys.stderr)
        return 2
    from PySide6.QtWidgets import QApplication

    from vbgui.gui.preferences import Preferences
    from vbgui.gui.recent_files import application_settings
    from vbgui.gui.style import apply_theme

    app = QApplication.instance() or QApplication([sys.argv[0], *argv])
    app.setOrganizationName(ORGANISATION)
    app.setApplicationName(APPLICATION)
    app.setDesktopFileName("vbgui")  # matches resources/vbgui.desktop
    app.setWindowIcon(application_icon())
    from vbgui.gui.collect_garbage import collect_on_gui_thread

    app.garbage_collector = collect_on_gui_thread()  # kept alive as long as the application
    preferences = Preferences(application_settings())
    apply_theme(app, "light" if selftest else preferences.theme)
    if "--reset-layout" in argv:
        preferences.forget_layout()
    from vbgui.gui.crash_report import install_exception_hook
    from vbgui.gui.main_window import MainWindow  # after pyqtgraph's configuration

    if selftest:
        from vbgui.gui.selftest import run_selftest

        status = run_selftest()
    elif "--launch-timing" in argv:
        from vbgui.gui.launch_timing import run_launch_timing

        status = run_launch_timing(app)
    else:
        if demo_request.name is not None:
            window = open_demos_window(demo_request.name)
        else:
            recordings = [arg for arg in argv if arg.lower().endswith(EXTENSIONS) or os.path.isdir(arg)]
            window = MainWindow(load_sample=not recordings)
            if recordings:
                window.open_recording(recordings[0])
        window.show()
        with install_exception_hook(window):
            status = app.exec()
        window.deleteLater()  # before the interpreter tears Qt down
    return leave_after_warmup(status)


def leave_after_warmup(status: int, join_seconds: float = WARMUP_JOIN_SECONDS) -> int:
    """Wait up to ``join_seconds`` for the engine's warm-up, then return ``status`` to exit with.

    numba must not be interrupted mid-compile by the interpreter's teardown,
    and Qt aborts the process when a running QThread is destroyed: when the
    warm-up is still compiling after the wait, the process leaves at once
    with ``status`` (streams flushed, no teardown).
    """
    from vbgui.gui.engine_warmup import engine_warmup

    if engine_warmup().wait(join_seconds):
        return status
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)
