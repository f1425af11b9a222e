"""Opening recordings in the window: units, files with other names, a dt given by hand, notes, folders."""
from __future__ import annotations

import numpy as np
import scipy.io

from vbgui.gui.variables_dialog import NOT_GIVEN
from vbgui.gui.window import recordings as recordings_module

RNG = np.random.default_rng(3)
COUNTS = RNG.poisson(0.3, (2000, 3)).astype(float)
STIMULUS = RNG.standard_normal((2000, 1))


def test_a_multi_unit_file_offers_its_units_and_switches_without_reading_again(window, tmp_path, monkeypatch) -> None:
    path = tmp_path / "three-units.mat"
    scipy.io.savemat(path, {"counts": COUNTS, "stimulus": STIMULUS, "dt": 0.005,
                            "unit_names": np.array(["alpha", "beta", "gamma"], dtype=object)})
    reads: list[str] = []
    original = recordings_module.read_recording_file
    monkeypatch.setattr(recordings_module, "read_recording_file",
                        lambda *args, **kwargs: reads.append(str(args[0])) or original(*args, **kwargs))
    assert window.open_recording(path)
    combo = window.recording_panel.unit_choice
    assert window.recording_panel.unit_row.isVisible()
    assert [combo.itemText(i) for i in range(combo.count())] == ["0: alpha", "1: beta", "2: gamma"]
    np.testing.assert_array_equal(window.recording.response, COUNTS[:, 0])
    combo.setCurrentIndex(2)
    combo.activated.emit(2)
    assert window.recording.unit == "gamma"
    np.testing.assert_array_equal(window.recording.response, COUNTS[:, 2])
    assert "gamma" in window.windowTitle()
    assert reads == [str(path)]


def test_a_single_unit_file_hides_the_unit_choice(window, small_recording_path) -> None:
    assert window.open_recording(small_recording_path)
    assert not window.recording_panel.unit_row.isVisible()


def test_a_mat_file_with_other_names_asks_for_the_variables(window, small_recording_path, tmp_path) -> None:
    window.open_recording(small_recording_path)
    before = window.recording
    path = tmp_path / "lab.mat"
    scipy.io.savemat(path, {"spk": COUNTS[:, 0], "light": STIMULUS, "binwidth": 0.002})
    assert not window.open_recording(path)
    assert window.recording is before
    dialog = window.variables_dialog
    assert dialog is not None and dialog.isVisible()
    assert "no variable 'counts'" in window.last_error
    combo = dialog.choices["counts"]
    assert {combo.itemText(i) for i in range(combo.count())} == {NOT_GIVEN, "spk", "light", "binwidth"}
    dialog.choose("counts", "spk")
    dialog.choose("stimulus", "light")
    dialog.choose("dt", "binwidth")
    dialog.accept()
    assert window.recording is not before
    np.testing.assert_array_equal(window.recording.response, COUNTS[:, 0])
    assert window.recording.dt == 0.002 and window.recording.n_stimuli == 1


def test_a_csv_without_time_takes_dt_from_the_dialog(window, tmp_path) -> None:
    path = tmp_path / "bins.csv"
    rows = "\n".join(f"{int(c)},{s:.6f}" for c, s in zip(COUNTS[:, 1], STIMULUS[:, 0]))
    path.write_text(f"spikes,sound\n{rows}\n")
    assert not window.open_recording(path)
    dialog = window.variables_dialog
    assert set(dialog.choices) == {"counts", "response", "stimulus", "time"}
    dialog.choose("counts", "spikes")
    dialog.choose("stimulus", "sound")
    dialog.accept()  # no dt yet: the dialog comes back, saying why
    assert window.recording is None
    again = window.variables_dialog
    assert again is not dialog and again.isVisible() and "dt" in window.last_error
    assert again.choices["counts"].currentText() == "spikes"
    again.dt_edit.setText("0.004")
    again.accept()
    assert window.recording is not None and window.recording.dt == 0.004
    np.testing.assert_array_equal(window.recording.response, COUNTS[:, 1])


