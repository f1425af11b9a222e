"""Fit > Compare models…: fit several presets/families on the current recording and rank them.

The fits and their diagnostics run in the background
(:func:`vbgui.app.compare.compare_models` in a
:class:`~vbgui.gui.background.BackgroundJob`); the table shows the
ELBO and the log evidence that ranks it (exact, else importance-weighted,
+- its standard error, with where it comes from and its k-hat), the
differences to the best model in nats, the approximate Bayes factors and
each model's standing (best, tie, lower, or not ranked when its evidence is
unreliable); the status line says the verdict in words.  Its tooltip
(:data:`vbgui.app.compare.TOOLTIP`) says why a larger ELBO is a better bound
and when ELBO differences mislead.
"""
from __future__ import annotations

import math
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QCloseEvent, QColor
from PySide6.QtWidgets import (QCheckBox, QDialog, QFileDialog, QGroupBox, QHBoxLayout, QHeaderView, QLabel,
                               QListWidget, QListWidgetItem, QPushButton, QTableWidget, QTableWidgetItem,
                               QVBoxLayout, QWidget)

from vbgui.app.compare import TOOLTIP, ComparisonProgress, ComparisonTable, compare_models, model_specs
from vbgui.core.names import FAMILY_NAMES
from vbgui.errors import VbguiError
from vbgui.gui.background import BackgroundJob
from vbgui.gui.style import TEXT_COLOURS
from vbgui.io.recording import Recording
from vbgui.io.safe_write import write_file
from vbgui.models.preset import Preset

# (header, tooltip) of the shown columns; the CSV export has every column of the table
RANK_HEADER = "log evidence ▼"
COLUMNS = (
    ("model", "preset / family"),
    ("parameters", "number of weights"),
    ("ELBO", "evidence lower bound, nats"),
    ("Δ ELBO", "ELBO − best ELBO, nats"),
    (RANK_HEADER, "ranks the table: log p(y | model) ± its Monte Carlo standard error, nats "
                  "(exact for linear-gaussian, else importance-weighted)"),
    ("from", "where the evidence comes from: the closed form, or importance weights of q or of a "
             "full-rank q fitted from it"),
    ("k-hat", "PSIS k-hat of the importance weights behind the evidence: below 0.7 it can be trusted"),
    ("Δ evidence", "evidence − best model's ± the standard error of the difference, nats"),
    ("Bayes factor", "exp(Δ evidence): p(y | model) / p(y | best model)"),
    ("standing", "best; tie (within one standard error of the first); lower; or not ranked (its evidence "
                 "is unreliable: k-hat ≥ 0.7)"),
    ("converged", "did the fit converge"),
)
SOURCES = {"exact": "closed form", "importance-weighted, q": "weights of q",
           "importance-weighted, full-rank proposal": "weights of a full-rank q"}
STANDING_TEXT = {"best": "best", "tie": "tie", "lower": "lower", "unreliable": "not ranked: unreliable"}


def _number(value: float | None, digits: int = 3) -> str:
    if value is None or not math.isfinite(value):
        return "—"
    return f"{value:,.{digits}f}"


def table_cells(table: ComparisonTable) -> list[list[str]]:
    """The shown table as text, one list per row (in the table's rank order), in COLUMNS order."""
    cells = []
    for row in table.rows:
        evidence = f"{_number(row.evidence)} ± {_number(row.evidence_se)}"
        if row.evidence_reliable:
            delta = _number(row.delta_evidence)
            if row.delta_evidence_se > 0.0:
                delta += f" ± {_number(row.delta_evidence_se)}"
            bayes_factor = f"{row.bayes_factor:.3g}"
        else:  # not a number to compare: the estimate may be far off
            evidence, delta, bayes_factor = f"{evidence} (unreliable)", "—", "—"
        cells.append([
            row.model, str(row.parameters), _number(row.elbo), _number(row.delta_elbo), evidence,
            SOURCES.get(row.evidence_source, row.evidence_source), _number(row.evidence_khat, 2), delta,
            bayes_factor, STANDING_TEXT[row.standing], "yes" if row.converged else "no"])
    return cells


