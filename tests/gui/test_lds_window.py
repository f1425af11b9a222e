"""Fitting a latent-dynamics preset from the main window: the form shows latent_dim and the latent-path family,
Run fits every unit in the background with the live ELBO, Pause holds it, Stop ends it within a second, the Latents view opens
with the result (and the true path), Export writes the latent-dynamics contract, and a pair the fit cannot take
is refused in one line with the window left as it was."""
from __future__ import annotations

import time
from dataclasses import replace

import numpy as np
import pytest
from PySide6.QtWidgets import QApplication

from vbgui.app.lds_fit import LdsFitSession
from vbgui.app.lds_result import LdsFitResult, is_lds_result
from vbgui.gui.window.latents import latents_view
from vbgui.io.lds_exports import read_lds_export
from vbgui.io.loaders import read_recording_file
from vbgui.io.npz import save_units_npz
from vbgui.io.result_json import read_json
from vbgui.models.lds_synthetic import make_lds_population
from vbgui.models.preset import PRESET_DIR, load_preset

from tests.gui.window_helpers import FIT_TIMEOUT_MS, curve_y, run_to_end, set_field

SHIPPED_LDS = PRESET_DIR.parent / "recordings" / "synthetic-poisson-lds.npz"
SMALL_MAX_ITER = 6


@pytest.fixture(scope="module")
def four_unit_path(tmp_path_factory):
    """A 4-unit population with 2 latents (300 bins): small, so fits end in a moment."""
    recording, _, _ = make_lds_population(n_bins=300, n_units=4, latent_dim=2, seed=11)
    path = tmp_path_factory.mktemp("lds") / "four-units.npz"
    save_units_npz(recording, path)
    return path


@pytest.fixture(scope="module")
def endless_fit(tmp_path_factory):
    """A population whose EM iterations take milliseconds and a preset that would run 100,000 of them
    (tolerance 1e-15): for Stop, Reset and closing mid-fit."""
    folder = tmp_path_factory.mktemp("endless")
    recording, _, _ = make_lds_population(n_bins=1500, n_units=8, latent_dim=2, seed=5)
    save_units_npz(recording, folder / "eight-units.npz")
    (folder / "endless-lds.toml").write_text('name = "endless-lds"\nlikelihood = "poisson"\nlatent_dim = 2\n'
                                             '[fit]\nmax_iter = 100000\ntolerance = 1e-15\n')
    return folder / "eight-units.npz", folder / "endless-lds.toml"


def form_row_shown(window, widget) -> bool:
    return window.preset_panel.form.isRowVisible(widget)


def choose_lds(window, recording_path, max_iter: int = SMALL_MAX_ITER) -> None:
    assert window.open_recording(recording_path)
    window.preset_panel.select("poisson-lds")
    set_field(window, "fit.max_iter", str(max_iter))


def test_the_form_shows_latent_dim_and_the_path_family_for_a_latent_dynamics_preset(window, four_unit_path) -> None:
    panel = window.preset_panel
    window.open_recording(four_unit_path)
    panel.select("poisson-lds")
    assert panel.is_latent_dynamics()
    for widget in (panel.numbers["latent_dim"], panel.path_family, panel.numbers["fit.max_iter"]):
        assert form_row_shown(window, widget)
    for widget in (panel.numbers["design.stimulus_lags"], panel.numbers["prior.scale"], panel.family,
                   panel.estimator, panel.bias, panel.numbers["fit.samples"]):
        assert not form_row_shown(window, widget)
    assert panel.numbers["latent_dim"].text() == "3"
    assert [panel.path_family.itemText(i) for i in range(panel.path_family.count())] == [
        "structured-markov", "mean-field", "full-rank"]
    model = panel.likelihood.model()
    offered = [panel.likelihood.itemText(i) for i in range(model.rowCount()) if model.item(i).isEnabled()]
    assert offered == ["poisson", "bernoulli", "gaussian"]

    panel.path_family.setCurrentText("mean-field")
    set_field(window, "latent_dim", "2")
    preset = panel.current_preset()
    assert preset.is_latent_dynamics and preset.latent_dim == 2 and preset.fit.family == "mean-field"
    assert preset.fit.max_iter == load_preset("poisson-lds").fit.max_iter
    assert window.run_action.isEnabled()

    set_field(window, "latent_dim", "0")
    assert panel.current_preset() is None and "'latent_dim'" in panel.message.text()
    assert not window.run_action.isEnabled()
    set_field(window, "latent_dim", "two")
    assert panel.current_preset() is None and "'latent_dim' must be an integer" in panel.message.text()

    panel.select("poisson-glm")  # back to a GLM: its rows again, and no latent_dim in its preset
    assert not panel.is_latent_dynamics() and panel.current_preset().latent_dim is None
    assert form_row_shown(window, panel.family) and not form_row_shown(window, panel.numbers["latent_dim"])
    assert all(model.item(i).isEnabled() for i in range(model.rowCount()))


