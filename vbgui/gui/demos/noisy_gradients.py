"""Demonstration 5: the same fit with noisy (reparameterisation) and exact gradients.

Four fits of one small synthetic Poisson GLM run together in a worker
thread, one iteration of each in turn, paced so that the audience can
watch: the reparameterisation estimator with 1, 10 and 100 samples, and
the exact ELBO.  The worker appends each ELBO (as the optimiser sees it:
a Monte Carlo estimate for reparam) to :class:`Traces`; a QTimer repaints
the curves at REPAINT_HZ.  Left, the whole run; right, the last nats below
the optimum, where the noise shows.  The exact fit ends in a handful of
iterations, so its optimum is drawn as a dashed line across both plots,
the reference the noisy curves approach.
"""
from __future__ import annotations

import threading
import time
from dataclasses import replace
from typing import Iterator

import numpy as np
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QLabel, QWidget

from vbgui.app.demos import DemoScene
from vbgui.app.fit import FitSession
from vbgui.app.gradient_noise import gradient_variances
from vbgui.core.cancel import CancelToken, FitCancelled
from vbgui.gui.demos.jobs import LatestJobRunner
from vbgui.gui.demos.page import DemoPage, readout_table
from vbgui.gui.demos.fit2d_page import ParameterSlider
from vbgui.models.preset import load_preset
from vbgui.models.synthetic import make_synthetic_recording

SAMPLES = (1, 10, 100)
RUNS = tuple(f"reparam-{k}" for k in SAMPLES) + ("exact",)
LABELS = {**{f"reparam-{k}": f"reparam, {k} sample{'s' if k > 1 else ''}" for k in SAMPLES}, "exact": "exact ELBO"}
OPTIMUM_LABEL = "exact ELBO's optimum"
MAX_ITER = 400
PACE = 100.0  # iterations per second per fit, so that a run lasts a few seconds
REPAINT_HZ = 20
ZOOM_NATS = (-15.0, 5.0)
SCATTER_WINDOW = 50
# Gradient variance at the exact optimum: every estimator with the same draws per gradient.
VARIANCE_SAMPLES = 10
VARIANCE_REPEATS = 200
VARIANCE_LABELS = {"exact": "exact", "reparam": "reparameterisation", "score-function": "score function"}


class Traces:
    """The ELBO of every iteration of every run, appended by the worker and read by the GUI thread.

    ``exact_final`` holds each finished run's exact ELBO at its final q;
    ``gradient_variance`` each estimator's gradient variance at the exact
    optimum (filled when the exact fit ends).
    """

    def __init__(self) -> None:
        self.elbo: dict[str, list[float]] = {name: [] for name in RUNS}
        self.exact_final: dict[str, float] = {}
        self.gradient_variance: dict[str, float] = {}
        self.stop = threading.Event()
        self.cancel = CancelToken()  # the fits' token: ending stops them inside a pass, not after it
        self.running = threading.Event()
        self.running.set()

    def end(self) -> None:
        """Stop the run from any thread: no further iteration, and the pass or gradient-variance
        measurement under way stops at its next check."""
        self.stop.set()
        self.cancel.cancel()
        self.running.set()

    def snapshot(self, name: str, limit: int | None = None) -> np.ndarray:
        values = self.elbo[name]
        return np.array(values[:len(values) if limit is None else min(limit, len(values))])

    @property
    def iterations(self) -> int:
        return max(len(values) for values in self.elbo.values())

    @property
    def done(self) -> bool:
        return len(self.exact_final) == len(RUNS) or self.stop.is_set()


def run_fits(traces: Traces, seed: int, max_iter: int) -> Traces:
    """Step the four fits in turn until all have ended or ``traces.stop`` is set (worker thread)."""
    recording = make_synthetic_recording("poisson", n_bins=5000, stimulus_lags=8, seed=seed)
    preset = load_preset("poisson-glm")
    preset = replace(preset, design=replace(preset.design, stimulus_lags=8, spike_history_lags=0))
    fits = {"exact": preset.with_fit(estimator="exact", max_iter=max_iter, seed=seed)}
    fits.update({f"reparam-{k}": preset.with_fit(estimator="reparam", samples=k, max_iter=max_iter, seed=seed)
                 for k in SAMPLES})
    sessions = {name: FitSession(fits[name], recording, traces.cancel) for name in RUNS}
    steps = {name: session.steps() for name, session in sessions.items()}
    start = time.perf_counter()
    try:
        while steps and not traces.stop.is_set():
            traces.running.wait()
            for name in list(steps):
                try:
                    traces.elbo[name].append(next(steps[name]).terms.elbo)
                except StopIteration as stop:
                    traces.exact_final[name] = stop.value.elbo
                    del steps[name]
                    if name == "exact":
                        traces.gradient_variance.update(gradient_variances(
                            sessions[name], stop.value, VARIANCE_SAMPLES, VARIANCE_REPEATS, seed))
            ahead = traces.iterations / PACE - (time.perf_counter() - start)
            if ahead > 0:
                time.sleep(ahead)
    except FitCancelled:  # ended (restart, close) while measuring the gradient variances
        pass
    return traces


