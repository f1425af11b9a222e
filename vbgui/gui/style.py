"""Colours, pens and axis styling shared by every plot, so panels look alike."""
from __future__ import annotations

import pyqtgraph as pg

# Colour-blind-safe (Okabe-Ito) colours, by role.
PALETTE: dict[str, str] = {
    "stimulus": "#0072B2",
    "counts": "#444444",
    "elbo": "#000000",
    "accuracy": "#0072B2",
    "complexity": "#D55E00",
    "approximation": "#0072B2",
    "kept": "#D55E00",
    "reference": "#000000",
    "truth": "#009E73",
    "band": "#56B4E9",
    "predicted": "#CC79A7",
}
AXIS_FONT_PT = 10
TITLE_SIZE = "11pt"


def configure_pyqtgraph() -> None:
    """White background, black foreground, antialiased lines: readable on screen and in exports."""
    pg.setConfigOptions(background="w", foreground="k", antialias=True)


def style_plot(plot: pg.PlotItem, title: str, left: tuple[str, str] | None,
               bottom: tuple[str, str] | None, grid: bool = False) -> None:
    """Title, axis labels (text, SI unit or '') and optionally a light grid.

    Grids are off by default: pyqtgraph redraws them with every axis change,
    which costs several ms per repaint of a plot that updates live.
    """
    plot.setTitle(title, size=TITLE_SIZE)
    for side, label in (("left", left), ("bottom", bottom)):
        if label is not None:
            text, unit = label
            plot.setLabel(side, text, units=unit or None)
    if grid:
        plot.showGrid(x=True, y=True, alpha=0.15)
    font = pg.QtGui.QFont()
    font.setPointSize(AXIS_FONT_PT)
    for side, label in (("left", left), ("bottom", bottom)):
        axis = plot.getAxis(side)
        axis.setTickFont(font)
        if label is None or not label[1]:
            axis.enableAutoSIPrefix(False)  # no "(x0.001)" on weights and nats: show the numbers as they are


def pen(role: str, width: float = 2.0, dashed: bool = False) -> pg.QtGui.QPen:
    """A cosmetic pen in the colour of ``role``."""
    style = pg.QtCore.Qt.PenStyle.DashLine if dashed else pg.QtCore.Qt.PenStyle.SolidLine
    return pg.mkPen(PALETTE[role], width=width, style=style)
