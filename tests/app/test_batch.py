"""`vbgui batch` and vbgui.app.batch: many units, one result file each and summary.csv; a bad unit fails
alone; serial, threads and Dask agree bit for bit; hostile input in real processes under an address-space
limit."""
from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tests.cli_subprocess import address_space_limit, assert_refused, interrupt_when
from vbgui.app.batch import (SUMMARY_COLUMNS, fit_unit, resolve_units, result_file_stems, resumable,
                             run_batch)
from vbgui.app.fit import FitSession, recording_checksum
from vbgui.app.result import FitResult
from vbgui.core.cancel import CancelToken
from vbgui.errors import RecordingError, VbguiError
from vbgui.io.loaders import LoadOptions, read_recording_file
from vbgui.io.recording import RecordingFile
from vbgui.models.preset import load_preset
from vbgui.models.synthetic import make_synthetic_recording

ADDRESS_SPACE_LIMIT = 3 * 2 ** 30
ROOT = Path(__file__).resolve().parents[2]


def multi_unit_arrays(n_units: int, n_bins: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Counts (T, U) of units driven by one stimulus through different filters, with their names."""
    stimulus = make_synthetic_recording("poisson", n_bins=n_bins, stimulus_lags=10, seed=seed).stimulus
    rng = np.random.default_rng(seed + 1)
    drives = [np.convolve(stimulus[:, 0], 0.4 * rng.standard_normal(6))[:n_bins] for _ in range(n_units)]
    counts = np.column_stack([rng.poisson(0.2 * np.exp(drive)) for drive in drives])
    return {"counts": counts, "stimulus": stimulus, "dt": np.array(0.01),
            "unit_names": np.array([f"cell-{i}" for i in range(n_units)])}


def write_recording(path: Path, **arrays) -> Path:
    np.savez(path, **arrays)
    return path


def run_batch_cli(*args, limited: bool = True, env_extra: dict[str, str] | None = None,
                  timeout: float = 300) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if key != "VBGUI_MEMORY_LIMIT"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH", "")]))
    env.update(env_extra or {})
    return subprocess.run([sys.executable, "-m", "vbgui", "batch", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, env=env,
                          preexec_fn=address_space_limit(ADDRESS_SPACE_LIMIT) if limited else None)


def read_summary(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as handle:
        rows = list(csv.reader(handle))
    assert tuple(rows[0]) == SUMMARY_COLUMNS
    return [dict(zip(rows[0], row)) for row in rows[1:]]


def no_temp_files(folder: Path) -> bool:
    return not any(".vbgui-tmp-" in path.name for path in folder.iterdir())


@pytest.fixture(scope="module")
def recording_path(tmp_path_factory) -> Path:
    return write_recording(tmp_path_factory.mktemp("rec") / "population.npz", **multi_unit_arrays(4, 3000))


@pytest.fixture(scope="module")
def preset():
    return load_preset("poisson-glm")


# --- the Qt-free service ---------------------------------------------------------------------------------------

def test_units_are_resolved_from_all_names_and_indices_in_order_without_repeats(recording_path):
    recording = read_recording_file(recording_path)
    assert resolve_units(recording, "all") == [0, 1, 2, 3]
    assert resolve_units(recording, "3,cell-1, 0,3") == [3, 1, 0]
    with pytest.raises(VbguiError, match=r"no unit '7'; its units are 0: cell-0, 1: cell-1, 2: cell-2, 3: cell-3"):
        resolve_units(recording, "0,7")
    with pytest.raises(VbguiError, match="an empty entry"):
        resolve_units(recording, "0,,1")


def test_result_file_names_are_safe_and_distinct():
    counts = np.ones((10, 4))
    plain = RecordingFile(counts, ("a", "b c", "d/e", "f"), 0.01, "x")
    assert result_file_stems(plain) == ["a", "b_c", "d_e", "f"]
    clashing = RecordingFile(counts, ("a b", "a_b", "..", "z"), 0.01, "x")
    stems = result_file_stems(clashing)
    assert stems == ["0_a_b", "1_a_b", "2_..", "3_z"] and len(set(stems)) == 4


def test_serial_and_threads_give_bit_identical_results_equal_to_a_single_fit(recording_path, preset):
    recording = read_recording_file(recording_path)
    serial = {o.index: o.result for o in run_batch(recording, preset, [0, 1, 2, 3], executor="serial")}
    threaded = {o.index: o.result for o in run_batch(recording, preset, [0, 1, 2, 3], executor="threads",
                                                     workers=3)}
    assert sorted(serial) == sorted(threaded) == [0, 1, 2, 3]
    single = FitSession(preset, recording.unit(2)).run().to_dict()
    for index in serial:
        for key in ("elbo", "expected_log_likelihood", "kl", "parameters", "trace", "iterations"):
            assert serial[index][key] == threaded[index][key], (index, key)
    assert serial[2]["parameters"] == single["parameters"] and serial[2]["elbo"] == single["elbo"]
    assert len({serial[i]["elbo"] for i in serial}) == 4  # four different units, not one fitted four times
    assert serial[1]["unit"] == "cell-1"
    assert serial[1]["recording_checksum"] == recording_checksum(recording.unit(1))


def test_a_unit_with_nan_or_negative_counts_fails_alone_with_its_reason(tmp_path, preset):
    arrays = multi_unit_arrays(4, 2000)
    counts = arrays["counts"].astype(float)
    counts[17, 1] = np.nan
    counts[5, 3] = -2
    path = write_recording(tmp_path / "bad.npz", **{**arrays, "counts": counts})
    with pytest.raises(RecordingError, match="'counts' of unit 'cell-1' contains NaN"):
        read_recording_file(path)  # a user picking one unit (vbgui fit, the window) hears of it at once
    recording = read_recording_file(path, LoadOptions(keep_bad_units=True))
    assert sorted(recording.unit_problems) == [1, 3]
    outcomes = {o.index: o for o in run_batch(recording, preset, [0, 1, 2, 3], workers=2)}
    assert outcomes[0].succeeded and outcomes[2].succeeded
    assert not outcomes[1].succeeded and "'counts' of unit 'cell-1' contains NaN or Inf (first at bin 17)" in \
        outcomes[1].error
    assert not outcomes[3].succeeded and "'counts' of unit 'cell-3' contains negative counts (first at bin 5)" in \
        outcomes[3].error
    assert outcomes[1].summary_row()["converged"] == "" and outcomes[0].summary_row()["converged"] == "true"
    with pytest.raises(RecordingError, match="contains NaN"):
        recording.unit("cell-1")


def test_a_file_whose_every_unit_is_bad_is_refused_when_read(tmp_path):
    arrays = multi_unit_arrays(2, 500)
    counts = -arrays["counts"] - 1
    with pytest.raises(RecordingError, match="negative counts.*every other unit has a problem too"):
        read_recording_file(write_recording(tmp_path / "bad.npz", **{**arrays, "counts": counts}),
                            LoadOptions(keep_bad_units=True))


def test_a_cancelled_batch_stops_and_yields_no_cancelled_units(recording_path, preset):
    recording = read_recording_file(recording_path)
    cancel = CancelToken()
    seen = []
    for outcome in run_batch(recording, preset, [0, 1, 2, 3], workers=1, cancel=cancel,
                             on_progress=lambda progress: seen.append((progress.finished, progress.total))):
        cancel.cancel()
    assert seen == [(1, 4)]
    assert fit_unit(recording, 0, preset, cancel).cancelled


def test_resumable_needs_the_same_data_and_preset(tmp_path, recording_path, preset):
    recording = read_recording_file(recording_path)
    result = next(run_batch(recording, preset, [1], executor="serial")).result
    path = tmp_path / "cell-1.json"
    path.write_text(json.dumps(result))
    assert resumable(path, recording, 1, preset)
    assert not resumable(path, recording, 2, preset)  # another unit's data
    assert not resumable(path, recording, 1, preset.with_fit(max_iter=7))
    path.write_text("{not json")
    assert not resumable(path, recording, 1, preset)


# --- the command ------------------------------------------------------------------------------------------------

def test_batch_writes_one_fit_result_per_unit_and_a_summary(tmp_path, recording_path):
    out = tmp_path / "fits"
    completed = run_batch_cli("--preset", "poisson-glm", "--recording", recording_path, "--out", out,
                              "--units", "cell-3,0,2", "--workers", "2")
    assert completed.returncode == 0, completed.stderr
    assert sorted(p.name for p in out.iterdir()) == ["cell-0.json", "cell-2.json", "cell-3.json", "summary.csv"]
    rows = read_summary(out / "summary.csv")
    assert [row["unit"] for row in rows] == ["cell-3", "cell-0", "cell-2"]
    for row in rows:
        data = json.loads((out / f"{row['unit']}.json").read_text())
        result = FitResult.from_dict(data)  # the vbgui fit contract
        assert result.unit == row["unit"] and row["converged"] == "true" and row["error"] == ""
        assert float(row["elbo"]) == result.elbo and int(row["iterations"]) == result.iterations
        assert row["log_evidence"] == ""  # poisson: not known
    single = tmp_path / "single.json"
    fitted = subprocess.run([sys.executable, "-m", "vbgui", "fit", "--preset", "poisson-glm", "--recording",
                             str(recording_path), "--unit", "cell-2", "--out", str(single)], capture_output=True,
                            text=True, timeout=300)
    assert fitted.returncode == 0, fitted.stderr
    one, batch = json.loads(single.read_text()), json.loads((out / "cell-2.json").read_text())
    assert set(one) == set(batch)
    assert one["parameters"] == batch["parameters"] and one["elbo"] == batch["elbo"]

    again = run_batch_cli("--preset", "poisson-glm", "--recording", recording_path, "--out", out, "--quiet")
    assert_refused(again, "cell-0.json: already exists", "--force")
    assert not (out / "cell-1.json").exists()

    before = (out / "cell-0.json").read_bytes()
    resumed = run_batch_cli("--preset", "poisson-glm", "--recording", recording_path, "--out", out, "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert "1 of 4 units (3 already done)" in resumed.stderr and "[4/4] cell-1: converged" in resumed.stderr
    assert (out / "cell-0.json").read_bytes() == before
    assert [row["unit"] for row in read_summary(out / "summary.csv")] == ["cell-0", "cell-1", "cell-2", "cell-3"]

    other_preset = run_batch_cli("--preset", "bernoulli-glm", "--recording", recording_path, "--out", out,
                                 "--resume", "--quiet")
    assert_refused(other_preset, "cell-0.json: already exists")
    assert (out / "cell-0.json").read_bytes() == before and no_temp_files(out)


def test_failed_units_exit_2_after_writing_the_others_and_their_reasons(tmp_path):
    arrays = multi_unit_arrays(3, 2000)
    counts = arrays["counts"].astype(float)
    counts[3, 0] = np.inf
    path = write_recording(tmp_path / "bad.npz", **{**arrays, "counts": counts})
    out = tmp_path / "fits"
    completed = run_batch_cli("--preset", "poisson-glm", "--recording", path, "--out", out, "--quiet")
    assert_refused(completed, "1 of 3 units failed", "summary.csv", "2 other results")
    assert sorted(p.name for p in out.iterdir()) == ["cell-1.json", "cell-2.json", "summary.csv"]
    rows = {row["unit"]: row for row in read_summary(out / "summary.csv")}
    assert "contains NaN or Inf (first at bin 3)" in rows["cell-0"]["error"] and rows["cell-0"]["elbo"] == ""
    assert rows["cell-1"]["error"] == "" and rows["cell-1"]["converged"] == "true"


@pytest.mark.parametrize("flags,fragments", [
    (["--units", "cell-0,cell-9"], ["--units", "no unit 'cell-9'", "0: cell-0, 1: cell-1"]),
    (["--workers", "0"], ["--workers must be an integer from 1"]),
    (["--workers", "2", "--scheduler", "tcp://127.0.0.1:9"], ["--workers applies to threads"]),
    (["--preset", "no-such-preset"], ["no-such-preset: no such preset"]),
    (["--memory-limit", "1M"], ["memory limit"]),
])
def test_bad_flags_are_refused_in_one_line_and_nothing_is_written(tmp_path, recording_path, flags, fragments):
    base = {"--preset": "poisson-glm", "--recording": str(recording_path), "--out": str(tmp_path / "fits")}
    for flag, value in zip(flags[::2], flags[1::2]):
        base[flag] = value
    completed = run_batch_cli(*[item for pair in base.items() for item in pair], "--quiet")
    assert_refused(completed, *fragments)
    assert not (tmp_path / "fits").exists()


def test_an_output_that_is_a_file_or_under_a_missing_folder_is_refused(tmp_path, recording_path):
    afile = tmp_path / "f"
    afile.write_text("x")
    assert_refused(run_batch_cli("--preset", "poisson-glm", "--recording", recording_path, "--out", afile),
                   "is not a folder")
    assert_refused(run_batch_cli("--preset", "poisson-glm", "--recording", recording_path, "--out",
                                 tmp_path / "no" / "fits"), "does not exist")


def test_an_unreachable_scheduler_is_one_line_within_the_connect_timeout(tmp_path, recording_path):
    pytest.importorskip("distributed")
    start = time.perf_counter()
    completed = run_batch_cli("--preset", "poisson-glm", "--recording", recording_path, "--out", tmp_path / "o",
                              "--scheduler", "tcp://127.0.0.1:9", limited=False)
    assert_refused(completed, "--scheduler tcp://127.0.0.1:9: cannot reach a Dask scheduler within 5 s")
    assert time.perf_counter() - start < 30 and not (tmp_path / "o").exists()
    no_port = run_batch_cli("--preset", "poisson-glm", "--recording", recording_path, "--out", tmp_path / "o",
                            "--scheduler", "localhost", limited=False)
    assert_refused(no_port, "--scheduler localhost: not a scheduler address like tcp://HOST:PORT")


def test_an_address_where_something_else_answers_is_not_taken_for_a_scheduler(tmp_path, recording_path):
    pytest.importorskip("distributed")
    import socket
    import threading

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()

    def babble() -> None:  # an HTTP server, say: it answers with bytes Dask cannot parse
        connection, _ = server.accept()
        connection.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n" * 64)
        time.sleep(2)
        connection.close()

    threading.Thread(target=babble, daemon=True).start()
    address = f"tcp://127.0.0.1:{server.getsockname()[1]}"
    start = time.perf_counter()
    completed = run_batch_cli("--preset", "poisson-glm", "--recording", recording_path, "--out", tmp_path / "o",
                              "--scheduler", address, limited=False)
    server.close()
    assert_refused(completed, f"--scheduler {address}: ")
    assert "not a Dask scheduler" in completed.stderr or "cannot reach" in completed.stderr
    assert time.perf_counter() - start < 30 and not (tmp_path / "o").exists()


def test_without_dask_the_scheduler_flag_says_how_to_install_it(tmp_path, recording_path):
    blocker = tmp_path / "blocker"
    (blocker / "dask").mkdir(parents=True)
    (blocker / "dask" / "__init__.py").write_text("raise ImportError('No module named dask')\n")
    completed = run_batch_cli("--preset", "poisson-glm", "--recording", recording_path, "--out", tmp_path / "o",
                              "--scheduler", "tcp://127.0.0.1:9",
                              env_extra={"PYTHONPATH": f"{blocker}{os.pathsep}{ROOT}"})
    assert_refused(completed, "needs Dask", 'pip install "vbgui[cluster]"')


@pytest.mark.slow
def test_sigint_stops_within_a_second_keeping_finished_units_and_their_summary(tmp_path):
    path = write_recording(tmp_path / "many.npz", **multi_unit_arrays(40, 100_000))
    out = tmp_path / "fits"
    env = {key: value for key, value in os.environ.items() if key != "VBGUI_MEMORY_LIMIT"}
    env["PYTHONPATH"] = str(ROOT)
    process = subprocess.Popen([sys.executable, "-m", "vbgui", "batch", "--preset", "poisson-glm", "--recording",
                                str(path), "--out", str(out), "--workers", "2"], stderr=subprocess.PIPE, text=True,
                               env=env)
    status, elapsed, rest = interrupt_when(process, lambda line: line.startswith("[2/40]"))  # units are finishing
    assert status == 130 and elapsed < 1.0, (status, elapsed, rest)
    assert "Traceback" not in rest and "interrupted; kept the" in rest
    results = sorted(p.name for p in out.glob("*.json"))
    assert 2 <= len(results) < 40 and no_temp_files(out)
    assert sorted(f"{row['unit']}.json" for row in read_summary(out / "summary.csv")) == results
    for result in results:
        FitResult.from_dict(json.loads((out / result).read_text()))  # complete files only


@pytest.mark.slow
def test_a_dask_cluster_gives_the_results_threads_give(tmp_path, recording_path):
    distributed = pytest.importorskip("distributed")
    threads_out, dask_out = tmp_path / "threads", tmp_path / "dask"
    assert run_batch_cli("--preset", "poisson-glm", "--recording", recording_path, "--out", threads_out,
                         "--quiet").returncode == 0
    arrays = multi_unit_arrays(3, 2000)
    counts = arrays["counts"].astype(float)
    counts[9, 1] = -1
    bad = write_recording(tmp_path / "bad.npz", **{**arrays, "counts": counts})
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False, protocol="tcp",
                                  dashboard_address=None) as cluster:
        address = cluster.scheduler_address
        completed = run_batch_cli("--preset", "poisson-glm", "--recording", recording_path, "--out", dask_out,
                                  "--scheduler", address, limited=False)
        resumed = run_batch_cli("--preset", "poisson-glm", "--recording", recording_path, "--out", dask_out,
                                "--scheduler", address, "--resume", limited=False)
        with_bad_unit = run_batch_cli("--preset", "poisson-glm", "--recording", bad, "--out", tmp_path / "bad",
                                      "--scheduler", address, "--quiet", limited=False)
    assert completed.returncode == 0, completed.stderr
    assert resumed.returncode == 0 and "(0 fitted" in resumed.stderr and "4 resumed" in resumed.stderr
    assert_refused(with_bad_unit, "1 of 3 units failed", "cell-1", "negative counts (first at bin 9)")
    assert sorted(p.name for p in (tmp_path / "bad").iterdir()) == ["cell-0.json", "cell-2.json", "summary.csv"]
    assert "on the Dask cluster at tcp://" in completed.stderr
    for name in ("cell-0", "cell-1", "cell-2", "cell-3"):
        on_threads = json.loads((threads_out / f"{name}.json").read_text())
        on_dask = json.loads((dask_out / f"{name}.json").read_text())
        for key in ("elbo", "parameters", "trace", "recording_checksum", "unit", "preset"):
            assert on_threads[key] == on_dask[key], (name, key)


def test_simulate_units_writes_a_population_sharing_one_stimulus(tmp_path):
    out = tmp_path / "pop.npz"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    completed = subprocess.run([sys.executable, "-m", "vbgui", "simulate", "--units", "3", "--bins", "2000",
                                "--out", str(out)], capture_output=True, text=True, timeout=120, env=env)
    assert completed.returncode == 0 and "2000 bins of 3 units" in completed.stderr, completed.stderr
    population = read_recording_file(out)
    assert population.unit_names == ("unit0", "unit1", "unit2") and population.responses.shape == (2000, 3)
    assert population.stimulus.shape == (2000, 1) and not population.truth
    rates = [population.unit(i).mean_rate() for i in range(3)]
    assert len(set(rates)) == 3 and all(rate > 0 for rate in rates)
    single = make_synthetic_recording("poisson", n_bins=2000, seed=1, stimulus=population.stimulus,
                                      mean_response=0.2, drive_sd=0.5)
    assert np.array_equal(single.stimulus, population.stimulus)  # a given stimulus is used as it is


@pytest.mark.parametrize("flags,fragment", [(["--units", "0"], "--units must be an integer from 1 to 1000"),
                                            (["--units", "1001"], "--units must be an integer from 1 to 1000")])
def test_simulate_refuses_a_bad_number_of_units(tmp_path, flags, fragment):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    completed = subprocess.run([sys.executable, "-m", "vbgui", "simulate", "--out", str(tmp_path / "p.npz"),
                                *flags], capture_output=True, text=True, timeout=60, env=env,
                               preexec_fn=address_space_limit(ADDRESS_SPACE_LIMIT))
    assert_refused(completed, fragment)
    assert not (tmp_path / "p.npz").exists()


def test_an_unforeseen_error_in_one_unit_fails_that_unit_alone(monkeypatch, recording_path, preset):
    import vbgui.app.batch as batch

    real_session = batch.FitSession

    def session(preset, recording, cancel):
        if recording.unit == "cell-2":
            raise np.linalg.LinAlgError("leading minor not positive definite")
        return real_session(preset, recording, cancel)

    monkeypatch.setattr(batch, "FitSession", session)
    outcomes = {o.unit: o for o in run_batch(read_recording_file(recording_path), preset, [0, 1, 2, 3], workers=2)}
    assert [u for u, o in sorted(outcomes.items()) if o.succeeded] == ["cell-0", "cell-1", "cell-3"]
    assert outcomes["cell-2"].error == ("unexpected error, please report it: LinAlgError: leading minor not "
                                        "positive definite")


@pytest.mark.slow
def test_sigint_on_a_dask_cluster_stops_at_once_and_keeps_finished_units(tmp_path):
    distributed = pytest.importorskip("distributed")
    path = write_recording(tmp_path / "many.npz", **multi_unit_arrays(30, 100_000))
    out = tmp_path / "fits"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False, protocol="tcp",
                                  dashboard_address=None) as cluster:
        process = subprocess.Popen([sys.executable, "-m", "vbgui", "batch", "--preset", "poisson-glm",
                                    "--recording", str(path), "--out", str(out), "--scheduler",
                                    cluster.scheduler_address], stderr=subprocess.PIPE, text=True, env=env)
        status, elapsed, rest = interrupt_when(process, lambda line: line.startswith("[2/30]"))
    assert status == 130 and elapsed < 1.0, (status, elapsed, rest)
    results = sorted(p.name for p in out.glob("*.json"))
    assert 2 <= len(results) < 30 and no_temp_files(out)
    assert sorted(f"{row['unit']}.json" for row in read_summary(out / "summary.csv")) == results
