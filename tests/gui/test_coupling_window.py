"""A coupled preset in the window: the form keeps coupling_lags, the model is laid out with the other units'
couplings for the unit chosen, and the fit is the coupled GLM."""
from __future__ import annotations

from tests.gui.window_helpers import run_to_end, set_field
from vbgui.io.loaders import shipped_recordings


def test_a_coupled_preset_fits_the_chosen_unit_coupled_to_the_others(qtbot, window, tmp_path) -> None:
    preset = tmp_path / "coupled.toml"
    preset.write_text('likelihood = "poisson"\n[design]\nstimulus_lags = 10\nspike_history_lags = 3\n'
                      'coupling_lags = 3\n[fit]\nmax_iter = 50\n')
    assert window.open_preset(preset)
    assert window.open_recording(shipped_recordings()["coupled-population"])
    window.select_unit(4)
    set_field(window, "prior.scale", "2")  # an edit in another field keeps the coupling lags
    assert window.preset_panel.current_preset().design.coupling_lags == 3
    names = window.fit.layout.names
    assert "couple[unit4][0]" not in names and names[-3:] == ("couple[unit19][0]", "couple[unit19][1]",
                                                               "couple[unit19][2]")
    assert dict(window.fit.layout.groups)["couple"] == tuple(range(14, 14 + 19 * 3))
    titles = [f.plot.titleLabel.text for f in window.parameters_panel._filters]
    assert any("Couplings (each other unit's lags in turn)" in title for title in titles), titles
    result = run_to_end(qtbot, window)
    assert result.names == names and result.unit == "unit4"
    assert set(result.truth) == set(names)  # the shipped file's truth of this unit, couplings included


def test_a_coupled_preset_on_a_single_unit_recording_says_why_it_cannot_fit(qtbot, window, tmp_path) -> None:
    preset = tmp_path / "coupled.toml"
    preset.write_text('likelihood = "poisson"\n[design]\ncoupling_lags = 2\n')
    assert window.open_preset(preset)
    assert window.open_recording(shipped_recordings()["synthetic-poisson"])
    window.run_fit()
    qtbot.waitUntil(lambda: "coupling_lags = 2 couples a unit to the other units" in window.last_error,
                    timeout=20_000)
    assert not window.is_fitting()
