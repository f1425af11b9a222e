"""The iteration lines a fit prints on stderr while it runs."""
from __future__ import annotations

import sys
import time
from typing import Any, Callable

PROGRESS_INTERVAL = 0.25  # seconds between progress lines on stderr


def iteration_printer(quiet: bool) -> Callable[[Any], None]:
    """A progress callback printing an iteration's ELBO and its two terms, at most every PROGRESS_INTERVAL
    seconds (the first iteration always); silent when ``quiet``."""
    last_print = 0.0

    def report(progress: Any) -> None:
        nonlocal last_print
        now = time.perf_counter()
        if quiet or (now - last_print < PROGRESS_INTERVAL and progress.iteration > 1):
            return
        last_print = now
        t = progress.terms
        print(f"iter {progress.iteration:6d}  elbo {t.elbo:.6f}  accuracy (E log-lik) "
              f"{t.expected_log_likelihood:.6f}  complexity (KL) {t.kl:.6f}", file=sys.stderr)

    return report
