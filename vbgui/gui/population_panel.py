"""The Population dock's content: Fit all units, Cancel, the progress, the units table and Export summary.

A widget only: :class:`~vbgui.gui.window.population.PopulationController`
runs the batch and answers the buttons.  ``coupling_area`` is the place
kept for the unit x unit coupling matrix (its mean and mean/sd heat maps)
of a coupled population model: empty and hidden until
:meth:`PopulationPanel.set_coupling_view` is given a widget to show there;
``gap_area`` likewise holds the plot of amortised inference's gaps
(:meth:`PopulationPanel.set_gap_view`).
"""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QAbstractItemView, QGroupBox, QHBoxLayout, QHeaderView, QLabel, QProgressBar,
                               QPushButton, QSplitter, QTableView, QVBoxLayout, QWidget)

from vbgui.app.population import UnitRow
from vbgui.gui.population_table import PopulationModel, PopulationSortProxy

TABLE_MIN_HEIGHT = 110  # the header and four rows
CONTROLS_WIDTH = 410  # the strip of buttons, progress and message left of the table
ROW_PADDING = 6  # pixels above and below a row's text
PROGRESS_FORMAT = "%v / %m units"
NO_POPULATION = "Open a recording of several units (File > Open recording) to fit and compare them all here."


FIT_ALL_TOOLTIP = "Fit the form's preset to every unit of the recording, several at once, in the background."
AMORTISE_TOOLTIP = ("Amortised inference: fit some units exactly, train an encoder on them, give every other unit "
                    "its q by one forward pass, and measure each unit's amortisation and approximation gaps in nats.")

