"""Talk mode driven through pytest-qt: every demonstration draws, demo 1 reaches the closed forms,
the slider refits within budget, presentation mode, keys, exports, scene files, menu and launch."""
from __future__ import annotations

import math
import threading
import time

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt

from vbgui.app.demos import DEMO_NAMES, DEMOS
from vbgui.errors import VbguiError
from vbgui.gui.demos.launch import demo_listing, parse_demo_arguments
from vbgui.gui.demos.menu import demos_window
from vbgui.gui.demos.page import decimal
from vbgui.gui.demos.theme import PRESENTATION
from vbgui.gui.demos.window import DemosWindow

from tests.gui.axes import check_axes_show_their_numbers

SETTLE_MS = 30_000
FROZEN_SECONDS = 0.5  # a gap this long between animation frames is a blocked GUI thread, not load
QUICK_ITERATIONS = 50  # the noisy-gradients demo's fits, cut short for the tests


@pytest.fixture
def demos(qtbot):
    window = DemosWindow()
    window.pages["noisy-gradients"].max_iter.set_value(QUICK_ITERATIONS, quiet=True)
    qtbot.addWidget(window)
    window.resize(1400, 900)
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    yield window
    window.close()


def settle(qtbot, window: DemosWindow) -> None:
    qtbot.waitUntil(window.page.settled, timeout=SETTLE_MS)


def finish_animation(window: DemosWindow) -> None:
    window.page.animation.seek(window.page.animation.length)


def fitted(qtbot, window: DemosWindow, condition=lambda page: True) -> None:
    """Wait for a 2-D page's fits (not for its animation, which is then sent to its end)."""
    page = window.page
    qtbot.waitUntil(lambda: page.fits is not None and not page.runner.busy and condition(page), timeout=SETTLE_MS)
    finish_animation(window)


def curve_points(curve) -> int:
    x = curve.getData()[0]
    return 0 if x is None else int(np.sum(np.isfinite(x)))


def set_rho(qtbot, window: DemosWindow, rho: float) -> None:
    page = window.page
    with qtbot.waitSignal(page.updated, timeout=SETTLE_MS):
        page.rho.set_value(rho)
    qtbot.waitUntil(lambda: page.fits.target.rho == pytest.approx(rho) and not page.runner.busy, timeout=SETTLE_MS)


def test_every_demo_opens_and_draws(qtbot, demos) -> None:
    for name in DEMO_NAMES:
        demos.show_demo(name)
        settle(qtbot, demos)
        page = demos.page
        assert page.demo_name == name and page.message == ""
        assert page.readout.text(), name
        assert page.explanation.text() == next(d.explanation for d in DEMOS if d.name == name)
        drawn = [curve for plot in page.plots for curve in plot.plot.listDataItems()]
        assert sum(curve_points(curve) > 0 for curve in drawn) >= 2, name
    noisy = demos.pages["noisy-gradients"]
    assert all(len(noisy.traces.elbo[run]) == QUICK_ITERATIONS for run in ("reparam-1", "reparam-10", "reparam-100"))
    collinear = demos.pages["collinear-stimuli"]
    assert collinear.reference is not None and collinear.reference.valid
    assert "nats" in collinear.readout.text()
    lags, mean_field_low = collinear.filter_bands["mean-field"].lower.getData()
    _, mean_field_high = collinear.filter_bands["mean-field"].upper.getData()
    _, full_rank_low = collinear.filter_bands["full-rank"].lower.getData()
    _, full_rank_high = collinear.filter_bands["full-rank"].upper.getData()
    np.testing.assert_allclose(lags, np.arange(20.0))  # 1 ms bins
    assert collinear.filter_plot.labels["bottom"] == "lag (ms)"
    # mean-field's band is far too narrow: less than half as wide as full-rank's at every lag
    assert np.all(mean_field_high - mean_field_low < 0.5 * (full_rank_high - full_rank_low))


