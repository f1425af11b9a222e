"""Demonstration 6: amortised inference, the encoder's q against the exact fit, and the gaps in nats.

The computation (:func:`vbgui.app.amortise_demo.amortised_demo`) runs in a
worker thread: an encoder trained on N exactly fitted units gives a held-out
unit its q by one forward pass.  Left, two weights of that unit: the
encoder's q, one exact pass started from it, and the exact fit, as 39/86/99 %
contours.  Right, the amortisation gap (of the encoder's q and after one
pass) and the approximation gap as bars in nats; the read-out gives the
numbers and the time each route took.  The slider sets N: with fewer
training units than features the encoder can be nats off and refinement
matters; at 20 (the default, seed 0) its gap is about 1e-3 nats, at 40 2e-4,
below the approximation gap (4e-3).
"""
from __future__ import annotations

from typing import Iterator

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QLabel, QPushButton, QWidget

from vbgui.app.amortise_demo import DEMO_PAIR, TRAIN_RANGE, AmortisedDemo, amortised_demo
from vbgui.app.demos import DemoScene
from vbgui.core.fit2d import Gaussian2D
from vbgui.gui.demos.fit2d_page import ParameterSlider
from vbgui.gui.demos.jobs import LatestJobRunner
from vbgui.gui.demos.page import DemoPage, readout_table
from vbgui.gui.demos.plots import covering
from vbgui.gui.demos.theme import Sizes, Theme

DEFAULT_TRAIN = 20
ROUTES = ("encoder", "refined", "exact")
ROUTE_LABELS = {"encoder": "encoder q (one forward pass)", "refined": "one exact pass from it",
                "exact": "exact fit"}
BARS = (("amortisation gap, encoder q", "encoder"), ("amortisation gap, one pass", "refined"),
        ("approximation gap", "exact"))
BAR_WIDTH = 0.6


