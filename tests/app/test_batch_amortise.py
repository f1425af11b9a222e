"""`vbgui batch --amortise`: a result per unit in the fit contract with its gaps, summary.csv's gap columns,
and hostile flags refused in one line with nothing written (real processes under an address-space limit)."""
from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.app.test_batch import multi_unit_arrays, run_batch_cli, write_recording
from tests.cli_subprocess import assert_refused, interrupt_when
from vbgui.app.amortise import AMORTISE_SUMMARY_COLUMNS
from vbgui.app.result import FitResult
from vbgui.io.result_json import read_json


@pytest.fixture(scope="module")
def recording_path(tmp_path_factory) -> Path:
    return write_recording(tmp_path_factory.mktemp("rec") / "population.npz", **multi_unit_arrays(6, 2000))


@pytest.fixture(scope="module")
def one_unit_path(tmp_path_factory) -> Path:
    arrays = multi_unit_arrays(1, 1000)
    return write_recording(tmp_path_factory.mktemp("one") / "one.npz", **arrays)


def read_rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as handle:
        rows = list(csv.reader(handle))
    assert tuple(rows[0]) == AMORTISE_SUMMARY_COLUMNS
    return [dict(zip(rows[0], row)) for row in rows[1:]]


def test_amortise_writes_every_unit_in_the_fit_contract_with_its_gaps(tmp_path, recording_path):
    out = tmp_path / "out"
    completed = run_batch_cli("--preset", "poisson-glm", "--recording", recording_path, "--out", out,
                              "--amortise", "--train", 4, "--refine", 2, "--workers", 2)
    assert completed.returncode == 0, completed.stderr
    rows = read_rows(out / "summary.csv")
    assert [row["unit"] for row in rows] == [f"cell-{i}" for i in range(6)]
    amortised = [row for row in rows if row["amortised"] == "true"]
    assert len(amortised) == 2 and sum(row["amortised"] == "false" for row in rows) == 4
    for row in rows:
        data = read_json(out / f"{row['unit']}.json")
        record = FitResult.from_dict(data, row["unit"]).amortisation
        assert float(row["approximation_gap"]) == record["approximation_gap"]
        assert record["approximation_gap"] >= -3 * record["log_evidence_se"]
        if row["amortised"] == "true":
            assert float(row["amortisation_gap"]) == record["amortisation_gap"] >= 0
            assert record["refine_passes"] == 2 and data["iterations"] <= 2
            assert record["amortisation_gap"] <= record["encoder_amortisation_gap"]
        else:
            assert row["amortisation_gap"] == "" and data["converged"]
    assert "amortised (" in completed.stderr and "4 fitted and 2 amortised in" in completed.stderr


@pytest.mark.parametrize("flags, fragments", [
    (("--amortise", "--train", 6), ("--train must be an integer from 1 to 5",)),
    (("--amortise", "--train", 60), ("--train must be an integer from 1 to 5", "got 60")),
    (("--amortise", "--train", 0), ("--train must be 1 or more", "got 0")),
    (("--amortise", "--train", -2), ("--train must be 1 or more", "got -2")),
    (("--amortise", "--refine", -1), ("--refine must be 0 or more", "got -1")),
    (("--train", 3), ("--train applies with --amortise only",)),
    (("--refine", 1), ("--refine applies with --amortise only",)),
    (("--amortise", "--resume"), ("does not combine with --resume",)),
    (("--amortise", "--units", "2"), ("--amortise needs at least 2 units", "got 1")),
])
def test_hostile_amortise_flags_are_refused_in_one_line_and_nothing_is_written(tmp_path, recording_path, flags,
                                                                                fragments):
    out = tmp_path / "out"
    completed = run_batch_cli("--preset", "poisson-glm", "--recording", recording_path, "--out", out, *flags)
    assert_refused(completed, *fragments)
    assert not out.exists()


def test_amortise_refuses_a_family_the_encoder_cannot_output(tmp_path, recording_path):
    preset = tmp_path / "low-rank.toml"
    preset.write_text('likelihood = "poisson"\n[fit]\nfamily = "low-rank"\n')
    out = tmp_path / "out"
    assert_refused(run_batch_cli("--preset", preset, "--recording", recording_path, "--out", out, "--amortise"),
                   "--amortise", "low-rank")
    assert not out.exists()


def test_amortise_with_a_one_unit_recording_is_refused(tmp_path, one_unit_path):
    out = tmp_path / "out"
    assert_refused(run_batch_cli("--preset", "poisson-glm", "--recording", one_unit_path, "--out", out,
                                 "--amortise"), "--amortise needs at least 2 units")
    assert not out.exists()


def test_amortise_counts_only_units_with_usable_data(tmp_path):
    arrays = multi_unit_arrays(3, 800)
    counts = arrays["counts"].astype(float)
    counts[3, 1] = np.nan
    counts[4, 2] = -1
    path = write_recording(tmp_path / "bad.npz", **{**arrays, "counts": counts})
    out = tmp_path / "out"
    assert_refused(run_batch_cli("--preset", "poisson-glm", "--recording", path, "--out", out, "--amortise"),
                   "at least 2 units with usable data", "1 of the 3")
    assert not out.exists()


def test_sigint_in_the_amortised_stage_stops_within_a_second_keeping_what_finished(tmp_path):
    path = write_recording(tmp_path / "many.npz", **multi_unit_arrays(30, 20_000))
    out = tmp_path / "fits"
    env = {key: value for key, value in os.environ.items() if key != "VBGUI_MEMORY_LIMIT"}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[2])
    process = subprocess.Popen([sys.executable, "-m", "vbgui", "batch", "--preset", "poisson-glm", "--recording",
                                str(path), "--out", str(out), "--workers", "2", "--amortise", "--train", "4"],
                               stderr=subprocess.PIPE, text=True, env=env)
    status, elapsed, rest = interrupt_when(process, lambda line: "amortised (" in line)
    assert status == 130 and elapsed < 1.0, (status, elapsed, rest)
    assert "Traceback" not in rest and "interrupted; kept the" in rest
    results = sorted(p.name for p in out.glob("*.json"))
    assert 5 <= len(results) < 30
    assert sorted(f"{row['unit']}.json" for row in read_rows(out / "summary.csv")) == results
    for result in results:
        FitResult.from_dict(read_json(out / result))  # complete files only


def test_the_help_states_the_default_training_size_the_service_uses():
    from vbgui.app.amortise import DEFAULT_TRAIN
    from vbgui.cli import batch

    assert batch.DEFAULT_TRAIN == DEFAULT_TRAIN
