"""The negative-binomial likelihood end to end: simulate, fit, recover, compare with Poisson."""
from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest

from vbgui.app.fit import FitSession
from vbgui.models.preset import load_preset
from vbgui.models.synthetic import make_synthetic_recording


@pytest.fixture(scope="module")
def over_dispersed():
    return make_synthetic_recording("negative-binomial", n_bins=30_000, stimulus_lags=6, spike_history_lags=0,
                                    dt=0.005, mean_response=1.0, seed=2, dispersion=0.8)


def fit(preset_name: str, recording, **changes):
    preset = load_preset(preset_name)
    preset = replace(preset, design=replace(preset.design, stimulus_lags=6, spike_history_lags=0,
                                            standardize=False), **changes)
    return FitSession(preset, recording).run()


def test_counts_are_over_dispersed(over_dispersed):
    y = over_dispersed.response
    assert y.var() > 1.5 * y.mean()


def test_fit_recovers_the_filter_and_beats_poisson_on_over_dispersed_counts(over_dispersed):
    nb = fit("negative-binomial-glm", over_dispersed, dispersion=0.8)
    assert nb.converged and nb.iterations < 20
    truth = np.array([over_dispersed.truth[name] for name in nb.names])
    sd = np.sqrt(np.diag(nb.cov))
    assert np.all(np.abs(nb.mean - truth) < 4 * sd)
    poisson = fit("poisson-glm", over_dispersed)
    # Both ELBOs bound their model's evidence; the true model's is far higher.
    assert nb.elbo > poisson.elbo + 100
    # Poisson claims more certainty than the over-dispersed data support.
    assert np.all(np.sqrt(np.diag(poisson.cov)) < sd)


def test_simulate_and_fit_from_the_command_line(tmp_path):
    recording = tmp_path / "nb.npz"
    out = tmp_path / "nb.json"
    simulate = subprocess.run([sys.executable, "-m", "vbgui", "simulate", "--likelihood", "negative-binomial",
                               "--dispersion", "0.4", "--bins", "4000", "--lags", "5", "--out", str(recording)],
                              capture_output=True, text=True, timeout=120)
    assert simulate.returncode == 0, simulate.stderr
    fitted = subprocess.run([sys.executable, "-m", "vbgui", "fit", "--preset", "negative-binomial-glm",
                             "--recording", str(recording), "--out", str(out), "--quiet"],
                            capture_output=True, text=True, timeout=300)
    assert fitted.returncode == 0, fitted.stderr
    data = json.loads(out.read_text())
    assert data["preset"]["likelihood"] == "negative-binomial" and data["preset"]["dispersion"] == 0.5
    assert np.isfinite(data["elbo"]) and data["converged"]


@pytest.mark.parametrize("value", ["-1", "0", "nan", "1e9"])
def test_simulate_refuses_a_bad_dispersion_in_one_line(tmp_path, value):
    out = tmp_path / "nb.npz"
    completed = subprocess.run([sys.executable, "-m", "vbgui", "simulate", "--likelihood", "negative-binomial",
                                "--dispersion", value, "--bins", "100", "--out", str(out)],
                               capture_output=True, text=True, timeout=120)
    assert completed.returncode == 2
    assert completed.stderr.count("\n") == 1 and "--dispersion" in completed.stderr
    assert not out.exists()
