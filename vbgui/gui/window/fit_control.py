"""Fit control: Run, Pause, Stop and Reset, the throttled repaint of a running fit, the engine's warm-up.

A fit runs in a :class:`~vbgui.gui.background.BackgroundJob` (its
:class:`~vbgui.gui.worker.FitWorker` in a QThread).  Its progress signals
only store the latest iteration; a QTimer repaints at REPAINT_HZ from the
worker's trace buffer, one panel per tick,
so the GUI thread does a bounded amount of drawing however fast the engine
iterates.  The controller owns the fit on screen (``result``, the model
layout the panels show) and announces its end through the window's
``fit_started``, ``fit_finished``, ``fit_failed`` and ``fit_cleared`` signals.
A latent-dynamics preset is fitted by :class:`~vbgui.gui.window.lds_fit.LdsFitController`
instead, with the same Run, Pause, Stop and Reset and the same signals.
"""
from __future__ import annotations

import time
from collections import deque
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QObject, Qt, QTimer
from PySide6.QtWidgets import QMainWindow, QMenu

from vbgui.app.layout import ModelLayout, model_layout
from vbgui.app.result import FitResult
from vbgui.errors import FitError
from vbgui.gui.background import BackgroundJob
from vbgui.gui.engine_warmup import engine_warmup
from vbgui.gui.tooltips import TOOLTIPS
from vbgui.gui.window.actions import add_action
from vbgui.gui.window.lds_fit import LdsFitController
from vbgui.gui.worker import FitSetup, FitWorker
from vbgui.io.recording import Recording
from vbgui.models.preset import Preset
from vbgui.models.step_cost import check_step_cost

if TYPE_CHECKING:  # the engine (scipy, numba) loads in the background, not before the window shows
    from vbgui.app.fit import FitProgress
    from vbgui.app.lds_result import LdsFitResult

REPAINT_HZ = 30
# One panel is redrawn per tick, in this order: the ELBO every other tick (15 Hz), the q panels at 7.5 Hz.
REPAINT_CYCLE = ("elbo", "posterior", "elbo", "parameters")
RATE_WINDOW_SECONDS = 1.0
PROGRESS_FORMAT = "%v / %m iterations"
LATENT_POSTERIOR_NOTE = ("A latent-dynamics preset has no pair of weights: its q over the latent path opens in "
                         "the Latents window when the fit ends.")
LATENT_PARAMETERS_NOTE = ("A latent-dynamics preset fits every unit together through its latents: trajectories "
                          "and loadings C open in the Latents window.")


