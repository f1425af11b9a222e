"""An empty plot says so: a sentence in its middle instead of axes running 0 to 1 around nothing."""
from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QFont, QTextOption

NOTE_FONT_PT = 10
TEXT_MARGIN = 8  # pixels between the sentence and the plot's edges
MIN_TEXT_WIDTH, MAX_TEXT_WIDTH = 80, 420  # the sentence wraps to the plot's width within these


class EmptyPlotNote:
    """While ``plot`` shows no data, its axes are not drawn and ``text`` (may be '') sits in its middle.

    Each panel writes one sentence, on its first plot, and leaves its other empty plots with their
    titles alone: one plain statement per panel, not the same line in every plot.
    """

    def __init__(self, plot: pg.PlotItem, text: str) -> None:
        self.plot = plot
        self.sides = [side for side in ("left", "bottom") if plot.getAxis(side).isVisible()]
        self.label = pg.TextItem(text, color=pg.getConfigOption("foreground"), anchor=(0.5, 0.5))
        font = QFont()
        font.setPointSize(NOTE_FONT_PT)
        font.setItalic(True)
        self.label.setFont(font)
        self.label.textItem.document().setDefaultTextOption(QTextOption(Qt.AlignmentFlag.AlignHCenter))
        self.label.setParentItem(plot)  # in the plot's own pixels: centred whatever the data range
        plot.vb.sigResized.connect(self._centre)
        self.shown = False
        self.label.setVisible(False)

    def set_shown(self, shown: bool) -> None:
        """Show the note and make the axes transparent (``shown``), or the reverse.

        The axes keep their place (opacity, not hide): the plots' layout is the same with and without a
        fit, so the first iterations of a fit cost no relayout on the GUI thread.
        """
        if shown == self.shown:
            return
        self.shown = shown
        for side in self.sides:
            self.plot.getAxis(side).setOpacity(0.0 if shown else 1.0)
        self.label.setVisible(shown)
        self._centre()

    def area(self) -> QRectF:
        """The view and its (undrawn) axes, in the plot's coordinates: the room the sentence may take."""
        area = self.plot.vb.geometry()
        for side in self.sides:
            area = area.united(self.plot.getAxis(side).geometry())
        return area

    def _centre(self, *_args) -> None:
        view = self.area()
        self.label.setTextWidth(max(MIN_TEXT_WIDTH, min(MAX_TEXT_WIDTH, view.width() - 2 * TEXT_MARGIN)))
        self.label.setPos(view.center())
