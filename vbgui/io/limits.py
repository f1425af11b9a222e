"""What vbgui accepts from a file, in one table, and the memory it may use.

Value limits keep the numerics safe: a count of 1e6 spikes in one bin is
already far beyond any spike train, and with regressors and responses within
+-1e6 and prior scales within [1e-6, 1e6] no exp(x'w) overflows on the first
step.  The memory budget is checked *before* an allocation, from sizes a file
declares (zip headers, .npy headers, HDF5 dataset shapes, duration / dt), so a
small file that claims a huge array is refused instead of exhausting memory.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass

import numpy as np

from vbgui.errors import RecordingError, VbguiError


@dataclass(frozen=True)
class ValueRule:
    """The largest magnitude an array of one role may hold, and what to do about a larger one."""

    max_abs: float
    advice: str


# role -> the rule its values must satisfy (checked by vbgui.io.recording for every loader)
VALUE_RULES: dict[str, ValueRule] = {
    "counts": ValueRule(1e6, "no spike train has more than 1e6 spikes in one bin; are these counts?"),
    "response": ValueRule(1e6, "rescale the response (change its units)"),
    "stimulus": ValueRule(1e6, "rescale the stimulus (change its units) or z-score it"),
    "design": ValueRule(1e6, "rescale the design's columns"),
}

MEMORY_LIMIT_VARIABLE = "VBGUI_MEMORY_LIMIT"
DEFAULT_SHARE_OF_MEMORY = 0.5
_SUFFIXES = {"": 1, "K": 2 ** 10, "M": 2 ** 20, "G": 2 ** 30, "T": 2 ** 40}
_override: int | None = None


class MemoryLimitError(RecordingError):
    """An input would need more memory than the budget allows."""


def check_values(source: str, name: str, role: str, array: np.ndarray) -> None:
    """Raise :class:`RecordingError` naming ``source`` and ``name`` if ``array`` breaks the rule of ``role``."""
    rule = VALUE_RULES[role]
    if array.size == 0:
        return
    largest = max(abs(float(np.max(array))), abs(float(np.min(array))))  # no temporary as large as the data
    if largest > rule.max_abs:
        raise RecordingError(f"{source}: '{name}' holds a value of magnitude {largest:.3g}; allowed are "
                             f"values within +-{rule.max_abs:.0e} ({rule.advice})")


def parse_memory_size(text: str, where: str) -> int:
    """Bytes from '4000000', '512M', '4G', '1.5T' (binary units); raise VbguiError naming ``where``."""
    match = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]*)?)\s*([kKmMgGtT]?)(?:i?[bB])?\s*", text)
    if not match:
        raise VbguiError(f"{where}: expected a number of bytes, optionally with K, M, G or T (e.g. 4G), got {text!r}")
    size = float(match.group(1)) * _SUFFIXES[match.group(2).upper()]
    if not 2 ** 20 <= size <= 2 ** 60:
        raise VbguiError(f"{where}: the memory limit must be between 1M and 1048576T, got {text!r}")
    return int(size)


def set_memory_limit(text: str | None, where: str = "--memory-limit") -> None:
    """Use ``text`` (as for :func:`parse_memory_size`) as the budget from now on; None restores the default."""
    global _override
    _override = None if text is None else parse_memory_size(text, where)


def physical_memory() -> int:
    """Bytes of physical memory, or 4 GiB when the system does not say."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):
        return 4 * 2 ** 30


def memory_budget() -> int:
    """Bytes one input may need: --memory-limit, else VBGUI_MEMORY_LIMIT, else a share of physical memory
    (and of the address-space limit, when the process has one)."""
    if _override is not None:
        return _override
    text = os.environ.get(MEMORY_LIMIT_VARIABLE)
    if text:
        return parse_memory_size(text, MEMORY_LIMIT_VARIABLE)
    budget = int(physical_memory() * DEFAULT_SHARE_OF_MEMORY)
    soft = address_space_limit()
    if soft is not None:
        budget = min(budget, int(soft * DEFAULT_SHARE_OF_MEMORY))
    return budget


def address_space_limit() -> int | None:
    """The process's address-space limit (ulimit -v) in bytes, or None when it has none (or on Windows)."""
    try:
        import resource
    except ImportError:
        return None
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    return None if soft == resource.RLIM_INFINITY else int(soft)


def format_bytes(size: float) -> str:
    for unit, scale in (("TiB", 2 ** 40), ("GiB", 2 ** 30), ("MiB", 2 ** 20), ("KiB", 2 ** 10)):
        if size >= scale:
            return f"{size / scale:.2f} {unit}"
    return f"{int(size)} bytes"


def check_memory(source: str, what: str, needed: float) -> None:
    """Raise :class:`MemoryLimitError` if ``what`` (a phrase) would need more than the budget.

    ``needed`` is an estimate in bytes, made before allocating anything.
    """
    budget = memory_budget()
    if needed > budget:
        raise MemoryLimitError(f"{source}: {what} would need {format_bytes(needed)}, more than the memory limit "
                               f"of {format_bytes(budget)} (raise it with --memory-limit or {MEMORY_LIMIT_VARIABLE}, "
                               "e.g. 16G, if the machine has the memory)")
