"""The application entry point and the guard against Qt bindings known to crash."""
from __future__ import annotations

import os
import subprocess
import sys
import time

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from vbgui.gui.application import qt_binding_problem, run_application
from vbgui.gui.main_window import MainWindow


def test_run_application_opens_the_given_recording_and_returns_on_close(qtbot, small_recording_path) -> None:
    seen: list[MainWindow] = []

    def close_window() -> None:
        windows = [w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible()]
        seen.extend(windows)
        for window in windows:
            window.close()

    QTimer.singleShot(300, close_window)
    assert run_application([str(small_recording_path)]) == 0
    assert len(seen) == 1
    assert seen[0].recording.source == str(small_recording_path)


def test_pyside_612_on_python_311_is_refused_with_advice() -> None:
    assert "PySide6-Essentials" in qt_binding_problem("6.12.0", (3, 11))
    assert qt_binding_problem("6.12.0", (3, 12)) is None
    assert qt_binding_problem("6.11.3", (3, 11)) is None


def test_no_display_is_said_in_one_line_before_qt_starts() -> None:
    import os
    import subprocess
    import sys

    from vbgui.gui.application import display_problem

    assert "no display" in display_problem({}, "linux")
    assert display_problem({"DISPLAY": ":0"}, "linux") is None
    assert display_problem({"WAYLAND_DISPLAY": "wayland-0"}, "linux") is None
    assert display_problem({"QT_QPA_PLATFORM": "offscreen"}, "linux") is None
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    completed = subprocess.run([sys.executable, "-m", "vbgui"], capture_output=True, text=True, timeout=60, env=env)
    assert completed.returncode == 2
    assert completed.stderr.count("\n") == 1 and completed.stderr.startswith("vbgui: error: no display")


LEAVE_DURING_WARMUP = """
import sys, time
from PySide6.QtWidgets import QApplication
import vbgui.gui.engine_warmup as warmup_module

def slow_warm_up(_cancel, _report):
    time.sleep(30)  # numba 'still compiling'
    return 30.0

warmup_module._warm_up = slow_warm_up
app = QApplication([])
from vbgui.gui.application import leave_after_warmup

warmup_module.engine_warmup()
print("leaving", flush=True)
sys.exit(leave_after_warmup(3, join_seconds=0.2))
"""


def test_leaving_while_the_engine_still_compiles_exits_with_the_status_not_an_abort(tmp_path) -> None:
    """Qt aborts a process whose running QThread is destroyed; a warm-up still compiling after the wait
    must not turn a normal close into that abort (nor keep the process waiting for it)."""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    started = time.perf_counter()
    completed = subprocess.run([sys.executable, "-c", LEAVE_DURING_WARMUP], capture_output=True, text=True,
                               timeout=120, env=env, cwd=tmp_path)
    assert completed.stdout.strip() == "leaving"
    assert completed.returncode == 3, completed.stderr
    assert "QThread: Destroyed" not in completed.stderr
    assert time.perf_counter() - started < 25  # did not wait for the 30 s 'compile'
