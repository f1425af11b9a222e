"""Talk mode's "Amortised inference": the encoder's q against the exact fit as contours, the gaps as bars in
nats, the times, the training-units slider off the GUI thread, and the scene file."""
from __future__ import annotations

import json

import numpy as np
import pytest

from vbgui.app.demos import DemoScene

from tests.gui.demo_helpers import SETTLE_MS, settled_demo


@pytest.fixture
def amortised(qtbot):
    with settled_demo(qtbot, "amortised-inference") as window:
        yield window


def contour_centre(contours) -> np.ndarray:
    x, y = contours.curves[0].getData()
    return np.array([np.nanmean(x), np.nanmean(y)])


def test_contours_bars_and_times_show_the_result(amortised):
    page = amortised.page
    result = page.result
    assert result.n_train == 20 and page.message == ""
    i, j = result.pair
    for route in ("encoder", "refined", "exact"):
        q = getattr(result, route)
        np.testing.assert_allclose(contour_centre(page.contours[route]), q.mean[[i, j]], atol=1e-3)
    heights = page.bars.opts["height"]
    np.testing.assert_allclose(heights[:2], [result.amortisation_gap, result.refined_gap])
    assert heights[2] == pytest.approx(result.approximation_gap)
    assert 0 <= result.refined_gap <= result.amortisation_gap
    text = page.readout.text()
    assert f"{1e3 * result.fit_seconds:.2f}" in text and f"{1e3 * result.encode_seconds:.2f}" in text
    assert f"{result.amortisation_gap:.2g}" in text


def test_fewer_training_units_widen_the_amortisation_gap_off_the_gui_thread(qtbot, amortised):
    page = amortised.page
    with_twenty = page.result.amortisation_gap
    with qtbot.waitSignal(page.updated, timeout=SETTLE_MS):
        page.train.set_value(4)
        assert page.runner.busy  # the GUI thread only submitted the job
    assert page.result.n_train == 4 and page.result.amortisation_gap > 10 * with_twenty


def test_scene_round_trip_and_animation_frames(qtbot, amortised, tmp_path):
    page = amortised.page
    path = tmp_path / "scene.json"
    page.train.set_value(12, quiet=True)
    page.seed = 3
    assert amortised.save_scene(path)
    scene = DemoScene.from_dict(json.loads(path.read_text()))
    assert scene.options["train"] == 12 and scene.seed == 3
    page.train.set_value(20, quiet=True)
    page.seed = 0
    with qtbot.waitSignal(page.updated, timeout=SETTLE_MS):
        assert amortised.open_scene(path) is not None
    assert page.train.value() == 12 and page.result.n_train == 12 and page.result.seed == 3
    frames = amortised.export_animation(tmp_path / "frames", frames_per_second=2)
    assert len(frames) == 6 and frames[0].read_bytes() != frames[-1].read_bytes()
