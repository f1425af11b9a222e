"""Fitting a latent-dynamics preset from the main window: Run, Pause, Stop, the live ELBO, the Latents view.

A latent-dynamics preset (``poisson-lds`` or a user's preset with
``latent_dim``) fits every unit of the loaded file together, in a
:class:`~vbgui.gui.background.BackgroundJob` running
:func:`vbgui.app.lds_live.fit_lds_live`.  The window keeps its previous fit
until the session has passed its checks (latent_dim against the units, bins,
responses): a pair that cannot be fitted is refused in one line (dialog and
status line) and nothing on screen changes.  Once the session is ready the
previous fit is cleared, the ELBO panel draws every EM iteration's ELBO and
its two terms (nats) as the throttled progress arrives, Pause holds the fit
after its current EM iteration, Stop cancels between (or within) iterations,
and the finished fit becomes the window's ``result`` (File > Export result
writes the latent-dynamics result contract, as ``vbgui fit`` does) and opens
in the Latents view, with the true path of a synthetic population.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import QObject
from PySide6.QtWidgets import QMainWindow

from vbgui.app.lds_live import LdsLiveOutcome, LdsSessionReady, fit_lds_live, units_of
from vbgui.app.live_trace import LiveTrace
from vbgui.gui.background import BackgroundJob
from vbgui.gui.window.actions import add_action
from vbgui.models.preset import Preset

if TYPE_CHECKING:
    from vbgui.app.lds_result import LdsFitResult

ITERATIONS_FORMAT = "%v / %m iterations"


class LdsFitController(QObject):
    """Runs latent-dynamics fits for the window's :class:`~vbgui.gui.window.fit_control.FitController`.

    A QObject of the GUI thread, so the worker's signals reach its slots queued in that thread.
    """

    def __init__(self, window: QMainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.runner: BackgroundJob | None = None
        self.trace: LiveTrace | None = None
        self.preset: Preset | None = None
        self.session_started = False  # the session passed its checks and the previous fit was cleared
        self._kept_progress: tuple[str, int, int, int] | None = None
        self.latents_action = add_action(window, "&Latents window", self.show_latents_window, None,
                                         "Show the Latents window of the last latent-dynamics fit (fitted here "
                                         "or reopened): trajectories, ELBO, joint of adjacent bins, loadings C.")

    def show_latents_window(self) -> None:
        """View > Latents window: bring the Latents view back (closing it only hides it)."""
        from vbgui.gui.window.latents import latents_view  # the view imports the engine's result types

        view = latents_view(self.window, create=False)
        if view is None or view.result is None:
            self.window.show_status("No latent-dynamics fit yet: choose the poisson-lds preset (or open a "
                                    "latent-dynamics result) and press Run.")
            return
        view.show()
        view.raise_()
        view.activateWindow()

    def is_running(self) -> bool:
        """Whether a latent-dynamics fit is running (or being prepared)."""
        return self.runner is not None and self.runner.is_running()

    def run(self, preset: Preset) -> bool:
        """Start fitting ``preset`` to every unit of the loaded file; the window changes only once it starts."""
        window = self.window
        self.discard()
        recording_file, recording = window.recording_file, window.recording
        trace = LiveTrace()

        def task(cancel, report) -> LdsLiveOutcome:
            return fit_lds_live(preset, units_of(recording_file, recording), trace, cancel, report)

        self.runner, self.trace, self.preset, self.session_started = (
            BackgroundJob(task, "vbgui-lds-fit", self), trace, preset, False)
        worker = self.runner.worker
        worker.yielded.connect(self._on_progress)
        worker.returned.connect(self._on_finished)
        worker.cancelled.connect(self._on_cancelled)
        worker.errored.connect(self._on_failed)
        bar = window.progress_bar
        self._kept_progress = (bar.format(), bar.minimum(), bar.maximum(), bar.value())
        bar.setRange(0, 0)  # busy until the session is ready
        window.show_status(f"Preparing the latent-dynamics fit ({preset.name or 'preset'}, {preset.latent_dim} "
                           "latents): checking the recording…")
        self.runner.start()
        window.fit.update_controls()
        return True

    def stop(self) -> None:
        """Cancel the running fit; it ends within the current EM iteration, keeping what it reached."""
        if self.is_running():
            self.runner.abort()
            self.window.show_status("Stopping…")

    def discard(self) -> None:
        """Cancel and forget any fit of this controller (Reset, a new run, the window closing)."""
        if self.runner is None:
            return
        worker = self.runner.worker
        for signal in (worker.yielded, worker.returned, worker.cancelled, worker.errored):
            signal.disconnect()
        self.runner.shutdown()
        self.runner = None
        if not self.session_started and self._kept_progress is not None:
            self._restore_progress()

    # -- the running fit ----------------------------------------------------------------------------
    def _on_progress(self, progress: Any) -> None:
        if not self.session_started:
            self._start_session(progress)
        if isinstance(progress, LdsSessionReady):
            return
        window = self.window
        window.elbo_plot.set_trace(*self.trace.arrays())
        window.progress_bar.setValue(progress.iteration)
        window.show_status(f"Latent-dynamics fit: iteration {progress.iteration:,} / {progress.max_iter:,}  ·  "
                           f"ELBO {progress.terms.elbo:,.3f} nats  ·  {progress.elapsed:.1f} s")

    def _start_session(self, progress: Any) -> None:
        """The session passed its checks: clear the previous fit and show this one starting."""
        window, preset = self.window, self.preset
        self.session_started = True
        window.fit.clear_fit()
        window.progress_bar.setFormat(ITERATIONS_FORMAT)
        window.progress_bar.setRange(0, preset.fit.max_iter)
        window.progress_bar.setValue(0)
        window.fit.fit_label = f"{preset.fit.family} latent path"
        if isinstance(progress, LdsSessionReady):
            window.show_status(f"Fitting {progress.latent_dim} latents ({progress.family}) to {progress.n_units} "
                               f"units x {progress.n_bins:,} bins…")
        window.summary_panel.show_message(
            f"Fitting {preset.latent_dim} latents ({preset.fit.family} q over the path) to every unit; they "
            "open in the Latents window when the fit ends.")
        self._latents_view()  # built now, hidden, so that the fit's end (or Stop) only fills it
        window.fit.update_controls()
        window.fit_started.emit()

    def _on_finished(self, outcome: LdsLiveOutcome) -> None:
        window = self.window
        self._join()
        result = outcome.result
        if result.iterations == 0:
            self._end_without_result("The fit was stopped before its first iteration: nothing to show.")
            return
        if not self.session_started:  # every report dropped by the throttle: a very short fit
            self._start_session(None)
        window.fit.result = result
        trace = result.trace
        window.elbo_plot.set_trace(*(np.asarray(column, dtype=float) for column in (
            trace.iteration, trace.elbo, trace.expected_log_likelihood, trace.kl)))
        window.progress_bar.setValue(result.iterations)
        state = "converged" if result.converged else f"stopped ({result.stop_reason})"
        window.summary_panel.show_message(
            f"Latent-dynamics fit {state} after {result.iterations} iterations in {result.seconds:.2f} s: ELBO "
            f"{result.elbo:,.1f} nats. Its latents are in the Latents window (View menu).")
        self._show_latents(result, outcome)
        window.show_status(f"Fit {state} after {result.iterations:,} iterations in {result.seconds:.2f} s: "
                           f"ELBO {result.elbo:,.3f} nats; the latents are in the Latents window.")
        window.fit.update_controls()
        window.fit_finished.emit(result)

    def _latents_view(self):
        from vbgui.gui.window.latents import latents_view  # the view imports the engine's result types

        return latents_view(self.window)

    def _show_latents(self, result: LdsFitResult, outcome: LdsLiveOutcome) -> None:
        view = self._latents_view()
        view.show_result(result, None, outcome.truth)
        view.show()
        view.raise_()

    def _on_cancelled(self) -> None:
        self._join()
        self._end_without_result("The fit was stopped before it started.")

    def _on_failed(self, message: str) -> None:
        self._join()
        window = self.window
        if self.session_started:
            window.idle_progress()
            window.summary_panel.show_message("The fit did not finish.")
            window.show_error("The fit did not finish", message)
        else:  # refused before anything changed: the previous fit stays on screen
            self._restore_progress()
            window.show_error("Cannot run", message)
        window.fit.update_controls()
        window.fit_failed.emit(message)

    def _end_without_result(self, message: str) -> None:
        window = self.window
        if self.session_started:
            window.idle_progress()
            window.summary_panel.show_message(message)
        else:
            self._restore_progress()
        window.show_status(message)
        window.fit.update_controls()
        window.fit_failed.emit(message)

    def _restore_progress(self) -> None:
        form, low, high, value = self._kept_progress
        bar = self.window.progress_bar
        bar.setFormat(form)
        bar.setRange(low, high)
        bar.setValue(value)

    def _join(self) -> None:
        if self.runner is not None:
            self.runner.shutdown()
