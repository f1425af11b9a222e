"""Screenshots of every demonstration in presentation mode, for review and for the README.

Each demonstration is shown full screen (1920 x 1080 under Xvfb) with its
computations finished and its animation at the end, and saved as
``docs/demos/<name>.png``; the correlated-Gaussian demonstration is also
saved in the dark theme and at the desk (controls shown).

    QT_QPA_PLATFORM=xcb xvfb-run -a -s "-screen 0 1920x1080x24" python tools/demo_screenshots.py
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

from PySide6.QtCore import QEventLoop
from PySide6.QtWidgets import QApplication, QWidget

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "docs" / "demos"
MAX_BYTES = 300 * 1024


def wait_until(app: QApplication, condition, timeout: float = 60.0) -> None:
    """Process events until ``condition()`` holds; raise TimeoutError after ``timeout`` seconds."""
    deadline = time.perf_counter() + timeout
    while not condition():
        if time.perf_counter() > deadline:
            raise TimeoutError("the demonstration did not settle")
        app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)
        time.sleep(0.005)


def settle(app: QApplication, seconds: float = 0.5) -> None:
    end = time.perf_counter() + seconds
    wait_until(app, lambda: time.perf_counter() > end)


def grab(widget: QWidget, path: Path) -> None:
    """Save a picture of ``widget``; a PNG over MAX_BYTES is an error (the docs stay small)."""
    if not widget.grab().save(str(path)):
        raise OSError(f"cannot write {path}")
    size = path.stat().st_size
    print(f"wrote {path} ({size // 1024} KB)")
    if size > MAX_BYTES:
        raise SystemExit(f"{path} is larger than {MAX_BYTES // 1024} KB")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT, help="folder for the PNG files (default docs/demos)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    app = QApplication.instance() or QApplication([])
    from vbgui.gui.style import configure_pyqtgraph

    configure_pyqtgraph()
    from vbgui.app.demos import DEMO_NAMES
    from vbgui.gui.demos.window import DemosWindow

    window = DemosWindow()
    window.resize(1600, 1000)
    window.show()
    window.set_presentation(True)
    for name in DEMO_NAMES:
        window.show_demo(name)
        wait_until(app, window.page.settled, timeout=120.0)
        settle(app)
        grab(window, args.out / f"{name}.png")
    window.show_demo(DEMO_NAMES[0])
    window.toggle_dark()
    settle(app)
    grab(window, args.out / f"{DEMO_NAMES[0]}-dark.png")
    window.toggle_dark()
    window.set_presentation(False)
    window.resize(1600, 1000)
    settle(app)
    grab(window, args.out / f"{DEMO_NAMES[0]}-desk.png")
    window.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
