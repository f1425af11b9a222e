"""Cancellation of long computations: a token another thread sets, checked by the engine."""
from __future__ import annotations

import threading


class FitCancelled(Exception):
    """Raised inside the engine when a computation's cancel token is set."""


class CancelToken:
    """A flag another thread sets to stop a fit; the engine checks it often."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def raise_if_cancelled(self) -> None:
        if self._event.is_set():
            raise FitCancelled()
