"""Run a row kernel over chunks of a design, on threads, with cancellation.

The design is a row source (:mod:`vbgui.core.design_rows`): each chunk's rows
are read, or built from lags, when the chunk runs, so a streamed design never
holds more than a chunk per thread.

The kernels in :mod:`vbgui.core.kernels` release the GIL, so chunks of rows
run truly in parallel on a small thread pool; their partial sums are added.
Between chunks the cancel token is checked.  A chunk holds at most
CHUNK_ROWS rows and, given the work one row costs (``row_cost``, in
multiply-adds), at most about WORK_PER_CHUNK of work, so a cancelled pass
stops within milliseconds whatever the number of Monte Carlo draws.

A caller that already runs one fit per core (a batch of units on threads)
wraps each fit in :func:`rows_in_this_thread`: its passes then run their
chunks in the calling thread, one after another, in the same order and with
the same sums, instead of queueing them on the shared pool where the fits
would wait for each other's chunks.
"""
from __future__ import annotations

import os
import threading
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Callable, Iterator

import numpy as np

from vbgui.core import blas_threads  # noqa: F401  (BLAS on one thread: the chunks are the parallelism)
from vbgui.core.cancel import CancelToken

if TYPE_CHECKING:
    from vbgui.core.design_rows import DesignRows

CHUNK_ROWS = 32_768
MIN_CHUNK_ROWS = 16
WORK_PER_CHUNK = 4_000_000
IN_FLIGHT = 2 * max(1, min(os.cpu_count() or 1, 8))


_THIS_THREAD_ONLY = threading.local()


@contextmanager
def rows_in_this_thread() -> Iterator[None]:
    """Within the block, passes started from this thread run their chunks in it, not on the row pool.

    The chunks and the order of their sums are unchanged, so results are
    bit-identical to the pooled pass.

    Yields
    ------
    None
        Control returns to the ``with`` block; the previous setting is restored after it.
    """
    previous = getattr(_THIS_THREAD_ONLY, "active", False)
    _THIS_THREAD_ONLY.active = True
    try:
        yield
    finally:
        _THIS_THREAD_ONLY.active = previous


def _pooled() -> bool:
    return not getattr(_THIS_THREAD_ONLY, "active", False)


@lru_cache(maxsize=1)
def _pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=IN_FLIGHT // 2,
                              thread_name_prefix="vbgui-rows")


def _add_part(total: tuple | None, part: tuple | None) -> tuple | None:
    """The running sum of a pass's chunks (a skipped, cancelled chunk is None)."""
    if part is None:
        return total
    return part if total is None else tuple(a + b for a, b in zip(total, part))


def chunk_rows(row_cost: int) -> int:
    """Rows per chunk for rows costing ``row_cost`` multiply-adds each.

    Parameters
    ----------
    row_cost : int
        Multiply-adds per row.

    Returns
    -------
    int
        Between MIN_CHUNK_ROWS and CHUNK_ROWS.
    """
    return int(min(CHUNK_ROWS, max(MIN_CHUNK_ROWS, WORK_PER_CHUNK // max(1, row_cost))))


def row_blocks(n_rows: int, row_cost: int, max_rows: int = CHUNK_ROWS) -> list[tuple[int, int]]:
    """(start, stop) of the chunks a pass over ``n_rows`` rows of ``row_cost`` multiply-adds is cut into
    (at most ``max_rows`` rows each).

    Parameters
    ----------
    n_rows : int
        Number of rows.
    row_cost : int
        Multiply-adds per row.
    max_rows : int
        Most rows per chunk.

    Returns
    -------
    list of (int, int)
        (start, stop) pairs covering 0..n_rows in order.
    """
    bounds = _chunk_bounds(n_rows, row_cost, max_rows)
    return list(zip(bounds[:-1], bounds[1:]))


def map_rows(kernel: Callable[..., float], X: "DesignRows", y: np.ndarray, out: np.ndarray,
             args: tuple[Any, ...], cancel: CancelToken | None = None) -> np.ndarray:
    """Fill ``out`` (T,) by ``kernel(X.rows(a, b), y[a:b], out[a:b], *args)`` over row chunks, on threads.

    Raises :class:`~vbgui.core.cancel.FitCancelled` when ``cancel`` is set.

    Parameters
    ----------
    kernel : callable
        Called as kernel(rows, y_chunk, out_chunk, *args); writes its rows of out.
    X : DesignRows
        Design rows (T, D).
    y : (T,) array
        Responses.
    out : (T,) array
        Output, filled in place.
    args : tuple
        Further arguments of kernel.
    cancel : CancelToken, optional
        Checked before and after the pass; a chunk not yet started is skipped once it is set.

    Returns
    -------
    (T,) array
        out.
    """
    bounds = _chunk_bounds(X.shape[0], 1, X.max_block_rows)
    if cancel is not None:
        cancel.raise_if_cancelled()

    def run(start: int, stop: int) -> None:
        if cancel is None or not cancel.cancelled:
            kernel(X.rows(start, stop), y[start:stop], out[start:stop], *args)

    if _pooled():
        for future in [_pool().submit(run, a, b) for a, b in zip(bounds[:-1], bounds[1:])]:
            future.result()
    else:
        for a, b in zip(bounds[:-1], bounds[1:]):
            run(a, b)
    if cancel is not None:
        cancel.raise_if_cancelled()
    return out


def _chunk_bounds(n_rows: int, row_cost: int, max_rows: int = CHUNK_ROWS) -> list[int]:
    return list(range(0, n_rows, min(chunk_rows(row_cost), max(MIN_CHUNK_ROWS, max_rows)))) + [n_rows]


def reduce_rows(kernel: Callable[..., tuple], X: "DesignRows", y: np.ndarray, args: tuple[Any, ...],
                cancel: CancelToken | None = None, row_cost: int = 1) -> tuple:
    """Return the sum over row chunks of ``kernel(X.rows(a, b), y[a:b], *args)``.

    Every output of the kernel (floats and arrays alike) is summed, in chunk
    order (so results do not depend on thread timing).

    Parameters
    ----------
    kernel : a numba kernel releasing the GIL, returning a tuple of floats and arrays
    X, y : the design's rows (T, D; :mod:`vbgui.core.design_rows`) and the response (T,)
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
    bounds = _chunk_bounds(X.shape[0], row_cost, X.max_block_rows)
    if cancel is not None:
        cancel.raise_if_cancelled()
    if len(bounds) <= 3:
        return kernel(X.rows(0, X.shape[0]), y, *args)

    def run(start: int, stop: int):
        if cancel is not None and cancel.cancelled:
            return None
        return kernel(X.rows(start, stop), y[start:stop], *args)

    # at most IN_FLIGHT chunks are queued or done-but-unsummed: their blocks and partial sums
    # (a D x D curvature each) are not all held at once
    total = None
    if not _pooled():
        for a, b in zip(bounds[:-1], bounds[1:]):
            total = _add_part(total, run(a, b))
        if cancel is not None:
            cancel.raise_if_cancelled()
        return total
    pending: deque = deque()
    for a, b in zip(bounds[:-1], bounds[1:]):
        if cancel is not None and cancel.cancelled:
            break
        pending.append(_pool().submit(run, a, b))
        if len(pending) >= IN_FLIGHT:
            total = _add_part(total, pending.popleft().result())
    while pending:
        total = _add_part(total, pending.popleft().result())
    if cancel is not None:
        cancel.raise_if_cancelled()
    return total
