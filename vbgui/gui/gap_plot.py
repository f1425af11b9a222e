"""The gaps of amortised inference across units: the amortisation and the approximation gap of each unit, in nats.

Two labelled series against the unit's index in the file: the amortisation
gap ELBO(q*) - ELBO(q) of each unit whose q came from the encoder, and the
approximation gap log p(D) - ELBO(q*) of each unit whose evidence is known
(Cremer, Li & Duvenaud 2018).  The gaps span orders of magnitude (1e-6 nats
after a refinement pass, 1e-1 for a mean-field family), so the y axis is
logarithmic when every gap shown is positive and they span more than
LOG_SPAN; linear otherwise (an importance-weighted evidence can put an
approximation gap a little below 0).  The title says which.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QSizePolicy

from vbgui.app.population import UnitRow
from vbgui.gui.axes import IntegerAxis, tighten
from vbgui.gui.style import PALETTE, label_axis, style_plot

LOG_SPAN = 100.0  # max / min of the gaps beyond which the axis is logarithmic
PLOT_MIN_HEIGHT = 150
SERIES = (("amortisation", "amortisation gap ELBO(q*) − ELBO(q)", "complexity", "o"),
          ("approximation", "approximation gap log p(D) − ELBO(q*)", "approximation", "t"))


def gap_points(rows: Sequence[UnitRow]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per series, the units' indices and gaps (nats) where the gap is known and finite."""
    points = {}
    for key, attribute in (("amortisation", "amortisation_gap"), ("approximation", "approximation_gap")):
        known = [(row.index, getattr(row, attribute)) for row in rows
                 if getattr(row, attribute) is not None and np.isfinite(getattr(row, attribute))]
        points[key] = (np.array([i for i, _ in known], dtype=float), np.array([g for _, g in known], dtype=float))
    return points


def wants_log_axis(gaps: np.ndarray) -> bool:
    """True when every gap is positive and they span more than LOG_SPAN (a log axis shows them all)."""
    return bool(gaps.size) and bool(np.all(gaps > 0)) and float(gaps.max() / gaps.min()) > LOG_SPAN


class GapPlot(pg.GraphicsLayoutWidget):
    """Both gaps of every unit against its index; see the module docstring."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("gap-plot")
        tighten(self)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Ignored)  # the dock's height as it is
        self.setMinimumHeight(PLOT_MIN_HEIGHT)
        self.plot = self.addPlot(row=0, col=0, axisItems={"bottom": IntegerAxis("bottom")})
        style_plot(self.plot, "gaps across units", left=("gap", ""), bottom=("unit (index in the file)", ""))
        self.plot.setMenuEnabled(False)
        # the legend in a row of its own under the plot: inside, it would hide the gaps of the last units
        self.legend = pg.LegendItem(colCount=2, labelTextSize="9pt")
        self.addItem(self.legend, row=1, col=0)
        self.series: dict[str, pg.PlotDataItem] = {}
        for key, label, role, symbol in SERIES:
            self.series[key] = self.plot.plot([], [], pen=None, symbol=symbol, symbolSize=7,
                                              symbolBrush=PALETTE[role], symbolPen=None)
            self.legend.addItem(self.series[key], label)
        self.log_y = False

    def show_rows(self, rows: Sequence[UnitRow]) -> None:
        """Plot the gaps of ``rows`` (the population table's rows after amortised inference)."""
        points = gap_points(rows)
        all_gaps = np.concatenate([gaps for _, gaps in points.values()])
        self.log_y = wants_log_axis(all_gaps)
        self.plot.setLogMode(y=self.log_y)
        for key, (indices, gaps) in points.items():
            self.series[key].setData(indices, gaps)
        scale = "log scale" if self.log_y else "linear scale"
        self.plot.setTitle(f"gaps across units (nats, {scale})", size="10pt")
        label_axis(self.plot, "left", "gap (nats)", "")
        self.plot.enableAutoRange()
