"""The GUI's one background worker (gui/background.py): outcomes, throttling, pause, resume, abort, shutdown.

Structural, not timed: the tests wait for signals with generous timeouts and
assert what arrived, in which order and how often, never how fast.
"""
from __future__ import annotations

import threading
import time

import pytest
from PySide6.QtCore import QObject, QThread

from vbgui.core.cancel import FitCancelled
from vbgui.errors import VbguiError
from vbgui.gui.background import BackgroundJob

TIMEOUT_MS = 20_000
NEVER = 3600.0  # a min_interval no test outlasts: only the first value and the flushes are delivered
OUTCOMES = ("returned", "cancelled", "errored")


class Recorder(QObject):
    """Lives in the GUI thread and records every signal of a worker, with the thread each slot ran in."""

    def __init__(self, job: BackgroundJob) -> None:
        super().__init__()
        self.events: list[tuple[str, object]] = []
        self.slot_threads: set[QThread] = set()
        worker = job.worker
        worker.yielded.connect(self.on_yielded)
        worker.returned.connect(self.on_returned)
        worker.cancelled.connect(self.on_cancelled)
        worker.errored.connect(self.on_errored)

    def _record(self, name: str, value: object = None) -> None:
        self.slot_threads.add(QThread.currentThread())
        self.events.append((name, value))

    def on_yielded(self, value: object) -> None:
        self._record("yielded", value)

    def on_returned(self, value: object) -> None:
        self._record("returned", value)

    def on_cancelled(self) -> None:
        self._record("cancelled")

    def on_errored(self, message: str) -> None:
        self._record("errored", message)

    def yielded(self) -> list[object]:
        return [value for name, value in self.events if name == "yielded"]

    def outcomes(self) -> list[tuple[str, object]]:
        return [(name, value) for name, value in self.events if name in OUTCOMES]

    def ended(self) -> bool:
        return bool(self.outcomes())


_STARTED: list[BackgroundJob] = []


@pytest.fixture(autouse=True)
def joined_jobs():
    """Join every job a test started, even when the test failed (a QThread destroyed running aborts)."""
    yield
    while _STARTED:
        assert _STARTED.pop().shutdown(TIMEOUT_MS)


def run_job(qtbot, task, min_interval: float = NEVER) -> tuple[BackgroundJob, Recorder]:
    """Start ``task`` in a job of its own; returns the job and the recorder of its signals."""
    job = BackgroundJob(task, "vbgui-test-background", min_interval=min_interval)
    return job, start(job)


def start(job: BackgroundJob) -> Recorder:
    """Record ``job``'s signals, then start it (joined after the test)."""
    recorder = Recorder(job)
    _STARTED.append(job)
    job.start()
    return recorder


def finish(qtbot, job: BackgroundJob, recorder: Recorder) -> tuple[str, object]:
    """Wait for the job's outcome and its thread's end; return the one outcome."""
    qtbot.waitUntil(recorder.ended, timeout=TIMEOUT_MS)
    assert job.shutdown(TIMEOUT_MS)
    qtbot.wait(50)  # anything emitted after the outcome would arrive now
    (outcome,) = recorder.outcomes()
    assert recorder.events[-1] == outcome, "nothing follows the outcome"
    assert recorder.slot_threads == {QThread.currentThread()}, "every slot ran in the GUI thread"
    return outcome


def test_a_plain_function_returns_its_value_from_another_thread(qtbot) -> None:
    seen = {}

    def task(cancel, report):
        seen["thread"] = threading.get_ident()
        return 42

    job, recorder = run_job(qtbot, task)
    assert finish(qtbot, job, recorder) == ("returned", 42)
    assert seen["thread"] != threading.get_ident()
    assert not job.is_running()


def test_yielded_is_throttled_and_the_last_value_arrives_before_the_return(qtbot) -> None:
    def task(cancel, report):
        for value in range(100):
            yield value
        return "done"

    job, recorder = run_job(qtbot, task, min_interval=NEVER)
    assert finish(qtbot, job, recorder) == ("returned", "done")
    assert recorder.yielded() == [0, 99]  # the first at once, the rest held back, the last flushed
    assert [name for name, _ in recorder.events] == ["yielded", "yielded", "returned"]


def test_without_throttling_every_value_arrives_in_order(qtbot) -> None:
    def task(cancel, report):
        yield from range(50)
        return None

    job, recorder = run_job(qtbot, task, min_interval=0.0)
    assert finish(qtbot, job, recorder) == ("returned", None)
    assert recorder.yielded() == list(range(50))


def test_report_from_a_plain_function_is_throttled_too(qtbot) -> None:
    def task(cancel, report):
        for value in range(100):
            report(value)
        return "plain"

    job, recorder = run_job(qtbot, task, min_interval=NEVER)
    assert finish(qtbot, job, recorder) == ("returned", "plain")
    assert recorder.yielded() == [0, 99]


