"""Ctrl-C on a command: stop at once, write nothing, exit 130.

Python runs a signal handler only in the main thread between bytecodes, so a
long numba call in the main thread would hold Ctrl-C back until it returns.
The heavy steps of a command (loading, warming the engine, fitting) therefore
run in a worker thread through :func:`run_interruptibly` while the main thread
waits; a KeyboardInterrupt there sets the fit's cancel token, waits briefly
for the engine to stop, and propagates.  Files are written by the main thread
(atomically: an interrupted write removes its temporary file), so an
interrupted command leaves no output behind.
"""
from __future__ import annotations

import threading
from typing import Callable, TypeVar

from vbgui.core.cancel import CancelToken

T = TypeVar("T")

POLL_SECONDS = 0.05
GRACE_SECONDS = 0.3  # how long a cancelled engine may take to return before the process leaves without it

_unfinished: list[threading.Event] = []


def run_interruptibly(work: Callable[[], T], cancel: CancelToken | None = None) -> T:
    """Return ``work()``, run in a worker thread; on Ctrl-C set ``cancel`` and raise KeyboardInterrupt."""
    outcome: dict[str, object] = {}
    # an Event, not Thread.join: on Python 3.11 a KeyboardInterrupt inside join() marks a running thread
    # as stopped (the bpo-45274 workaround), after which is_alive() lies
    done = threading.Event()

    def target() -> None:
        try:
            outcome["value"] = work()
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread as it is
            outcome["error"] = exc
        finally:
            done.set()

    threading.Thread(target=target, name="vbgui-command", daemon=True).start()
    try:
        while not done.wait(POLL_SECONDS):
            pass
    except KeyboardInterrupt:
        if cancel is not None:
            cancel.cancel()
        if not done.wait(GRACE_SECONDS):
            _unfinished.append(done)
        raise
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    return outcome["value"]  # type: ignore[return-value]


def work_left_running() -> bool:
    """True when an interrupted step is still running (the process should leave without waiting for it)."""
    return any(not done.is_set() for done in _unfinished)
