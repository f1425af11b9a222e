"""Demonstration 3: heavy tails and skew; the reverse-KL Gaussian hugs the centre.

Targets: a bivariate Student-t (small degrees of freedom: heavy tails) or
a banana (curved: skewed marginals).  The full-rank reverse-KL Gaussian
is animated to its optimum; the read-outs give the target's probability
mass outside the fit's 99 % region (1 % if the fit were right) and the
KL.  The second plot shows the marginal of θ₁ on a log scale, where a
Gaussian is a parabola and heavy tails are not.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
from PySide6.QtWidgets import QComboBox, QLabel, QWidget

from vbgui.app.demos import DemoScene
from vbgui.core.fit2d import density_grid, fit_path, mass_outside, reverse_kl
from vbgui.core.targets import Banana, StudentT
from vbgui.gui.demos.fit2d_page import Fit2DPage, Fits, ParameterSlider
from vbgui.gui.demos.page import decimal, readout_table
from vbgui.gui.demos.plots import covering

TARGETS = ("Student-t", "banana")
SHAPE = {"Student-t": ("degrees of freedom ν", 1.5, 30.0, 0.5, 2.5),
         "banana": ("bend b", 0.0, 2.0, 0.05, 1.0)}
START_MEAN = (2.0, 2.0)
START_SD = 0.4
VIEWS = {"Student-t": ((-8.0, 8.0), (-8.0, 8.0)), "banana": ((-4.5, 4.5), (-3.0, 8.0))}
CONTOUR_LIMIT = 14.0  # the HPD levels need the tails: the grid reaches well past the view
CONTOUR_GRID = 281
MASS_GRID = 301  # mass outside the 99 % region on [-12, 12]^2: 0.08 cells, about 10 ms
LOG_FLOOR = -12.0


def make_target(name: str, shape: float) -> StudentT | Banana:
    return StudentT(dof=shape, rho=0.0) if name == "Student-t" else Banana(bend=shape, spread=0.5)


class HeavyTailsPage(Fit2DPage):
    demo_name = "heavy-tails"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.target_choice = QComboBox()
        self.target_choice.addItems(list(TARGETS))
        self.target_choice.currentTextChanged.connect(self._on_target)
        self.shape_boxes: dict[str, ParameterSlider] = {}
        self.controls_layout.addWidget(QLabel("Target"))
        self.controls_layout.addWidget(self.target_choice)
        for name, (label, low, high, step, value) in SHAPE.items():
            slider = ParameterSlider(label.split()[-1], low, high, step, value, decimals=2)
            slider.slider.valueChanged.connect(lambda _=0: self.refit())
            self.shape_boxes[name] = slider
            self.controls_layout.addWidget(slider)
        self.add_run_buttons()

        self.fit_plot = self.add_plot(0, 0, "", "θ₁", "θ₂", legend_columns=2)
        self.target_contours = self.fit_plot.add_target_contours("target", "target p")
        self.fit_contours = {"full-rank": self.fit_plot.add_contours("full-rank", "Gaussian q (reverse KL)",
                                                                     dashed=True)}
        self.marginal_plot = self.add_plot(0, 1, "Marginal of θ₁, log scale", "θ₁", "log density",
                                           legend_columns=2)
        self.target_marginal = self.marginal_plot.add_curve("target", "target p")
        self.fit_marginal = self.marginal_plot.add_curve("full-rank", "Gaussian q", dashed=True)
        self.finish_controls()
        self._on_target(self.target_choice.currentText(), refit=False)

    @property
    def target_name(self) -> str:
        return self.target_choice.currentText()

    def _on_target(self, name: str, refit: bool = True) -> None:
        for key, slider in self.shape_boxes.items():
            slider.setVisible(key == name)
        self.fit_plot.set_title(f"{name} target and its Gaussian fit")
        x_range, y_range = VIEWS[name]
        self.fit_plot.fix_range(x_range, y_range, equal_aspect=True)
        self.marginal_plot.fix_range(x_range, (LOG_FLOOR, 0.5))
        if refit:
            self.refit(restart=True)

    def step(self, steps: int) -> None:
        self.shape_boxes[self.target_name].move(steps)

    def job(self) -> Callable[[], Fits]:
        target = make_target(self.target_name, self.shape_boxes[self.target_name].value())

        def fits() -> Fits:
            path = fit_path(target, False, np.array(START_MEAN), START_SD)
            grid = density_grid(target, CONTOUR_LIMIT, CONTOUR_GRID)
            extras = {"grid": grid, "kl": reverse_kl(target, path[-1]),
                      "outside": mass_outside(target, path[-1], 0.99, n=MASS_GRID)}
            return Fits(target, {"full-rank": path}, extras)
        return fits

    def draw_target(self, fits: Fits) -> None:
        grid = fits.extras["grid"]
        self.target_contours.set_density(grid.axis, grid.axis, grid.density)
        extent = self.target_contours.extent()
        if extent is not None:  # the whole 99 % contour in view: heavy tails reach past the usual one
            x_range, y_range = VIEWS["Student-t" if isinstance(fits.target, StudentT) else "banana"]
            self.fit_plot.fix_range(covering(x_range, extent[0]), covering(y_range, extent[1]), equal_aspect=True)
        self.target_marginal.setData(grid.axis, np.log(np.maximum(grid.marginal_x(), np.exp(LOG_FLOOR - 1))))

    def draw_frame(self) -> None:
        super().draw_frame()
        if self.fits is None:
            return
        q = self.animation.current("full-rank")
        x = self.fits.extras["grid"].axis
        variance = q.cov[0, 0]
        self.fit_marginal.setData(x, -0.5 * (x - q.mean[0]) ** 2 / variance - 0.5 * np.log(2 * np.pi * variance))

    def update_readout(self) -> None:
        extras = self.fits.extras
        shape_label = SHAPE[self.target_name][0]
        shape = self.shape_boxes[self.target_name].value()
        self.readout.setText(readout_table(
            [f"{self.target_name}, {shape_label} = {shape:g}", "mass outside q's 99 % region", "KL(q‖p)"],
            [["Gaussian q at its optimum", f"{100 * extras['outside']:.1f} %  (a right fit: 1.0 %)",
              f"{decimal(extras['kl'], 3)} nats"]]))

    def scene(self) -> DemoScene:
        return DemoScene(self.demo_name, target=self.target_name,
                         options={"shape": self.shape_boxes[self.target_name].value()})

    def apply_scene(self, scene: DemoScene) -> None:
        name = scene.target if scene.target in TARGETS else TARGETS[0]
        self.target_choice.blockSignals(True)
        self.target_choice.setCurrentText(name)
        self.target_choice.blockSignals(False)
        self.shape_boxes[name].set_value(float(scene.options.get("shape", SHAPE[name][4])), quiet=True)
        self._on_target(name, refit=False)
        self.refit(restart=True)
