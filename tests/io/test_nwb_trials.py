"""An NWB file's trials table cuts the recording into trials: what is kept, the same fit as the equivalent .npz,
and every bad trials table named in one line."""
from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime, timezone

import numpy as np
import pytest

from tests.cli_subprocess import assert_refused, run_vbgui
from vbgui.app.lds_fit import LdsFitSession
from vbgui.errors import RecordingError
from vbgui.io.loaders import LoadOptions, read_recording_file
from vbgui.io.nwb_trials import trial_bin_index, trial_bin_ranges
from vbgui.io.recording import RecordingFile
from vbgui.io.spike_writers import save_nwb
from vbgui.models.preset import load_preset

pynwb = pytest.importorskip("pynwb")
h5py = pytest.importorskip("h5py")

DT = 0.01
N_BINS = 150
COUNTS = np.random.default_rng(4).poisson(0.8, (N_BINS, 4))
STIMULUS = np.sin(np.arange(N_BINS) / 7.0)[:, None] * np.array([[1.0, -2.0]])
# [0.05, 0.45) s, [0.60, 1.10) s, [1.10, 1.40) s: bins 5..44, 60..109, 110..139; 0..4, 45..59 and 140..149 dropped
TRIALS = ((0.05, 0.45), (0.60, 1.10), (1.10, 1.40))
KEPT = np.r_[5:45, 60:140]
STARTS = np.array([0, 40, 90])


def spike_times(counts: np.ndarray, seed: int = 0) -> list[np.ndarray]:
    """Per unit, spike times in seconds inside the bins the counts give (away from the edges)."""
    rng = np.random.default_rng(seed)
    trains = []
    for column in counts.T:
        bins = np.repeat(np.arange(column.size), column.astype(int))
        trains.append(np.sort((bins + 0.1 + 0.8 * rng.random(bins.size)) * DT))
    return trains


def write_nwb(path, trials=TRIALS, stimulus: np.ndarray | None = None):
    nwbfile = pynwb.NWBFile("test", "id", datetime(2026, 1, 1, tzinfo=timezone.utc))
    nwbfile.add_unit_column("unit_name", "name")
    for index, times in enumerate(spike_times(COUNTS)):
        nwbfile.add_unit(spike_times=times, unit_name=f"u{index}")
    if stimulus is not None:
        centres = (np.arange(stimulus.shape[0]) + 0.5) * DT
        nwbfile.add_stimulus(pynwb.TimeSeries(name="sound", data=stimulus, unit="a.u.", timestamps=centres))
    for start, stop in trials:
        nwbfile.add_trial(start_time=start, stop_time=stop)
    with pynwb.NWBHDF5IO(str(path), "w") as nwb_io:
        nwb_io.write(nwbfile)
    return path


def replace_column(path, name: str, data) -> None:
    """Overwrite /intervals/trials/NAME with ``data`` (None: delete it), as a damaged or hand-made file would."""
    with h5py.File(path, "r+") as handle:
        attributes = dict(handle[f"/intervals/trials/{name}"].attrs)  # its NWB type, so pynwb still reads it
        del handle[f"/intervals/trials/{name}"]
        if data is not None:
            handle.create_dataset(f"/intervals/trials/{name}", data=data).attrs.update(attributes)


def test_the_trials_are_cut_out_and_concatenated_with_their_starts_and_stimulus(tmp_path):
    path = write_nwb(tmp_path / "r.nwb", stimulus=STIMULUS)
    recording = read_recording_file(path, LoadOptions(dt=DT))
    np.testing.assert_array_equal(recording.responses, COUNTS[KEPT])
    np.testing.assert_array_equal(recording.trial_starts, STARTS)
    np.testing.assert_allclose(recording.stimulus, STIMULUS[KEPT], rtol=1e-12, atol=1e-12)
    assert recording.notes == ("cut into 3 trial(s) by the trials table /intervals/trials: 120 of 150 bins kept, "
                               "bins outside every trial dropped",)


def test_a_file_without_a_trials_table_is_one_trial_of_every_bin(tmp_path):
    recording = read_recording_file(write_nwb(tmp_path / "r.nwb", trials=()), LoadOptions(dt=DT))
    assert recording.trial_starts is None and recording.notes == ()
    np.testing.assert_array_equal(recording.responses, COUNTS)


