"""Compile (or load from numba's cache) the engine in the background while the window is already up.

One warm-up per process, started by the first window.  A fit started
before it ends does not wait on the GUI thread: the fit worker calls
``warm_up_engine`` too, which blocks on numba's compiler lock in the
worker's thread until the kernels are ready, while the window shows
"preparing the engine".
"""
from __future__ import annotations

import threading
import time

from PySide6.QtCore import QObject, Signal


class EngineWarmup(QObject):
    """Runs :func:`warm_up_engine` in a daemon thread; ``ready`` (seconds taken) is emitted once it is done."""

    ready = Signal(float)
    failed = Signal(str)

    def __init__(self) -> None:
        super().__init__()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name="vbgui-engine-warmup", daemon=True)
        self.seconds: float | None = None

    def start(self) -> None:
        if not self._thread.is_alive() and not self._done.is_set():
            self._thread.start()

    def _run(self) -> None:
        started = time.perf_counter()
        try:
            from vbgui.app.fit import warm_up_engine  # imported here: scipy and numba load off the GUI thread

            warm_up_engine()
        except Exception as exc:  # noqa: BLE001 - the fit will report it again where the user acts on it
            self._done.set()
            self.failed.emit(f"{exc.__class__.__name__}: {exc}")
            return
        self.seconds = time.perf_counter() - started
        self._done.set()
        self.ready.emit(self.seconds)

    def is_ready(self) -> bool:
        return self._done.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the warm-up ends (for shutdown and scripts, never on the GUI thread while it runs)."""
        return self._done.wait(timeout)


_SHARED: EngineWarmup | None = None


def engine_warmup() -> EngineWarmup:
    """The process's one warm-up, started on first use."""
    global _SHARED
    if _SHARED is None:
        _SHARED = EngineWarmup()
        _SHARED.start()
    return _SHARED
