"""The one background worker of the GUI: a task run in its own QThread, its outcome turned into signals.

A *task* is a function ``task(cancel, report)`` of a
:class:`~vbgui.core.cancel.CancelToken` and a ``report(value)`` callback.
It is either a generator function (each yielded value is reported, its
return value is the outcome: a fit's iterations) or a plain function that
calls ``report`` as it goes (diagnostics, a batch) and returns the outcome.
:class:`BackgroundWorker` (a QObject moved to the job's QThread) runs it and
emits

- ``yielded(value)``: throttled, at most one per ``min_interval`` seconds,
  and the last value always before the end, so a task reporting thousands
  of times a second cannot flood the GUI thread;
- then exactly one of ``returned(value)``, ``cancelled()`` (the task raised
  :class:`~vbgui.core.cancel.FitCancelled`) or ``errored(message)``: a
  :class:`~vbgui.errors.VbguiError`'s own message, or "unexpected error
  (Type: message)" for any other exception, whose traceback goes to stderr.

:meth:`BackgroundWorker.pause`, :meth:`~BackgroundWorker.resume` and
:meth:`~BackgroundWorker.abort` are thread-safe and meant to be called from
the GUI thread (the worker thread is busy running the task, so queued calls
would wait for its end).  Pause holds the task at its next yield or report.
Abort sets the task's cancel token, so the engine stops inside its current
pass, and raises FitCancelled inside a generator at its next yield: a
generator that ignores the token still stops there, and one that wants to
wind up (a fit returning its last q) catches it and returns.

:class:`BackgroundJob` owns one worker and its QThread: ``start()``,
``is_running()``, ``shutdown(timeout_ms)`` (abort and join).  Connect the
worker's signals to methods of QObjects living in the GUI thread (not to
lambdas): PySide6 then queues the calls into the GUI thread.  The task must
never touch a widget, and imports the engine itself, so that scipy and numba
load off the GUI thread and an engine that cannot be imported is reported
like any other failure.
"""
from __future__ import annotations

import inspect
import threading
import time
import traceback
from typing import Any, Callable, Generator

from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot

from vbgui.core.cancel import CancelToken, FitCancelled
from vbgui.errors import VbguiError

MIN_INTERVAL = 0.05  # seconds between two ``yielded`` signals, unless the job asks for another

Report = Callable[[Any], None]
Task = Callable[[CancelToken, Report], Any]

_NOTHING = object()  # no value waiting to be delivered


