"""The coupled population GLM end to end: a coupled batch on the shipped population recovers its known
couplings; the unit x unit coupling matrix the population view draws; the shipped file is what its script
makes; coupled fits and simulations from the command line, with their hostile input, in real processes."""
from __future__ import annotations

import csv
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.cli_subprocess import assert_refused, run_vbgui
from vbgui.app.batch import run_batch
from vbgui.app.coupling import coupling_matrix, coupling_matrix_of_folder
from vbgui.app.fit import FitSession
from vbgui.errors import VbguiError
from vbgui.io.loaders import read_recording_file, shipped_recordings
from vbgui.io.npz import read_npz, save_npz, save_units_npz
from vbgui.models.preset import preset_from_dict, preset_from_toml
from vbgui.models.synthetic import make_coupled_population, make_synthetic_recording

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = "coupled-population"


def readme_coupling_preset() -> str:
    """The coupled preset the README's population section writes (its printf line, as the shell expands it)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    line = next(line for line in readme.splitlines() if "coupling_lags" in line and line.startswith("printf"))
    return re.search(r"printf '(.*)' >", line).group(1).replace("\\n", "\n")


def readme_python_block() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    return next(block for block in re.findall(r"```python\n(.*?)```", readme, flags=re.S)
                if "coupling_matrix_of_folder" in block)


@pytest.fixture(scope="module")
def shipped_batch(tmp_path_factory):
    """The README's coupled batch on the shipped population, run as the README runs it."""
    folder = tmp_path_factory.mktemp("coupled")
    (folder / "coupled.toml").write_text(readme_coupling_preset())
    completed = run_vbgui("batch", "--preset", folder / "coupled.toml", "--recording", SHIPPED,
                          "--out", folder / "coupled-fits", "--workers", "2", "--quiet", timeout=600)
    assert completed.returncode == 0, completed.stderr
    return folder


def test_the_shipped_population_is_listed_and_what_its_script_makes(tmp_path):
    path = shipped_recordings()[SHIPPED]
    assert path.stat().st_size < 2_000_000
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        from make_coupled_population import regenerate
    finally:
        sys.path.remove(str(ROOT / "tools"))
    assert regenerate(tmp_path / "again.npz") == 0
    shipped, again = read_npz(path), read_npz(tmp_path / "again.npz")
    np.testing.assert_array_equal(shipped.responses, again.responses)
    np.testing.assert_array_equal(shipped.stimulus, again.stimulus)
    assert shipped.unit_truth == again.unit_truth and shipped.responses.shape == (50_000, 20)


def test_a_coupled_batch_recovers_the_shipped_couplings(shipped_batch):
    """Measured (seed 1 population, 50,000 bins of 5 ms, full-rank exact fits): all 380 summed couplings lie
    within 2.8 posterior sds of the truth; the 39 true couplings (|summed weight| 0.33 to 1.05) have |z| >= 5.8,
    the right sign and at most 22 % relative error; the 341 zero couplings have |mean| <= 0.29 with a median
    sd of 0.077 and |z| <= 2.8."""
    matrix = coupling_matrix_of_folder(shipped_batch / "coupled-fits")
    population = read_recording_file(SHIPPED)
    assert matrix.units == population.unit_names and matrix.lags == 3
    off_diagonal = ~np.eye(20, dtype=bool)
    assert np.all(np.isnan(np.diag(matrix.mean))) and np.all(np.isfinite(matrix.mean[off_diagonal]))
    strong = off_diagonal & (np.abs(matrix.truth) > 0.3)
    zero = off_diagonal & (matrix.truth == 0)
    assert strong.sum() + zero.sum() == 380 and strong.sum() >= 30
    error_in_sds = (matrix.mean - matrix.truth) / matrix.sd
    assert np.max(np.abs(error_in_sds[off_diagonal])) < 4
    assert np.all(np.sign(matrix.mean[strong]) == np.sign(matrix.truth[strong]))
    assert np.min(np.abs(matrix.z[strong])) > 4
    assert np.max(np.abs(matrix.mean[strong] - matrix.truth[strong]) / np.abs(matrix.truth[strong])) < 0.35
    assert np.max(np.abs(matrix.mean[zero])) < 0.4 and np.median(matrix.sd[zero]) < 0.1
    assert np.mean(np.abs(matrix.z[zero]) > 3) < 0.02
    lag_error = (matrix.lag_mean - np.stack([[[population.unit(i).truth.get(f"couple[{p}][{j}]", np.nan)
                                               for j in range(3)] for p in population.unit_names]
                                             for i in range(20)])) / matrix.lag_sd
    assert np.nanmax(np.abs(lag_error)) < 4.5


