"""What every demonstration page has: a heading, the plots, read-outs, an explanation and controls.

Layout: the control panel on the left (hidden in presentation mode); on the
right the stage the audience looks at: the heading, the plots (one
GraphicsLayoutWidget, so one export holds them all), the read-outs and the
plain-words explanation (which can be hidden).

Subclasses build their plots and controls, then implement the demo's verbs:
:meth:`restart` (R), :meth:`toggle_running` (Space), :meth:`step`
(arrows), :meth:`animation_frames` (export), and :meth:`scene` / :meth:`apply_scene` for replayable files.
"""
from __future__ import annotations

import html
from typing import Iterator

import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSizePolicy, QVBoxLayout, QWidget

from vbgui.app.demos import DemoScene, demo
from vbgui.gui.demos.plots import DemoPlot
from vbgui.gui.demos.theme import DESK, LIGHT, Sizes, Theme

CONTROLS_WIDTH = 300


def decimal(value: float, places: int, signed: bool = False) -> str:
    """``value`` with ``places`` decimals (and its sign always shown if ``signed``); a value that rounds to
    zero reads 0, never -0.0000 (the rounding of a tiny negative number, not a sign the reader should see)."""
    text = f"{value:+.{places}f}" if signed else f"{value:.{places}f}"
    if float(text) == 0.0:
        text = f"{0.0:.{places}f}"
    return text


def readout_table(header: list[str], rows: list[list[str]]) -> str:
    """An HTML table for a QLabel: a header row, then rows whose first cell names them."""
    cells = "".join(f"<th align='right'>&nbsp;&nbsp;{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join((f"<td>{html.escape(row[0])}</td>" if k == 0 else
                                      f"<td align='right'>&nbsp;&nbsp;{html.escape(cell)}</td>")
                                     for k, cell in enumerate(row)) + "</tr>" for row in rows)
    return f"<table cellspacing='0' cellpadding='2'><tr>{cells}</tr>{body}</table>"


class DemoPage(QWidget):
    """A demonstration; ``updated`` is emitted after new results are drawn (tests and timing use it)."""

    demo_name = ""
    updated = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.info = demo(self.demo_name)
        self.theme: Theme = LIGHT
        self.sizes: Sizes = DESK
        self.plots: list[DemoPlot] = []
        self.message = ""
        self._started = False

        self.controls = QWidget()
        self.controls.setFixedWidth(CONTROLS_WIDTH)
        self.controls_layout = QVBoxLayout(self.controls)
        self.controls_layout.setContentsMargins(6, 6, 6, 6)

        self.stage = QWidget()
        self.heading = QLabel(self.info.title)
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.readout = QLabel("")
        self.readout.setTextFormat(Qt.TextFormat.RichText)
        self.explanation = QLabel(self.info.explanation)
        self.explanation.setWordWrap(True)
        stage_layout = QVBoxLayout(self.stage)
        stage_layout.setContentsMargins(8, 4, 8, 4)
        stage_layout.addWidget(self.heading)
        stage_layout.addWidget(self.graphics, 1)
        stage_layout.addWidget(self.readout)
        stage_layout.addWidget(self.explanation)

        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.controls)
        layout.addWidget(self.stage, 1)

    # -- building -----------------------------------------------------------------------------------
    def add_plot(self, row: int, col: int, title: str, x_label: str, y_label: str, legend_columns: int = 2
                 ) -> DemoPlot:
        """A plot at grid position (row, col); each plot takes two layout rows (legend, plot)."""
        plot = DemoPlot(self.graphics.ci, 2 * row, col, title, x_label, y_label, legend_columns)
        self.plots.append(plot)
        return plot

    def add_run_buttons(self) -> None:
        """Run/pause (Space) and restart (R) buttons in the control panel."""
        pause = QPushButton("Run / pause  [Space]")
        restart = QPushButton("Restart  [R]")
        pause.clicked.connect(self.toggle_running)
        restart.clicked.connect(self.restart)
        for button in (pause, restart):
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # Space and R stay with the window's shortcuts
            self.controls_layout.addWidget(button)

    def finish_controls(self) -> None:
        """Close the control panel (call after adding the controls) and style everything once."""
        self.controls_layout.addStretch(1)
        self.apply_style(self.theme, self.sizes)

    # -- view ---------------------------------------------------------------------------------------
    def apply_style(self, theme: Theme, sizes: Sizes) -> None:
        """Colours, fonts and line widths of the stage; the controls keep the desktop style."""
        self.theme, self.sizes = theme, sizes
        self.graphics.setBackground(theme.background)
        for plot in self.plots:
            plot.apply(theme, sizes)
        self.stage.setStyleSheet(f"background-color: {theme.background}; color: {theme.foreground};")
        self.heading.setStyleSheet(f"font-size: {sizes.heading_px}px; font-weight: bold;")
        self.readout.setStyleSheet(f"font-size: {sizes.text_px}px;")
        self.explanation.setStyleSheet(f"font-size: {sizes.text_px}px; color: {theme.muted};")
        self.redraw()

    def set_presentation(self, on: bool) -> None:
        self.controls.setVisible(not on)

    def set_explanation_visible(self, on: bool) -> None:
        self.explanation.setVisible(on)

    def show_message(self, text: str) -> None:
        """A problem (a fit that failed) shown in place of the read-outs."""
        self.message = text
        self.readout.setText(f"<b>{html.escape(text)}</b>")

    # -- verbs --------------------------------------------------------------------------------------
    def ensure_started(self) -> None:
        """Compute the first results when the page is first shown."""
        if not self._started:
            self._started = True
            self.restart()

    def restart(self) -> None:
        """R: run the demonstration again from its start."""
        raise NotImplementedError

    def toggle_running(self) -> None:
        """Space: pause or resume the animation or the fits."""
        raise NotImplementedError

    def step(self, steps: int) -> None:
        """Arrow keys: move the demonstration's slider (rho, where it has one) by ``steps`` key presses."""

    def settled(self) -> bool:
        """True once every computation has ended and the run is drawn to its end (screenshots, tests)."""
        raise NotImplementedError

    def redraw(self) -> None:
        """Draw the current state again (after a theme change)."""

    def animation_frames(self, frames_per_second: float) -> Iterator[int]:
        """Draw the run frame by frame, yielding after each (the caller saves the stage)."""
        raise NotImplementedError

    def scene(self) -> DemoScene:
        raise NotImplementedError

    def apply_scene(self, scene: DemoScene) -> None:
        raise NotImplementedError

    def shutdown(self) -> None:
        """Stop timers and join worker threads (the window is closing)."""
