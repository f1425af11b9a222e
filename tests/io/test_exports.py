"""Exports round-trip in every format, carry their provenance, and never overwrite silently."""
from __future__ import annotations

import json

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
