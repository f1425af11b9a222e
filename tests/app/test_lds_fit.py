"""The latent-dynamics fit service and its result contract, in process."""
from __future__ import annotations

import copy
from dataclasses import replace

import numpy as np
import pytest

from vbgui.app.fit import FitSession
from vbgui.app.lds_fit import LdsFitSession
from vbgui.app.lds_result import LdsFitResult
from vbgui.errors import FitError, RecordingError, ResultFileError
from vbgui.io.recording import Recording, RecordingFile
from vbgui.models.lds_synthetic import make_lds_population
from vbgui.models.preset import DynamicsSettings, LoadingPriorSettings, load_preset


@pytest.fixture(scope="module")
def fitted():
    recording, path, _ = make_lds_population(n_bins=600, n_units=12, latent_dim=2, seed=5)
    preset = load_preset("poisson-lds")
    preset = replace(preset, latent_dim=2).with_fit(max_iter=60)
    elbos = []
    result = LdsFitSession(preset, recording).run(lambda p: elbos.append(p.terms.elbo))
    return result, path, elbos


def test_the_result_carries_the_latent_path_and_the_learned_parameters(fitted):
    result, path, elbos = fitted
    assert result.latent_mean.shape == (600, 2) and result.latent_sd.shape == (600, 2)
    assert result.latent_cross_cov.shape == (599, 2, 2)
    assert result.parameters["C"].shape == (12, 2) and result.parameters["A"].shape == (2, 2)
    assert np.all(np.diff(elbos) >= 0) and result.elbo == elbos[-1]
    assert result.elbo == pytest.approx(result.expected_log_likelihood - result.kl)


def test_the_result_round_trips_through_its_dict(fitted):
    result = fitted[0]
    back = LdsFitResult.from_dict(result.to_dict(), "r.json")
    np.testing.assert_array_equal(back.latent_mean, result.latent_mean)
    np.testing.assert_array_equal(back.latent_cross_cov, result.latent_cross_cov)
    np.testing.assert_array_equal(back.parameters["Q"], result.parameters["Q"])
    assert back.to_dict() == result.to_dict()


@pytest.mark.parametrize("damage,field", [
    (lambda d: d["latents"]["sd"][3].__setitem__(0, -1.0), "latents.sd"),
    (lambda d: d["latents"].__setitem__("mean", d["latents"]["mean"][:-1]), "latents.mean"),
    (lambda d: d["latents"]["cross_cov"].pop(), "latents.cross_cov"),
    (lambda d: d["lds_parameters"].__setitem__("Q", [[1.0, 2.0], [2.0, 1.0]]), "lds_parameters.Q"),
    (lambda d: d["lds_parameters"]["C"].pop(), "lds_parameters.C"),
    (lambda d: d["lds_parameters"].pop("d"), "lds_parameters.d"),
    (lambda d: d["latents"]["mean"][0].__setitem__(1, "x"), "latents.mean"),
    (lambda d: d.__setitem__("family", "low-rank"), "family"),
    (lambda d: d.__setitem__("elbo", d["elbo"] + 5.0), "elbo"),
])
def test_a_damaged_result_is_refused_naming_the_field(fitted, damage, field):
    data = copy.deepcopy(fitted[0].to_dict())
    damage(data)
    with pytest.raises(ResultFileError) as caught:
        LdsFitResult.from_dict(data, "r.json")
    assert str(caught.value).startswith("r.json: ") and field in str(caught.value)


def recording_of(counts):
    counts = np.asarray(counts, dtype=float)
    return RecordingFile(counts, tuple(f"u{i}" for i in range(counts.shape[1])), 0.01, "rec.npz")


def test_latent_dim_above_the_number_of_units_is_refused():
    with pytest.raises(FitError, match="latent_dim = 3 is more than the 2 unit"):
        LdsFitSession(load_preset("poisson-lds"), recording_of(np.ones((50, 2))))


def test_a_trial_shorter_than_two_bins_is_refused():
    with pytest.raises(RecordingError, match="needs at least 2 bins"):
        LdsFitSession(load_preset("poisson-lds"), recording_of(np.ones((1, 4))))


def test_counts_the_likelihood_refuses_are_named_by_unit():
    counts = np.ones((50, 4))
    counts[7, 2] = 0.5
    with pytest.raises(RecordingError, match="unit 'u2' contains non-integer counts"):
        LdsFitSession(load_preset("poisson-lds"), recording_of(counts))


