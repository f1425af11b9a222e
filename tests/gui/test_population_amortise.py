"""Amortise… in the Population dock: amortised inference in the background fills the table with each unit's
amortisation and approximation gaps in nats (those of vbgui batch --amortise), plots both across units, exports
them, cancels, and refuses what cannot be amortised in one line."""
from __future__ import annotations

import csv

import numpy as np
import pytest

from vbgui.app.amortise import AMORTISE_SUMMARY_COLUMNS, DEFAULT_TRAIN, AmortiseSettings, amortise_batch
from vbgui.app.population import UnitRow
from vbgui.errors import VbguiError
from vbgui.gui.gap_plot import gap_points, wants_log_axis
from vbgui.io.npz import save_units_npz
from vbgui.models.preset import load_preset
from vbgui.models.synthetic import make_synthetic_population

BATCH_TIMEOUT_MS = 120_000
UNITS = 6


@pytest.fixture(scope="module")
def units_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("amortise") / "six-units.npz"
    save_units_npz(make_synthetic_population("poisson", n_units=UNITS, n_bins=3000, stimulus_lags=6, seed=2), path)
    return path


@pytest.fixture(scope="module")
def long_units_path(tmp_path_factory):
    """Eight units of 150,000 bins: the training fits alone take seconds, so Cancel lands mid-run."""
    path = tmp_path_factory.mktemp("amortise") / "eight-long-units.npz"
    save_units_npz(make_synthetic_population("poisson", n_units=8, n_bins=150_000, stimulus_lags=10, seed=3), path)
    return path


def headers(population) -> list[str]:
    return [column.header for column in population.panel.model.columns]


def shown(population, unit: int, header: str) -> str:
    return population.panel.model.index(unit, headers(population).index(header)).data()


def amortise_to_end(qtbot, window, path, train: int, refine: int):
    window.open_recording(path)
    window.preset_panel.select("poisson-glm")
    population = window.population
    with qtbot.waitSignal(population.batch_finished, timeout=BATCH_TIMEOUT_MS) as finished:
        assert population.amortise(train=train, refine=refine)
        assert population.is_running() and population.panel.cancel_button.isEnabled()
        assert not population.panel.amortise_button.isEnabled() and not population.amortise_action.isEnabled()
    assert finished.args == [UNITS]
    return population


def test_amortise_fills_the_gap_columns_as_the_cli_and_plots_both_gaps(qtbot, window, units_path) -> None:
    population = amortise_to_end(qtbot, window, units_path, train=3, refine=1)
    assert {"q from", "Amortisation gap (nats)", "Approximation gap (nats)"} <= set(headers(population))
    # the same service as vbgui batch --amortise: the same gaps, unit by unit
    expected = {o.index: o.result["amortisation"] for o in amortise_batch(
        window.recording_file, load_preset("poisson-glm"), range(UNITS),
        AmortiseSettings(train=3, refine=1, seed=0), workers=1)}
    roles = [expected[unit]["role"] for unit in range(UNITS)]
    assert roles.count("train") == 3 and roles.count("amortised") == 3
    for unit in range(UNITS):
        record = population.outcomes[unit].result["amortisation"]
        assert record["role"] == expected[unit]["role"]
        assert record["approximation_gap"] == pytest.approx(expected[unit]["approximation_gap"], rel=1e-6)
        if record["role"] == "train":
            assert shown(population, unit, "q from") == "exact fit"
            assert shown(population, unit, "Amortisation gap (nats)") == "training unit"
        else:
            assert record["amortisation_gap"] == pytest.approx(expected[unit]["amortisation_gap"], rel=1e-6, abs=1e-9)
            assert shown(population, unit, "q from") == "encoder"
            assert shown(population, unit, "Amortisation gap (nats)") == f"{record['amortisation_gap']:.3g}"
        assert shown(population, unit, "Approximation gap (nats)") == f"{record['approximation_gap']:.3g}"
    plot = population.gap_plot
    assert population.panel.gap_area.isVisibleTo(population.panel) and population.panel.gap_area.width() > 100
    amortised = [u for u in range(UNITS) if roles[u] == "amortised"]
    x, y = plot.series["amortisation"].xData, plot.series["amortisation"].yData  # as given, not log10
    assert list(x) == amortised
    assert y == pytest.approx([population.outcomes[u].result["amortisation"]["amortisation_gap"] for u in amortised])
    x, y = plot.series["approximation"].xData, plot.series["approximation"].yData
    assert list(x) == list(range(UNITS))
    labels = [label.text for _, label in plot.legend.items]
    assert labels == ["amortisation gap ELBO(q*) − ELBO(q)", "approximation gap log p(D) − ELBO(q*)"]
    assert plot.plot.getAxis("left").labelText == "gap (nats)"
    gaps = np.concatenate([gaps for _, gaps in gap_points(population.panel.model.rows).values()])
    assert plot.log_y == wants_log_axis(gaps)
    assert ("log scale" if plot.log_y else "linear scale") in plot.plot.titleLabel.text


def test_the_amortised_summary_exports_the_gaps(qtbot, window, units_path, tmp_path) -> None:
    population = amortise_to_end(qtbot, window, units_path, train=2, refine=0)
    path = tmp_path / "summary.csv"
    assert population.write_summary(path)
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == list(AMORTISE_SUMMARY_COLUMNS)
    assert sum(row["amortised"] == "true" for row in rows) == UNITS - 2
    for row in rows:
        unit = int(row["unit"].removeprefix("unit"))
        record = population.outcomes[unit].result["amortisation"]
        if record["amortised"]:
            assert float(row["amortisation_gap"]) == record["amortisation_gap"]
        else:
            assert row["amortisation_gap"] == ""


