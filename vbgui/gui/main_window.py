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
import time
from collections import deque
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import (QDockWidget, QFileDialog, QGroupBox, QHBoxLayout, QLabel, QMainWindow, QMessageBox,
                               QProgressBar, QPushButton, QScrollArea, QSplitter, QVBoxLayout, QWidget)

from vbgui.app.result import FitResult
from vbgui.errors import FitError, VbguiError
from vbgui.gui.demos.menu import install_demos_menu
from vbgui.gui.diagnostics_controller import install_diagnostics
from vbgui.gui.elbo_plot import ElboPlot
from vbgui.gui.engine_warmup import engine_warmup
from vbgui.gui.export import EXPORT_FILTER, export_plot
from vbgui.app.layout import ModelLayout, layout_from_names, model_layout
from vbgui.gui.parameters_panel import ParametersPanel
from vbgui.gui.posterior_plot import PosteriorPlot
from vbgui.gui.preferences import Preferences
from vbgui.gui.preset_panel import PresetPanel
from vbgui.gui.recent_files import RecentFiles, application_settings
from vbgui.gui.recording_panel import RecordingPanel
from vbgui.gui.summary_panel import SummaryPanel
from vbgui.gui.tooltips import TOOLTIPS
from vbgui.gui.window.help import HelpController
from vbgui.gui.window.recordings import SAMPLE_RECORDING, RecordingsController
from vbgui.gui.window.presets import DEFAULT_PRESET, PresetsController  # noqa: F401 - DEFAULT_PRESET re-exported
from vbgui.gui.window.theme import ThemeController
from vbgui.gui.worker import FitRunner, FitSetup
from vbgui.io.exports import EXPORT_FORMATS, export_files, write_export
from vbgui.io.recording import Recording
from vbgui.models.preset import Preset
from vbgui.models.step_cost import check_step_cost

if TYPE_CHECKING:  # the engine (scipy, numba) loads in the background, not before the window shows
    from vbgui.app.fit import FitProgress
    from vbgui.app.reopen import ReopenedFit

