"""`vbgui fit --preset` of a latent-dynamics preset on a file of several trials, driven by its stimulus and with a
prior on C and d, in subprocesses; the exports carry B and the trials; the hostile cases end in one line."""
from __future__ import annotations

import json

import numpy as np
import pytest

from tests.cli_subprocess import assert_refused, run_vbgui
from vbgui.core.lds.sample import sample_observations, sample_path
from vbgui.core.likelihoods import Likelihood
from vbgui.io.lds_exports import read_lds_export
from vbgui.models.lds_synthetic import lds_population_params

LENGTHS = (150, 220, 90)
DRIVEN_PRESET = """likelihood = "poisson"
latent_dim = 2

[dynamics]
stimulus_input = true

[loading_prior]
loading_sd = 1.0
offset_sd = 5.0
"""


def driven_trials(seed: int = 3):
    """(counts (T, N), stimulus (T, 2), trial_start, true C B) of three trials of a Poisson LDS driven by u_t."""
    params = lds_population_params(15, 2, seed, mean_count=0.5)
    rng = np.random.default_rng(seed)
    params = params.with_changes(B=0.15 * rng.standard_normal((2, 2)))
    counts, stimulus = [], []
    for length in LENGTHS:
        inputs = rng.standard_normal((length, 2))
        path = sample_path(params, length, rng, inputs)
        counts.append(sample_observations(params, path, Likelihood("poisson"), rng))
        stimulus.append(inputs)
    starts = np.cumsum((0,) + LENGTHS[:-1])
    return np.concatenate(counts).astype(np.int64), np.concatenate(stimulus), starts, params.C @ params.B


@pytest.fixture(scope="module")
def driven_fit(tmp_path_factory):
    folder = tmp_path_factory.mktemp("trials")
    counts, stimulus, starts, effect = driven_trials()
    recording = folder / "trials.npz"
    np.savez(recording, counts=counts, stimulus=stimulus, dt=np.array(0.01), trial_start=starts)
    preset = folder / "driven.toml"
    preset.write_text(DRIVEN_PRESET)
    out = folder / "fit.json"
    completed = run_vbgui("fit", "--preset", preset, "--recording", recording, "--out", out, timeout=600)
    assert completed.returncode == 0, completed.stderr
    assert "in 3 trials" in completed.stderr and "driven by 2 stimulus column(s)" in completed.stderr
    assert ", log p(C, d) " in completed.stderr and ", objective " in completed.stderr
    return folder, out, json.loads(out.read_text()), effect


def test_each_trial_has_its_own_path_and_the_stimulus_effect_is_learned(driven_fit):
    """460 bins in 3 trials, 15 units, K = 2, M = 2.  Measured: C B 11 % from the truth (relative Frobenius; EM
    stops at max_iter = 500)."""
    _, _, data, effect = driven_fit
    assert data["latents"]["trial_start"] == [0, 150, 370]
    mean, cross = np.array(data["latents"]["mean"]), np.array(data["latents"]["cross_cov"])
    assert mean.shape == (460, 2) and cross.shape == (459, 2, 2)
    assert np.all(cross[[149, 369]] == 0.0)  # trials are independent under q
    assert np.all(np.abs(cross[[148, 150, 368, 370]]) > 0.0)
    learned_b = np.array(data["lds_parameters"]["B"])
    assert learned_b.shape == (2, 2)
    learned_effect = np.array(data["lds_parameters"]["C"]) @ learned_b
    assert np.linalg.norm(learned_effect - effect) <= 0.25 * np.linalg.norm(effect)


def test_the_reported_objective_includes_the_loading_prior_and_never_decreases(driven_fit):
    _, _, data, _ = driven_fit
    prior = data["loading_prior"]
    assert len(prior["trace"]) == data["iterations"] and prior["log_density"] == prior["trace"][-1]
    objective = np.array(data["trace"]["elbo"]) + np.array(prior["trace"])
    assert np.all(np.diff(objective) >= 0.0) and objective[-1] > objective[0]
    loading, offset = np.array(data["lds_parameters"]["C"]), np.array(data["lds_parameters"]["d"])
    expected = (-0.5 * np.sum(loading ** 2) - 0.5 * loading.size * np.log(2 * np.pi)
                - 0.5 * np.sum(offset ** 2) / 25.0 - 0.5 * offset.size * np.log(2 * np.pi * 25.0))
    assert prior["log_density"] == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("suffix", [".csv", ".npz", ".mat"])
