"""Colours, pens and axis styling shared by every plot, so panels look alike; the light and dark themes."""
from __future__ import annotations

import numpy as np
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
LIGHT_PALETTE = dict(PALETTE)
# In the dark theme, the roles drawn in black are drawn in light colours instead, and Okabe-Ito's blue, too dark
# to read on the dark background, gives way to its sky blue (as in the demos); the +-2 sd band takes the darker
# blue, so the sky-blue mean line stands out against it as the band does against the background.
DARK_OVERRIDES: dict[str, str] = {"counts": "#BBBBBB", "elbo": "#FFFFFF", "reference": "#FFFFFF",
                                  "stimulus": "#56B4E9", "accuracy": "#56B4E9", "approximation": "#56B4E9",
                                  "band": "#0072B2"}
# What else a theme changes in the plots: the opacity (0-255) of the +-2 sd band, and the diverging colour map
# of the correlation heat maps, whose zero is the background's lightness (white in light, black in dark: a
# heat map never stands as a white block on the dark background).
LIGHT_FILLS: dict[str, object] = {"band_alpha": 90, "correlation_map": "CET-D1"}
DARK_FILLS: dict[str, object] = {"band_alpha": 190, "correlation_map": "CET-D4"}
FILLS: dict[str, object] = dict(LIGHT_FILLS)
# Words coloured by what they say (a verdict, "converged", an error), readable on the theme's background:
# the light theme's dark green, ochre and rust would sink into the dark one (contrast under 2.5).
LIGHT_TEXT: dict[str, str] = {"good": "#007a50", "unreliable": "#A66200", "poor": "#B03A00"}
DARK_TEXT: dict[str, str] = {"good": "#2EBD8B", "unreliable": "#E69F00", "poor": "#FF7A45"}
TEXT_COLOURS: dict[str, str] = dict(LIGHT_TEXT)
DARK_WINDOW = {QPalette.ColorRole.Window: "#2B2B2B", QPalette.ColorRole.WindowText: "#E6E6E6",
               QPalette.ColorRole.Base: "#1F1F1F", QPalette.ColorRole.AlternateBase: "#2B2B2B",
               QPalette.ColorRole.Text: "#E6E6E6", QPalette.ColorRole.Button: "#353535",
               QPalette.ColorRole.ButtonText: "#E6E6E6", QPalette.ColorRole.ToolTipBase: "#353535",
               QPalette.ColorRole.ToolTipText: "#E6E6E6", QPalette.ColorRole.Highlight: "#2A82DA",
               QPalette.ColorRole.HighlightedText: "#FFFFFF", QPalette.ColorRole.Link: "#56B4E9"}
# Disabled controls (Pause and Stop while idle, fields the preset does not use) in grey, not in the enabled colour.
DARK_DISABLED = {QPalette.ColorRole.WindowText: "#7F7F7F", QPalette.ColorRole.Text: "#7F7F7F",
                 QPalette.ColorRole.ButtonText: "#7F7F7F", QPalette.ColorRole.Base: "#2B2B2B"}
# The words a label uses for a role's colour ("black: reference posterior"), in either theme.
COLOUR_NAMES = {"#000000": "black", "#FFFFFF": "white"}
AXIS_FONT_PT = 10
TITLE_SIZE = "11pt"


def configure_pyqtgraph(theme: str = "light") -> None:
    """Antialiased lines; white background and black text (light) or the reverse (dark).

    Call before any plot is created: plots take their colours when built.
    """
    dark = theme == "dark"
    pg.setConfigOptions(background="#1F1F1F" if dark else "w", foreground="#E6E6E6" if dark else "k",
                        antialias=True)
    PALETTE.update({**LIGHT_PALETTE, **DARK_OVERRIDES} if dark else LIGHT_PALETTE)
    FILLS.update(DARK_FILLS if dark else LIGHT_FILLS)
    TEXT_COLOURS.update(DARK_TEXT if dark else LIGHT_TEXT)


def colour_name(role: str) -> str:
    """The word for the colour PALETTE draws ``role`` in, in the current theme (e.g. 'black', 'white')."""
    colour = PALETTE[role].upper()
    return COLOUR_NAMES.get(colour, colour)


