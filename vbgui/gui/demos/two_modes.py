"""Demonstration 4: two modes; reverse KL picks one, forward KL covers both.

The target is an equal mixture of two Gaussians.  The reverse-KL fit
(what variational inference does) starts from a random point (seeded:
'new start' draws the next seed) and is animated into whichever mode is
downhill; the moment-matched Gaussian (the forward-KL optimum) sits
between the modes.  The read-outs give both KLs of both Gaussians: each
is small in the direction it minimises and large in the other.  A second
plot shows the same contrast in 1-D: the θ₁ marginal of the target (grid
integration) with the marginals of the two Gaussians.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QLabel, QPushButton, QWidget

from vbgui.app.demos import DemoScene
from vbgui.core.fit2d import (Gaussian2D, density_grid, fit_path, forward_kl, gaussian_marginal, moment_matched,
                              reverse_kl)
from vbgui.core.targets import GaussianMixture
from vbgui.gui.demos.fit2d_page import Fit2DPage, Fits, ParameterSlider
from vbgui.gui.demos.page import decimal, readout_table

START_BOX = 3.5  # starts are uniform on [-START_BOX, START_BOX]^2
START_SD = 0.5
VIEW = 5.0
CONTOUR_GRID = 161
KL_GRID = 241  # forward KL and moment matching on [-10, 10]^2
MOMENT_GRID = 201
MODE_SD = 0.7
MARGINAL_POINTS = 401
FIRST_SEED = 1  # its start leads into a mode; some starts (seed 0) end in the broad local optimum between


def start_of(seed: int) -> np.ndarray:
    """The reverse-KL fit's start for a seed (the same seed always gives the same start)."""
    return np.random.default_rng(seed).uniform(-START_BOX, START_BOX, 2)


class TwoModesPage(Fit2DPage):
    demo_name = "two-modes"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.seed = FIRST_SEED
        self.separation = ParameterSlider("separation", 1.0, 6.0, 0.1, 4.0, decimals=1)
        self.separation.slider.valueChanged.connect(lambda _=0: self.refit())
        # an action of the page, not of the button: S works with the controls hidden (presentation)
        self.new_start_action = QAction("New start", self)
        self.new_start_action.setShortcut(QKeySequence(Qt.Key.Key_S))
        self.new_start_action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        self.new_start_action.triggered.connect(self.new_start)
        self.addAction(self.new_start_action)
        new_start = QPushButton("New start  [S]")
        new_start.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        new_start.clicked.connect(self.new_start_action.trigger)
        self.controls_layout.addWidget(QLabel("Distance between the modes"))
        self.controls_layout.addWidget(self.separation)
        self.controls_layout.addWidget(new_start)
        self.add_run_buttons()

        self.fit_plot = self.add_plot(0, 0, "Two modes: reverse KL against forward KL", "θ₁", "θ₂",
                                      legend_columns=2)
        self.target_contours = self.fit_plot.add_target_contours("target", "target p")
        self.fit_contours = {"reverse": self.fit_plot.add_contours("full-rank", "reverse KL q", dashed=True)}
        self.moment_contours = self.fit_plot.add_contours("moment-matched", "moment-matched q (forward KL)")
        self.start_marker = self.fit_plot.add_markers("marker", "start of the reverse-KL fit", symbol="x")
        self.fit_plot.fix_range((-VIEW, VIEW), (-VIEW, VIEW), equal_aspect=True)

        self.marginal_plot = self.add_plot(0, 1, "The same in 1-D: marginal densities of θ₁", "θ₁", "density",
                                           legend_columns=2)
        self.marginal_axis = np.linspace(-VIEW, VIEW, MARGINAL_POINTS)
        self.target_marginal = self.marginal_plot.add_curve("target", "target p (grid integration)", thin=True)
        self.fit_marginal = self.marginal_plot.add_curve("full-rank", "reverse KL q", dashed=True)
        self.moment_marginal = self.marginal_plot.add_curve("moment-matched", "moment-matched q (forward KL)")
        self.graphics.ci.layout.setColumnStretchFactor(0, 1)
        self.graphics.ci.layout.setColumnStretchFactor(1, 1)
        self.finish_controls()

    def new_start(self) -> None:
        """Fit again from the next seed's start."""
        self.seed += 1
        self.refit(restart=True)

    def step(self, steps: int) -> None:
        self.separation.move(steps)

    def job(self) -> Callable[[], Fits]:
        target = GaussianMixture.two_modes(self.separation.value(), MODE_SD)
        start = start_of(self.seed)

        def fits() -> Fits:
            path = fit_path(target, False, start, START_SD)
            moments = moment_matched(target, n=MOMENT_GRID)
            grid = density_grid(target, 2 * VIEW, KL_GRID)
            contour_grid = density_grid(target, VIEW, CONTOUR_GRID)
            extras = {"grid": contour_grid, "moment-matched": moments,
                      "marginal": (grid.axis, grid.marginal_x()),
                      "kl": {"reverse": (reverse_kl(target, path[-1]), forward_kl(grid, path[-1])),
                             "moment-matched": (reverse_kl(target, moments), forward_kl(grid, moments))}}
            return Fits(target, {"reverse": path}, extras)
        return fits

    def draw_target(self, fits: Fits) -> None:
        grid = fits.extras["grid"]
        self.target_contours.set_density(grid.axis, grid.axis, grid.density)
        self.moment_contours.set_gaussian(fits.extras["moment-matched"])
        start = fits.paths["reverse"][0].mean
        self.start_marker.setData([start[0]], [start[1]])
        self.target_marginal.setData(*fits.extras["marginal"])
        self.moment_marginal.setData(self.marginal_axis,
                                     gaussian_marginal(fits.extras["moment-matched"], 0, self.marginal_axis))
        # the highest of the curves over the whole animation, so the axis never cuts one off nor jumps
        narrowest = min(float(q.cov[0, 0]) for q in fits.paths["reverse"] + [fits.extras["moment-matched"]])
        peak = max(fits.extras["marginal"][1].max(), 1.0 / np.sqrt(2 * np.pi * narrowest))
        self.marginal_plot.fix_range((-VIEW, VIEW), (0.0, 1.05 * peak))

    def draw_frame(self) -> None:
        super().draw_frame()
        if self.fits is not None:
            self.fit_marginal.setData(self.marginal_axis,
                                      gaussian_marginal(self.animation.current("reverse"), 0, self.marginal_axis))

    def update_readout(self) -> None:
        kl = self.fits.extras["kl"]
        q: Gaussian2D = self.fits.optimum("reverse")
        rows = [[f"reverse KL q (mean {decimal(q.mean[0], 1, True)}, {decimal(q.mean[1], 1, True)})",
                 decimal(kl["reverse"][0], 2), decimal(kl["reverse"][1], 2)],
                ["moment-matched q", decimal(kl["moment-matched"][0], 2), decimal(kl["moment-matched"][1], 2)]]
        self.readout.setText(readout_table([f"seed {self.seed}; in nats", "KL(q‖p)  reverse",
                                            "KL(p‖q)  forward"], rows))

    def scene(self) -> DemoScene:
        return DemoScene(self.demo_name, seed=self.seed, target="two modes",
                         options={"separation": self.separation.value()})

    def apply_scene(self, scene: DemoScene) -> None:
        self.seed = scene.seed
        self.separation.set_value(float(scene.options.get("separation", 4.0)), quiet=True)
        self.refit(restart=True)
