"""Kilosort/phy folders: exact counts of the good units, the stimulus on the bins, and every refusal."""
from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
import scipy.io
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.io.phy_folder import random_session, write_phy_folder
from vbgui.errors import NamingError, RecordingError
from vbgui.io import phy
from vbgui.io.frame_stimulus import read_frame_stimulus
from vbgui.io.limits import MemoryLimitError
from vbgui.io.loaders import LoadOptions, load_recording, read_recording_file
from vbgui.io.phy_params import read_sample_rate
from vbgui.io.spike_times import bin_spike_times

RATE = 100.0  # samples per second: sample s is at s / 100 s


@pytest.fixture
def small_folder(tmp_path):
    """Cluster 1 (good) at 0, 0.2, 0.3, 2.5 s; cluster 2 (good) at 0.1, 1.0, 2.99 s; cluster 3 (mua) at 0.35 s."""
    return write_phy_folder(tmp_path / "ks", [0, 10, 20, 30, 35, 100, 250, 299], [1, 2, 1, 1, 3, 2, 1, 2],
                            {1: "good", 2: "good", 3: "mua"}, sample_rate=RATE)


def test_known_spikes_give_known_counts(small_folder):
    recording = read_recording_file(small_folder, LoadOptions(dt=0.5))
    assert recording.unit_names == ("cluster1", "cluster2")
    assert recording.dt == 0.5 and recording.stimulus is None
    # bins [0, .5) [.5, 1) [1, 1.5) [1.5, 2) [2, 2.5) [2.5, 3): the last spike (2.99 s) ends the recording
    np.testing.assert_array_equal(recording.responses[:, 0], [3, 0, 0, 0, 0, 1])
    np.testing.assert_array_equal(recording.responses[:, 1], [1, 0, 1, 0, 0, 1])
    assert "2 clusters labelled good in cluster_group.tsv (others ignored: mua 1)" in recording.notes
    unit = load_recording(small_folder, "cluster2", LoadOptions(dt=0.5))
    assert unit.unit == "cluster2" and unit.response.sum() == 3


def test_counts_match_the_searchsorted_binning_of_every_loader_across_chunks(tmp_path, monkeypatch):
    samples, clusters = random_session(20_000, 6, 3_000_000, seed=1)
    labels = {0: "good", 1: "mua", 2: "good", 3: "noise", 4: "good", 5: ""}
    folder = write_phy_folder(tmp_path / "ks", samples, clusters, labels, sample_rate=30000.0)
    monkeypatch.setattr(phy, "CHUNK_SPIKES", 777)  # many chunks, each checked and binned on its own
    # the bincount block, and spike-by-spike adding when a chunk spans many bins; a table of cluster ids,
    # and a binary search of them when ids are too large for a table
    for block, table_ids in ((1 << 22, 1 << 22), (50, 1 << 22), (1 << 22, 3)):
        monkeypatch.setattr(phy, "MAX_BLOCK_ELEMENTS", block)
        monkeypatch.setattr(phy, "MAX_TABLE_IDS", table_ids)
        recording = read_recording_file(folder, LoadOptions(dt=0.001))
        n_bins = recording.responses.shape[0]
        assert n_bins == int(np.floor(samples[-1] / 30000.0 / 0.001)) + 1
        for column, cluster in enumerate((0, 2, 4)):
            expected = bin_spike_times(samples[clusters == cluster] / 30000.0, 0.001, n_bins, "ref", "t")
            np.testing.assert_array_equal(recording.responses[:, column], expected)
        assert recording.responses.sum() == np.isin(clusters, (0, 2, 4)).sum()
    assert "(others ignored: mua 1, noise 1, unlabelled 1)" in recording.notes[0]


