"""Where the Diagnostics are shown: a dock under the plots, or a tab beside them on a short window.

Under the plots, the dock gets what the plots' minimum heights leave.  On a
laptop (1366x768: a window about 700 pixels high) that is under 100
pixels, too little for the sd-ratio bars and the two correlation heat maps,
which then scrolled out of sight.  So, when the window leaves the dock less
than DOCK_ROOM_NEEDED, the dock's content moves into a "Diagnostics" tab
beside the "Fit" tab of the plots, where it has the plots' whole area and
shows everything without scrolling; the tab's title carries the verdict
("Diagnostics: poor"), so the answer shows from the Fit tab too.  When the
window is tall enough again, the content goes back into the dock.  The
window's saved layout always records the dock (the content returns to it
before the window closes), so a larger screen next time starts with it.
"""
from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtWidgets import QDockWidget, QMainWindow, QSplitter, QTabWidget, QWidget

from vbgui.gui.diagnostics_panel import DiagnosticsPanel

DOCK_TITLE_ALLOWANCE = 30  # pixels of the dock's title bar and frame
TAB_SUMMARY_HEIGHT = 190  # pixels of the numbers above the plots in the tab (they scroll when longer)
SQUARE_TOLERANCE = 4  # pixels a heat map's view may differ from a square before the tab's split is adjusted
TAB_TITLE = "Diagnostics"
TOGGLE_TIP = "Show or hide the Diagnostics dock."
TOGGLE_TIP_IN_TAB = "On a window this short the Diagnostics are a tab beside the plots (the Fit tab's neighbour)."


class DiagnosticsPlacement(QObject):
    """Moves ``content`` (the panel in its scroll area) between ``dock`` and a tab of ``window.plot_tabs``."""

    def __init__(self, window: QMainWindow, dock: QDockWidget, content: QWidget, panel: DiagnosticsPanel,
                 panel_min_height: int) -> None:
        super().__init__(window)
        self.window, self.dock, self.content, self.panel = window, dock, content, panel
        self.tabs: QTabWidget = window.plot_tabs
        self.room_needed = panel_min_height + DOCK_TITLE_ALLOWANCE
        self.in_tab = False
        self.hidden_by_user = False
        self.verdict = ""
        self.dock_placeholder = QWidget()  # what the dock holds while its content is in the tab
        self.toggle_action = dock.toggleViewAction()
        self.toggle_action.setToolTip(TOGGLE_TIP)
        window.installEventFilter(self)
        panel.plots.installEventFilter(self)

    def dock_room(self) -> int:
        """Pixels the window leaves for docks under its plots at their minimum heights."""
        window = self.window
        return (window.height() - window.menuBar().height() - window.statusBar().height()
                - window.centralWidget().minimumSizeHint().height())

    def update_placement(self) -> None:
        """Dock or tab, whichever the window's height allows (a floating dock stays a dock)."""
        self.place(in_tab=not self.dock.isFloating() and self.dock_room() < self.room_needed)

    def place(self, in_tab: bool) -> None:
        """Show the content in the tab (``in_tab``) or in the dock."""
        if in_tab == self.in_tab:
            return
        self.in_tab = in_tab
        splitter: QSplitter = self.panel.splitter
        if in_tab:
            self.hidden_by_user = self.dock.isHidden()
            self.dock.setWidget(self.dock_placeholder)
            self.dock.hide()
            # the tab is wide and tall: numbers above, plots across its width
            splitter.setOrientation(Qt.Orientation.Vertical)
            splitter.setSizes([TAB_SUMMARY_HEIGHT, max(1, self.tabs.height() - TAB_SUMMARY_HEIGHT)])
            if not self.hidden_by_user:
                self.tabs.addTab(self.content, self.tab_title())
            self.toggle_action.setEnabled(False)
            self.toggle_action.setToolTip(TOGGLE_TIP_IN_TAB)
        else:
            index = self.tabs.indexOf(self.content)
            if index >= 0:
                self.tabs.removeTab(index)
            splitter.setOrientation(Qt.Orientation.Horizontal)
            splitter.setSizes(list(self.panel.default_split))
            self.dock.setWidget(self.content)
            self.dock.setVisible(not self.hidden_by_user)
            self.toggle_action.setEnabled(True)
            self.toggle_action.setToolTip(TOGGLE_TIP)

    def square_heat_maps(self) -> None:
        """In the tab, give the numbers the height a square heat map leaves: the maps are as wide as the
        tab's width allows, and a taller view would only stretch their axes past the matrix."""
        splitter, plots = self.panel.splitter, self.panel.plots
        if not self.in_tab or not plots.isVisible():
            return
        view = plots.corr_plots["reference"].vb
        excess = int(view.height() - view.width())
        summary, plots_height = splitter.sizes()
        excess = max(-summary, min(excess, plots_height - plots.minimumHeight()))
        if abs(excess) > SQUARE_TOLERANCE:
            splitter.setSizes([summary + excess, plots_height - excess])

    def tab_title(self) -> str:
        return f"{TAB_TITLE}: {self.verdict}" if self.verdict else TAB_TITLE

    def set_verdict(self, verdict: str) -> None:
        """The shown diagnosis's verdict ('' for none), for the tab's title."""
        self.verdict = verdict
        index = self.tabs.indexOf(self.content)
        if index >= 0:
            self.tabs.setTabText(index, self.tab_title())

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        """Follow the window's height; before it closes (and saves its layout), put the content back in the dock."""
        if watched is self.panel.plots and event.type() in (QEvent.Type.Resize, QEvent.Type.Show):
            QTimer.singleShot(0, self, self.square_heat_maps)  # once pyqtgraph has laid the plots out
        elif watched is self.window:
            if event.type() in (QEvent.Type.Resize, QEvent.Type.Show):
                self.update_placement()
            elif event.type() == QEvent.Type.Close:
                self.place(in_tab=False)
        return False
