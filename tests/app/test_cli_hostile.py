"""Hostile input on the command line, in real processes under a 2 GB address-space limit (so a memory bomb
fails the test, not the machine): exit 2, one line on stderr naming the file or flag, no traceback, no file."""
from __future__ import annotations

import io
import subprocess
import sys
import zipfile

from pathlib import Path

import numpy as np
import pytest
import scipy.io

from tests.cli_subprocess import assert_refused, run_vbgui
from vbgui.io.npz import save_npz
from vbgui.models.synthetic import make_synthetic_recording


@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    path = tmp_path_factory.mktemp("rec") / "r.npz"
    save_npz(make_synthetic_recording("poisson", n_bins=60_000, stimulus_lags=5, spike_history_lags=0, seed=3), path)
    return path


def npz_claiming(path, shape):
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False, "shape": shape})
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("counts.npy", header.getvalue() + b"\0" * (8 * 10 ** 6))
        buffer = io.BytesIO()
        np.save(buffer, np.array(0.01))
        archive.writestr("dt.npy", buffer.getvalue())
    return path


def test_an_npz_claiming_a_huge_array_is_refused_before_allocating(tmp_path):
    bomb = npz_claiming(tmp_path / "bomb.npz", (10 ** 6, 1000))
    out = tmp_path / "o.json"
    completed = run_vbgui("fit", "--preset", "poisson-glm", "--recording", bomb, "--out", out)
    assert_refused(completed, str(bomb), "'counts' claims shape (1000000, 1000)")
    assert not out.exists()


def test_an_npz_that_inflates_beyond_the_limit_is_refused_with_the_estimate(tmp_path):
    bomb = tmp_path / "inflates.npz"
    np.savez_compressed(bomb, counts=np.zeros(100_000_000, dtype=np.int8), dt=np.array(0.01))
    assert bomb.stat().st_size < 1_000_000
    completed = run_vbgui("fit", "--preset", "poisson-glm", "--recording", bomb, "--out", tmp_path / "o.json",
                            "--memory-limit", "256M")
    assert_refused(completed, "inflates.npz: reading its arrays would need 858.31 MiB, more than the memory limit "
                              "of 256.00 MiB")


def test_spike_times_with_a_huge_duration_are_refused(tmp_path):
    path = tmp_path / "times.mat"
    scipy.io.savemat(path, {"spike_times": np.array([0.1, 0.2]), "duration": 1e12, "dt": 0.001})
    completed = run_vbgui("fit", "--preset", "poisson-glm", "--recording", path, "--out", tmp_path / "o.json")
    assert_refused(completed, "times.mat: binning 1 spike train(s) into 1000000000000000 bins would need")


def test_ten_thousand_lags_on_sixty_thousand_bins_are_refused_with_the_estimate(tmp_path, recording):
    preset = tmp_path / "lags.toml"
    preset.write_text('likelihood = "poisson"\n[design]\nstimulus_lags = 10000\n')
    completed = run_vbgui("fit", "--preset", preset, "--recording", recording, "--out", tmp_path / "o.json")
    # the design is streamed; the refusal is for the 24 D x D matrices of a full-rank fit: 24 x 10001^2 x 8 bytes
    assert_refused(completed, "a full-rank fit of 50001 bins x 10001 parameters", "24 matrices of 10001 x 10001",
                   "would need 17.90 GiB", "--memory-limit")
    assert not (tmp_path / "o.json").exists()


def test_the_environment_variable_sets_the_limit(tmp_path, recording):
    preset = tmp_path / "lags.toml"
    preset.write_text('likelihood = "poisson"\n[design]\nstimulus_lags = 100\n')
    completed = run_vbgui("fit", "--preset", preset, "--recording", recording, "--out", tmp_path / "o.json",
                            env_extra={"VBGUI_MEMORY_LIMIT": "10M"})
    # the fit needs about 19 MiB (blocks of rows in flight, 24 matrices of 101 x 101, two numbers per bin)
    assert_refused(completed, "101 parameters", "would need 1", "MiB, more than the memory limit of 10.00 MiB")


