"""Compile (or load from numba's cache) the engine in the background while the window is already up.

One warm-up per process, started by the first window, run by a
:class:`~vbgui.gui.background.BackgroundJob`.  A fit started before it ends
does not wait on the GUI thread: the fit worker calls ``warm_up_engine``
too, which blocks on numba's compiler lock in the worker's thread until the
kernels are ready, while the window shows "preparing the engine".
"""
from __future__ import annotations

import time

from PySide6.QtCore import QObject, Signal

from vbgui.core.cancel import CancelToken
from vbgui.gui.background import BackgroundJob, BackgroundWorker


def _warm_up(_cancel: CancelToken, _report) -> float:
    """Compile the engine; return the seconds it took."""
    started = time.perf_counter()
    from vbgui.app.fit import warm_up_engine  # imported here: scipy and numba load off the GUI thread

    warm_up_engine()
    return time.perf_counter() - started


class EngineWarmup(QObject):
    """Runs :func:`warm_up_engine` in the background; ``ready`` (seconds taken) or ``failed`` (a message) follows.

    Create and use it in the GUI thread: its slots, which set :attr:`seconds`
    and :meth:`is_ready`, run there.
    """

    ready = Signal(float)
    failed = Signal(str)

    def __init__(self) -> None:
        super().__init__()
        self.seconds: float | None = None
        self._ended = False
        self._job = BackgroundJob(BackgroundWorker(_warm_up, activity="the engine's warm-up"),
                                  "vbgui-engine-warmup", self)
        self._job.worker.returned.connect(self._on_ready)
        self._job.worker.errored.connect(self._on_failed)  # the fit reports it again where the user acts on it

    def start(self) -> None:
        if not self._job.is_running() and not self._job.thread.isFinished():
            self._job.start()

    def _on_ready(self, seconds: float) -> None:
        self.seconds = seconds
        self._ended = True
        self.ready.emit(seconds)

    def _on_failed(self, message: str) -> None:
        self._ended = True
        self.failed.emit(message)

    def is_ready(self) -> bool:
        """Whether the warm-up has ended (its signal handled in the GUI thread)."""
        return self._ended

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the warm-up's thread ends (for shutdown and scripts, never on the GUI thread while it runs)."""
        return self._job.thread.wait() if timeout is None else self._job.thread.wait(int(timeout * 1000))


_SHARED: EngineWarmup | None = None


def engine_warmup() -> EngineWarmup:
    """The process's one warm-up, started on first use."""
    global _SHARED
    if _SHARED is None:
        _SHARED = EngineWarmup()
        _SHARED.start()
    return _SHARED
