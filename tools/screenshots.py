"""Screenshots of the real main window, for review and for the README.

1. The first-launch state (sample recording, poisson-glm) during a live
   reparam fit: each panel and the whole window, grabbed mid-fit.
2. The teaching picture: a linear-Gaussian recording, a full-rank fit kept
   for comparison, then a mean-field fit; the exact posterior is drawn too.
   Saved as ``docs/images/main-window.png`` (the README's screenshot).
3. A three-parameter Poisson model, whose true posterior is an exact grid.

Run under a display or Xvfb:
    QT_QPA_PLATFORM=xcb xvfb-run -a -s "-screen 0 1600x1000x24" python tools/screenshots.py --out /tmp/shots
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from PySide6.QtCore import QEventLoop, Qt
from PySide6.QtWidgets import QApplication, QWidget

REPO = Path(__file__).resolve().parent.parent
README_IMAGE = REPO / "docs" / "images" / "main-window.png"
WINDOW_SIZE = (1600, 1000)
README_WIDTH = 1200  # keeps the README's PNG under 300 KB


def wait_until(app: QApplication, condition, timeout: float = 60.0) -> None:
    """Process events until ``condition()`` holds; raise TimeoutError after ``timeout`` seconds."""
    deadline = time.perf_counter() + timeout
    while not condition():
        if time.perf_counter() > deadline:
            raise TimeoutError("the window did not reach the expected state")
        app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)
        time.sleep(0.005)


def settle(app: QApplication, seconds: float = 0.3) -> None:
    end = time.perf_counter() + seconds
    wait_until(app, lambda: time.perf_counter() > end)


def grab(widget: QWidget, path: Path, width: int | None = None) -> None:
    """Save a picture of ``widget``; scaled to ``width`` pixels when given (smaller files)."""
    image = widget.grab()
    if width is not None:
        image = image.scaledToWidth(width, Qt.TransformationMode.SmoothTransformation)
    if not image.save(str(path)):
        raise OSError(f"cannot write {path}")
    print(f"wrote {path} ({path.stat().st_size // 1024} KB)")


def set_field(window, key: str, text: str) -> None:
    edit = window.preset_panel.numbers[key]
    edit.setText(text)
    edit.textEdited.emit(text)


def run_and_wait(app: QApplication, window) -> None:
    finished = []
    window.fit_finished.connect(finished.append)
    window.fit_failed.connect(lambda message: finished.append(message))
    window.run_fit()
    wait_until(app, lambda: bool(finished))
    window.fit_finished.disconnect()
    window.fit_failed.disconnect()
    settle(app)


def live_fit_panels(app: QApplication, window, out: Path) -> None:
    """Scenario 1: the sample recording, a reparam fit, panels grabbed mid-fit."""
    window.preset_panel.select("poisson-glm")
    window.preset_panel.estimator.setCurrentText("reparam")
    set_field(window, "fit.max_iter", "600")
    window.run_fit()
    wait_until(app, lambda: window.runner.worker.latest is not None and window.runner.worker.latest.iteration >= 60)
    settle(app, 0.2)
    for name, widget in (("recording", window.recording_panel), ("preset", window.preset_panel.parentWidget()),
                         ("elbo", window.elbo_plot), ("posterior", window.posterior_plot),
                         ("parameters", window.parameters_panel), ("status-bar", window.statusBar())):
        grab(widget, out / f"live-{name}.png")
    grab(window, out / "live-window.png")
    wait_until(app, lambda: not window.is_fitting())
    settle(app)
    grab(window.summary_panel.parentWidget(), out / "live-summary.png")


def teaching_picture(app: QApplication, window, out: Path, recording_path: Path) -> None:
    """Scenario 2: linear-Gaussian, full-rank kept, then mean-field: exact, kept and current contours."""
    from vbgui.io.npz import save_npz
    from vbgui.models.synthetic import make_synthetic_recording

    save_npz(make_synthetic_recording("gaussian", n_bins=4000, stimulus_lags=10, noise_sd=1.5, seed=3),
             recording_path)
    window.open_recording(recording_path)
    window.preset_panel.select("linear-gaussian")
    window.preset_panel.family.setCurrentText("full-rank")
    run_and_wait(app, window)
    window.posterior_plot.keep_button.click()
    window.preset_panel.family.setCurrentText("mean-field")
    run_and_wait(app, window)
    grab(window.posterior_plot, out / "compare-posterior.png")
    grab(window, out / "compare-window.png")
    README_IMAGE.parent.mkdir(parents=True, exist_ok=True)
    grab(window, README_IMAGE, width=README_WIDTH)


def grid_reference(app: QApplication, window, out: Path, recording_path: Path) -> None:
    """Scenario 3: three weights, so the true posterior is an exact grid."""
    from vbgui.io.npz import save_npz
    from vbgui.models.synthetic import make_synthetic_recording

    save_npz(make_synthetic_recording("poisson", n_bins=3000, stimulus_lags=2, dt=0.01, mean_response=0.3,
                                      seed=5), recording_path)
    window.open_recording(recording_path)
    window.posterior_plot.clear_kept()
    window.preset_panel.select("poisson-glm")
    set_field(window, "design.stimulus_lags", "2")
    set_field(window, "design.spike_history_lags", "0")
    window.preset_panel.family.setCurrentText("mean-field")
    run_and_wait(app, window)
    grab(window.posterior_plot, out / "grid-posterior.png")
    grab(window, out / "grid-window.png")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "vbgui-screenshots")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    app = QApplication([sys.argv[0]])
    from vbgui.gui.main_window import MainWindow
    from vbgui.gui.style import configure_pyqtgraph

    configure_pyqtgraph()
    window = MainWindow()
    window.resize(*WINDOW_SIZE)
    window.show()
    settle(app, 0.5)
    with tempfile.TemporaryDirectory() as folder:
        live_fit_panels(app, window, args.out)
        teaching_picture(app, window, args.out, Path(folder) / "linear-gaussian.npz")
        grid_reference(app, window, args.out, Path(folder) / "three-weights.npz")
    window.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
