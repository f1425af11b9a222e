"""Screenshots of the diagnostics views, for review and for the README.

Opens the window as a user does (the default layout at ``--size``, the
theme of ``--theme``), fits the shipped grasshopper recording with the
poisson-glm preset and a mean-field q, waits for the diagnostics, and saves
the window and its lower part, from the posterior panel down
(``docs/images/diagnostics.png``, the README picture, unless ``--no-docs``:
full size, readable, under 300 KB), the diagnostics alone (the dock, or on a short window the
Diagnostics tab), and the model-comparison dialog (poisson-glm with and
without spike history) into ``--out`` (default: a temporary folder).

    QT_QPA_PLATFORM=xcb xvfb-run -a -s "-screen 0 1920x1080x24" python tools/diagnostics_screenshots.py
    add --size 1366x728 --no-docs (a laptop: the Diagnostics are a tab) or --theme dark for the other views.
"""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication

from screenshot_helpers import below, grab, settle, wait_until  # tools/ is on sys.path when run as a script

REPO = Path(__file__).resolve().parent.parent
README_IMAGE = REPO / "docs" / "images" / "diagnostics.png"
WINDOW_SIZE = (1600, 1000)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "vbgui-diagnostics",
                        help="folder for the dock and dialog pictures")
    parser.add_argument("--size", type=lambda text: tuple(int(n) for n in text.split("x")), default=WINDOW_SIZE,
                        help="the window's size, WIDTHxHEIGHT (default 1600x1000, the window's default)")
    parser.add_argument("--theme", choices=("light", "dark"), default="light")
    parser.add_argument("--no-docs", action="store_true", help="write to --out only, not docs/images")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    app = QApplication.instance() or QApplication([])
    from vbgui.gui.main_window import MainWindow
    from vbgui.gui.style import apply_theme

    apply_theme(app, args.theme)
    settings = QSettings(str(args.out / "settings.ini"), QSettings.Format.IniFormat)
    settings.clear()
    window = MainWindow(settings=settings)
    window.show()
    window.apply_default_layout(*args.size)  # as a user sees it at this size
    wait_until(app, window.warmup.is_ready)
    window.preset_panel.select("poisson-glm")
    window.preset_panel.family.setCurrentText("mean-field")
    done: list[object] = []
    window.diagnostics.diagnostics_finished.connect(done.append)
    window.run_fit()
    wait_until(app, lambda: bool(done))
    plot = window.posterior_plot
    plot.x_choice.setCurrentText("stim[0]")
    plot.y_choice.setCurrentText("stim[1]")
    settle(app, 1.0)
    grab(window, args.out / "diagnostics-window.png")
    if not args.no_docs:  # the posterior panel with the reference's contours and the dock, at full size
        grab(window, README_IMAGE, region=below(window, plot))
    grab(plot, args.out / "posterior-psis.png")
    content = window.diagnostics.placement.content
    if window.plot_tabs.indexOf(content) >= 0:
        window.plot_tabs.setCurrentWidget(content)
        settle(app, 0.5)
        grab(window, args.out / "diagnostics-tab.png")
    else:
        grab(window.diagnostics.dock, args.out / "diagnostics-dock.png")

    window.preset_panel.family.setCurrentText("full-rank")  # compare with and without history only
    set_history = window.preset_panel.numbers["design.spike_history_lags"]
    set_history.setText("0")
    set_history.textEdited.emit("0")
    dialog = window.diagnostics.show_compare_dialog()
    dialog.check(["poisson-glm", "current form"])
    tables: list[object] = []
    dialog.comparison_finished.connect(tables.append)
    dialog.run_comparison()
    wait_until(app, lambda: bool(tables))
    settle(app, 0.5)
    grab(dialog, args.out / "compare-dialog.png")
    dialog.close()
    window.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
