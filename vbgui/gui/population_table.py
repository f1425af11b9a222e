"""The population table: one row per unit, its numbers from :mod:`vbgui.app.population`, sortable by any column.

:class:`PopulationModel` holds the rows (a Qt table model, so hundreds of
units update one row at a time); :class:`PopulationSortProxy` sorts by each
column's value, not its text, and puts the values nobody computed after the others.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, QSortFilterProxyModel, Qt

from vbgui.app.population import NOT_FITTED, UnitRow

NOT_COMPUTED = "not computed"
Index = QModelIndex | QPersistentModelIndex


@dataclass(frozen=True)
class Column:
    """A table column: its header, the value it sorts by, the text it shows and its tooltip."""

    header: str
    value: Callable[[UnitRow], Any]
    text: Callable[[UnitRow], str]
    tooltip: str
    alignment: Qt.AlignmentFlag = Qt.AlignmentFlag.AlignRight  # numbers line up on their last digit


def _number(value: float | None, digits: int, missing: str) -> str:
    return missing if value is None or not math.isfinite(value) else f"{value:,.{digits}f}"


def _fit_number(row: UnitRow, value: float | None, digits: int) -> str:
    """A fitted number, or why it is absent: the unit is not fitted, failed, or nothing computes it."""
    if row.status in (NOT_FITTED, "failed"):
        return "—"
    return _number(value, digits, NOT_COMPUTED)


def _gap_text(row: UnitRow, gap: float | None) -> str:
    """A gap in nats to 3 significant digits (they range from 1e-6 after refinement to tens of nats)."""
    if row.status in (NOT_FITTED, "failed"):
        return "—"
    return NOT_COMPUTED if gap is None or not math.isfinite(gap) else f"{gap:.3g}"


def _amortisation_gap_text(row: UnitRow) -> str:
    if row.q_source == "exact fit":
        return "training unit"  # its q is the exact fit: no amortisation gap
    return _gap_text(row, row.amortisation_gap)


def _approximation_gap_text(row: UnitRow) -> str:
    if row.approximation_gap is None and row.gap_note.startswith("unknown"):
        return "unknown (k-hat)"
    return _gap_text(row, row.approximation_gap)


AMORTISATION_COLUMNS = (
    Column("q from", lambda r: r.q_source, lambda r: r.q_source or "—",
           "encoder: the unit's q came from the encoder (one forward pass, then any refinement passes); exact "
           "fit: a training unit, fitted exactly.", Qt.AlignmentFlag.AlignLeft),
    Column("Amortisation gap (nats)", lambda r: r.amortisation_gap, _amortisation_gap_text,
           "ELBO(q*) − ELBO(q): what the encoder's q gives up against the family's best q* for this unit "
           "(Cremer et al. 2018). Training units have none: their q is q*."),
    Column("Approximation gap (nats)", lambda r: r.approximation_gap, _approximation_gap_text,
           "log p(D) − ELBO(q*) = KL(q* ‖ posterior): what the family itself gives up. The evidence is exact for "
           "the linear-gaussian model, else importance-weighted from the full-rank optimum; unknown when its PSIS "
           "k-hat is 0.7 or more."),
)


def population_columns(counts: bool, amortised: bool = False) -> tuple[Column, ...]:
    """The table's columns; ``counts`` says whether the responses are spike counts (a rate in Hz);
    ``amortised`` adds the columns of amortised inference (where q came from, the two gaps)."""
    if counts:
        rate = Column("Firing rate (Hz)", lambda r: r.rate_per_second,
                      lambda r: _number(r.rate_per_second, 2, "unusable data"),
                      "Mean spike count per bin over the bin width, over the whole recording.")
    else:
        rate = Column("Mean response per bin", lambda r: r.mean_response_per_bin,
                      lambda r: _number(r.mean_response_per_bin, 3, "unusable data"),
                      "The unit's mean response per bin over the whole recording.")
    return (
        Column("Unit", lambda r: r.index, lambda r: f"{r.index}: {r.unit}", "The unit's index and name in the file.",
               Qt.AlignmentFlag.AlignLeft),
        rate,
    ) + (AMORTISATION_COLUMNS if amortised else ()) + (  # what amortised inference is run for, in view first
        Column("ELBO per bin (nats)", lambda r: r.elbo_per_bin, lambda r: _fit_number(r, r.elbo_per_bin, 4),
               "The fit's ELBO divided by the number of bins fitted: comparable across units and recordings."),
        Column("Converged", lambda r: r.converged,
               lambda r: {None: "—", True: "yes", False: "no"}[r.converged],
               "Whether the optimiser met its convergence test before its iteration limit.",
               Qt.AlignmentFlag.AlignHCenter),
        Column("Iterations", lambda r: r.iterations, lambda r: "—" if r.iterations is None else f"{r.iterations:,}",
               "Iterations the fit took."),
        Column("Gap: log p(D) − ELBO (nats)", lambda r: r.gap, lambda r: _fit_number(r, r.gap, 4),
               "KL(q ‖ true posterior): what the family (e.g. mean-field) gives up. Known exactly only where the "
               "log evidence is (the linear-Gaussian model); 'not computed' otherwise."),
        Column("Spike-history evidence (nats)", lambda r: r.history_evidence,
               lambda r: _fit_number(r, r.history_evidence, 3),
               "The log Bayes factor for spike history needs a second fit without it (Fit > Compare models…); "
               "a batch fit does not compute it."),
        Column("Status", lambda r: r.status, lambda r: r.error or r.status,
               "Not fitted, converged, not converged, amortised, trained on (amortised inference's training units), "
               "or failed with its reason.", Qt.AlignmentFlag.AlignLeft),
    )


class PopulationModel(QAbstractTableModel):
    """The units of one recording and what their fits found; see the module docstring."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.rows: list[UnitRow] = []
        self.columns = population_columns(True)

    def set_units(self, rows: list[UnitRow], counts: bool, amortised: bool = False) -> None:
        """Show ``rows`` (one per unit, in file order); ``counts``: the responses are spike counts;
        ``amortised``: with the columns of amortised inference."""
        self.beginResetModel()
        self.rows = list(rows)
        self.columns = population_columns(counts, amortised)
        self.endResetModel()

    def set_row(self, row: UnitRow) -> None:
        """Replace the row of unit ``row.index`` (a unit just fitted)."""
        self.rows[row.index] = row
        self.dataChanged.emit(self.index(row.index, 0), self.index(row.index, len(self.columns) - 1))

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: N802, B008 - Qt override
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: N802, B008 - Qt override
        return 0 if parent.isValid() else len(self.columns)

    def sort_key(self, row: int, column: int) -> tuple[int, Any]:
        """What column ``column`` of ``row`` sorts by: known values by their value, then the unknown ones."""
        value = self.columns[column].value(self.rows[row])
        if value is None or (isinstance(value, float) and not math.isfinite(value)):
            return (1, 0)
        return (0, value)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row, column = self.rows[index.row()], self.columns[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return column.text(row)
        if role == Qt.ItemDataRole.ToolTipRole:
            return row.error or column.tooltip
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return int(column.alignment | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.UserRole:
            return row.index
        return None

    def headerData(self, section: int, orientation: Qt.Orientation,  # noqa: N802 - Qt override
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(self.columns):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return self.columns[section].header
        if role == Qt.ItemDataRole.ToolTipRole:
            return self.columns[section].tooltip
        return None


class PopulationSortProxy(QSortFilterProxyModel):
    """Sorts the population table by each column's value (numbers as numbers, unknown values last)."""

    def lessThan(self, left: Index, right: Index) -> bool:  # noqa: N802 - Qt override
        model = self.sourceModel()
        return model.sort_key(left.row(), left.column()) < model.sort_key(right.row(), right.column())
