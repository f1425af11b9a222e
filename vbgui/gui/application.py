"""Start the application: the QApplication, the main window and the event loop."""
from __future__ import annotations

import sys

import PySide6

from vbgui.gui.recent_files import APPLICATION, ORGANISATION
from vbgui.io.loaders import EXTENSIONS

INITIAL_SIZE = (1600, 1000)


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


def run_application(argv: list[str]) -> int:
    """Open the main window and run until it closes; a recording argument is opened instead of the sample."""
    problem = qt_binding_problem()
    if problem is not None:
        print(f"vbgui: error: {problem}", file=sys.stderr)
        return 2
    from PySide6.QtWidgets import QApplication

    from vbgui.gui.style import configure_pyqtgraph

    app = QApplication.instance() or QApplication([sys.argv[0], *argv])
    app.setOrganizationName(ORGANISATION)
    app.setApplicationName(APPLICATION)
    configure_pyqtgraph()
    from vbgui.gui.main_window import MainWindow  # after pyqtgraph's configuration

    recordings = [arg for arg in argv if arg.lower().endswith(EXTENSIONS)]
    window = MainWindow(load_sample=not recordings)
    if recordings:
        window.open_recording(recordings[0])
    window.resize(*INITIAL_SIZE)
    window.show()
    status = app.exec()
    window.deleteLater()  # before the interpreter tears Qt down
    return status
