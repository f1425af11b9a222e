"""Helpers the main window's GUI tests share: typing into the preset form, running a fit to its end."""
from __future__ import annotations

import numpy as np

from vbgui.gui.main_window import MainWindow

FIT_TIMEOUT_MS = 20_000


def set_field(window: MainWindow, key: str, text: str) -> None:
    """Type ``text`` into the form field of preset key ``key`` (e.g. 'fit.max_iter')."""
    edit = window.preset_panel.numbers[key]
    edit.setText(text)
    edit.textEdited.emit(text)


def prepare_long_reparam_fit(window: MainWindow, recording_path) -> None:
    """A Monte Carlo fit of the large recording that would run for minutes (for Stop and Pause)."""
    window.open_recording(recording_path)
    window.preset_panel.select("poisson-glm")
    window.preset_panel.estimator.setCurrentText("reparam")
    set_field(window, "design.spike_history_lags", "0")
    set_field(window, "fit.max_iter", "100000")


def run_to_end(qtbot, window: MainWindow, timeout_ms: int = FIT_TIMEOUT_MS):
    """Run a fit of the window's preset and wait for its end (``timeout_ms``: a fit that never ends); returns
    the FitResult."""
    with qtbot.waitSignal(window.fit_finished, timeout=timeout_ms) as finished:
        assert window.run_fit()
    return finished.args[0]


def curve_y(curve) -> np.ndarray:
    """The y values a plot curve shows (empty when it shows none)."""
    y = curve.getData()[1]
    return np.array([]) if y is None else np.asarray(y)
