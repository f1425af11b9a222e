"""Run a row kernel over chunks of a design, on threads, with cancellation.

The kernels in :mod:`vbgui.core.kernels` release the GIL, so chunks of rows
run truly in parallel on a small thread pool; their partial sums are added.
Between chunks the cancel token is checked.  A chunk holds at most
CHUNK_ROWS rows and, given the work one row costs (``row_cost``, in
multiply-adds), at most about WORK_PER_CHUNK of work, so a cancelled pass
stops within milliseconds whatever the number of Monte Carlo draws.
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from typing import Any, Callable

import numpy as np

from vbgui.core import blas_threads  # noqa: F401  (BLAS on one thread: the chunks are the parallelism)
from vbgui.core.cancel import CancelToken

CHUNK_ROWS = 32_768
MIN_CHUNK_ROWS = 16
WORK_PER_CHUNK = 4_000_000


@lru_cache(maxsize=1)
def _pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=max(1, min(os.cpu_count() or 1, 8)),
                              thread_name_prefix="vbgui-rows")


def _add(total: tuple, part: tuple) -> tuple:
    return tuple(a + b for a, b in zip(total, part))


def chunk_rows(row_cost: int) -> int:
    """Rows per chunk for rows costing ``row_cost`` multiply-adds each."""
    return int(min(CHUNK_ROWS, max(MIN_CHUNK_ROWS, WORK_PER_CHUNK // max(1, row_cost))))


def map_rows(kernel: Callable[..., float], X: np.ndarray, y: np.ndarray, out: np.ndarray,
             args: tuple[Any, ...], cancel: CancelToken | None = None) -> np.ndarray:
    """Fill ``out`` (T,) by ``kernel(X[a:b], y[a:b], out[a:b], *args)`` over row chunks, on threads.

    Raises :class:`~vbgui.core.cancel.FitCancelled` when ``cancel`` is set.
    """
    bounds = _chunk_bounds(X.shape[0], 1)
    if cancel is not None:
        cancel.raise_if_cancelled()

    def run(start: int, stop: int) -> None:
        if cancel is None or not cancel.cancelled:
            kernel(X[start:stop], y[start:stop], out[start:stop], *args)

    for future in [_pool().submit(run, a, b) for a, b in zip(bounds[:-1], bounds[1:])]:
        future.result()
    if cancel is not None:
        cancel.raise_if_cancelled()
    return out


def _chunk_bounds(n_rows: int, row_cost: int) -> list[int]:
    return list(range(0, n_rows, chunk_rows(row_cost))) + [n_rows]


def reduce_rows(kernel: Callable[..., tuple], X: np.ndarray, y: np.ndarray, args: tuple[Any, ...],
                cancel: CancelToken | None = None, row_cost: int = 1) -> tuple:
    """Return the sum over row chunks of ``kernel(X[a:b], y[a:b], *args)``.

    Every output of the kernel (floats and arrays alike) is summed, in chunk
    order (so results do not depend on thread timing).

    Parameters
    ----------
    kernel : a numba kernel releasing the GIL, returning a tuple of floats and arrays
    X, y : the design (T, D) and response (T,)
    args : the kernel's other arguments
    cancel : checked before the pass and between chunks
    row_cost : multiply-adds one row costs, which sizes the chunks (see :func:`chunk_rows`)

    Returns
    -------
    The kernel's outputs summed over the chunks.

    Raises
    ------
    FitCancelled : when ``cancel`` is set before or during the pass
    """
    bounds = _chunk_bounds(X.shape[0], row_cost)
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
