"""Colours, pens and axis styling shared by every plot, so panels look alike; the light and dark themes."""
from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

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
# In the dark theme, the roles drawn in black are drawn in light colours instead.
DARK_OVERRIDES: dict[str, str] = {"counts": "#BBBBBB", "elbo": "#FFFFFF", "reference": "#FFFFFF"}
DARK_WINDOW = {QPalette.ColorRole.Window: "#2B2B2B", QPalette.ColorRole.WindowText: "#E6E6E6",
               QPalette.ColorRole.Base: "#1F1F1F", QPalette.ColorRole.AlternateBase: "#2B2B2B",
               QPalette.ColorRole.Text: "#E6E6E6", QPalette.ColorRole.Button: "#353535",
               QPalette.ColorRole.ButtonText: "#E6E6E6", QPalette.ColorRole.ToolTipBase: "#353535",
               QPalette.ColorRole.ToolTipText: "#E6E6E6", QPalette.ColorRole.Highlight: "#2A82DA",
               QPalette.ColorRole.HighlightedText: "#FFFFFF", QPalette.ColorRole.Link: "#56B4E9"}
AXIS_FONT_PT = 10
TITLE_SIZE = "11pt"


def configure_pyqtgraph(theme: str = "light") -> None:
    """Antialiased lines; white background and black text (light) or the reverse (dark).

    Call before any plot is created: plots take their colours when built.
    """
    dark = theme == "dark"
    pg.setConfigOptions(background="#1F1F1F" if dark else "w", foreground="#E6E6E6" if dark else "k",
                        antialias=True)
    if dark:
        PALETTE.update(DARK_OVERRIDES)


def apply_theme(app: QApplication, theme: str) -> None:
    """The widgets' palette (Fusion style for dark) and the plots' colours of ``theme`` (light or dark)."""
    configure_pyqtgraph(theme)
    if theme == "dark":
        app.setStyle("Fusion")
        palette = QPalette()
        for role, colour in DARK_WINDOW.items():
            palette.setColor(role, QColor(colour))
        app.setPalette(palette)


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
