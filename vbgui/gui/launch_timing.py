"""``vbgui --launch-timing``: how long a launch takes, as the user sees it, for benchmarks/bench_launch.py.

Opens the real window (with the user's settings left untouched), presses
Run as soon as the window is on screen, and prints one JSON line with the
wall-clock times (``time.time()``, so the benchmark can subtract the moment
it started the process) at which the window was shown and the first ELBO
point was drawn; then quits.
"""
from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication

POLL_MS = 5
TIMEOUT_S = 300


def run_launch_timing(app: QApplication) -> int:
    """Show the window, run the default fit, print {"window_shown": t, "first_elbo_point": t}; 0 on success."""
    from vbgui.gui.main_window import MainWindow

    times: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="vbgui-launch-") as folder:
        window = MainWindow(settings=QSettings(str(Path(folder) / "settings.ini"), QSettings.Format.IniFormat))
        window.show()
        deadline = time.time() + TIMEOUT_S

        def on_shown() -> None:
            times["window_shown"] = time.time()
            window.run_fit()

        def poll() -> None:
            x, _ = window.elbo_plot.elbo_curve.getData()
            if x is not None and len(x) > 0:
                times["first_elbo_point"] = time.time()
            if "first_elbo_point" in times or time.time() > deadline:
                timer.stop()
                window.close()
                app.quit()

        QTimer.singleShot(0, on_shown)  # runs once the event loop has shown the window
        timer = QTimer()
        timer.timeout.connect(poll)
        timer.start(POLL_MS)
        app.exec()
        window.deleteLater()
    print(json.dumps(times), flush=True)
    return 0 if "first_elbo_point" in times else 1
