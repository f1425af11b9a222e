"""The shared plot styling: axes without unit show their data's own numbers, however often restyled."""
from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtGui import QPalette

from vbgui.gui.style import DARK_OVERRIDES, PALETTE, colour_name, dark_palette, label_axis, style_plot

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
