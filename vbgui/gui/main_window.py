"""The main window: assembles the panels, the menus and the fit controls.

A fit runs in a :class:`~vbgui.gui.worker.FitRunner` (worker QObject in a
QThread).  Its progress signals only store the latest iteration; a QTimer
repaints at REPAINT_HZ from the worker's trace buffer, so the GUI thread
does a bounded amount of drawing however fast the engine iterates.  The
numba engine is compiled in the background from the moment the window
opens (:mod:`vbgui.gui.engine_warmup`); the layout, last preset and theme
persist in QSettings (:mod:`vbgui.gui.preferences`).
"""
from __future__ import annotations

from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import (QDockWidget, QGroupBox, QHBoxLayout, QLabel, QMainWindow, QMessageBox,
                               QProgressBar, QPushButton, QScrollArea, QSplitter, QVBoxLayout, QWidget)

from vbgui.gui.demos.menu import install_demos_menu
from vbgui.gui.diagnostics_controller import install_diagnostics
from vbgui.gui.elbo_plot import ElboPlot
from vbgui.gui.parameters_panel import ParametersPanel
from vbgui.gui.posterior_plot import PosteriorPlot
from vbgui.gui.preferences import Preferences
from vbgui.gui.preset_panel import PresetPanel
from vbgui.gui.recent_files import RecentFiles, application_settings
from vbgui.gui.recording_panel import RecordingPanel
from vbgui.gui.summary_panel import SummaryPanel
from vbgui.gui.window.fit_control import FitController
from vbgui.gui.window.help import HelpController
from vbgui.gui.window.results import ResultsController
from vbgui.gui.window.recordings import SAMPLE_RECORDING, RecordingsController
from vbgui.gui.window.presets import DEFAULT_PRESET, PresetsController  # noqa: F401 - DEFAULT_PRESET re-exported
from vbgui.gui.window.theme import ThemeController

DEFAULT_SIZE = (1600, 1000)
TITLE_BAR_ALLOWANCE = 40  # pixels the window manager's frame takes from a screen's height
DOCK_HEIGHT_SHARE = 0.3  # the diagnostics dock's share of the window's height by default
MAX_DOCK_HEIGHT = 300
SIDEBAR_WIDTH = 370
# the panels' sizes in pixels in each splitter at the default window size, restored by View > Reset layout
# (QSplitter scales them to the window's actual size)
DEFAULT_SPLITS = {"main": (SIDEBAR_WIDTH, DEFAULT_SIZE[0] - SIDEBAR_WIDTH), "top": (660, 570),
                  "bottom": (660, 570), "plots": (470, 510)}


def default_window_size(available_width: int, available_height: int) -> tuple[int, int]:
    """DEFAULT_SIZE, or less on a screen whose available area (pixels) is smaller; room left for the title bar."""
    return (min(DEFAULT_SIZE[0], available_width),
            min(DEFAULT_SIZE[1], available_height - TITLE_BAR_ALLOWANCE))