def test_the_glm_session_refuses_a_latent_dynamics_preset():
    recording = Recording(np.ones(50), 0.01, "rec.npz")
    with pytest.raises(FitError, match="latent-dynamics preset"):
        FitSession(load_preset("poisson-lds"), recording)


def test_full_rank_over_a_long_path_is_refused_before_allocating():
    preset = load_preset("poisson-lds").with_fit(family="full-rank")
    with pytest.raises(FitError, match="more than 2000 values"):
        LdsFitSession(preset, recording_of(np.ones((1000, 4))))


def test_mean_field_runs_through_the_same_session_with_zero_cross_covariance():
    recording, _, _ = make_lds_population(n_bins=200, n_units=6, latent_dim=2, seed=8)
    preset = replace(load_preset("poisson-lds"), latent_dim=2).with_fit(family="mean-field", max_iter=10)
    result = LdsFitSession(preset, recording).run()
    assert result.family == "mean-field" and not np.any(result.latent_cross_cov)
    assert LdsFitResult.from_dict(result.to_dict(), "r.json").family == "mean-field"


@pytest.fixture(scope="module")
def driven_multi_trial():
    """Three trials (100, 60, 80 bins) of the population, a two-column stimulus, a prior on C and d."""
    recording, _, _ = make_lds_population(n_bins=240, n_units=8, latent_dim=2, seed=7)
    stimulus = np.random.default_rng(8).standard_normal((240, 2))
    recording = replace(recording, stimulus=stimulus, trial_starts=np.array([0, 100, 160]))
    preset = replace(load_preset("poisson-lds"), latent_dim=2,
                     dynamics=DynamicsSettings(stimulus_input=True),
                     loading_prior=LoadingPriorSettings(loading_sd=0.7)).with_fit(max_iter=15)
    return LdsFitSession(preset, recording).run()


def test_a_driven_multi_trial_fit_with_a_prior_round_trips_with_b_trials_and_log_p(driven_multi_trial):
    result = driven_multi_trial
    assert result.trial_starts == (0, 100, 160) and result.parameters["B"].shape == (2, 2)
    assert np.all(result.latent_cross_cov[[99, 159]] == 0.0)
    assert result.loading_prior.log_density == result.loading_prior.trace[-1]
    assert result.objective == pytest.approx(result.elbo + result.loading_prior.log_density)
    back = LdsFitResult.from_dict(result.to_dict(), "r.json")
    assert back.to_dict() == result.to_dict()
    np.testing.assert_array_equal(back.parameters["B"], result.parameters["B"])


@pytest.mark.parametrize("damage,field", [
    (lambda d: d["lds_parameters"].pop("B"), "lds_parameters.B"),
    (lambda d: d["lds_parameters"].__setitem__("B", [[1.0], [2.0], [3.0]]), "lds_parameters.B"),
    (lambda d: d["latents"].__setitem__("trial_start", [0, 160, 100]), "latents.trial_start"),
    (lambda d: d["latents"].__setitem__("trial_start", [1, 100]), "latents.trial_start"),
    (lambda d: d["latents"].__setitem__("trial_start", [0, 1.5]), "latents.trial_start"),
    (lambda d: d["loading_prior"].__setitem__("log_density", d["loading_prior"]["log_density"] + 1.0),
     "loading_prior.log_density"),
    (lambda d: d["loading_prior"]["trace"].pop(), "loading_prior.trace"),
    (lambda d: d.pop("loading_prior"), "loading_prior"),
])
def test_a_damaged_driven_result_is_refused_naming_the_field(driven_multi_trial, damage, field):
    data = copy.deepcopy(driven_multi_trial.to_dict())
    damage(data)
    with pytest.raises(ResultFileError) as caught:
        LdsFitResult.from_dict(data, "r.json")
    assert str(caught.value).startswith("r.json: ") and field in str(caught.value)


def test_a_result_without_a_prior_or_an_input_refuses_their_fields(fitted):
    data = copy.deepcopy(fitted[0].to_dict())
    data["lds_parameters"]["B"] = [[0.0], [0.0]]
    with pytest.raises(ResultFileError, match="lds_parameters.B' is not part of a vbgui result"):
        LdsFitResult.from_dict(data, "r.json")
    data = copy.deepcopy(fitted[0].to_dict())
    data["loading_prior"] = {"log_density": 0.0, "trace": []}
    with pytest.raises(ResultFileError, match="loading_prior"):
        LdsFitResult.from_dict(data, "r.json")
    data = copy.deepcopy(fitted[0].to_dict())
    del data["latents"]["trial_start"]  # files written before trials existed read as one trial
    assert LdsFitResult.from_dict(data, "r.json").trial_starts == (0,)
