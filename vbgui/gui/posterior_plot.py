"""The posterior panel: approximate and true posterior contours of a pair of parameters.

The approximation q is Gaussian, so its HPD regions are ellipses at
Mahalanobis radii r with mass 1 - exp(-r^2/2): r = 1, 2, 3.035 hold 39, 86
and 99 %.  The true posterior is drawn at the same masses: ellipses of the
exact Gaussian posterior (linear-Gaussian model), contours of the exact
grid marginal found by mass (:mod:`vbgui.core.grid_posterior`), or, for
larger models, contours of a weighted kernel density of the diagnostics'
PSIS or HMC draws (:mod:`vbgui.gui.kde_contours`), levels again found by
mass.  A reference that is not valid (k-hat too high, sampler not
converged) is named but not drawn, and nothing is ever drawn as "true"
without a reference: a conditional slice would have the width of a
mean-field fit and hide what the plot is for.
"""
from __future__ import annotations

import html
from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from vbgui.gui.axes import MIN_PLOT_HEIGHT, TIME_AXIS_HEIGHT, hold_layout_minimum, tighten
from vbgui.gui.empty_plot import EmptyPlotNote
from vbgui.gui.kde_contours import weighted_kde
from vbgui.gui.style import PALETTE, colour_name, pen, style_plot
from vbgui.gui.tooltips import TOOLTIPS

if TYPE_CHECKING:  # the engine is imported once a fit needs it, not while the window opens
    from vbgui.app.shown_reference import ShownReference

HPD_RADII = np.array([1.0, 2.0, 3.035])
HPD_MASSES = 1.0 - np.exp(-HPD_RADII ** 2 / 2.0)
HPD_TEXT = "39 / 86 / 99 % HPD"
ELLIPSE_POINTS = 241
NO_FIT = "No fit yet: after Run, the 39/86/99 % contours of q for the two weights chosen above appear here."
NOT_AVAILABLE = ("reference posterior: no exact form for this model; "
                 "contours from the diagnostics' draws once they finish")


def ellipse(mean: np.ndarray, cov: np.ndarray, radius: float) -> tuple[np.ndarray, np.ndarray]:
    """Points (x, y) of {w : (w - mean)' cov^-1 (w - mean) = radius^2} for a 2 x 2 ``cov``."""
    values, vectors = np.linalg.eigh(0.5 * (cov + cov.T))
    angle = np.linspace(0.0, 2.0 * np.pi, ELLIPSE_POINTS)
    circle = np.stack([np.cos(angle), np.sin(angle)])
    points = mean[:, None] + radius * vectors @ (np.sqrt(np.clip(values, 0.0, None))[:, None] * circle)
    return points[0], points[1]


