"""Presets: the list of shipped and opened presets, File > Open preset and Save preset as, the last one used.

The form itself is :class:`~vbgui.gui.preset_panel.PresetPanel`; this
controller fills its list, opens and writes TOML files, hands the form the
recording shown (so the coupling lags are checked against it), and remembers the
preset used last (a shipped one by name, a file by path) in the preferences.
"""
from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QMainWindow

from vbgui.errors import VbguiError
from vbgui.gui.preferences import Preferences
from vbgui.gui.preset_panel import PresetPanel
from vbgui.gui.tooltips import TOOLTIPS
from vbgui.gui.window.actions import add_action
from vbgui.io.safe_write import write_file
from vbgui.models.preset import Preset, load_preset, shipped_preset_names

DEFAULT_PRESET = "poisson-glm"


class PresetsController:
    """Open, save and remember the presets of ``panel``; messages go to ``window`` (a MainWindow)."""

    def __init__(self, window: QMainWindow, panel: PresetPanel, preferences: Preferences) -> None:
        self.window = window
        self.panel = panel
        self.preferences = preferences
        self.open_preset_action = add_action(window, "Open &preset…", self.choose_preset, None,
                                             "Open a preset TOML file and add it to the preset list.")
        self.save_preset_action = add_action(window, "&Save preset as…", self.save_preset, "Ctrl+Shift+S",
                                             TOOLTIPS["save_preset"])
        # the form checks the coupling lags against the recording shown (each new recording or unit clears the fit)
        window.fit_cleared.connect(self.follow_recording)

    def follow_recording(self) -> None:
        """Check the form against the window's recording (when it is another one: a fit's start clears the fit
        too): coupling lags need several units, bins and memory."""
        if self.window.recording is not self.panel.recording:
            self.panel.set_recording(self.window.recording)

    def load_presets(self) -> None:
        """List the shipped presets, select the one used last and remember each shipped one chosen from now on."""
        for name in shipped_preset_names(include_latent=True):
            self.panel.add_preset(load_preset(name), name, "shipped preset", select=False)
        self.restore_last_preset()
        self.panel.preset_list.currentTextChanged.connect(self.remember_shipped_preset)

    def choose_preset(self) -> None:
        """File > Open preset: ask for a TOML file and open it."""
        path, _ = QFileDialog.getOpenFileName(self.window, "Open preset", self.window.start_folder(),
                                              "Presets (*.toml);;All files (*)")
        if path:
            self.open_preset(path)

    def open_preset(self, path: str | Path) -> bool:
        """Add the preset in TOML file ``path`` to the list and select it; on failure say why. Returns success."""
        try:
            preset = load_preset(Path(path))
        except VbguiError as exc:
            self.window.show_error("Cannot open the preset", str(exc))
            return False
        self.panel.add_preset(preset, f"{Path(path).name}", str(path))
        self.preferences.last_preset = str(Path(path).resolve())
        self.window.show_status(f"Opened preset {path}")
        return True

    def remember_shipped_preset(self, label: str) -> None:
        """Remember a shipped preset chosen in the list (an opened file is remembered when opened)."""
        if label in shipped_preset_names(include_latent=True):
            self.preferences.last_preset = label

    def restore_last_preset(self) -> None:
        """Select the preset used last: a shipped one by name, or a TOML file opened again by path."""
        last = self.preferences.last_preset
        if last in shipped_preset_names(include_latent=True):
            self.panel.select(last)
        elif last and Path(last).is_file() and self.open_preset(last):
            return
        else:
            self.panel.select(DEFAULT_PRESET)

    def save_preset(self) -> None:
        """File > Save preset as: ask where, then write the form's preset."""
        preset = self.panel.current_preset()
        if preset is None:
            self.window.show_error("Invalid preset", f"Fix the form first: {self.panel.message.text()}")
            return
        path, _ = QFileDialog.getSaveFileName(self.window, "Save preset",
                                              os.path.join(self.window.save_folder(),
                                                           f"{preset.name or 'preset'}.toml"),
                                              "Presets (*.toml)")
        if path:
            self.write_preset(preset, path, force=True)  # the save dialog asked before replacing

    def write_preset(self, preset: Preset, path: str | Path, force: bool = False) -> bool:
        """Save ``preset`` as TOML (suffix .toml); ``force`` replaces ``path`` itself, never a name reached
        by changing the suffix."""
        chosen = Path(path)
        path = chosen.with_suffix(".toml")
        try:
            write_file(path, lambda handle: handle.write(preset.to_toml().encode("utf-8")),
                       force=force and path == chosen)
        except VbguiError as exc:
            self.window.show_error("Cannot save the preset", str(exc))
            return False
        except OSError as exc:
            self.window.show_error("Cannot save the preset", f"{path}: {exc.strerror or exc}")
            return False
        self.preferences.save_folder = str(path.parent)
        self.window.show_status(f"Saved preset to {path}")
        return True