def test_correlated_gaussian_reaches_the_closed_forms(qtbot, demos) -> None:
    settle(qtbot, demos)
    page = demos.page
    for rho in (-0.99, -0.6, 0.0, 0.5, 0.9, 0.99):
        set_rho(qtbot, demos, rho)
        finish_animation(demos)
        variance_ratio, kl = 1.0 - rho ** 2, -0.5 * math.log(1.0 - rho ** 2)
        mean_field = page.fits.optimum("mean-field")
        np.testing.assert_allclose(np.diag(mean_field.cov), [variance_ratio] * 2, atol=1e-6, rtol=0)
        shown_kl, ratio_1, ratio_2 = page.readout_values["mean-field"]
        assert shown_kl == pytest.approx(kl, abs=1e-6)
        assert (ratio_1, ratio_2) == (pytest.approx(variance_ratio, abs=1e-6),) * 2
        full_rank_kl, *full_rank_ratios = page.readout_values["full-rank"]
        assert full_rank_kl == pytest.approx(0.0, abs=1e-6)
        np.testing.assert_allclose(full_rank_ratios, [1.0, 1.0], atol=1e-6)
        assert decimal(kl, 4) in page.readout.text() and "-0.0000" not in page.readout.text()


def test_slider_refits_off_the_gui_thread_and_the_animation_keeps_running(qtbot, demos, monkeypatch) -> None:
    """Every refit runs in the runner's thread, never the GUI thread, and each slider move is drawn; the
    animation keeps ticking through a drag and is never frozen for a blocking length of time.  (How fast a
    refit is drawn and how smooth the animation is depend on the machine's load:
    ``benchmarks/bench_demo_animation.py`` measures both against their 100 ms bars.)"""
    import vbgui.gui.demos.correlated as correlated

    fit_threads: set[int] = set()
    fit_path = correlated.fit_path

    def recording_fit_path(*args, **kwargs):
        fit_threads.add(threading.get_ident())
        return fit_path(*args, **kwargs)

    monkeypatch.setattr(correlated, "fit_path", recording_fit_path)
    settle(qtbot, demos)
    page = demos.page
    for rho in (0.1, 0.45, -0.7, 0.95, -0.3, 0.8, 0.99):
        set_rho(qtbot, demos, rho)
        assert page.refit_seconds is not None
        assert page.fits.target.rho == pytest.approx(rho)  # this move's fit is the one drawn

    frames: list[float] = []
    page.animation.frame.connect(lambda: frames.append(time.perf_counter()))
    page.restart()
    qtbot.waitSignal(page.updated, timeout=SETTLE_MS).wait()
    for step in range(40):  # a drag: one slider step every 15 ms
        page.rho.set_value(0.5 + 0.01 * step)
        qtbot.wait(15)
    qtbot.waitUntil(lambda: not page.runner.busy, timeout=SETTLE_MS)
    assert fit_threads and threading.get_ident() not in fit_threads
    assert not page.animation.finished or page.animation.position > 0
    gaps = np.diff(frames)
    assert len(frames) > 20 and float(gaps.max()) < FROZEN_SECONDS, gaps


def test_presentation_mode_toggles_and_scales_fonts(qtbot, demos) -> None:
    plot = demos.page.plots[0]
    page = demos.page
    qtbot.keyClick(demos, Qt.Key.Key_F5)
    assert demos.presenting and demos.isFullScreen()
    assert not page.controls.isVisible() and not demos.toolbar.isVisible()
    label_px = int(plot.plot.getAxis("left").labelStyle["font-size"].removesuffix("px"))
    assert label_px >= 24 and label_px == PRESENTATION.label_px
    assert plot.plot.getAxis("bottom").style["tickFont"].pixelSize() == PRESENTATION.tick_px
    assert page.fit_contours["mean-field"].curves[0].opts["pen"].widthF() == PRESENTATION.line
    qtbot.keyClick(demos, Qt.Key.Key_D)
    assert demos.theme.name == "dark"
    qtbot.keyClick(demos, Qt.Key.Key_Escape)
    assert not demos.presenting and not demos.isFullScreen()
    assert page.controls.isVisible() and demos.toolbar.isVisible()
    assert int(plot.plot.getAxis("left").labelStyle["font-size"].removesuffix("px")) < 24


