"""Presets in the window (gui/window/presets.py): the form explains bad values, saving and reopening TOML files."""
from __future__ import annotations

from tests.gui.window_helpers import set_field


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
