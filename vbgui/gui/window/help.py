"""Help: the user guide window and the About box (vbgui, and the sample data's licence and citation)."""
from __future__ import annotations

from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QMainWindow

from vbgui.gui.about import AboutDialog
from vbgui.gui.user_guide import ONLINE_HINT, UserGuide, find_user_guide
from vbgui.gui.window.actions import add_action


class HelpController:
    """The Help menu's actions and the dialogs they open (created on first use, then reused)."""

    def __init__(self, window: QMainWindow) -> None:
        self.window = window
        self.about_dialog: AboutDialog | None = None
        self.user_guide: UserGuide | None = None
        self.user_guide_action = add_action(window, "&User guide", self.show_user_guide,
                                            QKeySequence.StandardKey.HelpContents,
                                            "Open the user guide: fitting the sample recording in five steps (F1).")
        self.about_action = add_action(window, "&About vbgui", lambda: self.show_about("vbgui"), None,
                                       "Version, licence and the versions of Qt, numpy and numba in use.")
        self.about_data_action = add_action(window, "About the sample &data", lambda: self.show_about("data"), None,
                                            "Licence and citation of the shipped grasshopper recordings.")

    def fill_menu(self) -> None:
        """Add the Help menu to the window's menu bar."""
        help_menu = self.window.menuBar().addMenu("&Help")
        help_menu.addAction(self.user_guide_action)
        help_menu.addSeparator()
        help_menu.addAction(self.about_data_action)
        help_menu.addAction(self.about_action)

    def show_about(self, tab: str = "vbgui") -> None:
        """The About box, on its vbgui tab or its Data tab (licence and citation of the sample recordings)."""
        if self.about_dialog is None:
            self.about_dialog = AboutDialog(self.window)
        self.about_dialog.tabs.setCurrentIndex(1 if tab == "data" else 0)
        self.about_dialog.show()
        self.about_dialog.raise_()

    def show_user_guide(self) -> None:
        """The user guide window, or an error naming where to read it online when it is not installed."""
        guide = find_user_guide()
        if guide is None:
            self.window.show_error("User guide not installed", ONLINE_HINT)
            return
        if self.user_guide is None:
            self.user_guide = UserGuide(guide, self.window)
        self.user_guide.show()
        self.user_guide.raise_()

    def close_dialogs(self) -> None:
        """Close the dialogs this controller opened (when the window closes)."""
        for dialog in (self.about_dialog, self.user_guide):
            if dialog is not None:
                dialog.close()
