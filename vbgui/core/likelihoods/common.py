"""Numerical building blocks shared by the likelihood modules (numba, inlined)."""
from __future__ import annotations

import math

from numba import njit

# Re-association lets LLVM vectorise; no 'nnan'/'ninf', so an overflow still
# shows up as inf and is caught by the caller.
FAST = {"reassoc", "contract", "nsz", "arcp"}


@njit(cache=True, nogil=True, fastmath=FAST, inline="always")
def softplus_sigmoid(x: float) -> tuple[float, float]:
    """Return log(1 + exp(x)) and 1 / (1 + exp(-x)) without overflow.

    Parameters
    ----------
    x : float
        The argument.

    Returns
    -------
    softplus : float
        log(1 + exp(x)).
    sigmoid : float
        1 / (1 + exp(-x)).
    """
    if x > 0.0:
        z = math.exp(-x)
        return x + math.log1p(z), 1.0 / (1.0 + z)
    z = math.exp(x)
    return math.log1p(z), z / (1.0 + z)
