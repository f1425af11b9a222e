"""The diagnostics panel: how good is the last fit?

Left, the numbers in plain words: how close q is to the posterior (PSIS
k-hat with its verdict, coloured), the ELBO, the log evidence (exact, else
importance-weighted +- its standard error, or marked unreliable instead of
a number), one gap with its meaning (KL(q || posterior): the exact one when
the evidence is known exactly), the reference behind the comparison and, on
a line of its own, the reference's own quality, then flags.  Right, the
plots: the per-parameter ratio sd under q / sd under the reference (bars
below 1 are mean-field's variance under-estimation made visible), and the
correlation matrices of the reference and of q as heat maps on one colour
scale (-1..1) with a colour bar.  Before the first diagnosis the plots are
hidden and one sentence says when diagnostics run.

The panel only shows things; its Diagnose and Cancel buttons emit
``diagnose_requested`` (with the reference kind chosen) and
``cancel_requested`` for whoever runs the diagnostics.
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, QSize, Qt, Signal
from PySide6.QtWidgets import (QComboBox, QHBoxLayout, QLabel, QProgressBar, QPushButton, QScrollArea, QSplitter,
                               QVBoxLayout, QWidget)

from vbgui.gui.style import PALETTE, TEXT_COLOURS, TITLE_SIZE, correlation_colour_map, pen, style_plot

if TYPE_CHECKING:
    from vbgui.app.diagnose import Diagnostics, DiagnosticsProgress

VERDICT_MEANING = {"good": "q is close to the posterior", "unreliable": "q is only roughly right",
                   "poor": "q is far from the posterior"}
REFERENCE_CHOICES = {"auto": "auto", "PSIS": "psis", "HMC": "hmc"}
# one labelled tick every so many parameters: along the wide bar plot, the heat maps' narrow x and taller y axes
TICK_EVERY = {"bars": 6, "columns": 8, "rows": 3}
REFERENCE_NAMES = {"psis": "PSIS", "hmc": "HMC", "exact": "exact"}
SUMMARY_WIDTH = 390
DOCK_SPLIT = (600, 1000)  # pixels of the numbers and the plots at the default width (scaled to the dock's)
PANEL_HEIGHT = 270
KHAT_TIP = ("Pareto k-hat of the importance weights p(y, w) / q(w), w ~ q (PSIS), ± its standard error: "
            "below 0.5 (or within one standard error of it) good, 0.5-0.7 unreliable, from 0.7 poor "
            "(q misses mass the posterior has).")


EVIDENCE_SOURCES = {"exact": "exact, closed form", "importance-weighted, q": "importance-weighted, draws of q",
                    "importance-weighted, full-rank proposal": "importance-weighted, draws of a full-rank q"}


def _nats(value: float | None, digits: int = 3) -> str:
    if value is None or not math.isfinite(value):
        return "n/a"
    text = f"{value:,.{digits}f}"
    return f"{'0.' + '0' * digits if float(text.replace(',', '')) == 0.0 else text} nats"  # never -0.000


def _verdict(verdict: str) -> str:
    return f"<b style='color:{TEXT_COLOURS[verdict]}'>{verdict}</b>"


def evidence_text(diagnostics: Diagnostics) -> str:
    """The log evidence with its standard error and source, or 'unreliable' with why (not a plain number)."""
    source = EVIDENCE_SOURCES.get(diagnostics.evidence_source, diagnostics.evidence_source)
    if not diagnostics.evidence_reliable:
        return (f"<b style='color:{TEXT_COLOURS['poor']}'>unreliable</b>: importance weights with k-hat "
                f"{diagnostics.evidence_khat:.2f} ≥ 0.7; the estimate may be far off")
    if diagnostics.evidence_source == "exact":
        return f"{_nats(diagnostics.evidence_estimate)} ({source})"
    return f"{_nats(diagnostics.evidence_estimate)} ± {diagnostics.evidence_estimate_se:.3f} ({source})"


def gap_text(diagnostics: Diagnostics) -> str:
    """One gap, KL(q ‖ posterior) = log p(y) − ELBO, with its meaning: exact when the evidence is."""
    gap, kind = diagnostics.gap
    meaning = "the ELBO lies this far below log p(y)"
    if kind == "exact":
        return f"{_nats(gap)} (exact): {meaning}"
    if kind == "estimate":
        return f"about {_nats(gap)} ± {diagnostics.evidence_estimate_se:.3f}: {meaning}"
    return "unknown: the evidence is unreliable"


def reference_text(diagnostics: Diagnostics) -> str:
    """What the reference posterior is (its quality is on a line of its own)."""
    ref = diagnostics.reference_posterior
    if ref.kind == "exact":
        return "exact posterior (linear-gaussian closed form)"
    count = 0 if ref.draws is None else ref.draws.shape[0]
    if ref.kind == "psis":
        source = "q" if diagnostics.proposal == "q" else "a full-rank q fitted from q"
        return f"PSIS-reweighted draws of {source} ({count:,} draws)"
    return f"HMC draws ({count:,})"


def reference_quality_text(diagnostics: Diagnostics) -> str:
    """The reference posterior's own quality, in words: exact, PSIS k-hat with its verdict, or HMC convergence."""
    ref = diagnostics.reference_posterior
    if ref.kind == "exact":
        return "exact (closed form)"
    if ref.kind == "psis":
        text = f"{_verdict(diagnostics.proposal_verdict)}: PSIS k-hat {diagnostics.proposal_khat:.2f} of its draws"
    else:
        summary = diagnostics.hmc_summary or {}
        state = _verdict("good") if ref.valid else f"<b style='color:{TEXT_COLOURS['poor']}'>not converged</b>"
        text = (f"{state}: HMC R-hat {summary.get('rhat_max', float('nan')):.3f}, "
                f"{summary.get('divergences', 0)} divergent transitions")
    if not ref.valid:
        text += f" <b style='color:{TEXT_COLOURS['poor']}'>(not valid: not drawn)</b>"
    return f"{text}; {ref.effective_draws:,.0f} effective draws" if math.isfinite(ref.effective_draws) else text