@pytest.mark.parametrize("flags,fragment", [
    (["--seed", "-1"], "--seed must be an integer from 0"),
    (["--draws", "5"], "--draws must be an integer from 10"),
    (["--memory-limit", "lots"], "--memory-limit: expected a number of bytes"),
])
def test_compare_checks_its_flags_before_fitting_anything(tmp_path, recording, flags, fragment):
    completed = run_vbgui("compare", "--recording", recording, "--preset", "poisson-glm", "--preset",
                            "bernoulli-glm", "--out", tmp_path / "t.csv", *flags, timeout=30)
    assert_refused(completed, fragment)
    assert not (tmp_path / "t.csv").exists()


def test_quiet_means_nothing_but_the_error(tmp_path):
    bad = tmp_path / "bad.npz"
    np.savez(bad, counts=np.full(100, 1e300), dt=np.array(0.01), stimulus=np.ones(100))
    completed = run_vbgui("fit", "--preset", "poisson-glm", "--recording", bad, "--out", tmp_path / "o.json",
                            "--quiet")
    assert_refused(completed, "bad.npz: 'counts' holds a value of magnitude 1e+300")
    assert "fitting" not in completed.stderr


@pytest.mark.parametrize("flags,fragment", [
    (["--bins", "0"], "--bins must be 1 or more"),
    (["--lags", "-2"], "--lags must be an integer from 0"),
    (["--dt", "inf"], "--dt must be a positive number"),
    (["--bins", "100000000000"], "--bins: simulating 100000000000 bins would need"),
])
def test_simulate_checks_its_flags(tmp_path, flags, fragment):
    completed = run_vbgui("simulate", "--out", tmp_path / "s.npz", *flags, timeout=30)
    assert_refused(completed, fragment)
    assert not (tmp_path / "s.npz").exists()


def test_simulate_help_gives_every_flags_default():
    completed = subprocess.run([sys.executable, "-m", "vbgui", "simulate", "--help"], capture_output=True,
                               text=True, timeout=30)
    text = " ".join(completed.stdout.split())
    for flag, default in (("--likelihood", "poisson"), ("--bins", "20000"), ("--lags", "10"),
                          ("--history", "0"), ("--dt", "0.01"), ("--seed", "0")):
        after = text.split(f"{flag} ")[-1]
        assert f"(default: {default})" in after.split(" --")[0], flag


def test_version_and_window_flags_in_help():
    import vbgui

    version = subprocess.run([sys.executable, "-m", "vbgui", "--version"], capture_output=True, text=True, timeout=30)
    assert version.returncode == 0 and version.stdout.strip() == f"vbgui {vbgui.__version__}"
    help_text = subprocess.run([sys.executable, "-m", "vbgui", "--help"], capture_output=True, text=True, timeout=30)
    assert "--reset-layout" in help_text.stdout and "recordings" in help_text.stdout


def test_shipped_recordings_are_listed_and_addressed_by_name(tmp_path):
    listing = subprocess.run([sys.executable, "-m", "vbgui", "recordings"], capture_output=True, text=True, timeout=30)
    names = {line.split()[0]: line.split()[1] for line in listing.stdout.splitlines()}
    assert {"grasshopper-receptor-1", "grasshopper-receptor-2", "synthetic-poisson"} <= set(names)
    assert all(Path(path).is_file() for path in names.values())
    out = tmp_path / "r.json"
    fitted = run_vbgui("fit", "--preset", "poisson-glm", "--recording", "grasshopper-receptor-1", "--out", out,
                         "--quiet", "--max-iter", "3")
    assert fitted.returncode == 0, fitted.stderr
    missing = run_vbgui("fit", "--preset", "poisson-glm", "--recording", "grasshopper-receptor-9",
                          "--out", tmp_path / "missing.json")
    assert_refused(missing, "grasshopper-receptor-9: no such file, and not a shipped recording")


def test_numerical_warnings_never_reach_stderr():
    # in a real process: pytest would capture the warnings itself and hide what a user sees
    code = """
import sys, warnings
import numpy as np
from vbgui.cli import main, presets

def noisy(args):
    np.exp(np.array([1e4]))  # numpy's overflow RuntimeWarning
    warnings.warn("invalid value encountered", RuntimeWarning)
    return 0

presets.run = noisy
status = main(["presets"])
np.exp(np.array([1e4]))  # outside a command, warnings show as usual: the filter is the command's only
sys.exit(status)
"""
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert completed.returncode == 0
    assert completed.stderr.count("RuntimeWarning") == 1 and "overflow" in completed.stderr
