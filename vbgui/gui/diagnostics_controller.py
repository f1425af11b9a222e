"""Wires the diagnostics into the main window: a dock, menu actions, a run after every fit.

:func:`install_diagnostics` is the whole hook the window needs.  After each
fit the window announces (``fit_finished``), the controller diagnoses it in
a :class:`~vbgui.gui.background.BackgroundJob` (cancelling one still
running), shows the outcome in the :class:`DiagnosticsPanel` dock (a tab
beside the plots on a short window: :mod:`vbgui.gui.diagnostics_place`), and, for
models without an exact reference, gives the posterior panel the
diagnostics' draws to contour.  Fit > Diagnose last fit and the panel's
Diagnose button run it on demand (e.g. with HMC as the reference); Fit >
Compare models… opens the :class:`~vbgui.gui.compare_dialog.CompareDialog`.
The engine modules are imported when first needed, so installing the
diagnostics keeps numba and scipy off the window's start-up path.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np
from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QDialog, QDockWidget, QMainWindow, QMenu, QScrollArea

from vbgui.app.fit_diagnostics import FitDiagnostics, diagnose_fit
from vbgui.app.result import FitResult
from vbgui.gui.axes import hold_layout_minimum
from vbgui.gui.background import BackgroundJob
from vbgui.gui.diagnostics_panel import DiagnosticsPanel
from vbgui.gui.diagnostics_place import DiagnosticsPlacement
from vbgui.app.shown_reference import sampled_reference

DOCK_HEIGHT = 300
PANEL_MIN_HEIGHT = 220
RELAYOUT_DELAY_MS = 100  # after a diagnosis is drawn, its plots' minimum width is measured again
NO_FIT = "No fit: the diagnostics run when a fit ends."


def _menu(window: QMainWindow, title: str) -> QMenu | None:
    """The menu-bar menu whose title (without '&') is ``title``."""
    for action in window.menuBar().actions():
        if action.menu() is not None and action.text().replace("&", "") == title:
            return action.menu()
    return None


class DiagnosticsController(QObject):
    """Runs and shows the diagnostics of the window's fits; see the module docstring.

    ``diagnostics_finished`` (FitDiagnostics) and ``diagnostics_failed``
    (message, 'cancelled' when cancelled) follow each run, for tests and scripts.
    """

    diagnostics_finished = Signal(object)
    diagnostics_failed = Signal(str)

    def __init__(self, window: QMainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.runner: BackgroundJob | None = None
        self.closed = False  # set when the window closes: a fit ending after that is not diagnosed
        self.compare_dialog: QDialog | None = None
        self.last_outcome: FitDiagnostics | None = None
        self.panel = DiagnosticsPanel()
        self.dock = QDockWidget("Diagnostics", window)
        self.dock.setObjectName("diagnostics-dock")
        # on a short screen the dock gets what the plots leave; its content scrolls rather than squashing
        # the heat maps below reading size
        self.panel.setMinimumHeight(PANEL_MIN_HEIGHT)
        hold_layout_minimum(self.panel.plots)  # a narrow screen scrolls to the last heat map, never cuts it
        scroll = QScrollArea()
        scroll.setWidget(self.panel)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        self.dock.setWidget(scroll)
        window.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.dock)
        if not window.restoreDockWidget(self.dock):
            window.resizeDocks([self.dock], [DOCK_HEIGHT], Qt.Orientation.Vertical)
        self.placement = DiagnosticsPlacement(window, self.dock, scroll, self.panel, PANEL_MIN_HEIGHT)

        self.diagnose_action = QAction("&Diagnose last fit", window)
        self.diagnose_action.setToolTip("PSIS k-hat, importance-weighted evidence, sd ratios and correlations "
                                        "of the last fit against a reference posterior (runs after every fit).")
        self.diagnose_action.triggered.connect(lambda: self.diagnose())
        self.compare_action = QAction("&Compare models…", window)
        self.compare_action.setToolTip("Fit several presets or families on this recording and compare their "
                                       "ELBO, evidence and Bayes factors.")
        self.compare_action.triggered.connect(lambda: self.show_compare_dialog())
        fit_menu = _menu(window, "Fit")
        if fit_menu is not None:
            fit_menu.addSeparator()
            fit_menu.addAction(self.diagnose_action)
            fit_menu.addAction(self.compare_action)
        view_menu = _menu(window, "View")
        if view_menu is not None:
            view_menu.addAction(self.dock.toggleViewAction())

        window.fit_started.connect(self.on_fit_started)
        window.fit_finished.connect(self.on_fit_finished)
        window.fit_cleared.connect(self.on_fit_cleared)
        window.result_reopened.connect(self.on_fit_finished)
        self.panel.diagnose_requested.connect(self.diagnose)
        self.panel.cancel_requested.connect(self.cancel)
        window.installEventFilter(self)

    # -- running ------------------------------------------------------------------------------------
    def on_fit_started(self) -> None:
        """A new fit began: the shown diagnosis belongs to the previous one, so stop and clear it."""
        self.cancel()
        self.panel.clear()
        self.placement.set_verdict("")
        self.panel.set_idle("Diagnostics run when the fit ends.", can_diagnose=False)

    def on_fit_cleared(self) -> None:
        """The window's fit is gone (Reset, another recording, a reopened result): so is its diagnosis."""
        self.cancel()
        self.panel.clear()
        self.placement.set_verdict("")
        self.panel.set_idle(NO_FIT, can_diagnose=False)

    def on_fit_finished(self, result: FitResult) -> None:
        """A fit ended or was reopened from its file: diagnose it with the automatic reference.

        Started from the event loop, not inside the signal: the other slots of
        ``fit_finished`` (the window's own) run first, so a stopped fit shows at once.
        """
        QTimer.singleShot(0, self, lambda: self.diagnose("auto"))

    def diagnose(self, reference: str = "auto") -> bool:
        """Diagnose the window's last fit in the background; False (and a message) when there is none."""
        window, result = self.window, self.window.result
        if self.closed:
            return False
        problem = self._cannot_diagnose(result)
        if problem:
            self.panel.set_idle(problem, can_diagnose=result is not None)
            plot = window.posterior_plot
            if isinstance(result, FitResult) and plot.reference is None and plot.names == tuple(result.names):
                plot.set_reference(None, f"reference posterior: none drawn. {problem}")
            return False
        if self.runner is not None:
            self.runner.shutdown()
        from vbgui.app.diagnose import DiagnosticsSettings

        recording = window.recording
        settings = DiagnosticsSettings(reference=reference)
        self.panel.clear()

        def task(cancel, report):
            return diagnose_fit(result, recording, settings, cancel, report)

        self.runner = BackgroundJob(task, "vbgui-diagnostics", self)
        worker = self.runner.worker
        worker.yielded.connect(self.panel.show_progress)
        worker.returned.connect(self._on_finished)
        worker.errored.connect(self._on_failed)
        worker.cancelled.connect(self._on_cancelled)
        self.panel.set_running(f"Diagnosing the {result.family} fit ({settings.reference} reference)…")
        self.runner.start()
        return True

    def _cannot_diagnose(self, result: FitResult | None) -> str:
        """Why the last fit cannot be diagnosed now, or '' when it can."""
        from vbgui.app.fit import recording_checksum
        from vbgui.models.preset import preset_from_dict

        if result is None:
            return "No fit to diagnose: run one first."
        if not isinstance(result, FitResult):
            return "A latent-dynamics fit has no diagnostics here: its latents are in the Latents window."
        if not (np.all(np.isfinite(result.mean)) and np.all(np.isfinite(result.cov))):
            return "The fit diverged: nothing to diagnose."
        recording = self.window.recording
        if recording is None or (result.recording_checksum
                                 and recording_checksum(recording, preset_from_dict(result.preset).design)
                                 != result.recording_checksum):
            return "The fit's recording is not loaded: open it to diagnose the fit."
        return ""

    def is_running(self) -> bool:
        return self.runner is not None and self.runner.is_running()

    def cancel(self) -> None:
        """Stop the running diagnostics (they end with 'cancelled')."""
        if self.runner is not None:
            self.runner.abort()

    def diagnostics_of(self, result: FitResult) -> dict | None:
        """The ``"diagnostics"`` object of the last diagnosis if it was of ``result`` (exports carry it)."""
        if self.last_outcome is None or self.last_outcome.result is not result:
            return None
        return self.last_outcome.diagnostics.to_dict()

    def _on_finished(self, outcome: FitDiagnostics) -> None:
        self._join()
        self.last_outcome = outcome
        diagnostics = outcome.diagnostics
        self.panel.show_diagnostics(diagnostics, outcome.q_cov)
        self.placement.set_verdict(diagnostics.psis_verdict)
        # the parameters' names set the heat maps' axis widths, which pyqtgraph measures as it paints them
        QTimer.singleShot(RELAYOUT_DELAY_MS, lambda: hold_layout_minimum(self.panel.plots))
        self.panel.set_idle(f"Done in {diagnostics.seconds:.2f} s: PSIS k-hat {diagnostics.psis_khat:.2f} "
                            f"({diagnostics.psis_verdict}).", can_diagnose=True)
        plot = self.window.posterior_plot
        current = plot.reference is None or plot.reference.kind == "sampled"
        if current and outcome.result is self.window.result and plot.names == diagnostics.names:
            sampled = sampled_reference(diagnostics.reference_posterior)
            if sampled is not None:
                plot.set_reference(sampled)
        self.diagnostics_finished.emit(outcome)

    def _on_failed(self, message: str) -> None:
        self._join()
        self.panel.set_idle(f"The diagnostics did not run: {message}", can_diagnose=self.window.result is not None)
        self.diagnostics_failed.emit(message)

    def _on_cancelled(self) -> None:
        self._join()
        self.panel.set_idle("Diagnostics cancelled.", can_diagnose=self.window.result is not None)
        self.diagnostics_failed.emit("cancelled")

    def _join(self) -> None:
        if self.runner is not None:
            self.runner.shutdown()

    # -- comparison ---------------------------------------------------------------------------------
    def show_compare_dialog(self) -> QDialog | None:
        """Open the comparison dialog for the loaded recording (shipped presets and the form's)."""
        window = self.window
        if window.recording is None:
            window.show_error("No recording", "Open a recording to compare models on it.")
            return None
        if self.compare_dialog is not None:
            self.compare_dialog.close()
        from vbgui.gui.compare_dialog import CompareDialog

        presets = {}
        form = window.preset_panel.current_preset()
        if form is not None:  # named apart from the preset it was loaded from, in the table too
            presets["current form"] = replace(form, name=f"{form.name or 'preset'} (current form)")
        for row in range(window.preset_panel.preset_list.count()):
            item = window.preset_panel.preset_list.item(row)
            presets[item.text()] = item.data(Qt.ItemDataRole.UserRole)
        self.compare_dialog = CompareDialog(window.recording, presets, window)
        self.compare_dialog.show()
        return self.compare_dialog

    # -- shutdown -----------------------------------------------------------------------------------
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        """When the window closes, cancel the diagnostics and join their thread."""
        if watched is self.window and event.type() == QEvent.Type.Close:
            self.closed = True
            self._join()
            if self.compare_dialog is not None:
                self.compare_dialog.close()
        return False


def install_diagnostics(window: QMainWindow) -> DiagnosticsController:
    """Give ``window`` (a :class:`~vbgui.gui.main_window.MainWindow`) its diagnostics dock and actions."""
    return DiagnosticsController(window)
