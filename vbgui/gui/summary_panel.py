"""The summary shown when a fit ends: the ELBO, its two terms, iterations, time, convergence."""
from __future__ import annotations

import math

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QWidget

from vbgui.app.result import FitResult
from vbgui.gui.style import TEXT_COLOURS


def _nats(value: float) -> str:
    return f"{value:,.3f} nats" if math.isfinite(value) else f"{value} (not finite)"


def summary_html(result: FitResult) -> str:
    """A small table a user reads after a fit; the exact log evidence and gap for linear-Gaussian."""
    if result.converged:
        status = f"<span style='color:{TEXT_COLOURS['good']}'>converged</span>"
    else:
        status = (f"<span style='color:{TEXT_COLOURS['poor']}'>not converged</span> "
                  f"({result.stop_reason}: {result.message})")
    rows = [
        ("Fit", f"{result.family}, {result.estimator} estimator"),
        ("ELBO", _nats(result.elbo)),
        ("accuracy (E log-lik)", _nats(result.expected_log_likelihood)),
        ("complexity (KL to prior)", _nats(result.kl)),
        ("iterations", f"{result.iterations:,}"),
        ("time", f"{result.seconds:.2f} s"),
        ("status", status),
    ]
    if result.log_evidence is not None:
        rows.append(("exact log evidence", _nats(result.log_evidence)))
        rows.append(("gap = KL(q ‖ posterior)", _nats(result.gap)))
    cells = "".join(f"<tr><td style='padding-right:8px'>{name}</td><td align='right'>{value}</td></tr>"
                    for name, value in rows)
    return f"<b>Last fit</b><table>{cells}</table>"


class SummaryPanel(QLabel):
    """Rich-text summary of the last fit (empty before the first)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWordWrap(True)
        self.setTextFormat(Qt.TextFormat.RichText)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.setToolTip("Summary of the last fit. ELBO = accuracy − complexity; for the linear-Gaussian model "
                        "the gap between the exact log evidence and the ELBO is KL(q ‖ true posterior).")
        self.show_message("No fit yet: press Run (Ctrl+R).")

    def show_result(self, result: FitResult) -> None:
        self.setText(summary_html(result))

    def show_message(self, text: str) -> None:
        self.setText(f"<i>{text}</i>")
