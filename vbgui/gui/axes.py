"""Axis items and sizes shared by the window's plots: integer axes for counts of iterations, a readable height."""
from __future__ import annotations

import pyqtgraph as pg

# Below this height (pixels, title and an unlabelled axis included) a plot's tick labels overprint and
# pyqtgraph drops them.
MIN_PLOT_HEIGHT = 86
TIME_AXIS_HEIGHT = 25  # what a labelled x axis under a plot adds to it
LAYOUT_MARGIN = 3  # pixels around and between the plots of a panel


class IntegerAxis(pg.AxisItem):
    """An axis for whole numbers (iterations, spike counts): ticks only at integers, labelled without decimals.

    ``set_whole_numbers(False)`` makes it an ordinary axis again (a response that is not a count).
    """

    def __init__(self, orientation: str, **kwargs) -> None:
        super().__init__(orientation, **kwargs)
        self.whole_numbers = True

    def set_whole_numbers(self, whole_numbers: bool) -> None:
        self.whole_numbers = whole_numbers
        self.picture = None  # redraw the ticks
        self.update()

    def tickSpacing(self, minVal: float, maxVal: float, size: float) -> list[tuple[float, float]]:  # noqa: N802, N803
        levels = super().tickSpacing(minVal, maxVal, size)
        if not self.whole_numbers:
            return levels
        return [(spacing, offset) for spacing, offset in levels
                if spacing >= 1.0 and float(spacing).is_integer()] or [(1.0, 0.0)]

    def tickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:  # noqa: N802
        if not self.whole_numbers:
            return super().tickStrings(values, scale, spacing)
        return [f"{round(value * scale):d}" for value in values]


def hold_layout_minimum(view: pg.GraphicsLayoutWidget) -> None:
    """Give ``view`` (a QWidget) the minimum size of the plots it lays out, so that splitters and docks
    shrink it no further: pyqtgraph's layout would otherwise overflow the widget and be cut off."""
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QGraphicsLayout

    for item in view.ci.items:  # titles and tick labels may have changed: no cached size hints
        if isinstance(getattr(item, "layout", None), QGraphicsLayout):
            item.layout.invalidate()
        item.updateGeometry()
    view.ci.layout.invalidate()
    minimum = view.ci.effectiveSizeHint(Qt.SizeHint.MinimumSize)
    margins = view.contentsMargins()
    view.setMinimumSize(int(minimum.width()) + margins.left() + margins.right() + 2,
                        int(minimum.height()) + margins.top() + margins.bottom() + 2)


def tighten(view: pg.GraphicsLayoutWidget) -> None:
    """Small margins and spacing around ``view``'s plots: on a laptop screen every pixel goes to the data."""
    view.ci.setContentsMargins(LAYOUT_MARGIN, LAYOUT_MARGIN, LAYOUT_MARGIN, LAYOUT_MARGIN)
    view.ci.layout.setSpacing(LAYOUT_MARGIN)
