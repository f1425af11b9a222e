"""The window at a laptop's and a desktop's size: controls and numbers in view, readable plots, legends off the data,
integer iteration axes, linked time axes, robust rate ranges, no stale panel, save dialogs in a sensible folder."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtCore import QPoint, QRect, QRectF
from PySide6.QtGui import QImage, QPainter
from PySide6.QtWidgets import QFileDialog, QScrollArea, QWidget

from vbgui.gui.axes import MIN_PLOT_HEIGHT
from vbgui.gui.main_window import MainWindow
from vbgui.gui.posterior_plot import NOT_AVAILABLE
from vbgui.io.npz import save_npz
from vbgui.models.synthetic import make_synthetic_recording

FIT_TIMEOUT_MS = 20_000
# (width, height) of the window on a 1366 x 768 laptop (a title bar and a 40 px panel take 68 px), and the default
SIZES = [(1366, 700), (1600, 1000)]
MIN_VIEW_HEIGHT = 40  # pixels of data area: three 10 pt tick labels fit beside it


def run_to_end(qtbot, window: MainWindow):
    with qtbot.waitSignal(window.fit_finished, timeout=FIT_TIMEOUT_MS) as finished:
        assert window.run_fit()
    return finished.args[0]


def rect_in_window(window: MainWindow, widget: QWidget) -> QRect:
    return QRect(widget.mapTo(window, QPoint(0, 0)), widget.size())


def scrolled(widget: QWidget) -> bool:
    """Whether ``widget`` sits inside a scroll area (so it may be out of view)."""
    parent = widget.parentWidget()
    while parent is not None:
        if isinstance(parent, QScrollArea):
            return True
        parent = parent.parentWidget()
    return False


def window_plots(window: MainWindow) -> dict[str, pg.PlotItem]:
    plots = {"stimulus": window.recording_panel.stimulus_plot, "response": window.recording_panel.response_plot,
             "elbo": window.elbo_plot.terms_plot, "complexity": window.elbo_plot.complexity_plot,
             "posterior": window.posterior_plot.plot, "rate": window.parameters_panel.rate_plot}
    plots.update({f"filter {i}": f.plot for i, f in enumerate(window.parameters_panel._filters)})
    return plots


def drawn_labels(axis: pg.AxisItem) -> list[str]:
    """The tick labels the axis draws at its present size."""
    image = QImage(max(1, int(axis.width())), max(1, int(axis.height())), QImage.Format.Format_ARGB32)
    painter = QPainter(image)
    try:
        specs = axis.generateDrawSpecs(painter)
    finally:
        painter.end()
    return [] if specs is None else [text for _, _, text in specs[2]]


@pytest.fixture
def sample_window(qtbot, fresh_settings):
    """The window as a user first sees it: the grasshopper recording and the poisson-glm preset."""
    window = MainWindow(settings=fresh_settings)
    qtbot.addWidget(window)
    window.show()
    yield window
    window.close()


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_controls_numbers_and_readable_plots_at_laptop_and_desktop_size(qtbot, sample_window, size) -> None:
    window = sample_window
    window.apply_default_layout(*size)
    with qtbot.waitSignal(window.diagnostics.diagnostics_finished, timeout=FIT_TIMEOUT_MS):
        assert window.run_fit()
    qtbot.wait(50)
    assert (window.width(), window.height()) == size
    inside = window.rect()
    for widget in (window.run_button, window.pause_button, window.stop_button, window.reset_button,
                   window.summary_panel):
        assert not scrolled(widget) and widget.isVisible()
        assert inside.contains(rect_in_window(window, widget)), widget
    assert "ELBO" in window.summary_panel.text() and "complexity" in window.summary_panel.text()
    # the summary is drawn in full: its height holds its text
    assert window.summary_panel.height() >= window.summary_panel.heightForWidth(window.summary_panel.width())
    for name, plot in window_plots(window).items():
        assert plot.height() >= MIN_PLOT_HEIGHT - 1, name
        assert plot.vb.height() >= MIN_VIEW_HEIGHT, name
        view = plot.scene().views()[0]
        assert inside.contains(rect_in_window(window, view)), name
        # ticks with labels on both axes
        for side in ("left", "bottom"):
            if plot.getAxis(side).style["showValues"]:
                assert len(drawn_labels(plot.getAxis(side))) >= 2, (name, side)
    dock = window.diagnostics.dock
    assert dock.isVisible() and inside.contains(rect_in_window(window, dock))
    # the diagnostics' plots are laid out inside their view (a short or narrow dock scrolls, never cuts them)
    plots = window.diagnostics.panel.plots

    def laid_out_inside() -> bool:
        view_rect = QRectF(plots.viewport().rect())
        return all(view_rect.contains(plot.mapRectToScene(plot.boundingRect()))
                   for plot in [plots.ratio_plot, *plots.corr_plots.values()])

    qtbot.waitUntil(laid_out_inside, timeout=3_000)


def test_legends_sit_outside_the_data(qtbot, window, small_recording_path) -> None:
    window.open_recording(small_recording_path)
    window.preset_panel.select("poisson-glm")
    run_to_end(qtbot, window)
    qtbot.wait(50)
    pairs = [(window.elbo_plot.legend, plot) for plot in (window.elbo_plot.terms_plot,
                                                          window.elbo_plot.complexity_plot)]
    pairs.append((window.posterior_plot.legend, window.posterior_plot.plot))
    pairs += [(window.parameters_panel.legend, plot) for name, plot in window_plots(window).items()
              if name.startswith("filter") or name == "rate"]
    for legend, plot in pairs:
        assert legend.items, "the legend names the curves"
        assert not legend.sceneBoundingRect().intersects(plot.vb.sceneBoundingRect()), plot.titleLabel.text


def test_iteration_axes_are_integers_with_labels_on_both_axes(qtbot, window, tmp_path) -> None:
    # an exact linear-Gaussian fit converges in two iterations: the axis spans 1 to 2
    path = tmp_path / "gaussian.npz"
    save_npz(make_synthetic_recording("gaussian", n_bins=3000, stimulus_lags=10, noise_sd=1.5, seed=3), path)
    window.open_recording(path)
    window.preset_panel.select("linear-gaussian")
    result = run_to_end(qtbot, window)
    assert result.iterations <= 3
    qtbot.wait(50)
    for plot in (window.elbo_plot.terms_plot, window.elbo_plot.complexity_plot):
        axis = plot.getAxis("bottom")
        values = [v for _, level in axis.tickValues(*plot.viewRange()[0], plot.vb.width()) for v in level]
        assert values and all(float(v).is_integer() for v in values)
    complexity = window.elbo_plot.complexity_plot
    labels = drawn_labels(complexity.getAxis("bottom"))
    assert labels and all("." not in label for label in labels)
    assert len(drawn_labels(complexity.getAxis("left"))) >= 2


def test_recording_and_prediction_share_their_time_range_and_units(qtbot, sample_window) -> None:
    window = sample_window
    run_to_end(qtbot, window)
    recording, rate = window.recording_panel.response_plot, window.parameters_panel.rate_plot
    np.testing.assert_allclose(rate.viewRange()[0], recording.viewRange()[0])
    recording.setXRange(3.0, 4.5, padding=0.0)  # the user pans and zooms the recording...
    np.testing.assert_allclose(rate.viewRange()[0], (3.0, 4.5))
    rate.setXRange(6.0, 6.5, padding=0.0)  # ...or the prediction
    np.testing.assert_allclose(recording.viewRange()[0], (6.0, 6.5))
    np.testing.assert_allclose(window.recording_panel.stimulus_plot.viewRange()[0], (6.0, 6.5))
    assert "a.u." in window.recording_panel.stimulus_plot.titleLabel.text
    assert "per 1 ms bin" in recording.titleLabel.text


def test_the_rate_axis_is_robust_to_a_few_wild_peaks(qtbot, sample_window) -> None:
    window = sample_window
    panel = window.parameters_panel
    observed = np.full(4000, 100.0)
    predicted = np.full(4000, 90.0)
    predicted[::200] = 4000.0  # 0.5 % of the bins
    low, high = panel.robust_range(observed, predicted)
    assert low == 0.0 and 100.0 < high < 150.0
    run_to_end(qtbot, window)
    observed_rate = panel.observed_curve.getData()[1]
    low, high = panel.rate_plot.viewRange()[1]
    # the observed rate fills at least a third of the axis: a prediction's peaks do not flatten it
    assert low <= 0.0 and high / 3.0 <= np.max(observed_rate) <= high
    vb = panel.rate_plot.vb
    vb.translateBy(x=0.5)  # the user drags the time axis: the rate axis stays automatic
    vb.sigRangeChangedManually.emit(vb.state["mouseEnabled"])
    assert panel._rate_range_is_automatic
    vb.scaleBy(y=0.2)  # the user zooms the rate axis...
    vb.sigRangeChangedManually.emit(vb.state["mouseEnabled"])
    panel.rate_plot.setYRange(0.0, 50.0, padding=0.0)
    window.recording_panel.response_plot.setXRange(2.0, 3.0, padding=0.0)
    np.testing.assert_allclose(panel.rate_plot.viewRange()[1], (0.0, 50.0))  # and keeps that range


def test_reset_leaves_no_panel_showing_the_old_fit(qtbot, window, small_recording_path) -> None:
    window.open_recording(small_recording_path)
    window.preset_panel.select("poisson-glm")
    window.preset_panel.family.setCurrentText("mean-field")
    with qtbot.waitSignal(window.diagnostics.diagnostics_finished, timeout=FIT_TIMEOUT_MS):
        assert window.run_fit()
    panel = window.diagnostics.panel
    assert panel.diagnostics is not None and window.posterior_plot.reference is not None
    window.reset_action.trigger()
    assert panel.diagnostics is None and "No fit" in panel.summary.text()
    assert not panel.diagnose_button.isEnabled()
    for filter_plot in window.parameters_panel._filters:
        assert filter_plot.band.path().isEmpty() and len(filter_plot.mean.getData()[0] or []) == 0
    assert window.posterior_plot.reference is None
    assert "PSIS" not in window.posterior_plot.reference_label.text()
    assert "Fit converged" not in window.status_label.text()
    assert not panel.plots.isVisibleTo(panel)  # no empty or stale heat maps ...
    assert all("mean-field" not in plot.titleLabel.text for plot in panel.plots.corr_plots.values())  # ... or titles


def test_a_reopened_result_is_diagnosed_or_says_why_not(qtbot, window, small_recording_path, tmp_path,
                                                        fresh_settings) -> None:
    window.open_recording(small_recording_path)
    window.preset_panel.select("poisson-glm")
    window.preset_panel.family.setCurrentText("mean-field")
    with qtbot.waitSignal(window.diagnostics.diagnostics_finished, timeout=FIT_TIMEOUT_MS):
        assert window.run_fit()
    path = tmp_path / "fit.json"
    assert window.write_result(path)
    first = window.diagnostics.panel.diagnostics
    # the recording is there: the reopened fit is diagnosed and its reference contoured
    with qtbot.waitSignal(window.diagnostics.diagnostics_finished, timeout=FIT_TIMEOUT_MS) as done:
        assert window.open_result(path)
    assert done.args[0].result is window.result and window.diagnostics.panel.diagnostics is not first
    assert window.posterior_plot.reference is not None and window.posterior_plot.reference.kind == "sampled"
    # another recording is loaded: no promise of contours that will never come
    other = tmp_path / "other.npz"
    save_npz(make_synthetic_recording("poisson", n_bins=3000, stimulus_lags=6, spike_history_lags=2, dt=0.005,
                                      mean_response=0.1, seed=9), other)
    window.open_recording(other)
    saved = path.read_text().replace(str(small_recording_path.resolve()), str(tmp_path / "gone.npz"))
    gone = tmp_path / "gone.json"
    gone.write_text(saved)
    window.open_result(gone)
    assert window.diagnostics.panel.diagnostics is None
    # the diagnostics answer from the event loop, right after the window's own slots
    qtbot.waitUntil(lambda: "none drawn" in window.posterior_plot.reference_label.text(), timeout=1000)
    assert NOT_AVAILABLE not in window.posterior_plot.reference_label.text()


def test_save_dialogs_open_in_the_recording_folder_then_the_last_used(qtbot, window, tmp_path,
                                                                      small_recording_path, monkeypatch) -> None:
    folder = tmp_path / "lab"
    folder.mkdir()
    recording = folder / "cell.npz"
    recording.write_bytes(small_recording_path.read_bytes())
    window.open_recording(recording)
    window.preset_panel.select("poisson-glm")
    run_to_end(qtbot, window)
    asked: list[str] = []
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        lambda _parent, _title, start, *_args, **_options: asked.append(start) or ("", ""))
    window.export_result()
    window.export_plot("ELBO")
    window.save_preset()
    assert len(asked) == 3 and all(start.startswith(str(folder.resolve())) for start in asked)
    assert asked[0].endswith("cell-result.json")
    elsewhere = tmp_path / "exports"
    elsewhere.mkdir()
    assert window.write_result(elsewhere / "fit.json")
    window.export_plot("ELBO")
    assert asked[-1].startswith(str(elsewhere.resolve()))


def test_save_dialogs_never_open_at_the_working_directory_for_the_sample(qtbot, sample_window, monkeypatch,
                                                                         tmp_path) -> None:
    monkeypatch.chdir("/")
    monkeypatch.setenv("HOME", str(tmp_path))
    asked: list[str] = []
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        lambda _parent, _title, start, *_args, **_options: asked.append(start) or ("", ""))
    monkeypatch.setattr(QFileDialog, "getOpenFileName",
                        lambda _parent, _title, start, *_args, **_options: asked.append(start) or ("", ""))
    sample_window.export_plot("Recording")
    sample_window.choose_recording()
    sample_window.choose_preset()
    assert len(asked) == 3 and all(start.startswith(str(tmp_path)) for start in asked)
