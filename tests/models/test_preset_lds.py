"""Latent-dynamics presets: latent_dim, the latent-path families and their hostile cases."""
from __future__ import annotations

from dataclasses import replace

import pytest

from vbgui.errors import PresetError
from vbgui.models.preset import load_preset, preset_from_dict, preset_from_toml, shipped_preset_names


def test_the_shipped_poisson_lds_preset_reads_and_round_trips(tmp_path):
    preset = load_preset("poisson-lds")
    assert preset.is_latent_dynamics and preset.latent_dim == 3
    assert (preset.likelihood, preset.fit.family, preset.fit.estimator) == ("poisson", "structured-markov", "exact")
    assert "design" not in preset.to_dict() and "prior" not in preset.to_dict()
    path = tmp_path / "mine.toml"
    path.write_text(preset.with_fit(family="mean-field").to_toml())
    assert load_preset(path) == preset.with_fit(family="mean-field")


def test_the_window_list_leaves_latent_presets_out_and_the_full_list_has_them():
    assert "poisson-lds" not in shipped_preset_names()
    assert "poisson-lds" in shipped_preset_names(include_latent=True)


def test_glm_presets_keep_their_dict_without_latent_dim():
    assert "latent_dim" not in load_preset("poisson-glm").to_dict()


def test_latent_fit_defaults_apply_when_the_preset_does_not_say():
    preset = preset_from_dict({"likelihood": "poisson", "latent_dim": 2})
    assert (preset.fit.family, preset.fit.max_iter, preset.fit.tolerance) == ("structured-markov", 500, 1e-8)


@pytest.mark.parametrize("text,problem", [
    ('likelihood = "poisson"\nlatent_dim = 0', "'latent_dim' must be an integer from 1 to 100"),
    ('likelihood = "poisson"\nlatent_dim = -3', "'latent_dim' must be an integer from 1 to 100"),
    ('likelihood = "poisson"\nlatent_dim = 101', "'latent_dim' must be an integer from 1 to 100"),
    ('likelihood = "poisson"\nlatent_dim = 2.5', "'latent_dim' must be an integer"),
    ('likelihood = "poisson"\nlatent_dim = true', "'latent_dim' must be an integer"),
    ('likelihood = "negative-binomial"\nlatent_dim = 2', "'likelihood' must be one of poisson, bernoulli, gaussian"),
    ('likelihood = "poisson"\nlatent_dim = 2\n[design]\nbias = true', "[design] applies only to GLM presets"),
    ('likelihood = "poisson"\nlatent_dim = 2\n[fit]\nfamily = "low-rank"', "'fit.family' must be one of "
                                                                          "structured-markov"),
    ('likelihood = "poisson"\nlatent_dim = 2\n[fit]\nestimator = "reparam"', "'fit.estimator' must be \"exact\""),
    ('likelihood = "poisson"\n[fit]\nfamily = "structured-markov"', "it needs 'latent_dim'"),
    ('likelihood = "poisson"\nlatent_dim = 2\n[dynamics]\nstimulus_input = 1', "'dynamics.stimulus_input' must be "
                                                                            "true or false"),
    ('likelihood = "poisson"\nlatent_dim = 2\n[dynamics]\ninput = true', "unknown key [dynamics] 'input'"),
    ('likelihood = "poisson"\nlatent_dim = 2\n[loading_prior]\nloading_sd = 0', "'loading_prior.loading_sd' must "
                                                                              "be a number from 1e-6 to 1e6"),
    ('likelihood = "poisson"\nlatent_dim = 2\n[loading_prior]\noffset_sd = nan', "'loading_prior.offset_sd' must "
                                                                              "be a number from 1e-6 to 1e6"),
    ('likelihood = "poisson"\nlatent_dim = 2\n[loading_prior]\nloading_sd = "1"', "'loading_prior.loading_sd'"),
    ('likelihood = "poisson"\n[dynamics]\nstimulus_input = true', "[dynamics] applies only to latent-dynamics"),
    ('likelihood = "poisson"\n[loading_prior]\nloading_sd = 1.0', "[loading_prior] applies only to latent-dynamics"),
])
def test_bad_latent_presets_are_refused_in_one_line_naming_the_key(text, problem):
    with pytest.raises(PresetError) as caught:
        preset_from_toml(text, source="bad.toml")
    message = str(caught.value)
    assert message.startswith("bad.toml: ") and problem in message and "\n" not in message


def test_stimulus_input_and_the_loading_prior_round_trip_and_absent_keys_stay_absent(tmp_path):
    text = ('likelihood = "poisson"\nlatent_dim = 2\n[dynamics]\nstimulus_input = true\n'
            '[loading_prior]\nloading_sd = 0.5\n')
    preset = preset_from_toml(text, source="mine.toml")
    assert preset.dynamics.stimulus_input and preset.loading_prior.loading_sd == 0.5
    assert preset.loading_prior.offset_sd is None
    assert preset.to_dict()["loading_prior"] == {"loading_sd": 0.5}
    assert preset_from_dict(preset.to_dict()) == preset
    path = tmp_path / "mine.toml"
    path.write_text(preset.to_toml())
    assert "offset_sd" not in path.read_text()
    assert load_preset(path) == replace(preset, name="mine")  # a file without a name takes its stem
    plain = load_preset("poisson-lds")
    assert not plain.dynamics.stimulus_input and plain.loading_prior.loading_sd is None
    assert "dynamics" not in load_preset("poisson-glm").to_dict()
