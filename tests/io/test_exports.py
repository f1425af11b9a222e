"""Exports round-trip in every format, carry their provenance, and never overwrite silently."""
from __future__ import annotations

import json
import shutil
import subprocess

import numpy as np
import pytest

from vbgui.app.fit import FitSession
from vbgui.cli import main
from vbgui.errors import ResultFileError
from vbgui.io.exports import EXPORT_FORMATS, read_export, write_export
from vbgui.io.result_json import write_json
from vbgui.models.preset import load_preset
from vbgui.models.synthetic import make_synthetic_recording


@pytest.fixture(scope="module")
def result():
    recording = make_synthetic_recording("poisson", n_bins=3000, stimulus_lags=10, spike_history_lags=0, seed=2)
    return FitSession(load_preset("poisson-glm").with_fit(family="structured", seed=5), recording).run().to_dict()


@pytest.mark.parametrize("suffix", EXPORT_FORMATS)
def test_every_format_round_trips_parameters_and_provenance(result, tmp_path, suffix):
    path = tmp_path / f"fit{suffix}"
    write_export(result, path)
    back = read_export(path)
    assert back["names"] == result["parameters"]["names"]
    for key in ("mean", "sd", "cov"):
        np.testing.assert_array_equal(back[key], np.asarray(result["parameters"][key]))
    meta = back["metadata"]
    assert meta["vbgui_version"] == result["vbgui_version"] and meta["preset"] == result["preset"]
    assert meta["recording_checksum"].startswith("sha256:") and meta["recording_checksum"] == result[
        "recording_checksum"]
    assert meta["family"] == "structured" and meta["estimator"] == "exact" and meta["seed"] == 5
    assert meta["elbo"] == result["elbo"] and meta["kl"] == result["kl"] and meta["created"] == result["created"]


def test_existing_files_are_kept_without_force(result, tmp_path):
    path = tmp_path / "fit.csv"
    path.write_text("mine")
    with pytest.raises(ResultFileError, match="already exists; not overwritten"):
        write_export(result, path)
    assert path.read_text() == "mine" and not (tmp_path / "fit_cov.csv").exists()
    write_export(result, path, force=True)
    assert read_export(path)["names"] == result["parameters"]["names"]


def test_a_failed_write_leaves_the_earlier_file_intact(result, tmp_path, monkeypatch):
    import errno
    import os

    path = tmp_path / "fit.npz"
    write_export(result, path)
    before = path.read_bytes()

    def disk_full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(ResultFileError, match="cannot write \\(No space left on device\\); any earlier file is intact"):
        write_export(result, path, force=True)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["fit.npz"]


def test_unknown_format_and_unreadable_export(result, tmp_path):
    with pytest.raises(ResultFileError, match="unknown export format '.xlsx'"):
        write_export(result, tmp_path / "fit.xlsx")
    (tmp_path / "junk.npz").write_bytes(b"junk")
    with pytest.raises(ResultFileError, match="not a vbgui export"):
        read_export(tmp_path / "junk.npz")


def test_vbgui_export_command(result, tmp_path, capsys):
    source = tmp_path / "r.json"
    write_json(result, source, force=False)
    target = tmp_path / "r.mat"
    assert main(["export", str(source), "--to", str(target)]) == 0
    assert main(["export", str(source), "--to", str(target)]) == 2
    assert "already exists" in capsys.readouterr().err
    assert main(["export", str(source), "--to", str(target), "--force"]) == 0
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps({"result_version": 1}))
    assert main(["export", str(broken), "--to", str(tmp_path / "x.csv")]) == 2
    assert "not a vbgui result" in capsys.readouterr().err and not (tmp_path / "x.csv").exists()


def test_csv_opens_with_default_readers_and_metadata_lives_in_the_sidecar(result, tmp_path):
    import csv

    import pandas

    path = tmp_path / "fit.csv"
    written = write_export(result, path)
    assert [p.name for p in written] == ["fit.csv", "fit_cov.csv", "fit_meta.json"]
    assert path.read_text().splitlines()[0] == "name,mean,sd"
    table = pandas.read_csv(path)
    assert list(table.columns) == ["name", "mean", "sd"] and list(table["name"]) == result["parameters"]["names"]
    np.testing.assert_array_equal(table["mean"], result["parameters"]["mean"])
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [float(r["sd"]) for r in rows] == result["parameters"]["sd"]
    cov = pandas.read_csv(tmp_path / "fit_cov.csv", index_col=0)
    assert list(cov.index) == list(cov.columns) == result["parameters"]["names"]
    np.testing.assert_array_equal(cov.to_numpy(), result["parameters"]["cov"])
    sidecar = json.loads((tmp_path / "fit_meta.json").read_text())
    assert sidecar["metadata"]["export_id"] == sidecar["export_id"] and len(sidecar["export_id"]) == 36
    assert set(sidecar["files"]) == {"fit.csv", "fit_cov.csv"}


