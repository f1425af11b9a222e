"""Run computations off the GUI thread, latest request wins.

A slider can ask for a new fit 60 times a second; fitting each request
would queue work faster than it is done.  :class:`LatestJobRunner` runs
one job at a time in its own QThread and keeps only the newest request
while one runs: when the running job ends its result is shown and the
newest request starts, so the screen follows the slider with at most one
job of lag.
"""
from __future__ import annotations

import traceback
from typing import Any, Callable

from PySide6.QtCore import QObject, QThread, Signal, Slot

from vbgui.errors import VbguiError


class _Worker(QObject):
    done = Signal(object)
    failed = Signal(str)

    @Slot(object)
    def run(self, job: Callable[[], Any]) -> None:
        try:
            self.done.emit(job())
        except VbguiError as exc:
            self.failed.emit(str(exc))
        except Exception as exc:  # noqa: BLE001 - a bug must reach the screen, not kill the thread
            traceback.print_exc()
            self.failed.emit(f"unexpected error ({exc.__class__.__name__}: {exc})")


class LatestJobRunner(QObject):
    """``submit(job)``: run ``job()`` in the worker thread; ``finished`` carries its result."""

    finished = Signal(object)
    failed = Signal(str)
    _start = Signal(object)

    def __init__(self, name: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._thread = QThread()
        self._thread.setObjectName(name)
        self._worker = _Worker()
        self._worker.moveToThread(self._thread)
        self._start.connect(self._worker.run)
        self._worker.done.connect(self._on_done)
        self._worker.failed.connect(self._on_failed)
        self._pending: Callable[[], Any] | None = None
        self.busy = False
        self._thread.start()

    def submit(self, job: Callable[[], Any]) -> None:
        """Run ``job`` now, or after the running job, replacing any request still waiting."""
        self._pending = job
        if not self.busy:
            self._launch()

    def _launch(self) -> None:
        job, self._pending = self._pending, None
        self.busy = True
        self._start.emit(job)

    def _on_done(self, result: Any) -> None:
        self._next()
        self.finished.emit(result)

    def _on_failed(self, message: str) -> None:
        self._next()
        self.failed.emit(message)

    def _next(self) -> None:
        self.busy = False
        if self._pending is not None:
            self._launch()

    @property
    def thread_running(self) -> bool:
        """Whether the worker thread still runs (false once :meth:`shutdown` has joined it)."""
        return self._thread.isRunning()

    def shutdown(self, timeout_ms: int = 10_000) -> bool:
        """Drop waiting requests, let the running one end, join the thread."""
        self._pending = None
        self._thread.quit()
        return self._thread.wait(timeout_ms)
