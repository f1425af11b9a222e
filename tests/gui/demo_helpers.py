"""Helpers the talk-mode demo tests share."""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from vbgui.gui.demos.window import DemosWindow

SETTLE_MS = 60_000


@contextmanager
def settled_demo(qtbot, name: str) -> Iterator[DemosWindow]:
    """The demos window on demo ``name``, shown at 1400 x 900 and settled (its first fits drawn); closed after."""
    window = DemosWindow(name)
    qtbot.addWidget(window)
    window.resize(1400, 900)
    window.show()
    qtbot.waitExposed(window)
    qtbot.waitUntil(window.page.settled, timeout=SETTLE_MS)
    yield window
    window.close()
