"""The main window: assembles the panels, the menus and the controllers of :mod:`vbgui.gui.window`.

Each concern of the window is a controller of its own, in a module named
after it: :mod:`~vbgui.gui.window.recordings`, :mod:`~vbgui.gui.window.presets`,
:mod:`~vbgui.gui.window.population` (the Population dock),
:mod:`~vbgui.gui.window.fit_control`, :mod:`~vbgui.gui.window.results` (export
and reopen), :mod:`~vbgui.gui.window.theme`, :mod:`~vbgui.gui.window.layout`
and :mod:`~vbgui.gui.window.help`; the diagnostics dock is installed by
:mod:`vbgui.gui.diagnostics_controller` and the Demos menu by
:mod:`vbgui.gui.demos.menu`.  The window owns the panels, the status line
and the error box, and keeps the controllers' public attributes and methods
under their old names (``window.run_fit``, ``window.recording``, ...) for
scripts, tests and the other modules.
"""
from __future__ import annotations

from PySide6.QtCore import QSettings, Signal
from PySide6.QtGui import QCloseEvent, QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import QMainWindow, QMessageBox

from vbgui.gui.demos.menu import install_demos_menu
from vbgui.gui.diagnostics_controller import install_diagnostics
from vbgui.gui.elbo_plot import ElboPlot
from vbgui.gui.parameters_panel import ParametersPanel
from vbgui.gui.posterior_plot import PosteriorPlot
from vbgui.gui.preferences import Preferences
from vbgui.gui.preset_panel import PresetPanel
from vbgui.gui.recent_files import RecentFiles, application_settings
from vbgui.gui.recording_panel import RecordingPanel
from vbgui.gui.style import TEXT_COLOURS
from vbgui.gui.summary_panel import SummaryPanel
from vbgui.gui.window.actions import add_action
from vbgui.gui.window.fit_control import FitController
from vbgui.gui.window.help import HelpController
from vbgui.gui.window.layout import DEFAULT_SIZE, WindowLayout, default_window_size
from vbgui.gui.window.population import install_population
from vbgui.gui.window.presets import DEFAULT_PRESET, PresetsController
from vbgui.gui.window.recordings import SAMPLE_RECORDING, RecordingsController
from vbgui.gui.window.results import ResultsController
from vbgui.gui.window.theme import ThemeController

__all__ = ["DEFAULT_PRESET", "DEFAULT_SIZE", "SAMPLE_RECORDING", "MainWindow", "default_window_size"]


class MainWindow(QMainWindow):
    """The vbgui application window.

    ``fit_started``, then ``fit_finished`` (FitResult, or LdsFitResult for a
    latent-dynamics preset) or ``fit_failed`` (message) are emitted after the
    window has shown a fit's start and end (a latent-dynamics pair refused by
    its checks emits only ``fit_failed``),
    for tests and scripts; ``result_reopened`` (FitResult) after it has shown
    a fit read from its file, ``fit_cleared`` when it no longer shows any fit (Reset).
    """

    fit_started = Signal()
    fit_finished = Signal(object)
    fit_failed = Signal(str)
    fit_cleared = Signal()
    result_reopened = Signal(object)

    # the controllers' state, read through the window
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
        self._delegate(self.recordings, "open_action", "open_recording", "choose_recording", "select_unit",
                       "start_folder")
        self.results = ResultsController(self, self.preferences)
        self._delegate(self.results, "open_result_action", "export_action", "export_plot_actions", "export_plot",
                       "export_result", "write_result", "open_result", "save_folder", "plot_views")
        self.fit = FitController(self)
        self._delegate(self.fit, "run_action", "pause_action", "stop_action", "reset_action", "repaint_timer",
                       "repaint_fit", "run_fit", "toggle_pause", "stop_fit", "reset_fit", "is_fitting",
                       "refresh_model_layout")
        self.window_layout = WindowLayout(self, self.preferences)
        self._delegate(self.window_layout, "fullscreen_action", "reset_layout_action", "splitters", "idle_progress",
                       "apply_default_layout", "restore_layout", "reset_layout", "save_layout", "toggle_full_screen")
        self.quit_action = add_action(self, "&Quit", self.close, QKeySequence.StandardKey.Quit, "Quit vbgui.")
        self.theme = ThemeController(self, self.preferences)
        self._delegate(self.theme, "theme_actions", "choose_theme")
        self.presets = PresetsController(self, self.preset_panel, self.preferences)
        self._delegate(self.presets, "open_preset_action", "save_preset_action", "choose_preset", "open_preset",
                       "save_preset", "write_preset")
        self.help = HelpController(self)
        self._delegate(self.help, "user_guide_action", "about_action", "about_data_action", "show_about",
                       "show_user_guide")

        self._build_menus()
        install_demos_menu(self)
        self.window_layout.build()
        self.diagnostics = install_diagnostics(self)
        self.population = install_population(self)  # tabbed with the diagnostics dock
        self.parameters_panel.link_time_axis(self.recording_panel.response_plot)
        self.preset_panel.preset_changed.connect(self.fit.on_preset_changed)

        self.presets.load_presets()
        if load_sample and SAMPLE_RECORDING.is_file():
            self.open_recording(SAMPLE_RECORDING, remember=False)
        self.restore_layout()
        self.population.match_dock_to_recording()
        # dock or tab before the first layout pass, so the restored splitter sizes fit the room they get
        self.diagnostics.placement.update_placement()
        self.fit.update_controls()
        self.fit.start_engine_warmup()
        self.warmup = self.fit.warmup

    def _delegate(self, controller: object, *names: str) -> None:
        """Expose the controller's attributes ``names`` as the window's own (the window's public API)."""
        for name in names:
            setattr(self, name, getattr(controller, name))

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
        self.fit.fill_menu(self.menuBar().addMenu("F&it"))
        view_menu = self.menuBar().addMenu("&View")
        self.window_layout.fill_menu(view_menu)
        view_menu.addAction(self.fit.lds.latents_action)
        self.theme.fill_menu(view_menu)
        self.help.fill_menu()

    # -- messages -----------------------------------------------------------------------------------
    def show_status(self, text: str, error: bool = False) -> None:
        """Show ``text`` in the status line, in the error colour when ``error``."""
        self.status_label.setStyleSheet(f"color: {TEXT_COLOURS['poor']};" if error else "")
        self.status_label.setText(text)

    def show_error(self, title: str, message: str) -> None:
        """Tell the user in a (non-blocking) message box and the status line; the app stays usable."""
        self.last_error = message
        self.show_status(message, error=True)
        if self.error_box is not None:
            self.error_box.close()
        self.error_box = QMessageBox(QMessageBox.Icon.Warning, title, message, QMessageBox.StandardButton.Ok, self)
        self.error_box.open()

    # -- Qt events ----------------------------------------------------------------------------------
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
