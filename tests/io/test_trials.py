"""trial_start in .npz and .mat recordings: what is read, and every bad trial table named in one line."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.io

from tests.io.test_loaders import write_mat73
from vbgui.errors import RecordingError
from vbgui.io.loaders import read_recording_file
from vbgui.io.npz import save_units_npz
from vbgui.io.trials import trial_lengths

COUNTS = np.random.default_rng(0).poisson(1.0, (50, 3))


def test_npz_and_both_mat_versions_read_the_same_trial_starts(tmp_path):
    starts = np.array([0, 12, 30])
    npz, v5, v73 = tmp_path / "r.npz", tmp_path / "v5.mat", tmp_path / "v73.mat"
    np.savez(npz, counts=COUNTS, dt=np.array(0.01), trial_start=starts)
    scipy.io.savemat(v5, {"counts": COUNTS, "dt": 0.01, "trial_start": starts.astype(float)})  # doubles, as MATLAB
    write_mat73(v73, {"counts": COUNTS, "dt": [[0.01]], "trial_start": starts[None, :]})
    for path in (npz, v5, v73):
        recording = read_recording_file(path)
        assert recording.trial_starts.dtype == np.int64
        np.testing.assert_array_equal(recording.trial_starts, starts)
    np.testing.assert_array_equal(trial_lengths(starts, 50), [12, 18, 20])


def test_a_file_without_trial_start_is_one_trial_and_saving_keeps_the_trials(tmp_path):
    plain = tmp_path / "plain.npz"
    np.savez(plain, counts=COUNTS, dt=np.array(0.01))
    assert read_recording_file(plain).trial_starts is None
    source = tmp_path / "trials.npz"
    np.savez(source, counts=COUNTS, dt=np.array(0.01), trial_start=np.array([0, 25]))
    copy = tmp_path / "copy.npz"
    save_units_npz(read_recording_file(source), copy)
    np.testing.assert_array_equal(read_recording_file(copy).trial_starts, [0, 25])


@pytest.mark.parametrize("trial_start,fragment", [
    (np.array([0, 20, 20]), "trial 2 starts at bin 20, not after trial 1 (bin 20); trials must not overlap"),
    (np.array([0, 30, 20]), "trial 2 starts at bin 20, not after trial 1 (bin 30)"),
    (np.array([0, 50]), "holds 50, out of range: a trial starts at a bin from 0 to 49"),
    (np.array([0, -5]), "holds -5, out of range"),
    (np.array([3, 20]), "must begin with 0"),
    (np.array([0.0, 12.5]), "must hold whole numbers (bin indices), got 12.5"),
    (np.array([0.0, np.nan]), "contains NaN or Inf"),
    (np.array([0.0, 1e300]), "out of range"),
    (np.array(["0", "10"]), "must hold whole numbers"),
    (np.array([True, False]), "must hold whole numbers"),
    (np.zeros((2, 2), dtype=int), "must be a non-empty vector of bin indices, got shape (2, 2)"),
    (np.zeros(0, dtype=int), "must be a non-empty vector"),
    (np.arange(51), "has 51 trials for 50 bins"),
])
def test_bad_trial_tables_are_refused_naming_the_file_and_the_problem(tmp_path, trial_start, fragment):
    path = tmp_path / "bad.npz"
    np.savez(path, counts=COUNTS, dt=np.array(0.01), trial_start=trial_start)
    with pytest.raises(RecordingError) as caught:
        read_recording_file(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: 'trial_start'") and fragment in message and "\n" not in message


def test_more_trials_than_the_limit_are_refused_before_they_are_checked(tmp_path):
    path = tmp_path / "many.npz"
    np.savez(path, counts=np.zeros((200_002, 1), dtype=np.int8), dt=np.array(0.01),
             trial_start=np.arange(0, 200_002, 2))
    with pytest.raises(RecordingError, match="'trial_start' has 100001 trials; at most 100000 are read"):
        read_recording_file(path)


def test_a_bad_trial_table_in_a_mat_file_is_refused_too(tmp_path):
    path = tmp_path / "bad.mat"
    scipy.io.savemat(path, {"counts": COUNTS, "dt": 0.01, "trial_start": np.array([1.0, 13.0])})  # 1-based
    with pytest.raises(RecordingError, match="must begin with 0"):
        read_recording_file(path)