def test_every_export_carries_b_and_the_trials(driven_fit, suffix):
    folder, out, data, _ = driven_fit
    target = folder / f"export{suffix}"
    completed = run_vbgui("export", out, "--to", target)
    assert completed.returncode == 0, completed.stderr
    back = read_lds_export(target)
    np.testing.assert_allclose(back["B"], data["lds_parameters"]["B"], rtol=1e-15)
    np.testing.assert_array_equal(np.ravel(back["trial_start"]), [0, 150, 370])
    np.testing.assert_allclose(back["latent_mean"], data["latents"]["mean"], rtol=1e-15)
    if suffix == ".csv":
        rows = target.read_text().splitlines()
        assert rows[0] == "bin,trial,x1_mean,x2_mean,x1_sd,x2_sd"
        assert rows[150].startswith("149,0,") and rows[151].startswith("150,1,") and rows[-1].startswith("459,2,")


def test_a_damaged_trial_table_in_a_result_is_refused(driven_fit, tmp_path):
    _, _, data, _ = driven_fit
    data = json.loads(json.dumps(data))
    data["latents"]["trial_start"] = [0, 459]
    damaged = tmp_path / "damaged.json"
    damaged.write_text(json.dumps(data))
    completed = run_vbgui("export", damaged, "--to", tmp_path / "x.npz")
    assert_refused(completed, "latents.trial_start", "at least 2 bins per trial")
    assert list(tmp_path.iterdir()) == [damaged]


@pytest.mark.parametrize("case,fragments", [
    ("trial of one bin", ("trial 1 (from bin 39) has 1 bin", "needs at least 2 bins per trial")),
    ("nan counts", ("'counts' of unit 'unit 1' contains NaN or Inf",)),
    ("start out of range", ("'trial_start' holds 40, out of range",)),
    ("overlapping trials", ("trials must not overlap",)),
    ("first start not zero", ("'trial_start' must begin with 0",)),
    ("stimulus missing", ("no 'stimulus' array", "stimulus_input = true")),
    ("stimulus of wrong length", ("'stimulus' has 30 bins but 'counts' has 40",)),
    ("stimulus not finite", ("'stimulus' contains NaN or Inf (first at bin 7)",)),
])
def test_bad_trials_and_stimuli_are_refused_in_one_line_naming_the_file(tmp_path, case, fragments):
    counts = np.ones((40, 3))
    arrays = {"dt": np.array(0.01), "stimulus": np.zeros((40, 1)), "trial_start": np.array([0, 20])}
    if case == "trial of one bin":
        arrays["trial_start"] = np.array([0, 39])
    elif case == "nan counts":
        counts[5, 1] = np.nan
    elif case == "start out of range":
        arrays["trial_start"] = np.array([0, 40])
    elif case == "overlapping trials":
        arrays["trial_start"] = np.array([0, 20, 10])
    elif case == "first start not zero":
        arrays["trial_start"] = np.array([5, 20])
    elif case == "stimulus missing":
        del arrays["stimulus"]
    elif case == "stimulus of wrong length":
        arrays["stimulus"] = np.zeros((30, 1))
    else:
        arrays["stimulus"][7, 0] = np.inf
    recording = tmp_path / "bad.npz"
    np.savez(recording, counts=counts, **arrays)
    preset = tmp_path / "driven.toml"
    preset.write_text(DRIVEN_PRESET)
    out = tmp_path / "out.json"
    completed = run_vbgui("fit", "--preset", preset, "--recording", recording, "--out", out)
    assert_refused(completed, str(recording), *fragments)
    assert not out.exists()
