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
replaces a file.

Amortise… (Fit > Amortise… or the dock's button) asks for the training
units and refinement passes (the defaults of ``vbgui batch --amortise``) and
runs :func:`vbgui.app.population.amortise_population` the same way: the
table gains where each q came from and the amortisation and approximation
gaps in nats, plotted across units beside it
(:class:`~vbgui.gui.gap_plot.GapPlot`); Export summary then writes
``vbgui batch --amortise``'s columns.

When the batch fitted a coupled preset (``coupling_lags`` > 0), the
posterior over couplings is gathered off the GUI thread
(:func:`vbgui.app.coupling.coupling_matrix`) and drawn beside the table as
unit x unit heat maps (:class:`~vbgui.gui.coupling_view.CouplingView`); a
click on a cell shows the target unit's fit.

The dock is tabbed with the Diagnostics dock: it comes to the front when a
recording of several units is opened, and goes when one of a single unit is
(View > Population shows it anyway).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QDockWidget, QFileDialog, QMainWindow, QMenu, QScrollArea

from vbgui.app.population import (OutcomeCollector, UnitFit, amortise_population, check_population_fit,
                                  default_training_units, fit_population, fitted_row, latent_batch_problem,
                                  rebuild_unit_fit, unfitted_rows)
from vbgui.errors import VbguiError
from vbgui.gui.amortise_dialog import AmortiseDialog
from vbgui.gui.coupling_view import CouplingView
from vbgui.gui.background import BackgroundJob
from vbgui.gui.gap_plot import GapPlot
from vbgui.gui.population_panel import NO_POPULATION, PopulationPanel
from vbgui.gui.window.actions import add_action
from vbgui.io.recording import RecordingFile

if TYPE_CHECKING:
    from vbgui.app.batch import UnitOutcome
    from vbgui.app.coupling import CouplingMatrix
    from vbgui.models.preset import Preset

PANEL_MIN_HEIGHT = 130
# Tabbed docks stack a tab bar on their title bar: their scrolled contents give that height back, so a laptop's
# window (1366 x 700) keeps the plots' minimum heights with both docks shown.
DOCK_CONTENT_MIN_HEIGHT = 40
COUPLING_DOCK_HEIGHT = 330  # pixels the dock grows to (as the plots above allow) to show the coupling matrix
FLOATING_DOCK_SIZE = (1300, 560)  # the Population dock floated by the coupling view's Enlarge
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
    unit's index) follows a click once that unit's fit is in the main panels;
    ``couplings_shown`` (the matrix) once a coupled batch's heat maps are drawn.
    """

    batch_finished = Signal(int)
    batch_cancelled = Signal(int)
    batch_failed = Signal(str)
    unit_shown = Signal(int)
    couplings_shown = Signal(object)

    def __init__(self, window: QMainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.recording_file: RecordingFile | None = None
        self.outcomes: dict[int, UnitOutcome] = {}
        self.collector = OutcomeCollector()
        self.batch: BackgroundJob | None = None
        self.unit_view: BackgroundJob | None = None
        self.couplings: BackgroundJob | None = None
        self.coupling_view: CouplingView | None = None
        self.batch_preset: Preset | None = None
        self.amortised = False  # the last batch was amortised inference
        self.amortise_dialog: AmortiseDialog | None = None
        self.gap_plot: GapPlot | None = None
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
        self.amortise_action = add_action(window, "&Amortise…", self.ask_amortise, None,
                                          "Amortised inference over every unit (the Population dock): fit some "
                                          "units exactly, train an encoder, give the others their q by one forward "
                                          "pass, and measure each unit's gaps in nats.")
        fit_menu.addAction(self.amortise_action)
        menu_titled(window, "View").addAction(self.dock.toggleViewAction())

        self.panel.fit_all_requested.connect(self.fit_all)
        self.panel.amortise_requested.connect(self.ask_amortise)
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
        self._clear_couplings()
        self.panel.set_gap_view(None)
        self.gap_plot = None
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
        """Enable Fit all units and Amortise… when a GLM preset may start a batch now; a latent-dynamics
        preset, fitted to every unit together by Run, disables them and their tooltips say why."""
        running = self.is_running()
        preset = self.window.preset_panel.current_preset()
        latent = preset is not None and preset.is_latent_dynamics
        can_fit = (self.recording_file is not None and preset is not None and not latent
                   and not self.window.is_fitting())
        self.panel.set_running(running, can_fit, bool(self.outcomes))
        self.panel.explain_batch_unavailable(latent_batch_problem(preset) if latent else None)
        self.fit_all_action.setEnabled(can_fit and not running)
        self.amortise_action.setEnabled(can_fit and not running)

    # -- the batch ----------------------------------------------------------------------------------
    def is_running(self) -> bool:
        return self.batch is not None and self.batch.is_running()

    def _startable_preset(self, what: str) -> Preset | None:
        """The form's preset when a batch may start now (``what``: 'fit all units', 'amortise'), else None
        after saying why."""
        window = self.window
        preset = window.preset_panel.current_preset()
        if self.recording_file is None:
            window.show_error("No population", NO_POPULATION)
            return None
        if preset is None:
            window.show_error(f"Cannot {what}", "Fix the preset form first.")
            return None
        if window.is_fitting():
            window.show_error("Fit running", f"Stop the running fit before you {what}.")
            return None
        if self.is_running():
            return None
        return preset

    def fit_all(self) -> bool:
        """Fit the form's preset to every unit in the background; False (and a message) when it cannot start."""
        preset = self._startable_preset("fit all units")
        if preset is None:
            return False
        try:
            slow = check_population_fit(self.recording_file, preset, Path(self.recording_file.source).name)
        except VbguiError as exc:
            self.window.show_error("Cannot fit all units", str(exc))
            return False
        recording, collector = self.recording_file, OutcomeCollector()
        indices = list(range(recording.n_units))

        def task(cancel, report):
            return fit_population(recording, preset, indices, collector, cancel, report)

        self._start_batch(task, preset, collector, False,
                          f"Fitting {preset.name or 'the preset'} ({preset.fit.family}) to {units(len(indices))}…"
                          + (f" Note: {slow}." if slow else ""))
        return True

    def ask_amortise(self) -> None:
        """Amortise…: ask for the training units and refinement passes (a non-blocking dialog), then start."""
        if self._startable_preset("amortise") is None:
            return
        dialog = AmortiseDialog(self.recording_file.n_usable_units, default_training_units(self.recording_file), self.window)
        dialog.accepted.connect(lambda: self.amortise(*dialog.settings()))
        dialog.finished.connect(dialog.deleteLater)
        self.amortise_dialog = dialog
        dialog.open()

    def amortise(self, train: int | None = None, refine: int = 0) -> bool:
        """Amortised inference over every unit in the background (as ``vbgui batch --amortise --train train
        --refine refine``; ``train`` None: its default); False (and a one-line message) when it cannot start."""
        from vbgui.app.amortise import AmortiseSettings, check_amortisable

        preset = self._startable_preset("amortise")
        if preset is None:
            return False
        recording = self.recording_file
        settings = AmortiseSettings(train=train, refine=refine, seed=preset.fit.seed)
        try:
            check_amortisable(preset, recording.n_units, settings, recording.n_usable_units, flag="Amortise")
            slow = check_population_fit(recording, preset, Path(recording.source).name)
        except VbguiError as exc:
            self.window.show_error("Cannot amortise", str(exc))
            return False
        collector = OutcomeCollector()
        indices = list(range(recording.n_units))

        def task(cancel, report):
            return amortise_population(recording, preset, indices, settings, collector, cancel, report)

        trained = default_training_units(recording) if train is None else train
        self._start_batch(task, preset, collector, True,
                          f"Amortising {preset.name or 'the preset'} ({preset.fit.family}) over "
                          f"{units(len(indices))}: {units(trained)} fitted exactly to train the encoder, "
                          f"{refine} refinement pass(es), then every unit's gaps…"
                          + (f" Note: {slow}." if slow else ""))
        return True

    def _start_batch(self, task, preset: Preset, collector: OutcomeCollector, amortised: bool, message: str) -> None:
        """Run ``task`` (a batch filling ``collector``) in the background; the table starts afresh."""
        recording = self.recording_file
        self.outcomes = {}
        self.batch_preset = preset
        self.amortised = amortised
        self._clear_couplings()
        self.panel.set_gap_view(None)
        self.gap_plot = None
        self.collector = collector
        self.panel.set_units(unfitted_rows(recording), recording.response_name == "counts", amortised)
        self.panel.set_progress(0, recording.n_units)
        self.batch = BackgroundJob(task, "vbgui-population", self)
        worker = self.batch.worker
        worker.yielded.connect(self._take_outcomes)
        worker.returned.connect(self._on_finished)
        worker.cancelled.connect(self._on_cancelled)
        worker.errored.connect(self._on_failed)
        self.panel.show_message(message)
        self.dock.raise_()
        self.batch.start()
        self.update_controls()

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
        if self.amortised:
            self._say(f"{units(finished)} done{failures}: the gaps are in the table and the plot; click a row to "
                      "show that unit's q.")
        else:
            self._say(f"{units(finished)} fitted{failures}: click a row to show that unit's fit.")
        self._plot_gaps()
        self.batch_finished.emit(finished)
        self._gather_couplings()

    def _on_cancelled(self) -> None:
        self._end_batch()
        self._say(f"Cancelled: kept the {units(len(self.outcomes))} fitted before.")
        self._plot_gaps()
        self.batch_cancelled.emit(len(self.outcomes))
        self._gather_couplings()

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
        for runner in (self.unit_view, self.couplings):
            if runner is not None:
                for signal in (runner.worker.returned, runner.worker.errored):
                    signal.disconnect()
                runner.shutdown()
        self.batch = self.unit_view = self.couplings = None

    def _plot_gaps(self) -> None:
        """After amortised inference: both gaps of every finished unit across units, beside the table."""
        if not self.amortised or not self.outcomes:
            return
        if self.gap_plot is None:
            self.gap_plot = GapPlot()
            self.panel.set_gap_view(self.gap_plot)
        self.gap_plot.show_rows(self.panel.model.rows)

    # -- the coupling matrix ------------------------------------------------------------------------
    def _gather_couplings(self) -> None:
        """After a batch of a coupled preset: gather the fitted units' couplings in the background."""
        from vbgui.app.coupling import coupling_matrix

        preset = self.batch_preset
        results = [self.outcomes[index].result for index in sorted(self.outcomes)
                   if self.outcomes[index].result is not None]
        if preset is None or preset.design.coupling_lags == 0 or not results or self.recording_file is None:
            return
        names = self.recording_file.unit_names

        def task(_cancel, _report):
            return coupling_matrix(results, names)

        self.couplings = BackgroundJob(task, "vbgui-couplings", self)
        self.couplings.worker.returned.connect(self._on_couplings)
        self.couplings.worker.errored.connect(self._on_couplings_failed)
        self.couplings.start()

    def _on_couplings(self, matrix: CouplingMatrix) -> None:
        self.couplings.shutdown()
        if self.coupling_view is None:
            self.coupling_view = CouplingView()
            self.coupling_view.unit_clicked.connect(self.show_coupled_unit)
            self.coupling_view.enlarge_requested.connect(self.float_dock)
            self.panel.set_coupling_view(self.coupling_view)
        self.coupling_view.show_matrix(matrix)
        if not self.dock.isFloating() and self.dock.height() < COUPLING_DOCK_HEIGHT:  # room for the heat maps
            self.window.resizeDocks([self.dock], [COUPLING_DOCK_HEIGHT], Qt.Orientation.Vertical)
        self.couplings_shown.emit(matrix)

    def _on_couplings_failed(self, message: str) -> None:
        self.couplings.shutdown()
        self._say(f"The coupling matrix cannot be drawn: {message}")

    def _clear_couplings(self) -> None:
        """No coupling matrix: another recording, or a new batch."""
        self.panel.set_coupling_view(None)
        self.coupling_view = None

    def float_dock(self) -> None:
        """The coupling view's Enlarge: the dock in a window of its own, most of the screen wide."""
        self.dock.setFloating(True)
        screen = self.window.screen().availableGeometry()
        self.dock.resize(min(FLOATING_DOCK_SIZE[0], screen.width()), min(FLOATING_DOCK_SIZE[1], screen.height()))
        self.dock.move(screen.center() - self.dock.rect().center())
        self.dock.raise_()
        QTimer.singleShot(0, self.panel.share_views)  # once the floated dock is laid out at its new width

    def show_coupled_unit(self, index: int) -> None:
        """A click on a heat map's cell: select the target unit's row and show its fit."""
        self.panel.select_unit(index)
        self.show_unit(index)

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
        done = [self.outcomes[index] for index in sorted(self.outcomes)]
        if self.amortised:  # vbgui batch --amortise's summary: the gaps too
            from vbgui.app.amortise import AMORTISE_SUMMARY_COLUMNS, amortised_summary_row

            text = summary_csv_text(done, AMORTISE_SUMMARY_COLUMNS, amortised_summary_row)
        else:
            text = summary_csv_text(done)
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
