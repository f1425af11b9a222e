"""Drive a generator that yields progress and returns a result (the optimisers, a fit's steps)."""
from __future__ import annotations

from typing import Callable, Generator, TypeVar

Yielded = TypeVar("Yielded")
Returned = TypeVar("Returned")


def run_to_end(generator: Generator[Yielded, None, Returned],
               on_yield: Callable[[Yielded], None] | None = None) -> Returned:
    """Exhaust ``generator``, calling ``on_yield`` with every value it yields; return its return value.

    Parameters
    ----------
    generator : yields progress, returns the result (``StopIteration.value``)
    on_yield : called with each yielded value, or None

    Returns
    -------
    What the generator returned.
    """
    while True:
        try:
            value = next(generator)
        except StopIteration as stop:
            return stop.value
        if on_yield is not None:
            on_yield(value)
