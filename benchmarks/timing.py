"""What the benchmark scripts share: the median wall time of a call."""
from __future__ import annotations

import time
from typing import Callable

import numpy as np


def median_time(fn: Callable[[], object], repeats: int = 7) -> float:
    """Median over ``repeats`` calls of ``fn()``, in seconds."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))
