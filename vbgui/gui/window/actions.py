"""The one way the window's controllers make a menu action."""
from __future__ import annotations

from collections.abc import Callable

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QWidget


def add_action(window: QWidget, text: str, slot: Callable[..., object],
               shortcut: QKeySequence | QKeySequence.StandardKey | str | int | None = None,
               tip: str = "") -> QAction:
    """An action of ``window`` running ``slot``; its shortcut works even when the menu bar is hidden (full screen).

    Parameters
    ----------
    window : QWidget
        The action's parent; the action is added to it so its shortcut is live.
    text : str
        The menu text ('&' marks the mnemonic).
    slot : callable
        Called when the action is triggered.
    shortcut : key sequence, optional
        The keyboard shortcut.
    tip : str, optional
        Tooltip and status tip; ``text`` when empty.
    """
    action = QAction(text, window)
    if shortcut is not None:
        action.setShortcut(QKeySequence(shortcut))
    action.setToolTip(tip or text)
    action.setStatusTip(tip or text)
    action.triggered.connect(slot)
    window.addAction(action)
    return action