def test_cluster_info_is_read_when_there_is_no_cluster_group(tmp_path):
    folder = write_phy_folder(tmp_path / "ks", [1, 2, 3], [7, 8, 9], {7: "noise", 8: "good", 9: "good"},
                              sample_rate=RATE, label_file="cluster_info.tsv", id_column="id")
    recording = read_recording_file(folder, LoadOptions(dt=0.01))
    assert recording.unit_names == ("cluster8", "cluster9")
    assert "cluster_info.tsv" in recording.notes[0]


def test_cluster_group_wins_over_cluster_info(tmp_path, small_folder):
    (small_folder / "cluster_info.tsv").write_text("cluster_id\tgroup\n1\tnoise\n2\tnoise\n3\tgood\n")
    assert read_recording_file(small_folder, LoadOptions(dt=0.5)).unit_names == ("cluster1", "cluster2")


def test_the_spike_arrays_are_memory_mapped_and_binned_in_chunks(tmp_path, monkeypatch):
    """3 million spikes (36 MB of arrays) in chunks of 65536: what is allocated is a chunk's worth, not the arrays."""
    monkeypatch.setattr(phy, "CHUNK_SPIKES", 1 << 16)
    samples, clusters = random_session(3_000_000, 4, 30000 * 600, seed=2)
    folder = write_phy_folder(tmp_path / "ks", samples, clusters, {0: "good", 1: "good", 2: "mua", 3: "good"})
    array_bytes = samples.size * (8 + 4)
    del samples, clusters
    tracemalloc.start()
    try:
        recording = read_recording_file(folder, LoadOptions(dt=10.0))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert recording.responses.shape == (60, 3)
    assert peak < array_bytes / 10, peak
    assert peak < phy.CHUNK_SPIKES * phy.CHUNK_BYTES_PER_SPIKE, peak  # what the memory estimate counts per chunk


@pytest.mark.parametrize("suffix", [".npz", ".mat", ".csv"])
def test_the_stimulus_is_aligned_to_its_frames(tmp_path, small_folder, suffix):
    """Frames of 0.5 s from 0.25 s: bins start at the first frame; spikes outside the frames are noted."""
    values = np.array([0.0, 1.0, 2.0, 3.0, 4.0])
    frames = 0.25 + 0.5 * np.arange(5)
    path = tmp_path / f"stim{suffix}"
    if suffix == ".npz":
        np.savez(path, stimulus=values, frame_times=frames)
    elif suffix == ".mat":
        scipy.io.savemat(path, {"stimulus": values[:, None], "frame_times": frames[None, :]})
    else:
        path.write_text("frame_times,stim_light\n" + "".join(f"{t},{v}\n" for t, v in zip(frames, values)))
    recording = read_recording_file(small_folder, LoadOptions(stimulus_path=str(path)))
    assert recording.dt == 0.5  # the frame interval
    np.testing.assert_allclose(recording.stimulus[:, 0], values, atol=1e-12)
    # cluster 1: 0.3 s -> frame 0, 2.5 s -> frame 4; cluster 2: 1.0 s -> frame 1; 0, 0.1, 0.2, 2.99 s fall outside
    np.testing.assert_array_equal(recording.responses[:, 0], [1, 0, 0, 0, 1])
    np.testing.assert_array_equal(recording.responses[:, 1], [0, 1, 0, 0, 0])
    assert any("4 spike(s) of good units outside the stimulus frames" in note for note in recording.notes)


