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
from vbgui.gui.empty_plot import EmptyPlotNote
from vbgui.gui.main_window import MainWindow
from vbgui.gui.posterior_plot import NOT_AVAILABLE
from vbgui.io.npz import save_npz
from vbgui.models.synthetic import make_synthetic_recording

FIT_TIMEOUT_MS = 20_000
# (width, height) of the window on a 1366 x 768 laptop (a title bar and a 40 px panel take 68 px), and the default
SIZES = [(1366, 700), (1600, 1000)]
MIN_VIEW_HEIGHT = 40  # pixels of data area: three 10 pt tick labels fit beside it
SHORT_WINDOW = 800  # below this height the Diagnostics dock would be squeezed under the plots: a tab instead
MIN_HEAT_MAP = 140  # pixels a side: a 27 x 27 correlation map with every third row named


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
    diagnostics = window.diagnostics
    dock, content, tabs = diagnostics.dock, diagnostics.placement.content, window.plot_tabs
    if size[1] < SHORT_WINDOW:  # a laptop: the Diagnostics are a tab beside the plots, titled with the verdict
        assert not dock.isVisible() and tabs.indexOf(content) >= 0
        assert diagnostics.panel.diagnostics.psis_verdict in tabs.tabText(tabs.indexOf(content))
        tabs.setCurrentWidget(content)
    else:
        assert tabs.indexOf(content) < 0 and tabs.tabBar().isHidden()  # no tab bar for the plots alone
    container = tabs if tabs.indexOf(content) >= 0 else dock
    assert container.isVisible() and inside.contains(rect_in_window(window, container))
    plots = diagnostics.panel.plots

    def all_in_sight() -> bool:
        """The bars and both heat maps (with their titles and axes) inside what the view shows, with no scrolling
        (offscreen, visibleRegion() is empty: the geometry says it)."""
        view_rect = QRectF(plots.viewport().rect())
        scroll = plots.parentWidget()
        while not isinstance(scroll, QScrollArea):
            scroll = scroll.parentWidget()
        seen = QRect(scroll.viewport().mapTo(window, QPoint(0, 0)), scroll.viewport().size())
        return (scroll.horizontalScrollBar().maximum() == 0 and scroll.verticalScrollBar().maximum() == 0
                and seen.contains(rect_in_window(window, plots)) and inside.contains(seen)
                and all(view_rect.contains(plot.mapRectToScene(plot.boundingRect()))
                        for plot in [plots.ratio_plot, *plots.corr_plots.values()]))

    qtbot.waitUntil(all_in_sight, timeout=3_000)
    for key, plot in plots.corr_plots.items():  # a heat map of 27 parameters a user can read
        assert min(plot.vb.width(), plot.vb.height()) >= MIN_HEAT_MAP, (key, plot.vb.width(), plot.vb.height())


def test_the_diagnostics_are_a_tab_on_a_short_window_and_a_dock_on_a_tall_one(qtbot, sample_window,
                                                                             fresh_settings) -> None:
    window = sample_window
    dock, placement, tabs = window.diagnostics.dock, window.diagnostics.placement, window.plot_tabs
    window.apply_default_layout(1366, 700)
    qtbot.waitUntil(lambda: placement.in_tab, timeout=2_000)
    assert tabs.indexOf(placement.content) >= 0 and tabs.tabText(0) == "Fit" and not dock.isVisible()
    assert not placement.toggle_action.isEnabled()  # View > Diagnostics would only show an empty dock
    window.apply_default_layout(1600, 1000)
    qtbot.waitUntil(lambda: not placement.in_tab, timeout=2_000)
    assert dock.widget() is placement.content and dock.isVisible() and tabs.count() == 1
    assert placement.toggle_action.isEnabled()
    # hidden by the user: no tab on a short window either, and still hidden when the window grows again
    placement.toggle_action.trigger()
    assert dock.isHidden()
    window.apply_default_layout(1366, 700)
    qtbot.waitUntil(lambda: placement.in_tab, timeout=2_000)
    assert tabs.count() == 1
    window.apply_default_layout(1600, 1000)
    qtbot.waitUntil(lambda: not placement.in_tab, timeout=2_000)
    assert dock.isHidden()
    placement.toggle_action.trigger()
    assert dock.isVisible()
    # closing as a tab: the content goes back to the dock first, so the saved layout keeps the dock
    window.apply_default_layout(1366, 700)
    qtbot.waitUntil(lambda: placement.in_tab, timeout=2_000)
    window.close()
    assert dock.widget() is placement.content and not placement.in_tab
    again = MainWindow(settings=fresh_settings)
    qtbot.addWidget(again)
    again.show()
    again.apply_default_layout(1600, 1000)
    qtbot.waitUntil(lambda: again.diagnostics.dock.isVisible(), timeout=2_000)
    again.close()


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


def empty_notes(window: MainWindow) -> dict[str, EmptyPlotNote]:
    """Each plot that may be empty, with its note."""
    notes = {"elbo": window.elbo_plot.empty_notes[0], "complexity": window.elbo_plot.empty_notes[1],
             "posterior": window.posterior_plot.empty_note}
    notes.update({f"filter {i}": f.empty_note for i, f in enumerate(window.parameters_panel._filters)})
    return notes


def axis_drawn(axis: pg.AxisItem) -> bool:
    return axis.isVisible() and axis.opacity() > 0.0


def axes_shown(plot: pg.PlotItem) -> bool:
    return axis_drawn(plot.getAxis("left")) and axis_drawn(plot.getAxis("bottom"))


def test_before_the_first_fit_no_empty_axes_and_one_plain_sentence_per_panel(qtbot, sample_window) -> None:
    window = sample_window
    window.apply_default_layout(1366, 700)
    qtbot.wait(50)
    notes = empty_notes(window)
    assert len(notes) == 5  # ELBO, complexity, posterior, stimulus and spike-history filters
    for name, note in notes.items():
        assert not axis_drawn(note.plot.getAxis("left")) and not axis_drawn(note.plot.getAxis("bottom")), name
    said = [note.label.toPlainText() for note in notes.values() if note.label.isVisible() and note.label.toPlainText()]
    # one sentence per panel (ELBO, posterior, parameters), each saying what comes there, none repeated
    assert len(said) == 3 and len(set(said)) == 3 and all(text.startswith("No fit yet") for text in said)
    for note in notes.values():  # each sentence is within its plot's view and undrawn axes, under the title
        if note.label.isVisible():
            room = note.plot.mapRectToScene(note.area())
            assert room.contains(note.label.mapRectToScene(note.label.boundingRect()))
            assert room.top() >= note.plot.titleLabel.sceneBoundingRect().bottom() - 1
    assert axes_shown(window.parameters_panel.rate_plot)  # the observed rate is data: on its axes
    assert "No fit" in window.diagnostics.panel.summary.text()  # said once in the dock, not under each plot
    assert not window.diagnostics.panel.plots.isVisibleTo(window.diagnostics.panel)

    run_to_end(qtbot, window)
    qtbot.wait(50)
    for name, note in notes.items():
        assert axes_shown(note.plot) and not note.label.isVisible(), name
    window.reset_action.trigger()  # no fit again: the sentences are back, the axes gone
    for name, note in notes.items():
        assert not axis_drawn(note.plot.getAxis("left")) and note.label.isVisible(), name


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