class BackgroundWorker(QObject):
    """Runs one task (see the module docstring) in the thread it is moved to; create one per run.

    Parameters
    ----------
    task : ``task(cancel, report)``, a generator function or a plain function
    min_interval : the shortest time in seconds between two ``yielded`` signals
    activity : what the task does, for messages: "the fit" gives "unexpected error in the fit (...)"
    """

    yielded = Signal(object)    # a value the task yielded or reported (throttled)
    returned = Signal(object)   # the task's return value
    cancelled = Signal()        # the task raised FitCancelled (it was aborted)
    errored = Signal(str)       # a message for the user
    ended = Signal()            # after the outcome, whatever it was (the job quits its thread on it)

    def __init__(self, task: Task, min_interval: float = MIN_INTERVAL, activity: str = "") -> None:
        super().__init__()
        self.task = task
        self.min_interval = min_interval
        self.activity = activity
        self.cancel_token = CancelToken()
        self._running = threading.Event()
        self._running.set()
        self._delivery = threading.Lock()
        self._last_delivery = float("-inf")
        self._pending: Any = _NOTHING

    # -- controls, thread-safe ----------------------------------------------------------------------
    @property
    def paused(self) -> bool:
        """Whether the task is asked to hold at its next yield or report."""
        return not self._running.is_set()

    def pause(self) -> None:
        """Hold the task at its next yield or report (no effect once aborted)."""
        if not self.cancel_token.cancelled:
            self._running.clear()

    def resume(self) -> None:
        """Let a paused task continue."""
        self._running.set()

    def abort(self) -> None:
        """Cancel the task: its token is set (the engine stops inside its pass), a paused task is released,
        and a generator gets FitCancelled at its next yield."""
        self.cancel_token.cancel()
        self._running.set()

    # -- in the worker thread -----------------------------------------------------------------------
    def report(self, value: Any) -> None:
        """Deliver ``value`` as ``yielded`` unless one was delivered less than ``min_interval`` ago (then keep
        it, to deliver later); hold here while paused.  Safe to call from any thread the task starts."""
        with self._delivery:
            now = time.perf_counter()
            if now - self._last_delivery >= self.min_interval:
                self._last_delivery = now
                self._pending = _NOTHING
                self.yielded.emit(value)
            else:
                self._pending = value
        self._hold_while_paused()

    def _deliver_pending(self) -> None:
        with self._delivery:
            if self._pending is not _NOTHING:
                value, self._pending = self._pending, _NOTHING
                self._last_delivery = time.perf_counter()
                self.yielded.emit(value)

    def _hold_while_paused(self) -> None:
        if not self._running.is_set():
            self._deliver_pending()  # the screen shows where the task holds
            self._running.wait()

    @Slot()
    def run(self) -> None:
        """Run the task and emit its outcome (in the worker thread; ``QThread.started`` calls it)."""
        try:
            self.cancel_token.raise_if_cancelled()
            outcome = self.task(self.cancel_token, self.report)
            if inspect.isgenerator(outcome):
                outcome = self._drive(outcome)
        except FitCancelled:
            self._deliver_pending()
            self.cancelled.emit()
        except VbguiError as exc:
            self._deliver_pending()
            self.errored.emit(str(exc))
        except Exception as exc:  # noqa: BLE001 - a bug must reach the user, not kill the thread
            traceback.print_exc()
            self._deliver_pending()
            where = f" in {self.activity}" if self.activity else ""
            self.errored.emit(f"unexpected error{where} ({exc.__class__.__name__}: {exc})")
        else:
            self._deliver_pending()
            self.returned.emit(outcome)
        self.ended.emit()

    def _drive(self, generator: Generator[Any, None, Any]) -> Any:
        """Pull ``generator`` to its end, reporting each value; return its return value."""
        thrown = False
        try:
            value = next(generator)
            while True:
                self.report(value)
                if self.cancel_token.cancelled and not thrown:
                    thrown = True
                    value = generator.throw(FitCancelled())
                else:
                    value = next(generator)
        except StopIteration as stop:
            return stop.value


class BackgroundJob(QObject):
    """Owns one :class:`BackgroundWorker` and its QThread: start, pause, resume, abort, join.

    Parameters
    ----------
    task : a task (see the module docstring), or a worker already built (a subclass with signals of its own)
    name : the thread's name (shown by debuggers and ``ps -L``)
    parent : the QObject in the GUI thread that keeps the job alive
    min_interval : the shortest time in seconds between two ``yielded`` signals (when ``task`` is a function)
    """

    def __init__(self, task: Task | BackgroundWorker, name: str, parent: QObject | None = None,
                 min_interval: float = MIN_INTERVAL) -> None:
        super().__init__(parent)
        self.worker = task if isinstance(task, BackgroundWorker) else BackgroundWorker(task, min_interval)
        self.thread = QThread()
        self.thread.setObjectName(name)
        self.worker.moveToThread(self.thread)
        self.thread.started.connect(self.worker.run)
        # quit in the worker thread as the task ends, so a slot receiving its outcome can join at once
        self.worker.ended.connect(self.thread.quit, Qt.ConnectionType.DirectConnection)

    def start(self) -> None:
        """Start the thread (once); connect to the worker's signals before calling this."""
        self.thread.start()

    def is_running(self) -> bool:
        """Whether the thread runs (the task has not ended, or its thread is ending)."""
        return self.thread.isRunning()

    @property
    def paused(self) -> bool:
        """Whether the task is asked to hold (see :meth:`BackgroundWorker.pause`)."""
        return self.worker.paused

    def pause(self) -> None:
        """Hold the task at its next yield or report (thread-safe)."""
        self.worker.pause()

    def resume(self) -> None:
        """Let a paused task continue (thread-safe)."""
        self.worker.resume()

    def abort(self) -> None:
        """Cancel the task (thread-safe); see :meth:`BackgroundWorker.abort`."""
        self.worker.abort()

    def shutdown(self, timeout_ms: int = 30_000) -> bool:
        """Abort the task and join the thread; True when the thread has ended within ``timeout_ms``."""
        self.worker.abort()
        self.thread.quit()
        return self.thread.wait(timeout_ms)
