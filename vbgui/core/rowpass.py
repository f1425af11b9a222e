"""Run a row kernel over chunks of a design, on threads, with cancellation.

The kernels in :mod:`vbgui.core.kernels` release the GIL, so chunks of rows
run truly in parallel on a small thread pool; their partial sums are added.
Between chunks the cancel token is checked, which bounds the time a cancelled
fit keeps running by the time of one chunk (a few milliseconds), not of a
whole pass.
"""
from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from typing import Any, Callable

import numpy as np

CHUNK_ROWS = 32_768


class FitCancelled(Exception):
    """Raised inside the engine when a fit's cancel token is set."""


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


@lru_cache(maxsize=1)
def _pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=max(1, min(os.cpu_count() or 1, 8)),
                              thread_name_prefix="vbgui-rows")


def _add(total: tuple, part: tuple) -> tuple:
    return tuple(a + b for a, b in zip(total, part))


def reduce_rows(kernel: Callable[..., tuple], X: np.ndarray, y: np.ndarray, args: tuple[Any, ...],
                cancel: CancelToken | None = None) -> tuple:
    """Return the sum over row chunks of ``kernel(X[a:b], y[a:b], *args)``.

    Every output of the kernel (floats and arrays alike) is summed.  Raises
    :class:`FitCancelled` when ``cancel`` is set before or during the pass.
    """
    n_rows = X.shape[0]
    bounds = list(range(0, n_rows, CHUNK_ROWS)) + [n_rows]
    if cancel is not None:
        cancel.raise_if_cancelled()
    if len(bounds) <= 3:
        return kernel(X, y, *args)

    def run(start: int, stop: int):
        if cancel is not None and cancel.cancelled:
            return None
        return kernel(X[start:stop], y[start:stop], *args)

    futures = [_pool().submit(run, a, b) for a, b in zip(bounds[:-1], bounds[1:])]
    total = None
    for future in futures:
        part = future.result()
        if part is None:
            continue
        total = part if total is None else _add(total, part)
    if cancel is not None:
        cancel.raise_if_cancelled()
    return total
