"""Axis items and sizes shared by the window's plots: integer axes for counts of iterations, a readable height."""
from __future__ import annotations

import pyqtgraph as pg

# Below this height (pixels, title and axis included) a plot's tick labels overprint and pyqtgraph drops them.
MIN_PLOT_HEIGHT = 110
TIME_AXIS_HEIGHT = 32  # what a labelled x axis under a plot adds to it
LEGEND_ROW_HEIGHT = 26  # one row of a legend laid out above a plot


class IntegerAxis(pg.AxisItem):
    """An axis for whole numbers (iterations): ticks only at integers, labelled without decimals."""

    def tickSpacing(self, minVal: float, maxVal: float, size: float) -> list[tuple[float, float]]:  # noqa: N802, N803
        levels = [(spacing, offset) for spacing, offset in super().tickSpacing(minVal, maxVal, size)
                  if spacing >= 1.0 and float(spacing).is_integer()]
        return levels or [(1.0, 0.0)]

    def tickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:  # noqa: N802
        return [f"{round(value * scale):d}" for value in values]
