"""Demonstration 1: a correlated Gaussian target, its mean-field and full-rank fits, and the theory.

The target is N(0, [[1, rho], [rho, 1]]).  Both fits are animated from the
same start to their optimum; the read-outs give KL(q || p) and var_q / var_p
per axis of the q on screen, beside the closed forms (mean-field: KL =
-1/2 log(1 - rho^2), ratio 1 - rho^2; full-rank: 0 and 1).  The second plot
draws the closed forms against rho with the current rho and the fitted
values marked.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
from PySide6.QtWidgets import QCheckBox, QLabel, QWidget

from vbgui.app.demos import DemoScene, mean_field_theory
from vbgui.core.fit2d import Gaussian2D, fit_path, kl_gaussians
from vbgui.core.targets import CorrelatedGaussian
from vbgui.gui.demos.fit2d_page import Fit2DPage, Fits, ParameterSlider, variance_ratios
from vbgui.gui.demos.page import decimal, readout_table

FAMILIES = ("mean-field", "full-rank")
RHO_STEP = 0.05  # per arrow key press
START_MEAN = (1.6, -1.2)
START_SD = 0.35
THEORY_RHO = np.linspace(-0.99, 0.99, 397)
THEORY_MARGIN = 0.12


class CorrelatedGaussianPage(Fit2DPage):
    demo_name = "correlated-gaussian"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.start_mean = np.array(START_MEAN)
        self.start_sd = START_SD
        self.readout_values: dict[str, tuple[float, float, float]] = {}

        self.rho = ParameterSlider("ρ", -0.99, 0.99, 0.01, 0.8)
        self.rho.slider.valueChanged.connect(self._on_rho)
        self.family_boxes = {name: QCheckBox(f"show {name} q") for name in FAMILIES}
        self.controls_layout.addWidget(QLabel("Correlation of the target"))
        self.controls_layout.addWidget(self.rho)
        for box in self.family_boxes.values():
            box.setChecked(True)
            box.toggled.connect(self.draw_frame)
            self.controls_layout.addWidget(box)
        self.add_run_buttons()

        self.fit_plot = self.add_plot(0, 0, "", "θ₁", "θ₂", legend_columns=3)
        self.target_contours = self.fit_plot.add_target_contours("target", "target p")
        self.fit_contours = {"mean-field": self.fit_plot.add_contours("mean-field", "mean-field q"),
                             "full-rank": self.fit_plot.add_contours("full-rank", "full-rank q", dashed=True)}
        self.fit_plot.fix_range((-3.6, 3.6), (-3.6, 3.6), equal_aspect=True)

        self.theory_plot = self.add_plot(0, 1, "Mean-field optimum against ρ (dashed: ρ now)", "ρ", "nats  /  ratio",
                                         legend_columns=2)
        kl_theory, ratio_theory = np.vectorize(mean_field_theory)(THEORY_RHO)
        self.theory_plot.add_curve("mean-field", "KL(q‖p)").setData(THEORY_RHO, kl_theory)
        self.theory_plot.add_curve("variance-ratio", "var_q / var_p", dashed=True).setData(THEORY_RHO, ratio_theory)
        self.fitted_markers = self.theory_plot.add_markers("marker", "fitted (now)")
        self.rho_line = self.theory_plot.add_line("target")
        # room for a marker at the ends (rho = +-0.99, KL 1.96): half a presentation marker is a twentieth of a unit
        self.theory_plot.fix_range((-1.0 - THEORY_MARGIN, 1.0 + THEORY_MARGIN),
                                   (-THEORY_MARGIN, 2.0 + THEORY_MARGIN))
        self.graphics.ci.layout.setColumnStretchFactor(0, 1)
        self.graphics.ci.layout.setColumnStretchFactor(1, 1)
        self.finish_controls()
        self._show_rho()

    # -- settings -----------------------------------------------------------------------------------
    def _on_rho(self) -> None:
        self._show_rho()
        self.refit()

    def _show_rho(self) -> None:
        rho = self.rho.value()
        self.fit_plot.set_title(f"Target with ρ = {rho:.2f}, and the two fits")
        self.rho_line.setValue(rho)

    def step(self, steps: int) -> None:
        self.rho.move(steps * round(RHO_STEP / self.rho.step))

    def job(self) -> Callable[[], Fits]:
        target = CorrelatedGaussian(self.rho.value())
        start_mean, start_sd = self.start_mean.copy(), self.start_sd

        def fits() -> Fits:
            return Fits(target, {name: fit_path(target, name == "mean-field", start_mean, start_sd)
                                 for name in FAMILIES})
        return fits

    # -- drawing ------------------------------------------------------------------------------------
    def draw_target(self, fits: Fits) -> None:
        self.target_contours.set_gaussian(Gaussian2D(fits.target.mean, fits.target.cov))
        rho = fits.target.rho
        optimum = fits.optimum("mean-field")
        kl = kl_gaussians(optimum, Gaussian2D(fits.target.mean, fits.target.cov))
        self.fitted_markers.setData([rho, rho], [kl, float(np.mean(variance_ratios(optimum, fits.target.cov)))])

    def draw_frame(self) -> None:
        super().draw_frame()
        for name, box in self.family_boxes.items():
            if not box.isChecked():
                self.fit_contours[name].clear()

    def update_readout(self) -> None:
        target = self.fits.target
        truth = Gaussian2D(target.mean, target.cov)
        kl_theory, ratio_theory = mean_field_theory(target.rho)
        rows = []
        for name in FAMILIES:
            q = self.animation.current(name)
            ratios = variance_ratios(q, target.cov)
            self.readout_values[name] = (kl_gaussians(q, truth), float(ratios[0]), float(ratios[1]))
            theory = (kl_theory, ratio_theory) if name == "mean-field" else (0.0, 1.0)
            rows.append([f"{name} q", *(decimal(value, 4) for value in (self.readout_values[name][0], theory[0],
                                                                         ratios[0], ratios[1], theory[1]))])
        progress = "optimum reached" if self.animation.finished else \
            f"iteration {self.animation.position:.0f} of {self.animation.length}"
        self.readout.setText(readout_table(
            [f"ρ = {target.rho:.2f}, {progress}", "KL(q‖p)", "theory", "var ratio θ₁", "θ₂", "theory"], rows))

    # -- scenes -------------------------------------------------------------------------------------
    def scene(self) -> DemoScene:
        families = tuple(name for name, box in self.family_boxes.items() if box.isChecked())
        return DemoScene(self.demo_name, rho=self.rho.value(), families=families, target="correlated Gaussian",
                         options={"start_mean": self.start_mean.tolist(), "start_sd": self.start_sd})

    def apply_scene(self, scene: DemoScene) -> None:
        self.start_mean = np.array(scene.options.get("start_mean", START_MEAN), dtype=float)
        self.start_sd = float(scene.options.get("start_sd", START_SD))
        for name, box in self.family_boxes.items():
            box.setChecked(name in scene.families)
        self.rho.set_value(scene.rho, quiet=True)
        self._show_rho()
        self.refit(restart=True)