def contour_lines(x: np.ndarray, y: np.ndarray, density: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    """The level set {density = level} as (x, y) with NaN between separate pieces (for connect='finite')."""
    xs: list[float] = []
    ys: list[float] = []
    for line in pg.functions.isocurve(density, level, connected=True, extendToEdge=True):
        points = np.asarray(line, dtype=float)
        xs.extend(np.interp(points[:, 0], np.arange(x.size), x).tolist() + [np.nan])
        ys.extend(np.interp(points[:, 1], np.arange(y.size), y).tolist() + [np.nan])
    return np.array(xs), np.array(ys)


class ContourSet:
    """Three preallocated curves (one per HPD level) in one colour; only the first is in the legend."""

    def __init__(self, plot: pg.PlotItem, role: str, dashed: bool = False) -> None:
        self.curves = [pg.PlotCurveItem(pen=pen(role, width=2.0 if k == 0 else 1.5, dashed=dashed))
                       for k in range(len(HPD_RADII))]
        for curve in self.curves:
            plot.addItem(curve)

    def set_ellipses(self, mean: np.ndarray, cov: np.ndarray) -> None:
        for curve, radius in zip(self.curves, HPD_RADII):
            curve.setData(*ellipse(mean, cov, radius))

    def set_lines(self, lines: list[tuple[np.ndarray, np.ndarray]]) -> None:
        for curve, (x, y) in zip(self.curves, lines):
            curve.setData(x, y, connect="finite")

    def clear(self) -> None:
        for curve in self.curves:
            curve.setData([], [])


class PosteriorPlot(QWidget):
    """Pick two parameters; see q's contours, the true posterior's, and optionally a kept fit's."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.x_choice = QComboBox()
        self.y_choice = QComboBox()
        self.x_choice.setToolTip(TOOLTIPS["param_x"])
        self.y_choice.setToolTip(TOOLTIPS["param_y"])
        self.keep_button = QPushButton("Keep fit for comparison")
        self.keep_button.setToolTip(TOOLTIPS["keep_fit"])
        self.keep_button.setEnabled(False)
        self.clear_kept_button = QPushButton("Clear kept")
        self.clear_kept_button.setToolTip(TOOLTIPS["clear_kept"])
        self.clear_kept_button.setEnabled(False)
        self.keep_button.clicked.connect(self.keep_current)
        self.clear_kept_button.clicked.connect(self.clear_kept)
        self.reference_label = QLabel("")
        self.reference_label.setWordWrap(True)
        self.reference_label.setToolTip(TOOLTIPS["hpd"])

        self.plot_widget = pg.GraphicsLayoutWidget()
        tighten(self.plot_widget)
        # the legend sits above the plot, so it never hides a contour (and is part of exports)
        self.legend = pg.LegendItem(colCount=2, labelTextSize="9pt")
        self.plot_widget.addItem(self.legend, row=0, col=0)
        self.plot = self.plot_widget.addPlot(row=1, col=0)
        self.plot.setMinimumHeight(MIN_PLOT_HEIGHT + TIME_AXIS_HEIGHT)
        style_plot(self.plot, f"Posterior of a pair of weights ({HPD_TEXT})", left=("", ""), bottom=("", ""))
        self.reference_contours = ContourSet(self.plot, "reference")
        self.kept_contours = ContourSet(self.plot, "kept", dashed=True)
        self.approximation_contours = ContourSet(self.plot, "approximation")
        self.mean_marker = pg.ScatterPlotItem(size=8, brush=pg.mkBrush(PALETTE["approximation"]), pen=None)
        self.truth_marker = pg.ScatterPlotItem(size=14, symbol="star", brush=pg.mkBrush(PALETTE["truth"]),
                                               pen=pg.mkPen("k", width=0.5))
        self.plot.addItem(self.mean_marker)
        self.plot.addItem(self.truth_marker)
        self.empty_note = EmptyPlotNote(self.plot, NO_FIT)
        self.empty_note.set_shown(True)

        choices = QHBoxLayout()
        choices.addWidget(QLabel("x:"))
        choices.addWidget(self.x_choice, 1)
        choices.addWidget(QLabel("y:"))
        choices.addWidget(self.y_choice, 1)
        choices.addWidget(self.keep_button)
        choices.addWidget(self.clear_kept_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(choices)
        layout.addWidget(self.reference_label)
        layout.addWidget(self.plot_widget, 1)

        self.names: tuple[str, ...] = ()
        self.truth: dict[str, float] = {}
        self.reference: ShownReference | None = None
        self._reference_known = False
        self._missing_reference = NOT_AVAILABLE
        self._q: tuple[np.ndarray, np.ndarray] | None = None
        self._q_label = ""
        self._kept: tuple[np.ndarray, np.ndarray, str, tuple[str, ...]] | None = None
        self._grid_cache: dict[tuple[int, int], list[tuple[np.ndarray, np.ndarray]]] = {}
        self.x_choice.currentIndexChanged.connect(self._redraw)
        self.y_choice.currentIndexChanged.connect(self._redraw)

    # -- inputs -------------------------------------------------------------------------------------
    def set_model(self, names: tuple[str, ...], truth: dict[str, float], note: str = NO_FIT) -> None:
        """New parameter names (a new fit); keeps the chosen pair when both names still exist.  ``note`` is
        what the plot says while it draws nothing (no names: why there is no pair to draw)."""
        previous = (self.x_choice.currentText(), self.y_choice.currentText())
        self.empty_note.label.setText(note)
        self.names, self.truth = tuple(names), dict(truth)
        self._q, self.reference, self._reference_known = None, None, False
        self._grid_cache.clear()
        for combo in (self.x_choice, self.y_choice):
            combo.blockSignals(True)
            combo.clear()
            combo.addItems(list(self.names))
            combo.blockSignals(False)
        x_name, y_name = previous if all(n in self.names for n in previous) and previous[0] != previous[1] \
            else default_pair(self.names)
        self.x_choice.setCurrentText(x_name)
        self.y_choice.setCurrentText(y_name)
        self._redraw()

    def set_reference_pending(self) -> None:
        """The model may have changed: drop the reference until the next fit computes it."""
        self.reference, self._reference_known = None, False
        self._grid_cache.clear()
        self._redraw()

    def set_reference(self, reference: ShownReference | None, missing: str = NOT_AVAILABLE) -> None:
        """The true posterior to contour; with None, ``missing`` says why there is none (or when it comes)."""
        self.reference = reference
        self._reference_known = True
        self._missing_reference = missing
        self._grid_cache.clear()
        self._redraw()

    def set_approximation(self, mean: np.ndarray, cov: np.ndarray, label: str) -> None:
        """The current q (full mean and covariance) and how to name it in the legend."""
        self._q = (np.asarray(mean), np.asarray(cov))
        self._q_label = label
        self.keep_button.setEnabled(True)
        self._draw_approximation()

    def keep_current(self) -> None:
        """Freeze the current q as the comparison overlay (drawn dashed in a contrasting colour)."""
        if self._q is None:
            return
        self._kept = (self._q[0].copy(), self._q[1].copy(), self._q_label, self.names)
        self.clear_kept_button.setEnabled(True)
        self._redraw()

    def clear_kept(self) -> None:
        self._kept = None
        self.clear_kept_button.setEnabled(False)
        self._redraw()

    def clear_fit(self) -> None:
        """Forget the current q (Reset); the kept comparison stays."""
        self._q = None
        self.keep_button.setEnabled(False)
        self._redraw()

    # -- drawing ------------------------------------------------------------------------------------
    def pair(self) -> tuple[int, int] | None:
        i, j = self.x_choice.currentIndex(), self.y_choice.currentIndex()
        if i < 0 or j < 0 or i == j:
            return None
        return i, j

    def _redraw(self, *_args) -> None:
        self._draw()
        self._show_note_if_empty()

    def _show_note_if_empty(self) -> None:
        """Axes only around something drawn (the legend names everything drawn): else the note."""
        self.empty_note.set_shown(not self.legend.items)

    def _draw(self) -> None:
        pair = self.pair()
        self.legend.clear()
        for contours in (self.reference_contours, self.kept_contours, self.approximation_contours):
            contours.clear()
        self.truth_marker.setData([], [])
        self.mean_marker.setData([], [])
        if pair is None:
            self.reference_label.setText("pick two different parameters" if len(self.names) > 1
                                         else "the posterior plot needs a model with at least two parameters"
                                         if self.names else "")
            return
        names = (self.names[pair[0]], self.names[pair[1]])
        self.plot.setLabel("bottom", f"weight {names[0]}")
        self.plot.setLabel("left", f"weight {names[1]}")
        self._draw_reference(pair)
        self._draw_kept(names)
        if all(n in self.truth for n in names):
            self.truth_marker.setData([self.truth[names[0]]], [self.truth[names[1]]])
            self.legend.addItem(self.truth_marker, "ground truth")
        self._draw_approximation()
        hold_layout_minimum(self.plot_widget)  # a legend of more rows needs more height

    def _draw_reference(self, pair: tuple[int, int]) -> None:
        reference = self.reference
        if reference is None:
            self.reference_label.setText(f"<i>{html.escape(self._missing_reference, quote=False)}</i>" if self._reference_known else
                                         "<i>reference posterior: computed when the fit starts</i>")
            return
        if reference.kind == "conjugate":
            idx = list(pair)
            self.reference_contours.set_ellipses(reference.mean[idx], reference.cov[np.ix_(idx, idx)])
            name = "true posterior (exact, conjugate)"
        elif reference.kind == "sampled":
            if not reference.sampled.valid:
                self.reference_label.setText(f"<i>{reference.legend}: not valid, no contours drawn "
                                             f"({reference.sampled.description})</i>")
                return
            if pair not in self._grid_cache:
                self._grid_cache[pair] = kde_contour_lines(*reference.sampled.pair(*pair))
            self.reference_contours.set_lines(self._grid_cache[pair])
            name = reference.legend
        else:
            if pair not in self._grid_cache:
                from vbgui.core.grid_posterior import hpd_thresholds

                x, y, density = reference.grid.pair_marginal(*pair)
                self._grid_cache[pair] = [contour_lines(x, y, density, level)
                                          for level in hpd_thresholds(density, HPD_MASSES)]
            self.reference_contours.set_lines(self._grid_cache[pair])
            name = "true posterior (exact grid)"
        self.reference_label.setText(f"{colour_name('reference')}: {name}, {HPD_TEXT}")
        self.legend.addItem(self.reference_contours.curves[0], name)

    def _draw_kept(self, names: tuple[str, str]) -> None:
        if self._kept is None:
            return
        mean, cov, label, kept_names = self._kept
        if not all(n in kept_names for n in names):
            return
        idx = [kept_names.index(n) for n in names]
        self.kept_contours.set_ellipses(mean[idx], cov[np.ix_(idx, idx)])
        self.legend.addItem(self.kept_contours.curves[0], f"kept: {label}")

    def _draw_approximation(self) -> None:
        pair = self.pair()
        if self._q is None or pair is None:
            return
        idx = list(pair)
        mean, cov = self._q[0][idx], self._q[1][np.ix_(idx, idx)]
        if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(cov))):
            return
        self.approximation_contours.set_ellipses(mean, cov)
        self.mean_marker.setData([mean[0]], [mean[1]])
        name = f"q: {self._q_label}"
        if self.legend.getLabel(self.approximation_contours.curves[0]) is None:
            self.legend.addItem(self.approximation_contours.curves[0], name)
            self._show_note_if_empty()
            hold_layout_minimum(self.plot_widget)
        else:
            self.legend.getLabel(self.approximation_contours.curves[0]).setText(name)


def kde_contour_lines(draws: np.ndarray, weights: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """HPD contour lines (one per HPD_MASSES) of the weighted kernel density of ``draws`` (N, 2)."""
    kde = weighted_kde(draws, weights)
    return [kde.to_parameters(*contour_lines(kde.u, kde.v, kde.density, level))
            for level in kde.levels(HPD_MASSES)]


def default_pair(names: tuple[str, ...]) -> tuple[str, str]:
    """The first two stimulus weights when the model has them (neighbouring lags correlate), else the first two."""
    stimulus = [n for n in names if n.startswith("stim")]
    chosen = stimulus[:2] if len(stimulus) >= 2 else list(names[:2])
    return (chosen + ["", ""])[0], (chosen + ["", ""])[1]