class MainWindow(QMainWindow):
    """The vbgui application window.

    ``fit_finished`` (FitResult) and ``fit_failed`` (message) are emitted
    after the window has shown a fit's end, for tests and scripts;
    ``result_reopened`` (FitResult) after it has shown a fit read from its
    file, ``fit_cleared`` when it no longer shows any fit (Reset).
    """

    fit_started = Signal()
    fit_finished = Signal(object)
    fit_failed = Signal(str)
    fit_cleared = Signal()
    result_reopened = Signal(object)

    runner = property(lambda self: self.fit.runner)
    result = property(lambda self: self.fit.result)
    recording = property(lambda self: self.recordings.recording)
    recording_file = property(lambda self: self.recordings.recording_file)
    variables_dialog = property(lambda self: self.recordings.variables_dialog)
    about_dialog = property(lambda self: self.help.about_dialog)
    user_guide = property(lambda self: self.help.user_guide)

    def __init__(self, settings: QSettings | None = None, load_sample: bool = True) -> None:
        super().__init__()
        self.setWindowTitle("vbgui")
        self.setAcceptDrops(True)
        settings = settings if settings is not None else application_settings()
        self.recent = RecentFiles(settings)
        self.preferences = Preferences(settings)
        self.last_error = ""
        self.error_box: QMessageBox | None = None

        self.recording_panel = RecordingPanel()
        self.preset_panel = PresetPanel()
        self.elbo_plot = ElboPlot()
        self.posterior_plot = PosteriorPlot()
        self.parameters_panel = ParametersPanel()
        self.summary_panel = SummaryPanel()
        self.recordings = RecordingsController(self, self.recording_panel, self.recent)
        self.open_action = self.recordings.open_action
        self.open_recording, self.choose_recording = self.recordings.open_recording, self.recordings.choose_recording
        self.select_unit, self.start_folder = self.recordings.select_unit, self.recordings.start_folder
        self.results = ResultsController(self, self.preferences)
        self.open_result_action, self.export_action = self.results.open_result_action, self.results.export_action
        self.export_plot_actions, self.export_plot = self.results.export_plot_actions, self.results.export_plot
        self.export_result, self.write_result = self.results.export_result, self.results.write_result
        self.open_result, self.save_folder = self.results.open_result, self.results.save_folder
        self.plot_views = self.results.plot_views
        self.fit = FitController(self)
        self.run_action, self.pause_action = self.fit.run_action, self.fit.pause_action
        self.stop_action, self.reset_action = self.fit.stop_action, self.fit.reset_action
        self.repaint_timer, self.repaint_fit = self.fit.repaint_timer, self.fit.repaint_fit
        self.run_fit, self.toggle_pause, self.stop_fit = self.fit.run_fit, self.fit.toggle_pause, self.fit.stop_fit
        self.reset_fit, self.is_fitting = self.fit.reset_fit, self.fit.is_fitting
        self.refresh_model_layout = self.fit.refresh_model_layout
        self._build_actions()
        self.theme = ThemeController(self, self.preferences)
        self.presets = PresetsController(self, self.preset_panel, self.preferences)
        self.open_preset_action, self.save_preset_action = (self.presets.open_preset_action,
                                                            self.presets.save_preset_action)
        self.choose_preset, self.open_preset = self.presets.choose_preset, self.presets.open_preset
        self.save_preset, self.write_preset = self.presets.save_preset, self.presets.write_preset
        self.theme_actions, self.choose_theme = self.theme.theme_actions, self.theme.choose_theme
        self.help = HelpController(self)
        self.show_about, self.show_user_guide = self.help.show_about, self.help.show_user_guide
        self.user_guide_action, self.about_action = self.help.user_guide_action, self.help.about_action
        self.about_data_action = self.help.about_data_action
        self._build_menus()
        self.theme.fill_menu(self.view_menu)
        self.help.fill_menu()
        install_demos_menu(self)
        self._build_layout()
        self._build_status_bar()
        self.diagnostics = install_diagnostics(self)
        self.parameters_panel.link_time_axis(self.recording_panel.response_plot)
        self.preset_panel.preset_changed.connect(self.fit.on_preset_changed)

        self.presets.load_presets()
        if load_sample and SAMPLE_RECORDING.is_file():
            self.open_recording(SAMPLE_RECORDING, remember=False)
        self.restore_layout()
        self.fit.update_controls()
        self.fit.start_engine_warmup()
        self.warmup = self.fit.warmup

    # -- construction -------------------------------------------------------------------------------
    def _action(self, text: str, slot, shortcut: QKeySequence | str | None = None, tip: str = "") -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.setToolTip(tip or text)
        action.setStatusTip(tip or text)
        action.triggered.connect(slot)
        self.addAction(action)  # shortcuts work even when the menu bar is hidden (full screen)
        return action

    def _build_actions(self) -> None:
        self.quit_action = self._action("&Quit", self.close, QKeySequence.StandardKey.Quit, "Quit vbgui.")
        self.fullscreen_action = self._action("&Full screen", self.toggle_full_screen, Qt.Key.Key_F11,
                                              "Toggle full screen (F11).")
        self.reset_layout_action = self._action("&Reset layout", self.reset_layout, None,
                                                "Put the window and its panels back to their default sizes.")
    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        self.recordings.fill_menu(file_menu)
        file_menu.addAction(self.open_result_action)
        file_menu.addSeparator()
        file_menu.addAction(self.open_preset_action)
        file_menu.addAction(self.save_preset_action)
        file_menu.addSeparator()
        self.results.fill_export_menu(file_menu)
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)
        fit_menu = self.menuBar().addMenu("F&it")
        self.fit.fill_menu(fit_menu)
        self.view_menu = self.menuBar().addMenu("&View")
        self.view_menu.addAction(self.fullscreen_action)
        self.view_menu.addAction(self.reset_layout_action)
    def _button(self, action: QAction) -> QPushButton:
        button = QPushButton(action.text().replace("&", ""))
        button.setToolTip(f"{action.toolTip()} [{action.shortcut().toString()}]" if not action.shortcut().isEmpty()
                          else action.toolTip())
        button.clicked.connect(action.trigger)
        return button

    def _build_layout(self) -> None:
        self.run_button = self._button(self.run_action)
        self.pause_button = self._button(self.pause_action)
        self.stop_button = self._button(self.stop_action)
        self.reset_button = self._button(self.reset_action)
        self.save_preset_button = self._button(self.save_preset_action)
        self.run_button.setStyleSheet("font-weight: bold;")
        buttons = QHBoxLayout()
        for button in (self.run_button, self.pause_button, self.stop_button, self.reset_button):
            buttons.addWidget(button)

        preset_box = QGroupBox("Model preset")
        preset_layout = QVBoxLayout(preset_box)
        preset_layout.addWidget(self.preset_panel)
        preset_layout.addWidget(self.save_preset_button)
        fit_box = QGroupBox("Fit")
        fit_layout = QVBoxLayout(fit_box)
        fit_layout.addLayout(buttons)
        fit_layout.addWidget(self.summary_panel)
        # the fit's controls and its numbers on top, never scrolled away; the long preset form scrolls under them
        preset_scroll = QScrollArea()
        preset_scroll.setWidget(preset_box)
        preset_scroll.setWidgetResizable(True)
        preset_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        preset_scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        sidebar = QWidget()
        sidebar.setMinimumWidth(360)
        sidebar_layout = QVBoxLayout(sidebar)
        sidebar_layout.setContentsMargins(4, 4, 4, 4)
        sidebar_layout.addWidget(fit_box)
        sidebar_layout.addWidget(preset_scroll, 1)

        top = QSplitter(Qt.Orientation.Horizontal)
        top.addWidget(self.recording_panel)
        top.addWidget(self.elbo_plot)
        bottom = QSplitter(Qt.Orientation.Horizontal)
        bottom.addWidget(self.posterior_plot)
        bottom.addWidget(self.parameters_panel)
        plots = QSplitter(Qt.Orientation.Vertical)
        plots.addWidget(top)
        plots.addWidget(bottom)
        plots.setStretchFactor(0, 2)
        plots.setStretchFactor(1, 3)
        main = QSplitter(Qt.Orientation.Horizontal)
        main.addWidget(sidebar)
        main.addWidget(plots)
        main.setStretchFactor(1, 1)
        self.splitters = {"main": main, "top": top, "bottom": bottom, "plots": plots}
        for name, splitter in self.splitters.items():
            splitter.setObjectName(f"{name}-splitter")
        self.setCentralWidget(main)

    def _build_status_bar(self) -> None:
        self.status_label = QLabel("")
        self.progress_bar = QProgressBar()
        self.progress_bar.setMinimumWidth(240)
        self.progress_bar.setToolTip("Iterations done out of the preset's maximum.")
        self.idle_progress()
        self.engine_label = QLabel("engine: ready")
        self.engine_label.setToolTip("The numba engine is compiled once per installation (in the background); "
                                     "a fit started before it is ready waits for it.")
        self.statusBar().addWidget(self.status_label, 1)
        self.statusBar().addPermanentWidget(self.engine_label)
        self.statusBar().addPermanentWidget(self.progress_bar)

    def idle_progress(self) -> None:
        """No fit: an empty bar saying so (not "0 / 1 iterations")."""
        self.progress_bar.setRange(0, 1)
        self.progress_bar.setValue(0)
        self.progress_bar.setFormat("no fit")

    # -- messages -----------------------------------------------------------------------------------
    def show_status(self, text: str, error: bool = False) -> None:
        self.status_label.setStyleSheet("color: #B03A00;" if error else "")
        self.status_label.setText(text)

    def show_error(self, title: str, message: str) -> None:
        """Tell the user in a (non-blocking) message box and the status line; the app stays usable."""
        self.last_error = message
        self.show_status(message, error=True)
        if self.error_box is not None:
            self.error_box.close()
        self.error_box = QMessageBox(QMessageBox.Icon.Warning, title, message, QMessageBox.StandardButton.Ok, self)
        self.error_box.open()

    # -- window -------------------------------------------------------------------------------------
    def toggle_full_screen(self) -> None:
        self.setWindowState(self.windowState() ^ Qt.WindowState.WindowFullScreen)

    def restore_layout(self) -> None:
        """The layout saved at the last close, or the default one."""
        geometry, state, splitters = self.preferences.layout()
        if geometry is None or not self.restoreGeometry(geometry):
            self._default_layout()
            return
        if state is not None:
            self.restoreState(state)
        for splitter, saved in zip(self.splitters.values(), splitters):
            splitter.restoreState(saved)

    def _default_layout(self) -> None:
        screen = self.screen()
        available = screen.availableGeometry() if screen is not None else None
        self.apply_default_layout(*default_window_size(available.width() if available else DEFAULT_SIZE[0],
                                                       available.height() if available else DEFAULT_SIZE[1]))

    def apply_default_layout(self, width: int, height: int) -> None:
        """The window at ``width`` x ``height``, its splitters at their default shares, the docks at
        DOCK_HEIGHT_SHARE of the height (the plots keep their minimum heights; a dock's content scrolls)."""
        self.resize(width, height)
        for name, splitter in self.splitters.items():
            splitter.setSizes(list(DEFAULT_SPLITS[name]))
        docks = [dock for dock in self.findChildren(QDockWidget) if not dock.isFloating()]
        if docks:
            dock_height = min(MAX_DOCK_HEIGHT, int(DOCK_HEIGHT_SHARE * height))
            self.resizeDocks(docks, [dock_height] * len(docks), Qt.Orientation.Vertical)

    def reset_layout(self) -> None:
        """View > Reset layout: default window size and panel sizes, and forget the saved ones."""
        self.setWindowState(Qt.WindowState.WindowNoState)
        self._default_layout()
        self.preferences.forget_layout()
        self.show_status("Layout reset to the default.")

    def save_layout(self) -> None:
        self.preferences.save_layout(self.saveGeometry(), self.saveState(),
                                     [splitter.saveState() for splitter in self.splitters.values()])

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 - Qt override
        self.recordings.accept_drag(event)

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 - Qt override
        self.recordings.open_dropped(event)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        """Save the layout, cancel a running fit and join its thread before the window goes."""
        self.save_layout()
        self.fit.shutdown()
        for dialog in (self.error_box, self.variables_dialog):
            if dialog is not None:
                dialog.close()
        self.help.close_dialogs()
        event.accept()
