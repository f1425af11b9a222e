"""BLAS on one thread inside the engine: the row-chunk pool is where the parallelism comes from.

The kernels split a pass over threads (:mod:`vbgui.core.rowpass`) and call
BLAS on small blocks inside each; numpy and scipy each bring an OpenBLAS
with its own thread pool, whose threads spin-wait between calls.  With both
pools and our own threads on a 2-core machine that was busy with anything
else, one full-rank pass at T = 20,000 x D = 150 took 7.9 s instead of
66 ms, and a 600-row x 256-draw chunk 48 ms instead of 1.6 ms
(``python benchmarks/bench_large_d.py``).  threadpoolctl sets every loaded
BLAS to one thread, once, when the engine is imported.
"""
from __future__ import annotations

import scipy.linalg.cython_blas  # noqa: F401  (loads scipy's OpenBLAS, which numba's np.dot calls)
from threadpoolctl import threadpool_limits

_LIMITS = threadpool_limits(limits=1, user_api="blas")
