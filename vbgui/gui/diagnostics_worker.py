"""Background jobs of the diagnostics views: a cancellable task in its own QThread.

A *task* is a plain function ``task(cancel, report) -> value`` of the
``app`` layer (:func:`diagnose_fit` here, or a model comparison): it checks
``cancel`` (a :class:`~vbgui.core.cancel.CancelToken`) and calls
``report(progress)`` as it goes.  :class:`TaskWorker` (a QObject moved to a
QThread by :class:`TaskRunner`) runs it and turns its outcome into signals:
``progress`` (throttled to PROGRESS_INTERVAL, so a chatty sampler cannot
flood the GUI thread), then exactly one of ``finished`` (the value),
``cancelled`` or ``failed`` (a message).  :meth:`TaskRunner.cancel` is
thread-safe and meant to be called from the GUI thread.

Connect the signals to methods of QObjects living in the GUI thread (not to
lambdas): PySide6 then queues the calls into the GUI thread.
"""
from __future__ import annotations

import time
import traceback
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

import numpy as np
from PySide6.QtCore import QObject, QThread, Signal, Slot

from vbgui.app.result import FitResult
from vbgui.core.cancel import CancelToken, FitCancelled
from vbgui.errors import VbguiError
from vbgui.io.recording import Recording
from vbgui.models.preset import preset_from_dict

if TYPE_CHECKING:
    from vbgui.app.diagnose import Diagnostics, DiagnosticsSettings

PROGRESS_INTERVAL = 0.05  # seconds between progress signals

Task = Callable[[CancelToken, Callable[[Any], None]], Any]


@dataclass(frozen=True, eq=False)
class FitDiagnostics:
    """What the diagnostics panel shows: the diagnostics of ``result`` and q's covariance (D, D)."""

    result: FitResult
    diagnostics: Diagnostics
    q_cov: np.ndarray


def diagnose_fit(result: FitResult, recording: Recording, settings: DiagnosticsSettings,
                 cancel: CancelToken, report: Callable[[Any], None]) -> FitDiagnostics:
    """Rebuild the fit's problem from its preset and ``recording``, then run :func:`diagnose` on its q.

    The session is rebuilt (same preset, same first bin) rather than borrowed
    from the fit worker, so a diagnosis has its own cancel token and works
    for a reopened result as well.  The engine is imported here, in the
    worker thread, not with the window.
    """
    from vbgui.app.diagnose import diagnose, q_of_result
    from vbgui.app.fit import FitSession

    preset = preset_from_dict(result.preset, source="the fit's preset")
    session = FitSession(preset, recording, cancel, first_row=result.first_row)
    q = q_of_result(result, session.family)
    diagnostics = diagnose(session.problem, q, session.names, result, settings, cancel, report)
    return FitDiagnostics(result, diagnostics, np.array(result.cov))


class TaskWorker(QObject):
    """Runs one task in the thread it was moved to; create one per run."""

    progress = Signal(object)   # the task's latest progress report (throttled)
    finished = Signal(object)   # the task's return value
    cancelled = Signal()
    failed = Signal(str)        # a message for the user

    def __init__(self, task: Task) -> None:
        super().__init__()
        self.task = task
        self.cancel_token = CancelToken()
        self._last_emit = 0.0

    def _report(self, progress: Any) -> None:
        now = time.perf_counter()
        if now - self._last_emit >= PROGRESS_INTERVAL:
            self._last_emit = now
            self.progress.emit(progress)

    @Slot()
    def run(self) -> None:
        """Run the task and emit its outcome (in the worker thread)."""
        try:
            self.cancel_token.raise_if_cancelled()
            value = self.task(self.cancel_token, self._report)
        except FitCancelled:
            self.cancelled.emit()
        except VbguiError as exc:
            self.failed.emit(str(exc))
        except Exception as exc:  # noqa: BLE001 - an engine bug must reach the user, not kill the thread
            traceback.print_exc()
            self.failed.emit(f"unexpected error ({exc.__class__.__name__}: {exc})")
        else:
            self.finished.emit(value)


class TaskRunner(QObject):
    """Owns one :class:`TaskWorker` and its QThread: start, cancel, join."""

    def __init__(self, task: Task, name: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.worker = TaskWorker(task)
        self.thread = QThread()
        self.thread.setObjectName(name)
        self.worker.moveToThread(self.thread)
        self.thread.started.connect(self.worker.run)
        for signal in (self.worker.finished, self.worker.cancelled, self.worker.failed):
            signal.connect(self.thread.quit)

    def start(self) -> None:
        """Start the thread; connect to the worker's signals before calling this."""
        self.thread.start()

    def is_running(self) -> bool:
        return self.thread.isRunning()

    def cancel(self) -> None:
        """Ask the task to stop at its next check (thread-safe); it then emits ``cancelled``."""
        self.worker.cancel_token.cancel()

    def shutdown(self, timeout_ms: int = 30_000) -> bool:
        """Cancel the task and join the thread; True when the thread has ended."""
        self.cancel()
        self.thread.quit()
        return self.thread.wait(timeout_ms)
