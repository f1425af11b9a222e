"""Windows of their own (talk mode, the Latents view) that close when the main window closes."""
from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QWidget


class CloseWithOwner(QObject):
    """An event filter for the main window: when it closes, ``find(main window)`` is closed too (when it
    exists; closing lets the window join its threads)."""

    def __init__(self, find: Callable[[QObject], QWidget | None], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._find = find

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if event.type() == QEvent.Type.Close:
            window = self._find(watched)
            if window is not None:
                window.close()
        return False
