"""Cold and warm launches: time to the window on screen and to the first ELBO point, source and bundle.

Each launch is a fresh process running ``vbgui --launch-timing`` (the real
window, which presses Run as soon as it is shown; see
vbgui/gui/launch_timing.py), timed from the moment this script starts it.
Cold = numba's cache folder empty (NUMBA_CACHE_DIR pointing to a new
temporary folder), so every kernel compiles; warm = the next launches with
that same folder.  The floor is the same measure for a bare Python process
that imports nothing (interpreter start-up), measured in the same run.
The bundle (dist/vbgui/vbgui) is measured too when it exists.

Run:  QT_QPA_PLATFORM=offscreen python benchmarks/bench_launch.py [--warm-runs 3]
(the bar of issue 8: the window within 2 s warm; the second launch starts a fit with no compile delay).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUNDLE = ROOT / "dist" / "vbgui" / "vbgui"


def launch(command: list[str], cache_dir: str) -> tuple[float, float]:
    """(seconds to the window shown, seconds to the first ELBO point) of one launch."""
    env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir, QT_QPA_PLATFORM=os.environ.get("QT_QPA_PLATFORM", "offscreen"))
    started = time.time()
    completed = subprocess.run([*command, "--launch-timing"], env=env, capture_output=True, text=True, timeout=600)
    lines = [line for line in completed.stdout.splitlines() if line.startswith("{")]
    if completed.returncode != 0 or not lines:
        raise RuntimeError(f"{' '.join(command)} --launch-timing failed ({completed.returncode}):\n"
                           f"{completed.stdout[-2000:]}\n{completed.stderr[-2000:]}")
    times = json.loads(lines[-1])
    return times["window_shown"] - started, times["first_elbo_point"] - started


def interpreter_floor() -> float:
    started = time.time()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    return time.time() - started


def measure(name: str, command: list[str], warm_runs: int, floor: float) -> None:
    with tempfile.TemporaryDirectory(prefix="vbgui-bench-numba-") as cache_dir:
        cold = launch(command, cache_dir)
        warm = [launch(command, cache_dir) for _ in range(warm_runs)]
    window_warm = statistics.median(w for w, _ in warm)
    elbo_warm = statistics.median(e for _, e in warm)
    print(f"{name}:")
    print(f"  cold (empty numba cache): window {cold[0]:5.2f} s ({cold[0] / floor:5.1f} x floor), "
          f"first ELBO point {cold[1]:5.2f} s")
    print(f"  warm (median of {warm_runs}):      window {window_warm:5.2f} s ({window_warm / floor:5.1f} x floor), "
          f"first ELBO point {elbo_warm:5.2f} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warm-runs", type=int, default=3)
    args = parser.parse_args()
    floor = statistics.median(interpreter_floor() for _ in range(3))
    print(f"floor (bare python start-up): {floor:.3f} s")
    measure("source install (python -m vbgui)", [sys.executable, "-m", "vbgui"], args.warm_runs, floor)
    if BUNDLE.is_file():
        measure(f"bundle ({BUNDLE.relative_to(ROOT)})", [str(BUNDLE)], args.warm_runs, floor)
    else:
        print(f"bundle: {BUNDLE.relative_to(ROOT)} not built (python packaging/build.py); not measured")
    return 0


if __name__ == "__main__":
    sys.exit(main())
