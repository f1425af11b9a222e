"""The ELBO panel: the ELBO and its two terms, growing live, one point per iteration.

The complexity (KL to the prior) is far smaller than the ELBO and the
accuracy, so it has a plot of its own under theirs, with a linked x axis.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QWidget

from vbgui.gui.empty_plot import EmptyPlotNote
from vbgui.gui.axes import MIN_PLOT_HEIGHT, IntegerAxis, hold_layout_minimum, tighten
from vbgui.gui.style import pen, style_plot
from vbgui.gui.tooltips import TOOLTIPS

LEFT_AXIS_WIDTH = 80
NO_FIT = "No fit yet: the ELBO and its two terms are drawn here, iteration by iteration, once you press Run."


class ElboPlot(pg.GraphicsLayoutWidget):
    """Two stacked plots: ELBO and accuracy (top), complexity (bottom), x = iteration, y in nats."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setToolTip(f"{TOOLTIPS['elbo']}\n{TOOLTIPS['accuracy']}\n{TOOLTIPS['complexity']}")
        tighten(self)
        # the legend has a row of its own above the plots, so it never covers a curve
        self.legend = pg.LegendItem(colCount=2, labelTextSize="9pt")
        self.addItem(self.legend, row=0, col=0)
        self.terms_plot = self.addPlot(row=1, col=0, axisItems={"bottom": IntegerAxis("bottom")})
        self.complexity_plot = self.addPlot(row=2, col=0, axisItems={"bottom": IntegerAxis("bottom")})
        self.complexity_plot.setXLink(self.terms_plot)
        style_plot(self.terms_plot, "ELBO = accuracy − complexity", left=("nats", ""), bottom=None)
        style_plot(self.complexity_plot, "complexity (KL to prior)", left=("nats", ""), bottom=("iteration", ""))
        self.terms_plot.getAxis("bottom").setStyle(showValues=False)
        for plot in (self.terms_plot, self.complexity_plot):
            plot.getAxis("left").setWidth(LEFT_AXIS_WIDTH)  # room for "-26,450", and both plots align
            plot.setMinimumHeight(MIN_PLOT_HEIGHT)
        self.ci.layout.setRowStretchFactor(1, 3)
        self.ci.layout.setRowStretchFactor(2, 2)
        self.accuracy_curve = self.terms_plot.plot(pen=pen("accuracy", dashed=True))
        self.elbo_curve = self.terms_plot.plot(pen=pen("elbo"))
        self.legend.addItem(self.elbo_curve, "ELBO")
        self.legend.addItem(self.accuracy_curve, "accuracy (expected log-likelihood)")
        hold_layout_minimum(self)
        # the title names this single curve: no legend to cover it
        self.complexity_curve = self.complexity_plot.plot(pen=pen("complexity"))
        self.empty_notes = [EmptyPlotNote(self.terms_plot, NO_FIT), EmptyPlotNote(self.complexity_plot, "")]
        self._show_empty(True)

    def _show_empty(self, empty: bool) -> None:
        for note in self.empty_notes:
            note.set_shown(empty)

    def set_trace(self, iteration: np.ndarray, elbo: np.ndarray, expected_log_likelihood: np.ndarray,
                  kl: np.ndarray) -> None:
        """Show the trace so far (arrays of equal length, one entry per iteration).

        Non-finite values (a diverging fit) leave gaps instead of breaking the axes.
        """
        for curve, values in ((self.elbo_curve, elbo), (self.accuracy_curve, expected_log_likelihood),
                              (self.complexity_curve, kl)):
            curve.setData(iteration, np.where(np.isfinite(values), values, np.nan), connect="finite")
        self._show_empty(len(iteration) == 0)

    def clear_trace(self) -> None:
        for curve in (self.elbo_curve, self.accuracy_curve, self.complexity_curve):
            curve.setData([], [])
        self._show_empty(True)
