"""The recording panel: what was loaded (bins, dt, duration, rate, notes, credit), a unit choice and a plot."""
from __future__ import annotations

import html
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from vbgui.gui.about import credit_for
from vbgui.gui.axes import MIN_PLOT_HEIGHT, TIME_AXIS_HEIGHT, IntegerAxis, hold_layout_minimum, tighten
from vbgui.gui.empty_plot import EmptyPlotNote
from vbgui.gui.style import PALETTE, TITLE_SIZE, style_plot
from vbgui.io.recording import Recording

INITIAL_VIEW_BINS = 2_000  # the first view shows single spikes, not a solid band of them
# recordings store the stimulus in their own units, which no file format vbgui reads names
STIMULUS_TITLE = "Stimulus (a.u., as stored in the file)"
NO_STIMULUS_NOTE = "This recording has no stimulus: a latent-dynamics preset fits its units without one."
LEFT_AXIS_WIDTH = 55
SUMMARY_MIN_WIDTH = 450  # pixels: the narrowest the summary is laid out to, for its height
# room above and below the data (fraction of its span), so the ticks at its ends keep their labels
Y_PADDING = 0.15


def recording_summary(recording: Recording) -> str:
    """What a user reads to check the file: name, bins, dt, duration, mean rate; its notes and credit."""
    rate = (f"mean firing rate {recording.mean_rate():.2f} Hz" if recording.response_name == "counts"
            else f"mean {recording.response_name} {recording.mean_rate() * recording.dt:.3g} per bin")
    truth = ", ground truth known" if recording.truth else ""
    stimuli = f"{recording.n_stimuli} stimulus column(s)" if recording.stimulus is not None else "no stimulus"
    text = (f"<b>{Path(recording.source).name}</b> — {recording.n_bins:,} bins × {recording.dt * 1000:g} ms = "
            f"{recording.duration:,.1f} s; {rate}; {stimuli}{truth}")
    for note in recording.notes:
        text += f"<br><i>Note: {html.escape(note)}</i>"
    credit = credit_for(recording.source)
    if credit is not None:
        text += f"<br><small>{html.escape(credit.short_credit)} — Help &gt; About &gt; Data.</small>"
    return text


class RecordingPanel(QWidget):
    """Shows the loaded recording; plots are downsampled (peak mode) and clipped to view.

    ``unit_chosen`` (index) is emitted when the user picks another unit of a
    multi-unit file; the window swaps the unit without reading the file again.
    """

    unit_chosen = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.summary = QLabel("no recording loaded")
        self.summary.setWordWrap(True)
        self.summary.setToolTip("The loaded recording: bins, bin width, duration and mean rate.")
        self.unit_choice = QComboBox()
        self.unit_choice.setToolTip("Unit: this file holds several neurons recorded together; pick the one to fit "
                                    "(switching does not read the file again).")
        self.unit_choice.activated.connect(self.unit_chosen)
        self.unit_row = QWidget()
        unit_layout = QHBoxLayout(self.unit_row)
        unit_layout.setContentsMargins(0, 0, 0, 0)
        unit_layout.addWidget(QLabel("Unit:"))
        unit_layout.addWidget(self.unit_choice, 1)
        self.unit_row.hide()
        self.plots = pg.GraphicsLayoutWidget()
        tighten(self.plots)
        self.stimulus_plot = self.plots.addPlot(row=0, col=0)
        self.response_plot = self.plots.addPlot(row=1, col=0, axisItems={"left": IntegerAxis("left")})
        self.response_plot.setXLink(self.stimulus_plot)
        style_plot(self.stimulus_plot, STIMULUS_TITLE, left=("a.u.", ""), bottom=None)
        style_plot(self.response_plot, "Response", left=("counts", ""), bottom=("time", "s"))
        self.stimulus_plot.getAxis("left").setToolTip("The stimulus in the units the file stores it in "
                                                      "(vbgui standardises it for the fit when the preset says so).")
        for plot in (self.stimulus_plot, self.response_plot):
            plot.getAxis("left").setWidth(LEFT_AXIS_WIDTH)  # same width: the linked time axes line up exactly
        self.stimulus_plot.getAxis("bottom").setStyle(showValues=False)  # the response under it shows the times
        self.stimulus_plot.setMinimumHeight(MIN_PLOT_HEIGHT)
        self.response_plot.setMinimumHeight(MIN_PLOT_HEIGHT + TIME_AXIS_HEIGHT)
        hold_layout_minimum(self.plots)
        self.stimulus_curve = self._curve(self.stimulus_plot, PALETTE["stimulus"])
        self.response_curve = self._curve(self.response_plot, PALETTE["counts"])
        self.no_stimulus_note = EmptyPlotNote(self.stimulus_plot, NO_STIMULUS_NOTE)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.summary)
        layout.addWidget(self.unit_row)
        layout.addWidget(self.plots, 1)

    @staticmethod
    def _curve(plot: pg.PlotItem, colour: str) -> pg.PlotDataItem:
        curve = plot.plot(pen=pg.mkPen(colour, width=1))
        curve.setDownsampling(auto=True, method="peak")
        curve.setClipToView(True)
        return curve

    def set_units(self, names: tuple[str, ...], current: int) -> None:
        """List a file's units; the choice is shown only when there is more than one."""
        self.unit_choice.blockSignals(True)
        self.unit_choice.clear()
        self.unit_choice.addItems([f"{i}: {name}" for i, name in enumerate(names)])
        self.unit_choice.setCurrentIndex(current)
        self.unit_choice.blockSignals(False)
        self.unit_row.setVisible(len(names) > 1)

    def show_recording(self, recording: Recording) -> None:
        """Replace the plotted data with ``recording``'s (first stimulus column)."""
        self.summary.setText(recording_summary(recording))
        # the splitters size panels by their minimum, which for a wrapped label is one line: ask for all of it
        self.summary.setMinimumHeight(self.summary.heightForWidth(max(self.summary.width(), SUMMARY_MIN_WIDTH)))
        time = np.arange(recording.n_bins) * recording.dt
        if recording.stimulus is not None:
            self.stimulus_curve.setData(time, recording.stimulus[:, 0])
        elif recording.design is not None:
            self.stimulus_curve.setData(time, recording.design[:, 0])
        else:
            self.stimulus_curve.setData([], [])
        self.no_stimulus_note.set_shown(recording.stimulus is None and recording.design is None)
        self.response_curve.setData(time, recording.response)
        self.response_plot.setTitle(f"Response: {recording.response_name} per {recording.dt * 1000:g} ms bin",
                                    size=TITLE_SIZE)
        self.response_plot.setLabel("left", recording.response_name)
        counts = bool(np.all(recording.response == np.round(recording.response)))
        self.response_plot.getAxis("left").set_whole_numbers(counts)
        self.stimulus_plot.setXRange(0.0, min(recording.n_bins, INITIAL_VIEW_BINS) * recording.dt, padding=0.01)
        for plot, curve in ((self.stimulus_plot, self.stimulus_curve), (self.response_plot, self.response_curve)):
            plot.enableAutoRange(axis="y", enable=False)
            values = curve.getData()[1]
            finite = values[np.isfinite(values)] if values is not None else np.array([])
            if finite.size:
                plot.setYRange(float(finite.min()), float(finite.max()), padding=Y_PADDING)
