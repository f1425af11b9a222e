"""An empty plot says so: a sentence in its middle instead of axes running 0 to 1 around nothing."""
from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QTextOption

NOTE_FONT_PT = 10
TEXT_MARGIN = 8  # pixels between the sentence and the plot's edges
MIN_TEXT_WIDTH, MAX_TEXT_WIDTH = 80, 420  # the sentence wraps to the plot's width within these


class EmptyPlotNote:
    """While ``plot`` shows no data, its axes are hidden and ``text`` (may be '') sits in its middle.

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
        self.label.setParentItem(plot.vb)  # in the view's own pixels: centred whatever the data range
        plot.vb.sigResized.connect(self._centre)
        self.shown = False
        self.label.setVisible(False)

    def set_shown(self, shown: bool) -> None:
        """Show the note and hide the axes (``shown``), or the reverse; applied again each time, since
        labelling an axis (``PlotItem.setLabel``) shows it."""
        if shown == self.shown and all(self.plot.getAxis(side).isVisible() != shown for side in self.sides):
            return  # as it is (the common case: a repaint of a running fit)
        self.shown = shown
        for side in self.sides:
            self.plot.showAxis(side, not shown)
        self.label.setVisible(shown)
        self._centre()

    def _centre(self, *_args) -> None:
        view = self.plot.vb.boundingRect()
        self.label.setTextWidth(max(MIN_TEXT_WIDTH, min(MAX_TEXT_WIDTH, view.width() - 2 * TEXT_MARGIN)))
        self.label.setPos(view.center())