def test_the_readme_python_block_prints_the_strongest_coupling(shipped_batch):
    completed = subprocess.run([sys.executable, "-c", readme_python_block()], cwd=shipped_batch, capture_output=True,
                               text=True, timeout=120, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert completed.returncode == 0, completed.stderr
    assert re.search(r"strongest: unit\d+ -> unit\d+, summed coupling [-0-9.]+ \(z = [-0-9.]+\)", completed.stdout)


def fitted_population(tmp_path, **preset_design):
    population = make_coupled_population(n_units=4, n_bins=4000, stimulus_lags=3, spike_history_lags=1,
                                         coupling_lags=2, coupling_fraction=0.5, seed=2)
    preset = preset_from_dict({"likelihood": "poisson", "design": {"stimulus_lags": 3, "spike_history_lags": 1,
                                                                   "coupling_lags": 2, **preset_design}})
    outcomes = list(run_batch(population, preset, range(4), executor="serial"))
    return population, [outcome.result for outcome in outcomes]


def test_the_matrix_reads_each_fit_by_target_and_source(tmp_path):
    population, results = fitted_population(tmp_path)
    matrix = coupling_matrix(results)
    assert matrix.units == ("unit0", "unit1", "unit2", "unit3")
    for row, result in enumerate(results):
        names, mean = result["parameters"]["names"], np.array(result["parameters"]["mean"])
        cov = np.array(result["parameters"]["cov"])
        for column, source in enumerate(matrix.units):
            if column == row:
                assert np.isnan(matrix.mean[row, column]) and np.isnan(matrix.z[row, column])
                continue
            idx = [names.index(f"couple[{source}][{j}]") for j in range(2)]
            assert matrix.mean[row, column] == pytest.approx(mean[idx].sum(), rel=1e-12)
            assert matrix.sd[row, column] == pytest.approx(np.sqrt(cov[np.ix_(idx, idx)].sum()), rel=1e-12)
            np.testing.assert_allclose(matrix.lag_sd[row, column], np.sqrt(np.diag(cov)[idx]), rtol=1e-12)
            truth = population.unit_truth[matrix.units[row]]
            assert matrix.truth[row, column] == pytest.approx(sum(truth[f"couple[{source}][{j}]"] for j in range(2)))
    reordered = coupling_matrix(results[::-1], units=("unit3", "unit1", "unit0", "unit2"))
    assert reordered.mean[0, 1] == matrix.mean[3, 1]


def test_a_failed_unit_leaves_a_row_of_nan_and_a_missing_partner_a_column(tmp_path):
    counts = make_coupled_population(n_units=3, n_bins=3000, stimulus_lags=2, coupling_lags=1, seed=4).responses
    counts = counts.astype(float)
    counts[10, 2] = np.nan
    from vbgui.io.recording import RecordingFile

    population = RecordingFile(counts, ("a", "b", "c"), 0.01, "p.npz", stimulus=np.random.default_rng(0)
                               .standard_normal(3000))
    preset = preset_from_dict({"likelihood": "poisson", "design": {"stimulus_lags": 2, "coupling_lags": 1}})
    outcomes = {o.unit: o for o in run_batch(population, preset, range(3), executor="serial")}
    assert not outcomes["c"].succeeded and "NaN" in outcomes["c"].error
    assert "couple[c][0]" not in outcomes["a"].result["parameters"]["names"]
    matrix = coupling_matrix([outcomes["a"].result, outcomes["b"].result], units=("a", "b", "c"))
    assert np.all(np.isnan(matrix.mean[2])) and np.all(np.isnan(matrix.mean[:, 2]))
    assert np.isfinite(matrix.mean[0, 1]) and np.isfinite(matrix.mean[1, 0])


def test_bad_collections_of_results_are_refused(tmp_path):
    _, results = fitted_population(tmp_path)
    with pytest.raises(VbguiError, match="two results of unit 'unit1'"):
        coupling_matrix([results[1], results[1]])
    recording = make_synthetic_recording(n_bins=2000, stimulus_lags=2, seed=1)
    uncoupled = FitSession(preset_from_toml('likelihood = "poisson"\n[design]\nstimulus_lags = 2\n'), recording).run()
    with pytest.raises(VbguiError, match="no result holds coupling weights"):
        coupling_matrix([uncoupled])
    _, three_lags = fitted_population(tmp_path, coupling_lags=3)
    with pytest.raises(VbguiError, match=r"different coupling_lags \(\[2, 3\]\)"):
        coupling_matrix([results[0], three_lags[1]])
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(VbguiError, match="holds no result files"):
        coupling_matrix_of_folder(empty)
    (empty / "junk.json").write_text("{}")
    with pytest.raises(VbguiError, match="junk.json"):
        coupling_matrix_of_folder(empty)


def test_the_folder_and_the_results_give_one_matrix(shipped_batch):
    folder = shipped_batch / "coupled-fits"
    results = [json.loads(path.read_text()) for path in sorted(folder.glob("*.json"))]
    with open(folder / "summary.csv", newline="") as handle:
        order = [row["unit"] for row in csv.DictReader(handle)]
    direct, from_folder = coupling_matrix(results, order), coupling_matrix_of_folder(folder)
    np.testing.assert_array_equal(direct.mean, from_folder.mean)
    np.testing.assert_array_equal(direct.z, from_folder.z)


# -- the command line ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_population(tmp_path_factory):
    path = tmp_path_factory.mktemp("pop") / "pop.npz"
    save_units_npz(make_coupled_population(n_units=3, n_bins=3000, stimulus_lags=3, spike_history_lags=1,
                                           coupling_lags=2, coupling_fraction=0.5, seed=6), path)
    return path


def preset_file(folder: Path, coupling_lags: str, name: str = "coupled.toml") -> Path:
    path = folder / name
    path.write_text(f'likelihood = "poisson"\n[design]\nstimulus_lags = 3\nspike_history_lags = 1\n'
                    f'coupling_lags = {coupling_lags}\n')
    return path


def test_fit_unit_fits_the_chosen_unit_coupled_to_the_others(tmp_path, small_population):
    out = tmp_path / "r.json"
    completed = run_vbgui("fit", "--preset", preset_file(tmp_path, "2"), "--recording", small_population,
                          "--unit", "unit1", "--out", out, "--quiet")
    assert completed.returncode == 0, completed.stderr
    result = json.loads(out.read_text())
    assert result["unit"] == "unit1"
    assert result["parameters"]["names"][-4:] == ["couple[unit0][0]", "couple[unit0][1]", "couple[unit2][0]",
                                                  "couple[unit2][1]"]
    assert set(result["truth"]) == set(result["parameters"]["names"])


@pytest.mark.parametrize("value,fragment", [
    ("-1", "'design.coupling_lags' must be an integer from 0 to 10000, got -1"),
    ("1.5", "'design.coupling_lags' must be an integer from 0 to 10000, got 1.5 (float)"),
    ("99999", "'design.coupling_lags' must be an integer from 0 to 10000, got 99999"),
])
def test_fit_and_batch_refuse_a_bad_coupling_lags(tmp_path, small_population, value, fragment):
    preset = preset_file(tmp_path, value)
    for command in (["fit", "--out", tmp_path / "r.json"], ["batch", "--out", tmp_path / "fits"]):
        completed = run_vbgui(command[0], "--preset", preset, "--recording", small_population, *command[1:])
        assert_refused(completed, str(preset), fragment)
    assert not (tmp_path / "r.json").exists() and not (tmp_path / "fits").exists()


def test_huge_coupling_lags_are_refused_with_the_memory_estimate(tmp_path):
    for command in (["fit", "--out", tmp_path / "r.json", "--unit", "3"], ["batch", "--out", tmp_path / "fits"]):
        completed = run_vbgui(command[0], "--preset", preset_file(tmp_path, "10000"), "--recording", SHIPPED,
                              *command[1:])
        assert_refused(completed, "coupled-population.npz", "coupling_lags=10000", "would need",
                       "more than the memory limit")
    assert not (tmp_path / "r.json").exists() and not (tmp_path / "fits").exists()


def test_a_coupled_fit_whose_steps_take_minutes_is_refused_before_its_design_is_built(tmp_path):
    # 49,700 bins x 5,705 columns: 2.3 GB of design (8.5 GB with the full-rank fit's D x D matrices), within
    # --memory-limit 16G but beyond the 2 GB address space the test process gets, so building the design first
    # would fail with "out of memory" instead
    completed = run_vbgui("fit", "--preset", preset_file(tmp_path, "300"), "--recording", SHIPPED, "--unit", "0",
                          "--out", tmp_path / "r.json", "--memory-limit", "16G")
    assert_refused(completed, "one step of this fit would take about", "49700 bins x 5705 parameters")
    assert not (tmp_path / "r.json").exists()


def test_coupling_on_a_single_unit_recording_is_one_line(tmp_path):
    single = tmp_path / "single.npz"
    save_npz(make_synthetic_recording(n_bins=2000, stimulus_lags=3, seed=1), single)
    for command in (["fit", "--out", tmp_path / "r.json"], ["batch", "--out", tmp_path / "fits"]):
        completed = run_vbgui(command[0], "--preset", preset_file(tmp_path, "2"), "--recording", single, *command[1:])
        assert_refused(completed, "single.npz: coupling_lags = 2 couples a unit to the other units of a multi-unit "
                                  "recording, and this recording holds one unit")
    assert not (tmp_path / "r.json").exists() and not (tmp_path / "fits").exists()


def test_a_coupled_batch_resumes_and_a_bad_unit_fails_alone(tmp_path, small_population):
    fits = tmp_path / "fits"
    preset = preset_file(tmp_path, "2")
    assert run_vbgui("batch", "--preset", preset, "--recording", small_population, "--out", fits,
                     "--quiet").returncode == 0
    resumed = run_vbgui("batch", "--preset", preset, "--recording", small_population, "--out", fits, "--resume")
    assert resumed.returncode == 0 and "0 fitted" in resumed.stderr and "3 resumed" in resumed.stderr
    population = read_npz(small_population)
    counts = population.responses.astype(float)
    counts[100, 0] = -1
    bad = tmp_path / "bad.npz"
    np.savez(bad, counts=counts, stimulus=population.stimulus, dt=np.array(population.dt),
             unit_names=np.array(population.unit_names))
    completed = run_vbgui("batch", "--preset", preset, "--recording", bad, "--out", tmp_path / "bad-fits", "--quiet")
    assert_refused(completed, "1 of 3 units failed (first: unit0:", "negative counts")
    unit1 = json.loads((tmp_path / "bad-fits" / "unit1.json").read_text())
    assert unit1["parameters"]["names"][-2:] == ["couple[unit2][0]", "couple[unit2][1]"]
    assert not (tmp_path / "bad-fits" / "unit0.json").exists()


@pytest.mark.parametrize("flags,fragment", [
    (["--units", "3", "--coupling-lags", "-1"], "--coupling-lags must be an integer from 0 to 10000, got -1"),
    (["--units", "3", "--coupling-lags", "10001"], "--coupling-lags must be an integer from 0 to 10000"),
    (["--coupling-lags", "2"], "--coupling-lags 2 couples units to each other: it needs --units 2 or more, got 1"),
    (["--units", "3", "--coupling-lags", "2", "--coupling-fraction", "1.5"], "--coupling-fraction must lie in [0, 1]"),
    (["--units", "3", "--coupling-lags", "2", "--coupling-fraction", "nan"], "--coupling-fraction must lie in [0, 1]"),
    (["--units", "3", "--coupling-lags", "2", "--coupling-strength", "0"], "--coupling-strength must be above 0"),
    (["--units", "3", "--coupling-fraction", "0.2"], "--coupling-fraction applies to a coupled population"),
    (["--units", "3", "--coupling-lags", "2", "--latent-dim", "2"],
     "--coupling-lags and --latent-dim simulate different models"),
    (["--units", "1000", "--coupling-lags", "10000", "--bins", "2000"],
     "--coupling-lags: the coupling weights of 1000 units over 10000 lags and 2000 bins would need"),
    (["--units", "10", "--bins", "5000", "--coupling-lags", "5", "--coupling-fraction", "1",
      "--coupling-strength", "5"], "the simulated population runs away at bin"),
])
def test_simulate_refuses_bad_coupling_flags(tmp_path, flags, fragment):
    completed = run_vbgui("simulate", "--out", tmp_path / "s.npz", *flags, timeout=60)
    assert_refused(completed, fragment)
    assert not (tmp_path / "s.npz").exists()


def test_simulate_writes_a_coupled_population_with_its_truth(tmp_path):
    out = tmp_path / "s.npz"
    completed = run_vbgui("simulate", "--out", out, "--units", "3", "--bins", "2000", "--lags", "4",
                          "--coupling-lags", "2", "--seed", "4")
    assert completed.returncode == 0, completed.stderr
    assert "coupled over 2 lag(s)" in completed.stderr
    population = read_npz(out)
    expected = make_coupled_population(n_units=3, n_bins=2000, stimulus_lags=4, spike_history_lags=0,
                                       coupling_lags=2, dt=0.01, seed=4)
    np.testing.assert_array_equal(population.responses, expected.responses)
    assert population.unit_truth == expected.unit_truth


def test_a_coupled_result_reopens_with_its_recording_and_notices_a_changed_partner(shipped_batch, tmp_path):
    from vbgui.app.reopen import reopen_result

    reopened = reopen_result(shipped_batch / "coupled-fits" / "unit4.json")
    assert reopened.problem == "" and reopened.session.names == reopened.result.names
    population = read_npz(shipped_recordings()[SHIPPED])
    counts = population.responses.copy()
    counts[1000, 7] += 1  # another unit's count: a regressor of unit4's coupled fit
    copy = tmp_path / "changed.npz"
    np.savez(copy, counts=counts, stimulus=population.stimulus, dt=np.array(population.dt),
             unit_names=np.array(population.unit_names))
    result = json.loads((shipped_batch / "coupled-fits" / "unit4.json").read_text())
    result["recording"] = str(copy)
    moved = tmp_path / "unit4.json"
    moved.write_text(json.dumps(result))
    assert "has changed since the fit" in reopen_result(moved).problem