def dark_palette() -> QPalette:
    """The dark theme's widget palette: DARK_WINDOW's colours, and DARK_DISABLED's for disabled controls."""
    palette = QPalette()
    for role, colour in DARK_WINDOW.items():
        palette.setColor(role, QColor(colour))
    for role, colour in DARK_DISABLED.items():
        palette.setColor(QPalette.ColorGroup.Disabled, role, QColor(colour))
    return palette


def apply_theme(app: QApplication, theme: str) -> None:
    """The widgets' palette (Fusion style for dark) and the plots' colours of ``theme`` (light or dark)."""
    configure_pyqtgraph(theme)
    if theme == "dark":
        app.setStyle("Fusion")
        app.setPalette(dark_palette())


def style_plot(plot: pg.PlotItem, title: str, left: tuple[str, str] | None,
               bottom: tuple[str, str] | None, grid: bool = False) -> None:
    """Title, axis labels (text, SI unit or '') and optionally a light grid.

    Grids are off by default: pyqtgraph redraws them with every axis change,
    which costs several ms per repaint of a plot that updates live.
    """
    plot.setTitle(title, size=TITLE_SIZE)
    font = pg.QtGui.QFont()
    font.setPointSize(AXIS_FONT_PT)
    for side, label in (("left", left), ("bottom", bottom)):
        if label is not None:
            label_axis(plot, side, *label)
        else:
            plain_numbers(plot.getAxis(side))
        plot.getAxis(side).setTickFont(font)
    if grid:
        plot.showGrid(x=True, y=True, alpha=0.15)


def plain_numbers(axis: pg.AxisItem) -> None:
    """Make ``axis`` show its values as they are: ticks 0.2 for 0.2, never 200 with a hidden "x0.001".

    pyqtgraph 0.14 rescales an axis without unit whose values stay within +-1 by 1000, and
    ``enableAutoSIPrefix(False)`` alone does not prevent it: that call recomputes the factor from the
    axis' current range whatever the flag says (``AxisItem.updateAutoSIPrefix``), and ``setLabel``
    resets the ranges in which the factor applies. So the first restyle of an axis that already had
    a range (a theme change, presentation mode) brought the factor back. With no range in which SI
    prefixes apply, the factor stays 1 whatever pyqtgraph recomputes later.
    """
    axis.setSIPrefixEnableRanges(())
    axis.enableAutoSIPrefix(False)  # recomputes the factor (now 1) and drops any prefix already shown


def label_axis(plot: pg.PlotItem, side: str, text: str, unit: str = "", **css: str) -> None:
    """Label the ``side`` axis of ``plot`` with ``text`` and ``unit`` ('' for none), in CSS style ``css``.

    Every axis label goes through here: an axis without unit shows its data's own numbers
    (:func:`plain_numbers`); one with a unit keeps pyqtgraph's SI prefixes (ms, kHz), named in the label.
    """
    plot.setLabel(side, text, units=unit or None, **css)
    if not unit:
        plain_numbers(plot.getAxis(side))


def band_brush() -> pg.QtGui.QBrush:
    """The brush of the +-2 sd band: the band role's colour at the theme's opacity."""
    colour = pg.mkColor(PALETTE["band"])
    colour.setAlpha(int(FILLS["band_alpha"]))
    return pg.mkBrush(colour)


def correlation_colour_map() -> pg.ColorMap:
    """The diverging colour map of correlations in -1..1 for the theme (zero at the background's lightness)."""
    return pg.colormap.get(str(FILLS["correlation_map"]))


def symmetric_bound(values: np.ndarray) -> float:
    """The largest |value| among the finite ``values`` (1 when there is none, or all are 0): a diverging map's
    colour levels are +-this, so that 0 keeps the background's colour."""
    finite = np.abs(values[np.isfinite(values)])
    bound = float(finite.max()) if finite.size else 0.0
    return bound if bound > 0 else 1.0


def pen(role: str, width: float = 2.0, dashed: bool = False) -> pg.QtGui.QPen:
    """A cosmetic pen in the colour of ``role``."""
    style = pg.QtCore.Qt.PenStyle.DashLine if dashed else pg.QtCore.Qt.PenStyle.SolidLine
    return pg.mkPen(PALETTE[role], width=width, style=style)
