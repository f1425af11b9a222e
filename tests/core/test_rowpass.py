"""Row passes: pooled and in-this-thread passes give the same sums; in-this-thread runs no chunk elsewhere."""
from __future__ import annotations

import threading
from typing import Callable

import numpy as np
import pytest

from vbgui.core.cancel import CancelToken, FitCancelled
from vbgui.core.design_rows import DenseRows
from vbgui.core.rowpass import map_rows, reduce_rows, row_blocks, rows_in_this_thread


def _threads_seen() -> tuple[list[str], Callable, Callable]:
    seen: list[str] = []

    def reduce_kernel(rows: np.ndarray, y: np.ndarray, v: np.ndarray):
        seen.append(threading.current_thread().name)
        return float(y @ (rows @ v)), rows.T @ y

    def map_kernel(rows: np.ndarray, y: np.ndarray, out: np.ndarray, v: np.ndarray) -> float:
        seen.append(threading.current_thread().name)
        out[:] = rows @ v + y
        return 0.0

    return seen, reduce_kernel, map_kernel


def _problem(n_rows: int = 200_000, dim: int = 7):
    rng = np.random.default_rng(3)
    return DenseRows(rng.standard_normal((n_rows, dim))), rng.standard_normal(n_rows), rng.standard_normal(dim)


def test_in_this_thread_passes_equal_pooled_ones_bit_for_bit_and_stay_in_the_caller() -> None:
    design, y, v = _problem()
    assert len(row_blocks(design.shape[0], 1, design.max_block_rows)) > 3  # more chunks than the inline shortcut
    seen, reduce_kernel, map_kernel = _threads_seen()
    pooled_total, pooled_vector = reduce_rows(reduce_kernel, design, y, (v,), CancelToken())
    pooled_map = map_rows(map_kernel, design, y, np.empty(design.shape[0]), (v,))
    assert all(name.startswith("vbgui-rows") for name in seen)

    seen.clear()
    with rows_in_this_thread():
        total, vector = reduce_rows(reduce_kernel, design, y, (v,), CancelToken())
        mapped = map_rows(map_kernel, design, y, np.empty(design.shape[0]), (v,))
    assert set(seen) == {threading.current_thread().name}
    assert total == pooled_total
    assert np.array_equal(vector, pooled_vector)
    assert np.array_equal(mapped, pooled_map)

    seen.clear()
    reduce_rows(reduce_kernel, design, y, (v,))  # the block ended: pooled again
    assert all(name.startswith("vbgui-rows") for name in seen)


def test_in_this_thread_is_per_thread() -> None:
    design, y, v = _problem()
    seen, reduce_kernel, _ = _threads_seen()
    other_thread_names: list[str] = []

    def elsewhere() -> None:
        before = len(seen)
        reduce_rows(reduce_kernel, design, y, (v,))
        other_thread_names.extend(seen[before:])

    with rows_in_this_thread():
        thread = threading.Thread(target=elsewhere, name="not-inline")
        thread.start()
        thread.join()
    assert other_thread_names and all(name.startswith("vbgui-rows") for name in other_thread_names)


def test_a_cancelled_in_this_thread_pass_raises() -> None:
    design, y, v = _problem()
    _, reduce_kernel, _ = _threads_seen()
    token = CancelToken()
    token.cancel()
    with rows_in_this_thread(), pytest.raises(FitCancelled):
        reduce_rows(reduce_kernel, design, y, (v,), token)
