"""Recordings: File > Open recording, Open recording folder, Open recent, dropped files, the unit choice.

The controller owns the window's current recording (one unit of the loaded
file) and the loaded file itself.  A .mat or CSV/TSV file that uses other
names than vbgui's opens the variables dialog, and a Kilosort/phy folder the
dialog for its bin width and stimulus file; accepting either reads the file
again with the user's choices.  Showing a recording resets any fit.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import QDialog, QFileDialog, QMainWindow, QMenu

import vbgui
from vbgui.errors import NamingError, RecordingError, VbguiError
from vbgui.gui.file_variables import file_variables, roles_for
from vbgui.gui.phy_folder_dialog import PhyFolderDialog
from vbgui.gui.recent_files import RecentFiles
from vbgui.gui.recording_panel import RecordingPanel
from vbgui.gui.variables_dialog import VariablesDialog
from vbgui.gui.window.actions import add_action
from vbgui.io.loaders import (EXTENSIONS, FILE_FILTER, SHIPPED_RECORDING_NOTES, LoadOptions, read_recording_file,
                              shipped_recordings)
from vbgui.io.phy import is_phy_folder
from vbgui.io.recording import Recording, RecordingFile

SAMPLE_RECORDING = Path(vbgui.__file__).parent / "resources" / "recordings" / "grasshopper-receptor-1.npz"


def dropped_recording_paths(event: QDragEnterEvent | QDropEvent) -> list[str]:
    """Dropped recording files and folders (a folder may be in the Pillow lab layout)."""
    return [url.toLocalFile() for url in event.mimeData().urls()
            if url.isLocalFile() and (url.toLocalFile().lower().endswith(EXTENSIONS)
                                      or Path(url.toLocalFile()).is_dir())]


class RecordingsController:
    """Opens recordings into ``panel`` and keeps the current one; messages and the fit go through ``window``."""

    def __init__(self, window: QMainWindow, panel: RecordingPanel, recent: RecentFiles) -> None:
        self.window = window
        self.panel = panel
        self.recent = recent
        self.recording: Recording | None = None
        self.recording_file: RecordingFile | None = None
        self.variables_dialog: QDialog | None = None  # the variables dialog, or the phy folder dialog
        self.open_action = add_action(window, "&Open recording…", self.choose_recording,
                                      QKeySequence.StandardKey.Open,
                                      "Open a recording (.npz, .mat, .csv, .tsv, .nwb) (Ctrl+O); you can also "
                                      "drop a file on the window.")
        self.open_folder_action = add_action(window, "Open recording &folder…", self.choose_recording_folder, None,
                                             "Open a Kilosort/phy output folder (its units labelled good, "
                                             "binned at a width you choose, with a stimulus file or none), or a "
                                             "folder in the Pillow lab tutorial layout (Stim.mat, stimtimes.mat, "
                                             "SpTimes.mat).")
        self.recent_menu: QMenu | None = None
        self.sample_menu: QMenu | None = None
        panel.unit_chosen.connect(self.select_unit)

    def fill_menu(self, file_menu: QMenu) -> None:
        """Add Open recording, Open recording folder, Open sample recording and Open recent to ``file_menu``."""
        file_menu.addAction(self.open_action)
        file_menu.addAction(self.open_folder_action)
        self.sample_menu = file_menu.addMenu("Open &sample recording")
        self.sample_menu.setToolTipsVisible(True)
        for name, path in shipped_recordings().items():
            action = self.sample_menu.addAction(name, lambda p=path: self.open_recording(str(p), remember=False))
            note = SHIPPED_RECORDING_NOTES.get(name, "")
            action.setToolTip(note)
            action.setStatusTip(f"{name}: {note}" if note else name)
        self.recent_menu = file_menu.addMenu("Open &recent")
        self.recent_menu.aboutToShow.connect(self.fill_recent_menu)

    def start_folder(self) -> str:
        """Where an open dialog starts: the last recording's folder, else where save dialogs open."""
        return str(Path(self.recent.paths()[0]).parent) if self.recent.paths() else self.window.save_folder()

    def choose_recording(self) -> None:
        """File > Open recording: ask for a file and open it."""
        path, _ = QFileDialog.getOpenFileName(self.window, "Open recording", self.start_folder(),
                                              f"{FILE_FILTER};;All files (*)")
        if path:
            self.open_recording(path)

    def choose_recording_folder(self) -> None:
        """File > Open recording folder: ask for a Kilosort/phy or Pillow lab tutorial folder and open it."""
        path = QFileDialog.getExistingDirectory(self.window, "Open a Kilosort/phy or Pillow lab tutorial folder",
                                                self.start_folder())
        if path:
            self.open_recording(path)

    def open_recording(self, path: str | Path, remember: bool = True, options: LoadOptions | None = None) -> bool:
        """Load a recording (file or Pillow lab folder); on failure say why and keep the current one.

        When a .mat or CSV/TSV file uses other names than vbgui's, the
        variables dialog opens so the user can say which variable is which;
        accepting it opens the file again with those choices.  A Kilosort/phy
        folder opened without options asks for its bin width and stimulus
        file first (and again when the loader says they do not suffice).
        Returns whether a recording was loaded now.
        """
        if self.window.is_fitting():
            self.window.show_error("Fit running", "Stop the running fit before opening another recording.")
            return False
        phy_folder = is_phy_folder(Path(path))
        if phy_folder and options is None:
            self.ask_for_phy_options(path, "", None, remember)
            return False
        try:
            recording_file = read_recording_file(path, options)
        except RecordingError as exc:
            names = file_variables(path) if isinstance(exc, NamingError) else []
            if phy_folder and isinstance(exc, NamingError):
                self.ask_for_phy_options(path, str(exc), options, remember)
            elif names and roles_for(path):
                self.ask_for_variables(path, str(exc), names, options, remember)
            else:
                self.window.show_error("Cannot open the recording", str(exc))
            return False
        except VbguiError as exc:
            self.window.show_error("Cannot open the recording", str(exc))
            return False
        self.recording_file = recording_file
        self.panel.set_units(recording_file.unit_names, 0)
        self.show_recording(recording_file.unit(0))
        if remember:
            self.recent.add(path)
        return True

    def ask_for_variables(self, path: str | Path, message: str, names: list[str], previous: LoadOptions | None,
                          remember: bool) -> None:
        """Open the variables dialog (non-blocking); accepting it retries the file with the user's choice."""
        if self.variables_dialog is not None:
            self.variables_dialog.close()
        self.window.last_error = message
        self.window.show_status(f"{Path(path).name}: choose its variables (the current recording stays loaded).",
                                error=True)
        dialog = VariablesDialog(path, message, roles_for(path), names, previous, self.window)
        dialog.accepted.connect(lambda: self.open_recording(path, remember, dialog.options()))
        self.variables_dialog = dialog
        dialog.open()

    def ask_for_phy_options(self, path: str | Path, message: str, previous: LoadOptions | None,
                            remember: bool) -> None:
        """Open the phy folder dialog (non-blocking); accepting it opens the folder with the bin width and
        stimulus file given."""
        if self.variables_dialog is not None:
            self.variables_dialog.close()
        if message:
            self.window.last_error = message
        self.window.show_status(f"{Path(path).name}: choose the bin width and stimulus file (the current "
                                "recording stays loaded).", error=bool(message))
        dialog = PhyFolderDialog(path, message, previous, self.window)
        dialog.accepted.connect(lambda: self.open_recording(path, remember, dialog.options()))
        self.variables_dialog = dialog
        dialog.open()

    def select_unit(self, index: int) -> None:
        """Fit another unit of the loaded file (no re-reading)."""
        if self.recording_file is None:
            return
        if self.window.is_fitting():
            self.window.show_error("Fit running", "Stop the running fit before choosing another unit.")
            self.panel.set_units(self.recording_file.unit_names,
                                 self.recording_file.unit_index(self.recording.unit or None))
            return
        self.show_recording(self.recording_file.unit(index))

    def show_reopened_recording(self, recording: Recording) -> None:
        """Show the recording a reopened result was fitted to (read on its own: no file, no unit choice)."""
        self.recording_file = None
        self.panel.set_units((), 0)
        self.show_recording(recording)

    def show_recording(self, recording: Recording) -> None:
        """Make ``recording`` the current one: draw it, lay the model out for it and clear any fit."""
        self.recording = recording
        self.panel.show_recording(recording)
        self.window.refresh_model_layout()
        unit = f", unit {recording.unit}" if recording.unit else ""
        self.window.setWindowTitle(f"vbgui — {Path(recording.source).name}{unit}")
        self.window.reset_fit()
        self.window.show_status(f"Loaded {Path(recording.source).name}{unit}: press Run (Ctrl+R) to fit "
                                f"{self.window.preset_panel.family_name()} q.")

    def fill_recent_menu(self) -> None:
        """Fill File > Open recent with the remembered recordings (when it is about to show)."""
        self.recent_menu.clear()
        paths = self.recent.paths()
        if not paths:
            self.recent_menu.addAction("(none yet)").setEnabled(False)
        for path in paths:
            self.recent_menu.addAction(path, lambda p=path: self.open_recent(p))

    def open_recent(self, path: str) -> None:
        """Open a remembered recording; one that no longer exists is forgotten (and the error says why)."""
        if not Path(path).exists():
            self.recent.remove(path)
        self.open_recording(path)

    def accept_drag(self, event: QDragEnterEvent) -> None:
        """Accept a drag that carries a recording file or folder."""
        if dropped_recording_paths(event):
            event.acceptProposedAction()

    def open_dropped(self, event: QDropEvent) -> None:
        """Open the first recording file or folder dropped on the window."""
        paths = dropped_recording_paths(event)
        if paths:
            event.acceptProposedAction()
            self.open_recording(paths[0])