def test_a_vbgui_error_is_reported_by_its_message(qtbot, capfd) -> None:
    def task(cancel, report):
        yield 1
        raise VbguiError("data.npz: variable 'y' must hold counts")

    job, recorder = run_job(qtbot, task)
    assert finish(qtbot, job, recorder) == ("errored", "data.npz: variable 'y' must hold counts")
    assert recorder.yielded() == [1]
    assert "Traceback" not in capfd.readouterr().err


def test_a_bug_is_reported_as_unexpected_with_its_traceback_on_stderr(qtbot, capfd) -> None:
    def task(cancel, report):
        return 1 / 0

    job, recorder = run_job(qtbot, task)
    name, message = finish(qtbot, job, recorder)
    assert name == "errored"
    assert message == "unexpected error (ZeroDivisionError: division by zero)"
    err = capfd.readouterr().err
    assert "Traceback" in err and "return 1 / 0" in err


def test_an_activity_names_where_the_bug_happened(qtbot) -> None:
    from vbgui.gui.background import BackgroundWorker

    def task(cancel, report):
        raise KeyError("q")

    job = BackgroundJob(BackgroundWorker(task, activity="the fit"), "vbgui-test-background")
    recorder = start(job)
    assert finish(qtbot, job, recorder) == ("errored", "unexpected error in the fit (KeyError: 'q')")


def endless(produced: list[int], closed: threading.Event):
    """A task yielding 0, 1, 2, ... every few milliseconds that never looks at its cancel token."""
    def task(cancel, report):
        try:
            value = 0
            while True:
                produced.append(value)
                yield value
                value += 1
                time.sleep(0.002)
        finally:
            closed.set()
    return task


def test_abort_stops_a_generator_that_ignores_its_token_at_its_next_yield(qtbot) -> None:
    produced: list[int] = []
    closed = threading.Event()
    job, recorder = run_job(qtbot, endless(produced, closed))
    qtbot.waitUntil(lambda: len(produced) >= 5, timeout=TIMEOUT_MS)
    job.abort()
    produced_at_abort = len(produced)
    assert job.worker.cancel_token.cancelled
    assert finish(qtbot, job, recorder) == ("cancelled", None)
    assert closed.is_set()
    # the value being computed when abort came is the last: FitCancelled is raised at the next yield
    assert len(produced) <= produced_at_abort + 1
    assert recorder.yielded()[-1] == produced[-1]


def test_a_generator_may_catch_the_abort_and_return_what_it_has(qtbot) -> None:
    def task(cancel, report):
        total = 0
        try:
            while True:
                total += 1
                yield total
                time.sleep(0.002)
        except FitCancelled:
            return f"stopped at {total}"

    job, recorder = run_job(qtbot, task)
    qtbot.waitUntil(lambda: len(recorder.yielded()) >= 1, timeout=TIMEOUT_MS)
    job.abort()
    name, value = finish(qtbot, job, recorder)
    assert name == "returned" and value == f"stopped at {recorder.yielded()[-1]}"


def test_a_plain_function_stops_through_its_cancel_token(qtbot) -> None:
    started = threading.Event()

    def task(cancel, report):
        started.set()
        while True:
            cancel.raise_if_cancelled()
            time.sleep(0.002)

    job, recorder = run_job(qtbot, task)
    assert started.wait(TIMEOUT_MS / 1000)
    job.abort()
    assert finish(qtbot, job, recorder) == ("cancelled", None)


def test_abort_before_the_thread_runs_cancels_without_calling_the_task(qtbot) -> None:
    called = threading.Event()

    def task(cancel, report):
        called.set()
        return 1

    job = BackgroundJob(task, "vbgui-test-background")
    job.abort()
    recorder = start(job)
    assert finish(qtbot, job, recorder) == ("cancelled", None)
    assert not called.is_set()


def test_pause_holds_the_generator_and_resume_continues_it(qtbot) -> None:
    produced: list[int] = []
    closed = threading.Event()
    job, recorder = run_job(qtbot, endless(produced, closed), min_interval=NEVER)
    qtbot.waitUntil(lambda: len(produced) >= 5, timeout=TIMEOUT_MS)
    job.pause()
    assert job.paused
    # holding, the worker delivers the value it holds at (with NEVER, only that flush can arrive now)
    qtbot.waitUntil(lambda: len(recorder.yielded()) == 2, timeout=TIMEOUT_MS)
    held = recorder.yielded()[-1]
    qtbot.wait(300)
    assert produced[-1] == held, "the generator went on while paused"
    assert len(recorder.yielded()) == 2 and not recorder.ended()
    job.resume()
    assert not job.paused
    qtbot.waitUntil(lambda: produced[-1] > held + 3, timeout=TIMEOUT_MS)
    job.abort()
    assert finish(qtbot, job, recorder) == ("cancelled", None)
    assert recorder.yielded()[-1] > held  # the last value reached is delivered before the end


