"""vbgui.app.population: the units table's numbers (from the data and a batch's outcomes), the batch driver's
cancellation, the outcome collector, and a unit's fit rebuilt for showing."""
from __future__ import annotations

import math
import threading
from dataclasses import replace

import numpy as np
import pytest

from vbgui.app.batch import SUMMARY_COLUMNS, UnitOutcome, fit_unit, summary_csv_text
from vbgui.app.population import (NOT_FITTED, OutcomeCollector, fit_population, fitted_row, rebuild_unit_fit,
                                  unfitted_rows)
from vbgui.core.cancel import CancelToken, FitCancelled
from vbgui.io.recording import RecordingFile
from vbgui.models.preset import load_preset
from vbgui.models.synthetic import make_synthetic_population


@pytest.fixture(scope="module")
def poisson_units() -> RecordingFile:
    return make_synthetic_population("poisson", n_units=3, n_bins=3000, stimulus_lags=5, seed=7)


@pytest.fixture(scope="module")
def gaussian_units() -> RecordingFile:
    return make_synthetic_population("gaussian", n_units=2, n_bins=2000, stimulus_lags=5, seed=8)


def test_unfitted_rows_hold_each_units_mean_and_rate(poisson_units) -> None:
    rows = unfitted_rows(poisson_units)
    assert [row.unit for row in rows] == list(poisson_units.unit_names)
    for index, row in enumerate(rows):
        mean = poisson_units.responses[:, index].mean()
        assert row.mean_response_per_bin == pytest.approx(mean, rel=1e-12)
        assert row.rate_per_second == pytest.approx(mean / poisson_units.dt)
        assert row.status == NOT_FITTED and row.elbo_per_bin is None and row.converged is None


def test_a_unit_with_unusable_data_has_no_mean_and_says_why() -> None:
    responses = np.ones((100, 2))
    responses[5, 1] = np.nan
    recording = RecordingFile(responses, ("good", "bad"), 0.01, "two.npz")
    good, bad = unfitted_rows(recording)
    assert good.mean_response_per_bin == 1.0 and not good.error
    assert math.isnan(bad.mean_response_per_bin) and "NaN" in bad.error


def test_a_fitted_row_has_the_elbo_per_fitted_bin_and_no_invented_evidence(poisson_units) -> None:
    preset = load_preset("poisson-glm")
    outcome = fit_unit(poisson_units, 1, preset, CancelToken())
    row = fitted_row(unfitted_rows(poisson_units)[1], outcome)
    result = outcome.result
    fitted_bins = result["bins"]["total"] - result["bins"]["first_row"]
    assert fitted_bins < poisson_units.responses.shape[0]  # the lags' first bins are not fitted
    assert row.elbo_per_bin == pytest.approx(result["elbo"] / fitted_bins)
    assert row.converged is result["converged"] and row.iterations == result["iterations"]
    assert row.status == ("converged" if result["converged"] else "not converged")
    assert row.gap is None and row.history_evidence is None  # poisson: no exact evidence, no model comparison


def test_the_gap_is_the_exact_evidence_minus_the_elbo_where_the_evidence_is_known(gaussian_units) -> None:
    preset = load_preset("linear-gaussian")
    rows = unfitted_rows(gaussian_units)
    gaps = {}
    for family in ("mean-field", "full-rank"):
        family_preset = replace(preset, fit=replace(preset.fit, family=family))
        outcome = fit_unit(gaussian_units, 0, family_preset, CancelToken())
        row = fitted_row(rows[0], outcome)
        assert row.gap == pytest.approx(outcome.result["log_evidence"] - outcome.result["elbo"])
        gaps[family] = row.gap
    # KL(q || posterior): zero for the full-rank family (the posterior is Gaussian), positive for mean-field
    assert abs(gaps["full-rank"]) < 1e-6 < gaps["mean-field"]


def test_a_failed_unit_keeps_its_reason_and_no_numbers(poisson_units) -> None:
    failed = UnitOutcome(2, "unit2", None, "the counts are negative")
    row = fitted_row(unfitted_rows(poisson_units)[2], failed)
    assert row.status == "failed" and row.error == "the counts are negative"
    assert row.elbo_per_bin is None and row.converged is None and row.gap is None


def test_the_collector_hands_each_outcome_over_once_whatever_the_threads() -> None:
    collector = OutcomeCollector()
    outcomes = [UnitOutcome(i, f"u{i}", None, "x") for i in range(400)]
    taken: list[UnitOutcome] = []
    writers = [threading.Thread(target=lambda part=part: [collector.add(o) for o in part])
               for part in (outcomes[::2], outcomes[1::2])]
    for writer in writers:
        writer.start()
    while any(writer.is_alive() for writer in writers):
        taken += collector.take_new()
    for writer in writers:
        writer.join()
    taken += collector.take_new()
    assert sorted(o.index for o in taken) == list(range(400)) and collector.take_new() == []


def test_a_complete_batch_returns_and_a_cancelled_one_raises_keeping_its_finished_units(poisson_units) -> None:
    preset = load_preset("poisson-glm")
    collector, reports = OutcomeCollector(), []
    assert fit_population(poisson_units, preset, [0, 1, 2], collector, CancelToken(), reports.append) == 3
    assert sorted(reports) == [1, 2, 3] and len(collector.take_new()) == 3
    cancel, collector = CancelToken(), OutcomeCollector()

    def cancel_after_the_first(count: int) -> None:
        cancel.cancel()

    with pytest.raises(FitCancelled):
        fit_population(poisson_units, preset, [0, 1, 2], collector, cancel, cancel_after_the_first, workers=1)
    kept = collector.take_new()
    assert 1 <= len(kept) < 3 and all(outcome.succeeded for outcome in kept)


def test_a_units_fit_is_rebuilt_without_refitting(gaussian_units) -> None:
    preset = load_preset("linear-gaussian")
    outcome = fit_unit(gaussian_units, 1, preset, CancelToken())
    unit_fit = rebuild_unit_fit(gaussian_units, 1, outcome.result)
    assert unit_fit.index == 1 and unit_fit.recording.unit == gaussian_units.unit_names[1]
    assert unit_fit.result.elbo == outcome.result["elbo"] and unit_fit.session.names == unit_fit.result.names
    np.testing.assert_array_equal(unit_fit.result.mean, outcome.result["parameters"]["mean"])
    assert unit_fit.reference is not None and unit_fit.reference.kind == "conjugate"
    np.testing.assert_allclose(unit_fit.reference.mean, outcome.result["exact_posterior"]["mean"])


def test_the_summary_csv_has_the_batch_header_and_a_row_per_outcome(poisson_units) -> None:
    preset = load_preset("poisson-glm")
    outcomes = [fit_unit(poisson_units, 0, preset, CancelToken()), UnitOutcome(1, "unit1", None, "bad, \"quoted\"")]
    lines = summary_csv_text(outcomes).splitlines()
    assert lines[0] == ",".join(SUMMARY_COLUMNS)
    assert lines[1].startswith("unit0,true,") and lines[2] == 'unit1,,,,,,,,"bad, ""quoted"""'
