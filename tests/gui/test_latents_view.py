"""The Latents view: File > Open result on a latent-dynamics result draws its trajectories with ±2 sd bands,
its ELBO trace and its loadings C from the file (no refit); a malformed one is refused with one message; the
view closes with the main window."""
from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from vbgui.app.lds_fit import LdsFitSession
from vbgui.gui.latents_view import MAX_SHOWN_LATENTS, LatentsView
from vbgui.gui.window.latents import latents_view
from vbgui.io.result_json import write_json
from vbgui.models.lds_synthetic import make_lds_population
from vbgui.models.preset import load_preset

from tests.gui.axes import check_axes_show_their_numbers


def lds_result_file(folder, latent_dim: int, n_units: int, n_bins: int, max_iter: int, seed: int = 3):
    """Fit a synthetic population with ``vbgui fit``'s session and write its result file."""
    recording, _, _ = make_lds_population(n_bins=n_bins, n_units=n_units, latent_dim=latent_dim, seed=seed)
    preset = replace(load_preset("poisson-lds"), latent_dim=latent_dim).with_fit(max_iter=max_iter)
    result = LdsFitSession(preset, recording).run()
    path = folder / f"lds-{latent_dim}-seed{seed}.json"
    write_json(result.to_dict(), path, force=False)
    return path, result


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    return lds_result_file(tmp_path_factory.mktemp("lds"), 2, 10, 400, 30)


def test_a_reopened_lds_result_draws_its_latents_elbo_and_loadings(qtbot, window, fitted) -> None:
    path, result = fitted
    assert window.open_result(path)
    view = latents_view(window, create=False)
    assert isinstance(view, LatentsView) and view.isVisible() and window.last_error == ""
    assert window.result is None  # the GLM panels are left as they were
    time_s = np.arange(result.n_bins) * result.dt
    for k in range(2):
        x, mean = view.means[k].getData()
        np.testing.assert_allclose(x, time_s)
        np.testing.assert_allclose(mean, result.latent_mean[:, k])
        _, lower = view.bands[k][0].getData()
        _, upper = view.bands[k][1].getData()
        np.testing.assert_allclose(upper - lower, 4.0 * result.latent_sd[:, k])
        assert view.latent_plots[k].isVisible()
    assert view.latent_plots[0].vb.viewRange()[0] == pytest.approx([0.0, time_s[-1]])
    np.testing.assert_allclose(view.loadings_image.image, result.parameters["C"])
    low, high = view.colour_bar.levels()
    assert low == pytest.approx(-high) and high == pytest.approx(np.abs(result.parameters["C"]).max())
    left_ticks = view.loadings_plot.getAxis("left")._tickLevels[0]
    assert [name for _, name in left_ticks] == list(result.unit_names)
    np.testing.assert_allclose(view.elbo_plot.elbo_curve.getData()[1], result.trace.elbo)
    np.testing.assert_allclose(view.elbo_plot.complexity_curve.getData()[1], result.trace.kl)
    assert f"{result.n_bins} bins of 10 ms" in view.summary.text() and result.family in view.summary.text()
    assert path.name in window.status_label.text()
    assert view.truth is None and all(curve.getData()[0] is None or len(curve.getData()[0]) == 0
                                      for curve in view.truth_curves)  # seed 3: no truth to regenerate
    check_axes_show_their_numbers(view)
    window.close()
    assert not view.isVisible()


def test_more_latents_than_rows_are_said_and_the_view_is_reused(qtbot, window, fitted, tmp_path) -> None:
    many, result = lds_result_file(tmp_path, MAX_SHOWN_LATENTS + 1, MAX_SHOWN_LATENTS + 3, 60, 2)
    assert window.open_result(many)
    view = latents_view(window, create=False)
    assert sum(plot.isVisible() for plot in view.latent_plots) == MAX_SHOWN_LATENTS
    assert f"the first {MAX_SHOWN_LATENTS} of {MAX_SHOWN_LATENTS + 1} latents" in view.summary.text()
    assert view.loadings_image.image.shape == (MAX_SHOWN_LATENTS + 3, MAX_SHOWN_LATENTS + 1)
    assert window.open_result(fitted[0])
    assert latents_view(window, create=False) is view
    assert [plot.isVisible() for plot in view.latent_plots] == [True, True] + [False] * (MAX_SHOWN_LATENTS - 2)
    assert "latents drawn" not in view.summary.text()