def test_an_lds_fit_from_the_window_reaches_the_sessions_elbo_and_opens_the_latents_view(
        qtbot, window, tmp_path) -> None:
    choose_lds(window, SHIPPED_LDS)
    result = run_to_end(qtbot, window)
    assert isinstance(result, LdsFitResult) and window.result is result and window.last_error == ""
    preset = load_preset("poisson-lds").with_fit(max_iter=SMALL_MAX_ITER)
    expected = LdsFitSession(preset, read_recording_file(SHIPPED_LDS)).run()
    assert result.iterations == expected.iterations == SMALL_MAX_ITER
    assert result.elbo == pytest.approx(expected.elbo, rel=1e-10)
    np.testing.assert_allclose(result.trace.elbo, expected.trace.elbo, rtol=1e-10)
    np.testing.assert_allclose(result.latent_mean, expected.latent_mean, rtol=1e-6, atol=1e-8)
    # the ELBO panel shows the whole trace with its two terms, in nats
    np.testing.assert_allclose(curve_y(window.elbo_plot.elbo_curve), result.trace.elbo)
    np.testing.assert_allclose(curve_y(window.elbo_plot.accuracy_curve), result.trace.expected_log_likelihood)
    np.testing.assert_allclose(curve_y(window.elbo_plot.complexity_curve), result.trace.kl)
    assert window.elbo_plot.terms_plot.getAxis("left").labelText == "nats"
    assert "nats" in window.status_label.text() and not window.is_fitting()
    assert window.run_action.isEnabled() and window.export_action.isEnabled()
    # the Latents view opens with the result and the true path of the shipped synthetic population
    view = latents_view(window, create=False)
    assert view is not None and view.isVisible() and view.result is result
    assert view.truth is not None and len(curve_y(view.truth_curves[0])) == result.n_bins
    np.testing.assert_allclose(curve_y(view.means[0]), result.latent_mean[:, 0])
    assert "Fitted in the main window" in view.summary.text()
    # the diagnostics say why they do not apply instead of failing
    qtbot.waitUntil(lambda: "latent-dynamics" in window.diagnostics.panel.summary.text(), timeout=5000)

    # Export writes the same contract as `vbgui fit`: JSON reopens as the result, CSV carries the latents
    out = tmp_path / "exports"
    out.mkdir()
    assert window.write_result(out / "fit.json")
    data = read_json(out / "fit.json")
    assert is_lds_result(data) and data["elbo"] == result.elbo
    np.testing.assert_allclose(LdsFitResult.from_dict(data).latent_sd, result.latent_sd)
    assert window.write_result(out / "fit.csv")
    exported = read_lds_export(out / "fit.csv")
    np.testing.assert_allclose(np.asarray(exported["latent_mean"]), result.latent_mean, rtol=1e-12)
    assert sorted(p.name for p in out.iterdir()) == [
        "fit.csv", "fit.json", "fit_cross_cov.csv", "fit_meta.json", "fit_parameters.csv"]

    # an export that would replace files asks first; declined, nothing changes
    before = (out / "fit.json").read_bytes()
    window.results.confirm_overwrite = lambda existing: False
    assert not window.write_result(out / "fit.json")
    assert (out / "fit.json").read_bytes() == before