def test_the_dialog_offers_the_cli_defaults_and_starts_with_the_choice(qtbot, window, units_path) -> None:
    window.open_recording(units_path)
    window.preset_panel.select("poisson-glm")
    population = window.population
    population.panel.amortise_button.click()
    dialog = population.amortise_dialog
    assert dialog.isVisible()
    assert dialog.train.value() == min(DEFAULT_TRAIN, UNITS - 1) and dialog.refine.value() == 0
    assert (dialog.train.minimum(), dialog.train.maximum()) == (1, UNITS - 1)  # no unit left to amortise beyond
    assert dialog.refine.minimum() == 0
    dialog.train.setValue(4)
    dialog.refine.setValue(2)
    with qtbot.waitSignal(population.batch_finished, timeout=BATCH_TIMEOUT_MS):
        dialog.accept()
        assert "4 units fitted exactly" in population.panel.status.text()
        assert "2 refinement pass(es)" in population.panel.status.text()
    records = [population.outcomes[u].result["amortisation"] for u in range(UNITS)]
    assert sum(r["role"] == "train" for r in records) == 4
    assert all(r["refine_passes"] == 2 for r in records if r["amortised"])


def test_cancel_stops_amortising_and_keeps_the_finished_units(qtbot, window, long_units_path) -> None:
    window.open_recording(long_units_path)
    window.preset_panel.select("poisson-glm")
    population = window.population
    with qtbot.waitSignal(population.batch_cancelled, timeout=BATCH_TIMEOUT_MS) as cancelled:
        assert population.amortise(train=6)
        qtbot.wait(300)
        population.panel.cancel_button.click()
    assert cancelled.args[0] < 8 and cancelled.args[0] == len(population.outcomes)
    assert not population.is_running() and population.panel.amortise_button.isEnabled()
    assert population.panel.status.text().startswith("Cancelled")


@pytest.mark.parametrize("change, message", [
    (("family", "low-rank"), "Amortise: the encoder outputs q of the mean-field, full-rank, structured families; "
                             "the preset's family is low-rank"),
    (("estimator", "reparam"), "Amortise: the gaps need each family's exact optimum; set the preset's estimator to "
                               "'exact' (it is 'reparam')"),
])
def test_what_cannot_be_amortised_is_refused_in_one_line(qtbot, window, units_path, change, message) -> None:
    window.open_recording(units_path)
    window.preset_panel.select("poisson-glm")
    getattr(window.preset_panel, change[0]).setCurrentText(change[1])
    population = window.population
    assert not population.amortise(train=2)
    assert window.last_error == message
    assert not population.is_running() and not population.outcomes


def test_a_failing_run_ends_in_one_line(qtbot, window, units_path, monkeypatch) -> None:
    import vbgui.gui.window.population as population_module

    def fails(*_args, **_kwargs):
        raise VbguiError("Amortise: no training unit could be fitted, so there is no encoder to train")

    monkeypatch.setattr(population_module, "amortise_population", fails)
    window.open_recording(units_path)
    window.preset_panel.select("poisson-glm")
    population = window.population
    with qtbot.waitSignal(population.batch_failed, timeout=BATCH_TIMEOUT_MS) as failed:
        assert population.amortise(train=2)
    assert failed.args == ["Amortise: no training unit could be fitted, so there is no encoder to train"]
    assert window.last_error == failed.args[0] and "\n" not in window.last_error
    assert population.panel.amortise_button.isEnabled()


def test_the_gap_axis_is_logarithmic_only_for_positive_gaps_spanning_orders() -> None:
    assert wants_log_axis(np.array([1e-6, 0.5]))
    assert not wants_log_axis(np.array([0.01, 0.5]))  # within a factor of 100: linear reads better
    assert not wants_log_axis(np.array([-1e-3, 1e-6, 0.5]))  # a negative gap (importance-weighted evidence)
    assert not wants_log_axis(np.array([]))


def test_gap_points_skip_unknown_gaps() -> None:
    rows = [UnitRow(0, "a", 1.0, 0.01, "trained on", approximation_gap=0.2),
            UnitRow(1, "b", 1.0, 0.01, "amortised", amortisation_gap=1e-3, approximation_gap=None),
            UnitRow(2, "c", 1.0, 0.01, "amortised", amortisation_gap=float("nan"), approximation_gap=0.1)]
    points = gap_points(rows)
    assert list(points["amortisation"][0]) == [1] and list(points["amortisation"][1]) == [1e-3]
    assert list(points["approximation"][0]) == [0, 2] and list(points["approximation"][1]) == [0.2, 0.1]


def test_clicking_an_amortised_unit_shows_the_encoders_q(qtbot, window, units_path) -> None:
    population = amortise_to_end(qtbot, window, units_path, train=2, refine=0)
    unit = next(u for u in range(UNITS) if population.outcomes[u].result["amortisation"]["amortised"])
    with qtbot.waitSignal(population.unit_shown, timeout=30_000):
        population.show_unit(unit)
    result = population.outcomes[unit].result
    assert window.result.unit == result["unit"] and window.result.elbo == result["elbo"]
    assert window.result.stop_reason == "amortised"  # the encoder's q as it is, no refit
