"""The main window: assembles the panels, the menus and the fit controls.

A fit runs in a :class:`~vbgui.gui.worker.FitRunner` (worker QObject in a
QThread).  Its progress signals only store the latest iteration; a QTimer
repaints at REPAINT_HZ from the worker's trace buffer, so the GUI thread
does a bounded amount of drawing however fast the engine iterates.
"""
from __future__ import annotations

import time
from collections import deque
from pathlib import Path

import numpy as np
from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import (QFileDialog, QGridLayout, QGroupBox, QLabel, QMainWindow, QMessageBox, QProgressBar,
                               QPushButton, QScrollArea, QSplitter, QVBoxLayout, QWidget)

import vbgui
from vbgui.app.fit import FitProgress
from vbgui.app.result import FitResult
from vbgui.errors import VbguiError
from vbgui.gui.elbo_plot import ElboPlot
from vbgui.gui.export import EXPORT_FILTER, export_plot
from vbgui.gui.layout import ModelLayout, model_layout
from vbgui.gui.parameters_panel import ParametersPanel
from vbgui.gui.posterior_plot import PosteriorPlot
from vbgui.gui.preset_panel import PresetPanel
from vbgui.gui.recent_files import RecentFiles, application_settings
from vbgui.gui.recording_panel import RecordingPanel
from vbgui.gui.summary_panel import SummaryPanel
from vbgui.gui.tooltips import TOOLTIPS
from vbgui.gui.worker import FitRunner, FitSetup
from vbgui.io.atomic import atomic_write
from vbgui.io.loaders import EXTENSIONS, FILE_FILTER, load_recording
from vbgui.io.recording import Recording
from vbgui.io.result_json import write_json
from vbgui.models.preset import Preset, load_preset, shipped_preset_names

REPAINT_HZ = 30
# One panel is redrawn per tick, in this order: the ELBO every other tick (15 Hz), the q panels at 7.5 Hz.
REPAINT_CYCLE = ("elbo", "posterior", "elbo", "parameters")
RATE_WINDOW_SECONDS = 1.0
SAMPLE_RECORDING = Path(vbgui.__file__).parent / "resources" / "recordings" / "synthetic-poisson.npz"
DEFAULT_PRESET = "poisson-glm"