def test_stop_ends_an_lds_fit_within_a_second_and_shows_what_it_reached(qtbot, window, endless_fit) -> None:
    recording_path, endless = endless_fit
    assert window.open_recording(recording_path) and window.open_preset(endless)
    assert window.preset_panel.is_latent_dynamics()
    with qtbot.waitSignal(window.fit_started, timeout=FIT_TIMEOUT_MS):
        assert window.run_fit()
    qtbot.waitUntil(lambda: len(curve_y(window.elbo_plot.elbo_curve)) >= 3, timeout=FIT_TIMEOUT_MS)
    assert window.is_fitting() and window.stop_action.isEnabled() and not window.run_action.isEnabled()
    window.toggle_pause()  # Pause holds the fit after its current iteration; Resume lets it go on
    assert window.pause_action.text() == "Resume"
    qtbot.wait(300)
    held = len(curve_y(window.elbo_plot.elbo_curve))
    qtbot.wait(500)
    assert len(curve_y(window.elbo_plot.elbo_curve)) == held and window.is_fitting()
    window.toggle_pause()
    assert window.pause_action.text() == "&Pause"
    qtbot.waitUntil(lambda: len(curve_y(window.elbo_plot.elbo_curve)) > held + 2, timeout=FIT_TIMEOUT_MS)
    assert window.progress_bar.maximum() == 100000
    started = time.perf_counter()
    with qtbot.waitSignal(window.fit_finished, timeout=FIT_TIMEOUT_MS) as finished:
        window.stop_fit()
    assert time.perf_counter() - started < 1.0
    result = finished.args[0]
    assert result.stop_reason == "cancelled" and 3 <= result.iterations < 100000
    assert not window.is_fitting() and window.run_action.isEnabled() and window.result is result
    assert latents_view(window, create=False).result is result
    assert "stopped (cancelled)" in window.status_label.text()


def test_reset_during_an_lds_fit_stops_it_and_clears_the_panels(qtbot, window, endless_fit) -> None:
    recording_path, endless = endless_fit
    assert window.open_recording(recording_path) and window.open_preset(endless)
    with qtbot.waitSignal(window.fit_started, timeout=FIT_TIMEOUT_MS):
        window.run_fit()
    qtbot.waitUntil(lambda: len(curve_y(window.elbo_plot.elbo_curve)) >= 1, timeout=FIT_TIMEOUT_MS)
    window.reset_fit()
    assert not window.is_fitting() and window.result is None
    assert len(curve_y(window.elbo_plot.elbo_curve)) == 0 and window.run_action.isEnabled()


def test_a_single_unit_recording_is_refused_in_one_line_and_the_previous_fit_stays(
        qtbot, window, small_recording_path) -> None:
    window.open_recording(small_recording_path)
    window.preset_panel.select("poisson-glm")
    set_field(window, "fit.max_iter", "5")
    glm = run_to_end(qtbot, window)
    elbo_before = curve_y(window.elbo_plot.elbo_curve).copy()
    summary_before = window.summary_panel.text()
    window.preset_panel.select("poisson-lds")
    started = []
    window.fit_started.connect(lambda: started.append(True))
    with qtbot.waitSignal(window.fit_failed, timeout=FIT_TIMEOUT_MS) as failed:
        assert window.run_fit()
    message = failed.args[0]
    assert "latent_dim = 3 is more than the 1 unit(s)" in message and "\n" not in message
    assert small_recording_path.name in message
    assert window.last_error == message and window.error_box is not None
    assert not started and window.result is glm and not window.is_fitting()
    np.testing.assert_array_equal(curve_y(window.elbo_plot.elbo_curve), elbo_before)
    assert window.summary_panel.text() == summary_before
    assert window.progress_bar.maximum() == 5 and window.progress_bar.value() == glm.iterations
    assert latents_view(window, create=False) is None
    assert window.run_action.isEnabled()


