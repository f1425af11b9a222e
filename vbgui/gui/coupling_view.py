"""The coupling matrix of a coupled population GLM as two heat maps: the posterior mean and mean / sd.

Rows are the target (postsynaptic) unit, the one fitted; columns the source
(presynaptic) unit whose past counts enter the target's rate; row 0 is at the
top, as a matrix is printed.  Each cell is the coupling summed over the lags
(:class:`~vbgui.app.coupling.CouplingMatrix`), in the diverging colour map of
the theme centred on 0, so that a coupling of 0 has the background's colour;
cells without a coupling (the diagonal, units without a fit) are grey.  The
line under the maps names the cell under the mouse; a click emits
``unit_clicked`` with the target unit's index; the Enlarge button emits
``enlarge_requested`` (a laptop's dock is short: the window floats it).
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSizePolicy, QVBoxLayout, QWidget

from vbgui.app.coupling import COUPLING_UNIT, CouplingMatrix, describe_coupling
from vbgui.gui.axes import IntegerAxis, hold_layout_minimum, tighten
from vbgui.gui.style import correlation_colour_map, plain_numbers, style_plot, symmetric_bound

MAX_NAMED_UNITS = 40  # more units than this: the axes show indices, not names
TICK_LEVELS = 12  # unit_ticks' levels for up to 2^11 units
MAPS_MIN_HEIGHT = 150  # pixels: a title, a few rows of cells and the source axis
MISSING_RGBA = (128, 128, 128, 110)  # grey, on light and dark backgrounds alike
SOURCE_LABEL = "source (presynaptic) unit"
TARGET_LABEL = "target (postsynaptic) unit"
HINT = ("Rows: target (postsynaptic) unit; columns: source (presynaptic) unit; grey: no coupling (the diagonal is "
        "a unit's own history). Hover over a cell for its numbers; click it to show the target unit's fit.")
MAPS = (("mean", COUPLING_UNIT), ("z", "posterior sds"))


def unit_ticks(names: tuple[str, ...]) -> list[list[tuple[float, str]]]:
    """Tick levels at the units' indices, labelled with their names: the first unit, then every 2^k-th unit
    for k from the largest below the count down to 0 (all of them).

    pyqtgraph always draws the first level and each further one only while the labels fit, so a narrow map
    names every 4th unit, say, and a wide one every unit.
    """
    levels = [[(0.0, names[0])]] if names else []
    shown = {0}
    step = 1 << max(0, (len(names) - 1).bit_length() - 1)
    while step >= 1:
        level = [(float(i), names[i]) for i in range(0, len(names), step) if i not in shown]
        shown.update(range(0, len(names), step))
        if level:
            levels.append(level)
        step //= 2
    return levels


class CouplingView(QWidget):
    """Heat maps of a :class:`CouplingMatrix`; see the module docstring."""

    unit_clicked = Signal(int)  # the target unit's row in the matrix
    enlarge_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.matrix: CouplingMatrix | None = None
        self.maps = pg.GraphicsLayoutWidget()
        self.maps.setObjectName("coupling-maps")
        # the maps take the dock's height as it is: their size hint (a tall view) would otherwise make the
        # dock's scroll area scroll instead of fitting them in
        self.maps.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Ignored)
        self.maps.setMinimumHeight(MAPS_MIN_HEIGHT)
        tighten(self.maps)
        colour_map = correlation_colour_map()  # zero at the background's lightness, in either theme
        self.plots: dict[str, pg.PlotItem] = {}
        self.images: dict[str, pg.ImageItem] = {}
        self.missing: dict[str, pg.ImageItem] = {}
        self.colour_bars: dict[str, pg.ColorBarItem] = {}
        for column, (key, unit) in enumerate(MAPS):
            plot = self.maps.addPlot(row=0, col=column, axisItems={"left": IntegerAxis("left"),
                                                                   "bottom": IntegerAxis("bottom")})
            # the second map's rows are the first's: its left axis keeps the names, not the label
            style_plot(plot, key, left=(TARGET_LABEL, "") if column == 0 else None, bottom=(SOURCE_LABEL, ""))
            plot.invertY(True)
            plot.setMouseEnabled(x=False, y=False)
            plot.hideButtons()
            for side in ("left", "bottom"):  # every level of unit_ticks may carry names (pyqtgraph: 3 levels)
                plot.getAxis(side).setStyle(maxTickLevel=TICK_LEVELS, maxTextLevel=TICK_LEVELS)
            plot.setMenuEnabled(False)
            missing = pg.ImageItem(axisOrder="row-major")  # grey under the cells that hold no coupling
            image = pg.ImageItem(axisOrder="row-major")
            image.setColorMap(colour_map)
            plot.addItem(missing)
            plot.addItem(image)
            bar = pg.ColorBarItem(values=(-1.0, 1.0), colorMap=colour_map, interactive=False, width=12, label=unit)
            bar.setImageItem(image, insert_in=plot)
            plain_numbers(bar.axis)
            self.plots[key], self.images[key], self.missing[key], self.colour_bars[key] = plot, image, missing, bar
        self.readout = QLabel(HINT)
        self.readout.setObjectName("coupling-readout")
        self.readout.setWordWrap(True)
        self.readout.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.enlarge_button = QPushButton("Enlarge")
        self.enlarge_button.setToolTip("Show the Population dock in a window of its own, large enough to read "
                                       "the matrix (double-click its title bar to dock it again).")
        self.enlarge_button.clicked.connect(self.enlarge_requested)
        readout_row = QHBoxLayout()
        readout_row.addWidget(self.readout, 1)
        readout_row.addWidget(self.enlarge_button, 0, Qt.AlignmentFlag.AlignTop)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.maps, 1)
        layout.addLayout(readout_row)
        self.maps.scene().sigMouseMoved.connect(self._on_moved)
        self.maps.scene().sigMouseClicked.connect(self._on_clicked)

    def show_matrix(self, matrix: CouplingMatrix) -> None:
        """Draw ``matrix``: the summed coupling's mean and mean / sd, colour levels symmetric about 0."""
        self.matrix = matrix
        count = len(matrix.units)
        lags = f"{matrix.lags} lag{'s' if matrix.lags != 1 else ''}"
        titles = {"mean": f"posterior mean coupling (sum over {lags})", "z": "mean / sd (support in the data)"}
        named = count <= MAX_NAMED_UNITS
        ticks = unit_ticks(matrix.units) if named else None
        mask = np.zeros((count, count, 4), dtype=np.ubyte)
        for key in self.images:
            values = np.asarray(getattr(matrix, key), dtype=float)
            mask[~np.isfinite(values)] = MISSING_RGBA
            bound = symmetric_bound(values)
            self.images[key].setImage(values, levels=(-bound, bound))
            self.images[key].setRect(QRectF(-0.5, -0.5, count, count))
            self.colour_bars[key].setLevels((-bound, bound))
            self.missing[key].setImage(mask.copy(), levels=(0, 255))  # RGBA as given, not rescaled
            self.missing[key].setRect(QRectF(-0.5, -0.5, count, count))
            plot = self.plots[key]
            plot.setTitle(titles[key], size="10pt")
            for side in ("left", "bottom"):
                plot.getAxis(side).setTicks(ticks)  # None: integer indices chosen by the axis
            plot.setRange(xRange=(-0.5, count - 0.5), yRange=(-0.5, count - 0.5), padding=0)
        self.readout.setText(HINT)
        hold_layout_minimum(self.maps)  # a narrow dock scrolls to the second map rather than cutting it

    def cell_at(self, scene_position: QPointF) -> tuple[int, int] | None:
        """The (target, source) cell under ``scene_position`` in either heat map, or None."""
        if self.matrix is None:
            return None
        count = len(self.matrix.units)
        for plot in self.plots.values():
            if plot.vb.sceneBoundingRect().contains(scene_position):
                point = plot.vb.mapSceneToView(scene_position)
                target, source = round(point.y()), round(point.x())
                if 0 <= target < count and 0 <= source < count:
                    return target, source
        return None

    def _on_moved(self, scene_position: QPointF) -> None:
        cell = self.cell_at(scene_position)
        text = HINT if cell is None else describe_coupling(self.matrix, *cell)
        self.readout.setText(text)
        self.maps.setToolTip("" if cell is None else text)

    def _on_clicked(self, event) -> None:
        cell = self.cell_at(event.scenePos())
        if cell is not None and event.button() == Qt.MouseButton.LeftButton:
            self.unit_clicked.emit(cell[0])
