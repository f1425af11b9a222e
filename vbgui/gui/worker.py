"""The fit worker: a QObject living in its own QThread that drives a FitSession.

The worker builds the session, warms the numba engine up, computes the
reference posterior and then pulls :meth:`FitSession.steps` one iteration
at a time.  It never touches a widget: it records every iteration in a
:class:`TraceBuffer` and emits Qt signals, at most every
``PROGRESS_INTERVAL`` seconds for progress, so a fit running thousands of
iterations per second cannot flood the GUI thread's event queue.

:meth:`FitWorker.start` runs in the worker thread (queued from
``QThread.started``).  :meth:`pause`, :meth:`resume` and :meth:`stop` are
thread-safe and meant to be called directly from the GUI thread: the
worker's own event loop is busy while it fits, so queued calls would wait
for the fit to end.
"""
from __future__ import annotations

import threading
import time
import traceback
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QObject, QThread, Signal, Slot

from vbgui.errors import VbguiError
from vbgui.io.recording import Recording
from vbgui.models.preset import Preset

if TYPE_CHECKING:  # the engine (scipy, numba) is imported by the worker thread, not while the window opens
    from vbgui.app.fit import FitProgress, FitSession
    from vbgui.app.shown_reference import ShownReference

PROGRESS_INTERVAL = 0.02  # seconds between progress signals


@dataclass(frozen=True, eq=False)
class FitSetup:
    """What the window needs before the first iteration: the session and the reference (or None)."""

    session: FitSession
    reference: ShownReference | None


class TraceBuffer:
    """The ELBO, accuracy and complexity of every iteration so far, in growing arrays.

    Written by the worker thread, read by the GUI thread; ``arrays()``
    returns views of the filled part that later appends never modify.
    """

    def __init__(self, capacity: int = 256) -> None:
        self._lock = threading.Lock()
        self._data = np.empty((4, max(1, capacity)))
        self._count = 0

    def append(self, progress: FitProgress) -> None:
        with self._lock:
            if self._count == self._data.shape[1]:
                grown = np.empty((4, 2 * self._data.shape[1]))
                grown[:, :self._count] = self._data[:, :self._count]
                self._data = grown
            terms = progress.terms
            self._data[:, self._count] = (progress.iteration, terms.elbo, terms.expected_log_likelihood, terms.kl)
            self._count += 1

    def __len__(self) -> int:
        return self._count

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(iteration, elbo, expected_log_likelihood, kl), each (n,)."""
        with self._lock:
            filled = self._data[:, :self._count]
            return filled[0], filled[1], filled[2], filled[3]


class FitWorker(QObject):
    """Runs one fit of ``preset`` on ``recording``; create one per fit."""

    engine_ready = Signal(object)   # FitSetup, once the engine is compiled and the session built
    progress = Signal(object)       # the latest FitProgress (throttled)
    finished = Signal(object)       # FitResult
    failed = Signal(str)            # a message for the user

    def __init__(self, preset: Preset, recording: Recording) -> None:
        super().__init__()
        self.preset = preset
        self.recording = recording
        self.trace = TraceBuffer(min(preset.fit.max_iter, 100_000))
        self._session: FitSession | None = None
        self._stop_requested = threading.Event()
        self._running = threading.Event()
        self._running.set()
        self._latest: FitProgress | None = None

    @property
    def latest(self) -> FitProgress | None:
        """The most recent iteration reached (thread-safe read)."""
        return self._latest

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    @Slot()
    def start(self) -> None:
        """Build the session, warm up, compute the reference, then fit (runs in the worker thread)."""
        from vbgui.core.cancel import FitCancelled

        try:
            # inside the try: an engine that cannot be imported (a broken install or bundle) is reported
            # like any failure, instead of leaving the window waiting for a fit that never starts
            from vbgui.app.fit import FitSession, warm_up_engine
            from vbgui.app.shown_reference import reference_posterior

            session = FitSession(self.preset, self.recording)
            self._session = session
            if self._stop_requested.is_set():
                session.cancel.cancel()
            warm_up_engine()
            reference = None if self._stop_requested.is_set() else reference_posterior(session)
            self.engine_ready.emit(FitSetup(session, reference))
            self.finished.emit(self._drive(session))
        except FitCancelled:
            self.failed.emit("stopped before the first iteration")
        except VbguiError as exc:
            self.failed.emit(str(exc))
        except Exception as exc:  # noqa: BLE001 - an engine bug must reach the user, not kill the thread
            traceback.print_exc()
            self.failed.emit(f"unexpected error in the fit ({exc.__class__.__name__}: {exc})")

    def _drive(self, session: FitSession):
        steps = session.steps()
        last_emit = 0.0
        while True:
            self._running.wait()
            try:
                progress = next(steps)
            except StopIteration as stop:
                if self._latest is not None:
                    self.progress.emit(self._latest)
                return stop.value
            self.trace.append(progress)
            self._latest = progress
            now = time.perf_counter()
            if now - last_emit >= PROGRESS_INTERVAL:
                last_emit = now
                self.progress.emit(progress)

    def pause(self) -> None:
        """Stop pulling iterations after the current one (thread-safe)."""
        if not self._stop_requested.is_set():
            self._running.clear()

    def resume(self) -> None:
        """Continue a paused fit (thread-safe)."""
        self._running.set()

    def stop(self) -> None:
        """Cancel the fit: the engine stops inside its current pass and the fit ends 'cancelled'."""
        self._stop_requested.set()
        if self._session is not None:
            self._session.cancel.cancel()
        self._running.set()


class FitRunner(QObject):
    """Owns one worker and its thread: starts them, forwards controls, joins on shutdown."""

    def __init__(self, preset: Preset, recording: Recording, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.worker = FitWorker(preset, recording)
        self.thread = QThread()
        self.thread.setObjectName("vbgui-fit")
        self.worker.moveToThread(self.thread)
        self.thread.started.connect(self.worker.start)
        self.worker.finished.connect(self.thread.quit)
        self.worker.failed.connect(self.thread.quit)

    def start(self) -> None:
        """Start the thread; connect to the worker's signals before calling this."""
        self.thread.start()

    def is_running(self) -> bool:
        return self.thread.isRunning()

    def shutdown(self, timeout_ms: int = 30_000) -> bool:
        """Cancel the fit and join the thread; True when the thread has ended."""
        self.worker.stop()
        self.thread.quit()
        return self.thread.wait(timeout_ms)
