"""Talk mode's "Structure over time": the true path and each family's mean and ±2 sd band drawn from the
result, the joint of (x_t, x_t+1), the read-out's nats and coverage, the sliders refitting off the GUI
thread, presentation sizes, the scene file (and a hostile one) and the animation frames."""
from __future__ import annotations

import json
import threading

import numpy as np
import pytest
from PySide6.QtCore import Qt

from vbgui.app.lds_demo import BAND_SDS
from vbgui.gui.demos.page import decimal
from vbgui.gui.demos.structure_over_time import JOINT_BIN
from vbgui.gui.demos.theme import PRESENTATION

from tests.gui.demo_helpers import SETTLE_MS, settled_demo


@pytest.fixture
def structure(qtbot):
    with settled_demo(qtbot, "structure-over-time") as window:
        yield window


def test_the_path_bands_and_joint_are_the_results(structure) -> None:
    page = structure.page
    result = page.result
    assert page.message == "" and result.time_constant_ms == 500 and result.n_units == 20
    x, truth = page.truth_curve.getData()
    np.testing.assert_array_equal(x, result.time_s)
    np.testing.assert_array_equal(truth, result.truth)
    for family, fit in result.fits.items():
        np.testing.assert_array_equal(page.means[family].getData()[1], fit.mean)
        _, low = page.bands[family].lower.getData()
        _, high = page.bands[family].upper.getData()
        np.testing.assert_allclose(high - low, 2 * BAND_SDS * fit.sd)
        contour_x, contour_y = page.joint_contours[family].curves[0].getData()
        np.testing.assert_allclose([np.nanmean(contour_x), np.nanmean(contour_y)],
                                   fit.mean[JOINT_BIN:JOINT_BIN + 2], atol=2e-3)
        # an ellipse traced at even angles has the sample correlation of its covariance: q's tilt
        _, cov = fit.joint(JOINT_BIN)
        assert np.corrcoef(contour_x, contour_y)[0, 1] == pytest.approx(cov[0, 1] / np.sqrt(cov[0, 0] * cov[1, 1]),
                                                                         abs=0.02)
    # the path plot's view holds the truth and every band
    (_, _), (y_low, y_high) = page.path_plot.plot.vb.viewRange()
    assert y_low < min(result.truth.min(), page.bands["structured-markov"].lower.getData()[1].min())
    assert page.joint_line.value() == pytest.approx(result.time_s[JOINT_BIN])
    assert page.path_plot.labels == {"bottom": "time (s)", "left": "latent x"}
    text = page.readout.text()
    assert f"= {decimal(result.elbo_gap, 1)} nats" in text
    for fit in result.fits.values():
        assert f"{100 * fit.coverage(result.truth):.1f} %" in text and decimal(fit.elbo, 1) in text


def test_the_sliders_refit_off_the_gui_thread(qtbot, structure, monkeypatch) -> None:
    import vbgui.gui.demos.structure_over_time as module

    threads: set[int] = set()
    original = module.structure_demo

    def recording(*args):
        threads.add(threading.get_ident())
        return original(*args)

    monkeypatch.setattr(module, "structure_demo", recording)
    page = structure.page
    gap_at_500 = page.result.elbo_gap
    with qtbot.waitSignal(page.updated, timeout=SETTLE_MS):
        page.time_constant.set_value(30)
        assert page.runner.busy  # the GUI thread only submitted the job
    qtbot.waitUntil(page.settled, timeout=SETTLE_MS)
    assert page.result.time_constant_ms == 30 and page.result.elbo_gap < gap_at_500  # fast dynamics: less lost
    assert "τ = 30 ms" in page.readout.text()
    with qtbot.waitSignal(page.updated, timeout=SETTLE_MS):
        page.units.set_value(5)
    qtbot.waitUntil(page.settled, timeout=SETTLE_MS)
    assert page.result.n_units == 5
    assert threads and threading.get_ident() not in threads
    with qtbot.waitSignal(page.updated, timeout=SETTLE_MS):
        qtbot.keyClick(structure, Qt.Key.Key_Up)  # arrows move the time constant
    assert page.time_constant.value() == 40
    seed = page.seed
    with qtbot.waitSignal(page.updated, timeout=SETTLE_MS):
        qtbot.keyClick(structure, Qt.Key.Key_Space)  # a new simulation
    assert page.seed == seed + 1 and page.result.seed == seed + 1


def test_presentation_sizes_and_dark_theme(qtbot, structure) -> None:
    page = structure.page
    qtbot.keyClick(structure, Qt.Key.Key_F5)
    assert structure.presenting and not page.controls.isVisible()
    assert page.means["mean-field"].opts["pen"].widthF() == PRESENTATION.line
    assert page.means["structured-markov"].opts["pen"].style() == Qt.PenStyle.DashLine
    assert page.path_plot.plot.getAxis("left").labelStyle["font-size"] == f"{PRESENTATION.label_px}px"
    light = page.truth_curve.opts["pen"].color().name()
    qtbot.keyClick(structure, Qt.Key.Key_D)
    assert page.truth_curve.opts["pen"].color().name() != light
    assert page.graphics.backgroundBrush().color().name() == "#000000"
    qtbot.keyClick(structure, Qt.Key.Key_Escape)
    assert page.controls.isVisible()


def test_scene_round_trip_hostile_scene_and_frames(qtbot, structure, tmp_path) -> None:
    page = structure.page
    page.time_constant.set_value(500, quiet=True)
    page.units.set_value(7, quiet=True)
    page.seed = 4
    path = tmp_path / "scene.json"
    assert structure.save_scene(path)
    assert json.loads(path.read_text())["options"] == {"time_constant_ms": 500.0, "units": 7}
    page.time_constant.set_value(200, quiet=True)
    page.seed = 0
    with qtbot.waitSignal(page.updated, timeout=SETTLE_MS):
        assert structure.open_scene(path) is not None
    qtbot.waitUntil(page.settled, timeout=SETTLE_MS)
    assert (page.result.time_constant_ms, page.result.n_units, page.result.seed) == (500, 7, 4)

    hostile = json.loads(path.read_text())
    hostile["options"]["units"] = "many"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(hostile))
    assert structure.open_scene(bad) is None
    assert "'units' must be a number" in structure.status.text() and page.seed == 4

    frames = structure.export_animation(tmp_path / "frames", frames_per_second=2)
    longest = max(fit.iterations + 1 for fit in page.result.fits.values())
    assert len(frames) == longest and frames[0].read_bytes() != frames[-1].read_bytes()
    assert page.shown_iteration is None  # back at the end