def test_latent_dim_above_the_units_is_refused_in_one_line(qtbot, window, four_unit_path) -> None:
    choose_lds(window, four_unit_path)
    set_field(window, "latent_dim", "5")
    assert window.preset_panel.current_preset().latent_dim == 5  # the form cannot know the units
    with qtbot.waitSignal(window.fit_failed, timeout=FIT_TIMEOUT_MS) as failed:
        window.run_fit()
    assert "latent_dim = 5 is more than the 4 unit(s)" in failed.args[0]
    assert "choose latent_dim from 1 to 4" in failed.args[0]
    assert window.result is None and not window.is_fitting()
    assert window.status_label.text() == failed.args[0]


def test_a_full_rank_path_too_long_for_a_dense_covariance_is_refused(qtbot, window) -> None:
    choose_lds(window, SHIPPED_LDS)
    window.preset_panel.path_family.setCurrentText("full-rank")
    with qtbot.waitSignal(window.fit_failed, timeout=FIT_TIMEOUT_MS) as failed:
        window.run_fit()
    assert "full-rank" in failed.args[0] and "structured-markov" in failed.args[0]
    assert window.result is None


def test_a_small_population_fits_with_each_path_family_and_a_glm_fit_after_it_is_unchanged(
        qtbot, window, four_unit_path, small_recording_path) -> None:
    choose_lds(window, four_unit_path, max_iter=4)
    set_field(window, "latent_dim", "2")
    recording = read_recording_file(four_unit_path)
    for family in ("structured-markov", "mean-field", "full-rank"):
        window.preset_panel.path_family.setCurrentText(family)
        result = run_to_end(qtbot, window)
        preset = replace(load_preset("poisson-lds"), latent_dim=2).with_fit(max_iter=4, family=family)
        assert result.family == family
        assert result.elbo == pytest.approx(LdsFitSession(preset, recording).run().elbo, rel=1e-9)
    # the GLM path after an LDS fit: the panels are laid out for the GLM again and its fit runs as before
    window.open_recording(small_recording_path)
    window.preset_panel.select("poisson-glm")
    set_field(window, "fit.max_iter", "5")
    glm = run_to_end(qtbot, window)
    assert not isinstance(glm, LdsFitResult) and glm.iterations >= 1
    assert window.posterior_plot.names == glm.names


def test_closing_the_window_during_an_lds_fit_joins_its_thread(qtbot, window, endless_fit) -> None:
    recording_path, endless = endless_fit
    assert window.open_recording(recording_path) and window.open_preset(endless)
    with qtbot.waitSignal(window.fit_started, timeout=FIT_TIMEOUT_MS):
        window.run_fit()
    runner = window.fit.lds.runner
    started = time.perf_counter()
    window.close()
    QApplication.processEvents()
    assert not runner.is_running() and time.perf_counter() - started < 2.0


def test_the_glm_panels_say_where_a_latent_dynamics_fit_is_drawn_and_come_back_for_a_glm(
        window, small_recording_path, four_unit_path) -> None:
    from vbgui.gui.window.fit_control import LATENT_PARAMETERS_NOTE, LATENT_POSTERIOR_NOTE

    window.open_recording(small_recording_path)
    window.preset_panel.select("poisson-glm")
    glm_names = window.posterior_plot.names
    assert len(glm_names) > 2 and window.parameters_panel._filters
    window.open_recording(four_unit_path)
    window.preset_panel.select("poisson-lds")
    assert window.posterior_plot.names == () and window.posterior_plot.empty_note.shown
    assert window.posterior_plot.empty_note.label.toPlainText() == LATENT_POSTERIOR_NOTE
    assert window.posterior_plot.reference_label.text() == ""
    notes = [item for item in window.parameters_panel.ci.items if hasattr(item, "vb")]
    assert len(notes) == 1 and not window.parameters_panel._filters
    assert any(LATENT_PARAMETERS_NOTE == child.toPlainText() for child in notes[0].childItems()
               if hasattr(child, "toPlainText"))
    window.open_recording(small_recording_path)
    window.preset_panel.select("poisson-glm")
    assert window.posterior_plot.names == glm_names and window.parameters_panel._filters
    assert window.posterior_plot.empty_note.label.toPlainText() != LATENT_POSTERIOR_NOTE