class MainWindow(QMainWindow):
    """The vbgui application window.

    ``fit_finished`` (FitResult) and ``fit_failed`` (message) are emitted
    after the window has shown a fit's end, for tests and scripts.
    """

    fit_finished = Signal(object)
    fit_failed = Signal(str)

    def __init__(self, settings: QSettings | None = None, load_sample: bool = True) -> None:
        super().__init__()
        self.setWindowTitle("vbgui")
        self.setAcceptDrops(True)
        self.recent = RecentFiles(settings if settings is not None else application_settings())
        self.recording: Recording | None = None
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
        self._build_actions()
        self._build_menus()
        self._build_layout()
        self._build_status_bar()
        self.preset_panel.preset_changed.connect(self._on_preset_changed)

        self.repaint_timer = QTimer(self)
        self.repaint_timer.setInterval(int(1000 / REPAINT_HZ))
        self.repaint_timer.timeout.connect(self.repaint_fit)

        for name in shipped_preset_names():
            self.preset_panel.add_preset(load_preset(name), name, "shipped preset", select=False)
        self.preset_panel.select(DEFAULT_PRESET)
        if load_sample and SAMPLE_RECORDING.is_file():
            self.open_recording(SAMPLE_RECORDING, remember=False)
        self._update_controls()

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
        self.open_action = self._action("&Open recording…", self.choose_recording, QKeySequence.StandardKey.Open,
                                        "Open a recording (.npz, .mat, .csv, .tsv, .nwb) (Ctrl+O); you can also drop a file on the window.")
        self.open_preset_action = self._action("Open &preset…", self.choose_preset, None,
                                               "Open a preset TOML file and add it to the preset list.")
        self.save_preset_action = self._action("&Save preset as…", self.save_preset, "Ctrl+Shift+S",
                                               TOOLTIPS["save_preset"])
        self.export_action = self._action("&Export result JSON…", self.export_result, "Ctrl+E",
                                          "Write the last fit (parameters, ELBO trace, provenance) as JSON (Ctrl+E).")
        self.quit_action = self._action("&Quit", self.close, QKeySequence.StandardKey.Quit, "Quit vbgui.")
        self.run_action = self._action("&Run", self.run_fit, "Ctrl+R", TOOLTIPS["run"])
        self.pause_action = self._action("&Pause", self.toggle_pause, Qt.Key.Key_Space, TOOLTIPS["pause"])
        self.stop_action = self._action("S&top", self.stop_fit, "Ctrl+.", TOOLTIPS["stop"])
        self.reset_action = self._action("Rese&t", self.reset_fit, None, TOOLTIPS["reset"])
        self.fullscreen_action = self._action("&Full screen", self.toggle_full_screen, Qt.Key.Key_F11,
                                              "Toggle full screen (F11).")
        self.export_plot_actions = {
            name: self._action(f"{name} plot…", lambda _=False, n=name: self.export_plot(n), None,
                               f"Save the {name.lower()} plot as PNG or SVG.")
            for name in ("Recording", "ELBO", "Posterior", "Parameters")}

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        file_menu.addAction(self.open_action)
        self.recent_menu = file_menu.addMenu("Open &recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
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
        view_menu = self.menuBar().addMenu("&View")
        view_menu.addAction(self.fullscreen_action)

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
        buttons = QGridLayout()
        buttons.addWidget(self.run_button, 0, 0)
        buttons.addWidget(self.pause_button, 0, 1)
        buttons.addWidget(self.stop_button, 1, 0)
        buttons.addWidget(self.reset_button, 1, 1)

        preset_box = QGroupBox("Model preset")
        preset_layout = QVBoxLayout(preset_box)
        preset_layout.addWidget(self.preset_panel)
        preset_layout.addWidget(self.save_preset_button)
        fit_box = QGroupBox("Fit")
        fit_layout = QVBoxLayout(fit_box)
        fit_layout.addLayout(buttons)
        fit_layout.addWidget(self.summary_panel)
        sidebar = QWidget()
        sidebar_layout = QVBoxLayout(sidebar)
        sidebar_layout.addWidget(preset_box)
        sidebar_layout.addWidget(fit_box)
        sidebar_layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidget(sidebar)
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setMinimumWidth(360)

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
        main.addWidget(scroll)
        main.addWidget(plots)
        main.setStretchFactor(1, 1)
        main.setSizes([370, 1230])
        self.setCentralWidget(main)

    def _build_status_bar(self) -> None:
        self.status_label = QLabel("")
        self.progress_bar = QProgressBar()
        self.progress_bar.setMinimumWidth(240)
        self.progress_bar.setToolTip("Iterations done out of the preset's maximum.")
        self.progress_bar.setFormat("%v / %m iterations")
        self.progress_bar.setValue(0)
        self.statusBar().addWidget(self.status_label, 1)
        self.statusBar().addPermanentWidget(self.progress_bar)

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

    # -- recordings ---------------------------------------------------------------------------------
    def choose_recording(self) -> None:
        start = str(Path(self.recent.paths()[0]).parent) if self.recent.paths() else ""
        path, _ = QFileDialog.getOpenFileName(self, "Open recording", start, f"{FILE_FILTER};;All files (*)")
        if path:
            self.open_recording(path)

    def open_recording(self, path: str | Path, remember: bool = True) -> bool:
        """Load a recording; on failure show why and keep the current one. Returns success."""
        if self.is_fitting():
            self.show_error("Fit running", "Stop the running fit before opening another recording.")
            return False
        try:
            recording = load_recording(path)
        except VbguiError as exc:
            self.show_error("Cannot open the recording", str(exc))
            return False
        self.recording = recording
        self.recording_panel.show_recording(recording)
        self._refresh_layout()
        self.setWindowTitle(f"vbgui — {Path(recording.source).name}")
        if remember:
            self.recent.add(path)
        self.reset_fit()
        self.show_status(f"Loaded {Path(recording.source).name}: press Run (Ctrl+R) to fit "
                         f"{self.preset_panel.family.currentText()} q.")
        return True

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        paths = self.recent.paths()
        if not paths:
            self.recent_menu.addAction("(none yet)").setEnabled(False)
        for path in paths:
            self.recent_menu.addAction(path, lambda p=path: self._open_recent(p))

    def _open_recent(self, path: str) -> None:
        if not Path(path).is_file():
            self.recent.remove(path)
        self.open_recording(path)

    @staticmethod
    def _recording_paths(event: QDragEnterEvent | QDropEvent) -> list[str]:
        return [url.toLocalFile() for url in event.mimeData().urls()
                if url.isLocalFile() and url.toLocalFile().lower().endswith(EXTENSIONS)]

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 - Qt override
        if self._recording_paths(event):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 - Qt override
        paths = self._recording_paths(event)
        if paths:
            event.acceptProposedAction()
            self.open_recording(paths[0])

    # -- presets ------------------------------------------------------------------------------------
    def choose_preset(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open preset", "", "Presets (*.toml);;All files (*)")
        if path:
            self.open_preset(path)

    def open_preset(self, path: str | Path) -> bool:
        try:
            preset = load_preset(Path(path))
        except VbguiError as exc:
            self.show_error("Cannot open the preset", str(exc))
            return False
        self.preset_panel.add_preset(preset, f"{Path(path).name}", str(path))
        self.show_status(f"Opened preset {path}")
        return True

    def save_preset(self) -> None:
        preset = self.preset_panel.current_preset()
        if preset is None:
            self.show_error("Invalid preset", f"Fix the form first: {self.preset_panel.message.text()}")
            return
        path, _ = QFileDialog.getSaveFileName(self, "Save preset", f"{preset.name or 'preset'}.toml",
                                              "Presets (*.toml)")
        if path:
            self.write_preset(preset, path)

    def write_preset(self, preset: Preset, path: str | Path) -> bool:
        path = Path(path).with_suffix(".toml")
        try:
            atomic_write(path, lambda handle: handle.write(preset.to_toml().encode("utf-8")))
        except OSError as exc:
            self.show_error("Cannot save the preset", f"{path}: {exc.strerror or exc}")
            return False
        self.show_status(f"Saved preset to {path}")
        return True

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
        self._refresh_layout()
        self._update_controls()

    def _refresh_layout(self) -> None:
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
        self.show_status("Preparing the engine (compiling on the first run) and the reference posterior…")
        self.summary_panel.show_message(f"Fitting {self._fit_label}…")
        self.runner.start()
        self._update_controls()
        return True

    def _on_engine_ready(self, setup: FitSetup) -> None:
        session = setup.session
        if self._layout is None or self._layout.names != session.names:  # not laid out beforehand
            self._apply_layout(model_layout(session.preset, session.recording), session.recording)
        self.posterior_plot.set_reference(setup.reference)
        self.parameters_panel.attach(session)
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
        self.progress_bar.setRange(0, 1)
        self.progress_bar.setValue(0)
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
        self.progress_bar.setRange(0, 1)
        self.progress_bar.setValue(0)
        self.summary_panel.show_message("No fit yet: press Run (Ctrl+R).")
        self._update_controls()

    # -- export -------------------------------------------------------------------------------------
    def export_result(self) -> None:
        if self.result is None:
            self.show_error("Nothing to export", "Run a fit first.")
            return
        path, _ = QFileDialog.getSaveFileName(self, "Export result", "vbgui-result.json", "JSON (*.json)")
        if path:
            self.write_result(path)

    def write_result(self, path: str | Path) -> bool:
        try:
            write_json(self.result.to_dict(), path)
        except VbguiError as exc:
            self.show_error("Cannot export the result", str(exc))
            return False
        self.show_status(f"Wrote the result to {path}")
        return True

    def plot_views(self) -> dict:
        return {"Recording": self.recording_panel.plots, "ELBO": self.elbo_plot,
                "Posterior": self.posterior_plot.plot_widget, "Parameters": self.parameters_panel}

    def export_plot(self, name: str) -> None:
        path, _ = QFileDialog.getSaveFileName(self, f"Export the {name.lower()} plot", f"{name.lower()}.png",
                                              EXPORT_FILTER)
        if not path:
            return
        try:
            written = export_plot(self.plot_views()[name], path)
        except VbguiError as exc:
            self.show_error("Cannot export the plot", str(exc))
            return
        self.show_status(f"Saved the {name.lower()} plot to {written}")

    # -- window -------------------------------------------------------------------------------------
    def toggle_full_screen(self) -> None:
        self.setWindowState(self.windowState() ^ Qt.WindowState.WindowFullScreen)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        """Cancel a running fit and join its thread before the window goes."""
        self.repaint_timer.stop()
        if self.runner is not None:
            self.runner.shutdown()
        if self.error_box is not None:
            self.error_box.close()
        event.accept()
