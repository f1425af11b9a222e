"""The parameters panel: fitted filters (mean +- 2 sd, ground truth dashed) and predicted vs observed rate."""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QPainterPath
from PySide6.QtWidgets import QWidget

from vbgui.gui.empty_plot import EmptyPlotNote
from vbgui.gui.axes import MIN_PLOT_HEIGHT, TIME_AXIS_HEIGHT, hold_layout_minimum, tighten
from vbgui.app.layout import ModelLayout
from vbgui.gui.style import PALETTE, band_brush, pen, style_plot
from vbgui.io.recording import Recording

if TYPE_CHECKING:
    from vbgui.app.fit import FitSession

GROUP_TITLES = {"stim": "Stimulus filter", "hist": "Spike-history filter", "x": "Design weights",
                "couple": "Couplings (each other unit's lags in turn)"}
UNLAGGED_GROUPS = ("x", "couple")  # drawn against their column, not a lag
RATE_VIEW_SECONDS = 5.0
MAX_RATE_ROWS = 4_000  # points of the predicted rate drawn: a few per pixel
SMOOTHING_BINS = 5  # Gaussian sd of the smoothing of the observed response, in bins
# the rate axis spans the observed rate and this percentile of the predicted one: a few wild peaks of a
# prediction go off the top instead of flattening the data to the baseline
PREDICTED_PERCENTILE = 99.0
LEGEND_COLUMNS = 4  # the legend's entries in one row above the plots (a ground truth makes five: two rows)
RANGE_PADDING = 0.08
NO_FIT = "No fit yet: the fitted weights (mean ± 2 sd) appear here after Run."


def smoothed(values: np.ndarray, sd_bins: float) -> np.ndarray:
    """``values`` convolved with a normalised Gaussian of sd ``sd_bins`` (same length)."""
    half = int(4 * sd_bins)
    offsets = np.arange(-half, half + 1)
    kernel = np.exp(-0.5 * (offsets / sd_bins) ** 2)
    return np.convolve(values, kernel / kernel.sum(), mode="same")


class FilterPlot:
    """One group of weights against lag: mean line, +-2 sd band, ground truth dashed."""

    def __init__(self, plot: pg.PlotItem, lags_ms: np.ndarray, indices: np.ndarray,
                 truth: np.ndarray | None, legend: pg.LegendItem | None, no_fit_text: str = "") -> None:
        """``no_fit_text`` is said in the plot while it has no fit and no ground truth to show."""
        self.plot, self.lags_ms, self.indices = plot, lags_ms, indices
        self.upper = pg.PlotDataItem(pen=pg.mkPen(None))
        self.lower = pg.PlotDataItem(pen=pg.mkPen(None))
        self.band = band = pg.FillBetweenItem(self.upper, self.lower, brush=band_brush())
        # the legend cannot draw a FillBetweenItem's sample: a bar of the band's colour stands in for it
        band_sample = pg.BarGraphItem(x=[0.0], height=[1.0], width=1.0, brush=band_brush(), pen=None)
        plot.addItem(self.upper)
        plot.addItem(self.lower)
        plot.addItem(band)
        self.mean = plot.plot(pen=pen("approximation"), symbol="o", symbolSize=4,
                              symbolBrush=PALETTE["approximation"], symbolPen=None)
        truth_curve = None if truth is None else plot.plot(lags_ms, truth, pen=pen("truth", dashed=True))
        if legend is not None:
            legend.addItem(self.mean, "mean")
            legend.addItem(band_sample, "± 2 sd")
            if truth_curve is not None:
                legend.addItem(truth_curve, "ground truth")
        self.zero_line = plot.addLine(y=0.0, pen=pg.mkPen((120, 120, 120), width=1))
        # a ground truth is something to show on axes; without one, an unfitted plot says so instead
        self.empty_note = None if truth is not None else EmptyPlotNote(plot, no_fit_text)
        self._show_empty(True)

    def _show_empty(self, empty: bool) -> None:
        if self.empty_note is not None:
            self.empty_note.set_shown(empty)
            self.zero_line.setVisible(not empty)

    def clear(self) -> None:
        for curve in (self.mean, self.upper, self.lower):
            curve.setData([], [])
        # an emptied curve keeps its old path, and the band is drawn from the paths: empty it too
        self.band.setPath(QPainterPath())
        self._show_empty(True)

    def update(self, mean: np.ndarray, sd: np.ndarray) -> None:
        self._show_empty(False)
        m, s = mean[self.indices], sd[self.indices]
        self.mean.setData(self.lags_ms, m)
        self.upper.setData(self.lags_ms, m + 2.0 * s)
        self.lower.setData(self.lags_ms, m - 2.0 * s)


