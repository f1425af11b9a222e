"""How smooth is the correlated-Gaussian demo while the slider is dragged?

Opens the demos window, lets the first demo settle, then drags the rho
slider (one step every 15 ms, 40 steps) while the animation replays.  Each
animation frame's time is recorded: the gaps between frames say how smooth
the ellipses glide (the timer asks for 30 frames per second, a 33 ms gap).
The refit latency (slider moved to new fit drawn) is measured over seven
single moves first.  The floor is the frame gaps of the same replay with
no slider moving, measured first in the same run.

Run:  QT_QPA_PLATFORM=offscreen python benchmarks/bench_demo_animation.py [--repeats 3]
The bar: refit median < 100 ms and 95th-percentile frame gap < 100 ms on a
quiet machine (on a loaded 2-core machine the gaps measure the load too).
"""
from __future__ import annotations

import argparse
import os
import sys
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
from PySide6.QtCore import QEventLoop, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

DRAG_STEPS = 40
DRAG_STEP_MS = 15


def wait(app: QApplication, milliseconds: int) -> None:
    loop = QEventLoop()
    QTimer.singleShot(milliseconds, loop.quit)
    loop.exec()


def wait_until(app: QApplication, condition, timeout_s: float = 60.0) -> None:
    deadline = time.perf_counter() + timeout_s
    while not condition():
        if time.perf_counter() > deadline:
            raise TimeoutError("the demo did not settle")
        wait(app, 5)


def frame_gaps(app: QApplication, page, drag: bool) -> np.ndarray:
    """Replay the animation (dragging the slider if ``drag``) and return the gaps between frames, in s."""
    frames: list[float] = []

    def record() -> None:
        frames.append(time.perf_counter())

    page.animation.frame.connect(record)
    page.restart()
    wait_until(app, lambda: page.fits is not None and not page.runner.busy)
    for step in range(DRAG_STEPS):
        if drag:
            page.rho.set_value(0.5 + 0.01 * step)
        wait(app, DRAG_STEP_MS)
    page.animation.frame.disconnect(record)
    wait_until(app, page.settled)
    return np.diff(frames)


def describe(gaps: np.ndarray) -> str:
    return (f"p95 {np.percentile(gaps, 95) * 1000:6.1f} ms   max {gaps.max() * 1000:6.1f} ms   "
            f"median {np.median(gaps) * 1000:5.1f} ms   ({gaps.size} gaps)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    app = QApplication([sys.argv[0]])
    from vbgui.gui.demos.window import DemosWindow

    window = DemosWindow()
    window.resize(1400, 900)
    window.show()
    page = window.page
    wait_until(app, page.settled)

    latencies = []
    for rho in (0.1, 0.45, -0.7, 0.95, -0.3, 0.8, 0.99):
        page.rho.set_value(rho)
        wait_until(app, lambda: page.fits is not None and page.fits.target.rho == rho and not page.runner.busy)
        latencies.append(page.refit_seconds)
    print(f"refit latency: median {np.median(latencies) * 1000:.1f} ms, max {max(latencies) * 1000:.1f} ms "
          f"(7 moves)")
    for repeat in range(args.repeats):
        print(f"run {repeat + 1}  floor (no drag): {describe(frame_gaps(app, page, drag=False))}")
        print(f"run {repeat + 1}  while dragging:  {describe(frame_gaps(app, page, drag=True))}")
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