@pytest.mark.parametrize("change, fragment", [
    (lambda data: data["latents"].update(mean=[[0.0]]), "latents"),
    (lambda data: data["lds_parameters"].pop("C"), "C"),
    (lambda data: data["latents"]["sd"][0].__setitem__(0, -1.0), "sd"),
])
def test_a_malformed_lds_result_is_refused_with_one_message(qtbot, window, fitted, tmp_path, change,
                                                             fragment) -> None:
    data = json.loads(fitted[0].read_text())
    change(data)
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(data))
    assert not window.open_result(broken)
    assert str(broken) in window.last_error and fragment in window.last_error
    assert "\n" not in window.last_error and "Traceback" not in window.last_error
    assert latents_view(window, create=False) is None


def test_the_joint_of_adjacent_bins_follows_a_click_on_a_trajectory(qtbot, window, fitted) -> None:
    from PySide6.QtCore import QPointF, Qt

    path, result = fitted
    assert window.open_result(path)
    view = latents_view(window, create=False)
    qtbot.waitExposed(view)
    n_bins = result.n_bins
    assert view.selected == (0, n_bins // 2)  # the middle bin of the first latent, at first
    plot = view.latent_plots[1]
    target_time = 1.5  # s: bin 150 of 10 ms
    box = plot.vb.sceneBoundingRect()
    scene = QPointF(plot.vb.mapViewToScene(QPointF(target_time, 0.0)).x(), box.center().y())
    qtbot.mouseClick(view.graphics.viewport(), Qt.MouseButton.LeftButton, pos=view.graphics.mapFromScene(scene))
    qtbot.waitUntil(lambda: view.selected[0] == 1, timeout=5000)
    latent, t = view.selected
    assert abs(t - 150) <= 1
    mean = result.latent_mean[t:t + 2, 1]
    sd = result.latent_sd[t:t + 2, 1]
    cross = result.latent_cross_cov[t, 1, 1]
    x, y = view.joint_contours[0].getData()
    np.testing.assert_allclose([x.mean(), y.mean()], mean, atol=2e-3 * sd.max())
    correlation = cross / (sd[0] * sd[1])
    assert np.corrcoef(x, y)[0, 1] == pytest.approx(correlation, abs=0.02) and correlation > 0.2
    assert f"= {correlation:.2f}" in view.joint_plot.titleLabel.text
    assert all(line.value() == pytest.approx(t * result.dt) for line in view.time_lines)
    view.select(0, n_bins + 50)  # past the end: the last pair of bins
    assert view.selected == (0, n_bins - 2)


def test_the_true_path_of_a_regenerable_population_is_drawn(qtbot, window, tmp_path) -> None:
    from vbgui.app.lds_truth import aligned_truth

    path, result = lds_result_file(tmp_path, 2, 10, 300, 20, seed=0)  # the shipped population's seed
    assert window.open_result(path)
    view = latents_view(window, create=False)
    truth = aligned_truth(result)
    assert view.truth is not None and truth is not None
    for k in range(2):
        np.testing.assert_allclose(view.truth_curves[k].getData()[1], truth.path[:, k])
    latent, t = view.selected
    np.testing.assert_allclose(np.concatenate(view.true_pair.getData()), truth.path[t:t + 2, latent])
    assert "true path of the regenerated synthetic population (seed 0)" in view.summary.text()
    assert f"{truth.r_squared[0]:.2f}" in view.summary.text()