REPAINT_HZ = 30
# One panel is redrawn per tick, in this order: the ELBO every other tick (15 Hz), the q panels at 7.5 Hz.
REPAINT_CYCLE = ("elbo", "posterior", "elbo", "parameters")
RATE_WINDOW_SECONDS = 1.0
PROGRESS_FORMAT = "%v / %m iterations"
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
        self.runner: FitRunner | None = None
        self.result: FitResult | None = None
        self.last_error = ""
        self.error_box: QMessageBox | None = None
        self._latest: FitProgress | None = None
        self._drawn = dict.fromkeys(REPAINT_CYCLE, 0)  # the iteration each panel shows
        self._next_in_cycle = 0
        self._layout: ModelLayout | None = None
        self._rate_samples: deque[tuple[float, int]] = deque()
        self._fit_label = ""

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
        self.preset_panel.preset_changed.connect(self._on_preset_changed)

        self.repaint_timer = QTimer(self)
        self.repaint_timer.setInterval(int(1000 / REPAINT_HZ))
        self.repaint_timer.timeout.connect(self.repaint_fit)

        self.presets.load_presets()
        if load_sample and SAMPLE_RECORDING.is_file():
            self.open_recording(SAMPLE_RECORDING, remember=False)
        self.restore_layout()
        self._update_controls()
        self.warmup = engine_warmup()
        self.warmup.ready.connect(self._on_engine_warm)
        self.warmup.failed.connect(self._on_engine_warm_failed)
        if self.warmup.is_ready():
            self._on_engine_warm(self.warmup.seconds or 0.0)
        else:
            self.engine_label.setText("engine: preparing…")
            self.show_status("Preparing the engine (compiling on the first launch, a few seconds); you can "
                             "already press Run.")

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
        self.run_action = self._action("&Run", self.run_fit, "Ctrl+R", TOOLTIPS["run"])
        self.pause_action = self._action("&Pause", self.toggle_pause, Qt.Key.Key_Space, TOOLTIPS["pause"])
        self.stop_action = self._action("S&top", self.stop_fit, "Ctrl+.", TOOLTIPS["stop"])
        self.reset_action = self._action("Rese&t", self.reset_fit, None, TOOLTIPS["reset"])
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
        for action in (self.run_action, self.pause_action, self.stop_action, self.reset_action):
            fit_menu.addAction(action)
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
        self._idle_progress()
        self.engine_label = QLabel("engine: ready")
        self.engine_label.setToolTip("The numba engine is compiled once per installation (in the background); "
                                     "a fit started before it is ready waits for it.")
        self.statusBar().addWidget(self.status_label, 1)
        self.statusBar().addPermanentWidget(self.engine_label)
        self.statusBar().addPermanentWidget(self.progress_bar)

    def _idle_progress(self) -> None:
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

    # -- the fit ------------------------------------------------------------------------------------
    def is_fitting(self) -> bool:
        return self.runner is not None and self.runner.is_running()

    def _update_controls(self, *_args) -> None:
        fitting = self.is_fitting()
        ready = self.recording is not None and self.preset_panel.current_preset() is not None
        self.run_action.setEnabled(ready and not fitting)
        self.pause_action.setEnabled(fitting)
        self.stop_action.setEnabled(fitting)
        self.save_preset_action.setEnabled(self.preset_panel.current_preset() is not None)
        self.export_action.setEnabled(self.result is not None)
        self.open_action.setEnabled(not fitting)
        self.preset_panel.setEnabled(not fitting)
        for button, action in ((self.run_button, self.run_action), (self.pause_button, self.pause_action),
                               (self.stop_button, self.stop_action), (self.save_preset_button,
                                                                      self.save_preset_action)):
            button.setEnabled(action.isEnabled())
        paused = fitting and self.runner.worker.paused
        self.pause_action.setText("Resume" if paused else "&Pause")
        self.pause_button.setText("Resume" if paused else "Pause")
        if paused:
            self.show_status(f"{self.status_label.text().removesuffix(' (paused)')} (paused)")

    def _on_preset_changed(self, _preset: Preset | None) -> None:
        self.refresh_model_layout()
        self._update_controls()

    def refresh_model_layout(self) -> None:
        """Lay the posterior and parameters panels out for the form's model, if it changed (while idle)."""
        preset = self.preset_panel.current_preset()
        if preset is None or self.recording is None or self.is_fitting():
            return
        layout = model_layout(preset, self.recording)
        if layout is not None and layout != self._layout:
            self._apply_layout(layout, self.recording)

    def _apply_layout(self, layout: ModelLayout, recording: Recording) -> None:
        self._layout = layout
        self.posterior_plot.set_model(layout.names, recording.truth)
        self.parameters_panel.set_layout(layout, recording)

    def run_fit(self) -> bool:
        """Start a fit of the form's preset on the loaded recording. Returns whether it started."""
        if self.is_fitting():
            return False
        preset = self.preset_panel.current_preset()
        if self.recording is None or preset is None:
            self.show_error("Cannot run", "Load a recording and fix the preset form first.")
            return False
        layout = model_layout(preset, self.recording)
        slow = None
        if layout is not None:  # settings whose one step takes minutes are refused before anything starts
            try:
                slow = check_step_cost(preset, self.recording.n_bins - layout.first_row, len(layout.names),
                                       self.recording.source)
            except FitError as exc:
                self.show_error("Cannot run", str(exc))
                return False
        self.reset_fit()
        self.posterior_plot.set_reference_pending()
        self.runner = FitRunner(preset, self.recording, self)
        worker = self.runner.worker
        worker.engine_ready.connect(self._on_engine_ready)
        worker.progress.connect(self._on_progress)
        worker.finished.connect(self._on_finished)
        worker.failed.connect(self._on_failed)
        self._fit_label = f"{preset.fit.family}, {preset.fit.estimator}"
        self.progress_bar.setRange(0, 0)  # busy until the engine is ready
        self.show_status("Preparing the engine (compiling on the first run) and the reference posterior…"
                         + (f" Note: {slow}." if slow else ""))
        self.summary_panel.show_message(f"Fitting {self._fit_label}…")
        self.runner.start()
        self._update_controls()
        self.fit_started.emit()
        return True

    def _on_engine_ready(self, setup: FitSetup) -> None:
        session = setup.session
        if self._layout is None or self._layout.names != session.names:  # not laid out beforehand
            self._apply_layout(model_layout(session.preset, session.recording), session.recording)
        self.posterior_plot.set_reference(setup.reference)
        self.parameters_panel.attach(session)
        self.progress_bar.setFormat(PROGRESS_FORMAT)
        self.progress_bar.setRange(0, session.preset.fit.max_iter)
        self.progress_bar.setValue(0)
        self._rate_samples.clear()
        self.show_status(f"Fitting {session.design.dim} parameters to {session.design.n_rows:,} bins…")
        self.repaint_timer.start()

    def _on_progress(self, progress: FitProgress) -> None:
        self._latest = progress

    def repaint_fit(self) -> None:
        """Draw the latest iteration, one panel per tick (called by the repaint timer).

        Panels take turns in REPAINT_CYCLE, skipping those already showing
        the latest iteration, so a tick never repaints everything and the
        event loop stays responsive however fast the engine iterates.
        """
        progress = self._latest
        if progress is None or self.runner is None:
            return
        for step in range(len(REPAINT_CYCLE)):
            panel = REPAINT_CYCLE[(self._next_in_cycle + step) % len(REPAINT_CYCLE)]
            if self._drawn[panel] != progress.iteration:
                self._next_in_cycle = (self._next_in_cycle + step + 1) % len(REPAINT_CYCLE)
                self._draw(panel, progress)
                return

    def _draw(self, panel: str, progress: FitProgress) -> None:
        self._drawn[panel] = progress.iteration
        if panel == "elbo":
            self.elbo_plot.set_trace(*self.runner.worker.trace.arrays())
            self.progress_bar.setValue(progress.iteration)
            self._show_progress_status(progress)
        else:
            self._show_q(progress.q.mean, progress.q.cov, panels=(panel,))

    def _show_progress_status(self, progress: FitProgress) -> None:
        now = time.perf_counter()
        self._rate_samples.append((now, progress.iteration))
        while len(self._rate_samples) > 2 and now - self._rate_samples[0][0] > RATE_WINDOW_SECONDS:
            self._rate_samples.popleft()
        (t0, i0), (t1, i1) = self._rate_samples[0], self._rate_samples[-1]
        rate = (i1 - i0) / (t1 - t0) if t1 > t0 else progress.iteration / max(progress.elapsed, 1e-9)
        paused = " (paused)" if self.runner.worker.paused else ""
        self.show_status(f"iteration {progress.iteration:,} / {progress.max_iter:,}  ·  ELBO "
                         f"{progress.terms.elbo:,.3f} nats  ·  {rate:,.0f} iterations/s{paused}")

    def _show_q(self, mean: np.ndarray, cov: np.ndarray, panels: tuple[str, ...] = ("posterior", "parameters")) -> None:
        if "posterior" in panels:
            self.posterior_plot.set_approximation(mean, cov, self._fit_label)
        if "parameters" in panels:
            self.parameters_panel.update_fit(mean, np.sqrt(np.clip(np.diag(cov), 0.0, None)))

    def _on_finished(self, result: FitResult) -> None:
        self.repaint_timer.stop()
        self._join_runner()
        self.result = result
        trace = result.trace
        self.elbo_plot.set_trace(np.asarray(trace.iteration, dtype=float), np.asarray(trace.elbo),
                                 np.asarray(trace.expected_log_likelihood), np.asarray(trace.kl))
        if result.iterations:
            self._show_q(result.mean, result.cov)
        self.progress_bar.setValue(result.iterations)
        self.summary_panel.show_result(result)
        if result.stop_reason == "non-finite" or not np.isfinite(result.elbo):
            self.show_error("The fit diverged",
                            f"The fit diverged after {result.iterations} iterations ({result.message}); the curves "
                            "show where. Try the exact estimator, a smaller learning rate or a smaller prior scale.")
        else:
            state = "converged" if result.converged else f"stopped ({result.stop_reason})"
            self.show_status(f"Fit {state} after {result.iterations:,} iterations in {result.seconds:.2f} s: "
                             f"ELBO {result.elbo:,.3f} nats")
        self._update_controls()
        self.fit_finished.emit(result)

    def _on_failed(self, message: str) -> None:
        self.repaint_timer.stop()
        self._join_runner()
        self._idle_progress()
        self.summary_panel.show_message("The fit did not run.")
        self.show_error("The fit did not run", message)
        self._update_controls()
        self.fit_failed.emit(message)

    def _join_runner(self) -> None:
        if self.runner is not None:
            self.runner.shutdown()

    def toggle_pause(self) -> None:
        if not self.is_fitting():
            return
        worker = self.runner.worker
        if worker.paused:
            worker.resume()
        else:
            worker.pause()
        self._update_controls()

    def stop_fit(self) -> None:
        """Cancel the running fit; it ends within one data pass and reports 'cancelled'."""
        if self.is_fitting():
            self.runner.worker.stop()
            self.show_status("Stopping…")

    def reset_fit(self) -> None:
        """Stop any fit and clear the fit's curves, contours, progress and summary."""
        if self.runner is not None:
            for signal in (self.runner.worker.engine_ready, self.runner.worker.progress,
                           self.runner.worker.finished, self.runner.worker.failed):
                signal.disconnect()
            self.runner.shutdown()
            self.runner = None
        self.repaint_timer.stop()
        self._latest, self.result = None, None
        self._drawn = dict.fromkeys(self._drawn, 0)
        self.parameters_panel.detach()
        self.elbo_plot.clear_trace()
        self.posterior_plot.clear_fit()
        self.posterior_plot.set_reference_pending()  # the reference came with the fit (or its diagnostics)
        self._idle_progress()
        if self.status_label.text().startswith("Fit "):
            self.show_status("The fit was cleared: press Run (Ctrl+R) to fit again.")
        self.summary_panel.show_message("No fit yet: press Run (Ctrl+R).")
        self._update_controls()
        self.fit_cleared.emit()

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
        self._layout = layout
        self.posterior_plot.set_model(result.names, result.truth)
        self.posterior_plot.set_reference(reopened.reference)
        self.parameters_panel.set_layout(layout, reopened.recording, result.truth)
        if reopened.session is not None:
            self.parameters_panel.attach(reopened.session)
        self._fit_label = f"{result.family}, {result.estimator}"
        self.result = result
        trace = result.trace
        self.elbo_plot.set_trace(np.asarray(trace.iteration, dtype=float), np.asarray(trace.elbo),
                                 np.asarray(trace.expected_log_likelihood), np.asarray(trace.kl))
        self._show_q(result.mean, result.cov)
        self.progress_bar.setFormat(PROGRESS_FORMAT)
        self.progress_bar.setRange(0, max(1, result.iterations))
        self.progress_bar.setValue(result.iterations)
        self.summary_panel.show_result(result)
        self.setWindowTitle(f"vbgui — {reopened.path.name}")
        shown = f"Reopened {reopened.path.name} (no refit)"
        if reopened.problem:
            self.show_error("Recording not available", f"{shown}: {reopened.problem}. Showing the ELBO curves, "
                            "the fitted filters, the summary and the contours; the predicted rate needs the data.")
        else:
            self.show_status(f"{shown}: fit of {Path(result.recording).name} with {self._fit_label}.")
        self._update_controls()
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

    # -- engine ---------------------------------------------------------------------
    def _on_engine_warm(self, seconds: float) -> None:
        self.engine_label.setText("engine: ready")
        if self.status_label.text().startswith("Preparing the engine") and not self.is_fitting():
            self.show_status(f"Engine ready ({seconds:.1f} s): press Run (Ctrl+R).")

    def _on_engine_warm_failed(self, message: str) -> None:
        self.engine_label.setText("engine: not prepared")
        self.show_status(f"The engine could not be prepared in advance ({message}); a fit will try again.",
                         error=True)

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
        self.repaint_timer.stop()
        if self.runner is not None:
            self.runner.shutdown()
        for dialog in (self.error_box, self.variables_dialog):
            if dialog is not None:
                dialog.close()
        self.help.close_dialogs()
        event.accept()
