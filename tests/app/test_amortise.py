"""Amortised inference (vbgui.app.encoder, vbgui.app.amortise): the encoder's q against exact fits, the
gaps of Cremer et al. (2018), refinement, and the result contract."""
from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from vbgui.app.amortise import (AmortiseSettings, amortise_batch, amortise_unit, amortised_summary_row,
                                check_amortisable, training_units)
from vbgui.app.batch import fit_unit
from vbgui.app.encoder import RidgeEncoder, q_from_parameters, q_parameters, unit_features
from vbgui.app.fit import FitSession
from vbgui.app.result import FitResult
from vbgui.core.cancel import CancelToken
from vbgui.core.conjugate import linear_gaussian_posterior
from vbgui.core.families import Family, GaussianPosterior
from vbgui.errors import ResultFileError, VbguiError
from vbgui.models.preset import load_preset
from vbgui.models.synthetic import make_synthetic_population

N_UNITS = 24
N_TRAIN = 16


def small_preset(name: str, family: str = "full-rank"):
    preset = load_preset(name).with_fit(family=family)
    return dataclasses.replace(preset, design=dataclasses.replace(preset.design, spike_history_lags=0,
                                                                  stimulus_lags=4))


@pytest.fixture(scope="module")
def poisson_population():
    return make_synthetic_population("poisson", N_UNITS, n_bins=3000, stimulus_lags=4, seed=5)


@pytest.fixture(scope="module")
def poisson_outcomes(poisson_population):
    settings = AmortiseSettings(train=N_TRAIN, refine=0, evidence_draws=1000)
    return {o.index: o for o in amortise_batch(poisson_population, small_preset("poisson-glm"),
                                               list(range(N_UNITS)), settings, workers=2)}


def test_q_parameters_round_trip_and_stay_valid():
    family = Family.create("structured", 4, [[0], [1, 2, 3]])
    rng = np.random.default_rng(0)
    chol = np.tril(rng.standard_normal((4, 4))) + 3 * np.eye(4)
    q = GaussianPosterior(family, rng.standard_normal(4), chol)
    theta = q_parameters(q)
    assert theta.size == 4 + 4 + 3  # the mean, the log diagonal, the strict lower entries of the 3-block
    back = q_from_parameters(family, theta)
    np.testing.assert_allclose(back.cov, q.cov, rtol=1e-12)
    wild = q_from_parameters(family, rng.standard_normal(theta.size) * 5)  # any theta is a valid q
    assert np.all(np.linalg.eigvalsh(wild.cov) > 0)


def test_ridge_encoder_recovers_a_linear_map_and_reports_leave_one_out_error():
    family = Family.create("mean-field", 2)
    rng = np.random.default_rng(1)
    features = rng.standard_normal((40, 3))
    means = features @ np.array([[1.0, 0.0], [0.5, -2.0], [0.0, 0.3]])
    fitted = [GaussianPosterior(family, m, np.diag(np.exp(0.1 * f[:2]))) for m, f in zip(means, features)]
    encoder = RidgeEncoder.fit(family, features, fitted)
    probe = rng.standard_normal(3)
    q = encoder.encode(probe)
    np.testing.assert_allclose(q.mean, probe @ np.array([[1.0, 0.0], [0.5, -2.0], [0.0, 0.3]]), atol=1e-4)
    np.testing.assert_allclose(np.log(q.sd), 0.1 * probe[:2], atol=1e-4)
    assert np.all(encoder.loo_rmse < 1e-3)


def test_unit_features_use_the_response_through_the_design():
    population = make_synthetic_population("poisson", 2, n_bins=500, stimulus_lags=3, seed=2)
    session = FitSession(small_preset("poisson-glm"), population.unit(0))
    features = unit_features(session.problem, 0)
    design, response = session.problem.design.materialise(), session.problem.response
    dim = design.shape[1]
    assert features.shape == (3 * dim + 2,)
    np.testing.assert_allclose(features[:dim], design.T @ response / design.shape[0])
    np.testing.assert_allclose(features[dim:2 * dim], design.T @ response / response.sum())
    assert features[3 * dim] == pytest.approx(np.log(response.mean()))


