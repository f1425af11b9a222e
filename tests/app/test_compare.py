"""Model comparison: exact evidences on common bins, the table, and `vbgui compare`."""
from __future__ import annotations

import csv
import json
from dataclasses import replace

import numpy as np
import pytest

from vbgui.app.compare import (ComparisonError, ComparisonRow, ComparisonTable, ModelSpec, compare_models, model_specs,
                               rank_rows)
from vbgui.app.diagnose import DiagnosticsSettings
from vbgui.cli import main
from vbgui.core.conjugate import linear_gaussian_posterior
from vbgui.core.elbo import GLMProblem
from vbgui.core.likelihoods import Likelihood
from vbgui.io.npz import save_npz
from vbgui.models.design import build_design
from vbgui.models.preset import load_preset
from vbgui.models.synthetic import make_synthetic_recording

SETTINGS = DiagnosticsSettings(draws=500, reference="psis")


def with_lags(preset_name: str, stimulus_lags: int, spike_history_lags: int = 0):
    preset = load_preset(preset_name)
    return replace(preset, name=f"{preset_name}-{stimulus_lags}-{spike_history_lags}",
                   design=replace(preset.design, stimulus_lags=stimulus_lags, spike_history_lags=spike_history_lags))


@pytest.fixture(scope="module")
def gaussian_recording():
    return make_synthetic_recording("gaussian", n_bins=3000, stimulus_lags=6, seed=4)


def test_exact_evidences_on_common_bins_pick_the_true_model(gaussian_recording):
    presets = [with_lags("linear-gaussian", lags) for lags in (2, 6, 12)]
    table = compare_models(gaussian_recording, model_specs(presets), SETTINGS)
    first_row = 11  # 12 lags drop the first 11 bins: every model is scored on the rest
    assert table.first_row == first_row and {row.bins for row in table.rows} == {3000 - first_row}
    for preset in presets:  # independent: the closed form on the design cut by hand
        design = build_design(gaussian_recording, preset.design)
        drop = first_row - design.first_row
        problem = GLMProblem(design.rows.materialise()[drop:], design.response[drop:], Likelihood("gaussian", preset.noise_sd),
                             preset.prior.scale)
        row = next(r for r in table.rows if r.preset == preset.name)
        assert row.log_evidence == pytest.approx(linear_gaussian_posterior(problem).log_evidence, rel=1e-10)
        assert row.evidence == row.log_evidence and row.evidence_source == "exact"
        assert row.elbo <= row.log_evidence + 1e-6
    assert table.best.preset == "linear-gaussian-6-0"  # the truth has 6 lags: 2 underfit, 12 pay Occam's razor
    assert [r.evidence for r in table.rows] == sorted((r.evidence for r in table.rows), reverse=True)
    assert table.best.delta_evidence == 0.0 and table.best.bayes_factor == 1.0
    for row in table.rows:
        assert row.delta_evidence == pytest.approx(row.evidence - table.best.evidence)
        assert row.bayes_factor == pytest.approx(np.exp(row.delta_evidence))
    assert max(r.delta_elbo for r in table.rows) == 0.0


def test_families_share_the_evidence_but_not_the_elbo():
    recording = make_synthetic_recording("poisson", n_bins=6000, stimulus_lags=6, dt=0.01, mean_response=0.3,
                                         seed=5)
    specs = model_specs([with_lags("poisson-glm", 6)], ["mean-field", "full-rank"])
    assert [s.label for s in specs] == ["poisson-glm-6-0 / mean-field", "poisson-glm-6-0 / full-rank"]
    table = compare_models(recording, specs, DiagnosticsSettings(draws=1000, reference="psis"))
    rows = {row.family: row for row in table.rows}
    mean_field, full_rank = rows["mean-field"], rows["full-rank"]
    assert mean_field.elbo < full_rank.elbo - 0.05
    assert mean_field.evidence == pytest.approx(full_rank.evidence,
                                                abs=4 * np.hypot(mean_field.evidence_se, full_rank.evidence_se) + 1e-3)
    assert mean_field.log_evidence is None and mean_field.evidence_source.startswith("importance-weighted")


def test_refuses_single_models_and_mixed_likelihoods(gaussian_recording):
    with pytest.raises(ComparisonError):
        compare_models(gaussian_recording, model_specs([load_preset("linear-gaussian")]), SETTINGS)
    counts = make_synthetic_recording("poisson", n_bins=500, stimulus_lags=3, seed=1)
    specs = [ModelSpec(load_preset("poisson-glm"), "p"), ModelSpec(load_preset("linear-gaussian"), "g")]
    with pytest.raises(ComparisonError):
        compare_models(counts, specs, SETTINGS)


def test_duplicate_labels_are_numbered():
    preset = load_preset("poisson-glm")
    labels = [s.label for s in model_specs([preset, preset])]
    assert labels == ["poisson-glm / full-rank #1", "poisson-glm / full-rank #2"]


@pytest.fixture(scope="module")
def cli_files(tmp_path_factory, gaussian_recording):
    folder = tmp_path_factory.mktemp("compare")
    save_npz(gaussian_recording, folder / "rec.npz")
    for lags in (3, 6):
        (folder / f"lg{lags}.toml").write_text(with_lags("linear-gaussian", lags).to_toml())
    return folder


