"""Kilosort/phy folders on the command line, in real processes under an address-space limit: fit, batch and
recordings read them; every hostile folder gives exit 2 and one line naming the file, and nothing is written."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.cli_subprocess import assert_refused, run_vbgui
from tests.io.phy_folder import random_session, write_phy_folder
from vbgui.io.npz import save_units_npz
from vbgui.io.spike_writers import save_phy_folder
from vbgui.models.synthetic import make_synthetic_population

PRESET = "poisson-glm"


@pytest.fixture(scope="module")
def population(tmp_path_factory):
    """A synthetic population as a phy folder (with stimulus.npz) and as the .npz it came from."""
    folder = tmp_path_factory.mktemp("pop")
    recording = make_synthetic_population("poisson", 3, n_bins=20_000, stimulus_lags=10, dt=0.01, seed=4)
    save_units_npz(recording, folder / "population.npz")
    save_phy_folder(recording, folder / "session", seed=4)
    return folder


def test_a_fit_of_a_phy_unit_with_its_stimulus_matches_the_fit_of_the_counts_it_came_from(tmp_path, population):
    session, npz = population / "session", population / "population.npz"
    from_phy, from_npz = tmp_path / "phy.json", tmp_path / "npz.json"
    completed = run_vbgui("fit", "--preset", PRESET, "--recording", session, "--stimulus", session / "stimulus.npz",
                          "--unit", "cluster2", "--out", from_phy)
    assert completed.returncode == 0, completed.stderr
    assert "note: 3 clusters labelled good in cluster_group.tsv" in completed.stderr
    assert run_vbgui("fit", "--preset", PRESET, "--recording", npz, "--unit", "unit2", "--out", from_npz,
                     "--quiet").returncode == 0
    phy_result, npz_result = json.loads(from_phy.read_text()), json.loads(from_npz.read_text())
    assert phy_result["unit"] == "cluster2"
    assert phy_result["units"]["lag_s"] == pytest.approx(0.01, rel=1e-12)
    # the same counts exactly; the stimulus through its frame times within 1e-11
    assert phy_result["elbo"] == pytest.approx(npz_result["elbo"], rel=1e-9)
    np.testing.assert_allclose(phy_result["parameters"]["mean"], npz_result["parameters"]["mean"], atol=1e-7)


def test_batch_fits_every_good_cluster_and_recordings_shows_them(tmp_path, population):
    session = population / "session"
    out = tmp_path / "fits"
    completed = run_vbgui("batch", "--preset", PRESET, "--recording", session, "--stimulus", session / "stimulus.npz",
                          "--out", out, "--quiet", "--workers", "2")
    assert completed.returncode == 0, completed.stderr
    assert sorted(p.name for p in out.iterdir()) == ["cluster0.json", "cluster1.json", "cluster2.json", "summary.csv"]
    shown = run_vbgui("recordings", session, "--dt", "0.02")
    assert shown.returncode == 0, shown.stderr
    counts = np.load(population / "population.npz")["counts"]
    n_bins = np.flatnonzero(counts.sum(axis=1))[-1] // 2 + 1  # without a stimulus the bins end at the last spike
    assert f"{session}: 3 unit(s), {n_bins} bins of 0.02 s ({n_bins * 0.02:g} s), counts, stimulus none" in shown.stdout
    totals = counts.sum(axis=0)
    for index, total in enumerate(totals):
        assert f"cluster{index}             total {total:g}," in shown.stdout


@pytest.fixture
def folder(tmp_path):
    return write_phy_folder(tmp_path / "ks", [0, 10, 20, 30, 35, 100, 250, 299], [1, 2, 1, 1, 3, 2, 1, 2],
                            {1: "good", 2: "good", 3: "mua"}, sample_rate=100.0)


def _save(name, array, **kwargs):
    return lambda f: np.save(f / name, array, **kwargs)


def _write(name, text):
    return lambda f: (f / name).write_text(text)


HOSTILE = {
    "missing spike_times": (lambda f: (f / "spike_times.npy").unlink(), "spike_times.npy", "no such file"),
    "missing spike_clusters": (lambda f: (f / "spike_clusters.npy").unlink(), "spike_clusters.npy", "no such file"),
    "missing params": (lambda f: (f / "params.py").unlink(), "params.py", "no such file"),
    "missing labels": (lambda f: (f / "cluster_group.tsv").unlink(), "ks", "no cluster_group.tsv or cluster_info.tsv"),
    "lengths differ": (_save("spike_clusters.npy", np.ones(5, np.int32)), "spike_clusters.npy",
                       "5 cluster ids but spike_times.npy has 8 spikes"),
    "non-integer times": (_save("spike_times.npy", np.linspace(0.5, 3.5, 8)), "spike_times.npy",
                          "dtype float64, but spike times (sample indices) must be whole numbers"),
    "negative times": (_save("spike_times.npy", np.arange(-1, 7, dtype=np.int64)), "spike_times.npy",
                       "spike 0 has a negative sample index (-1)"),
    "unsorted times": (_save("spike_times.npy", np.array([5, 1, 2, 3, 4, 6, 7, 8], np.uint64)), "spike_times.npy",
                       "not sorted (spike 1"),
    "object array": (_save("spike_clusters.npy", np.array([1, 2, None], dtype=object), allow_pickle=True),
                     "spike_clusters.npy", "an object array; object arrays are refused"),
    "missing sample rate": (_write("params.py", "dtype = 'int16'\n"), "params.py", "no 'sample_rate"),
    "zero sample rate": (_write("params.py", "sample_rate = 0.\n"), "params.py",
                         "'sample_rate' must be a positive number of samples per second, got 0.0"),
    "negative sample rate": (_write("params.py", "sample_rate = -3e4\n"), "params.py",
                             "'sample_rate' must be a positive number"),
    "no group column": (_write("cluster_group.tsv", "cluster_id\tKSLabel\n1\tgood\n"), "cluster_group.tsv",
                        "no 'group' column"),
    "no good units": (_write("cluster_group.tsv", "cluster_id\tgroup\n1\tmua\n2\tnoise\n3\t\n"), "cluster_group.tsv",
                      "no cluster is labelled 'good' (labels: mua 1, noise 1, unlabelled 1)"),
}


@pytest.mark.parametrize("case", HOSTILE)
def test_hostile_folders_give_one_line_naming_the_file(folder, case):
    """Through `vbgui recordings` (a second a process; fit and batch read with the same loader, below)."""
    spoil, file_name, problem = HOSTILE[case]
    spoil(folder)
    assert_refused(run_vbgui("recordings", folder, "--dt", "0.5"), file_name, problem)


@pytest.mark.parametrize("command", ["fit", "batch"])
def test_fit_and_batch_refuse_a_hostile_folder_and_write_nothing(tmp_path, folder, command):
    HOSTILE["lengths differ"][0](folder)
    out = tmp_path / "out"
    completed = run_vbgui(command, "--preset", PRESET, "--recording", folder, "--dt", "0.5", "--out", out)
    assert_refused(completed, "spike_clusters.npy: 5 cluster ids but spike_times.npy has 8 spikes")
    assert not out.exists()


def test_params_py_with_code_never_runs(tmp_path, folder):
    marker = tmp_path / "ran"
    (folder / "params.py").write_text(f"import os\nos.system('touch {marker}')\nsample_rate = 100.\n")
    out = tmp_path / "fits"
    completed = run_vbgui("batch", "--preset", PRESET, "--recording", folder, "--dt", "0.5", "--out", out)
    assert_refused(completed, "params.py: line 1 is not an assignment NAME = value")
    assert not marker.exists() and not out.exists()


@pytest.mark.parametrize("dt", ["0", "-0.01", "nan"])
def test_a_bin_width_that_is_not_positive_is_refused_by_the_flag(tmp_path, folder, dt):
    out = tmp_path / "o.json"
    assert_refused(run_vbgui("fit", "--preset", PRESET, "--recording", folder, "--dt", dt, "--out", out),
                   "--dt must be a positive number of seconds per bin")
    assert not out.exists()


def test_a_bin_width_making_a_huge_array_is_refused_before_allocating(tmp_path, folder):
    """1e-10 s bins over 3 s: 3e10 bins x 2 units of counts (223 GiB), refused from the estimate in a process
    that may not map more than 2 GB."""
    out = tmp_path / "fits"
    completed = run_vbgui("batch", "--preset", PRESET, "--recording", folder, "--dt", "1e-10", "--out", out,
                          "--memory-limit", "512M")
    assert_refused(completed, f"{folder}: binning 8 spikes of 2 good units into 29900000001 bins of 1e-10 s would "
                              "need 222.", "GiB, more than the memory limit of 512.00 MiB")
    assert not out.exists()


def test_frames_that_miss_the_spikes_are_refused(tmp_path, folder):
    stimulus = tmp_path / "stim.npz"
    np.savez(stimulus, stimulus=np.zeros(10), frame_times=1000.0 + np.arange(10) * 0.5)
    out = tmp_path / "o.json"
    completed = run_vbgui("fit", "--preset", PRESET, "--recording", folder, "--stimulus", stimulus, "--out", out)
    assert_refused(completed, "stim.npz: its frames (1000 to 1005 s) miss every spike (0 to 2.99 s in "
                              "spike_times.npy)")
    assert not out.exists()


def test_a_stimulus_file_with_a_recording_that_holds_its_own_is_refused(tmp_path, population):
    stimulus = population / "session" / "stimulus.npz"
    completed = run_vbgui("fit", "--preset", PRESET, "--recording", population / "population.npz", "--stimulus",
                          stimulus, "--out", tmp_path / "o.json")
    assert_refused(completed, "stimulus.npz: a separate stimulus file goes with a Kilosort/phy folder only")


@pytest.mark.slow
def test_four_million_spikes_are_binned_under_a_small_memory_limit(tmp_path):
    """48 MB of spike arrays, memory-mapped and binned in chunks, under --memory-limit 64M and a 2 GB
    address-space cap on the process: exact totals per unit."""
    samples, clusters = random_session(4_000_000, 5, 30000 * 3600, seed=5)
    session = write_phy_folder(tmp_path / "ks", samples, clusters, {0: "good", 1: "mua", 2: "good", 3: "good"})
    expected = [int(np.count_nonzero(clusters == c)) for c in (0, 2, 3)]
    del samples, clusters
    completed = run_vbgui("recordings", session, "--dt", "1", "--memory-limit", "64M")
    assert completed.returncode == 0, completed.stderr
    assert f"{session}: 3 unit(s), 3600 bins of 1 s" in completed.stdout
    for name, total in zip(("cluster0", "cluster2", "cluster3"), expected):
        assert f"{name:20s} total {total:g}," in completed.stdout


@pytest.mark.slow
def test_a_dask_cluster_reads_the_folder_and_its_stimulus_given_relative_to_the_command(tmp_path, population):
    """The workers run in this test's process (another working folder): they get absolute paths."""
    distributed = pytest.importorskip("distributed")
    env = {key: value for key, value in os.environ.items() if key != "VBGUI_MEMORY_LIMIT"}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[2])
    command = [sys.executable, "-m", "vbgui", "batch", "--preset", PRESET, "--recording", "session", "--stimulus",
               "session/stimulus.npz", "--quiet"]
    threads = subprocess.run([*command, "--out", str(tmp_path / "threads")], cwd=population, env=env,
                             capture_output=True, text=True, timeout=300)
    assert threads.returncode == 0, threads.stderr
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False, protocol="tcp",
                                  dashboard_address=None) as cluster:
        on_dask = subprocess.run([*command, "--out", str(tmp_path / "dask"), "--scheduler", cluster.scheduler_address],
                                 cwd=population, env=env, capture_output=True, text=True, timeout=300)
    assert on_dask.returncode == 0, on_dask.stderr
    for name in ("cluster0", "cluster1", "cluster2"):
        first, second = (json.loads((tmp_path / where / f"{name}.json").read_text()) for where in ("threads", "dask"))
        assert first["elbo"] == second["elbo"] and first["recording_checksum"] == second["recording_checksum"]
