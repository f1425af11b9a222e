"""What the screenshot scripts share: wait for the window, then save a picture of a widget."""
from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import QEventLoop, QPoint, QRect, Qt
from PySide6.QtWidgets import QApplication, QWidget

MAX_BYTES = 300 * 1024  # pictures in docs/ stay small


def wait_until(app: QApplication, condition, timeout: float = 60.0) -> None:
    """Process events until ``condition()`` holds; raise TimeoutError after ``timeout`` seconds."""
    deadline = time.perf_counter() + timeout
    while not condition():
        if time.perf_counter() > deadline:
            raise TimeoutError("the window did not reach the expected state")
        app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)
        time.sleep(0.005)


def settle(app: QApplication, seconds: float = 0.5) -> None:
    """Let the event loop run for ``seconds`` (animations, deferred repaints)."""
    end = time.perf_counter() + seconds
    wait_until(app, lambda: time.perf_counter() > end)


def below(window: QWidget, widget: QWidget) -> QRect:
    """The part of ``window`` from the top of ``widget`` (one of its children) down, full width."""
    top = widget.mapTo(window, QPoint(0, 0)).y()
    return QRect(0, top, window.width(), window.height() - top)


def grab(widget: QWidget, path: Path, width: int | None = None, region: QRect | None = None) -> None:
    """Save a picture of ``widget`` (of its ``region`` only, when given; scaled to ``width`` pixels when
    given); one for docs/ over MAX_BYTES is an error."""
    image = widget.grab(region) if region is not None else widget.grab()
    if width is not None:
        image = image.scaledToWidth(width, Qt.TransformationMode.SmoothTransformation)
    if not image.save(str(path)):
        raise OSError(f"cannot write {path}")
    size = path.stat().st_size
    print(f"wrote {path} ({size // 1024} KB)")
    if size > MAX_BYTES and "docs" in path.resolve().parts:
        raise SystemExit(f"{path} is larger than {MAX_BYTES // 1024} KB")