class NoisyGradientsPage(DemoPage):
    demo_name = "noisy-gradients"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.seed = 0
        self.traces = Traces()
        self.runner = LatestJobRunner("vbgui-demo-noisy-gradients", self)
        self.runner.finished.connect(self._on_finished)
        self.runner.failed.connect(self.show_message)
        self.max_iter = ParameterSlider("iterations", 50, 1000, 50, MAX_ITER, decimals=0)
        self.controls_layout.addWidget(QLabel("Iterations of each fit (applies on restart)"))
        self.controls_layout.addWidget(self.max_iter)
        self.add_run_buttons()

        self.overview = self.add_plot(0, 0, "ELBO as each optimiser sees it", "iteration", "ELBO (nats)",
                                      legend_columns=2)
        self.zoom = self.add_plot(0, 1, "Close to the exact optimum", "iteration",
                                  "ELBO − exact optimum (nats)", legend_columns=2)
        self.curves = {name: (self.overview.add_curve(name, LABELS[name]), self.zoom.add_curve(name, LABELS[name]))
                       for name in RUNS if name != "exact"}
        # the exact fit ends in a few iterations: its optimum is a reference line across each plot
        self.optimum_lines = (self.overview.add_curve("exact", OPTIMUM_LABEL, dashed=True),
                              self.zoom.add_curve("exact", OPTIMUM_LABEL, dashed=True))
        self.run_iterations = MAX_ITER
        self.repaint_timer = QTimer(self)
        self.repaint_timer.setInterval(int(1000 / REPAINT_HZ))
        self.repaint_timer.timeout.connect(self.redraw)
        self.finish_controls()

    # -- verbs --------------------------------------------------------------------------------------
    def restart(self) -> None:
        """Stop the fits under way and start four new ones (after the old ones have ended)."""
        self.traces.end()
        self.traces = Traces()
        self.run_iterations = int(self.max_iter.value())
        self.zoom.fix_range((0, self.run_iterations), ZOOM_NATS)
        traces, seed, max_iter = self.traces, self.seed, self.run_iterations
        self.runner.submit(lambda: run_fits(traces, seed, max_iter))
        self.repaint_timer.start()
        self.redraw()

    def toggle_running(self) -> None:
        if self.traces.done:
            self.restart()
        elif self.traces.running.is_set():
            self.traces.running.clear()
        else:
            self.traces.running.set()

    def settled(self) -> bool:
        return self.traces.done and not self.runner.busy

    def _on_finished(self, traces: Traces) -> None:
        if traces is self.traces:
            self.repaint_timer.stop()
            self.redraw()
            self.updated.emit()

    # -- drawing ------------------------------------------------------------------------------------
    def optimum(self, limit: int | None = None) -> float | None:
        """The exact fit's final ELBO, or its best so far while it runs."""
        if "exact" in self.traces.exact_final and limit is None:
            return self.traces.exact_final["exact"]
        exact = self.traces.snapshot("exact", limit)
        return float(exact.max()) if exact.size else None

    def redraw(self, limit: int | None = None) -> None:
        """The curves (the first ``limit`` iterations of each, or all so far) and the read-outs."""
        optimum = self.optimum(limit)
        span = np.array([1.0, float(self.run_iterations)])
        for line, level in zip(self.optimum_lines, (optimum, 0.0)):
            if optimum is None:
                line.setData([], [])
            else:
                line.setData(span, np.full(2, level))
        rows = []
        for name in RUNS:
            values = self.traces.snapshot(name, limit)
            iterations = np.arange(1, values.size + 1)
            if name in self.curves:
                overview, zoomed = self.curves[name]
                overview.setData(iterations, values)
                if optimum is not None:
                    zoomed.setData(iterations, np.clip(values - optimum, ZOOM_NATS[0] - 1, ZOOM_NATS[1] + 1))
            scatter = np.std(np.diff(values[-SCATTER_WINDOW:])) / np.sqrt(2) if values.size > 2 else float("nan")
            final = self.traces.exact_final.get(name) if limit is None else None
            rows.append([LABELS[name], f"{values.size}", f"{values[-1]:.1f}" if values.size else "",
                         f"{scatter:.2f}" if name != "exact" and np.isfinite(scatter) else "—",
                         f"{final:.2f}" if final is not None else ""])
        text = readout_table(["", "iterations", "ELBO now", "noise (sd)", "exact ELBO at the end"], rows)
        variances = self.traces.gradient_variance
        if variances:
            reference = variances["reparam"]
            text += ("<p>Gradient variance at the optimum, the same "
                     f"{VARIANCE_SAMPLES} draws per gradient (median over components):</p>"
                     + readout_table(["", "variance", "× reparameterisation"],
                                     [[VARIANCE_LABELS.get(name, name), f"{value:,.0f}" if value >= 10 else f"{value:.2g}",
                                       f"{value / reference:.1f}" if reference > 0 else "—"]
                                      for name, value in variances.items()]))
        self.readout.setText(text)

    def animation_frames(self, frames_per_second: float) -> Iterator[int]:
        """The finished run replayed at its live pace (the fits must have ended)."""
        total = self.traces.iterations
        count = max(1, int(np.ceil(total / PACE * frames_per_second)))
        for index in range(count + 1):
            self.redraw(limit=round(total * index / count))
            yield index
        self.redraw()

    # -- scenes -------------------------------------------------------------------------------------
    def scene(self) -> DemoScene:
        return DemoScene(self.demo_name, seed=self.seed, families=("full-rank",), target="synthetic poisson",
                         options={"max_iter": int(self.max_iter.value())})

    def apply_scene(self, scene: DemoScene) -> None:
        self.seed = scene.seed
        self.max_iter.set_value(float(scene.options.get("max_iter", MAX_ITER)), quiet=True)
        self.restart()

    def shutdown(self) -> None:
        self.repaint_timer.stop()
        self.traces.end()
        self.runner.shutdown()
