"""Populations written as a phy folder or an NWB file read back as the same counts and stimulus."""
from __future__ import annotations

import numpy as np
import pytest

from tests.cli_subprocess import assert_refused, run_vbgui
from vbgui.errors import OutputFileError, RecordingError
from vbgui.io.loaders import LoadOptions, read_recording_file
from vbgui.io.recording import RecordingFile
from vbgui.io.spike_writers import save_nwb, save_phy_folder
from vbgui.models.synthetic import make_synthetic_population


@pytest.fixture(scope="module")
def population():
    return make_synthetic_population("poisson", 4, n_bins=3000, stimulus_lags=5, dt=0.005, seed=2)


def test_a_phy_folder_reads_back_as_the_same_counts_and_stimulus(tmp_path, population):
    folder = save_phy_folder(population, tmp_path / "session", seed=1)
    recording = read_recording_file(folder, LoadOptions(stimulus_path=str(folder / "stimulus.npz")))
    assert recording.dt == 0.005 and recording.unit_names == ("cluster0", "cluster1", "cluster2", "cluster3")
    np.testing.assert_array_equal(recording.responses, population.responses)
    np.testing.assert_allclose(recording.stimulus, population.stimulus, atol=1e-11)
    with pytest.raises(OutputFileError, match="already exists"):
        save_phy_folder(population, folder)


def test_an_nwb_file_reads_back_as_the_same_counts_and_stimulus(tmp_path, population):
    pytest.importorskip("pynwb")
    path = save_nwb(population, tmp_path / "population.nwb", seed=1)
    recording = read_recording_file(path, LoadOptions(dt=0.005))
    assert recording.unit_names == population.unit_names
    np.testing.assert_array_equal(recording.responses, population.responses)
    np.testing.assert_allclose(recording.stimulus, population.stimulus, atol=1e-12)


def test_responses_that_are_not_counts_are_refused(tmp_path):
    continuous = RecordingFile(np.array([[0.5], [1.0]]), ("u",), 0.01, "cont.npz", response_name="response")
    with pytest.raises(RecordingError, match="cont.npz: a phy folder holds spike times"):
        save_phy_folder(continuous, tmp_path / "session")
    assert not (tmp_path / "session").exists()


@pytest.mark.parametrize("flags,fragment", [
    (["--format", "phy", "--likelihood", "gaussian"], "--format phy writes spike times"),
    (["--format", "phy", "--dt", "0.0001"], "--dt 0.0001: a phy folder's bins need at least 4 samples"),
])
def test_simulate_refuses_formats_it_cannot_write(tmp_path, flags, fragment):
    out = tmp_path / "session"
    assert_refused(run_vbgui("simulate", "--units", "2", "--out", out, *flags), fragment)
    assert not out.exists()
