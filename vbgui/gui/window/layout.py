"""The window's layout: the sidebar and plot splitters, the status bar, full screen, saved and default layouts.

The fit's buttons and numbers sit on top of the sidebar, never scrolled
away; the long preset form scrolls under them.  The plots share the rest in
nested splitters, the "Fit" tab of a tab widget (a short window adds the
Diagnostics as a second tab).  The window's geometry, its docks and the splitters'
sizes are saved at close and restored at the next start; View > Reset layout
puts back the defaults, scaled to the screen.
"""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (QDockWidget, QGroupBox, QHBoxLayout, QLabel, QMainWindow, QMenu, QProgressBar,
                               QPushButton, QScrollArea, QSplitter, QTabWidget, QVBoxLayout, QWidget)

from vbgui.gui.preferences import Preferences
from vbgui.gui.window.actions import add_action

DEFAULT_SIZE = (1600, 1000)
TITLE_BAR_ALLOWANCE = 40  # pixels the window manager's frame takes from a screen's height
DOCK_HEIGHT_SHARE = 0.3  # the diagnostics dock's share of the window's height by default
MAX_DOCK_HEIGHT = 300
SIDEBAR_WIDTH = 370
SIDEBAR_MIN_WIDTH = 360
# the panels' sizes in pixels in each splitter at the default window size, restored by View > Reset layout
# (QSplitter scales them to the window's actual size)
DEFAULT_SPLITS = {"main": (SIDEBAR_WIDTH, DEFAULT_SIZE[0] - SIDEBAR_WIDTH), "top": (660, 570),
                  "bottom": (660, 570), "plots": (470, 510)}


def default_window_size(available_width: int, available_height: int) -> tuple[int, int]:
    """DEFAULT_SIZE, or less on a screen whose available area (pixels) is smaller; room left for the title bar."""
    return (min(DEFAULT_SIZE[0], available_width),
            min(DEFAULT_SIZE[1], available_height - TITLE_BAR_ALLOWANCE))


def action_button(action: QAction) -> QPushButton:
    """A push button that triggers ``action``, its tooltip naming the shortcut."""
    button = QPushButton(action.text().replace("&", ""))
    button.setToolTip(f"{action.toolTip()} [{action.shortcut().toString()}]" if not action.shortcut().isEmpty()
                      else action.toolTip())
    button.clicked.connect(action.trigger)
    return button