def test_axes_show_their_own_numbers_after_every_theme_and_presentation_change(qtbot, demos) -> None:
    """pyqtgraph once showed weights near 0.2 as 200 after F5 or D: every axis of every demo, at each step."""
    small_axes = 0
    for name in DEMO_NAMES:  # each demo opened at the desk and computed, as a user gets there
        demos.show_demo(name)
        settle(qtbot, demos)
        small_axes += check_axes_show_their_numbers(demos.page)
    for key in (Qt.Key.Key_F5, Qt.Key.Key_D, Qt.Key.Key_Escape, Qt.Key.Key_D, Qt.Key.Key_F5, Qt.Key.Key_Escape):
        qtbot.keyClick(demos, key)
        for name in DEMO_NAMES:
            demos.show_demo(name)
            small_axes += check_axes_show_their_numbers(demos.page)
    collinear_posterior = demos.pages["collinear-stimuli"].plots[0].plot.getAxis("left")
    assert max(abs(value) for value in collinear_posterior.range) < 1.0  # the case that failed: weights near 0.2
    assert small_axes >= 7 * 3  # axes within +-1 (where the rescaling struck) at every step


def test_numbers_that_round_to_zero_read_zero() -> None:
    assert decimal(-3e-9, 4) == "0.0000" and decimal(-0.0, 2) == "0.00" and decimal(-0.04, 1, signed=True) == "0.0"
    assert decimal(-0.06, 1, signed=True) == "-0.1" and decimal(0.5, 2, signed=True) == "+0.50"
    assert decimal(-0.00006, 4) == "-0.0001" and decimal(1.23456, 3) == "1.235"


def marker_boxes_inside_the_view(plot, scatter) -> bool:
    """Whether every marker of ``scatter`` (its whole disc, in pixels) lies inside the plot's view box."""
    view = plot.vb.sceneBoundingRect()
    x, y = scatter.getData()
    half = scatter.opts["size"] / 2
    for centre in (plot.vb.mapViewToScene(QPointF(float(a), float(b))) for a, b in zip(x, y)):
        if not (view.left() <= centre.x() - half and centre.x() + half <= view.right()
                and view.top() <= centre.y() - half and centre.y() + half <= view.bottom()):
            return False
    return True


def test_talk_mode_details_target_on_top_two_colours_whole_contours_and_markers(qtbot, demos) -> None:
    qtbot.keyClick(demos, Qt.Key.Key_F5)  # presentation: the largest markers and lines
    settle(qtbot, demos)
    page = demos.page
    target, full_rank = page.target_contours.curves[0], page.fit_contours["full-rank"].curves[0]
    # the target is a wide translucent band under the full-rank fit that matches it: both show
    assert target.zValue() < full_rank.zValue()
    assert target.opts["pen"].widthF() >= 2.5 * full_rank.opts["pen"].widthF()
    assert target.opts["pen"].color().alpha() < 128 and full_rank.opts["pen"].style() == Qt.PenStyle.DashLine
    kl_curve, ratio_curve = page.theory_plot.plot.listDataItems()[:2]
    assert kl_curve.opts["pen"].color() != ratio_curve.opts["pen"].color()
    for rho in (0.99, -0.99):
        set_rho(qtbot, demos, rho)
        finish_animation(demos)
        assert marker_boxes_inside_the_view(page.theory_plot.plot, page.fitted_markers), rho
        assert "-0.0" not in page.readout.text()

    demos.show_demo("heavy-tails")
    fitted(qtbot, demos)
    (x_low, x_high), (y_low, y_high) = demos.page.target_contours.extent()
    (view_x_low, view_x_high), (view_y_low, view_y_high) = demos.page.fit_plot.plot.vb.viewRange()
    assert view_x_low < x_low and x_high < view_x_high and view_y_low < y_low and y_high < view_y_high
    assert y_high > 8.0  # the 99 % contour of a Student-t with 2.5 degrees of freedom: past the usual view

    demos.show_demo("noisy-gradients")
    settle(qtbot, demos)
    noisy = demos.page
    assert len(noisy.traces.elbo["exact"]) < QUICK_ITERATIONS  # the exact fit ends early ...
    overview_line, zoom_line = noisy.optimum_lines
    for line, level in ((overview_line, noisy.traces.exact_final["exact"]), (zoom_line, 0.0)):
        x, y = line.getData()  # ... and its optimum spans the whole run, a reference line
        np.testing.assert_allclose(x, [1.0, QUICK_ITERATIONS])
        np.testing.assert_allclose(y, [level, level])
    assert all(curve.name() != "exact ELBO" for plot in noisy.plots for curve in plot.plot.listDataItems())
    # the seed's claim in numbers: at the same q and draws, score-function gradients are far noisier
    variances = noisy.traces.gradient_variance
    assert variances["exact"] <= 1e-20 * variances["reparam"]
    assert variances["score-function"] > 3.0 * variances["reparam"] > 0.0
    assert "Gradient variance at the optimum" in noisy.readout.text()
    assert f"{variances['score-function'] / variances['reparam']:.1f}" in noisy.readout.text()