def test_finer_and_coarser_bins_hold_or_average_the_frames(tmp_path, small_folder):
    path = tmp_path / "stim.npz"
    np.savez(path, stimulus=np.array([[0.0, 10.0], [1.0, 20.0], [2.0, 30.0], [3.0, 40.0]]),
             frame_times=0.25 + 0.5 * np.arange(4))
    finer = read_recording_file(small_folder, LoadOptions(dt=0.25, stimulus_path=str(path)))
    np.testing.assert_allclose(finer.stimulus[:, 0], [0, 0, 1, 1, 2, 2, 3, 3], atol=1e-12)
    np.testing.assert_allclose(finer.stimulus[:, 1], [10, 10, 20, 20, 30, 30, 40, 40], atol=1e-12)
    coarser = read_recording_file(small_folder, LoadOptions(dt=1.0, stimulus_path=str(path)))
    np.testing.assert_allclose(coarser.stimulus[:, 0], [0.5, 2.5], atol=1e-12)
    np.testing.assert_array_equal(coarser.responses.sum(axis=0), [1, 1])  # 0.3 s and 1.0 s; 2.5 s is past 2.25 s
    straddling = read_recording_file(small_folder, LoadOptions(dt=0.2, stimulus_path=str(path)))
    # bin 2 is [0.65, 0.85) s: 0.1 s of frame 0 (value 0), 0.1 s of frame 1 (value 1)
    np.testing.assert_allclose(straddling.stimulus[:4, 0], [0, 0, 0.5, 1], atol=1e-9)


def test_stimulus_names_can_be_remapped(tmp_path, small_folder):
    path = tmp_path / "stim.mat"
    scipy.io.savemat(path, {"Stim": np.arange(5.0)[:, None], "stimtimes": (0.25 + 0.5 * np.arange(5))[:, None]})
    options = LoadOptions(variables={"stimulus": "Stim", "frame_times": "stimtimes"}, stimulus_path=str(path))
    assert read_recording_file(small_folder, options).stimulus.shape == (5, 1)
    with pytest.raises(NamingError, match="no variable 'stimulus'"):
        read_recording_file(small_folder, LoadOptions(stimulus_path=str(path)))


def test_params_py_is_parsed_never_run(tmp_path):
    marker = tmp_path / "ran"
    hostile = [f"import os\nopen({str(marker)!r}, 'w')\nsample_rate = 30000.\n",
               f"sample_rate = len(open({str(marker)!r}, 'w').name)\n",
               f"sample_rate = 30000.\nfor _ in range(1):\n    open({str(marker)!r}, 'w')\n"]
    for text in hostile:
        (tmp_path / "params.py").write_text(text)
        with pytest.raises(RecordingError, match="params.py"):
            read_sample_rate(tmp_path / "params.py")
        assert not marker.exists()
    (tmp_path / "params.py").write_text("dtype = np.int16  # an expression, not read\nsample_rate = 2.5e4\n")
    assert read_sample_rate(tmp_path / "params.py") == 25000.0


HOSTILE_PARAMS = {
    "missing": ("dt_path = 'x'\n", "no 'sample_rate"),
    "zero": ("sample_rate = 0\n", "'sample_rate' must be a positive number"),
    "negative": ("sample_rate = -30000.\n", "'sample_rate' must be a positive number"),
    "infinite": ("sample_rate = 1e999\n", "'sample_rate' must be a positive number"),
    "text": ("sample_rate = '30000'\n", "'sample_rate' must be a plain number"),
    "bool": ("sample_rate = True\n", "'sample_rate' must be a plain number"),
    "not python": ("sample_rate = = 3\n", "not a readable params.py (line 1"),
}


@pytest.mark.parametrize("case", HOSTILE_PARAMS)
def test_bad_params_are_refused_naming_the_file(tmp_path, small_folder, case):
    text, fragment = HOSTILE_PARAMS[case]
    (small_folder / "params.py").write_text(text)
    with pytest.raises(RecordingError) as caught:
        read_recording_file(small_folder, LoadOptions(dt=0.5))
    assert fragment in str(caught.value) and str(small_folder / "params.py") in str(caught.value)


def _replace(folder, name, array):
    np.save(folder / name, array)


