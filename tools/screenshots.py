"""Screenshots of the real main window, for review and for the README.

1. The first-launch state (the grasshopper recording, poisson-glm) before,
   during and after a live reparam fit: each panel and the whole window, as
   a user sees it (Diagnostics dock shown, or on a short window the
   Diagnostics tab, grabbed chosen too); the window after the fit and its
   diagnostics is ``docs/images/main-window.png`` (the README's screenshot);
   with the panels, the user guide's pictures (``docs/images/guide-*.png``).
2. The teaching picture: a linear-Gaussian recording, a full-rank fit kept
   for comparison, then a mean-field fit; the exact posterior is drawn too.
3. A three-parameter Poisson model, whose true posterior is an exact grid.
4. The dialogs: About (both tabs), the variables dialog, the user guide.
5. The Population dock: eight simulated units fitted with Fit all units, sorted by ELBO per bin, one unit's
   fit shown in the main panels.

Run under a display or Xvfb:
    QT_QPA_PLATFORM=xcb xvfb-run -a -s "-screen 0 1600x1080x24" python tools/screenshots.py --out /tmp/shots
    QT_QPA_PLATFORM=xcb xvfb-run -a -s "-screen 0 1366x768x24" python tools/screenshots.py --size 1366x700 \
        --no-docs --out /tmp/shots-laptop
    add --theme dark for the dark theme's pictures.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication

from screenshot_helpers import grab, settle, wait_until  # tools/ is on sys.path when run as a script

REPO = Path(__file__).resolve().parent.parent
IMAGES = REPO / "docs" / "images"
README_IMAGE = IMAGES / "main-window.png"
WINDOW_SIZE = (1600, 1000)
README_WIDTH = 1000  # keeps the README's PNG (window and Diagnostics dock) under 300 KB
GUIDE_WIDTH = 800  # the user guide's window pictures: narrower than its window, so no sideways scrolling


def set_field(window, key: str, text: str) -> None:
    edit = window.preset_panel.numbers[key]
    edit.setText(text)
    edit.textEdited.emit(text)


def diagnosed(window) -> list:
    """A list that receives the outcome of the next diagnosis (finished or failed); connect before Run.

    The diagnostics start from the event loop after ``fit_finished``, so "not running" right after the fit
    says nothing: wait for this list instead.
    """
    outcomes: list = []
    diagnostics = window.diagnostics

    def done(outcome) -> None:
        outcomes.append(outcome)
        diagnostics.diagnostics_finished.disconnect(done)
        diagnostics.diagnostics_failed.disconnect(done)

    diagnostics.diagnostics_finished.connect(done)
    diagnostics.diagnostics_failed.connect(done)
    return outcomes


def run_and_wait(app: QApplication, window) -> None:
    """Run a fit and wait for its end and its diagnostics."""
    outcomes = diagnosed(window)
    window.run_fit()
    wait_until(app, lambda: bool(outcomes))
    settle(app)


def grab_diagnostics_tab(app: QApplication, window, path: Path, width: int | None = None) -> None:
    """On a short window the Diagnostics are a tab beside the plots: a picture with that tab chosen, if it is one."""
    content = window.diagnostics.placement.content
    if window.plot_tabs.indexOf(content) < 0:
        return
    window.plot_tabs.setCurrentWidget(content)
    settle(app, 0.5)
    grab(window, path, width=width)
    window.plot_tabs.setCurrentIndex(0)
    settle(app, 0.3)


def live_fit_panels(app: QApplication, window, out: Path, images: Path) -> None:
    """Scenario 1: the sample recording at first launch, then a reparam fit, panels grabbed mid-fit; the
    README's and the user guide's pictures go to ``images``."""
    images.mkdir(parents=True, exist_ok=True)
    window.preset_panel.select("poisson-glm")
    wait_until(app, window.warmup.is_ready)
    settle(app, 0.3)
    grab(window, out / "launch-window.png")
    grab(window, images / "guide-1-window.png", width=GUIDE_WIDTH)
    grab(window.recording_panel, images / "guide-2-recording.png")
    window.preset_panel.estimator.setCurrentText("reparam")
    set_field(window, "fit.max_iter", "1500")
    grab(window.preset_panel.parentWidget(), images / "guide-3-preset.png")
    outcomes = diagnosed(window)
    window.run_fit()
    wait_until(app, lambda: window.runner.worker.latest is not None and window.runner.worker.latest.iteration >= 150)
    settle(app, 0.2)
    for name, widget in (("recording", window.recording_panel), ("preset", window.preset_panel.parentWidget()),
                         ("elbo", window.elbo_plot), ("posterior", window.posterior_plot),
                         ("parameters", window.parameters_panel), ("status-bar", window.statusBar())):
        grab(widget, out / f"live-{name}.png")
    grab(window, out / "live-window.png")
    grab(window, images / "guide-4-running.png", width=GUIDE_WIDTH)
    wait_until(app, lambda: bool(outcomes), timeout=300.0)  # an HMC reference takes a while
    settle(app)
    grab(window, out / "done-window.png")
    grab(window, images / README_IMAGE.name, width=README_WIDTH)
    grab_diagnostics_tab(app, window, out / "done-diagnostics-tab.png")
    grab_diagnostics_tab(app, window, images / "guide-6-diagnostics.png", width=GUIDE_WIDTH)
    grab(window.summary_panel.parentWidget(), out / "live-summary.png")
    grab(window.summary_panel.parentWidget(), images / "guide-5-summary.png")
    grab(window.parameters_panel, out / "done-parameters.png")


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
    grab_diagnostics_tab(app, window, out / "compare-diagnostics-tab.png")


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


def dialogs(app: QApplication, window, out: Path, folder: Path) -> None:
    """Scenario 4: About (both tabs), the variables dialog of a .mat file with other names, the user guide."""
    import numpy as np
    import scipy.io

    window.show_about("vbgui")
    settle(app)
    grab(window.about_dialog, out / "about-vbgui.png")
    window.show_about("data")
    settle(app)
    grab(window.about_dialog, out / "about-data.png")
    window.about_dialog.close()
    path = folder / "lab-names.mat"
    rng = np.random.default_rng(0)
    scipy.io.savemat(path, {"spk": rng.poisson(0.2, 3000).astype(float), "light": rng.standard_normal(3000)})
    window.open_recording(path)
    settle(app)
    grab(window.variables_dialog, out / "variables-dialog.png")
    window.variables_dialog.reject()
    window.show_user_guide()
    settle(app, 0.5)
    grab(window.user_guide, out / "user-guide.png")
    window.user_guide.close()


def population_view(app: QApplication, window, out: Path, recording_path: Path) -> None:
    """Scenario 5: a recording of eight units, Fit all units, the table sorted by ELBO per bin, a unit clicked."""
    from PySide6.QtCore import Qt

    wait_until(app, window.warmup.is_ready)  # the batch then fits at once, without compiling the kernels first
    from vbgui.io.npz import save_units_npz
    from vbgui.models.synthetic import make_synthetic_population

    save_units_npz(make_synthetic_population("poisson", n_units=8, n_bins=20_000, stimulus_lags=10, seed=1),
                   recording_path)
    window.open_recording(recording_path)
    window.posterior_plot.clear_kept()
    window.preset_panel.select("poisson-glm")
    population = window.population
    population.fit_all()
    wait_until(app, lambda: population.batch is not None and not population.is_running())
    elbo = next(i for i, column in enumerate(population.panel.model.columns) if column.header.startswith("ELBO"))
    population.panel.table.sortByColumn(elbo, Qt.SortOrder.DescendingOrder)
    shown = []
    population.unit_shown.connect(shown.append)
    population.show_unit(population.panel.proxy.index(0, 0).data(Qt.ItemDataRole.UserRole))
    wait_until(app, lambda: bool(shown))
    population.panel.select_unit(shown[0])
    wait_until(app, lambda: not window.diagnostics.is_running())
    settle(app)
    grab(population.dock, out / "population-dock.png")
    grab(window, out / "population-window.png")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "vbgui-screenshots")
    parser.add_argument("--size", type=lambda text: tuple(int(n) for n in text.split("x")), default=WINDOW_SIZE,
                        help="the window's size, WIDTHxHEIGHT (default 1600x1000; 1366x700 is a laptop's)")
    parser.add_argument("--no-docs", action="store_true", help="write to --out only, not docs/images")
    parser.add_argument("--theme", choices=("light", "dark"), default="light",
                        help="the widgets' and plots' theme (default light)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    app = QApplication([sys.argv[0]])
    from vbgui.gui.main_window import MainWindow
    from vbgui.gui.style import apply_theme

    apply_theme(app, args.theme)
    (args.out / "settings.ini").unlink(missing_ok=True)  # the default layout, not the last run's
    window = MainWindow(settings=QSettings(str(args.out / "settings.ini"), QSettings.Format.IniFormat))
    window.show()
    window.apply_default_layout(*args.size)  # as a user sees it at this size: the Diagnostics dock shown
    settle(app, 0.5)
    with tempfile.TemporaryDirectory() as folder:
        live_fit_panels(app, window, args.out, args.out if args.no_docs else IMAGES)
        teaching_picture(app, window, args.out, Path(folder) / "linear-gaussian.npz")
        grid_reference(app, window, args.out, Path(folder) / "three-weights.npz")
        dialogs(app, window, args.out, Path(folder))
        population_view(app, window, args.out, Path(folder) / "eight-units.npz")
    window.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