def test_keyboard_controls_rho_run_restart_next_and_explanation(qtbot, demos) -> None:
    settle(qtbot, demos)
    page = demos.page
    rho = page.rho.value()
    with qtbot.waitSignal(page.updated, timeout=SETTLE_MS):
        qtbot.keyClick(demos, Qt.Key.Key_Up)
    assert page.rho.value() == pytest.approx(rho + 0.05)
    qtbot.keyClick(demos, Qt.Key.Key_Down)
    qtbot.keyClick(demos, Qt.Key.Key_Left)
    assert page.rho.value() == pytest.approx(rho - 0.05)
    settle(qtbot, demos)

    with qtbot.waitSignal(page.updated, timeout=SETTLE_MS):
        qtbot.keyClick(demos, Qt.Key.Key_R)
    assert page.animation.running and page.animation.position < page.animation.length
    qtbot.keyClick(demos, Qt.Key.Key_Space)
    paused_at = page.animation.position
    qtbot.wait(100)
    assert not page.animation.running and page.animation.position == paused_at
    qtbot.keyClick(demos, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: page.animation.position > paused_at, timeout=2000)

    assert page.explanation.isVisible()
    qtbot.keyClick(demos, Qt.Key.Key_E)
    assert not page.explanation.isVisible()
    qtbot.keyClick(demos, Qt.Key.Key_N)
    assert demos.demo_name == DEMO_NAMES[1]
    assert not demos.page.explanation.isVisible()


def test_two_modes_new_start_is_seeded_and_the_scene_replays(qtbot, demos, tmp_path) -> None:
    demos.show_demo("two-modes")
    fitted(qtbot, demos)
    page = demos.page
    x, target = page.target_marginal.getData()
    assert np.sum(target) * (x[1] - x[0]) == pytest.approx(1.0, abs=1e-3)  # the grid marginal is a density
    x, reverse = page.fit_marginal.getData()
    _, moments = page.moment_marginal.getData()
    mode = page.fits.optimum("reverse").mean[0]
    assert abs(x[np.argmax(reverse)] - mode) < 0.05 and abs(mode) > 1.0  # one mode ...
    assert abs(x[np.argmax(moments)]) < 0.05  # ... against the middle
    qtbot.keyClick(demos, Qt.Key.Key_S)
    assert page.seed == 2
    page.separation.set_value(3.5)
    fitted(qtbot, demos, lambda p: p.fits.target.means[1][0] == pytest.approx(3.5 / 2))
    path = tmp_path / "scene.json"
    assert demos.save_scene(path)

    replay = DemosWindow("two-modes")
    qtbot.addWidget(replay)
    scene = replay.open_scene(path)
    assert scene is not None and replay.demo_name == "two-modes"
    fitted(qtbot, replay)
    assert replay.page.seed == 2
    original, replayed = page.fits.paths["reverse"], replay.page.fits.paths["reverse"]
    assert len(original) == len(replayed)
    for before, after in zip(original, replayed):
        np.testing.assert_array_equal(before.mean, after.mean)
        np.testing.assert_array_equal(before.cov, after.cov)
    assert replay.page.separation.value() == pytest.approx(3.5)
    replay.close()


def test_correlated_scene_round_trip(qtbot, demos, tmp_path) -> None:
    settle(qtbot, demos)
    set_rho(qtbot, demos, -0.42)
    demos.page.family_boxes["full-rank"].setChecked(False)
    path = tmp_path / "rho.json"
    assert demos.save_scene(path)
    set_rho(qtbot, demos, 0.3)
    assert demos.open_scene(path) is not None
    fitted(qtbot, demos, lambda page: page.fits.target.rho == pytest.approx(-0.42))
    assert demos.page.rho.value() == pytest.approx(-0.42)
    assert not demos.page.family_boxes["full-rank"].isChecked()
    assert curve_points(demos.page.fit_contours["full-rank"].curves[0]) == 0