HOSTILE_FOLDERS = {
    "no spike_times": (lambda f: (f / "spike_times.npy").unlink(), "spike_times.npy: no such file"),
    "no spike_clusters": (lambda f: (f / "spike_clusters.npy").unlink(), "spike_clusters.npy: no such file"),
    "no params": (lambda f: (f / "params.py").unlink(), "params.py: no such file"),
    "no labels": (lambda f: (f / "cluster_group.tsv").unlink(), "no cluster_group.tsv or cluster_info.tsv"),
    "lengths differ": (lambda f: _replace(f, "spike_clusters.npy", np.ones(7, np.int32)),
                       "spike_clusters.npy: 7 cluster ids but spike_times.npy has 8 spikes"),
    "float times": (lambda f: _replace(f, "spike_times.npy", np.linspace(0, 1, 8)),
                    "spike_times.npy: dtype float64, but spike times (sample indices) must be whole numbers"),
    "negative times": (lambda f: _replace(f, "spike_times.npy", np.array([-5, 0, 1, 2, 3, 4, 5, 6], np.int64)),
                       "spike_times.npy: spike 0 has a negative sample index (-5)"),
    "unsorted times": (lambda f: _replace(f, "spike_times.npy", np.array([0, 10, 20, 30, 5, 100, 250, 299],
                                                                         np.uint64)),
                       "spike_times.npy: not sorted (spike 4 comes before"),
    "negative cluster": (lambda f: _replace(f, "spike_clusters.npy", np.array([1, 2, 1, 1, -3, 2, 1, 2], np.int32)),
                         "spike_clusters.npy: spike 4 has a negative cluster id"),
    "object array": (lambda f: np.save(f / "spike_times.npy", np.array([0, 1, None], dtype=object),
                                       allow_pickle=True), "spike_times.npy: an object array"),
    "pickle": (lambda f: (f / "spike_times.npy").write_bytes(b"\x80\x04\x95" + b"\0" * 20),
               "spike_times.npy: a Python pickle"),
    "truncated": (lambda f: (f / "spike_times.npy").write_bytes((f / "spike_times.npy").read_bytes()[:-9]),
                  "spike_times.npy: its header claims shape (8, 1)"),
    "2-D times": (lambda f: _replace(f, "spike_times.npy", np.zeros((4, 2), np.uint64)),
                  "spike_times.npy: shape (4, 2), but spike times"),
    "empty": (lambda f: _replace(f, "spike_times.npy", np.zeros(0, np.uint64)), "spike_times.npy: holds no entries"),
    "no group column": (lambda f: (f / "cluster_group.tsv").write_text("cluster_id\tKSLabel\n1\tgood\n"),
                        "cluster_group.tsv: no 'group' column (columns: cluster_id, KSLabel)"),
    "no good units": (lambda f: (f / "cluster_group.tsv").write_text("cluster_id\tgroup\n1\tmua\n2\tnoise\n"),
                      "cluster_group.tsv: no cluster is labelled 'good' (labels: mua 1, noise 1)"),
    "bad cluster id": (lambda f: (f / "cluster_group.tsv").write_text("cluster_id\tgroup\nx1\tgood\n"),
                       "cluster_group.tsv: line 2: cluster id 'x1' is not a whole number"),
    "cluster twice": (lambda f: (f / "cluster_group.tsv").write_text("cluster_id\tgroup\n1\tgood\n1\tmua\n"),
                      "cluster_group.tsv: line 3 lists cluster 1 a second time"),
}


@pytest.mark.parametrize("case", HOSTILE_FOLDERS)
def test_hostile_folders_are_refused_naming_the_file(small_folder, case):
    spoil, fragment = HOSTILE_FOLDERS[case]
    spoil(small_folder)
    with pytest.raises(RecordingError) as caught:
        read_recording_file(small_folder, LoadOptions(dt=0.5))
    assert fragment in str(caught.value) and str(small_folder) in str(caught.value)


