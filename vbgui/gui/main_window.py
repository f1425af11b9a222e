"""The main window: assembles the panels, the menus and the fit controls.

A fit runs in a :class:`~vbgui.gui.worker.FitRunner` (worker QObject in a
QThread).  Its progress signals only store the latest iteration; a QTimer
repaints at REPAINT_HZ from the worker's trace buffer, so the GUI thread
does a bounded amount of drawing however fast the engine iterates.  The
numba engine is compiled in the background from the moment the window
opens (:mod:`vbgui.gui.engine_warmup`); the layout, last preset and theme
persist in QSettings (:mod:`vbgui.gui.preferences`).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import (QDockWidget, QFileDialog, QGroupBox, QHBoxLayout, QLabel, QMainWindow, QMessageBox,
                               QProgressBar, QPushButton, QScrollArea, QSplitter, QVBoxLayout, QWidget)

from vbgui.errors import VbguiError
from vbgui.gui.demos.menu import install_demos_menu
from vbgui.gui.diagnostics_controller import install_diagnostics
from vbgui.gui.elbo_plot import ElboPlot
from vbgui.gui.export import EXPORT_FILTER, export_plot
from vbgui.app.layout import layout_from_names, model_layout
from vbgui.gui.parameters_panel import ParametersPanel
from vbgui.gui.posterior_plot import PosteriorPlot
from vbgui.gui.preferences import Preferences
from vbgui.gui.preset_panel import PresetPanel
from vbgui.gui.recent_files import RecentFiles, application_settings
from vbgui.gui.recording_panel import RecordingPanel
from vbgui.gui.summary_panel import SummaryPanel
from vbgui.gui.window.fit_control import PROGRESS_FORMAT, FitController
from vbgui.gui.window.help import HelpController
from vbgui.gui.window.recordings import SAMPLE_RECORDING, RecordingsController
from vbgui.gui.window.presets import DEFAULT_PRESET, PresetsController  # noqa: F401 - DEFAULT_PRESET re-exported
from vbgui.gui.window.theme import ThemeController
from vbgui.io.exports import EXPORT_FORMATS, export_files, write_export

if TYPE_CHECKING:  # the engine (scipy, numba) loads in the background, not before the window shows
    from vbgui.app.reopen import ReopenedFit

DEFAULT_SIZE = (1600, 1000)
TITLE_BAR_ALLOWANCE = 40  # pixels the window manager's frame takes from a screen's height
DOCK_HEIGHT_SHARE = 0.3  # the diagnostics dock's share of the window's height by default
MAX_DOCK_HEIGHT = 300
SIDEBAR_WIDTH = 370
# the panels' sizes in pixels in each splitter at the default window size, restored by View > Reset layout
# (QSplitter scales them to the window's actual size)
DEFAULT_SPLITS = {"main": (SIDEBAR_WIDTH, DEFAULT_SIZE[0] - SIDEBAR_WIDTH), "top": (660, 570),
                  "bottom": (660, 570), "plots": (470, 510)}
EXPORT_FILTERS = {"JSON result (*.json)": ".json", "CSV table (*.csv)": ".csv", "NumPy arrays (*.npz)": ".npz",
                  "MATLAB struct (*.mat)": ".mat"}


def default_window_size(available_width: int, available_height: int) -> tuple[int, int]:
    """DEFAULT_SIZE, or less on a screen whose available area (pixels) is smaller; room left for the title bar."""
    return (min(DEFAULT_SIZE[0], available_width),
            min(DEFAULT_SIZE[1], available_height - TITLE_BAR_ALLOWANCE))


class MainWindow(QMainWindow):
    """The vbgui application window.

    ``fit_finished`` (FitResult) and ``fit_failed`` (message) are emitted
    after the window has shown a fit's end, for tests and scripts;
    ``result_reopened`` (FitResult) after it has shown a fit read from its
    file, ``fit_cleared`` when it no longer shows any fit (Reset).
    """

    fit_started = Signal()
    fit_finished = Signal(object)
    fit_failed = Signal(str)
    fit_cleared = Signal()
    result_reopened = Signal(object)

    runner = property(lambda self: self.fit.runner)
    result = property(lambda self: self.fit.result)
    recording = property(lambda self: self.recordings.recording)
    recording_file = property(lambda self: self.recordings.recording_file)
    variables_dialog = property(lambda self: self.recordings.variables_dialog)
    about_dialog = property(lambda self: self.help.about_dialog)
    user_guide = property(lambda self: self.help.user_guide)

    def __init__(self, settings: QSettings | None = None, load_sample: bool = True) -> None:
        super().__init__()
        self.setWindowTitle("vbgui")
        self.setAcceptDrops(True)
        settings = settings if settings is not None else application_settings()
        self.recent = RecentFiles(settings)
        self.preferences = Preferences(settings)
        self.last_error = ""
        self.error_box: QMessageBox | None = None

        self.recording_panel = RecordingPanel()
        self.preset_panel = PresetPanel()
        self.elbo_plot = ElboPlot()
        self.posterior_plot = PosteriorPlot()
        self.parameters_panel = ParametersPanel()
        self.summary_panel = SummaryPanel()
        self.recordings = RecordingsController(self, self.recording_panel, self.recent)
        self.open_action = self.recordings.open_action
        self.open_recording, self.choose_recording = self.recordings.open_recording, self.recordings.choose_recording
        self.select_unit, self.start_folder = self.recordings.select_unit, self.recordings.start_folder
        self.fit = FitController(self)
        self.run_action, self.pause_action = self.fit.run_action, self.fit.pause_action
        self.stop_action, self.reset_action = self.fit.stop_action, self.fit.reset_action
        self.repaint_timer, self.repaint_fit = self.fit.repaint_timer, self.fit.repaint_fit
        self.run_fit, self.toggle_pause, self.stop_fit = self.fit.run_fit, self.fit.toggle_pause, self.fit.stop_fit
        self.reset_fit, self.is_fitting = self.fit.reset_fit, self.fit.is_fitting
        self.refresh_model_layout = self.fit.refresh_model_layout
        self._build_actions()
        self.theme = ThemeController(self, self.preferences)
        self.presets = PresetsController(self, self.preset_panel, self.preferences)
        self.open_preset_action, self.save_preset_action = (self.presets.open_preset_action,
                                                            self.presets.save_preset_action)
        self.choose_preset, self.open_preset = self.presets.choose_preset, self.presets.open_preset
        self.save_preset, self.write_preset = self.presets.save_preset, self.presets.write_preset
        self.theme_actions, self.choose_theme = self.theme.theme_actions, self.theme.choose_theme
        self.help = HelpController(self)
        self.show_about, self.show_user_guide = self.help.show_about, self.help.show_user_guide
        self.user_guide_action, self.about_action = self.help.user_guide_action, self.help.about_action
        self.about_data_action = self.help.about_data_action
        self._build_menus()
        self.theme.fill_menu(self.view_menu)
        self.help.fill_menu()
        install_demos_menu(self)
        self._build_layout()
        self._build_status_bar()
        self.diagnostics = install_diagnostics(self)
        self.parameters_panel.link_time_axis(self.recording_panel.response_plot)
        self.preset_panel.preset_changed.connect(self.fit.on_preset_changed)

        self.presets.load_presets()
        if load_sample and SAMPLE_RECORDING.is_file():
            self.open_recording(SAMPLE_RECORDING, remember=False)
        self.restore_layout()
        self.fit.update_controls()
        self.fit.start_engine_warmup()
        self.warmup = self.fit.warmup

    # -- construction -------------------------------------------------------------------------------
    def _action(self, text: str, slot, shortcut: QKeySequence | str | None = None, tip: str = "") -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.setToolTip(tip or text)
        action.setStatusTip(tip or text)
        action.triggered.connect(slot)
        self.addAction(action)  # shortcuts work even when the menu bar is hidden (full screen)
        return action

    def _build_actions(self) -> None:
        self.open_result_action = self._action("Open res&ult…", self.choose_result, "Ctrl+Shift+O",
                                               "Reopen a fit from its result file (.json): curves, parameters and "
                                               "contours, without refitting.")
        self.export_action = self._action("&Export result…", self.export_result, "Ctrl+E",
                                          "Write the last fit's parameters with their provenance as JSON, CSV, "
                                          "NPZ or MATLAB (Ctrl+E).")
        self.quit_action = self._action("&Quit", self.close, QKeySequence.StandardKey.Quit, "Quit vbgui.")
        self.fullscreen_action = self._action("&Full screen", self.toggle_full_screen, Qt.Key.Key_F11,
                                              "Toggle full screen (F11).")
        self.reset_layout_action = self._action("&Reset layout", self.reset_layout, None,
                                                "Put the window and its panels back to their default sizes.")
        self.export_plot_actions = {
            name: self._action(f"{name} plot…", lambda _=False, n=name: self.export_plot(n), None,
                               f"Save the {name.lower()} plot as PNG or SVG.")
            for name in ("Recording", "ELBO", "Posterior", "Parameters")}

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        self.recordings.fill_menu(file_menu)
        file_menu.addAction(self.open_result_action)
        file_menu.addSeparator()
        file_menu.addAction(self.open_preset_action)
        file_menu.addAction(self.save_preset_action)
        file_menu.addSeparator()
        file_menu.addAction(self.export_action)
        plot_menu = file_menu.addMenu("Export &plot")
        for action in self.export_plot_actions.values():
            plot_menu.addAction(action)
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)
        fit_menu = self.menuBar().addMenu("F&it")
        self.fit.fill_menu(fit_menu)
        self.view_menu = self.menuBar().addMenu("&View")
        self.view_menu.addAction(self.fullscreen_action)
        self.view_menu.addAction(self.reset_layout_action)
    def _button(self, action: QAction) -> QPushButton:
        button = QPushButton(action.text().replace("&", ""))
        button.setToolTip(f"{action.toolTip()} [{action.shortcut().toString()}]" if not action.shortcut().isEmpty()
                          else action.toolTip())
        button.clicked.connect(action.trigger)
        return button

    def _build_layout(self) -> None:
        self.run_button = self._button(self.run_action)
        self.pause_button = self._button(self.pause_action)
        self.stop_button = self._button(self.stop_action)
        self.reset_button = self._button(self.reset_action)
        self.save_preset_button = self._button(self.save_preset_action)
        self.run_button.setStyleSheet("font-weight: bold;")
        buttons = QHBoxLayout()
        for button in (self.run_button, self.pause_button, self.stop_button, self.reset_button):
            buttons.addWidget(button)

        preset_box = QGroupBox("Model preset")
        preset_layout = QVBoxLayout(preset_box)
        preset_layout.addWidget(self.preset_panel)
        preset_layout.addWidget(self.save_preset_button)
        fit_box = QGroupBox("Fit")
        fit_layout = QVBoxLayout(fit_box)
        fit_layout.addLayout(buttons)
        fit_layout.addWidget(self.summary_panel)
        # the fit's controls and its numbers on top, never scrolled away; the long preset form scrolls under them
        preset_scroll = QScrollArea()
        preset_scroll.setWidget(preset_box)
        preset_scroll.setWidgetResizable(True)
        preset_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        preset_scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        sidebar = QWidget()
        sidebar.setMinimumWidth(360)
        sidebar_layout = QVBoxLayout(sidebar)
        sidebar_layout.setContentsMargins(4, 4, 4, 4)
        sidebar_layout.addWidget(fit_box)
        sidebar_layout.addWidget(preset_scroll, 1)

        top = QSplitter(Qt.Orientation.Horizontal)
        top.addWidget(self.recording_panel)
        top.addWidget(self.elbo_plot)
        bottom = QSplitter(Qt.Orientation.Horizontal)
        bottom.addWidget(self.posterior_plot)
        bottom.addWidget(self.parameters_panel)
        plots = QSplitter(Qt.Orientation.Vertical)
        plots.addWidget(top)
        plots.addWidget(bottom)
        plots.setStretchFactor(0, 2)
        plots.setStretchFactor(1, 3)
        main = QSplitter(Qt.Orientation.Horizontal)
        main.addWidget(sidebar)
        main.addWidget(plots)
        main.setStretchFactor(1, 1)
        self.splitters = {"main": main, "top": top, "bottom": bottom, "plots": plots}
        for name, splitter in self.splitters.items():
            splitter.setObjectName(f"{name}-splitter")
        self.setCentralWidget(main)

    def _build_status_bar(self) -> None:
        self.status_label = QLabel("")
        self.progress_bar = QProgressBar()
        self.progress_bar.setMinimumWidth(240)
        self.progress_bar.setToolTip("Iterations done out of the preset's maximum.")
        self.idle_progress()
        self.engine_label = QLabel("engine: ready")
        self.engine_label.setToolTip("The numba engine is compiled once per installation (in the background); "
                                     "a fit started before it is ready waits for it.")
        self.statusBar().addWidget(self.status_label, 1)
        self.statusBar().addPermanentWidget(self.engine_label)
        self.statusBar().addPermanentWidget(self.progress_bar)

    def idle_progress(self) -> None:
        """No fit: an empty bar saying so (not "0 / 1 iterations")."""
        self.progress_bar.setRange(0, 1)
        self.progress_bar.setValue(0)
        self.progress_bar.setFormat("no fit")

    # -- messages -----------------------------------------------------------------------------------
    def show_status(self, text: str, error: bool = False) -> None:
        self.status_label.setStyleSheet("color: #B03A00;" if error else "")
        self.status_label.setText(text)

    def show_error(self, title: str, message: str) -> None:
        """Tell the user in a (non-blocking) message box and the status line; the app stays usable."""
        self.last_error = message
        self.show_status(message, error=True)
        if self.error_box is not None:
            self.error_box.close()
        self.error_box = QMessageBox(QMessageBox.Icon.Warning, title, message, QMessageBox.StandardButton.Ok, self)
        self.error_box.open()

    # -- export and reopening -----------------------------------------------------------------------
    def export_result(self) -> None:
        if self.result is None:
            self.show_error("Nothing to export", "Run a fit first.")
            return
        # Qt's own "replace?" question is off: write_result asks once, about every file of the export
        # (a CSV export also replaces FILE_cov.csv and FILE_meta.json, which Qt's question would not name).
        name = f"{Path(self.result.recording).stem or 'vbgui'}-result.json"
        path, chosen = QFileDialog.getSaveFileName(self, "Export result", os.path.join(self.save_folder(), name),
                                                   ";;".join(EXPORT_FILTERS),
                                                   options=QFileDialog.Option.DontConfirmOverwrite)
        if not path:
            return
        if Path(path).suffix.lower() not in EXPORT_FORMATS:
            path += EXPORT_FILTERS.get(chosen, ".json")
        self.write_result(path)

    def confirm_overwrite(self, existing: list[Path]) -> bool:
        """Ask before replacing files (a modal question); True to replace."""
        names = "\n".join(str(p) for p in existing)
        answer = QMessageBox.question(self, "Replace the file?", f"{names}\nalready exists. Replace it?",
                                      QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                                      QMessageBox.StandardButton.No)
        return answer == QMessageBox.StandardButton.Yes

    def write_result(self, path: str | Path) -> bool:
        """Export the last fit in the format of ``path``'s extension; an existing file is replaced only if confirmed."""
        path = Path(path)
        existing = [target for target in export_files(path) if target.exists()]
        if existing and not self.confirm_overwrite(existing):
            self.show_status(f"Not exported: {existing[0]} was kept.")
            return False
        try:
            data = self.result.to_dict()
            diagnostics = self.diagnostics.diagnostics_of(self.result)
            if diagnostics is not None and "diagnostics" not in data:
                data["diagnostics"] = diagnostics
            written = write_export(data, path, force=bool(existing))
        except VbguiError as exc:
            self.show_error("Cannot export the result", str(exc))
            return False
        self.preferences.save_folder = str(path.parent)
        self.show_status(f"Wrote the result to {', '.join(str(p) for p in written)}")
        return True

    def save_folder(self) -> str:
        """Where a save dialog opens: the folder used last, else the recording's (when it is the user's and
        writable), else the home folder; never the working directory the application was started from."""
        candidates = [self.preferences.save_folder]
        if self.recording is not None and Path(self.recording.source).parent != SAMPLE_RECORDING.parent:
            candidates.append(str(Path(self.recording.source).parent))
        for folder in candidates:
            if folder and Path(folder).is_dir() and os.access(folder, os.W_OK):
                return str(Path(folder).resolve())
        return str(Path.home())

    def choose_result(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a result", self.start_folder(),
                                              "vbgui results (*.json);;All files (*)")
        if path:
            self.open_result(path)

    def open_result(self, path: str | Path) -> bool:
        """Show a fit from its result file without refitting; the recording is read again if it still exists."""
        if self.is_fitting():
            self.show_error("Fit running", "Stop the running fit before opening a result.")
            return False
        from vbgui.app.reopen import reopen_result  # needs the engine; the window opens without it

        try:
            reopened = reopen_result(path)
        except VbguiError as exc:
            self.show_error("Cannot open the result", str(exc))
            return False
        self._show_reopened(reopened)
        return True

    def _show_reopened(self, reopened: ReopenedFit) -> None:
        result = reopened.result
        self.reset_fit()
        label = f"{reopened.path.name} (preset)"
        self.preset_panel.add_preset(reopened.preset, label, str(reopened.path))
        if reopened.recording is not None:
            self.recordings.show_reopened_recording(reopened.recording)
            layout = model_layout(reopened.preset, reopened.recording)
        else:
            layout = layout_from_names(result.names, reopened.preset.likelihood, result.first_row, result.recording)
        self.fit.layout = layout
        self.posterior_plot.set_model(result.names, result.truth)
        self.posterior_plot.set_reference(reopened.reference)
        self.parameters_panel.set_layout(layout, reopened.recording, result.truth)
        if reopened.session is not None:
            self.parameters_panel.attach(reopened.session)
        self.fit.fit_label = f"{result.family}, {result.estimator}"
        self.progress_bar.setFormat(PROGRESS_FORMAT)
        self.progress_bar.setRange(0, max(1, result.iterations))
        self.fit.show_result(result)
        self.setWindowTitle(f"vbgui — {reopened.path.name}")
        shown = f"Reopened {reopened.path.name} (no refit)"
        if reopened.problem:
            self.show_error("Recording not available", f"{shown}: {reopened.problem}. Showing the ELBO curves, "
                            "the fitted filters, the summary and the contours; the predicted rate needs the data.")
        else:
            self.show_status(f"{shown}: fit of {Path(result.recording).name} with {self.fit.fit_label}.")
        self.fit.update_controls()
        self.result_reopened.emit(result)

    def plot_views(self) -> dict:
        return {"Recording": self.recording_panel.plots, "ELBO": self.elbo_plot,
                "Posterior": self.posterior_plot.plot_widget, "Parameters": self.parameters_panel}

    def export_plot(self, name: str) -> None:
        path, _ = QFileDialog.getSaveFileName(self, f"Export the {name.lower()} plot",
                                              os.path.join(self.save_folder(), f"{name.lower()}.png"), EXPORT_FILTER)
        if not path:
            return
        try:
            written = export_plot(self.plot_views()[name], path, force=True)  # the save dialog asked
        except VbguiError as exc:
            self.show_error("Cannot export the plot", str(exc))
            return
        self.preferences.save_folder = str(Path(written).parent)
        self.show_status(f"Saved the {name.lower()} plot to {written}")

    # -- window -------------------------------------------------------------------------------------
    def toggle_full_screen(self) -> None:
        self.setWindowState(self.windowState() ^ Qt.WindowState.WindowFullScreen)

    def restore_layout(self) -> None:
        """The layout saved at the last close, or the default one."""
        geometry, state, splitters = self.preferences.layout()
        if geometry is None or not self.restoreGeometry(geometry):
            self._default_layout()
            return
        if state is not None:
            self.restoreState(state)
        for splitter, saved in zip(self.splitters.values(), splitters):
            splitter.restoreState(saved)

    def _default_layout(self) -> None:
        screen = self.screen()
        available = screen.availableGeometry() if screen is not None else None
        self.apply_default_layout(*default_window_size(available.width() if available else DEFAULT_SIZE[0],
                                                       available.height() if available else DEFAULT_SIZE[1]))

    def apply_default_layout(self, width: int, height: int) -> None:
        """The window at ``width`` x ``height``, its splitters at their default shares, the docks at
        DOCK_HEIGHT_SHARE of the height (the plots keep their minimum heights; a dock's content scrolls)."""
        self.resize(width, height)
        for name, splitter in self.splitters.items():
            splitter.setSizes(list(DEFAULT_SPLITS[name]))
        docks = [dock for dock in self.findChildren(QDockWidget) if not dock.isFloating()]
        if docks:
            dock_height = min(MAX_DOCK_HEIGHT, int(DOCK_HEIGHT_SHARE * height))
            self.resizeDocks(docks, [dock_height] * len(docks), Qt.Orientation.Vertical)

    def reset_layout(self) -> None:
        """View > Reset layout: default window size and panel sizes, and forget the saved ones."""
        self.setWindowState(Qt.WindowState.WindowNoState)
        self._default_layout()
        self.preferences.forget_layout()
        self.show_status("Layout reset to the default.")

    def save_layout(self) -> None:
        self.preferences.save_layout(self.saveGeometry(), self.saveState(),
                                     [splitter.saveState() for splitter in self.splitters.values()])

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 - Qt override
        self.recordings.accept_drag(event)

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 - Qt override
        self.recordings.open_dropped(event)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        """Save the layout, cancel a running fit and join its thread before the window goes."""
        self.save_layout()
        self.fit.shutdown()
        for dialog in (self.error_box, self.variables_dialog):
            if dialog is not None:
                dialog.close()
        self.help.close_dialogs()
        event.accept()
