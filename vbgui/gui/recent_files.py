"""The recently opened recordings, kept in QSettings (organisation "vbgui")."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings

ORGANISATION = "vbgui"
APPLICATION = "vbgui"
RECENT_KEY = "recent_recordings"
MAX_RECENT = 8


def application_settings() -> QSettings:
    """The settings store of vbgui: an INI file in the user scope (tests redirect it with QSettings.setPath)."""
    return QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, ORGANISATION, APPLICATION)


class RecentFiles:
    """Most recent first, no duplicates, at most MAX_RECENT entries."""

    def __init__(self, settings: QSettings) -> None:
        self.settings = settings

    def paths(self) -> list[str]:
        value = self.settings.value(RECENT_KEY, [])
        if isinstance(value, str):  # QSettings returns a lone entry as a plain string
            value = [value]
        return [str(p) for p in value or []]

    def add(self, path: str | Path) -> None:
        text = str(Path(path).resolve())
        paths = [text] + [p for p in self.paths() if p != text]
        self.settings.setValue(RECENT_KEY, paths[:MAX_RECENT])
        self.settings.sync()

    def remove(self, path: str | Path) -> None:
        self.settings.setValue(RECENT_KEY, [p for p in self.paths() if p != str(path)])
        self.settings.sync()