def test_a_corrupt_mat_file_is_an_error_not_a_dialog(window, small_recording_path, tmp_path) -> None:
    window.open_recording(small_recording_path)
    bad = tmp_path / "broken.mat"
    bad.write_bytes(b"MATLAB 5.0 MAT-file, truncated")
    assert not window.open_recording(bad)
    assert window.variables_dialog is None
    assert window.error_box.isVisible() and "broken.mat" in window.last_error
    assert "small-poisson.npz" in window.recording_panel.summary.text()


def test_a_pillow_lab_folder_opens_with_its_cells_and_notes(window, tmp_path) -> None:
    frames = 0.5 + np.arange(400) * 0.00834
    scipy.io.savemat(tmp_path / "Stim.mat", {"Stim": RNG.standard_normal((400, 1))})
    scipy.io.savemat(tmp_path / "stimtimes.mat", {"stimtimes": frames[:, None]})
    trains = np.empty((1, 4), dtype=object)
    for i in range(4):
        trains[0, i] = np.sort(RNG.uniform(0.3, 4.0, 60))[:, None]
    scipy.io.savemat(tmp_path / "SpTimes.mat", {"SpTimes": trains})
    assert window.open_recording(tmp_path)
    assert window.recording_panel.unit_choice.count() == 4
    assert "Note:" in window.recording_panel.summary.text()
    assert "outside the stimulus frames" in window.recording_panel.summary.text()


def test_a_bad_file_shows_an_error_and_keeps_the_recording(window, small_recording_path, tmp_path) -> None:
    window.open_recording(small_recording_path)
    before = window.recording
    bad = tmp_path / "broken.npz"
    bad.write_bytes(b"this is not a zip archive")
    assert not window.open_recording(bad)
    assert window.recording is before
    assert "broken.npz" in window.last_error and "not a readable .npz" in window.last_error
    assert window.error_box is not None and window.error_box.isVisible()
    assert "broken.npz" in window.status_label.text()
    assert "small-poisson.npz" in window.recording_panel.summary.text()


def test_recent_files_are_remembered_in_isolated_settings(window, small_recording_path, tmp_path) -> None:
    window.open_recording(small_recording_path)
    assert window.recent.paths()[0] == str(small_recording_path.resolve())
    assert window.recent.settings.fileName().startswith(str(tmp_path))


def test_every_shipped_recording_opens_from_the_sample_menu_with_a_note(window) -> None:
    from vbgui.io.loaders import SHIPPED_RECORDING_NOTES, shipped_recordings

    actions = {action.text(): action for action in window.recordings.sample_menu.actions()}
    assert set(actions) == set(shipped_recordings())
    assert set(SHIPPED_RECORDING_NOTES) == set(shipped_recordings())  # a new shipped file needs its note
    for name, action in actions.items():
        assert action.toolTip() == SHIPPED_RECORDING_NOTES[name]
    recent_before = window.recent.paths()
    actions["coupled-population"].trigger()
    assert window.recordings.recording_file.n_units == 20
    assert window.recordings.recording_file.source.endswith("coupled-population.npz")
    assert window.recent.paths() == recent_before  # a sample is not a recent file of the user's


def test_a_recording_without_stimulus_says_so_instead_of_empty_axes(window) -> None:
    panel = window.recording_panel
    actions = {action.text(): action for action in window.recordings.sample_menu.actions()}
    actions["synthetic-poisson-lds"].trigger()
    assert window.recording_file.stimulus is None
    assert panel.no_stimulus_note.label.isVisible()
    assert panel.stimulus_plot.getAxis("left").opacity() == 0.0
    actions["synthetic-poisson"].trigger()
    assert not panel.no_stimulus_note.label.isVisible()
    assert panel.stimulus_plot.getAxis("left").opacity() == 1.0
