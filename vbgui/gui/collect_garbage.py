"""Run Python's cyclic garbage collector on the GUI thread only.

When the collector runs in a worker thread (a fit, diagnostics), it can
destroy a widget left in a reference cycle there; Qt then runs the widget's
destructor off the GUI thread, and with PySide6 that deadlocks on the GIL
(seen in CI: a fit worker hung in QMenu's destructor during gc). pyqtgraph's
GarbageCollector turns automatic collection off and collects on a QTimer,
that is, on the GUI thread.
"""
from __future__ import annotations

import gc

from pyqtgraph.util.garbage_collector import GarbageCollector

INTERVAL_SECONDS = 1.0


def collect_on_gui_thread() -> GarbageCollector:
    """Start collecting on the GUI thread; keep the returned object alive while the app runs."""
    gc.collect()
    return GarbageCollector(interval=INTERVAL_SECONDS)


def restore_automatic_collection(collector: GarbageCollector) -> None:
    """Stop the timer and give collection back to Python (for tests that end the GUI part)."""
    collector.timer.stop()
    gc.collect()
    gc.enable()