def test_view_latents_window_brings_the_view_back_and_it_fits_the_screen(qtbot, window, four_unit_path) -> None:
    window.fit.lds.latents_action.trigger()
    assert "No latent-dynamics fit yet" in window.status_label.text()
    choose_lds(window, four_unit_path, max_iter=3)
    set_field(window, "latent_dim", "2")
    result = run_to_end(qtbot, window)
    view = latents_view(window, create=False)
    available = view.screen().availableGeometry()
    assert view.width() <= available.width() and view.height() <= available.height()
    view.close()
    assert not view.isVisible()
    window.fit.lds.latents_action.trigger()
    assert view.isVisible() and view.result is result


def test_fit_all_units_refuses_a_latent_dynamics_preset_in_one_line(window, four_unit_path) -> None:
    choose_lds(window, four_unit_path)
    assert not window.population.fit_all()
    assert "fits every unit together" in window.last_error and "\n" not in window.last_error
    assert not window.population.is_running()


def test_the_form_keeps_what_it_does_not_show_of_a_latent_dynamics_preset(window, tmp_path) -> None:
    path = tmp_path / "driven.toml"
    path.write_text('name = "driven"\nlikelihood = "poisson"\nlatent_dim = 2\n[dynamics]\nstimulus_input = true\n'
                    '[loading_prior]\nloading_sd = 0.5\n[fit]\nfamily = "mean-field"\ntolerance = 1e-6\n')
    assert window.open_preset(path)
    set_field(window, "latent_dim", "1")
    preset = window.preset_panel.current_preset()
    assert preset.latent_dim == 1 and preset.fit.family == "mean-field" and preset.fit.tolerance == 1e-6
    assert preset.dynamics.stimulus_input and preset.loading_prior.loading_sd == 0.5
    assert preset.loading_prior.offset_sd is None
    window.preset_panel.likelihood.setCurrentText("gaussian")
    set_field(window, "noise_sd", "0.25")
    assert window.preset_panel.current_preset().noise_sd == 0.25


def test_a_stimulus_driven_preset_on_a_recording_without_stimulus_is_refused(qtbot, window, four_unit_path,
                                                                           tmp_path) -> None:
    path = tmp_path / "driven.toml"
    path.write_text('name = "driven"\nlikelihood = "poisson"\nlatent_dim = 2\n[dynamics]\nstimulus_input = true\n')
    assert window.open_recording(four_unit_path) and window.open_preset(path)
    with qtbot.waitSignal(window.fit_failed, timeout=FIT_TIMEOUT_MS) as failed:
        window.run_fit()
    assert "no 'stimulus' array" in failed.args[0] and four_unit_path.name in failed.args[0]
    assert window.result is None and not window.is_fitting()


def test_a_latent_dynamics_preset_disables_the_batch_buttons_and_says_why(window, four_unit_path) -> None:
    """Fit all units and Amortise… fit one GLM per unit: with a latent-dynamics preset (Run fits every unit
    together) they are disabled, their tooltips saying why; a GLM preset enables them again."""
    population = window.population
    window.open_recording(four_unit_path)
    window.preset_panel.select("poisson-lds")
    for button in (population.panel.fit_all_button, population.panel.amortise_button):
        assert not button.isEnabled()
        assert "latent-dynamics preset fits every unit together" in button.toolTip()
    assert not population.fit_all_action.isEnabled() and not population.amortise_action.isEnabled()
    window.preset_panel.select("poisson-glm")
    for button in (population.panel.fit_all_button, population.panel.amortise_button):
        assert button.isEnabled()
        assert "Unavailable" not in button.toolTip()