def diagnostics_html(diagnostics: Diagnostics) -> str:
    """The panel's numbers as a small rich-text table, flags as a list underneath."""
    verdict = diagnostics.psis_verdict
    khat = f"{diagnostics.psis_khat:.2f}"
    if math.isfinite(diagnostics.psis_khat_se):
        khat += f" ± {diagnostics.psis_khat_se:.2f}"
    rows = [
        ("q against the posterior", f"{_verdict(verdict)}: {VERDICT_MEANING[verdict]} (PSIS k-hat {khat})"),
        ("ELBO", _nats(diagnostics.elbo)),
        ("log evidence", evidence_text(diagnostics)),
        ("gap = KL(q ‖ posterior)", gap_text(diagnostics)),
        ("reference", reference_text(diagnostics)),
        ("reference quality", reference_quality_text(diagnostics)),
        ("draws, time", f"{diagnostics.iw_draws:,} from q, {diagnostics.seconds:.2f} s"),
    ]
    cells = "".join(f"<tr><td style='padding-right:8px' valign='top'>{name}</td><td>{value}</td></tr>"
                    for name, value in rows)
    if diagnostics.flags:
        flags = "".join(f"<li>{flag}</li>" for flag in diagnostics.flags)
        flag_html = (f"<p style='color:{TEXT_COLOURS['poor']}; margin-bottom:0'><b>Flags</b></p>"
                     f"<ul style='margin-top:0'>{flags}</ul>")
    else:
        flag_html = (f"<p style='color:{TEXT_COLOURS['good']}'>No flags: the fit ended normally and the reference "
                     "is sound.</p>")
    return f"<b>Diagnostics of the last fit</b><table>{cells}</table>{flag_html}"


def name_ticks(names: tuple[str, ...], every: int) -> list[tuple[float, str]]:
    """Ticks at parameter indices labelled with their names, no two closer than ``every``.

    The first name of each group (bias, stim, hist) is labelled unless the
    previous group's first name is too close; within a group every
    ``every``-th name is.
    """
    ticks: list[tuple[float, str]] = []
    starts: set[float] = set()
    previous_group, group_start = None, 0
    for i, name in enumerate(names):
        group = name.split("[")[0]
        new_group = group != previous_group
        if new_group:
            previous_group, group_start = group, i
        elif (i - group_start) % every:
            continue
        if ticks and i - ticks[-1][0] < every:
            if not new_group or ticks[-1][0] in starts:
                continue
            ticks.pop()  # a group's first name matters more than a label inside the previous group
        ticks.append((float(i), name))
        if new_group:
            starts.add(float(i))
    return ticks


def correlation(cov: np.ndarray) -> np.ndarray:
    """The correlation matrix of a covariance (zero variances give zero correlations)."""
    sd = np.sqrt(np.clip(np.diag(cov), 0.0, None))
    scale = np.outer(sd, sd)
    return np.divide(cov, scale, out=np.zeros_like(cov, dtype=float), where=scale > 0)


