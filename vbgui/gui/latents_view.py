"""The Latents view: a latent-dynamics result's K trajectories with ±2 sd bands, its ELBO and the loadings C.

Shown in a window of its own, opened by the main window when File > Open
result reads a latent-dynamics result (``vbgui fit --preset poisson-lds``):
nothing is refitted, everything comes from the file.  Left, one plot per
latent (the first MAX_SHOWN_LATENTS), sharing the time axis: q's posterior
mean and a band of ±2 marginal sd.  Right, the ELBO trace with its two terms
over the EM iterations (the main window's ELBO panel), q's joint of
(x_t, x_t+1) for one latent at one bin (click a trajectory to choose both;
the bin is marked by a dashed line): the correlation across adjacent bins that
mean-field over time drops, and the loading matrix C (units x latents) as a heat
map on a diverging colour map symmetric about zero.  For a regenerated synthetic
population (:mod:`vbgui.app.lds_truth`) the true path, mapped affinely into the
fit's coordinates, is drawn too, thin and black.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QLabel, QSplitter, QVBoxLayout, QWidget

from vbgui.app.lds_result import LdsFitResult
from vbgui.app.lds_truth import AlignedTruth
from vbgui.gui.elbo_plot import ElboPlot
from vbgui.gui.posterior_plot import HPD_RADII, HPD_TEXT, ellipse
from vbgui.gui.style import PALETTE, band_brush, correlation_colour_map, pen, style_plot, symmetric_bound
from vbgui.gui.window.layout import TITLE_BAR_ALLOWANCE

MAX_SHOWN_LATENTS = 6  # rows of trajectories; more would leave each too short to read
MAX_NAMED_UNITS = 30  # C's rows are named by their units up to this many, numbered beyond
BAND_SDS = 2.0
LATENT_PLOT_MIN_HEIGHT = 90
PREFERRED_SIZE = (1520, 820)  # pixels; less on a smaller screen


class LatentsView(QWidget):
    """A top-level window showing one :class:`~vbgui.app.lds_result.LdsFitResult`."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.setWindowTitle("vbgui — latents")
        self.result: LdsFitResult | None = None
        self.truth: AlignedTruth | None = None
        self.summary = QLabel("")
        self.summary.setTextFormat(Qt.TextFormat.PlainText)
        self.summary.setWordWrap(True)
        self.graphics = pg.GraphicsLayoutWidget()  # the trajectories
        self.elbo_plot = ElboPlot()
        self.joint_view = pg.GraphicsLayoutWidget()
        self.loadings_view = pg.GraphicsLayoutWidget()
        lower_right = QSplitter(Qt.Orientation.Horizontal)  # the joint is square, C tall and narrow
        lower_right.addWidget(self.joint_view)
        lower_right.addWidget(self.loadings_view)
        lower_right.setSizes([360, 400])
        right = QSplitter(Qt.Orientation.Vertical)
        right.addWidget(self.elbo_plot)
        right.addWidget(lower_right)
        right.setSizes([340, 460])  # the ELBO and its complexity plot stay readable on a 768-pixel screen
        columns = QSplitter(Qt.Orientation.Horizontal)
        columns.addWidget(self.graphics)
        columns.addWidget(right)
        columns.setSizes([750, 760])
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(columns, 1)
        self.latent_plots: list[pg.PlotItem] = []
        self.means: list[pg.PlotDataItem] = []
        self.bands: list[tuple[pg.PlotCurveItem, pg.PlotCurveItem]] = []
        self.truth_curves: list[pg.PlotDataItem] = []

        self.selected: tuple[int, int] = (0, 0)  # (latent, bin) of the joint drawn
        self.joint_plot = self.joint_view.addPlot(row=0, col=0)
        self.joint_plot.setAspectLocked(True)
        self.joint_view.setToolTip(f"q's {HPD_TEXT} contours of one latent at the dashed line's bin and the next; "
                                   "click a trajectory to choose another latent or bin")
        self.joint_contours = [self.joint_plot.plot(pen=pen("stimulus", width=2.0 if k == 0 else 1.5))
                               for k in range(len(HPD_RADII))]
        self.true_pair = pg.ScatterPlotItem(size=9, brush=pg.mkBrush(PALETTE["reference"]), pen=None)
        self.joint_plot.addItem(self.true_pair)
        self.time_lines: list[pg.InfiniteLine] = []
        self.graphics.scene().sigMouseClicked.connect(self._on_click)

        self.loadings_plot = self.loadings_view.addPlot(row=0, col=0)
        style_plot(self.loadings_plot, "Loadings C (log rate / latent)", left=("unit", ""),
                   bottom=("latent", ""))
        self.loadings_plot.invertY(True)
        self.loadings_plot.setMouseEnabled(x=False, y=False)
        self.loadings_image = pg.ImageItem(axisOrder="row-major")
        self.loadings_image.setColorMap(correlation_colour_map())
        self.loadings_plot.addItem(self.loadings_image)
        self.colour_bar = pg.ColorBarItem(values=(-1.0, 1.0), colorMap=correlation_colour_map(), interactive=False,
                                          width=15)
        self.colour_bar.setImageItem(self.loadings_image, insert_in=self.loadings_plot)
        screen = QGuiApplication.primaryScreen()
        if screen is None:
            self.resize(*PREFERRED_SIZE)
        else:  # never larger than the screen (a laptop's 1366 x 768)
            available = screen.availableGeometry()
            self.resize(min(PREFERRED_SIZE[0], available.width()),
                        min(PREFERRED_SIZE[1], available.height() - TITLE_BAR_ALLOWANCE))

    def _latent_rows(self, count: int) -> None:
        """Exactly ``count`` trajectory plots, their time axes linked, built once and reused."""
        while len(self.latent_plots) < count:
            row = len(self.latent_plots)
            plot = self.graphics.addPlot(row=row, col=0)
            plot.setMinimumHeight(LATENT_PLOT_MIN_HEIGHT)
            plot.setDownsampling(auto=True, mode="peak")  # 1e5 bins stay quick to draw
            lower, upper = pg.PlotCurveItem(), pg.PlotCurveItem()  # the band's edges, not drawn themselves
            band = pg.FillBetweenItem(lower, upper, brush=band_brush())
            band.setZValue(-10)
            plot.addItem(band)
            self.bands.append((lower, upper))
            self.means.append(plot.plot(pen=pen("stimulus")))
            self.truth_curves.append(plot.plot(pen=pen("reference", width=1.0)))
            line = pg.InfiniteLine(angle=90, movable=False, pen=pen("predicted", width=1.5, dashed=True))
            plot.addItem(line)
            self.time_lines.append(line)
            if self.latent_plots:
                plot.setXLink(self.latent_plots[0])
            self.latent_plots.append(plot)
        for index, plot in enumerate(self.latent_plots):
            plot.setVisible(index < count)

    def show_result(self, result: LdsFitResult, path: Path | None = None, truth: AlignedTruth | None = None
                    ) -> None:
        """Draw ``result``: its trajectories (with ``truth``, the true path in the fit's coordinates, when
        known), ELBO trace, joint of adjacent bins and loadings, and a line of what it is.  ``path`` is the
        result file it was read from, None for a fit just made in the main window."""
        self.result, self.truth = result, truth
        n_bins, latent_dim = result.latent_mean.shape
        shown = min(latent_dim, MAX_SHOWN_LATENTS)
        self._latent_rows(shown)
        time_s = np.arange(n_bins) * result.dt
        for k in range(shown):
            plot = self.latent_plots[k]
            style_plot(plot, f"latent {k + 1}: mean ± {BAND_SDS:g} sd" if k == 0 else f"latent {k + 1}",
                       left=(f"x{k + 1}", ""), bottom=("time (s)", "") if k == shown - 1 else None)
            plot.getAxis("bottom").setStyle(showValues=k == shown - 1)
            mean, sd = result.latent_mean[:, k], result.latent_sd[:, k]
            self.means[k].setData(time_s, mean)
            self.bands[k][0].setData(time_s, mean - BAND_SDS * sd)
            self.bands[k][1].setData(time_s, mean + BAND_SDS * sd)
            if truth is None:
                self.truth_curves[k].setData([], [])
            else:
                self.truth_curves[k].setData(time_s, truth.path[:, k])
            plot.enableAutoRange(axis="y")
        self.latent_plots[0].setXRange(0.0, float(time_s[-1]), padding=0.0)  # the others are linked to it
        trace = result.trace
        self.elbo_plot.set_trace(np.asarray(trace.iteration, dtype=float), np.asarray(trace.elbo),
                                 np.asarray(trace.expected_log_likelihood), np.asarray(trace.kl))
        self._show_loadings(result)
        self.select(0, n_bins // 2)
        name = path.name if path is not None else Path(result.recording).name
        hidden = f" (the first {shown} of {latent_dim} latents drawn)" if shown < latent_dim else ""
        self.summary.setText(
            f"{name}: {result.family} q over {n_bins} bins of {1e3 * result.dt:g} ms, {latent_dim} latents, "
            f"{len(result.unit_names)} units{hidden}. ELBO {result.elbo:.1f} nats after {result.iterations} "
            f"iterations ({'converged' if result.converged else result.stop_reason}); fitted on "
            f"{Path(result.recording).name}. "
            + ("Nothing refitted: shown from the file." if path is not None else
               "Fitted in the main window (File > Export result saves it).")
            + ("" if truth is None else
               f" Black: the true path of the regenerated synthetic population (seed {truth.seed}), mapped affinely "
               f"into the fit's axes; R^2 of q's means on it {', '.join(f'{r:.2f}' for r in truth.r_squared)}."))
        self.setWindowTitle(f"vbgui — latents of {name}")

    def select(self, latent: int, bin_index: int) -> None:
        """Draw q's joint of (x_t, x_t+1) for ``latent`` at bin ``bin_index`` (clipped to 0 .. T - 2):
        its 39/86/99 % contours from the marginal sds and Cov_q(x_t, x_t+1) of the file."""
        result = self.result
        n_bins = result.latent_mean.shape[0]
        t = int(np.clip(bin_index, 0, n_bins - 2))
        self.selected = (latent, t)
        mean = result.latent_mean[t:t + 2, latent]
        sd = result.latent_sd[t:t + 2, latent]
        cross = float(result.latent_cross_cov[t, latent, latent])
        cov = np.array([[sd[0] ** 2, cross], [cross, sd[1] ** 2]])
        for curve, radius in zip(self.joint_contours, HPD_RADII):
            curve.setData(*ellipse(mean, cov, radius))
        name = f"x{latent + 1}"
        time_s = t * result.dt
        style_plot(self.joint_plot, f"corr({name} at t, t + 1 bin) = {cross / (sd[0] * sd[1]):.2f}",
                   left=(f"{name} one bin later", ""), bottom=(f"{name} at t = {time_s:g} s", ""))
        self.joint_plot.autoRange(padding=0.1)
        for line in self.time_lines:
            line.setValue(time_s)
        if self.truth is None:
            self.true_pair.setData([], [])
        else:
            self.true_pair.setData([self.truth.path[t, latent]], [self.truth.path[t + 1, latent]])

    def _on_click(self, event) -> None:
        """A click on a trajectory chooses its latent and the bin under the pointer."""
        if self.result is None:
            return
        position = event.scenePos()
        for latent, plot in enumerate(self.latent_plots):
            if plot.isVisible() and plot.vb.sceneBoundingRect().contains(position):
                time_s = plot.vb.mapSceneToView(position).x()
                self.select(latent, round(time_s / self.result.dt))
                return

    def _show_loadings(self, result: LdsFitResult) -> None:
        loadings = np.asarray(result.parameters["C"], dtype=float)
        n_units, latent_dim = loadings.shape
        limit = symmetric_bound(loadings)
        self.loadings_image.setImage(loadings, levels=(-limit, limit))
        self.loadings_image.setRect(-0.5, -0.5, latent_dim, n_units)  # cell (n, k) centred on (k, n)
        self.colour_bar.setLevels((-limit, limit))
        self.loadings_plot.getAxis("bottom").setTicks([[(k, str(k + 1)) for k in range(latent_dim)]])
        if n_units <= MAX_NAMED_UNITS:
            self.loadings_plot.getAxis("left").setTicks([[(n, name) for n, name in enumerate(result.unit_names)]])
        else:
            self.loadings_plot.getAxis("left").setTicks(None)
        self.loadings_plot.setRange(xRange=(-0.5, latent_dim - 0.5), yRange=(-0.5, n_units - 0.5), padding=0.0)
