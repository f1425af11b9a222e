"""The demos window: the six demonstrations, their keys, presentation mode, exports and scene files.

Keys (window-wide, so they work in full screen with every panel hidden):
F5 presentation mode, Esc leaves it; arrows move the demonstration's
slider (rho); Space runs or pauses; R restarts; N next demonstration;
E shows or hides the explanation; D switches the dark theme.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import QComboBox, QFileDialog, QLabel, QMainWindow, QMessageBox, QStackedWidget, QWidget

from vbgui.app.demos import DEMO_NAMES, DEMOS, DemoScene, load_scene, save_scene
from vbgui.errors import VbguiError
from vbgui.gui.demos.amortised import AmortisedPage
from vbgui.gui.demos.collinear import CollinearPage
from vbgui.gui.demos.correlated import CorrelatedGaussianPage
from vbgui.gui.demos.frames import FRAMES_PER_SECOND, existing_frames, export_frames
from vbgui.gui.demos.heavy_tails import HeavyTailsPage
from vbgui.gui.demos.noisy_gradients import NoisyGradientsPage
from vbgui.gui.demos.page import DemoPage
from vbgui.gui.demos.theme import DARK, DESK, LIGHT, PRESENTATION
from vbgui.gui.demos.two_modes import TwoModesPage
from vbgui.gui.export import EXPORT_FILTER, export_plot

PAGES: dict[str, type[DemoPage]] = {page.demo_name: page for page in (
    CorrelatedGaussianPage, CollinearPage, HeavyTailsPage, TwoModesPage, NoisyGradientsPage, AmortisedPage)}
SCENE_FILTER = "vbgui demo scenes (*.json);;All files (*)"


class DemosWindow(QMainWindow):
    """All demonstrations in a stack; ``demo_changed`` (name) is emitted when another one is shown."""

    demo_changed = Signal(str)

    def __init__(self, demo_name: str = DEMO_NAMES[0], parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.setWindowTitle("vbgui — talk mode")
        self.presenting = False
        self.theme = LIGHT
        self.pages = {name: PAGES[name]() for name in DEMO_NAMES}
        self.stack = QStackedWidget()
        for page in self.pages.values():
            self.stack.addWidget(page)
        self.setCentralWidget(self.stack)
        self.status = QLabel("")
        self.statusBar().addWidget(self.status, 1)
        self._build_actions()
        self._build_toolbar_and_menus()
        self.show_demo(demo_name)

    # -- construction -------------------------------------------------------------------------------
    def _action(self, text: str, slot, keys: tuple[QKeySequence | str | Qt.Key, ...] = (), tip: str = "",
                checkable: bool = False) -> QAction:
        action = QAction(text, self)
        action.setShortcuts([QKeySequence(key) for key in keys])
        action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        action.setCheckable(checkable)
        shown_keys = ", ".join(QKeySequence(key).toString() for key in keys)
        action.setToolTip(f"{tip or text} [{shown_keys}]" if keys else tip or text)
        action.triggered.connect(slot)
        self.addAction(action)  # shortcuts keep working with the menu bar and toolbar hidden
        return action

    def _build_actions(self) -> None:
        self.presentation_action = self._action("&Presentation", self.toggle_presentation, (Qt.Key.Key_F5,),
                                                "Full screen, large fonts, controls hidden; Esc leaves",
                                                checkable=True)
        self.leave_action = self._action("Leave presentation", lambda: self.set_presentation(False),
                                         (Qt.Key.Key_Escape,))
        self.dark_action = self._action("&Dark theme", self.toggle_dark, (Qt.Key.Key_D,),
                                        "High-contrast dark theme (light otherwise)", checkable=True)
        self.explanation_action = self._action("&Explanation", self.toggle_explanation, (Qt.Key.Key_E,),
                                               "Show or hide the explanation in plain words", checkable=True)
        self.explanation_action.setChecked(True)
        self.run_action = self._action("Run / &pause", lambda: self.page.toggle_running(), (Qt.Key.Key_Space,))
        self.restart_action = self._action("&Restart", lambda: self.page.restart(), (Qt.Key.Key_R,))
        self.next_action = self._action("&Next demo", self.next_demo, (Qt.Key.Key_N,))
        self.up_action = self._action("ρ up", lambda: self.page.step(1), (Qt.Key.Key_Up, Qt.Key.Key_Right),
                                      "Move the slider (ρ) up")
        self.down_action = self._action("ρ down", lambda: self.page.step(-1), (Qt.Key.Key_Down, Qt.Key.Key_Left),
                                        "Move the slider (ρ) down")
        self.export_plot_action = self._action("Export &plots (PNG/SVG)…", self.choose_plot_export,
                                               (QKeySequence("Ctrl+E"),))
        self.export_frames_action = self._action("Export &animation frames…", self.choose_frames_export,
                                                 (QKeySequence("Ctrl+Shift+E"),))
        self.save_scene_action = self._action("&Save scene…", self.choose_scene_save, (QKeySequence.StandardKey.Save,))
        self.open_scene_action = self._action("&Open scene…", self.choose_scene_open, (QKeySequence.StandardKey.Open,))
        self.demo_actions = {}
        for index, info in enumerate(DEMOS):
            self.demo_actions[info.name] = self._action(f"&{index + 1}  {info.title}",
                                                        lambda _=False, n=info.name: self.show_demo(n),
                                                        (QKeySequence(f"Ctrl+{index + 1}"),))

    def _build_toolbar_and_menus(self) -> None:
        self.chooser = QComboBox()
        self.chooser.addItems([f"{k + 1}. {info.title}" for k, info in enumerate(DEMOS)])
        self.chooser.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # arrows belong to rho, not to this list
        self.chooser.activated.connect(lambda index: self.show_demo(DEMO_NAMES[index]))
        self.toolbar = self.addToolBar("Talk mode")
        self.toolbar.setMovable(False)
        self.toolbar.addWidget(self.chooser)
        for action in (self.presentation_action, self.dark_action, self.explanation_action, self.run_action,
                       self.restart_action, self.next_action, self.export_plot_action, self.export_frames_action,
                       self.save_scene_action, self.open_scene_action):
            self.toolbar.addAction(action)
        file_menu = self.menuBar().addMenu("&File")
        for action in (self.open_scene_action, self.save_scene_action, self.export_plot_action,
                       self.export_frames_action):
            file_menu.addAction(action)
        demo_menu = self.menuBar().addMenu("&Demos")
        for action in self.demo_actions.values():
            demo_menu.addAction(action)
        demo_menu.addSeparator()
        for action in (self.next_action, self.run_action, self.restart_action, self.up_action, self.down_action):
            demo_menu.addAction(action)
        view_menu = self.menuBar().addMenu("&View")
        for action in (self.presentation_action, self.dark_action, self.explanation_action):
            view_menu.addAction(action)

    # -- demos --------------------------------------------------------------------------------------
    @property
    def page(self) -> DemoPage:
        return self.stack.currentWidget()

    @property
    def demo_name(self) -> str:
        return self.page.demo_name

    def show_demo(self, name: str) -> None:
        if name not in self.pages:
            raise VbguiError(f"no demonstration '{name}'; choose one of {', '.join(DEMO_NAMES)}")
        page = self.pages[name]
        self.stack.setCurrentWidget(page)
        self.chooser.setCurrentIndex(DEMO_NAMES.index(name))
        page.ensure_started()
        self.status.setText(page.info.title)
        self.demo_changed.emit(name)

    def next_demo(self) -> None:
        self.show_demo(DEMO_NAMES[(DEMO_NAMES.index(self.demo_name) + 1) % len(DEMO_NAMES)])

    # -- view ---------------------------------------------------------------------------------------
    def _restyle(self) -> None:
        sizes = PRESENTATION if self.presenting else DESK
        for page in self.pages.values():
            page.apply_style(self.theme, sizes)

    def toggle_presentation(self) -> None:
        self.set_presentation(not self.presenting)

    def set_presentation(self, on: bool) -> None:
        """Full screen with large fonts and thick lines and without panels, or back to the desk."""
        if on == self.presenting:
            self.presentation_action.setChecked(on)
            return
        self.presenting = on
        self.presentation_action.setChecked(on)
        for bar in (self.menuBar(), self.toolbar, self.statusBar()):
            bar.setVisible(not on)
        for page in self.pages.values():
            page.set_presentation(on)
        self._restyle()
        if on:
            self.setGeometry(self.screen().geometry())  # without a window manager (Xvfb) full screen is a hint only
            self.showFullScreen()
        else:
            self.showNormal()

    def toggle_dark(self) -> None:
        self.theme = DARK if self.theme is LIGHT else LIGHT
        self.dark_action.setChecked(self.theme is DARK)
        self._restyle()

    def toggle_explanation(self) -> None:
        visible = not self.page.explanation.isVisible()
        self.explanation_action.setChecked(visible)
        for page in self.pages.values():
            page.set_explanation_visible(visible)

    # -- files --------------------------------------------------------------------------------------
    def _report(self, text: str) -> None:
        self.status.setText(text)

    def choose_plot_export(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export the plots", f"{self.demo_name}.png", EXPORT_FILTER)
        if path:
            self.export_plots(path, force=True)  # the save dialog asked before replacing

    def export_plots(self, path: str | Path, force: bool = False) -> Path | None:
        """The current demonstration's plots as PNG or SVG (pyqtgraph's exporter; SVG through Qt);
        an existing file is replaced only with ``force``."""
        try:
            written = export_plot(self.page.graphics, path, force=force)
        except VbguiError as exc:
            self._report(str(exc))
            return None
        self._report(f"Saved the plots to {written}")
        return written

    def choose_frames_export(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Folder for the animation frames")
        if not folder:
            return
        target = Path(folder) / f"{self.demo_name}-frames"
        earlier = existing_frames(target)
        if earlier:
            answer = QMessageBox.question(self, "Replace the frames?",
                                          f"{target}\nholds {len(earlier)} frames of an earlier export. Replace them?",
                                          QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                                          QMessageBox.StandardButton.No)
            if answer != QMessageBox.StandardButton.Yes:
                self._report(f"Not exported: the frames in {target} were kept.")
                return
        self.export_animation(target, force=bool(earlier))

    def export_animation(self, folder: str | Path, frames_per_second: float = FRAMES_PER_SECOND,
                         force: bool = False) -> list[Path]:
        """The current run as numbered PNG frames of the stage (see :mod:`vbgui.gui.demos.frames`);
        frames of an earlier export are replaced only with ``force``."""
        try:
            written = export_frames(self.page, folder, frames_per_second, force=force)
        except VbguiError as exc:
            self._report(str(exc))
            return []
        self._report(f"Saved {len(written)} frames to {folder}")
        return written

    def choose_scene_save(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save the scene", f"{self.demo_name}.json", SCENE_FILTER)
        if path:
            self.save_scene(path)

    def save_scene(self, path: str | Path) -> bool:
        try:
            save_scene(self.page.scene(), path)
        except VbguiError as exc:
            self._report(str(exc))
            return False
        self._report(f"Saved the scene to {path}")
        return True

    def choose_scene_open(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a scene", "", SCENE_FILTER)
        if path:
            self.open_scene(path)

    def open_scene(self, path: str | Path) -> DemoScene | None:
        """Show the scene's demonstration in the scene's state, replayed from its start."""
        try:
            scene = load_scene(path)
            self.show_demo(scene.demo)
            self.page.apply_scene(scene)
        except VbguiError as exc:
            self._report(str(exc))
            return None
        self._report(f"Opened the scene {path}")
        return scene

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        """Stop every demonstration's timers and join its threads before the window goes."""
        for page in self.pages.values():
            page.shutdown()
        event.accept()
