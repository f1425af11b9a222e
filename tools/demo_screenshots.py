"""Screenshots of every demonstration in presentation mode, for review and for the README.

Each demonstration is opened at the desk, computed to its end, then shown
full screen (F5; 1920 x 1080 under Xvfb), the way a user gets there, and saved as
``docs/demos/<name>.png``; the correlated-Gaussian demonstration is also
saved in the dark theme and at the desk (controls shown).

    QT_QPA_PLATFORM=xcb xvfb-run -a -s "-screen 0 1920x1080x24" python tools/demo_screenshots.py

``--demo NAME`` (repeatable) retakes only those demonstrations (and the dark and desk
pictures only when the first demonstration is among them).
"""
from __future__ import annotations

import argparse
from pathlib import Path

from PySide6.QtWidgets import QApplication

from screenshot_helpers import grab, settle, wait_until  # tools/ is on sys.path when run as a script

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "docs" / "demos"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT, help="folder for the PNG files (default docs/demos)")
    parser.add_argument("--demo", action="append", default=[], metavar="NAME",
                        help="take only this demonstration (repeatable; default every one)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    app = QApplication.instance() or QApplication([])
    from vbgui.gui.style import configure_pyqtgraph

    configure_pyqtgraph()
    from vbgui.app.demos import DEMO_NAMES
    from vbgui.gui.demos.window import DemosWindow

    unknown = sorted(set(args.demo) - set(DEMO_NAMES))
    if unknown:
        parser.error(f"--demo: no demonstration {', '.join(unknown)}; choose from {', '.join(DEMO_NAMES)}")
    names = [name for name in DEMO_NAMES if not args.demo or name in args.demo]
    window = DemosWindow(names[0])
    window.resize(1600, 1000)
    window.show()
    for name in names:  # as a user gets there: open at the desk, let it compute, then F5
        window.show_demo(name)
        wait_until(app, window.page.settled, timeout=120.0)
        window.set_presentation(True)
        settle(app)
        grab(window, args.out / f"{name}.png")
        window.set_presentation(False)
        window.resize(1600, 1000)
    if DEMO_NAMES[0] not in names:
        window.close()
        return 0
    window.set_presentation(True)
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
