"""Run computations off the GUI thread, latest request wins.

A slider can ask for a new fit 60 times a second; fitting each request
would queue work faster than it is done.  :class:`LatestJobRunner` runs
one job at a time in a :class:`~vbgui.gui.background.BackgroundJob` and
keeps only the newest request while one runs: when the running job ends its
result is shown and the newest request starts, so the screen follows the
slider with at most one job of lag.
"""
from __future__ import annotations

from typing import Any, Callable

from PySide6.QtCore import QObject, Signal

from vbgui.gui.background import BackgroundJob


class LatestJobRunner(QObject):
    """``submit(job)``: run ``job()`` in a worker thread; ``finished`` carries its result, ``failed`` a message."""

    finished = Signal(object)
    failed = Signal(str)

    def __init__(self, name: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.name = name
        self._running: BackgroundJob | None = None
        self._pending: Callable[[], Any] | None = None

    @property
    def busy(self) -> bool:
        """Whether a job runs (its outcome not yet handled)."""
        return self._running is not None

    def submit(self, job: Callable[[], Any]) -> None:
        """Run ``job`` now, or after the running job, replacing any request still waiting."""
        self._pending = job
        if not self.busy:
            self._launch()

    def _launch(self) -> None:
        job, self._pending = self._pending, None
        self._running = BackgroundJob(lambda _cancel, _report: job(), self.name)
        self._running.worker.returned.connect(self._on_done)
        self._running.worker.errored.connect(self._on_failed)
        self._running.worker.cancelled.connect(self._next)  # shut down before the job began
        self._running.start()

    def _on_done(self, result: Any) -> None:
        self._next()
        self.finished.emit(result)

    def _on_failed(self, message: str) -> None:
        self._next()
        self.failed.emit(message)

    def _next(self) -> None:
        """Join the job that ended, then start the newest request, if any."""
        if self._running is not None:
            self._running.shutdown()
            self._running = None
        if self._pending is not None:
            self._launch()

    @property
    def thread_running(self) -> bool:
        """Whether a worker thread still runs (false once :meth:`shutdown` has joined it)."""
        return self._running is not None and self._running.is_running()

    def shutdown(self, timeout_ms: int = 10_000) -> bool:
        """Drop waiting requests, let the running one end, join its thread."""
        self._pending = None
        if self._running is None:
            return True
        return self._running.shutdown(timeout_ms)
