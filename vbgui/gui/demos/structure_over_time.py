"""Demonstration 7: structure over time; mean-field over a latent path is overconfident.

The computation (:func:`vbgui.app.lds_demo.structure_demo`) runs in a worker
thread: a simulated Poisson linear dynamical system with one latent, its
path inferred under the true parameters by mean-field-over-time and by
structured-markov q.  Left, the latent path over 2 s: the truth and each
family's posterior mean with its ±2 sd band.  Right, each q's joint of
(x_t, x_t+1) at the bin marked on the left, with the true pair: mean-field's
ellipse is axis-aligned, structured's tilts with the dynamics.  The read-out
gives the ELBOs, their difference in nats and the coverage of the true path
by each family's bands.  Sliders set the time constant and the number of
units; each move refits (tens of milliseconds).
"""
from __future__ import annotations

from typing import Iterator

import numpy as np
from PySide6.QtWidgets import QLabel, QPushButton, QWidget

from vbgui.app.demos import DemoScene
from vbgui.app.lds_demo import (BAND_SDS, DEMO_BIN_SECONDS, DEMO_BINS, DEMO_FAMILIES, TIME_CONSTANT_RANGE_MS,
                                UNITS_RANGE, StructureDemo, structure_demo)
from vbgui.core.fit2d import Gaussian2D
from vbgui.errors import VbguiError
from vbgui.gui.demos.fit2d_page import ParameterSlider
from vbgui.gui.demos.jobs import LatestJobRunner
from vbgui.gui.demos.page import DemoPage, decimal, readout_table
from vbgui.gui.demos.plots import covering

DEFAULT_TIME_CONSTANT_MS = 500.0
DEFAULT_UNITS = 20
JOINT_BIN = DEMO_BINS // 2  # the bin t whose (x_t, x_t+1) the right-hand plot shows
FAMILY_LABELS = {"mean-field": "mean-field q (over time)", "structured-markov": "structured-markov q"}
NARROW_BAND_ALPHA = 170  # mean-field's narrow band on top, nearly opaque, keeps its own colour
PATH_MARGIN = 0.08


def scene_number(scene: DemoScene, key: str, default: float) -> float:
    """The scene's option ``key`` as a finite number (``default`` when absent)."""
    value = scene.options.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value):
        raise VbguiError(f"scene: option '{key}' must be a number, got {value!r}")
    return float(value)


