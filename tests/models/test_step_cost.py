"""Settings whose optimiser steps would take minutes are refused in plain words; slow ones are announced."""
from __future__ import annotations

import pytest

from vbgui.errors import FitError
from vbgui.models.preset import load_preset
from vbgui.models.step_cost import REFUSE_SECONDS, WARN_SECONDS, check_step_cost, step_seconds


def test_the_cost_grows_with_samples_bins_and_parameters():
    reparam = load_preset("poisson-glm").with_fit(estimator="reparam", samples=100)
    exact = load_preset("poisson-glm").with_fit(estimator="exact")
    assert step_seconds(reparam, 20_000, 26) == pytest.approx(2 * step_seconds(reparam, 10_000, 26))
    assert step_seconds(exact, 10_000, 52) == pytest.approx(4 * step_seconds(exact, 10_000, 26))


def test_a_hundred_thousand_samples_are_refused_with_what_to_change():
    preset = load_preset("poisson-glm").with_fit(estimator="reparam", samples=100_000)
    assert step_seconds(preset, 10_000, 26) > REFUSE_SECONDS
    with pytest.raises(FitError, match=r"^rec.npz: one step of this fit would take about \d+ s, more than 60 s "
                                       r"\(100000 Monte Carlo samples x 10000 bins x 26 parameters; fewer samples"):
        check_step_cost(preset, 10_000, 26, "rec.npz")


def test_a_slow_step_is_announced_and_a_fast_one_is_not():
    preset = load_preset("poisson-glm").with_fit(estimator="reparam", samples=3000)
    assert WARN_SECONDS < step_seconds(preset, 100_000, 26) < REFUSE_SECONDS
    assert "each step of this fit takes about" in check_step_cost(preset, 100_000, 26, "rec.npz")
    assert check_step_cost(load_preset("poisson-glm"), 100_000, 26, "rec.npz") is None


def test_every_estimator_has_a_cost():
    for estimator in ("exact", "reparam", "score-function"):
        preset = load_preset("poisson-glm").with_fit(estimator=estimator)
        assert step_seconds(preset, 10_000, 26) > 0


def test_full_rank_at_large_d_says_what_it_costs_and_the_matrix_free_families_do_not():
    full_rank = load_preset("poisson-glm").with_fit(family="full-rank")
    assert "squared, for the full-rank family" in check_step_cost(full_rank, 100_000, 2001, "checkerboard.npz")
    with pytest.raises(FitError, match=r"squared, for the full-rank family.*mean-field or low-rank"):
        check_step_cost(full_rank, 200_000, 2001, "checkerboard.npz")
    for family, changes in (("mean-field", {}), ("low-rank", {"rank": 5})):
        preset = load_preset("poisson-glm").with_fit(family=family, **changes)
        assert step_seconds(preset, 100_000, 1000) < WARN_SECONDS