def test_every_unit_has_a_result_in_the_fit_contract(poisson_outcomes):
    assert sorted(poisson_outcomes) == list(range(N_UNITS))
    roles = [o.result["amortisation"]["role"] for o in poisson_outcomes.values()]
    assert roles.count("train") == N_TRAIN and roles.count("amortised") == N_UNITS - N_TRAIN
    for outcome in poisson_outcomes.values():
        assert outcome.succeeded, outcome.error
        back = FitResult.from_dict(json.loads(json.dumps(outcome.result)), "amortised")
        assert back.amortisation == outcome.result["amortisation"]


def test_encoder_elbo_is_below_an_independent_cold_fit(poisson_population, poisson_outcomes):
    """The best ELBO the gaps use equals a cold-started exact fit, and the encoder's q lies below it."""
    preset = small_preset("poisson-glm")
    for index, outcome in poisson_outcomes.items():
        record = outcome.result["amortisation"]
        if not record["amortised"]:
            continue
        cold = fit_unit(poisson_population, index, preset, CancelToken()).result
        assert record["best_elbo"] == pytest.approx(cold["elbo"], abs=1e-6)
        assert record["encoder_elbo"] <= cold["elbo"] + 1e-9
        assert outcome.result["elbo"] == pytest.approx(record["encoder_elbo"], abs=1e-9)  # refine = 0


def test_gaps_are_non_negative_and_small_for_amortised_units(poisson_outcomes):
    gaps = []
    for outcome in poisson_outcomes.values():
        record = outcome.result["amortisation"]
        assert record["approximation_gap"] >= -3 * record["log_evidence_se"] - 1e-9
        if record["amortised"]:
            assert record["amortisation_gap"] >= -1e-9
            gaps.append(record["amortisation_gap"])
        else:
            assert record["amortisation_gap"] is None
    assert np.median(gaps) < 0.5  # 16 units train a 4-lag encoder to within a fraction of a nat


def test_refinement_reduces_the_amortisation_gap(poisson_population):
    preset = small_preset("poisson-glm")
    units = list(range(N_UNITS))
    by_refine = {}
    for refine in (0, 1, 3):
        settings = AmortiseSettings(train=N_TRAIN, refine=refine, evidence_draws=200)
        by_refine[refine] = {o.index: o.result["amortisation"] for o in
                             amortise_batch(poisson_population, preset, units, settings, workers=2)
                             if o.result["amortisation"]["amortised"]}
    for index, record in by_refine[0].items():
        gap0, gap1, gap3 = (by_refine[k][index]["amortisation_gap"] for k in (0, 1, 3))
        assert gap1 <= gap0 + 1e-9 and gap3 <= gap1 + 1e-9
        assert by_refine[1][index]["encoder_amortisation_gap"] == pytest.approx(gap0, abs=1e-9)
    assert np.median([by_refine[1][i]["amortisation_gap"] for i in by_refine[1]]) < \
        0.1 * np.median([r["amortisation_gap"] for r in by_refine[0].values()])


def test_linear_gaussian_full_rank_approximation_gap_is_zero_and_mean_field_matches_closed_form():
    population = make_synthetic_population("gaussian", 12, n_bins=800, stimulus_lags=4, seed=3)
    for family in ("full-rank", "mean-field"):
        preset = small_preset("linear-gaussian", family)
        outcomes = list(amortise_batch(population, preset, list(range(12)), AmortiseSettings(train=8), workers=2))
        for outcome in outcomes:
            record = outcome.result["amortisation"]
            assert record["evidence_source"] == "exact"
            if family == "full-rank":
                assert abs(record["approximation_gap"]) < 1e-7
            else:
                session = FitSession(preset, population.unit(outcome.index))
                exact = linear_gaussian_posterior(session.problem)
                precision = exact.precision
                closed_form = 0.5 * (np.sum(np.log(np.diag(precision))) - np.linalg.slogdet(precision)[1])
                assert record["approximation_gap"] == pytest.approx(closed_form, rel=1e-5, abs=1e-8)


def test_settings_and_presets_that_cannot_be_amortised_are_refused():
    preset = small_preset("poisson-glm")
    for settings, units, fragment in ((AmortiseSettings(train=5), 5, "--train must be an integer from 1 to 4"),
                                      (AmortiseSettings(train=0), 5, "--train"),
                                      (AmortiseSettings(refine=-1), 5, "--refine"),
                                      (AmortiseSettings(), 1, "at least 2 units")):
        with pytest.raises(VbguiError, match=fragment):
            check_amortisable(preset, units, settings)
    with pytest.raises(VbguiError, match="low-rank"):
        check_amortisable(load_preset("poisson-glm").with_fit(family="low-rank"), 5, AmortiseSettings())
    with pytest.raises(VbguiError, match="estimator"):
        check_amortisable(load_preset("poisson-glm").with_fit(estimator="reparam"), 5, AmortiseSettings())