class StructureOverTimePage(DemoPage):
    demo_name = "structure-over-time"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.seed = 0
        self.result: StructureDemo | None = None
        self.shown_iteration: int | None = None  # None: each fit's end; k: its k-th iterate (animation export)
        self.runner = LatestJobRunner("vbgui-demo-structure-over-time", self)
        self.runner.finished.connect(self._on_result)
        self.runner.failed.connect(self.show_message)

        self.time_constant = ParameterSlider("τ (ms)", TIME_CONSTANT_RANGE_MS[0], TIME_CONSTANT_RANGE_MS[1], 10.0,
                                             DEFAULT_TIME_CONSTANT_MS, decimals=0)
        self.units = ParameterSlider("units", UNITS_RANGE[0], UNITS_RANGE[1], 1, DEFAULT_UNITS, decimals=0)
        for slider in (self.time_constant, self.units):
            slider.slider.valueChanged.connect(self.restart)
        self.controls_layout.addWidget(QLabel("Time constant of the latent dynamics"))
        self.controls_layout.addWidget(self.time_constant)
        self.controls_layout.addWidget(QLabel("Units observing the latent"))
        self.controls_layout.addWidget(self.units)
        new_draw = QPushButton("New simulation  [Space]")
        new_draw.clicked.connect(self.toggle_running)
        self.controls_layout.addWidget(new_draw)

        self.path_plot = self.add_plot(0, 0, f"Latent path (true parameters): mean ± {BAND_SDS:g} sd (shaded)",
                                       "time (s)", "latent x", legend_columns=2)
        # the narrow mean-field band on top, nearly opaque, so it keeps its own colour over the wide one
        self.bands = {"structured-markov": self.path_plot.add_band("structured-markov"),
                      "mean-field": self.path_plot.add_band("mean-field", alpha=NARROW_BAND_ALPHA)}
        self.truth_curve = self.path_plot.add_curve("target", "true path", thin=True)
        self.means = {"mean-field": self.path_plot.add_curve("mean-field", FAMILY_LABELS["mean-field"]),
                      "structured-markov": self.path_plot.add_curve("structured-markov",
                                                                    FAMILY_LABELS["structured-markov"],
                                                                    dashed=True)}
        self.joint_line = self.path_plot.add_line("marker")

        self.joint_plot = self.add_plot(0, 1, "", "x at t", "x at t + 1 bin", legend_columns=2)
        self.joint_contours = {"mean-field": self.joint_plot.add_contours("mean-field", "mean-field q"),
                               "structured-markov": self.joint_plot.add_contours("structured-markov",
                                                                                 "structured-markov q", dashed=True)}
        self.true_pair = self.joint_plot.add_markers("target", "true pair")
        self.graphics.ci.layout.setColumnStretchFactor(0, 2)
        self.graphics.ci.layout.setColumnStretchFactor(1, 1)
        self.finish_controls()

    # -- verbs --------------------------------------------------------------------------------------
    def restart(self) -> None:
        """Simulate with the sliders' settings and fit both families (worker thread)."""
        time_constant, n_units, seed = self.time_constant.value(), int(self.units.value()), self.seed
        self.runner.submit(lambda: structure_demo(time_constant, n_units, seed))

    def toggle_running(self) -> None:
        """Space: a new simulation (the next seed)."""
        self.seed += 1
        self.restart()

    def step(self, steps: int) -> None:
        self.time_constant.move(steps)

    def settled(self) -> bool:
        return self.result is not None and not self.runner.busy

    def _on_result(self, result: StructureDemo) -> None:
        self.result = result
        self.message = ""
        self.shown_iteration = None
        self.redraw()
        self.updated.emit()

    # -- drawing ------------------------------------------------------------------------------------
    @property
    def joint_time(self) -> float:
        """The time (s) of the bin t whose (x_t, x_t+1) the right-hand plot shows."""
        return JOINT_BIN * DEMO_BIN_SECONDS

    def _iterate(self, family: str) -> int:
        """The index of the iterate shown for ``family`` (its last when the animation is past its end)."""
        fit = self.result.fits[family]
        last = len(fit.means) - 1
        return last if self.shown_iteration is None else min(self.shown_iteration, last)

    def redraw(self) -> None:
        result = self.result
        if result is None:
            return
        time_s = result.time_s
        self.truth_curve.setData(time_s, result.truth)
        low, high = result.truth.min(), result.truth.max()
        for family in DEMO_FAMILIES:
            fit, k = result.fits[family], self._iterate(family)
            mean, sd = fit.means[k], fit.sds[k]
            self.means[family].setData(time_s, mean)
            self.bands[family].set_data(time_s, mean - BAND_SDS * sd, mean + BAND_SDS * sd)
            low, high = min(low, float(np.min(mean - BAND_SDS * sd))), max(high, float(np.max(mean + BAND_SDS * sd)))
        pad = PATH_MARGIN * (high - low)
        self.path_plot.fix_range((0.0, float(time_s[-1])), (low - pad, high + pad))
        self.joint_line.setValue(self.joint_time)
        self.joint_plot.set_title(f"q of (x at t, x at t + 1 bin), t = {self.joint_time:g} s (dashed line)")
        self.draw_joint()
        self.update_readout()

    def draw_joint(self) -> None:
        """Each family's q of (x_t, x_t+1) at JOINT_BIN and the true pair, on equal scales."""
        result = self.result
        truth = result.truth[JOINT_BIN:JOINT_BIN + 2]
        self.true_pair.setData([truth[0]], [truth[1]])
        view = (float(truth.min()), float(truth.max()))
        for family in DEMO_FAMILIES:
            mean, cov = result.fits[family].joint(JOINT_BIN, self._iterate(family))
            self.joint_contours[family].set_gaussian(Gaussian2D(mean, cov))
            extent = self.joint_contours[family].extent()
            view = covering(covering(view, extent[0]), extent[1])
        self.joint_plot.fix_range(view, view, equal_aspect=True)

    def update_readout(self) -> None:
        result = self.result
        rows = []
        for family in DEMO_FAMILIES:
            fit, k = result.fits[family], self._iterate(family)
            _, cov = fit.joint(JOINT_BIN, k)
            correlation = cov[0, 1] / np.sqrt(cov[0, 0] * cov[1, 1])
            rows.append([FAMILY_LABELS[family], decimal(fit.elbo_trace[k - 1], 1) if k > 0 else "start",
                         f"{100 * fit.coverage(result.truth, k):.1f} %", decimal(correlation, 2),
                         f"{1e3 * fit.seconds:.0f}"])
        table = readout_table([f"τ = {result.time_constant_ms:g} ms, {result.n_units} units, "
                               f"{result.total_spikes} spikes", "ELBO (nats)", f"truth inside ± {BAND_SDS:g} sd",
                               f"corr(x_t, x_t+1) at {self.joint_time:g} s", "fit (ms)"], rows)
        self.readout.setText(f"{table}<b>ELBO structured − mean-field = {decimal(result.elbo_gap, 1)} nats</b>; "
                             f"a calibrated ± {BAND_SDS:g} sd band holds the truth about 95 % of the time.")

    def animation_frames(self, frames_per_second: float) -> Iterator[int]:
        """Each family's iterates from the start (the prior) to the end, half a second each."""
        per_iterate = max(1, round(frames_per_second / 2))
        longest = max(len(fit.means) for fit in self.result.fits.values())
        index = 0
        for iterate in range(longest):
            self.shown_iteration = iterate
            self.redraw()
            for _ in range(per_iterate):
                yield index
                index += 1
        self.shown_iteration = None
        self.redraw()

    # -- scenes -------------------------------------------------------------------------------------
    def scene(self) -> DemoScene:
        return DemoScene(self.demo_name, seed=self.seed, families=DEMO_FAMILIES, target="simulated poisson lds",
                         options={"time_constant_ms": self.time_constant.value(), "units": int(self.units.value())})

    def apply_scene(self, scene: DemoScene) -> None:
        time_constant = scene_number(scene, "time_constant_ms", DEFAULT_TIME_CONSTANT_MS)
        n_units = scene_number(scene, "units", DEFAULT_UNITS)
        self.seed = scene.seed
        self.time_constant.set_value(time_constant, quiet=True)
        self.units.set_value(n_units, quiet=True)
        self.restart()

    def shutdown(self) -> None:
        self.runner.shutdown()