class DiagnosticsPlots(pg.GraphicsLayoutWidget):
    """The sd-ratio bars and the two correlation heat maps with their shared colour bar."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ratio_plot = self.addPlot(row=0, col=0)
        style_plot(self.ratio_plot, "sd under q / sd under the reference", left=("ratio", ""),
                   bottom=("parameter", ""))
        self.ratio_bars = pg.BarGraphItem(x=[], height=[], width=0.75, brush=pg.mkBrush(PALETTE["approximation"]),
                                          pen=None)
        self.ratio_plot.addItem(self.ratio_bars)
        self.ratio_plot.addItem(pg.InfiniteLine(pos=1.0, angle=0, pen=pen("reference", width=1.0, dashed=True)))
        self.ratio_plot.setMouseEnabled(x=False, y=False)
        colour_map = correlation_colour_map()  # blue-white-red (light), blue-black-red (dark)
        self.corr_plots: dict[str, pg.PlotItem] = {}
        self.corr_images: dict[str, pg.ImageItem] = {}
        for col, (key, title) in enumerate((("reference", "correlation: reference"), ("q", "correlation: q")),
                                           start=1):
            plot = self.addPlot(row=0, col=col)
            style_plot(plot, title, left=None, bottom=None)
            plot.invertY(True)
            plot.setAspectLocked(True)
            plot.setMouseEnabled(x=False, y=False)
            image = pg.ImageItem(axisOrder="row-major")
            image.setColorMap(colour_map)
            image.setLevels((-1.0, 1.0))
            plot.addItem(image)
            self.corr_plots[key], self.corr_images[key] = plot, image
        self.colour_bar = pg.ColorBarItem(values=(-1.0, 1.0), colorMap=colour_map, interactive=False,
                                          width=15)  # the heat maps' titles say what the colours are
        self.colour_bar.setImageItem(list(self.corr_images.values()), insert_in=self.corr_plots["q"])
        # the heat maps are square: width beyond their height goes to the bars
        self.ci.layout.setColumnStretchFactor(0, 7)
        self.ci.layout.setColumnStretchFactor(1, 4)
        self.ci.layout.setColumnStretchFactor(2, 4)

    def show_diagnostics(self, diagnostics: Diagnostics, q_cov: np.ndarray) -> None:
        """Bars of ``diagnostics.sd_ratio``; heat maps of the reference's and q's (``q_cov``) correlations."""
        names = diagnostics.names
        ratio = np.where(np.isfinite(diagnostics.sd_ratio), diagnostics.sd_ratio, 0.0)
        self.ratio_bars.setOpts(x=np.arange(len(names)), height=ratio)
        self.ratio_plot.getAxis("bottom").setTicks([name_ticks(names, TICK_EVERY["bars"])])
        self.ratio_plot.setXRange(-1.6, len(names) - 0.4, padding=0)  # room for the first name under its bar
        self.ratio_plot.setYRange(0.0, max(1.2, float(np.max(ratio)) * 1.08), padding=0)
        dim = len(names)
        for key, matrix in (("reference", diagnostics.reference_posterior.corr), ("q", correlation(q_cov))):
            image = self.corr_images[key]
            image.setImage(np.nan_to_num(np.asarray(matrix, dtype=float)), levels=(-1.0, 1.0))
            image.setRect(QRectF(-0.5, -0.5, dim, dim))
            plot = self.corr_plots[key]
            plot.getAxis("bottom").setTicks([name_ticks(names, TICK_EVERY["columns"])])
            plot.getAxis("left").setTicks([name_ticks(names, TICK_EVERY["rows"])])
            plot.setRange(xRange=(-0.5, dim - 0.5), yRange=(-0.5, dim - 0.5), padding=0)
        family = diagnostics.family
        self.corr_plots["q"].setTitle(f"correlation: q ({family})", size=TITLE_SIZE)
        reference = REFERENCE_NAMES.get(diagnostics.reference, diagnostics.reference)
        self.corr_plots["reference"].setTitle(f"correlation: reference ({reference})", size=TITLE_SIZE)

    def clear_plots(self) -> None:
        """Empty bars and heat maps (not ``clear``: GraphicsLayoutWidget uses that name to remove every plot)."""
        self.ratio_bars.setOpts(x=[], height=[])
        for image in self.corr_images.values():
            image.clear()
        for key in self.corr_plots:  # titles name the shown fit: none now
            self.corr_plots[key].setTitle(f"correlation: {key}", size=TITLE_SIZE)


class DiagnosticsPanel(QWidget):
    """Controls (Diagnose, reference, Cancel, progress), the numbers and the plots of the last diagnosis."""

    diagnose_requested = Signal(str)   # the reference kind: "auto", "psis" or "hmc"
    cancel_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.diagnose_button = QPushButton("Diagnose")
        self.diagnose_button.setToolTip("Compute the diagnostics of the last fit again, with the reference "
                                        "chosen beside (they also run after every fit).")
        self.reference_choice = QComboBox()
        self.reference_choice.addItems(list(REFERENCE_CHOICES))
        self.reference_choice.setToolTip("Reference posterior: auto = exact for linear-gaussian, else PSIS "
                                         "reweighting of a full-rank q when its k-hat < 0.7, else HMC.")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop the running diagnostics.")
        self.progress_bar = QProgressBar()
        self.progress_bar.setRange(0, 1000)
        self.progress_bar.setTextVisible(False)
        self.progress_bar.setMaximumWidth(160)
        self.status = QLabel("")
        self.status.setWordWrap(True)  # a long message wraps under the controls instead of widening the panel
        self.diagnose_button.clicked.connect(
            lambda: self.diagnose_requested.emit(REFERENCE_CHOICES[self.reference_choice.currentText()]))
        self.cancel_button.clicked.connect(self.cancel_requested)

        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.summary.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.summary.setToolTip(KHAT_TIP + " The importance-weighted (IW) evidence log mean p(y, w)/q(w) is a "
                                "tighter lower bound on log p(y) than the ELBO; their gap estimates "
                                "KL(q ‖ posterior).")
        scroll = QScrollArea()
        scroll.setWidget(self.summary)
        scroll.setWidgetResizable(True)
        scroll.setMinimumWidth(280)
        self.plots = DiagnosticsPlots()

        controls = QHBoxLayout()
        controls.addWidget(self.diagnose_button)
        controls.addWidget(QLabel("reference:"))
        controls.addWidget(self.reference_choice)
        controls.addWidget(self.cancel_button)
        controls.addWidget(self.progress_bar)
        controls.addStretch(1)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addLayout(controls)
        left_layout.addWidget(self.status)
        left_layout.addWidget(scroll, 1)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(left)
        self.splitter.addWidget(self.plots)
        # numbers left, plots right (in the dock): the heat maps are as wide as the dock is high, so width beyond
        # the plots' need goes to the numbers, which then fit without scrolling
        self.default_split = DOCK_SPLIT
        self.splitter.setSizes(list(self.default_split))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.splitter)
        self.diagnostics: Diagnostics | None = None
        self.plots.setVisible(False)  # no empty axes before the first diagnosis
        self.set_idle("No diagnostics yet: they run after every fit.", can_diagnose=False)

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        """Wide and low: the panel docks under the plots."""
        return QSize(4 * SUMMARY_WIDTH, PANEL_HEIGHT)

    def set_running(self, message: str) -> None:
        """Diagnostics started: progress from zero, Cancel enabled."""
        self.progress_bar.setValue(0)
        self.cancel_button.setEnabled(True)
        self.diagnose_button.setEnabled(False)
        self.status.setText(message)
        if self.diagnostics is None:
            self.summary.setText("")  # the status says what runs; the numbers come here

    def show_progress(self, progress: DiagnosticsProgress) -> None:
        self.progress_bar.setValue(int(1000 * min(max(progress.fraction, 0.0), 1.0)))
        self.status.setText(f"{progress.message} ({progress.elapsed:.1f} s)")

    def set_idle(self, message: str, can_diagnose: bool) -> None:
        """Nothing running: say ``message``; Diagnose enabled when there is a fit to diagnose."""
        self.cancel_button.setEnabled(False)
        self.diagnose_button.setEnabled(can_diagnose)
        if self.diagnostics is None:  # said once, where the numbers will be
            self.status.setText("")
            self.summary.setText(f"<i>{message}</i>")
        else:
            self.status.setText(message)

    def show_diagnostics(self, diagnostics: Diagnostics, q_cov: np.ndarray) -> None:
        """Show a finished diagnosis."""
        self.diagnostics = diagnostics
        self.progress_bar.setValue(1000)
        self.summary.setText(diagnostics_html(diagnostics))
        self.plots.show_diagnostics(diagnostics, q_cov)
        self.plots.setVisible(True)

    def clear(self) -> None:
        """Forget the shown diagnosis (a new fit is under way)."""
        self.diagnostics = None
        self.progress_bar.setValue(0)
        self.plots.clear_plots()
        self.plots.setVisible(False)