def test_training_units_skip_unusable_ones_and_leave_one_to_amortise():
    chosen = training_units(list(range(10)), {2, 3}, None, seed=0)
    assert len(chosen) == 7 and not {2, 3} & set(chosen) and chosen == sorted(chosen)
    assert training_units(list(range(10)), set(), 4, seed=1) == training_units(list(range(10)), set(), 4, seed=1)


def test_a_bad_amortisation_record_is_refused(poisson_outcomes):
    data = json.loads(json.dumps(next(iter(poisson_outcomes.values())).result))
    data["amortisation"]["approximation_gap"] = "small"
    with pytest.raises(ResultFileError, match="amortisation.approximation_gap"):
        FitResult.from_dict(data, "bad.json")


def test_summary_row_holds_the_gaps(poisson_outcomes):
    amortised = next(o for o in poisson_outcomes.values() if o.result["amortisation"]["amortised"])
    row = amortised_summary_row(amortised)
    assert row["amortised"] == "true"
    assert float(row["amortisation_gap"]) == amortised.result["amortisation"]["amortisation_gap"]
    assert float(row["approximation_gap"]) == amortised.result["amortisation"]["approximation_gap"]


def test_an_encoder_q_with_a_non_finite_elbo_fails_its_unit_alone_with_the_reason(poisson_population):
    preset = small_preset("poisson-glm")
    session = FitSession(preset, poisson_population.unit(0))
    dim = session.problem.dim
    features = np.array([unit_features(FitSession(preset, poisson_population.unit(i)).problem, 0) for i in (1, 2)])
    blown_up = GaussianPosterior(session.family, np.full(dim, 800.0), np.eye(dim))
    encoder = RidgeEncoder.fit(session.family, features, [blown_up, blown_up])  # predicts exp(800 x) rates
    for refine in (0, 2):
        outcome = amortise_unit(poisson_population, 0, preset, encoder, AmortiseSettings(refine=refine),
                                CancelToken())
        assert not outcome.succeeded and "the encoder's q has a non-finite ELBO" in outcome.error


def test_a_bad_unit_fails_alone_and_is_never_a_training_unit():
    population = make_synthetic_population("poisson", 10, n_bins=1500, stimulus_lags=4, seed=7)
    responses = population.responses.copy()
    responses[11, 3] = np.nan
    bad = type(population)(responses, population.unit_names, population.dt, population.source,
                           stimulus=population.stimulus)
    assert sorted(bad.unit_problems) == [3]
    settings = AmortiseSettings(train=8, evidence_draws=200)  # all 9 usable units but one
    outcomes = {o.index: o for o in amortise_batch(bad, small_preset("poisson-glm"), list(range(10)), settings,
                                                   workers=2)}
    assert sorted(outcomes) == list(range(10))
    assert not outcomes[3].succeeded and "contains NaN or Inf (first at bin 11)" in outcomes[3].error
    roles = [o.result["amortisation"]["role"] for o in outcomes.values() if o.succeeded]
    assert roles.count("train") == 8 and roles.count("amortised") == 1
    with pytest.raises(VbguiError, match="--train must be an integer from 1 to 8"):
        next(amortise_batch(bad, small_preset("poisson-glm"), list(range(10)), AmortiseSettings(train=9)))


def test_cancelling_stops_the_batch_and_yields_no_cancelled_unit(poisson_population):
    cancel = CancelToken()
    seen = []

    def on_progress(progress) -> None:
        seen.append(progress.outcome.index)
        if len(seen) == 3:
            cancel.cancel()

    outcomes = list(amortise_batch(poisson_population, small_preset("poisson-glm"), list(range(N_UNITS)),
                                   AmortiseSettings(train=N_TRAIN), workers=2, cancel=cancel,
                                   on_progress=on_progress))
    assert 3 <= len(outcomes) < N_TRAIN and all(o.succeeded for o in outcomes)
