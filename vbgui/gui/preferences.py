"""What the window remembers between launches, in QSettings: layout, last preset and theme.

The recent files live in :mod:`vbgui.gui.recent_files`, in the same store.
"""
from __future__ import annotations

from PySide6.QtCore import QByteArray, QSettings

GEOMETRY_KEY = "window/geometry"
STATE_KEY = "window/state"
SPLITTERS_KEY = "window/splitters"
PRESET_KEY = "last_preset"
THEME_KEY = "theme"
SAVE_FOLDER_KEY = "save_folder"
THEMES = ("light", "dark")


class Preferences:
    """Typed access to the window's settings; every write is synced at once (a crash loses nothing)."""

    def __init__(self, settings: QSettings) -> None:
        self.settings = settings

    def _set(self, key: str, value) -> None:
        self.settings.setValue(key, value)
        self.settings.sync()

    # -- layout -------------------------------------------------------------------------------------
    def save_layout(self, geometry: QByteArray, state: QByteArray, splitters: list[QByteArray]) -> None:
        """The window's geometry, its dock/toolbar state and each splitter's sizes."""
        self.settings.setValue(GEOMETRY_KEY, geometry)
        self.settings.setValue(STATE_KEY, state)
        self._set(SPLITTERS_KEY, splitters)

    def layout(self) -> tuple[QByteArray | None, QByteArray | None, list[QByteArray]]:
        """(geometry, state, splitter states) as saved, or Nones and [] when never saved."""
        splitters = self.settings.value(SPLITTERS_KEY, [])
        if isinstance(splitters, QByteArray):  # a lone entry comes back unwrapped
            splitters = [splitters]
        return (self.settings.value(GEOMETRY_KEY), self.settings.value(STATE_KEY),
                [s for s in splitters or [] if isinstance(s, QByteArray)])

    def forget_layout(self) -> None:
        for key in (GEOMETRY_KEY, STATE_KEY, SPLITTERS_KEY):
            self.settings.remove(key)
        self.settings.sync()

    # -- preset and theme ---------------------------------------------------------------------------
    @property
    def last_preset(self) -> str:
        return str(self.settings.value(PRESET_KEY, "") or "")

    @last_preset.setter
    def last_preset(self, name: str) -> None:
        self._set(PRESET_KEY, name)

    @property
    def save_folder(self) -> str:
        """The folder of the last file saved (export, plot, preset), or '' before the first."""
        return str(self.settings.value(SAVE_FOLDER_KEY, "") or "")

    @save_folder.setter
    def save_folder(self, folder: str) -> None:
        self._set(SAVE_FOLDER_KEY, folder)

    @property
    def theme(self) -> str:
        value = str(self.settings.value(THEME_KEY, THEMES[0]) or THEMES[0])
        return value if value in THEMES else THEMES[0]

    @theme.setter
    def theme(self, name: str) -> None:
        if name not in THEMES:
            raise ValueError(f"unknown theme {name!r}; themes: {', '.join(THEMES)}")
        self._set(THEME_KEY, name)