def test_bin_widths_and_stimulus_files_that_cannot_work_are_refused(tmp_path, small_folder):
    with pytest.raises(NamingError, match="give the bin width dt"):
        read_recording_file(small_folder)
    for dt in (0.0, -1.0, float("nan")):
        with pytest.raises(RecordingError, match="dt must be a positive number"):
            read_recording_file(small_folder, LoadOptions(dt=dt))
    with pytest.raises(MemoryLimitError, match="binning 8 spikes of 2 good units into 2990000001 bins"):
        read_recording_file(small_folder, LoadOptions(dt=1e-9))
    late = tmp_path / "late.npz"
    np.savez(late, stimulus=np.zeros(3), frame_times=np.array([100.0, 101.0, 102.0]))
    with pytest.raises(RecordingError, match=r"late.npz: its frames \(100 to 103 s\) miss every spike \(0 to 2.99 s"):
        read_recording_file(small_folder, LoadOptions(stimulus_path=str(late)))
    with pytest.raises(RecordingError, match="goes with a Kilosort/phy folder only"):
        read_recording_file(late, LoadOptions(stimulus_path=str(late)))
    with pytest.raises(RecordingError, match="takes no variable names"):
        read_recording_file(small_folder, LoadOptions(variables={"counts": "x"}, dt=0.5))


HOSTILE_STIMULI = {
    "missing": (None, "no such file (the stimulus file)"),
    "lengths differ": ({"stimulus": np.zeros(4), "frame_times": np.arange(5.0)}, "has 5 frame times but 'stimulus' has 4"),
    "not increasing": ({"stimulus": np.zeros(3), "frame_times": np.array([0.0, 2.0, 1.0])}, "increasing frame onset"),
    "nan stimulus": ({"stimulus": np.array([0.0, np.nan, 1.0]), "frame_times": np.arange(3.0)}, "contains NaN"),
    "object stimulus": ({"stimulus": np.array([0, None, 1], dtype=object), "frame_times": np.arange(3.0)},
                        "'stimulus' is an object array"),
    "no frame times": ({"stimulus": np.zeros(3)}, "no array 'frame_times'"),
}


@pytest.mark.parametrize("case", HOSTILE_STIMULI)
def test_hostile_stimulus_files_are_refused_naming_the_file(tmp_path, case):
    arrays, fragment = HOSTILE_STIMULI[case]
    path = tmp_path / "stim.npz"
    if arrays is not None:
        np.savez(path, allow_pickle=True, **arrays) if case == "object stimulus" else np.savez(path, **arrays)
    with pytest.raises(RecordingError) as caught:
        read_frame_stimulus(path)
    assert fragment in str(caught.value) and str(path) in str(caught.value)


@pytest.mark.parametrize("name", ["spike_times.npy", "spike_clusters.npy", "params.py", "cluster_group.tsv",
                                  "stim.npz"])
def test_fuzzed_bytes_in_any_file_only_raise_the_loaders_error(tmp_path_factory, name):
    folder = write_phy_folder(tmp_path_factory.mktemp("fuzz") / "ks", [0, 10, 20, 30, 35, 100, 250, 299],
                              [1, 2, 1, 1, 3, 2, 1, 2], {1: "good", 2: "good", 3: "mua"}, sample_rate=RATE)
    np.savez(folder / "stim.npz", stimulus=np.arange(5.0), frame_times=0.25 + 0.5 * np.arange(5))
    target = folder / name
    valid = target.read_bytes()
    options = LoadOptions(dt=0.5, stimulus_path=str(folder / "stim.npz"))

    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
    @given(st.one_of(
        st.binary(max_size=600),
        st.lists(st.tuples(st.integers(0, len(valid) - 1), st.integers(0, 255)), min_size=1, max_size=12).map(
            lambda edits: _mutate(valid, edits)),
        st.integers(0, len(valid)).map(lambda n: valid[:n]),
    ))
    def check(data):
        target.write_bytes(data)
        try:
            read_recording_file(folder, options)
        except RecordingError:
            pass

    check()


def _mutate(data: bytes, edits) -> bytes:
    mutated = bytearray(data)
    for position, value in edits:
        mutated[position] = value
    return bytes(mutated)
