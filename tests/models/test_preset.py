"""Preset TOML: the issue's example, shipped presets, and every kind of bad value."""
from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vbgui.errors import PresetError
from vbgui.models.preset import load_preset, preset_from_dict, preset_from_toml, shipped_preset_names

ISSUE_EXAMPLE = '''
likelihood = "gaussian"      # poisson | bernoulli | gaussian
noise_sd = 0.7               # gaussian only
[design]
stimulus_lags = 10           # taps of stimulus history, per stimulus column
spike_history_lags = 0       # taps of the unit's own past counts
bias = true
standardize = false          # z-score stimulus columns before building lags
[prior]
scale = 1.5                  # sd of the isotropic Gaussian prior on all weights
[fit]
family = "full-rank"         # mean-field | full-rank | structured
estimator = "exact"          # exact | reparam
max_iter = 5000
seed = 1
'''


def test_the_issue_example_loads_as_written():
    preset = preset_from_toml(ISSUE_EXAMPLE)
    assert preset.likelihood == "gaussian" and preset.noise_sd == 0.7
    assert preset.design.stimulus_lags == 10 and preset.design.bias and not preset.design.standardize
    assert preset.prior.scale == 1.5
    assert (preset.fit.family, preset.fit.estimator, preset.fit.max_iter, preset.fit.seed) == \
        ("full-rank", "exact", 5000, 1)


def test_shipped_presets_load_by_name():
    assert {"poisson-glm", "bernoulli-glm", "linear-gaussian"} <= set(shipped_preset_names())
    for name in shipped_preset_names():
        assert load_preset(name).name == name


def test_a_preset_round_trips_through_toml(tmp_path):
    preset = load_preset("poisson-glm").with_fit(family="structured", seed=9)
    path = tmp_path / "mine.toml"
    path.write_text(preset.to_toml())
    assert load_preset(path) == preset


@pytest.mark.parametrize("description", ["two\nlines", 'quote " back\\slash', "tab\t bell\a del\x7f", "π ∑ 🧠"])
def test_any_description_is_written_as_valid_toml_and_reads_back(tmp_path, description):
    preset = replace(load_preset("poisson-glm"), description=description)
    path = tmp_path / "mine.toml"
    path.write_text(preset.to_toml(), encoding="utf-8")
    assert load_preset(path).description == description


@pytest.mark.parametrize("text,fragment", [
    ('likelihood = "poisson"\nlikelyhood = 1', "unknown key 'likelyhood' (did you mean 'likelihood'?)"),
    ('likelihood = "poisson"\n[design]\nstimulus_lag = 3', "unknown key [design] 'stimulus_lag'"),
    ('likelihood = "poisson"\n[fit]\nmax_iter = "many"', "'fit.max_iter' must be an integer"),
    ('likelihood = "poisson"\n[fit]\nmax_iter = 0', "'fit.max_iter' must be an integer from 1"),
    ('likelihood = "poisson"\n[fit]\nmax_iter = true', "'fit.max_iter' must be an integer"),
    ('likelihood = "poisson"\n[design]\nbias = 1', "'design.bias' must be true or false"),
    ('likelihood = "poisson"\n[prior]\nscale = -1.0', "'prior.scale' must be a number from 1e-6 to 1e6"),
    ('likelihood = "poisson"\n[prior]\nscale = nan', "'prior.scale'"),
    ('likelihood = "poisson"\n[fit]\nfamily = "diagonal"', "'fit.family' must be one of mean-field"),
    ('likelihood = "poisson"\n[fit]\nestimator = "svi"', "'fit.estimator' must be one of exact, reparam"),
    ('likelihood = "gamma"', "'likelihood' must be one of poisson, bernoulli, gaussian"),
    ('likelihood = "poisson"\nnoise_sd = 0.5', "'noise_sd' applies only to likelihood"),
    ('likelihood = "gaussian"\nnoise_sd = 0', "'noise_sd' must be a number from 1e-6 to 1e6"),
    ('[design]\nbias = true', "missing key 'likelihood'"),
    ('likelihood = "poisson"\ndesign = 3', "'design' must be a table"),
    ('likelihood = "poisson"\n[design', "not valid TOML"),
    ('likelihood = "poisson"\n[prior]\nscale = 1e-300', "'prior.scale' must be a number from 1e-6 to 1e6, got 1e-300"),
    ('likelihood = "gaussian"\nnoise_sd = 1e-300', "'noise_sd' must be a number from 1e-6 to 1e6, got 1e-300"),
    ('likelihood = "gaussian"\nnoise_sd = 1e300', "'noise_sd' must be a number from 1e-6 to 1e6"),
    ('likelihood = "poisson"\nname = "two\\nlines"', "'name' must be one line of at most 200 characters"),
    ('likelihood = "poisson"\nx = ' + "[" * 5000 + "]" * 5000, "nested too deeply"),
])
def test_bad_presets_are_rejected_naming_the_key(text, fragment):
    with pytest.raises(PresetError) as info:
        preset_from_toml(text, source="my.toml")
    assert fragment in str(info.value)
    assert str(info.value).startswith("my.toml: ")


def test_an_unknown_preset_name_lists_the_shipped_ones():
    with pytest.raises(PresetError, match="not a shipped preset.*poisson-glm"):
        load_preset("poison-glm")


toml_scalars = st.one_of(st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=30))
toml_values = st.recursive(toml_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=4)), max_leaves=12)
preset_like = st.dictionaries(
    st.sampled_from(["likelihood", "noise_sd", "name", "description", "design", "prior", "fit", "other"]),
    st.one_of(toml_values, st.dictionaries(st.sampled_from(
        ["stimulus_lags", "spike_history_lags", "bias", "standardize", "scale", "family", "estimator",
         "max_iter", "seed", "samples", "learning_rate", "tolerance", "x"]), toml_values, max_size=5)),
    max_size=6)


@settings(max_examples=150, deadline=None)
@given(preset_like)
def test_any_parsed_preset_is_accepted_or_refused_by_name(data):
    try:
        preset = preset_from_dict(data, source="fuzz.toml")
    except PresetError as error:
        assert str(error).startswith("fuzz.toml: ") and "\n" not in str(error).replace("\\n", "")
    else:
        assert 1e-6 <= preset.prior.scale <= 1e6 and 1e-6 <= preset.noise_sd <= 1e6
        assert preset_from_toml(preset.to_toml(), source="again") == preset


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=200))
def test_any_text_is_a_preset_or_a_preset_error(text):
    try:
        preset_from_toml(text, source="fuzz.toml")
    except PresetError as error:
        assert str(error).startswith("fuzz.toml: ")