def test_a_mixed_csv_set_is_detected(result, tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir(), second.mkdir()
    write_export(result, first / "fit.csv")
    other = json.loads(json.dumps(result))
    other["parameters"]["mean"][0] += 1.0
    write_export(other, second / "fit.csv")
    ids = {json.loads((d / "fit_meta.json").read_text())["export_id"] for d in (first, second)}
    assert len(ids) == 2  # every export has its own identifier
    (first / "fit_cov.csv").write_bytes((second / "fit_cov.csv").read_bytes())  # same content: still one set
    assert read_export(first / "fit.csv")["mean"][0] == result["parameters"]["mean"][0]
    (first / "fit.csv").write_bytes((second / "fit.csv").read_bytes())  # a crash between renames
    with pytest.raises(ResultFileError, match="fit.csv: not from the same export as fit_meta.json"):
        read_export(first / "fit.csv")
    (second / "fit_meta.json").unlink()
    with pytest.raises(ResultFileError, match="its metadata file fit_meta.json is missing"):
        read_export(second / "fit.csv")


@pytest.mark.parametrize("suffix", EXPORT_FORMATS)
def test_exports_carry_units_and_diagnostics(result, tmp_path, suffix):
    with_diagnostics = {**result, "diagnostics": {"psis_khat": 0.31, "flags": ["ok"], "reference": "psis"}}
    path = tmp_path / f"fit{suffix}"
    write_export(with_diagnostics, path)
    meta = read_export(path)["metadata"]
    assert meta["units"] == result["units"] and meta["units"]["elbo"] == "nats"
    assert meta["units"]["bin_width_s"] == meta["units"]["lag_s"] > 0
    assert meta["units"]["stimulus_standardisation"]["sd"][0] > 0  # poisson-glm standardises its stimulus
    assert meta["diagnostics"] == with_diagnostics["diagnostics"]
    if suffix != ".json":
        assert len(meta["export_id"]) == 36


@pytest.mark.parametrize("suffix", EXPORT_FORMATS)
@pytest.mark.parametrize("where", ["mean", "cov", "elbo", "diagnostics"])
def test_no_export_writes_a_non_finite_number(result, tmp_path, suffix, where):
    bad = json.loads(json.dumps(result))
    if where == "mean":
        bad["parameters"]["mean"][1] = float("nan")
    elif where == "cov":
        bad["parameters"]["cov"][0][0] = float("inf")
    elif where == "elbo":
        bad["elbo"] = float("-inf")
    else:
        bad["diagnostics"] = {"iw_log_evidence": float("nan")}
    with pytest.raises(ResultFileError, match="non-finite|not a finite number"):
        write_export(bad, tmp_path / f"fit{suffix}")
    assert list(tmp_path.iterdir()) == []


def test_a_non_finite_export_is_refused_when_read(result, tmp_path):
    path = tmp_path / "fit.npz"
    arrays = {"names": np.array(["a", "b"]), "mean": np.array([0.0, np.nan]), "sd": np.ones(2), "cov": np.eye(2),
              "metadata": np.array("{}")}
    np.savez(path, **arrays)
    with pytest.raises(ResultFileError, match="fit.npz: parameters.mean holds a non-finite number"):
        read_export(path)
    np.savez(path, **{**arrays, "mean": np.zeros(3)})
    with pytest.raises(ResultFileError, match="do not match the 2 parameter names"):
        read_export(path)
    np.savez(path, **{**arrays, "mean": np.zeros(2), "metadata": np.array('{"a":' * 50000 + "1" + "}" * 50000)})
    with pytest.raises(ResultFileError, match="nested too deeply"):
        read_export(path)


def test_an_export_never_replaces_its_input(result, tmp_path, capsys):
    source = tmp_path / "r.json"
    write_json(result, source, force=False)
    before = source.read_bytes()
    for extra in ([], ["--force"]):
        assert main(["export", str(source), "--to", str(source)] + extra) == 2
        assert "this is also an input" in capsys.readouterr().err
    link = tmp_path / "link.json"
    link.symlink_to(source)
    assert main(["export", str(source), "--to", str(link), "--force"]) == 2
    assert source.read_bytes() == before


def test_two_vbgui_export_processes_to_one_path_one_wins(result, tmp_path):
    """The reported race (both exited 0, one silently replacing the other), with the real command."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    sources = [tmp_path / "a.json", tmp_path / "b.json"]
    write_json(result, sources[0], force=False)
    other = json.loads(json.dumps(result))
    other["parameters"]["mean"][0] += 1.0
    write_json(other, sources[1], force=False)
    for trial in range(4):
        target = tmp_path / f"race{trial}.csv"
        racers = [subprocess.Popen([sys.executable, "-m", "vbgui", "export", str(source), "--to", str(target)],
                                   env=env, stderr=subprocess.PIPE, text=True) for source in sources]
        codes = [racer.wait(timeout=120) for racer in racers]
        errors = [racer.stderr.read() for racer in racers]
        assert sorted(codes) == [0, 2], (codes, errors)
        loser = errors[codes.index(2)].strip().splitlines()
        assert len(loser) == 1 and "already exists" in loser[0]
        winner = [result, other][codes.index(0)]
        assert read_export(target)["mean"][0] == winner["parameters"]["mean"][0]  # a consistent set
    assert not [p for p in tmp_path.iterdir() if "vbgui-tmp" in p.name]


def test_a_crash_between_the_renames_of_a_replacement_is_detected(result, tmp_path, monkeypatch):
    import os

    path = tmp_path / "fit.csv"
    write_export(result, path)
    changed = json.loads(json.dumps(result))
    changed["parameters"]["mean"][0] += 1.0
    real_replace = os.replace
    calls = []

    def crash_after_the_first(source, target):
        calls.append(target)
        if len(calls) == 2:
            raise KeyboardInterrupt  # the process dies between the renames
        real_replace(source, target)

    monkeypatch.setattr(os, "replace", crash_after_the_first)
    with pytest.raises(KeyboardInterrupt):
        write_export(changed, path, force=True)
    monkeypatch.setattr(os, "replace", real_replace)
    with pytest.raises(ResultFileError, match="fit.csv: not from the same export as fit_meta.json"):
        read_export(path)
    assert not [p for p in tmp_path.iterdir() if "vbgui-tmp" in p.name]
    write_export(changed, path, force=True)  # exporting again repairs the set
    assert read_export(path)["mean"][0] == changed["parameters"]["mean"][0]


@pytest.mark.skipif(shutil.which("Rscript") is None, reason="R is not installed (apt-get install r-base-core)")
def test_csv_opens_in_r_with_default_options(result, tmp_path):
    """R's read.csv with its defaults reads the names and every digit of the means and sds, and the
    covariance file with its first column as row names."""
    path = tmp_path / "fit.csv"
    write_export(result, path)
    script = (f'fit <- read.csv("{path}"); cov <- read.csv("{tmp_path / "fit_cov.csv"}", row.names = 1); '
              'cat(colnames(fit), sep = ","); cat("\\n"); cat(fit$name, sep = ","); cat("\\n"); '
              'cat(sprintf("%.17g", fit$mean), sep = ","); cat("\\n"); cat(sprintf("%.17g", fit$sd), sep = ","); '
              'cat("\\n"); cat(rownames(cov), sep = ","); cat("\\n"); '
              'cat(sprintf("%.17g", as.vector(t(as.matrix(cov)))), sep = ","); cat("\\n")')
    completed = subprocess.run(["Rscript", "-e", script], capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stderr
    columns, names, means, sds, row_names, cov = completed.stdout.splitlines()
    parameters = result["parameters"]
    assert columns == "name,mean,sd" and names.split(",") == parameters["names"]
    assert [float(v) for v in means.split(",")] == parameters["mean"]
    assert [float(v) for v in sds.split(",")] == parameters["sd"]
    assert row_names.split(",") == parameters["names"]
    np.testing.assert_array_equal(np.array([float(v) for v in cov.split(",")]).reshape(len(names.split(",")), -1),
                                  np.asarray(parameters["cov"]))
