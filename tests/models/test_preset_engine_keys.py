"""Preset keys of the newer engine parts: the negative binomial's dispersion and the low-rank family's rank."""
from __future__ import annotations

import pytest

from vbgui.errors import PresetError
from vbgui.models.preset import load_preset, preset_from_toml

BASE = 'likelihood = "negative-binomial"\n'


def test_shipped_preset_and_round_trip():
    preset = load_preset("negative-binomial-glm")
    assert preset.likelihood == "negative-binomial" and preset.dispersion == 0.5
    again = preset_from_toml(preset.to_toml())
    assert again == preset
    assert "dispersion" in preset.to_dict() and "noise_sd" not in preset.to_dict()
    assert "dispersion" not in load_preset("poisson-glm").to_dict()


@pytest.mark.parametrize("value", ["0", "-1", "0.0", "nan", "inf", "1e300", "1e-300", '"0.5"', "true", "[0.5]", "{}"])
def test_bad_dispersion_is_refused_naming_the_key(value):
    with pytest.raises(PresetError, match="'dispersion'"):
        preset_from_toml(BASE + f"dispersion = {value}\n", source="nb.toml")


@pytest.mark.parametrize("likelihood", ["poisson", "bernoulli", "gaussian"])
def test_dispersion_belongs_to_the_negative_binomial_only(likelihood):
    with pytest.raises(PresetError, match="'dispersion' applies only to likelihood = \"negative-binomial\""):
        preset_from_toml(f'likelihood = "{likelihood}"\ndispersion = 0.5\n', source="p.toml")


def test_noise_sd_does_not_belong_to_the_negative_binomial():
    with pytest.raises(PresetError, match="'noise_sd' applies only"):
        preset_from_toml(BASE + "noise_sd = 0.5\n", source="p.toml")


@pytest.mark.parametrize("value", ["0", "-2", "10001", "2.5", '"3"', "true"])
def test_bad_rank_is_refused_naming_the_key(value):
    with pytest.raises(PresetError, match="'fit.rank'"):
        preset_from_toml(f'likelihood = "poisson"\n[fit]\nfamily = "low-rank"\nrank = {value}\n', source="r.toml")


def test_rank_round_trips():
    preset = preset_from_toml('likelihood = "poisson"\n[fit]\nfamily = "low-rank"\nrank = 7\n', source="r.toml")
    assert preset.fit.rank == 7 and preset_from_toml(preset.to_toml()) == preset
