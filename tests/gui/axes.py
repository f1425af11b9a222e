"""What the GUI tests check on every pyqtgraph axis: its tick labels are its data's own numbers."""
from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtWidgets import QWidget


def plot_items(widget: QWidget) -> list[pg.PlotItem]:
    """Every PlotItem drawn inside ``widget`` (its GraphicsLayoutWidgets and PlotWidgets)."""
    plots: list[pg.PlotItem] = []
    views = widget.findChildren(pg.GraphicsView) + ([widget] if isinstance(widget, pg.GraphicsView) else [])
    for view in views:
        plots.extend(item for item in view.scene().items() if isinstance(item, pg.PlotItem))
    return plots


def shown_ticks(axis: pg.AxisItem) -> list[tuple[float, str]]:
    """The major tick values of ``axis`` and the strings it draws for them (as ``AxisItem.generateDrawSpecs``)."""
    low, high = sorted(axis.range)
    length = axis.width() if axis.orientation in ("top", "bottom") else axis.height()
    spacing, values = axis.tickValues(low, high, max(length, 100.0))[0]
    strings = axis.tickStrings(values, axis.autoSIPrefixScale * axis.scale, spacing)
    return list(zip(values, strings))


def check_axes_show_their_numbers(widget: QWidget) -> int:
    """Assert each automatic axis without unit in ``widget`` labels its ticks with their values (no hidden
    x1000); return how many of them spanned less than +-1, where pyqtgraph's SI rescaling strikes.

    An axis with a unit may use SI prefixes, which its label names (ms): it is not checked."""
    small = 0
    for plot in plot_items(widget):
        for side in ("left", "bottom"):
            axis = plot.getAxis(side)
            if not axis.isVisible() or axis._tickLevels is not None or axis.labelUnits:  # named ticks: own text
                continue
            title = plot.titleLabel.text
            assert axis.autoSIPrefixScale == 1.0, (title, side, axis.range)
            low, high = sorted(axis.range)
            small += max(abs(low), abs(high)) < 1.0
            for value, text in shown_ticks(axis):  # a value rounded to the places it is shown with
                assert abs(float(text) - value) <= 0.51 * 10.0 ** -_places(text), (title, side, value, text)
    return small


def _places(text: str) -> int:
    return len(text.split(".")[1]) if "." in text and "e" not in text else 0