def test_a_recording_of_trials_written_as_nwb_reads_back_with_the_same_trials(tmp_path):
    trials = RecordingFile(COUNTS[KEPT], ("a", "b", "c", "d"), DT, "trials.npz", stimulus=STIMULUS[KEPT],
                           trial_starts=STARTS)
    path = save_nwb(trials, tmp_path / "trials.nwb", seed=2)
    with h5py.File(path, "r") as handle:
        np.testing.assert_allclose(handle["/intervals/trials/start_time"][()], STARTS * DT, rtol=1e-15)
    back = read_recording_file(path, LoadOptions(dt=DT))
    np.testing.assert_array_equal(back.responses, COUNTS[KEPT])
    np.testing.assert_array_equal(back.trial_starts, STARTS)
    np.testing.assert_allclose(back.stimulus, STIMULUS[KEPT], atol=1e-12)
    assert back.notes == ("cut into 3 trial(s) by the trials table /intervals/trials: 120 of 120 bins kept, "
                          "bins outside every trial dropped",)


def test_bins_are_those_whose_centres_lie_in_the_trial_and_shared_boundaries_share_no_bin():
    windows = np.array([[0.0, 0.155], [0.155, 0.3], [0.31, 0.3349]])
    first, end = trial_bin_ranges(windows, 0.01, "f")
    np.testing.assert_array_equal(first, [0, 15, 31])  # bin 15's centre, 0.155 s, lies in the second trial
    np.testing.assert_array_equal(end, [15, 30, 33])  # bin 33's centre, 0.335 s, is after 0.3349 s
    kept, starts = trial_bin_index(first, end)
    np.testing.assert_array_equal(kept, np.r_[0:30, 31:33])
    np.testing.assert_array_equal(starts, [0, 15, 30])


def test_the_recording_runs_to_the_last_trial_even_past_the_last_spike(tmp_path):
    path = write_nwb(tmp_path / "r.nwb", trials=((0.0, 0.5), (1.0, 2.0)))
    recording = read_recording_file(path, LoadOptions(dt=DT))
    assert recording.responses.shape == (150, 4)
    np.testing.assert_array_equal(recording.responses[:100], np.r_[COUNTS[:50], COUNTS[100:150]])
    assert np.all(recording.responses[100:] == 0)


def test_a_three_trial_nwb_file_gives_the_same_fit_as_the_equivalent_npz(tmp_path):
    nwb = write_nwb(tmp_path / "r.nwb")
    npz = tmp_path / "r.npz"
    np.savez(npz, counts=COUNTS[KEPT], dt=np.array(DT), trial_start=STARTS)
    preset = replace(load_preset("poisson-lds"), latent_dim=2).with_fit(max_iter=15)
    from_nwb = LdsFitSession(preset, read_recording_file(nwb, LoadOptions(dt=DT))).run()
    from_npz = LdsFitSession(preset, read_recording_file(npz)).run()
    assert from_nwb.trial_starts == from_npz.trial_starts == (0, 40, 90)
    assert from_nwb.iterations == from_npz.iterations == 15
    assert from_nwb.elbo == pytest.approx(from_npz.elbo, rel=1e-10)
    np.testing.assert_allclose(from_nwb.latent_mean, from_npz.latent_mean, rtol=1e-8, atol=1e-10)


def test_a_trial_of_one_bin_is_refused_by_the_fit_as_in_an_npz(tmp_path):
    path = write_nwb(tmp_path / "r.nwb", trials=((0.0, 0.5), (0.6, 0.61)))
    recording = read_recording_file(path, LoadOptions(dt=DT))
    np.testing.assert_array_equal(recording.trial_starts, [0, 50])
    with pytest.raises(RecordingError, match=r"trial 1 \(from bin 50\) has 1 bin"):
        LdsFitSession(load_preset("poisson-lds"), recording)


