"""Presets in the window (gui/window/presets.py): the form explains bad values, saving and reopening TOML files."""
from __future__ import annotations

import pytest

from tests.gui.window_helpers import set_field
from vbgui.io.npz import save_units_npz
from vbgui.models.synthetic import make_synthetic_population


@pytest.fixture(scope="module")
def units_path(tmp_path_factory):
    """Four poisson units of 4000 bins sharing a stimulus."""
    path = tmp_path_factory.mktemp("presets") / "four-units.npz"
    save_units_npz(make_synthetic_population("poisson", n_units=4, n_bins=4000, stimulus_lags=6, seed=2), path)
    return path


def test_invalid_form_values_are_explained_and_block_run(qtbot, window, small_recording_path) -> None:
    window.open_recording(small_recording_path)
    edit = window.preset_panel.numbers["fit.max_iter"]
    edit.clear()
    qtbot.keyClicks(edit, "12x")
    assert "'fit.max_iter' must be an integer" in window.preset_panel.message.text()
    assert not window.run_action.isEnabled()
    set_field(window, "prior.scale", "-1")
    set_field(window, "fit.max_iter", "50")
    assert "'prior.scale' must be a number from 1e-6 to 1e6" in window.preset_panel.message.text()
    assert "border" in window.preset_panel.numbers["prior.scale"].styleSheet()
    set_field(window, "prior.scale", "2")
    assert window.preset_panel.message.text() == ""
    assert window.preset_panel.current_preset().prior.scale == 2.0
    assert window.run_action.isEnabled()


def test_noise_sd_only_for_gaussian(window) -> None:
    window.preset_panel.select("poisson-glm")
    assert not window.preset_panel.numbers["noise_sd"].isEnabled()
    window.preset_panel.select("linear-gaussian")
    assert window.preset_panel.numbers["noise_sd"].isEnabled()
    set_field(window, "noise_sd", "0.5")
    assert window.preset_panel.current_preset().noise_sd == 0.5


def test_save_and_reopen_a_preset(window, tmp_path) -> None:
    window.preset_panel.select("poisson-glm")
    set_field(window, "design.stimulus_lags", "7")
    assert window.write_preset(window.preset_panel.current_preset(), tmp_path / "mine.toml")
    assert not window.write_preset(window.preset_panel.current_preset(), tmp_path / "mine.toml")
    assert "mine.toml: already exists" in window.last_error
    assert not window.write_preset(window.preset_panel.current_preset(), tmp_path / "mine", force=True)
    assert window.write_preset(window.preset_panel.current_preset(), tmp_path / "mine.toml", force=True)
    assert window.open_preset(tmp_path / "mine.toml")
    assert window.preset_panel.preset_list.currentItem().text() == "mine.toml"
    assert window.preset_panel.current_preset().design.stimulus_lags == 7
    bad = tmp_path / "bad.toml"
    bad.write_text("likelihood = 'poisson'\n[fit]\nmax_itr = 3\n")
    assert not window.open_preset(bad)
    assert "did you mean 'max_iter'" in window.last_error


def test_coupling_lags_round_trip_to_the_preset_toml(window, tmp_path) -> None:
    from vbgui.io.loaders import shipped_recordings

    assert window.open_recording(shipped_recordings()["coupled-population"])
    window.preset_panel.select("poisson-glm")
    edit = window.preset_panel.numbers["design.coupling_lags"]
    assert edit.isEnabled() and edit.text() == "0"
    set_field(window, "design.coupling_lags", "3")
    assert window.preset_panel.message.text() == ""
    assert window.preset_panel.current_preset().design.coupling_lags == 3
    assert "couple[unit19][2]" in window.fit.layout.names  # the panels are laid out for the coupled model
    assert window.write_preset(window.preset_panel.current_preset(), tmp_path / "coupled.toml")
    assert "coupling_lags = 3" in (tmp_path / "coupled.toml").read_text()
    window.preset_panel.select("bernoulli-glm")  # a shipped preset: no coupling
    assert edit.text() == "0"
    assert window.open_preset(tmp_path / "coupled.toml")
    assert edit.text() == "3" and window.preset_panel.current_preset().design.coupling_lags == 3


def test_coupling_lags_are_disabled_for_a_recording_of_one_unit(window, small_recording_path) -> None:
    from vbgui.io.loaders import shipped_recordings

    window.open_recording(small_recording_path)
    window.preset_panel.select("poisson-glm")
    panel = window.preset_panel
    edit = panel.numbers["design.coupling_lags"]
    assert not edit.isEnabled() and not panel.coupling_label.isEnabled()
    assert "one unit" in edit.toolTip()
    assert window.open_recording(shipped_recordings()["coupled-population"])
    assert edit.isEnabled() and panel.coupling_label.isEnabled() and "one unit" not in edit.toolTip()
    set_field(window, "design.coupling_lags", "2")
    window.open_recording(small_recording_path)  # a value other than 0 stays editable, to be set back to 0
    assert edit.isEnabled()
    set_field(window, "design.coupling_lags", "")  # on its way to 0: still editable
    assert edit.isEnabled() and panel.current_preset() is None
    set_field(window, "design.coupling_lags", "0")
    assert not edit.isEnabled() and panel.current_preset().design.coupling_lags == 0


@pytest.mark.parametrize("text, message", [
    ("-1", "'design.coupling_lags' must be an integer from 0 to 10000, got -1"),
    ("2.5", "'design.coupling_lags' must be an integer, got '2.5'"),
    ("three", "'design.coupling_lags' must be an integer, got 'three'"),
    ("", "'design.coupling_lags' must be an integer, got ''"),
    ("10001", "'design.coupling_lags' must be an integer from 0 to 10000, got 10001"),
    ("5000", "'design.coupling_lags' must be an integer from 0 to 3999 (the recording's 4000 bins less one), "
             "got 5000"),
])
def test_hostile_coupling_lags_are_refused_in_one_line(window, units_path, text, message) -> None:
    window.open_recording(units_path)
    window.preset_panel.select("poisson-glm")
    set_field(window, "design.coupling_lags", text)
    panel = window.preset_panel
    assert panel.message.text() == f"preset form: {message}"
    assert "\n" not in panel.message.text()
    assert "border" in panel.numbers["design.coupling_lags"].styleSheet()
    assert panel.current_preset() is None and not window.run_action.isEnabled()
    set_field(window, "design.coupling_lags", "2")
    assert panel.message.text() == "" and window.run_action.isEnabled()


def test_coupling_lags_beyond_the_memory_limit_are_refused_naming_the_key(window, units_path, monkeypatch) -> None:
    monkeypatch.setenv("VBGUI_MEMORY_LIMIT", "20M")
    window.open_recording(units_path)
    window.preset_panel.select("poisson-glm")
    set_field(window, "design.coupling_lags", "3")  # 4000 bins x 16 columns: well within 20 MB
    assert window.preset_panel.message.text() == ""
    set_field(window, "design.coupling_lags", "300")  # 900 columns: 24 matrices of 900 x 900 alone are 155 MB
    message = window.preset_panel.message.text()
    assert message.startswith("preset form: 'design.coupling_lags' = 300 is too large for this recording: ")
    assert "more than the memory limit of 20" in message and "\n" not in message
    assert not window.run_action.isEnabled()
