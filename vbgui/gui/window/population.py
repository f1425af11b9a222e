"""The population view: a dock listing every unit of a multi-unit recording, Fit all units, and a unit's fit on click.

Fit all units runs :func:`vbgui.app.population.fit_population` (the batch
service of ``vbgui batch``, on threads) in a
:class:`~vbgui.gui.background.BackgroundJob`; finished outcomes wait in
an :class:`~vbgui.app.population.OutcomeCollector` and reach the table at
most every MIN_INTERVAL of the worker (its throttled ``yielded`` signal),
so hundreds of units never flood the GUI thread.  Cancel sets the batch's
cancel token: running fits stop at their next check, the finished units
stay.  Clicking a fitted unit rebuilds its fit in the background (session
and exact reference, as a reopened result) and shows it in the main panels,
with the unit chosen in the recording panel.  Export summary writes the
finished units as ``vbgui batch``'s ``summary.csv``, asking before it
replaces a file.  The dock is tabbed with the Diagnostics dock: it comes to
the front when a recording of several units is opened, and goes when one of
a single unit is (View > Population shows it anyway).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtWidgets import QDockWidget, QFileDialog, QMainWindow, QMenu, QScrollArea

from vbgui.app.population import (OutcomeCollector, UnitFit, check_population_fit, fit_population, fitted_row,
                                  rebuild_unit_fit, unfitted_rows)
from vbgui.errors import VbguiError
from vbgui.gui.background import BackgroundJob
from vbgui.gui.population_panel import NO_POPULATION, PopulationPanel
from vbgui.gui.window.actions import add_action
from vbgui.io.recording import RecordingFile

if TYPE_CHECKING:
    from vbgui.app.batch import UnitOutcome

PANEL_MIN_HEIGHT = 130
# Tabbed docks stack a tab bar on their title bar: their scrolled contents give that height back, so a laptop's
# window (1366 x 700) keeps the plots' minimum heights with both docks shown.
DOCK_CONTENT_MIN_HEIGHT = 40
BATCH_PRESET_LABEL = "population fit (preset)"


def units(count: int) -> str:
    """'1 unit', '3 units'."""
    return f"{count} unit{'' if count == 1 else 's'}"


def menu_titled(window: QMainWindow, title: str) -> QMenu:
    """The menu-bar menu whose title (without '&') is ``title``."""
    for action in window.menuBar().actions():
        if action.menu() is not None and action.text().replace("&", "") == title:
            return action.menu()
    raise LookupError(f"the window has no {title} menu")


class PopulationController(QObject):
    """Runs and shows the batch fit of the window's multi-unit recording; see the module docstring.

    ``batch_finished`` (units finished), ``batch_cancelled`` (units kept) and
    ``batch_failed`` (message) end each Fit all units; ``unit_shown`` (the
    unit's index) follows a click once that unit's fit is in the main panels.
    """

    batch_finished = Signal(int)
    batch_cancelled = Signal(int)
    batch_failed = Signal(str)
    unit_shown = Signal(int)

    def __init__(self, window: QMainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.recording_file: RecordingFile | None = None
        self.outcomes: dict[int, UnitOutcome] = {}
        self.collector = OutcomeCollector()
        self.batch: BackgroundJob | None = None
        self.unit_view: BackgroundJob | None = None
        self.closed = False
        self.panel = PopulationPanel()
        self.panel.setMinimumHeight(PANEL_MIN_HEIGHT)
        self.dock = QDockWidget("Population", window)
        self.dock.setObjectName("population-dock")
        scroll = QScrollArea()  # a short screen scrolls the dock rather than squashing the table
        scroll.setWidget(self.panel)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        self.dock.setWidget(scroll)
        diagnostics_dock = window.diagnostics.dock
        for dock in (self.dock, diagnostics_dock):
            dock.widget().setMinimumHeight(DOCK_CONTENT_MIN_HEIGHT)
        # tabbed with the diagnostics, shown while the recording has several units; a saved layout (restored
        # when the window has been built) wins
        window.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.dock)
        window.tabifyDockWidget(diagnostics_dock, self.dock)
        self.dock.close()

        self.fit_all_action = add_action(window, "Fit all &units", self.fit_all, None,
                                         "Fit the form's preset to every unit of a multi-unit recording in the "
                                         "background (the Population dock).")
        fit_menu = menu_titled(window, "Fit")
        fit_menu.addSeparator()
        fit_menu.addAction(self.fit_all_action)
        menu_titled(window, "View").addAction(self.dock.toggleViewAction())

        self.panel.fit_all_requested.connect(self.fit_all)
        self.panel.cancel_requested.connect(self.cancel)
        self.panel.export_requested.connect(self.export_summary)
        self.panel.unit_clicked.connect(self.show_unit)
        window.recording_panel.unit_chosen.connect(self.panel.select_unit)  # the table follows the Unit box
        window.fit_cleared.connect(self.follow_recording)
        for signal in (window.preset_panel.preset_changed, window.fit_started, window.fit_finished, window.fit_failed):
            signal.connect(self.update_controls)
        window.installEventFilter(self)
        self.update_controls()

    # -- the recording ------------------------------------------------------------------------------
    def follow_recording(self) -> None:
        """The window cleared its fit: if it now holds another file, list that file's units (or none)."""
        recording_file = self.window.recording_file
        if recording_file is self.recording_file or (self.recording_file is None and recording_file is not None
                                                     and recording_file.n_units == 1):
            return
        self._stop_batch()
        self.recording_file = recording_file if recording_file is not None and recording_file.n_units > 1 else None
        self.outcomes = {}
        if self.recording_file is None:
            self.panel.set_units([], True)
            self.panel.show_message(NO_POPULATION)
            self.dock.close()
        else:
            self.panel.set_units(unfitted_rows(self.recording_file), self.recording_file.response_name == "counts")
            self.panel.show_message(f"{units(self.recording_file.n_units)} in "
                                    f"{Path(self.recording_file.source).name}: press Fit all units.")
            self.dock.show()
            self.dock.raise_()
        self.panel.set_progress(0, 0)
        self.update_controls()

    def match_dock_to_recording(self) -> None:
        """Show the dock when the recording has several units, hide it otherwise (after a saved layout is
        restored, which may remember it shown for another file)."""
        self.dock.setVisible(self.recording_file is not None)

    def update_controls(self, *_args) -> None:
        running = self.is_running()
        can_fit = (self.recording_file is not None and self.window.preset_panel.current_preset() is not None
                   and not self.window.is_fitting())
        self.panel.set_running(running, can_fit, bool(self.outcomes))
        self.fit_all_action.setEnabled(can_fit and not running)

    # -- the batch ----------------------------------------------------------------------------------
    def is_running(self) -> bool:
        return self.batch is not None and self.batch.is_running()

    def fit_all(self) -> bool:
        """Fit the form's preset to every unit in the background; False (and a message) when it cannot start."""
        window = self.window
        preset = window.preset_panel.current_preset()
        if self.recording_file is None:
            window.show_error("No population", NO_POPULATION)
            return False
        if preset is None:
            window.show_error("Cannot fit", "Fix the preset form first.")
            return False
        if window.is_fitting():
            window.show_error("Fit running", "Stop the running fit before fitting all units.")
            return False
        if self.is_running():
            return False
        try:
            slow = check_population_fit(self.recording_file, preset, Path(self.recording_file.source).name)
        except VbguiError as exc:
            window.show_error("Cannot fit all units", str(exc))
            return False
        recording, indices = self.recording_file, list(range(self.recording_file.n_units))
        self.outcomes = {}
        self.collector = collector = OutcomeCollector()
        self.panel.set_units(unfitted_rows(recording), recording.response_name == "counts")
        self.panel.set_progress(0, len(indices))

        def task(cancel, report):
            return fit_population(recording, preset, indices, collector, cancel, report)

        self.batch = BackgroundJob(task, "vbgui-population", self)
        worker = self.batch.worker
        worker.yielded.connect(self._take_outcomes)
        worker.returned.connect(self._on_finished)
        worker.cancelled.connect(self._on_cancelled)
        worker.errored.connect(self._on_failed)
        self.panel.show_message(f"Fitting {preset.name or 'the preset'} ({preset.fit.family}) to "
                                f"{units(len(indices))}…" + (f" Note: {slow}." if slow else ""))
        self.dock.raise_()
        self.batch.start()
        self.update_controls()
        return True

    def cancel(self) -> None:
        """Stop the batch (thread-safe token): running fits stop at their next check; finished units stay."""
        if self.is_running():
            self.batch.abort()
            self.panel.cancel_button.setEnabled(False)
            self.panel.show_message("Cancelling…")

    def _take_outcomes(self, *_args) -> None:
        """Move the outcomes finished since the last look into the table and the progress bar."""
        rows = self.panel.model.rows
        for outcome in self.collector.take_new():
            self.outcomes[outcome.index] = outcome
            self.panel.set_row(fitted_row(rows[outcome.index], outcome))
        self.panel.progress_bar.setValue(len(self.outcomes))

    def _end_batch(self) -> None:
        """The batch's thread is ending: take its last outcomes and join it."""
        self._take_outcomes()
        if self.batch is not None:
            self.batch.shutdown()

    def _say(self, message: str) -> None:
        self.panel.show_message(message)
        self.window.show_status(f"Population: {message}")  # in view even where the dock is short
        self.update_controls()

    def _on_finished(self, finished: int) -> None:
        self._end_batch()
        failed = sum(not outcome.succeeded for outcome in self.outcomes.values())
        failures = f", {failed} failed (their reasons are in the Status column)" if failed else ""
        self._say(f"{units(finished)} fitted{failures}: click a row to show that unit's fit.")
        self.batch_finished.emit(finished)

    def _on_cancelled(self) -> None:
        self._end_batch()
        self._say(f"Cancelled: kept the {units(len(self.outcomes))} fitted before.")
        self.batch_cancelled.emit(len(self.outcomes))

    def _on_failed(self, message: str) -> None:
        self._end_batch()
        self._say(f"The batch did not run: {message}")
        self.window.show_error("The batch did not run", message)
        self.batch_failed.emit(message)

    def _stop_batch(self) -> None:
        """Cancel a running batch and join its thread (another file is shown, or the window closes)."""
        if self.batch is not None:
            worker = self.batch.worker
            for signal in (worker.yielded, worker.returned, worker.cancelled, worker.errored):
                signal.disconnect()
            self.batch.shutdown()
        if self.unit_view is not None:
            for signal in (self.unit_view.worker.returned, self.unit_view.worker.errored):
                signal.disconnect()
            self.unit_view.shutdown()
        self.batch = self.unit_view = None

    # -- one unit -----------------------------------------------------------------------------------
    def show_unit(self, index: int) -> None:
        """Show unit ``index`` in the main panels: its fit when it has one (rebuilt in the background), else
        its data."""
        window = self.window
        if window.is_fitting():
            window.show_error("Fit running", "Stop the running fit before choosing another unit.")
            return
        outcome = self.outcomes.get(index)
        if index in self.recording_file.unit_problems:
            window.show_status(self.recording_file.unit_problems[index], error=True)
            return
        if outcome is None or outcome.result is None:
            window.select_unit(index)
            window.recording_panel.set_units(self.recording_file.unit_names, index)
            if outcome is not None:
                window.show_status(f"Unit {outcome.unit} was not fitted: {outcome.error}", error=True)
            return
        if self.unit_view is not None:  # the user clicked another unit before the last one was shown
            for signal in (self.unit_view.worker.returned, self.unit_view.worker.errored):
                signal.disconnect()
            self.unit_view.shutdown()
        recording, data = self.recording_file, outcome.result

        def task(cancel, _report):
            return rebuild_unit_fit(recording, index, data, cancel)

        self.unit_view = BackgroundJob(task, "vbgui-unit-view", self)
        self.unit_view.worker.returned.connect(self._on_unit_rebuilt)
        self.unit_view.worker.errored.connect(self._on_unit_failed)
        window.show_status(f"Showing unit {outcome.unit}'s fit…")
        self.unit_view.start()

    def _on_unit_rebuilt(self, unit_fit: UnitFit) -> None:
        self.unit_view.shutdown()
        window = self.window
        if window.is_fitting() or self.recording_file is None:
            return
        result = unit_fit.result
        window.recording_panel.set_units(self.recording_file.unit_names, unit_fit.index)
        window.recordings.show_recording(unit_fit.recording)  # clears the previous fit
        # the form shows the fitted preset, so that Run refits this model
        window.preset_panel.add_preset(unit_fit.preset, BATCH_PRESET_LABEL, self.recording_file.source)
        window.results.show_fit(result, unit_fit.preset, unit_fit.recording, unit_fit.session, unit_fit.reference)
        state = "converged" if result.converged else f"stopped ({result.stop_reason})"
        window.show_status(f"Unit {result.unit}: batch fit with {window.fit.fit_label}, {state} after "
                           f"{result.iterations:,} iterations: ELBO {result.elbo:,.3f} nats (no refit).")
        window.fit.update_controls()
        window.result_reopened.emit(result)
        self.unit_shown.emit(unit_fit.index)

    def _on_unit_failed(self, message: str) -> None:
        self.unit_view.shutdown()
        self.window.show_error("Cannot show the unit's fit", message)

    # -- export -------------------------------------------------------------------------------------
    def export_summary(self) -> None:
        """Export summary…: ask where, then write the finished units' summary CSV."""
        if not self.outcomes:
            self.window.show_error("Nothing to export", "Fit the units first (Fit all units).")
            return
        name = f"{Path(self.recording_file.source).stem or 'vbgui'}-summary.csv"
        path, _ = QFileDialog.getSaveFileName(self.window, "Export the population summary",
                                              os.path.join(self.window.save_folder(), name), "CSV table (*.csv)",
                                              options=QFileDialog.Option.DontConfirmOverwrite)
        if path:
            self.write_summary(path if Path(path).suffix else f"{path}.csv")

    def write_summary(self, path: str | Path) -> bool:
        """Write the finished units (in file order) as ``vbgui batch``'s summary.csv; an existing file is
        replaced only if the user confirms."""
        from vbgui.app.batch import summary_csv_text
        from vbgui.io.safe_write import write_file

        window, path = self.window, Path(path)
        exists = path.exists()
        if exists and not window.results.confirm_overwrite([path]):
            window.show_status(f"Not exported: {path} was kept.")
            return False
        text = summary_csv_text([self.outcomes[index] for index in sorted(self.outcomes)])
        try:
            write_file(path, lambda handle: handle.write(text.encode("utf-8")), force=exists,
                       inputs=[self.recording_file.source])
        except VbguiError as exc:
            window.show_error("Cannot export the summary", str(exc))
            return False
        window.preferences.save_folder = str(path.parent)
        window.show_status(f"Wrote the summary of {units(len(self.outcomes))} to {path}")
        return True

    # -- shutdown -----------------------------------------------------------------------------------
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        """When the window closes, cancel the batch and join its thread."""
        if watched is self.window and event.type() == QEvent.Type.Close and not self.closed:
            self.closed = True
            self._stop_batch()
        return False


def install_population(window: QMainWindow) -> PopulationController:
    """Give ``window`` (a :class:`~vbgui.gui.main_window.MainWindow`, its diagnostics installed) the Population
    dock and Fit > Fit all units."""
    return PopulationController(window)