def test_abort_releases_a_paused_generator(qtbot) -> None:
    produced: list[int] = []
    closed = threading.Event()
    job, recorder = run_job(qtbot, endless(produced, closed), min_interval=NEVER)
    qtbot.waitUntil(lambda: len(produced) >= 3, timeout=TIMEOUT_MS)
    job.pause()
    qtbot.waitUntil(lambda: len(recorder.yielded()) == 2, timeout=TIMEOUT_MS)
    job.abort()
    assert not job.paused
    assert finish(qtbot, job, recorder) == ("cancelled", None)
    assert closed.is_set()
    job.pause()  # no effect once aborted
    assert not job.paused


def test_shutdown_aborts_and_joins_the_thread(qtbot) -> None:
    started = threading.Event()

    def task(cancel, report):
        started.set()
        while not cancel.cancelled:
            time.sleep(0.002)
        raise FitCancelled()

    job, recorder = run_job(qtbot, task)
    assert started.wait(TIMEOUT_MS / 1000)
    assert job.is_running()
    assert job.shutdown(TIMEOUT_MS)
    assert not job.is_running() and job.thread.isFinished()
    assert finish(qtbot, job, recorder) == ("cancelled", None)


def test_shutdown_reports_a_task_that_does_not_stop_in_time(qtbot) -> None:
    started, release = threading.Event(), threading.Event()

    def task(cancel, report):
        started.set()
        release.wait(TIMEOUT_MS / 1000)  # ignores its token
        return "late"

    job, recorder = run_job(qtbot, task)
    assert started.wait(TIMEOUT_MS / 1000)
    assert job.shutdown(50) is False
    release.set()
    assert finish(qtbot, job, recorder) == ("returned", "late")


@pytest.mark.parametrize("outcome", ["returned", "errored", "cancelled"])
def test_the_thread_quits_on_its_own_when_the_task_ends(qtbot, outcome) -> None:
    def task(cancel, report):
        if outcome == "errored":
            raise VbguiError("bad")
        if outcome == "cancelled":
            raise FitCancelled()
        return 0

    job, recorder = run_job(qtbot, task)
    qtbot.waitUntil(lambda: job.thread.isFinished(), timeout=TIMEOUT_MS)
    qtbot.waitUntil(recorder.ended, timeout=TIMEOUT_MS)
    assert recorder.outcomes()[0][0] == outcome


class Collector(QObject):
    """Lives in the GUI thread; records what a LatestJobRunner or an EngineWarmup signals."""

    def __init__(self) -> None:
        super().__init__()
        self.values: list[object] = []
        self.messages: list[str] = []

    def on_value(self, value: object) -> None:
        self.values.append(value)

    def on_message(self, message: str) -> None:
        self.messages.append(message)


def test_the_latest_request_wins_while_a_job_runs(qtbot) -> None:
    from vbgui.gui.demos.jobs import LatestJobRunner

    runner = LatestJobRunner("vbgui-test-latest")
    collector = Collector()
    runner.finished.connect(collector.on_value)
    runner.failed.connect(collector.on_message)
    release = threading.Event()
    ran: list[str] = []

    def job(name: str):
        def run():
            ran.append(name)
            if name == "first":
                release.wait(TIMEOUT_MS / 1000)
            if name == "broken":
                raise ValueError("no")
            return name
        return run

    runner.submit(job("first"))
    assert runner.busy
    for name in ("second", "third", "last"):
        runner.submit(job(name))  # each replaces the one waiting
    release.set()
    qtbot.waitUntil(lambda: collector.values == ["first", "last"], timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: not runner.busy, timeout=TIMEOUT_MS)
    assert ran == ["first", "last"]
    runner.submit(job("broken"))
    qtbot.waitUntil(lambda: len(collector.messages) == 1, timeout=TIMEOUT_MS)
    assert collector.messages == ["unexpected error (ValueError: no)"]
    assert runner.shutdown() and not runner.thread_running and not runner.busy


def test_the_engine_warm_up_reports_ready_without_blocking_the_gui_thread(qtbot) -> None:
    from vbgui.gui.engine_warmup import EngineWarmup

    warmup = EngineWarmup()
    collector = Collector()
    warmup.ready.connect(collector.on_value)
    warmup.failed.connect(collector.on_message)
    warmup.start()
    qtbot.waitUntil(warmup.is_ready, timeout=60_000)
    assert warmup.wait(60)
    assert len(collector.values) == 1 and collector.values[0] == warmup.seconds >= 0 and not collector.messages


def test_an_engine_warm_up_that_cannot_import_the_engine_reports_it(qtbot, monkeypatch, capfd) -> None:
    import sys

    from vbgui.gui.engine_warmup import EngineWarmup

    monkeypatch.setitem(sys.modules, "vbgui.app.fit", None)  # importing it raises ImportError
    warmup = EngineWarmup()
    collector = Collector()
    warmup.ready.connect(collector.on_value)
    warmup.failed.connect(collector.on_message)
    warmup.start()
    qtbot.waitUntil(warmup.is_ready, timeout=60_000)
    assert warmup.wait(60) and not collector.values and warmup.seconds is None
    (message,) = collector.messages
    assert message.startswith("unexpected error in the engine's warm-up (ModuleNotFoundError")
    assert "Traceback" in capfd.readouterr().err
