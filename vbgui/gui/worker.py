"""The fit's task for the GUI's background worker: build a FitSession and drive it.

:class:`FitWorker` is a :class:`~vbgui.gui.background.BackgroundWorker`
whose task builds the session, warms the numba engine up, computes the
reference posterior and then yields :meth:`FitSession.steps` one iteration
at a time.  It never touches a widget: it records every iteration in a
:class:`~vbgui.app.live_trace.LiveTrace`, and the background worker throttles the progress
signals to one every ``PROGRESS_INTERVAL`` seconds, so a fit running
thousands of iterations per second cannot flood the GUI thread's event
queue.  Pause, resume and Stop (abort) are the background worker's.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Generator

from PySide6.QtCore import Signal

from vbgui.app.live_trace import LiveTrace
from vbgui.core.cancel import CancelToken, FitCancelled
from vbgui.gui.background import BackgroundWorker
from vbgui.io.recording import Recording
from vbgui.models.preset import Preset

if TYPE_CHECKING:  # the engine (scipy, numba) is imported by the worker thread, not while the window opens
    from vbgui.app.fit import FitProgress, FitSession
    from vbgui.app.result import FitResult
    from vbgui.app.shown_reference import ShownReference

PROGRESS_INTERVAL = 0.02  # seconds between progress signals


@dataclass(frozen=True, eq=False)
class FitSetup:
    """What the window needs before the first iteration: the session and the reference (or None)."""

    session: FitSession
    reference: ShownReference | None


class FitWorker(BackgroundWorker):
    """Runs one fit of ``preset`` on ``recording`` in a :class:`~vbgui.gui.background.BackgroundJob`.

    Besides the background worker's signals (``yielded``: the latest
    FitProgress, throttled; ``returned``: the FitResult; ``cancelled`` when
    stopped before the fit could start; ``errored``) it emits
    ``engine_ready`` once.
    Abort (Stop) ends the fit 'cancelled' with the last q reached.
    """

    engine_ready = Signal(object)   # FitSetup, once the engine is compiled and the session built

    def __init__(self, preset: Preset, recording: Recording) -> None:
        super().__init__(self._fit, PROGRESS_INTERVAL, activity="the fit")
        self.preset = preset
        self.recording = recording
        self.trace = LiveTrace(min(preset.fit.max_iter, 100_000))
        self._latest: FitProgress | None = None

    @property
    def latest(self) -> FitProgress | None:
        """The most recent iteration reached (thread-safe read)."""
        return self._latest

    def _fit(self, cancel: CancelToken, _report) -> Generator[FitProgress, None, FitResult]:
        """Build the session, warm up, compute the reference, then yield every iteration; returns the result."""
        # imported here, inside the worker's error handling: an engine that cannot be imported (a broken
        # install or bundle) is reported like any failure, instead of leaving the window waiting
        from vbgui.app.fit import FitSession, warm_up_engine
        from vbgui.app.shown_reference import reference_posterior

        session = FitSession(self.preset, self.recording, cancel)
        warm_up_engine()
        reference = None if cancel.cancelled else reference_posterior(session)
        self.engine_ready.emit(FitSetup(session, reference))
        steps = session.steps()
        while True:
            try:
                progress = next(steps)
            except StopIteration as stop:
                return stop.value
            self.trace.append(progress)
            self._latest = progress
            try:
                yield progress
            except FitCancelled:
                pass  # Stop: the session's token is set, so its next step returns the fit 'cancelled'
