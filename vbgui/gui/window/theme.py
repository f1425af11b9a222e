"""The theme: View > Theme's choice of light or dark, remembered for the next start.

The palette itself is applied once, at start-up, by :mod:`vbgui.gui.style`;
this controller only records the user's choice in the preferences.
"""
from __future__ import annotations

from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import QMainWindow, QMenu

from vbgui.gui.preferences import THEMES, Preferences
from vbgui.gui.window.actions import add_action


class ThemeController:
    """One checkable action per theme in ``THEMES``, exclusive, checked on the preferred one."""

    def __init__(self, window: QMainWindow, preferences: Preferences) -> None:
        self.window = window
        self.preferences = preferences
        self.theme_group = QActionGroup(window)
        self.theme_actions: dict[str, QAction] = {}
        for theme in THEMES:
            action = add_action(window, f"{theme.capitalize()} theme", lambda _=False, t=theme: self.choose_theme(t),
                                None, f"Use the {theme} theme (applies when vbgui next starts).")
            action.setCheckable(True)
            action.setChecked(theme == preferences.theme)
            self.theme_group.addAction(action)
            self.theme_actions[theme] = action

    def fill_menu(self, view_menu: QMenu) -> None:
        """Add the Theme submenu to ``view_menu``."""
        theme_menu = view_menu.addMenu("&Theme")
        for action in self.theme_actions.values():
            theme_menu.addAction(action)

    def choose_theme(self, theme: str) -> None:
        """Remember ``theme`` (one of THEMES) for the next start and say so."""
        self.preferences.theme = theme
        self.window.show_status(f"The {theme} theme applies when vbgui next starts.")