def test_exports_png_svg_and_animation_frames(qtbot, demos, tmp_path) -> None:
    settle(qtbot, demos)
    assert demos.export_plots(tmp_path / "plots.png").stat().st_size > 0
    svg = demos.export_plots(tmp_path / "plots.svg")
    assert svg.read_text().lstrip().startswith("<?xml")
    frames = demos.export_animation(tmp_path / "frames", frames_per_second=5)
    assert len(frames) > 5 and all(frame.stat().st_size > 0 for frame in frames)
    assert frames[0].read_bytes() != frames[-1].read_bytes()
    assert demos.page.animation.finished
    assert demos.export_plots(tmp_path / "plots.png") is None and "already exists" in demos.status.text()
    # frames of an earlier export are replaced only after the one question, and the folder keeps one run
    (tmp_path / "frames" / "frame-9999.png").write_bytes(b"old run")
    assert demos.export_animation(tmp_path / "frames", frames_per_second=5) == []
    assert "already holds" in demos.status.text()
    again = demos.export_animation(tmp_path / "frames", frames_per_second=5, force=True)
    assert sorted(again) == sorted((tmp_path / "frames").iterdir()) and len(again) == len(frames)


def test_the_frames_dialog_asks_once_before_replacing_frames(qtbot, demos, tmp_path, monkeypatch) -> None:
    from PySide6.QtWidgets import QFileDialog, QMessageBox

    settle(qtbot, demos)
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *args, **kwargs: str(tmp_path))
    folder = tmp_path / f"{demos.demo_name}-frames"
    folder.mkdir()
    (folder / "frame-0000.png").write_bytes(b"mine")
    asked: list[str] = []
    monkeypatch.setattr(QMessageBox, "question",
                        lambda _parent, _title, text, *_args: asked.append(text) or QMessageBox.StandardButton.No)
    demos.choose_frames_export()
    assert len(asked) == 1 and "holds 1 frames" in asked[0]
    assert (folder / "frame-0000.png").read_bytes() == b"mine" and "kept" in demos.status.text()


def test_demos_menu_opens_each_demo_and_closes_with_the_main_window(qtbot, window) -> None:
    menu = next(action.menu() for action in window.menuBar().actions() if action.text() == "&Demos")
    entries = menu.actions()
    assert len(entries) == len(DEMOS)
    entries[2].trigger()
    demos = demos_window(window, create=False)
    assert demos is not None and demos.isVisible() and demos.demo_name == DEMO_NAMES[2]
    settle(qtbot, demos)
    window.close()
    assert not demos.isVisible()


def test_demo_arguments_and_listing(capsys) -> None:
    assert parse_demo_arguments(["--demo", "two-modes", "x.npz"]).name == "two-modes"
    assert parse_demo_arguments(["--demo=heavy-tails"]).remaining == ()
    assert parse_demo_arguments(["--list-demos"]).list_demos
    with pytest.raises(VbguiError, match="correlated-gaussian"):
        parse_demo_arguments(["--demo", "nope"])
    listing = demo_listing()
    assert all(info.name in listing and info.title in listing for info in DEMOS)
    from vbgui.gui.application import run_application

    assert run_application(["--list-demos"]) == 0
    assert "noisy-gradients" in capsys.readouterr().out


def test_closing_mid_demo_returns_within_2_s(qtbot, window) -> None:
    """The noisy-gradients demo's fits are running when the main window closes."""
    menu = next(action.menu() for action in window.menuBar().actions() if action.text() == "&Demos")
    menu.actions()[DEMO_NAMES.index("noisy-gradients")].trigger()
    demos = demos_window(window, create=False)
    demos.page.max_iter.set_value(1000, quiet=True)
    demos.page.restart()
    qtbot.waitUntil(lambda: demos.page.traces.iterations > 5, timeout=SETTLE_MS)
    assert not demos.page.traces.done
    start = time.perf_counter()
    window.close()
    assert time.perf_counter() - start < 2.0
    assert not demos.isVisible() and not demos.page.runner.thread_running
