"""Split a pass over the bins into row ranges run on a small thread pool (the numba kernels release the GIL).

Each range's results are combined by the caller in range order, so sums do
not depend on thread timing.  Short passes run inline: a thread hand-off
costs more than a few thousand bins.
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from typing import Callable, TypeVar

from vbgui.core import blas_threads  # noqa: F401  (BLAS on one thread: the ranges are the parallelism)

Part = TypeVar("Part")
MIN_ROWS_PER_RANGE = 4096


@lru_cache(maxsize=1)
def _pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=_workers(), thread_name_prefix="vbgui-lds")


def _workers() -> int:
    return max(1, min(os.cpu_count() or 1, 8))


def row_ranges(n_rows: int) -> list[tuple[int, int]]:
    """[start, stop) ranges covering ``n_rows``: one per worker, none shorter than MIN_ROWS_PER_RANGE.

    Parameters
    ----------
    n_rows : int
        How many rows (bins) the pass covers.

    Returns
    -------
    list of (int, int)
        Contiguous [start, stop) ranges in order, at least one (``[(0, n_rows)]`` for a short pass).
    """
    count = max(1, min(_workers(), n_rows // MIN_ROWS_PER_RANGE))
    bounds = [n_rows * k // count for k in range(count + 1)]
    return list(zip(bounds[:-1], bounds[1:]))


def over_row_ranges(work: Callable[[int, int], Part], n_rows: int) -> list[Part]:
    """``work(start, stop)`` for each range of :func:`row_ranges`, on the pool; the results in range order.

    Parameters
    ----------
    work : callable (int, int) -> Part
        Computes one range's part from its [start, stop) rows; called on pool threads when there are several ranges,
        inline when there is one.
    n_rows : int
        How many rows the pass covers.

    Returns
    -------
    list of Part
        ``work``'s results, one per range, in range order.
    """
    ranges = row_ranges(n_rows)
    if len(ranges) == 1:
        return [work(*ranges[0])]
    return [future.result() for future in [_pool().submit(work, a, b) for a, b in ranges]]