class FitController(QObject):
    """Runs fits of the window's preset on its recording and shows them in the window's panels.

    A QObject living in the GUI thread, so that the worker's and the warm-up's
    signals, emitted in their own threads, reach its slots queued in the GUI thread.
    """

    def __init__(self, window: QMainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.runner: BackgroundJob | None = None
        self.result: FitResult | LdsFitResult | None = None
        self.lds = LdsFitController(window)
        self.layout: ModelLayout | None = None  # the model the posterior and parameters panels are laid out for
        self.latent_notes_shown = False  # the panels say where a latent-dynamics fit is drawn instead
        self.fit_label = ""
        self._latest: FitProgress | None = None
        self._drawn = dict.fromkeys(REPAINT_CYCLE, 0)  # the iteration each panel shows
        self._next_in_cycle = 0
        self._rate_samples: deque[tuple[float, int]] = deque()
        self.run_action = add_action(window, "&Run", self.run_fit, "Ctrl+R", TOOLTIPS["run"])
        self.pause_action = add_action(window, "&Pause", self.toggle_pause, Qt.Key.Key_Space, TOOLTIPS["pause"])
        self.stop_action = add_action(window, "S&top", self.stop_fit, "Ctrl+.", TOOLTIPS["stop"])
        self.reset_action = add_action(window, "Rese&t", self.reset_fit, None, TOOLTIPS["reset"])
        self.repaint_timer = QTimer(window)
        self.repaint_timer.setInterval(int(1000 / REPAINT_HZ))
        self.repaint_timer.timeout.connect(self.repaint_fit)
        self.warmup = None

    def fill_menu(self, fit_menu: QMenu) -> None:
        """Add Run, Pause, Stop and Reset to ``fit_menu``."""
        for action in (self.run_action, self.pause_action, self.stop_action, self.reset_action):
            fit_menu.addAction(action)

    def start_engine_warmup(self) -> None:
        """Compile the engine in the background (once per installation) and say when it is ready."""
        self.warmup = engine_warmup()
        self.warmup.ready.connect(self._on_engine_warm)
        self.warmup.failed.connect(self._on_engine_warm_failed)
        if self.warmup.is_ready():
            self._on_engine_warm(self.warmup.seconds or 0.0)
        else:
            self.window.engine_label.setText("engine: preparing…")
            self.window.show_status("Preparing the engine (compiling on the first launch, a few seconds); you can "
                                    "already press Run.")

    def _on_engine_warm(self, seconds: float) -> None:
        self.window.engine_label.setText("engine: ready")
        if self.window.status_label.text().startswith("Preparing the engine") and not self.is_fitting():
            self.window.show_status(f"Engine ready ({seconds:.1f} s): press Run (Ctrl+R).")

    def _on_engine_warm_failed(self, message: str) -> None:
        self.window.engine_label.setText("engine: not prepared")
        self.window.show_status(f"The engine could not be prepared in advance ({message}); a fit will try again.",
                                error=True)

    # -- state of the controls ----------------------------------------------------------------------
    def is_fitting(self) -> bool:
        """Whether a fit is running (possibly paused)."""
        return self._glm_fitting() or self.lds.is_running()

    def _glm_fitting(self) -> bool:
        return self.runner is not None and self.runner.is_running()

    def _running_job(self) -> BackgroundJob | None:
        """The job of the running fit, a GLM's or a latent-dynamics one, or None."""
        if self._glm_fitting():
            return self.runner
        return self.lds.runner if self.lds.is_running() else None

    def update_controls(self, *_args) -> None:
        """Enable the actions and buttons that make sense now (Run when ready and idle, Pause and Stop while
        fitting, Export when there is a fit) and name Pause 'Resume' while paused."""
        window = self.window
        fitting = self.is_fitting()
        preset = window.preset_panel.current_preset()
        self.run_action.setEnabled(window.recording is not None and preset is not None and not fitting)
        self.pause_action.setEnabled(fitting)
        self.stop_action.setEnabled(fitting)
        window.save_preset_action.setEnabled(preset is not None)
        window.export_action.setEnabled(self.result is not None)
        window.open_action.setEnabled(not fitting)
        window.preset_panel.setEnabled(not fitting)
        for button, action in ((window.run_button, self.run_action), (window.pause_button, self.pause_action),
                               (window.stop_button, self.stop_action), (window.save_preset_button,
                                                                        window.save_preset_action)):
            button.setEnabled(action.isEnabled())
        job = self._running_job()
        paused = job is not None and job.paused
        self.pause_action.setText("Resume" if paused else "&Pause")
        window.pause_button.setText("Resume" if paused else "Pause")
        if paused:
            window.show_status(f"{window.status_label.text().removesuffix(' (paused)')} (paused)")

    def on_preset_changed(self, _preset: Preset | None) -> None:
        """The form changed: lay the panels out for its model and update the controls."""
        self.refresh_model_layout()
        self.update_controls()

    def refresh_model_layout(self) -> None:
        """Lay the posterior and parameters panels out for the form's model, if it changed (while idle)."""
        preset = self.window.preset_panel.current_preset()
        recording = self.window.recording
        if preset is None or recording is None or self.is_fitting():
            return
        if preset.is_latent_dynamics:
            if not self.latent_notes_shown:
                self.show_latent_notes()
            return
        layout = model_layout(preset, recording)
        if layout is not None and layout != self.layout:
            self.apply_layout(layout, recording)

    def show_latent_notes(self) -> None:
        """The posterior and parameters panels say where a latent-dynamics fit is drawn instead of weights."""
        self.layout, self.latent_notes_shown = None, True
        self.window.posterior_plot.set_model((), {}, LATENT_POSTERIOR_NOTE)
        self.window.parameters_panel.show_note(LATENT_PARAMETERS_NOTE)

    def apply_layout(self, layout: ModelLayout, recording: Recording) -> None:
        """Lay the posterior and parameters panels out for ``layout`` on ``recording``."""
        self.layout, self.latent_notes_shown = layout, False
        self.window.posterior_plot.set_model(layout.names, recording.truth)
        self.window.parameters_panel.set_layout(layout, recording)

    # -- Run, Pause, Stop, Reset --------------------------------------------------------------------
    def run_fit(self) -> bool:
        """Start a fit of the form's preset on the loaded recording. Returns whether it started."""
        window = self.window
        if self.is_fitting():
            return False
        preset = window.preset_panel.current_preset()
        recording = window.recording
        if recording is None or preset is None:
            window.show_error("Cannot run", "Load a recording and fix the preset form first.")
            return False
        if preset.is_latent_dynamics:
            return self.lds.run(preset)
        layout = model_layout(preset, recording)
        slow = None
        if layout is not None:  # settings whose one step takes minutes are refused before anything starts
            try:
                slow = check_step_cost(preset, recording.n_bins - layout.first_row, len(layout.names),
                                       recording.source)
            except FitError as exc:
                window.show_error("Cannot run", str(exc))
                return False
        self.reset_fit()
        window.posterior_plot.set_reference_pending()
        self.runner = BackgroundJob(FitWorker(preset, recording), "vbgui-fit", window)
        worker = self.runner.worker
        worker.engine_ready.connect(self._on_engine_ready)
        worker.yielded.connect(self._on_progress)
        worker.returned.connect(self._on_finished)
        worker.cancelled.connect(self._on_cancelled)
        worker.errored.connect(self._on_failed)
        self.fit_label = f"{preset.fit.family}, {preset.fit.estimator}"
        window.progress_bar.setRange(0, 0)  # busy until the engine is ready
        window.show_status("Preparing the engine (compiling on the first run) and the reference posterior…"
                           + (f" Note: {slow}." if slow else ""))
        window.summary_panel.show_message(f"Fitting {self.fit_label}…")
        self.runner.start()
        self.update_controls()
        window.fit_started.emit()
        return True

    def toggle_pause(self) -> None:
        """Pause a running fit, or resume a paused one."""
        job = self._running_job()
        if job is None:
            return
        if job.paused:
            job.resume()
        else:
            job.pause()
        self.update_controls()

    def stop_fit(self) -> None:
        """Cancel the running fit; it ends within one data pass and reports 'cancelled'."""
        self.lds.stop()
        if self._glm_fitting():
            self.runner.abort()
            # no more repaints of iterations in flight: the final result is drawn as soon as it arrives
            self.repaint_timer.stop()
            self.window.show_status("Stopping…")

    def reset_fit(self) -> None:
        """Stop any fit and clear the fit's curves, contours, progress and summary."""
        self.lds.discard()
        self.clear_fit()

    def clear_fit(self) -> None:
        """Stop and forget the GLM fit and clear the panels (a latent-dynamics fit calls this as it starts)."""
        window = self.window
        if self.runner is not None:
            worker = self.runner.worker
            for signal in (worker.engine_ready, worker.yielded, worker.returned, worker.cancelled, worker.errored):
                signal.disconnect()
            self.runner.shutdown()
            self.runner = None
        self.repaint_timer.stop()
        self._latest, self.result = None, None
        self._drawn = dict.fromkeys(self._drawn, 0)
        window.parameters_panel.detach()
        window.elbo_plot.clear_trace()
        window.posterior_plot.clear_fit()
        window.posterior_plot.set_reference_pending()  # the reference came with the fit (or its diagnostics)
        window.idle_progress()
        if window.status_label.text().startswith("Fit "):
            window.show_status("The fit was cleared: press Run (Ctrl+R) to fit again.")
        window.summary_panel.show_message("No fit yet: press Run (Ctrl+R).")
        self.update_controls()
        window.fit_cleared.emit()

    def shutdown(self) -> None:
        """Stop repainting, cancel a running fit and join its thread (the window is closing)."""
        self.repaint_timer.stop()
        self.lds.discard()
        if self.runner is not None:
            self.runner.shutdown()

    # -- a running fit ------------------------------------------------------------------------------
    def _on_engine_ready(self, setup: FitSetup) -> None:
        window = self.window
        session = setup.session
        if self.layout is None or self.layout.names != session.names:  # not laid out beforehand
            self.apply_layout(model_layout(session.preset, session.recording), session.recording)
        window.posterior_plot.set_reference(setup.reference)
        window.parameters_panel.attach(session)
        window.progress_bar.setFormat(PROGRESS_FORMAT)
        window.progress_bar.setRange(0, session.preset.fit.max_iter)
        window.progress_bar.setValue(0)
        self._rate_samples.clear()
        window.show_status(f"Fitting {session.design.dim} parameters to {session.design.n_rows:,} bins…")
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
            self.window.elbo_plot.set_trace(*self.runner.worker.trace.arrays())
            self.window.progress_bar.setValue(progress.iteration)
            self._show_progress_status(progress)
        else:
            self.show_q(progress.q.mean, progress.q.cov, panels=(panel,))

    def _show_progress_status(self, progress: FitProgress) -> None:
        now = time.perf_counter()
        self._rate_samples.append((now, progress.iteration))
        while len(self._rate_samples) > 2 and now - self._rate_samples[0][0] > RATE_WINDOW_SECONDS:
            self._rate_samples.popleft()
        (t0, i0), (t1, i1) = self._rate_samples[0], self._rate_samples[-1]
        rate = (i1 - i0) / (t1 - t0) if t1 > t0 else progress.iteration / max(progress.elapsed, 1e-9)
        paused = " (paused)" if self.runner.paused else ""
        self.window.show_status(f"iteration {progress.iteration:,} / {progress.max_iter:,}  ·  ELBO "
                                f"{progress.terms.elbo:,.3f} nats  ·  {rate:,.0f} iterations/s{paused}")

    def show_q(self, mean: np.ndarray, cov: np.ndarray, panels: tuple[str, ...] = ("posterior", "parameters")) -> None:
        """Draw q = N(mean, cov) ((D,), (D, D)) in the posterior and/or parameters panel."""
        if "posterior" in panels:
            self.window.posterior_plot.set_approximation(mean, cov, self.fit_label)
        if "parameters" in panels:
            self.window.parameters_panel.update_fit(mean, np.sqrt(np.clip(np.diag(cov), 0.0, None)))

    def show_result(self, result: FitResult) -> None:
        """Make ``result`` the fit on screen: its ELBO curves, q, iterations done and summary."""
        window = self.window
        self.result = result
        trace = result.trace
        window.elbo_plot.set_trace(np.asarray(trace.iteration, dtype=float), np.asarray(trace.elbo),
                                   np.asarray(trace.expected_log_likelihood), np.asarray(trace.kl))
        if result.iterations:
            self.show_q(result.mean, result.cov)
        window.progress_bar.setValue(result.iterations)
        window.summary_panel.show_result(result)

    def _on_finished(self, result: FitResult) -> None:
        window = self.window
        self.repaint_timer.stop()
        self._join_runner()
        self.show_result(result)
        if result.stop_reason == "non-finite" or not np.isfinite(result.elbo):
            window.show_error("The fit diverged",
                              f"The fit diverged after {result.iterations} iterations ({result.message}); the curves "
                              "show where. Try the exact estimator, a smaller learning rate or a smaller prior scale.")
        else:
            state = "converged" if result.converged else f"stopped ({result.stop_reason})"
            window.show_status(f"Fit {state} after {result.iterations:,} iterations in {result.seconds:.2f} s: "
                               f"ELBO {result.elbo:,.3f} nats")
        self.update_controls()
        window.fit_finished.emit(result)

    def _on_cancelled(self) -> None:
        self._on_failed("stopped before the first iteration")

    def _on_failed(self, message: str) -> None:
        window = self.window
        self.repaint_timer.stop()
        self._join_runner()
        window.idle_progress()
        window.summary_panel.show_message("The fit did not run.")
        window.show_error("The fit did not run", message)
        self.update_controls()
        window.fit_failed.emit(message)

    def _join_runner(self) -> None:
        if self.runner is not None:
            self.runner.shutdown()