class WindowLayout:
    """Builds the window's central widget and status bar; saves, restores and resets their sizes."""

    def __init__(self, window: QMainWindow, preferences: Preferences) -> None:
        self.window = window
        self.preferences = preferences
        self.splitters: dict[str, QSplitter] = {}
        self.fullscreen_action = add_action(window, "&Full screen", self.toggle_full_screen, Qt.Key.Key_F11,
                                            "Toggle full screen (F11).")
        self.reset_layout_action = add_action(window, "&Reset layout", self.reset_layout, None,
                                              "Put the window and its panels back to their default sizes.")

    def fill_menu(self, view_menu: QMenu) -> None:
        """Add Full screen and Reset layout to ``view_menu``."""
        view_menu.addAction(self.fullscreen_action)
        view_menu.addAction(self.reset_layout_action)

    def build(self) -> None:
        """Give the window its buttons, sidebar, plot splitters and status bar (as window attributes)."""
        window = self.window
        window.run_button = action_button(window.run_action)
        window.pause_button = action_button(window.pause_action)
        window.stop_button = action_button(window.stop_action)
        window.reset_button = action_button(window.reset_action)
        window.save_preset_button = action_button(window.save_preset_action)
        window.run_button.setStyleSheet("font-weight: bold;")
        buttons = QHBoxLayout()
        for button in (window.run_button, window.pause_button, window.stop_button, window.reset_button):
            buttons.addWidget(button)

        preset_box = QGroupBox("Model preset")
        preset_layout = QVBoxLayout(preset_box)
        preset_layout.addWidget(window.preset_panel)
        preset_layout.addWidget(window.save_preset_button)
        fit_box = QGroupBox("Fit")
        fit_layout = QVBoxLayout(fit_box)
        fit_layout.addLayout(buttons)
        fit_layout.addWidget(window.summary_panel)
        # the fit's controls and its numbers on top, never scrolled away; the long preset form scrolls under them
        preset_scroll = QScrollArea()
        preset_scroll.setWidget(preset_box)
        preset_scroll.setWidgetResizable(True)
        preset_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        preset_scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        sidebar = QWidget()
        sidebar.setMinimumWidth(SIDEBAR_MIN_WIDTH)
        sidebar_layout = QVBoxLayout(sidebar)
        sidebar_layout.setContentsMargins(4, 4, 4, 4)
        sidebar_layout.addWidget(fit_box)
        sidebar_layout.addWidget(preset_scroll, 1)

        top = QSplitter(Qt.Orientation.Horizontal)
        top.addWidget(window.recording_panel)
        top.addWidget(window.elbo_plot)
        bottom = QSplitter(Qt.Orientation.Horizontal)
        bottom.addWidget(window.posterior_plot)
        bottom.addWidget(window.parameters_panel)
        plots = QSplitter(Qt.Orientation.Vertical)
        plots.addWidget(top)
        plots.addWidget(bottom)
        plots.setStretchFactor(0, 2)
        plots.setStretchFactor(1, 3)
        # the plots are the "Fit" tab; on a short window the Diagnostics join it as a tab of their own
        # (gui/diagnostics_place.py); with one tab, no tab bar shows
        window.plot_tabs = QTabWidget()
        window.plot_tabs.setDocumentMode(True)
        window.plot_tabs.setTabBarAutoHide(True)
        window.plot_tabs.addTab(plots, "Fit")
        main = QSplitter(Qt.Orientation.Horizontal)
        main.addWidget(sidebar)
        main.addWidget(window.plot_tabs)
        main.setStretchFactor(1, 1)
        self.splitters.update({"main": main, "top": top, "bottom": bottom, "plots": plots})
        for name, splitter in self.splitters.items():
            splitter.setObjectName(f"{name}-splitter")
        window.setCentralWidget(main)
        self._build_status_bar()

    def _build_status_bar(self) -> None:
        window = self.window
        window.status_label = QLabel("")
        window.progress_bar = QProgressBar()
        window.progress_bar.setMinimumWidth(240)
        window.progress_bar.setToolTip("Iterations done out of the preset's maximum.")
        self.idle_progress()
        window.engine_label = QLabel("engine: ready")
        window.engine_label.setToolTip("The numba engine is compiled once per installation (in the background); "
                                       "a fit started before it is ready waits for it.")
        window.statusBar().addWidget(window.status_label, 1)
        window.statusBar().addPermanentWidget(window.engine_label)
        window.statusBar().addPermanentWidget(window.progress_bar)

    def idle_progress(self) -> None:
        """No fit: an empty bar saying so (not "0 / 1 iterations")."""
        self.window.progress_bar.setRange(0, 1)
        self.window.progress_bar.setValue(0)
        self.window.progress_bar.setFormat("no fit")

    def toggle_full_screen(self) -> None:
        """View > Full screen (F11), on and off."""
        self.window.setWindowState(self.window.windowState() ^ Qt.WindowState.WindowFullScreen)

    def restore_layout(self) -> None:
        """The layout saved at the last close, or the default one."""
        geometry, state, splitters = self.preferences.layout()
        if geometry is None or not self.window.restoreGeometry(geometry):
            self.default_layout()
            return
        if state is not None:
            self.window.restoreState(state)
        for splitter, saved in zip(self.splitters.values(), splitters):
            splitter.restoreState(saved)

    def default_layout(self) -> None:
        """The default layout, at the default size or less on a smaller screen."""
        screen = self.window.screen()
        available = screen.availableGeometry() if screen is not None else None
        self.apply_default_layout(*default_window_size(available.width() if available else DEFAULT_SIZE[0],
                                                       available.height() if available else DEFAULT_SIZE[1]))

    def apply_default_layout(self, width: int, height: int) -> None:
        """The window at ``width`` x ``height``, its splitters at their default shares, the docks at
        DOCK_HEIGHT_SHARE of the height (the plots keep their minimum heights; a dock's content scrolls)."""
        window = self.window
        window.resize(width, height)
        for name, splitter in self.splitters.items():
            splitter.setSizes(list(DEFAULT_SPLITS[name]))
        docks = [dock for dock in window.findChildren(QDockWidget) if not dock.isFloating()]
        if docks:
            dock_height = min(MAX_DOCK_HEIGHT, int(DOCK_HEIGHT_SHARE * height))
            window.resizeDocks(docks, [dock_height] * len(docks), Qt.Orientation.Vertical)

    def reset_layout(self) -> None:
        """View > Reset layout: default window size and panel sizes, and forget the saved ones."""
        self.window.setWindowState(Qt.WindowState.WindowNoState)
        self.default_layout()
        self.preferences.forget_layout()
        self.window.show_status("Layout reset to the default.")

    def save_layout(self) -> None:
        """Remember the window's geometry, docks and splitter sizes for the next start."""
        self.preferences.save_layout(self.window.saveGeometry(), self.window.saveState(),
                                     [splitter.saveState() for splitter in self.splitters.values()])
