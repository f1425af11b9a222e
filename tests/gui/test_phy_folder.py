"""A Kilosort/phy folder in the window: the dialog asks for the bin width and the stimulus file, then the good
clusters open as units."""
from __future__ import annotations

import numpy as np

from tests.io.phy_folder import write_phy_folder
from vbgui.gui.phy_folder_dialog import PhyFolderDialog


def _folder(tmp_path):
    """Cluster 1 (good) at 0.3 and 1.2 s, cluster 2 (good) at 0.6 s, cluster 3 (noise) at 0.7 s."""
    return write_phy_folder(tmp_path / "ks", [300, 600, 700, 1200], [1, 2, 3, 1], {1: "good", 2: "good", 3: "noise"},
                            sample_rate=1000.0)


def test_a_phy_folder_asks_for_its_bin_width_and_stimulus_then_opens_its_good_units(window, tmp_path) -> None:
    folder = _folder(tmp_path)
    stimulus = tmp_path / "stim.npz"
    np.savez(stimulus, stimulus=np.array([1.0, 2.0, 3.0, 4.0]), frame_times=np.array([0.0, 0.5, 1.0, 1.5]))
    assert not window.open_recording(folder)
    dialog = window.variables_dialog
    assert isinstance(dialog, PhyFolderDialog) and dialog.isVisible()
    dialog.stimulus_edit.setText(str(stimulus))
    dialog.accept()
    assert window.recording_file.unit_names == ("cluster1", "cluster2")
    assert window.recording.dt == 0.5
    np.testing.assert_array_equal(window.recording_file.responses, [[1, 0], [0, 1], [1, 0], [0, 0]])
    np.testing.assert_allclose(window.recording.stimulus[:, 0], [1, 2, 3, 4])
    assert window.recording_panel.unit_row.isVisible()


def test_without_a_stimulus_the_dialog_comes_back_until_a_bin_width_is_given(window, tmp_path) -> None:
    folder = _folder(tmp_path)
    window.open_recording(folder)
    window.variables_dialog.accept()  # neither a bin width nor a stimulus
    dialog = window.variables_dialog
    assert isinstance(dialog, PhyFolderDialog) and dialog.isVisible()
    assert "give the bin width dt" in window.last_error
    dialog.dt_edit.setText("0.25")
    dialog.accept()
    assert window.recording.dt == 0.25 and window.recording.stimulus is None
    np.testing.assert_array_equal(window.recording_file.responses[:, 0], [0, 1, 0, 0, 1])


def test_a_bad_phy_folder_is_an_error_not_another_dialog(window, small_recording_path, tmp_path) -> None:
    window.open_recording(small_recording_path)
    before = window.recording
    folder = _folder(tmp_path)
    (folder / "params.py").write_text("import os\nsample_rate = 1000.\n")
    window.open_recording(folder)
    window.variables_dialog.dt_edit.setText("0.1")
    window.variables_dialog.accept()
    assert window.recording is before
    assert "params.py: line 1 is not an assignment" in window.last_error
    assert not window.variables_dialog.isVisible()
