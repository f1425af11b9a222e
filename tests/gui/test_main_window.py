"""The assembled main window: first launch, shortcuts, tooltips, icon."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QCheckBox, QComboBox, QLineEdit, QListWidget, QPushButton

from vbgui.gui.main_window import DEFAULT_PRESET, MainWindow


def test_first_launch_has_the_real_recording_and_the_default_preset(qtbot, fresh_settings) -> None:
    window = MainWindow(settings=fresh_settings)
    qtbot.addWidget(window)
    recording = window.recording
    assert recording is not None and Path(recording.source).name == "grasshopper-receptor-1.npz"
    assert recording.n_bins == 10_000 and recording.dt == 0.001 and recording.response.sum() == 929
    assert window.preset_panel.preset_list.currentItem().text() == DEFAULT_PRESET
    assert window.run_action.isEnabled()
    summary = window.recording_panel.summary.text()
    assert "10,000 bins" in summary and "BSD 3-Clause" in summary and "Rokem et al. (2006)" in summary


def test_shortcuts(window) -> None:
    expected = {window.open_action: "Ctrl+O", window.run_action: "Ctrl+R", window.pause_action: "Space",
                window.export_action: "Ctrl+E", window.fullscreen_action: "F11"}
    for action, keys in expected.items():
        assert action.shortcut().toString() == keys


def test_every_control_has_a_tooltip(window) -> None:
    missing = [f"{type(w).__name__} {getattr(w, 'text', lambda: '')()}"
               for kind in (QLineEdit, QComboBox, QCheckBox, QPushButton, QListWidget)
               for w in window.findChildren(kind)
               if w.isVisibleTo(window) and not w.toolTip() and not isinstance(w.parent(), QComboBox)]
    assert missing == []


def test_the_application_has_its_icon(qtbot) -> None:  # qtbot: a QApplication must exist for QIcon
    from vbgui.gui.application import ICON, application_icon

    assert ICON.is_file()
    assert not application_icon().isNull()