class ParametersPanel(pg.GraphicsLayoutWidget):
    """Filters of the current fit and the rate they predict against the observed response."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setToolTip("Fitted filters: posterior mean with a ±2 sd band (dashed: ground truth, when the "
                        "recording has one); below, the rate predicted at the posterior mean against the "
                        f"observed response smoothed by a Gaussian of {SMOOTHING_BINS} bins sd.")
        tighten(self)
        self._filters: list[FilterPlot] = []
        self.legend: pg.LegendItem | None = None
        self._truth_in_legend = False
        self._layout: ModelLayout | None = None
        self._recording: Recording | None = None
        self._session: FitSession | None = None
        self._mean: np.ndarray | None = None
        self.rate_plot: pg.PlotItem | None = None
        self.observed_curve: pg.PlotDataItem | None = None
        self.predicted_curve: pg.PlotDataItem | None = None
        self._rate_scale = 1.0
        self._rate_range_is_automatic = True
        self._automatic_rate_range: tuple[float, float] | None = None
        self._time_partner: pg.PlotItem | None = None

    def link_time_axis(self, partner: pg.PlotItem) -> None:
        """Keep the rate plot's time range equal to ``partner``'s (the recording's): they pan and zoom together.

        pyqtgraph's ``setXLink`` lines views up by their position on the screen
        when they overlap horizontally; these two plots must show the same
        seconds wherever the splitters put them, so the ranges are copied.
        """
        self._time_partner = partner
        partner.sigXRangeChanged.connect(self._follow_time_partner)

    def _follow_time_partner(self, _view, time_range) -> None:
        if self.rate_plot is not None and not np.allclose(self.rate_plot.viewRange()[0], time_range):
            self.rate_plot.setXRange(*time_range, padding=0.0)

    def _lead_time_partner(self, _view, time_range) -> None:
        partner = self._time_partner
        if partner is not None and not np.allclose(partner.viewRange()[0], time_range):
            partner.setXRange(*time_range, padding=0.0)

    def set_layout(self, layout: ModelLayout, recording: Recording | None, truth: dict[str, float] | None = None) -> None:
        """Build the plots for a model's parameter groups on ``recording`` (while idle, never per iteration).

        Without a recording (a reopened result whose data has gone) only the
        filters are drawn, lags in bins when the bin width is unknown, with
        ``truth`` as the ground truth.
        """
        self.clear()
        self._filters = []
        self._layout, self._recording, self._session, self._mean = layout, recording, None, None
        self._truth_in_legend = False
        truth = recording.truth if recording is not None else (truth or {})
        filter_groups = [(g, idx) for g, idx in layout.groups if g != "bias"]
        columns = max(1, len(filter_groups))
        # one legend above the plots, so no entry ever hides a curve
        self.legend = pg.LegendItem(colCount=LEGEND_COLUMNS, labelTextSize="9pt")
        self.addItem(self.legend, row=0, col=0, colspan=columns)
        for column, (group, indices) in enumerate(filter_groups):
            plot = self.addPlot(row=1, col=column)
            plot.setMinimumHeight(MIN_PLOT_HEIGHT + TIME_AXIS_HEIGHT)
            offset = 1 if group == "hist" else 0  # hist[j] is the response j + 1 bins back
            is_lagged = group not in UNLAGGED_GROUPS
            lag_unit = "ms" if layout.dt is not None else "bins"
            positions = (np.arange(len(indices)) + offset) * (layout.dt * 1000.0 if layout.dt is not None else 1.0) \
                if is_lagged else np.arange(len(indices), dtype=float)
            names = [layout.names[i] for i in indices]
            group_truth = np.array([truth[n] for n in names]) if all(n in truth for n in names) else None
            title = GROUP_TITLES.get(group, f"Stimulus filter {group[4:]}")
            plot.setXRange(positions[0], positions[-1], padding=0.05)  # the lags, also before the first fit
            style_plot(plot, title, left=("weight", ""),
                       bottom=(f"lag ({lag_unit})", "") if is_lagged else ("column", ""))
            legend = self.legend if not self._filters or (group_truth is not None and not self._truth_in_legend) \
                else None
            self._truth_in_legend = self._truth_in_legend or (legend is not None and group_truth is not None)
            note = NO_FIT if not self._filters else ""  # said once, in the first filter's plot
            self._filters.append(FilterPlot(plot, positions, np.array(indices), group_truth, legend, note))
        self.rate_plot = self.observed_curve = self.predicted_curve = None
        if recording is not None:
            self._build_rate_plot(layout, columns)
            self._update_prediction()
        if len(self.legend.items) > LEGEND_COLUMNS:  # wrap to two rows rather than widen the panel
            self.legend.setColumnCount(LEGEND_COLUMNS - 1)
        hold_layout_minimum(self)

    def show_note(self, text: str) -> None:
        """No plots, only ``text``: the window's model has no filters to draw (a latent-dynamics preset)."""
        self.clear()
        self._filters, self.legend, self._truth_in_legend = [], None, False
        self._layout, self._recording, self._session, self._mean = None, None, None, None
        self.rate_plot = self.observed_curve = self.predicted_curve = None
        plot = self.addPlot(row=0, col=0)
        plot.setMouseEnabled(x=False, y=False)
        EmptyPlotNote(plot, text).set_shown(True)

    def attach(self, session: FitSession) -> None:
        """The session whose design the predicted rate uses (its layout was set before)."""
        self._session = session
        self._update_prediction()

    def detach(self) -> None:
        """Forget the fit (Reset): filters and prediction go blank until the next fit."""
        self._session, self._mean = None, None
        for filter_plot in self._filters:
            filter_plot.clear()
        if self.predicted_curve is not None:
            self.predicted_curve.setData([], [])

    def _build_rate_plot(self, layout: ModelLayout, columns: int) -> None:
        is_rate = layout.likelihood != "gaussian"
        self._rate_scale = 1.0 / layout.dt if is_rate else 1.0
        quantity = "rate (Hz)" if is_rate else layout.response_name
        self.rate_plot = self.addPlot(row=2, col=0, colspan=columns)
        self.rate_plot.setMinimumHeight(MIN_PLOT_HEIGHT + TIME_AXIS_HEIGHT)
        style_plot(self.rate_plot, f"Predicted {quantity.split()[0]} at the posterior mean vs observed",
                   left=(quantity, ""), bottom=("time", "s"))
        self.observed_curve = self.rate_plot.plot(pen=pg.mkPen(PALETTE["counts"], width=1.5))
        self.predicted_curve = self.rate_plot.plot(pen=pen("predicted"))
        self.observed_curve.setZValue(1)  # the data stays visible however wildly a fit's prediction swings
        self.legend.addItem(self.observed_curve, "observed, smoothed")
        self.legend.addItem(self.predicted_curve, "predicted")
        if self._time_partner is not None:
            self.rate_plot.setXRange(*self._time_partner.viewRange()[0], padding=0.0)
        else:
            start = layout.first_row * layout.dt
            self.rate_plot.setXRange(start, start + RATE_VIEW_SECONDS, padding=0.0)
        self.rate_plot.enableAutoRange(axis="y", enable=False)
        self._rate_range_is_automatic = True
        self.rate_plot.vb.sigRangeChangedManually.connect(self._on_rate_range_chosen)
        self.rate_plot.sigXRangeChanged.connect(self._update_prediction)
        self.rate_plot.sigXRangeChanged.connect(self._lead_time_partner)

    def _on_rate_range_chosen(self, _mouse_enabled) -> None:
        """The mouse moved the view: if the rate axis changed (not only the time), keep the user's range."""
        if self._automatic_rate_range is None or not np.allclose(self.rate_plot.viewRange()[1],
                                                                 self._automatic_rate_range):
            self._rate_range_is_automatic = False

    def update_fit(self, mean: np.ndarray, sd: np.ndarray) -> None:
        """Show the current q's mean and sd."""
        for filter_plot in self._filters:
            filter_plot.update(mean, sd)
        self._mean = mean
        self._update_prediction()

    def _visible_rows(self) -> np.ndarray:
        """Design rows in the rate plot's x range, thinned to at most MAX_RATE_ROWS."""
        first_row, dt = self._layout.first_row, self._layout.dt
        n_rows = self._recording.n_bins - first_row
        (start_time, end_time), _ = self.rate_plot.viewRange()
        first = int(np.clip(np.floor(start_time / dt) - first_row, 0, n_rows - 1))
        last = int(np.clip(np.ceil(end_time / dt) - first_row + 1, first + 1, n_rows))
        return np.arange(first, last, max(1, (last - first) // MAX_RATE_ROWS))

    def _update_prediction(self, *_args) -> None:
        """Observed and predicted over the visible rows only: cheap at any recording length."""
        if self._layout is None or self.rate_plot is None:
            return
        first_row = self._layout.first_row
        response = self._recording.response
        rows = self._visible_rows()
        time = (first_row + rows) * self._layout.dt
        pad = int(4 * SMOOTHING_BINS)
        lo, hi = max(0, first_row + rows[0] - pad), min(response.size, first_row + rows[-1] + pad + 1)
        observed = smoothed(response[lo:hi], SMOOTHING_BINS)[first_row + rows - lo] * self._rate_scale
        self.observed_curve.setData(time, observed)
        if self._session is not None and self._mean is not None:
            eta = self._session.design.rows.take(rows) @ self._mean
            predicted = self._session.problem.likelihood.mean_response(eta) * self._rate_scale
            self.predicted_curve.setData(time, predicted)
        else:
            predicted = None
        if self._rate_range_is_automatic:
            self._automatic_rate_range = self.robust_range(observed, predicted)
            self.rate_plot.setYRange(*self._automatic_rate_range, padding=0.0)

    def robust_range(self, observed: np.ndarray, predicted: np.ndarray | None) -> tuple[float, float]:
        """The rate axis's default range: all of the observed curve, the predicted one up to its
        PREDICTED_PERCENTILE (and down from the complementary one); from 0 for rates."""
        values = [observed[np.isfinite(observed)]]
        if predicted is not None and np.any(np.isfinite(predicted)):
            finite = predicted[np.isfinite(predicted)]
            values.append(np.percentile(finite, [100.0 - PREDICTED_PERCENTILE, PREDICTED_PERCENTILE]))
        values = np.concatenate(values)
        if values.size == 0:
            return 0.0, 1.0
        low = 0.0 if self._layout.likelihood != "gaussian" else float(values.min())
        high = float(values.max())
        span = high - low if high > low else max(abs(high), 1.0)
        return (low if self._layout.likelihood != "gaussian" else low - RANGE_PADDING * span,
                high + RANGE_PADDING * span)
