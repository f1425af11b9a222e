"""The application shell: persisted layout, preset and theme; unexpected errors; the engine's state."""
from __future__ import annotations

import sys

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from vbgui.gui import crash_report
from vbgui.gui.main_window import DEFAULT_PRESET, DEFAULT_SIZE, MainWindow, default_window_size
from vbgui.gui.preferences import Preferences


def new_window(qtbot, settings) -> MainWindow:
    window = MainWindow(settings=settings, load_sample=False)
    qtbot.addWidget(window)
    window.show()
    return window


def test_layout_is_restored_and_reset(qtbot, fresh_settings) -> None:
    window = new_window(qtbot, fresh_settings)
    available = window.screen().availableGeometry()  # offscreen: 800 x 800, so the default is fitted to it
    default = default_window_size(available.width(), available.height())
    # no narrower than the panels' minimum width (about 890 px), which an 800 px screen cannot hold
    fitted = (max(default[0], window.minimumSizeHint().width()), default[1])
    assert default == (800, 760) and (window.width(), window.height()) == fitted
    window.resize(1000, 580)
    window.splitters["plots"].setSizes([300, 150])
    qtbot.wait(10)
    saved_split = window.splitters["plots"].sizes()
    window.close()
    again = new_window(qtbot, fresh_settings)
    assert again.height() == 580  # the offscreen screen is 800 px wide: restoreGeometry clamps the width
    assert again.splitters["plots"].sizes() == saved_split
    again.reset_layout_action.trigger()
    assert (again.width(), again.height()) == fitted
    assert Preferences(fresh_settings).layout() == (None, None, [])


def test_the_default_size_fits_the_screen() -> None:
    assert default_window_size(1920, 1040) == DEFAULT_SIZE
    assert default_window_size(1366, 728) == (1366, 688)


def test_last_preset_and_theme_persist(qtbot, fresh_settings, tmp_path) -> None:
    window = new_window(qtbot, fresh_settings)
    assert window.preset_panel.preset_list.currentItem().text() == DEFAULT_PRESET
    window.preset_panel.select("linear-gaussian")
    window.theme_actions["dark"].trigger()
    assert "next starts" in window.status_label.text()
    window.close()
    again = new_window(qtbot, fresh_settings)
    assert again.preset_panel.preset_list.currentItem().text() == "linear-gaussian"
    assert again.theme_actions["dark"].isChecked() and Preferences(fresh_settings).theme == "dark"
    saved = tmp_path / "mine.toml"
    again.write_preset(again.preset_panel.current_preset(), saved)
    again.open_preset(saved)
    again.close()
    third = new_window(qtbot, fresh_settings)
    assert third.preset_panel.preset_list.currentItem().text() == "mine.toml"


@pytest.mark.qt_no_exception_capture
def test_an_exception_in_a_slot_shows_a_dialog_logs_it_and_the_app_runs_on(qtbot, window, tmp_path,
                                                                          monkeypatch) -> None:
    log = tmp_path / "data" / "vbgui.log"
    monkeypatch.setattr(crash_report, "log_path", lambda: log)

    def broken_slot() -> None:
        raise ZeroDivisionError("a bug in a slot")

    with crash_report.install_exception_hook(window) as reporter:
        assert sys.excepthook is reporter
        QTimer.singleShot(0, broken_slot)
        qtbot.waitUntil(lambda: reporter.dialog is not None and reporter.dialog.isVisible(), timeout=2000)
    assert sys.excepthook is not reporter
    dialog = reporter.dialog
    assert "ZeroDivisionError: a bug in a slot" in dialog.message.text() and str(log) in dialog.message.text()
    dialog.copy_button.click()
    assert dialog.isVisible(), "copying must not close the dialog"
    clipboard = QApplication.clipboard().text()
    assert "Traceback" in clipboard and "broken_slot" in clipboard
    assert "a bug in a slot" in log.read_text() and "broken_slot" in log.read_text()
    assert window.isVisible() and window.run_action.isEnabled() is False  # no recording: the window is as it was


def test_the_engine_state_is_shown(window) -> None:
    assert window.warmup.wait(60)
    QApplication.processEvents()
    assert window.engine_label.text() == "engine: ready"