class AmortisedPage(DemoPage):
    demo_name = "amortised-inference"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.seed = 0
        self.result: AmortisedDemo | None = None
        self.shown_routes = len(ROUTES)  # the animation reveals the routes one by one
        self.runner = LatestJobRunner("vbgui-demo-amortised", self)
        self.runner.finished.connect(self._on_result)
        self.runner.failed.connect(self.show_message)

        self.train = ParameterSlider("training units", TRAIN_RANGE[0], TRAIN_RANGE[1], 1, DEFAULT_TRAIN,
                                     decimals=0)
        self.train.slider.valueChanged.connect(self.restart)
        self.controls_layout.addWidget(QLabel("Units fitted exactly to train the encoder"))
        self.controls_layout.addWidget(self.train)
        new_unit = QPushButton("New population  [Space]")
        new_unit.clicked.connect(self.toggle_running)
        self.controls_layout.addWidget(new_unit)

        self.q_plot = self.add_plot(0, 0, "A held-out unit: two of its weights", DEMO_PAIR[0], DEMO_PAIR[1],
                                    legend_columns=1)
        self.contours = {"encoder": self.q_plot.add_contours("encoder", ROUTE_LABELS["encoder"]),
                         "refined": self.q_plot.add_contours("refined", ROUTE_LABELS["refined"], dashed=True),
                         "exact": self.q_plot.add_target_contours("exact", ROUTE_LABELS["exact"])}
        self.gap_plot = self.add_plot(0, 1, "The gaps of Cremer et al. (2018)", "", "nats", legend_columns=1)
        self.bars = pg.BarGraphItem(x=np.arange(len(BARS)), height=np.zeros(len(BARS)), width=BAR_WIDTH)
        self.gap_plot.plot.addItem(self.bars)
        self.bar_texts = [pg.TextItem(anchor=(0.5, 1.0)) for _ in BARS]
        for text in self.bar_texts:
            self.gap_plot.plot.addItem(text)
        self.gap_plot.plot.getAxis("bottom").setTicks([[(k, label.replace(", ", "\n"))
                                                        for k, (label, _) in enumerate(BARS)]])
        self.gap_plot.plot.setXRange(-0.6, len(BARS) - 0.4, padding=0.0)
        self.gap_plot.legend.setVisible(False)  # the bars are named on their axis
        self.graphics.ci.layout.setColumnStretchFactor(0, 1)
        self.graphics.ci.layout.setColumnStretchFactor(1, 1)
        self.finish_controls()

    # -- verbs --------------------------------------------------------------------------------------
    def restart(self) -> None:
        """Train on the slider's number of units and apply the encoder to the held-out unit (worker thread)."""
        n_train, seed = int(self.train.value()), self.seed
        self.runner.submit(lambda: amortised_demo(n_train, seed))

    def toggle_running(self) -> None:
        """Space: a new synthetic population (the next seed)."""
        self.seed += 1
        self.restart()

    def step(self, steps: int) -> None:
        self.train.move(steps)

    def settled(self) -> bool:
        return self.result is not None and not self.runner.busy

    def _on_result(self, result: AmortisedDemo) -> None:
        self.result = result
        self.message = ""
        self.shown_routes = len(ROUTES)
        self.redraw()
        self.updated.emit()

    # -- drawing ------------------------------------------------------------------------------------
    def apply_style(self, theme: Theme, sizes: Sizes) -> None:
        super().apply_style(theme, sizes)
        self.bars.setOpts(brushes=[pg.mkBrush(theme.colour(role)) for _, role in BARS],
                          pens=[pg.mkPen(theme.foreground, width=1) for _ in BARS])
        # room for the two-line bar names: pyqtgraph sizes a bottom axis for one line of ticks
        self.gap_plot.plot.getAxis("bottom").setHeight(int(2.4 * sizes.tick_px + sizes.label_px + 16))
        for text in self.bar_texts:
            text.setColor(theme.foreground)
            font = text.textItem.font()
            font.setPixelSize(sizes.text_px)
            text.setFont(font)

    def gaps(self) -> list[float | None]:
        """The three bars' heights in nats (None: the evidence was unreliable)."""
        result = self.result
        return [result.amortisation_gap, result.refined_gap, result.approximation_gap]

    def redraw(self) -> None:
        result = self.result
        if result is None:
            return
        i, j = result.pair
        view_x, view_y = (np.inf, -np.inf), (np.inf, -np.inf)
        for k, route in enumerate(ROUTES):
            contours = self.contours[route]
            if k >= self.shown_routes:
                contours.clear()
                continue
            q = getattr(result, route)
            contours.set_gaussian(Gaussian2D(q.mean[[i, j]], q.cov[np.ix_([i, j], [i, j])]))
            extent = contours.extent()
            view_x, view_y = covering(view_x, extent[0]), covering(view_y, extent[1])
        self.q_plot.fix_range(view_x, view_y)
        heights = [0.0 if gap is None else max(gap, 0.0) for gap in self.gaps()]
        shown = [h if k < self.shown_routes else 0.0 for k, h in enumerate(heights)]
        self.bars.setOpts(height=shown)
        top = max(max(shown), 1e-12)
        self.gap_plot.plot.setYRange(0.0, 1.25 * top, padding=0.0)
        for k, (text, gap) in enumerate(zip(self.bar_texts, self.gaps())):
            label = "" if k >= self.shown_routes else ("unknown" if gap is None else f"{gap:.2g}")
            text.setText(label)
            text.setPos(k, shown[k] + 0.12 * top)
        self.update_readout()

    def update_readout(self) -> None:
        result = self.result
        rows = [[ROUTE_LABELS["encoder"], f"{result.encoder_elbo:.3f}", f"{result.amortisation_gap:.2g}",
                 f"{1e3 * result.encode_seconds:.2f}"],
                [ROUTE_LABELS["refined"], f"{result.refined_elbo:.3f}", f"{result.refined_gap:.2g}",
                 f"{1e3 * result.refine_seconds:.2f}"],
                [ROUTE_LABELS["exact"], f"{result.exact_elbo:.3f}", "0", f"{1e3 * result.fit_seconds:.2f}"]]
        table = readout_table([f"{result.n_train} training units", "ELBO (nats)", "amortisation gap",
                               "time (ms)"], rows)
        if result.approximation_gap is None:
            evidence = "approximation gap unknown: the importance-weighted evidence is unreliable (k-hat ≥ 0.7)"
        else:
            evidence = (f"approximation gap log p(y) − ELBO* = {result.approximation_gap:.2g} ± "
                        f"{result.log_evidence_se:.1g} nats (importance-weighted evidence)")
        training = (f"training: {result.n_train} exact fits and a ridge regression, "
                    f"{result.train_seconds:.1f} s")
        self.readout.setText(f"{table}{evidence}<br>{training}")

    def animation_frames(self, frames_per_second: float) -> Iterator[int]:
        """The encoder's q, then the refined q, then the exact fit, one second each."""
        per_route = max(1, round(frames_per_second))
        index = 0
        for shown in range(1, len(ROUTES) + 1):
            self.shown_routes = shown
            self.redraw()
            for _ in range(per_route):
                yield index
                index += 1
        self.shown_routes = len(ROUTES)
        self.redraw()

    # -- scenes -------------------------------------------------------------------------------------
    def scene(self) -> DemoScene:
        return DemoScene(self.demo_name, seed=self.seed, families=("full-rank",), target="synthetic poisson",
                         options={"train": int(self.train.value())})

    def apply_scene(self, scene: DemoScene) -> None:
        self.seed = scene.seed
        self.train.set_value(float(scene.options.get("train", DEFAULT_TRAIN)), quiet=True)
        self.restart()

    def shutdown(self) -> None:
        self.runner.shutdown()
