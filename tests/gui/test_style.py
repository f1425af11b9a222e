"""The shared plot styling: axes without unit show their data's own numbers, however often restyled; fills and
heat maps that read in either theme."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtGui import QColor, QPalette

from vbgui.gui.diagnostics_panel import DiagnosticsPlots
from vbgui.gui.parameters_panel import FilterPlot
from vbgui.gui.style import (DARK_OVERRIDES, DARK_WINDOW, PALETTE, TEXT_COLOURS, colour_name, configure_pyqtgraph,
                             dark_palette, label_axis, style_plot)

from tests.gui.axes import check_axes_show_their_numbers, shown_ticks


def test_a_restyled_axis_within_one_keeps_its_numbers(qtbot) -> None:
    widget = pg.GraphicsLayoutWidget()
    qtbot.addWidget(widget)
    widget.resize(600, 400)
    plot = widget.addPlot()
    style_plot(plot, "weights", left=("weight", ""), bottom=("time", "s"))
    plot.plot([-0.8, 0.0, 0.2, 0.6], [-0.8, 0.0, 0.2, 0.6])
    plot.setXRange(0.0, 0.5, padding=0)
    plot.setYRange(-0.8, 0.6, padding=0)
    widget.show()
    qtbot.waitExposed(widget)
    for restyle in range(3):  # as a theme change or presentation mode does: label the axes again
        style_plot(plot, "weights", left=("weight", ""), bottom=("time", "s"))
        label_axis(plot, "left", "weight", **{"font-size": f"{14 + restyle}px"})
        assert check_axes_show_their_numbers(widget) == 1  # the left one; time is in s and within one
        assert plot.getAxis("left").autoSIPrefixScale == 1.0
        assert [text for _, text in shown_ticks(plot.getAxis("left"))] == ["-0.5", "0", "0.5"]
    # an axis with a unit keeps SI prefixes, named in its label: 0 ... 0.5 s reads 0 ... 500 ms
    assert plot.getAxis("bottom").autoSIPrefixScale == 1000.0 and "(ms)" in plot.getAxis("bottom").labelString()


def test_disabled_controls_are_grey_in_the_dark_theme(qtbot) -> None:  # qtbot: a QApplication for QPalette
    palette = dark_palette()
    for role in (QPalette.ColorRole.ButtonText, QPalette.ColorRole.Text, QPalette.ColorRole.WindowText):
        enabled = palette.color(QPalette.ColorGroup.Active, role).lightness()
        disabled = palette.color(QPalette.ColorGroup.Disabled, role).lightness()
        assert enabled - disabled > 60, role  # a disabled Stop or field must not read as enabled


def test_labels_name_the_colour_the_theme_draws_the_reference_in(monkeypatch) -> None:
    assert colour_name("reference") == "black"
    monkeypatch.setitem(PALETTE, "reference", DARK_OVERRIDES["reference"])  # as the dark theme sets it
    assert colour_name("reference") == "white"


def relative_luminance(colour: QColor) -> float:
    """WCAG 2 relative luminance of an opaque colour."""
    def linear(channel: float) -> float:
        return channel / 12.92 if channel <= 0.04045 else ((channel + 0.055) / 1.055) ** 2.4
    return 0.2126 * linear(colour.redF()) + 0.7152 * linear(colour.greenF()) + 0.0722 * linear(colour.blueF())


def contrast(first: QColor, second: QColor) -> float:
    """WCAG 2 contrast ratio (1 to 21)."""
    lighter, darker = sorted((relative_luminance(first), relative_luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def over(fill: QColor, background: QColor) -> QColor:
    """``fill`` (with its alpha) painted over an opaque ``background``."""
    a = fill.alphaF()
    return QColor.fromRgbF(*(a * f + (1 - a) * b for f, b in zip(fill.getRgbF()[:3], background.getRgbF()[:3])))


@pytest.fixture(params=["light", "dark"])
def theme(request):
    """The plots' colours of a theme, put back to the light ones afterwards."""
    configure_pyqtgraph(request.param)
    yield request.param
    configure_pyqtgraph("light")


def test_the_filter_band_and_its_mean_line_stand_out_in_either_theme(qtbot, theme) -> None:
    plot = pg.PlotItem()
    filter_plot = FilterPlot(plot, np.arange(5.0), np.arange(5), None, None)
    background = pg.mkColor(pg.getConfigOption("background"))
    band = over(filter_plot.band.brush().color(), background)
    line = pg.mkPen(filter_plot.mean.opts["pen"]).color()
    assert contrast(line, band) >= 3.0  # the mean reads on its band
    assert contrast(line, background) >= 3.0
    if theme == "dark":
        assert contrast(band, background) >= 2.0  # the band reads on the dark background (it was 1.5 for the line)


def test_heat_maps_show_a_zero_correlation_in_the_background_s_lightness(qtbot, theme) -> None:
    plots = DiagnosticsPlots()
    qtbot.addWidget(plots)
    image = plots.corr_images["q"]
    image.setImage(np.eye(4), levels=(-1.0, 1.0))
    image.render()
    zero, one = image.qimage.pixelColor(3, 0), image.qimage.pixelColor(0, 0)
    background = pg.mkColor(pg.getConfigOption("background"))
    assert contrast(zero, background) < 1.3  # never a white block on the dark background
    assert contrast(one, zero) >= 3.0  # a correlation of 1 stands out


def test_coloured_words_read_on_the_theme_s_background(qtbot, theme) -> None:
    # the dark theme's window and text-field backgrounds; the light theme's are near white
    backgrounds = ([QColor(DARK_WINDOW[QPalette.ColorRole.Window]), QColor(DARK_WINDOW[QPalette.ColorRole.Base])]
                   if theme == "dark" else [QColor("#EFEFEF"), QColor("#FFFFFF")])
    for word, colour in TEXT_COLOURS.items():  # a verdict, "converged", an error
        for background in backgrounds:
            assert contrast(QColor(colour), background) >= 3.0, (theme, word, background.name())