class CompareDialog(QDialog):
    """Pick presets (and optionally families), run the comparison, read and export the table.

    ``comparison_finished`` (ComparisonTable) and ``comparison_failed``
    (message) are emitted when a run ends, for tests and scripts.
    """

    comparison_finished = Signal(object)
    comparison_failed = Signal(str)

    def __init__(self, recording: Recording, presets: dict[str, Preset], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Compare models")
        self.recording = recording
        self.runner: BackgroundJob | None = None
        self.table: ComparisonTable | None = None

        self.preset_list = QListWidget()
        self.preset_list.setToolTip("Tick the presets to compare (at least two models in all).")
        self.preset_list.setMaximumHeight(120)
        for label, preset in presets.items():
            item = QListWidgetItem(label)
            item.setData(Qt.ItemDataRole.UserRole, preset)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Unchecked)
            item.setToolTip(preset.description)
            self.preset_list.addItem(item)
        self.family_boxes = {name: QCheckBox(name) for name in FAMILY_NAMES}
        families = QGroupBox("Families (none ticked: each preset's own)")
        family_layout = QHBoxLayout(families)
        for box in self.family_boxes.values():
            box.setToolTip("Fit every ticked preset with this family too.")
            family_layout.addWidget(box)

        self.run_button = QPushButton("Compare")
        self.run_button.setToolTip("Fit and diagnose every model on the same bins of the current recording.")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.export_button = QPushButton("Export CSV…")
        self.export_button.setEnabled(False)
        self.status = QLabel(f"Recording: {Path(recording.source).name}")
        self.status.setWordWrap(True)
        self.run_button.clicked.connect(self.run_comparison)
        self.cancel_button.clicked.connect(self.cancel)
        self.export_button.clicked.connect(self.choose_csv)

        self.table_widget = QTableWidget(0, len(COLUMNS))
        self.table_widget.setToolTip(TOOLTIP)
        self.table_widget.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        for col, (header, tip) in enumerate(COLUMNS):
            item = QTableWidgetItem(header)
            item.setToolTip(f"{tip}\n\n{TOOLTIP}")
            self.table_widget.setHorizontalHeaderItem(col, item)
        self.table_widget.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table_widget.verticalHeader().setVisible(False)
        self.table_widget.horizontalHeader().setStretchLastSection(True)
        note = QLabel("Ranked by the log evidence (▼), not by the ELBO: ELBO differences mislead when the gaps "
                      "KL(q ‖ posterior) differ (hover the table for why).")
        note.setWordWrap(True)
        note.setToolTip(TOOLTIP)

        buttons = QHBoxLayout()
        for button in (self.run_button, self.cancel_button, self.export_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Presets:"))
        layout.addWidget(self.preset_list)
        layout.addWidget(families)
        layout.addLayout(buttons)
        layout.addWidget(self.status)
        layout.addWidget(self.table_widget, 1)
        layout.addWidget(note)
        self.resize(1120, 560)

    def check(self, labels: list[str]) -> None:
        """Tick exactly the presets named in ``labels``."""
        for row in range(self.preset_list.count()):
            item = self.preset_list.item(row)
            item.setCheckState(Qt.CheckState.Checked if item.text() in labels else Qt.CheckState.Unchecked)

    def chosen_presets(self) -> list[Preset]:
        items = (self.preset_list.item(row) for row in range(self.preset_list.count()))
        return [item.data(Qt.ItemDataRole.UserRole) for item in items
                if item.checkState() == Qt.CheckState.Checked]

    def run_comparison(self) -> bool:
        """Start the comparison of the ticked presets/families; False (and a message) when it cannot start."""
        if self.runner is not None and self.runner.is_running():
            return False
        families = [name for name, box in self.family_boxes.items() if box.isChecked()]
        specs = model_specs(self.chosen_presets(), families)
        if len(specs) < 2:
            self.status.setText("Tick at least two presets, or one preset and two families.")
            return False
        recording = self.recording

        def task(cancel, report):
            return compare_models(recording, specs, cancel=cancel, on_progress=report)

        self.runner = BackgroundJob(task, "vbgui-compare", self)
        worker = self.runner.worker
        worker.yielded.connect(self._on_progress)
        worker.returned.connect(self._on_finished)
        worker.errored.connect(self._on_failed)
        worker.cancelled.connect(self._on_cancelled)
        self.status.setText(f"Fitting {len(specs)} models…")
        self._set_running(True)
        self.runner.start()
        return True

    def cancel(self) -> None:
        if self.runner is not None:
            self.runner.abort()
            self.status.setText("Cancelling…")

    def _set_running(self, running: bool) -> None:
        self.run_button.setEnabled(not running)
        self.cancel_button.setEnabled(running)
        self.export_button.setEnabled(not running and self.table is not None)

    def _on_progress(self, progress: ComparisonProgress) -> None:
        self.status.setText(f"model {progress.index + 1} of {progress.n_models}: {progress.label} — "
                            f"{progress.stage}: {progress.message}")

    def _end(self) -> None:
        if self.runner is not None:
            self.runner.shutdown()
        self._set_running(False)

    def _on_finished(self, table: ComparisonTable) -> None:
        self.table = table
        self._end()
        self.show_table(table)
        self.status.setText(f"{len(table.rows)} models on the same {table.bins:,} bins (from bin {table.first_row}), "
                            f"ranked by {RANK_HEADER.rstrip(' ▼')}. {table.verdict}")
        self.comparison_finished.emit(table)

    def _on_failed(self, message: str) -> None:
        self._end()
        self.status.setText(f"<span style='color:{TEXT_COLOURS['poor']}'>The comparison did not run: {message}</span>")
        self.comparison_failed.emit(message)

    def _on_cancelled(self) -> None:
        self._end()
        self.status.setText("Comparison cancelled.")
        self.comparison_failed.emit("cancelled")

    def show_table(self, table: ComparisonTable) -> None:
        cells = table_cells(table)
        self.table_widget.setRowCount(len(cells))
        for r, (row, texts) in enumerate(zip(table.rows, cells)):
            for c, text in enumerate(texts):
                item = QTableWidgetItem(text)
                if c > 0:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                item.setToolTip(TOOLTIP)
                if not row.evidence_reliable:
                    item.setForeground(QBrush(QColor(TEXT_COLOURS["poor"])))
                    item.setToolTip(f"Not ranked: PSIS k-hat {row.evidence_khat:.2f} ≥ 0.7, so the importance-"
                                    f"weighted evidence of this model is unreliable.\n\n{TOOLTIP}")
                self.table_widget.setItem(r, c, item)

    def choose_csv(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export the comparison", "comparison.csv", "CSV table (*.csv)")
        if not path:
            return
        try:
            self.write_csv(path, force=True)  # the save dialog asked before replacing
        except VbguiError as exc:
            self.status.setText(f"Not written: {exc}")
        except OSError as exc:
            self.status.setText(f"Not written: {path}: {exc.strerror or exc}")

    def write_csv(self, path: str | Path, force: bool = False) -> Path:
        """Write the full table (every column of :data:`vbgui.app.compare.TABLE_COLUMNS`) as CSV; ``force``
        replaces ``path`` itself, never a name reached by changing the suffix (OutputFileError then)."""
        chosen = Path(path)
        path = chosen.with_suffix(".csv")
        text = self.table.to_csv()
        write_file(path, lambda handle: handle.write(text.encode("utf-8")), force=force and path == chosen)
        self.status.setText(f"Wrote {path}")
        return path

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        """Cancel a running comparison and join its thread."""
        if self.runner is not None:
            self.runner.shutdown()
        event.accept()
