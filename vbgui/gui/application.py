"""Start the application: the QApplication, the main window and the event loop."""
from __future__ import annotations

import sys

from PySide6.QtWidgets import QApplication

from vbgui.gui.recent_files import APPLICATION, ORGANISATION
from vbgui.gui.style import configure_pyqtgraph

INITIAL_SIZE = (1600, 1000)


def run_application(argv: list[str]) -> int:
    """Open the main window and run until it closes; a ``.npz`` argument is opened instead of the sample."""
    app = QApplication.instance() or QApplication([sys.argv[0], *argv])
    app.setOrganizationName(ORGANISATION)
    app.setApplicationName(APPLICATION)
    configure_pyqtgraph()
    from vbgui.gui.main_window import MainWindow  # after pyqtgraph's configuration

    recordings = [arg for arg in app.arguments()[1:] if arg.lower().endswith(".npz")]
    window = MainWindow(load_sample=not recordings)
    if recordings:
        window.open_recording(recordings[0])
    window.resize(*INITIAL_SIZE)
    window.show()
    return app.exec()