@pytest.mark.parametrize("column,data,fragment", [
    ("stop_time", None, "the trials table '/intervals/trials' has no 'stop_time' column"),
    ("start_time", None, "the trials table '/intervals/trials' has no 'start_time' column"),
    ("start_time", np.array([b"0.05", b"0.6", b"1.1"]), "'/intervals/trials/start_time' must hold numbers"),
    ("stop_time", np.zeros((3, 2)), "'/intervals/trials/stop_time' must be a vector (one time per trial), got "
                                    "shape (3, 2)"),
    ("stop_time", np.array([0.45, 1.1]), "the trials table has 3 start_time(s) but 2 stop_time(s)"),
    ("start_time", np.zeros(100_001), "'/intervals/trials/start_time' has 100001 trials; at most 100000 are read"),
    ("start_time", np.array([0.05, np.nan, 1.1]), "trial 1 of the trials table has a start_time or stop_time "
                                                  "that is NaN or Inf"),
    ("stop_time", np.array([0.45, 1.1, np.inf]), "trial 2 of the trials table has a start_time or stop_time"),
    ("start_time", np.array([0.05, 0.4, 1.1]), "trial 1 starts at 0.4 s, before trial 0 stops (0.45 s); trials "
                                               "must be in time order and must not overlap"),
    ("start_time", np.array([0.6, 0.05, 1.1]), "trial 0 stops at 0.45 s, not after it starts (0.6 s)"),
    ("stop_time", np.array([0.45, 0.5, 1.4]), "trial 1 stops at 0.5 s, not after it starts (0.6 s)"),
    ("start_time", np.array([-0.05, 0.6, 1.1]), "trial 0 starts at -0.05 s, before the recording (0 s)"),
    ("stop_time", np.array([0.45, 1.1, 1e300]), "more than any recording can hold"),
    ("stop_time", np.array([0.052, 1.1, 1.4]), "trial 0 (0.05 to 0.052 s) holds no bin of 0.01 s"),
    ("stop_time", np.array([0.45, 1.1, 1e9]), "would need"),  # 1e11 bins: terabytes
])
def test_a_bad_trials_table_is_refused_naming_the_file_and_the_problem(tmp_path, column, data, fragment):
    path = write_nwb(tmp_path / "bad.nwb")
    replace_column(path, column, data)
    with pytest.raises(RecordingError) as caught:
        read_recording_file(path, LoadOptions(dt=DT))
    message = str(caught.value)
    assert message.startswith(f"{path}: ") and fragment in message and "\n" not in message


def test_unsorted_trials_are_refused(tmp_path):
    path = write_nwb(tmp_path / "bad.nwb", trials=((0.6, 1.1), (0.05, 0.45)))
    with pytest.raises(RecordingError, match=r"trial 1 starts at 0.05 s, before trial 0 stops \(1.1 s\); trials "
                                             "must be in time order"):
        read_recording_file(path, LoadOptions(dt=DT))


def test_a_trials_table_that_is_not_a_group_is_refused(tmp_path):
    path = write_nwb(tmp_path / "bad.nwb")
    with h5py.File(path, "r+") as handle:
        del handle["/intervals/trials"]
        handle["/intervals/trials"] = np.zeros(3)
    with pytest.raises(RecordingError, match=r"'/intervals/trials' is not a table \(an HDF5 group\)"):
        read_recording_file(path, LoadOptions(dt=DT))


def test_a_trial_past_the_end_of_the_stimulus_is_refused(tmp_path):
    path = write_nwb(tmp_path / "bad.nwb", trials=((0.05, 0.45), (0.6, 1.6)), stimulus=STIMULUS)
    with pytest.raises(RecordingError, match=r"trial 1 stops at 1.6 s, after the stimulus 'sound' ends \(its last "
                                             r"sample lies in the bin ending at 1.5 s\)"):
        read_recording_file(path, LoadOptions(dt=DT))


@pytest.mark.parametrize("column,data,fragments", [
    ("stop_time", None, ("has no 'stop_time' column",)),
    ("start_time", np.array([0.05, 0.4, 1.1]), ("trials must be in time order and must not overlap",)),
    ("stop_time", np.array([0.45, 1.1, 1e9]), ("would need", "more than the memory limit")),
])
def test_the_cli_refuses_a_bad_trials_table_in_one_line_and_writes_nothing(tmp_path, column, data, fragments):
    path = write_nwb(tmp_path / "bad.nwb")
    replace_column(path, column, data)
    out = tmp_path / "out.json"
    completed = run_vbgui("fit", "--preset", "poisson-lds", "--recording", path, "--dt", DT, "--out", out)
    assert_refused(completed, str(path), *fragments)
    assert not out.exists()


def test_the_cli_fits_an_nwb_file_as_its_trials_and_says_so(tmp_path):
    path = write_nwb(tmp_path / "r.nwb")
    out = tmp_path / "fit.json"
    completed = run_vbgui("fit", "--preset", "poisson-lds", "--recording", path, "--dt", DT, "--max-iter", 3,
                          "--out", out)
    assert completed.returncode == 0, completed.stderr
    assert "120 bins x 4 units in 3 trials" in completed.stderr
    assert "cut into 3 trial(s) by the trials table /intervals/trials: 120 of 150 bins kept" in completed.stderr
    assert json.loads(out.read_text())["latents"]["trial_start"] == [0, 40, 90]