def test_cli_writes_csv_and_json(cli_files, capsys):
    args = ["compare", "--recording", str(cli_files / "rec.npz"), "--preset", str(cli_files / "lg3.toml"),
            "--preset", str(cli_files / "lg6.toml"), "--draws", "200"]
    assert main(args + ["--out", str(cli_files / "table.csv")]) == 0
    with open(cli_files / "table.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["preset"] for r in rows] == ["linear-gaussian-6-0", "linear-gaussian-3-0"]
    assert float(rows[0]["delta_evidence"]) == 0.0 and float(rows[1]["bayes_factor"]) < 1.0
    assert float(rows[0]["log_evidence"]) == float(rows[0]["evidence"])
    assert "linear-gaussian-6-0" in capsys.readouterr().out
    assert main(args + ["--out", str(cli_files / "table.json"), "--family", "mean-field", "--quiet"]) == 0
    data = json.loads((cli_files / "table.json").read_text())
    assert data["bins"] == 3000 - 5 and len(data["rows"]) == 2 and "ELBO" in data["note"]
    assert {row["family"] for row in data["rows"]} == {"mean-field"}


@pytest.mark.parametrize("out, extra, message", [
    ("table.txt", [], "must be .csv or .json"),
    ("missing/table.csv", [], "does not exist"),
    ("table.csv", ["--draws", "3"], "--draws"),
])
def test_cli_errors_are_one_line_and_write_nothing(cli_files, tmp_path, capsys, out, extra, message):
    target = tmp_path / out
    code = main(["compare", "--recording", str(cli_files / "rec.npz"), "--preset", "linear-gaussian",
                 "--preset", str(cli_files / "lg3.toml"), "--out", str(target)] + extra)
    err = capsys.readouterr().err
    assert code == 2 and message in err and err.count("\n") == 1
    assert not target.exists()


def test_cli_single_model_is_an_error(cli_files, tmp_path, capsys):
    code = main(["compare", "--recording", str(cli_files / "rec.npz"), "--preset", "linear-gaussian",
                 "--out", str(tmp_path / "t.csv")])
    assert code == 2 and "at least two" in capsys.readouterr().err


def test_the_csv_table_never_holds_a_non_finite_number():
    import math

    from vbgui.app.compare import ComparisonRow, ComparisonTable

    row = ComparisonRow(model="m", preset="p", family="full-rank", parameters=3, bins=100, converged=True,
                        elbo=-1.0, iw_log_evidence=-1.0, iw_log_evidence_se=0.1, log_evidence=None, evidence=-1.0,
                        evidence_se=0.1, evidence_source="iw", psis_khat=math.nan, evidence_khat=math.nan,
                        evidence_reliable=True, delta_elbo=0.0, delta_evidence=-800.0, delta_evidence_se=0.1,
                        bayes_factor=math.inf, standing="best", seconds=0.5)
    text = ComparisonTable("rec.npz", 100, 0, (row,)).to_csv()
    assert "inf" not in text and "nan" not in text
    header, values = (line.split(",") for line in text.splitlines())
    assert values[header.index("bayes_factor")] == "" and values[header.index("psis_khat")] == ""


def scored(model: str, evidence: float, se: float, khat: float) -> ComparisonRow:
    """A table row with only what the ranking reads (evidence, its standard error and k-hat) that matters."""
    return ComparisonRow(model=model, preset=model, family="full-rank", parameters=3, bins=100, converged=True,
                         elbo=evidence - 1.0, iw_log_evidence=evidence, iw_log_evidence_se=se, log_evidence=None,
                         evidence=evidence, evidence_se=se, evidence_source="importance-weighted, q", psis_khat=khat,
                         evidence_khat=khat, evidence_reliable=khat < 0.7, delta_elbo=0.0,
                         delta_evidence=float("nan"), delta_evidence_se=float("nan"), bayes_factor=float("nan"),
                         standing="", seconds=0.0)


def table_of(*rows: ComparisonRow) -> ComparisonTable:
    return ComparisonTable("rec", 100, 0, tuple(rank_rows(rows)))


def test_an_unreliable_evidence_is_never_best_and_the_verdict_says_why():
    # the reported case: mean-field 0.001 nats "ahead" with k-hat 0.97, full-rank reliable
    table = table_of(scored("poisson-glm / mean-field", -100.0, 0.02, 0.97),
                     scored("poisson-glm / full-rank", -100.001, 0.02, 0.3))
    assert [row.model for row in table.rows] == ["poisson-glm / full-rank", "poisson-glm / mean-field"]
    assert table.best.model == "poisson-glm / full-rank" and table.rows[1].standing == "unreliable"
    assert table.verdict.startswith("Best: poisson-glm / full-rank, the only model with a reliable evidence.")
    assert "Not ranked: poisson-glm / mean-field (k-hat 0.97 >= 0.7: its evidence is unreliable)" in table.verdict
    nothing = table_of(scored("a", -10.0, 0.1, 0.9), scored("b", -12.0, 0.1, 1.2))
    assert nothing.best is None and nothing.verdict.startswith("No model can be called best")
    assert {row.standing for row in nothing.rows} == {"unreliable"}


def test_differences_within_their_standard_error_are_ties():
    table = table_of(scored("a", -100.0, 0.3, 0.2), scored("b", -100.2, 0.3, 0.2), scored("c", -103.0, 0.3, 0.2))
    assert [row.standing for row in table.rows] == ["tie", "tie", "lower"] and table.best is None
    assert table.rows[1].delta_evidence_se == pytest.approx(np.hypot(0.3, 0.3))
    assert table.verdict.startswith("Tie: a and b") and "no single model is best" in table.verdict
    clear = table_of(scored("a", -100.0, 0.05, 0.2), scored("b", -100.8, 0.05, 0.4))
    assert [row.standing for row in clear.rows] == ["best", "lower"] and clear.best.model == "a"
    assert clear.verdict == "Best: a, 0.800 ± 0.071 nats above b (Bayes factor 2.23)."
    assert clear.rows[1].bayes_factor == pytest.approx(np.exp(-0.8))
    assert "standing" in clear.format_text() and clear.verdict in clear.format_text()
