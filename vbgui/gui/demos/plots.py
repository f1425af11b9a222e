"""Themed pyqtgraph plots for the demonstrations, and Gaussian and density contours on them.

A :class:`DemoPlot` remembers the role (colour), dash and weight of every
item it holds, so switching theme or entering presentation mode restyles
everything in place: items are created once and only their data change.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QFont

from vbgui.core.fit2d import Gaussian2D
from vbgui.core.grid_posterior import hpd_thresholds
from vbgui.gui.demos.theme import Sizes, Theme
from vbgui.gui.posterior_plot import HPD_MASSES, HPD_RADII, contour_lines, ellipse
from vbgui.gui.style import label_axis

HPD_TEXT = "contours hold 39, 86 and 99 % of the mass"


@dataclass
class _Styled:
    """An item and how to draw it: ``weight`` 'line', 'thin' or 'halo' (a target's wide translucent band),
    'marker' for a scatter, 'fill' for a band."""

    item: pg.GraphicsObject
    role: str
    dashed: bool
    weight: str
    alpha: int = 255


def _font(pixels: int) -> QFont:
    font = QFont()
    font.setPixelSize(pixels)
    return font


class Contours:
    """HPD contours at 39, 86 and 99 % in one role: ellipses of a Gaussian or level sets of a density."""

    def __init__(self, curves: list[pg.PlotCurveItem]) -> None:
        self.curves = curves

    def set_gaussian(self, q: Gaussian2D) -> None:
        for curve, radius in zip(self.curves, HPD_RADII):
            curve.setData(*ellipse(q.mean, q.cov, radius))

    def set_density(self, x: np.ndarray, y: np.ndarray, density: np.ndarray) -> None:
        """``density`` (len(x), len(y)) on the grid x by y, any normalisation."""
        for curve, level in zip(self.curves, hpd_thresholds(density, HPD_MASSES)):
            curve.setData(*contour_lines(x, y, density, level), connect="finite")

    def clear(self) -> None:
        for curve in self.curves:
            curve.setData([], [])

    def extent(self) -> tuple[tuple[float, float], tuple[float, float]] | None:
        """((x min, x max), (y min, y max)) of the drawn contours, None when none is drawn."""
        points = [curve.getData() for curve in self.curves]
        xs = np.concatenate([x for x, _ in points if x is not None and len(x)] or [np.empty(0)])
        ys = np.concatenate([y for x, y in points if x is not None and len(x)] or [np.empty(0)])
        finite = np.isfinite(xs) & np.isfinite(ys)
        if not finite.any():
            return None
        return (float(xs[finite].min()), float(xs[finite].max())), (float(ys[finite].min()), float(ys[finite].max()))


def covering(view: tuple[float, float], extent: tuple[float, float], margin: float = 0.05) -> tuple[float, float]:
    """The range ``view`` widened to hold ``extent`` with ``margin`` (a fraction of the extent) to spare."""
    pad = margin * (extent[1] - extent[0])
    return min(view[0], extent[0] - pad), max(view[1], extent[1] + pad)


class Band:
    """A shaded band between a lower and an upper curve, e.g. mean ± 2 sd.

    The edges are not drawn: a flat fill keeps presentation screenshots small (antialiased edges
    cost a fifth of a PNG), and the band's line (drawn by the caller) carries the dash pattern.
    """

    def __init__(self, lower: pg.PlotCurveItem, upper: pg.PlotCurveItem, fill: pg.FillBetweenItem) -> None:
        self.lower, self.upper, self.fill = lower, upper, fill

    def set_data(self, x: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> None:
        self.lower.setData(x, lower)
        self.upper.setData(x, upper)

    def clear(self) -> None:
        self.lower.setData([], [])
        self.upper.setData([], [])


FILL_ALPHA = 70  # of 255: two overlapping bands stay readable
# A target is drawn as a wide translucent band under the fits' lines: where a fit matches it (full-rank q
# on a Gaussian), the fit's dashes run along the band and both show.
HALO_WIDTH = 3.0  # times a line's width
HALO_ALPHA = 90  # of 255
HALO_Z = -5  # under the lines (z 0), over the filled bands (z -10)


class DemoPlot:
    """A plot with its legend in the row above it (so the legend never hides a curve)."""

    def __init__(self, layout: pg.GraphicsLayout, row: int, col: int, title: str,
                 x_label: str, y_label: str, legend_columns: int = 2) -> None:
        self.legend = pg.LegendItem(colCount=legend_columns)
        layout.addItem(self.legend, row=row, col=col)
        self.plot: pg.PlotItem = layout.addPlot(row=row + 1, col=col)
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()
        self.title = title
        self.labels = {"bottom": x_label, "left": y_label}
        self._styled: list[_Styled] = []
        self._sizes: Sizes | None = None
        self._theme: Theme | None = None

    # -- items --------------------------------------------------------------------------------------
    def _register(self, item: pg.GraphicsObject, role: str, dashed: bool, weight: str, name: str | None):
        self.plot.addItem(item)
        self._styled.append(_Styled(item, role, dashed, weight))
        if name:
            self.legend.addItem(item, name)
        if self._theme is not None and self._sizes is not None:
            self._style_item(self._styled[-1], self._theme, self._sizes)
        return item

    def add_curve(self, role: str, name: str | None = None, dashed: bool = False, thin: bool = False
                  ) -> pg.PlotCurveItem:
        return self._register(pg.PlotCurveItem(), role, dashed, "thin" if thin else "line", name)

    def add_contours(self, role: str, name: str | None = None, dashed: bool = False, thin: bool = False
                     ) -> Contours:
        """Three curves; the innermost (39 %) carries the legend entry."""
        return Contours([self.add_curve(role, name if k == 0 else None, dashed, thin or k == 2)
                         for k in range(len(HPD_RADII))])

    def add_target_contours(self, role: str, name: str) -> Contours:
        """A target's three contours as wide translucent bands under every line (see HALO_WIDTH)."""
        curves = []
        for k in range(len(HPD_RADII)):
            curve = self._register(pg.PlotCurveItem(), role, False, "halo", name if k == 0 else None)
            curve.setZValue(HALO_Z)
            curves.append(curve)
        return Contours(curves)

    def add_band(self, role: str, alpha: int = FILL_ALPHA) -> Band:
        """A shaded band in a role's colour (opacity ``alpha`` of 255), without a legend entry (name it in
        its line's entry); a band added later lies above one added earlier."""
        lower, upper = pg.PlotCurveItem(), pg.PlotCurveItem()  # the fill's edges, not drawn themselves
        fill = pg.FillBetweenItem(lower, upper)
        self.plot.addItem(fill)
        self._styled.append(_Styled(fill, role, False, "fill", alpha))
        if self._theme is not None and self._sizes is not None:
            self._style_item(self._styled[-1], self._theme, self._sizes)
        fill.setZValue(-10)
        return Band(lower, upper, fill)

    def add_markers(self, role: str, name: str | None = None, symbol: str = "o") -> pg.ScatterPlotItem:
        return self._register(pg.ScatterPlotItem(symbol=symbol), role, False, "marker", name)

    def add_line(self, role: str, angle: float = 90.0) -> pg.InfiniteLine:
        """A dashed marker line, vertical by default (say what it is in the title: it has no legend entry)."""
        line = pg.InfiniteLine(angle=angle, movable=False)
        self.plot.addItem(line)
        self._styled.append(_Styled(line, role, True, "thin"))
        return line

    # -- style --------------------------------------------------------------------------------------
    def set_title(self, title: str) -> None:
        self.title = title
        if self._theme is not None and self._sizes is not None:
            self.plot.setTitle(title, size=f"{self._sizes.title_px}px", color=self._theme.foreground)

    def _style_item(self, styled: _Styled, theme: Theme, sizes: Sizes) -> None:
        colour = theme.colour(styled.role)
        if styled.weight == "marker":
            styled.item.setBrush(pg.mkBrush(colour))
            styled.item.setPen(pg.mkPen(theme.background, width=1))
            styled.item.setSize(sizes.marker)
            return
        if styled.weight == "fill":
            fill = pg.mkColor(colour)
            fill.setAlpha(styled.alpha)
            styled.item.setBrush(pg.mkBrush(fill))
            styled.item.setPen(pg.mkPen(None))
            return
        if styled.weight == "halo":
            halo = pg.mkColor(colour)
            halo.setAlpha(HALO_ALPHA)
            styled.item.setPen(pg.mkPen(halo, width=HALO_WIDTH * sizes.line))
            return
        width = sizes.line if styled.weight == "line" else sizes.thin_line
        style = Qt.PenStyle.DashLine if styled.dashed else Qt.PenStyle.SolidLine
        styled.item.setPen(pg.mkPen(colour, width=width, style=style))

    def apply(self, theme: Theme, sizes: Sizes) -> None:
        """Colours, fonts and line widths of everything in the plot."""
        self._theme, self._sizes = theme, sizes
        self.plot.setTitle(self.title, size=f"{sizes.title_px}px", color=theme.foreground)
        for side, text in self.labels.items():
            axis = self.plot.getAxis(side)
            axis.setPen(pg.mkPen(theme.foreground, width=max(1.0, sizes.thin_line / 2)))
            axis.setTextPen(pg.mkPen(theme.foreground))
            axis.setTickFont(_font(sizes.tick_px))
            label_axis(self.plot, side, text, **{"font-size": f"{sizes.label_px}px", "color": theme.foreground})
        for styled in self._styled:
            self._style_item(styled, theme, sizes)
        self.legend.setLabelTextSize(f"{sizes.text_px}px")  # for entries added later
        self.legend.setLabelTextColor(theme.foreground)
        self.legend.setPen(pg.mkPen(theme.muted))
        self.legend.setBrush(pg.mkBrush(theme.background))
        for sample, label in self.legend.items:  # existing entries keep their size unless told
            label.setText(label.text, size=f"{sizes.text_px}px", color=theme.foreground)
            sample.setFixedWidth(2 * sizes.text_px)
            sample.setFixedHeight(sizes.text_px)
            sample.update()
        self.legend.updateSize()

    def fix_range(self, x: tuple[float, float], y: tuple[float, float], equal_aspect: bool = False) -> None:
        """Fixed axes: the view must not jump while a fit animates."""
        self.plot.disableAutoRange()
        if equal_aspect:
            self.plot.setAspectLocked(True, ratio=1.0)
        self.plot.setXRange(*x, padding=0.0)
        self.plot.setYRange(*y, padding=0.0)
