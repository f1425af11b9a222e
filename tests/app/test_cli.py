"""`vbgui fit`: the result contract, and bad input -> status 2, one line, no file."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from vbgui.cli import main
from vbgui.io.npz import save_npz
from vbgui.models.synthetic import make_synthetic_recording

CONTRACT_KEYS = {"vbgui_version", "preset", "recording", "family", "estimator", "converged", "iterations", "elbo",
                 "expected_log_likelihood", "kl", "parameters", "trace", "seconds"}


@pytest.fixture(scope="module")
def recordings(tmp_path_factory):
    folder = tmp_path_factory.mktemp("recordings")
    paths = {}
    for likelihood in ("poisson", "gaussian", "bernoulli"):
        rec = make_synthetic_recording(likelihood, n_bins=3000, stimulus_lags=10, spike_history_lags=0, seed=1)
        paths[likelihood] = folder / f"{likelihood}.npz"
        save_npz(rec, paths[likelihood])
    return paths


def run_cli(*args):
    return main([str(a) for a in args])


def test_fit_writes_the_contract(recordings, tmp_path, capsys):
    out = tmp_path / "result.json"
    assert run_cli("fit", "--preset", "poisson-glm", "--recording", recordings["poisson"], "--out", out,
                   "--family", "structured", "--max-iter", "50") == 0
    data = json.loads(out.read_text())
    assert CONTRACT_KEYS <= set(data)
    assert data["family"] == "structured" and data["preset"]["fit"]["family"] == "structured"
    assert data["preset"]["fit"]["max_iter"] == 50 and data["converged"] is True
    params = data["parameters"]
    assert params["names"][:2] == ["bias", "stim[0]"] and "hist[0]" in params["names"]
    assert np.allclose(np.sqrt(np.diag(params["cov"])), params["sd"])
    assert len(data["trace"]["elbo"]) == data["iterations"] == len(data["trace"]["iteration"])
    assert data["elbo"] == pytest.approx(data["expected_log_likelihood"] - data["kl"])
    assert "log_evidence" not in data
    err = capsys.readouterr().err
    assert "accuracy" in err and "converged after" in err


def test_gaussian_result_has_evidence_and_exact_posterior(recordings, tmp_path):
    out = tmp_path / "g.json"
    assert run_cli("fit", "--preset", "linear-gaussian", "--recording", recordings["gaussian"], "--out", out,
                   "--family", "mean-field", "--quiet") == 0
    data = json.loads(out.read_text())
    assert data["log_evidence"] > data["elbo"]
    assert len(data["exact_posterior"]["mean"]) == len(data["parameters"]["names"])


def test_seed_and_estimator_flags_drive_a_reproducible_reparam_fit(recordings, tmp_path):
    outs = [tmp_path / "a.json", tmp_path / "b.json"]
    for out in outs:
        assert run_cli("fit", "--preset", "bernoulli-glm", "--recording", recordings["bernoulli"], "--out", out,
                       "--estimator", "reparam", "--seed", 4, "--max-iter", 300, "--quiet") == 0
    a, b = (json.loads(o.read_text()) for o in outs)
    assert a["estimator"] == "reparam" and a["trace"]["elbo"] == b["trace"]["elbo"]


def _bad_cases(tmp_path, recordings):
    def npz(name, **arrays):
        path = tmp_path / name
        np.savez(path, **arrays)
        return path

    good = {"counts": np.ones(100, dtype=int), "stimulus": np.random.default_rng(0).standard_normal(100),
            "dt": np.array(0.01)}
    bad_toml = tmp_path / "bad.toml"
    bad_toml.write_text('likelihood = "poisson"\n[fit]\nfamily = "diag"\n')
    broken_toml = tmp_path / "broken.toml"
    broken_toml.write_text("likelihood = \n")
    return {
        "missing recording": (["--recording", tmp_path / "nope.npz"], "nope.npz: no such file"),
        "not an npz": (["--recording", _write(tmp_path / "x.npz", b"junk")], "not a readable .npz"),
        "missing counts": (["--recording", npz("a.npz", stimulus=good["stimulus"], dt=good["dt"])],
                           "missing array 'counts'"),
        "nan stimulus": (["--recording", npz("b.npz", **{**good, "stimulus": np.full(100, np.nan)})],
                         "'stimulus' contains NaN"),
        "negative counts": (["--recording", npz("c.npz", **{**good, "counts": -np.ones(100, dtype=int)})],
                            "negative counts"),
        "non-integer counts": (["--recording", npz("d.npz", **{**good, "counts": np.full(100, 0.5)})],
                               "non-integer counts"),
        "bernoulli non-binary": (["--recording", npz("e.npz", **{**good, "counts": np.full(100, 2)}),
                                  "--preset", "bernoulli-glm"], "only 0 and 1"),
        "mismatched lengths": (["--recording", npz("f.npz", **{**good, "stimulus": np.ones(99)})],
                               "'stimulus' has 99 bins but 'counts' has 100"),
        "dt zero": (["--recording", npz("g.npz", **{**good, "dt": np.array(0.0)})], "'dt' must be a positive"),
        "too few bins": (["--recording", npz("h.npz", counts=np.ones(10, dtype=int), stimulus=np.ones(10),
                                            dt=np.array(0.01))], "fewer than the lags need"),
        "unknown preset": (["--preset", "nonsense"], "not a shipped preset"),
        "invalid toml": (["--preset", broken_toml], "not valid TOML"),
        "bad preset value": (["--preset", bad_toml], "'fit.family' must be one of"),
        "object array": (["--recording", npz("i.npz", **{**good, "stimulus": np.array([None] * 100)})],
                         "object arrays are refused because vbgui never unpickles"),
    }


def _write(path, content: bytes):
    path.write_bytes(content)
    return path


def test_bad_inputs_exit_2_with_one_line_and_no_file(recordings, tmp_path, capsys):
    for label, (args, fragment) in _bad_cases(tmp_path, recordings).items():
        out = tmp_path / f"{label.replace(' ', '_')}.json"
        base = {"--preset": "poisson-glm", "--recording": recordings["poisson"]}
        for flag, value in zip(args[::2], args[1::2]):
            base[flag] = value
        argv = ["fit", "--out", out] + [x for pair in base.items() for x in pair]
        assert run_cli(*argv) == 2, label
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("vbgui: error: ") and fragment in err[0], (label, err)
        assert not out.exists(), label
    assert not [p for p in tmp_path.iterdir() if "vbgui-tmp" in p.name or p.name.endswith(".tmp")]


def test_a_real_process_reports_errors_without_traceback(tmp_path):
    completed = subprocess.run([sys.executable, "-m", "vbgui", "fit", "--preset", "poisson-glm", "--recording",
                                str(tmp_path / "missing.npz"), "--out", str(tmp_path / "r.json")],
                               capture_output=True, text=True, timeout=120)
    assert completed.returncode == 2
    assert completed.stderr.strip().count("\n") == 0 and "Traceback" not in completed.stderr
    assert not (tmp_path / "r.json").exists()


def test_an_existing_result_survives_a_failed_fit(recordings, tmp_path):
    out = tmp_path / "keep.json"
    out.write_text('{"old": true}')
    assert run_cli("fit", "--preset", "nonsense", "--recording", recordings["poisson"], "--out", out) == 2
    assert out.read_text() == '{"old": true}'


def test_anything_but_a_subcommand_goes_to_the_window(monkeypatch):
    import vbgui.gui.application as application

    seen = []
    monkeypatch.setattr(application, "run_application", lambda argv: seen.append(argv) or 0)
    for argv in ([], ["--demo", "two-modes"], ["recording.npz"], ["--selftest"]):
        assert main(argv) == 0
    assert seen == [[], ["--demo", "two-modes"], ["recording.npz"], ["--selftest"]]


def _run_process(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "vbgui", *map(str, args)], capture_output=True, text=True,
                          timeout=300, cwd=cwd)


def test_fit_never_replaces_its_recording_even_with_force(recordings, tmp_path):
    """The reported case: `vbgui fit --recording r.npz --out r.npz` destroyed the recording."""
    recording = tmp_path / "r.npz"
    recording.write_bytes(recordings["poisson"].read_bytes())
    alias = tmp_path / "alias.npz"
    alias.symlink_to(recording)
    before = recording.read_bytes()
    for out, extra in ((recording, []), (recording, ["--force"]), (alias, ["--force"])):
        completed = _run_process("fit", "--preset", "poisson-glm", "--recording", recording, "--out", out, *extra)
        lines = completed.stderr.strip().splitlines()
        assert completed.returncode == 2 and len(lines) == 1 and "this is also an input" in lines[0], completed.stderr
    assert recording.read_bytes() == before and alias.is_symlink()


def test_every_writing_command_refuses_an_existing_target_without_force(recordings, tmp_path, capsys):
    out = tmp_path / "taken"
    commands = {
        "fit": ["fit", "--preset", "poisson-glm", "--recording", recordings["poisson"], "--out"],
        "simulate": ["simulate", "--bins", "500", "--out"],
        "compare": ["compare", "--recording", recordings["poisson"], "--preset", "poisson-glm", "--preset",
                    "poisson-glm", "--out"],
    }
    for name, argv in commands.items():
        suffix = {"fit": ".json", "simulate": ".npz", "compare": ".csv"}[name]
        target = out.with_suffix(suffix)
        target.write_text("mine")
        assert run_cli(*argv, target) == 2, name
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "already exists; not overwritten (use --force" in err[0], (name, err)
        assert target.read_text() == "mine", name
    assert run_cli(*commands["simulate"], out.with_suffix(".npz"), "--force") == 0
    assert np.load(out.with_suffix(".npz"))["dt"] > 0
    assert run_cli(*commands["fit"], out.with_suffix(".json"), "--force", "--quiet", "--max-iter", "3") == 0
    assert json.loads(out.with_suffix(".json").read_text())["result_version"] == 1
    assert run_cli("compare", "--recording", recordings["poisson"], "--preset", "poisson-glm",
                   "--out", recordings["poisson"], "--force") == 2
    assert "must be .csv or .json" in capsys.readouterr().err


def test_compare_never_replaces_a_preset_file(recordings, tmp_path, capsys):
    preset = tmp_path / "mine.json"
    preset.write_text("likelihood = 'poisson'")
    assert run_cli("compare", "--recording", recordings["poisson"], "--preset", preset, "--preset", "poisson-glm",
                   "--out", preset, "--force") == 2
    assert "this is also an input" in capsys.readouterr().err
    assert preset.read_text() == "likelihood = 'poisson'"


def test_a_shipped_preset_named_by_name_is_an_input_too(recordings, capsys):
    from vbgui.models.preset import PRESET_DIR

    shipped = PRESET_DIR / "poisson-glm.toml"
    before = shipped.read_bytes()
    assert run_cli("fit", "--preset", "poisson-glm", "--recording", recordings["poisson"], "--out", shipped,
                   "--force") == 2
    assert "this is also an input" in capsys.readouterr().err and shipped.read_bytes() == before