class PopulationPanel(QWidget):
    """Buttons, progress and the sortable table of a multi-unit recording's units.

    ``unit_clicked`` (the unit's index in the file) when the user clicks a
    row; ``fit_all_requested``, ``amortise_requested``, ``cancel_requested``
    and ``export_requested`` from the buttons.
    """

    unit_clicked = Signal(int)
    fit_all_requested = Signal()
    amortise_requested = Signal()
    cancel_requested = Signal()
    export_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.fit_all_button = QPushButton("Fit all units")
        self.fit_all_button.setToolTip(FIT_ALL_TOOLTIP)
        self.amortise_button = QPushButton("Amortise…")
        self.amortise_button.setToolTip(AMORTISE_TOOLTIP)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop the batch: the units already fitted stay in the table.")
        self.export_button = QPushButton("Export summary…")
        self.export_button.setToolTip("Write the fitted units' summary as CSV (the columns of vbgui batch's "
                                      "summary.csv).")
        self.progress_bar = QProgressBar()
        self.progress_bar.setFormat(PROGRESS_FORMAT)
        self.status = QLabel(NO_POPULATION)
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.model = PopulationModel(self)
        self.proxy = PopulationSortProxy(self)
        self.proxy.setSourceModel(self.model)
        self.table = QTableView()
        self.table.setObjectName("population-table")
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(self.table.fontMetrics().height() + ROW_PADDING)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.table.setMinimumHeight(TABLE_MIN_HEIGHT)
        self.table.clicked.connect(self._on_clicked)

        self.coupling_area = QGroupBox("Coupling matrix (unit × unit)")
        self.coupling_area.setObjectName("coupling-matrix-area")
        QVBoxLayout(self.coupling_area).setContentsMargins(2, 2, 2, 2)
        self.coupling_area.setVisible(False)
        self.views = QSplitter(Qt.Orientation.Horizontal)
        self.views.setChildrenCollapsible(False)
        self.views.addWidget(self.table)
        self.views.addWidget(self.coupling_area)
        self.gap_area = QGroupBox("Amortised inference: gaps across units")
        self.gap_area.setObjectName("gap-area")
        QVBoxLayout(self.gap_area).setContentsMargins(2, 2, 2, 2)
        self.gap_area.setVisible(False)
        self.views.addWidget(self.gap_area)
        self.views.setStretchFactor(0, 3)
        self.views.setStretchFactor(1, 2)
        self.views.setStretchFactor(2, 2)

        # the controls in a strip beside the table, not above it: on a laptop's short dock the table keeps the
        # dock's whole height, and the buttons and the progress (one row) stay in view
        buttons = QHBoxLayout()
        buttons.addWidget(self.fit_all_button)
        buttons.addWidget(self.amortise_button)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.progress_bar, 1)
        controls = QVBoxLayout()
        controls.setContentsMargins(0, 0, 0, 0)
        controls.addLayout(buttons)
        export_row = QHBoxLayout()
        export_row.addWidget(self.export_button)
        export_row.addStretch(1)
        controls.addLayout(export_row)
        controls.addWidget(self.status)
        controls.addStretch(1)
        strip = QWidget()
        strip.setLayout(controls)
        strip.setFixedWidth(CONTROLS_WIDTH)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 2)
        layout.addWidget(strip)
        layout.addWidget(self.views, 1)
        self.fit_all_button.clicked.connect(self.fit_all_requested)
        self.amortise_button.clicked.connect(self.amortise_requested)
        self.cancel_button.clicked.connect(self.cancel_requested)
        self.export_button.clicked.connect(self.export_requested)
        self.set_progress(0, 0)

    def set_units(self, rows: list[UnitRow], counts: bool, amortised: bool = False) -> None:
        """List a recording's units, none fitted yet (an empty list: no multi-unit recording); ``amortised``
        adds the columns of amortised inference."""
        self.model.set_units(rows, counts, amortised)
        self.table.resizeColumnsToContents()

    def set_row(self, row: UnitRow) -> None:
        """Show a unit's new numbers (its row keeps its place in the current sort)."""
        self.model.set_row(row)

    def set_progress(self, finished: int, total: int) -> None:
        """``finished`` units of ``total`` done (an empty bar when nothing was asked)."""
        self.progress_bar.setRange(0, max(1, total))
        self.progress_bar.setValue(finished)
        self.progress_bar.setFormat(PROGRESS_FORMAT if total else "no batch")

    def set_running(self, running: bool, can_fit: bool, can_export: bool) -> None:
        """Enable the buttons that make sense: Cancel while a batch runs, Fit all and Export otherwise."""
        self.fit_all_button.setEnabled(can_fit and not running)
        self.amortise_button.setEnabled(can_fit and not running)
        self.cancel_button.setEnabled(running)
        self.export_button.setEnabled(can_export)

    def explain_batch_unavailable(self, reason: str | None) -> None:
        """Add ``reason`` (why no batch can start with this preset) to Fit all units' and Amortise…'s
        tooltips, or restore them (None)."""
        for button, tooltip in ((self.fit_all_button, FIT_ALL_TOOLTIP), (self.amortise_button, AMORTISE_TOOLTIP)):
            button.setToolTip(tooltip if reason is None else f"{tooltip}\n\nUnavailable: {reason}.")

    def show_message(self, text: str) -> None:
        self.status.setText(text)

    def select_unit(self, index: int) -> None:
        """Select the row of unit ``index`` (wherever the sort put it) without emitting ``unit_clicked``."""
        row = self.proxy.mapFromSource(self.model.index(index, 0)).row()
        if row >= 0:
            self.table.selectRow(row)

    def set_coupling_view(self, widget: QWidget | None) -> None:
        """Show ``widget`` (the coupling matrix's heat maps) in ``coupling_area``; None empties and hides it."""
        self._show_in(self.coupling_area, widget)

    def set_gap_view(self, widget: QWidget | None) -> None:
        """Show ``widget`` (the plot of amortised inference's gaps) in ``gap_area``; None empties and hides it."""
        self._show_in(self.gap_area, widget)

    def _show_in(self, area: QGroupBox, widget: QWidget | None) -> None:
        """``widget`` alone in ``area`` (None: ``area`` empty and hidden); the table keeps 2/5 of the width
        when any area is shown, the areas share the rest."""
        layout = area.layout()
        while layout.count():
            old = layout.takeAt(0).widget()
            if old is not None:
                old.deleteLater()
        area.setVisible(widget is not None)
        if widget is not None:
            layout.addWidget(widget)
        self.share_views()

    def share_views(self) -> None:
        """The table 2/5 of the width when a heat-map or gap area is shown; the shown areas share the rest."""
        areas = [a for a in (self.coupling_area, self.gap_area) if not a.isHidden()]
        if areas:
            total = sum(self.views.sizes())
            table = total * 2 // 5
            share = (total - table) // len(areas)
            self.views.setSizes([table] + [share if not a.isHidden() else 0
                                           for a in (self.coupling_area, self.gap_area)])

    def _on_clicked(self, proxy_index) -> None:
        self.unit_clicked.emit(self.proxy.mapToSource(proxy_index).row())
