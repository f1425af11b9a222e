"""The parameters panel: fitted filters (mean +- 2 sd, ground truth dashed) and predicted vs observed rate."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QWidget

from vbgui.app.fit import FitSession
from vbgui.gui.style import PALETTE, pen, style_plot

GROUP_TITLES = {"stim": "Stimulus filter", "hist": "Spike-history filter", "x": "Design weights"}
RATE_VIEW_SECONDS = 5.0
MAX_RATE_ROWS = 20_000
SMOOTHING_BINS = 5  # Gaussian sd of the smoothing of the observed response, in bins


def smoothed(values: np.ndarray, sd_bins: float) -> np.ndarray:
    """``values`` convolved with a normalised Gaussian of sd ``sd_bins`` (same length)."""
    half = int(4 * sd_bins)
    offsets = np.arange(-half, half + 1)
    kernel = np.exp(-0.5 * (offsets / sd_bins) ** 2)
    return np.convolve(values, kernel / kernel.sum(), mode="same")


class FilterPlot:
    """One group of weights against lag: mean line, +-2 sd band, ground truth dashed."""

    def __init__(self, plot: pg.PlotItem, lags_ms: np.ndarray, indices: np.ndarray,
                 truth: np.ndarray | None) -> None:
        self.lags_ms, self.indices = lags_ms, indices
        self.upper = pg.PlotDataItem(pen=pg.mkPen(None))
        self.lower = pg.PlotDataItem(pen=pg.mkPen(None))
        band_colour = pg.mkColor(PALETTE["band"])
        band_colour.setAlpha(90)
        band = pg.FillBetweenItem(self.upper, self.lower, brush=pg.mkBrush(band_colour))
        # the legend cannot draw a FillBetweenItem's sample: a bar of the band's colour stands in for it
        band_sample = pg.BarGraphItem(x=[0.0], height=[1.0], width=1.0, brush=pg.mkBrush(band_colour), pen=None)
        plot.addItem(self.upper)
        plot.addItem(self.lower)
        plot.addItem(band)
        legend = plot.addLegend(offset=(-5, 5), labelTextSize="9pt")
        legend.setBrush(pg.mkBrush(255, 255, 255, 200))
        self.mean = plot.plot(pen=pen("approximation"), symbol="o", symbolSize=4,
                              symbolBrush=PALETTE["approximation"], symbolPen=None, name="posterior mean")
        legend.addItem(band_sample, "± 2 sd")
        if truth is not None:
            plot.plot(lags_ms, truth, pen=pen("truth", dashed=True), name="ground truth")
        plot.addLine(y=0.0, pen=pg.mkPen((120, 120, 120), width=1))

    def update(self, mean: np.ndarray, sd: np.ndarray) -> None:
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
                        "observed response.")
        self._filters: list[FilterPlot] = []
        self._session: FitSession | None = None
        self._mean: np.ndarray | None = None
        self.rate_plot: pg.PlotItem | None = None
        self.observed_curve: pg.PlotDataItem | None = None
        self.predicted_curve: pg.PlotDataItem | None = None
        self._rate_scale = 1.0

    def set_model(self, session: FitSession) -> None:
        """Rebuild the plots for a new fit's parameter groups (not called during a fit)."""
        self.clear()
        self._filters = []
        self._session, self._mean = session, None
        design, recording = session.design, session.recording
        truth = recording.truth
        filter_groups = [(g, idx) for g, idx in design.groups.items() if g != "bias"]
        for column, (group, indices) in enumerate(filter_groups):
            plot = self.addPlot(row=0, col=column)
            offset = 1 if group == "hist" else 0  # hist[j] is the response j + 1 bins back
            is_lagged = group != "x"
            positions = (np.arange(len(indices)) + offset) * recording.dt * 1000.0 if is_lagged \
                else np.arange(len(indices), dtype=float)
            names = [design.names[i] for i in indices]
            group_truth = np.array([truth[n] for n in names]) if all(n in truth for n in names) else None
            title = GROUP_TITLES.get(group, f"Stimulus filter {group[4:]}")
            style_plot(plot, title, left=("weight", ""),
                       bottom=("lag (ms)", "") if is_lagged else ("column", ""))
            self._filters.append(FilterPlot(plot, positions, np.array(indices), group_truth))
        self._build_rate_plot(session, max(1, len(filter_groups)))

    def _build_rate_plot(self, session: FitSession, columns: int) -> None:
        recording, design = session.recording, session.design
        likelihood = session.problem.likelihood.name
        is_rate = likelihood != "gaussian"
        self._rate_scale = 1.0 / recording.dt if is_rate else 1.0
        unit = "Hz" if is_rate else ""
        quantity = "rate" if is_rate else recording.response_name
        self.rate_plot = self.addPlot(row=1, col=0, colspan=columns)
        style_plot(self.rate_plot, f"Predicted {quantity} at the posterior mean vs observed",
                   left=(f"{quantity} ({unit})" if unit else quantity, ""), bottom=("time", "s"))
        legend = self.rate_plot.addLegend(offset=(-5, 5), labelTextSize="9pt")
        legend.setBrush(pg.mkBrush(255, 255, 255, 200))
        time = (design.first_row + np.arange(design.n_rows)) * recording.dt
        observed = smoothed(design.response, SMOOTHING_BINS) * self._rate_scale
        self.observed_curve = self.rate_plot.plot(
            time, observed, pen=pg.mkPen(PALETTE["counts"], width=1),
            name=f"observed (smoothed, {SMOOTHING_BINS * recording.dt * 1000:g} ms sd)")
        self.observed_curve.setDownsampling(auto=True, method="peak")
        self.observed_curve.setClipToView(True)
        self.predicted_curve = self.rate_plot.plot(pen=pen("predicted"), name="predicted")
        self.rate_plot.setXRange(time[0], min(time[-1], time[0] + RATE_VIEW_SECONDS), padding=0.0)
        self.rate_plot.sigXRangeChanged.connect(self._update_prediction)

    def update_fit(self, mean: np.ndarray, sd: np.ndarray) -> None:
        """Show the current q's mean and sd."""
        for filter_plot in self._filters:
            filter_plot.update(mean, sd)
        self._mean = mean
        self._update_prediction()

    def _update_prediction(self, *_args) -> None:
        """Predict only over the visible rows (at most MAX_RATE_ROWS): cheap at any recording length."""
        if self._session is None or self._mean is None or self.rate_plot is None:
            return
        design, dt = self._session.design, self._session.recording.dt
        (start_time, end_time), _ = self.rate_plot.viewRange()
        first = int(np.clip(np.floor(start_time / dt) - design.first_row, 0, design.n_rows - 1))
        last = int(np.clip(np.ceil(end_time / dt) - design.first_row + 1, first + 1, design.n_rows))
        step = max(1, (last - first) // MAX_RATE_ROWS)
        rows = np.arange(first, last, step)
        eta = design.matrix[rows] @ self._mean
        predicted = self._session.problem.likelihood.mean_response(eta) * self._rate_scale
        self.predicted_curve.setData((design.first_row + rows) * dt, predicted)
