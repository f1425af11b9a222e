"""Reading a result file checks all of it: every hostile edit is refused naming the file and the field."""
from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vbgui.app.fit import FitSession
from vbgui.app.result import FitResult
from vbgui.errors import ResultFileError
from vbgui.io.result_json import read_json
from vbgui.models.preset import load_preset
from vbgui.models.synthetic import make_synthetic_recording

REPO = Path(__file__).resolve().parents[2]
ADDRESS_SPACE_LIMIT = 2 * 2 ** 30  # bytes: a hostile file that makes the reader allocate more fails the test


def limited_memory() -> None:
    """Run in the child before exec: cap its address space, so a memory bomb fails the test, not the machine."""
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE_LIMIT, ADDRESS_SPACE_LIMIT))


def standardised_gaussian():
    preset = load_preset("linear-gaussian")
    return replace(preset, design=replace(preset.design, standardize=True))


@pytest.fixture(scope="module")
def valid():
    """A gaussian fit (it carries log_evidence and exact_posterior) with a standardised stimulus and truth."""
    recording = make_synthetic_recording("gaussian", n_bins=1500, stimulus_lags=4, spike_history_lags=0, seed=3)
    preset = standardised_gaussian()
    result = FitSession(preset, recording).run().to_dict()
    assert "exact_posterior" in result and result["truth"] and result["units"]
    return result


def _set(path: str, value):
    def edit(data):
        *parents, last = path.split("/")
        node = data
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node[key]
        if isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value
    return edit


def _drop(path: str):
    def edit(data):
        *parents, last = path.split("/")
        node = data
        for key in parents:
            node = node[key]
        del node[last]
    return edit


def _negative_variance(data):
    data["parameters"]["cov"][1][1] = -0.5
    data["parameters"]["sd"][1] = 0.5


def _not_pd(data):
    cov = data["parameters"]["cov"]
    cov[0][1] = cov[1][0] = 10 * max(cov[0][0], cov[1][1])


def _asymmetric(data):
    data["parameters"]["cov"][0][1] += 1.0


def _short_mean(data):
    data["parameters"]["mean"].pop()


def _ragged_cov(data):
    data["parameters"]["cov"][2].pop()


def _names_duplicate(data):
    data["parameters"]["names"][1] = data["parameters"]["names"][0]


# (edit, text, field named in the message); text replaces the JSON text after the edit when given
HOSTILE: dict[str, tuple] = {
    "elbo as string nan": (_set("elbo", "nan"), None, "'elbo' must be a number"),
    "kl as string -inf": (_set("kl", "-inf"), None, "'kl' must be a number"),
    "elbo NaN literal": (None, lambda t: t.replace('"elbo": ', '"elbo": NaN, "x": ', 1), "NaN"),
    "1e999": (None, lambda t: t.replace('"kl": ', '"kl": 1e999, "y": ', 1), "1e999 is out of range"),
    "huge integer": (_set("elbo", 10 ** 400), None, "'elbo' must be a finite number"),
    "iterations 1e999": (None, lambda t: t.replace('"iterations": ', '"iterations": 1e999, "z": ', 1),
                         "out of range"),
    "iterations float": (_set("iterations", 3.0), None, "'iterations' must be a whole number"),
    "iterations negative": (_set("iterations", -1), None, "'iterations' must be at least 0"),
    "iterations bool": (_set("iterations", True), None, "'iterations' must be a whole number"),
    "iterations vs trace": (_set("iterations", 10 ** 6), None, "'trace.iteration' has"),
    "preset {}": (_set("preset", {}), None, "field 'preset'"),
    "preset list": (_set("preset", []), None, "'preset' must be an object"),
    "preset bad family": (_set("preset/fit/family", "banana"), None, "field 'preset'"),
    "preset huge scale": (_set("preset/prior/scale", 10 ** 400), None, "beyond float range"),
    "fit []": (_set("fit", []), None, "field 'fit' is not part of a vbgui result"),
    "missing elbo": (_drop("elbo"), None, "field 'elbo' is missing"),
    "missing parameters.cov": (_drop("parameters/cov"), None, "field 'parameters.cov' is missing"),
    "missing trace": (_drop("trace"), None, "field 'trace' is missing"),
    "version 2": (_set("result_version", 2), None, "unsupported result_version 2"),
    "version true": (_set("result_version", True), None, "unsupported result_version True"),
    "negative variance": (_negative_variance, None, "'parameters.cov' has a variance that is not positive"),
    "not positive definite": (_not_pd, None, "'parameters.cov' is not positive definite"),
    "asymmetric cov": (_asymmetric, None, "'parameters.cov' is not symmetric"),
    "sd inconsistent": (_set("parameters/sd/0", 123.0), None, "'parameters.sd' does not match"),
    "short mean": (_short_mean, None, "'parameters.mean' has"),
    "ragged cov": (_ragged_cov, None, "'parameters.cov[2]' has"),
    "mean holds a string": (_set("parameters/mean/0", "0.1"), None, "'parameters.mean' must be a number"),
    "mean null": (_set("parameters/mean/0", None), None, "'parameters.mean' must be a number"),
    "duplicate names": (_names_duplicate, None, "'parameters.names' must hold distinct"),
    "names empty": (_set("parameters/names", []), None, "'parameters.names' must be a non-empty list"),
    "family unknown": (_set("family", "banana"), None, "'family' must be one of"),
    "estimator number": (_set("estimator", 3), None, "'estimator' must be one of"),
    "converged string": (_set("converged", "yes"), None, "'converged' must be true or false"),
    "trace elbo string": (_set("trace/elbo/0", "nan"), None, "'trace.elbo' must be a number"),
    "trace lengths differ": (lambda d: d["trace"]["kl"].pop(), None, "'trace.kl' has"),
    "elbo inconsistent": (_set("elbo", 1e6), None, "'elbo' differs from expected_log_likelihood - kl"),
    "negative kl": (lambda d: d.update(kl=-5.0, elbo=d["expected_log_likelihood"] + 5.0), None,
                    "'kl' must not be negative"),
    "negative seconds": (_set("seconds", -1.0), None, "'seconds' must not be negative"),
    "first_row past total": (_set("bins/first_row", 10 ** 9), None, "'bins.first_row' must be below"),
    "bins total zero": (_set("bins/total", 0), None, "'bins.total' must be at least 1"),
    "truth unknown name": (_set("truth/ghost", 1.0), None, "'truth.ghost' is not one of"),
    "truth string": (_set("truth/bias", "x"), None, "'truth.bias' must be a number"),
    "evidence without posterior": (_drop("exact_posterior"), None, "come together"),
    "exact posterior not PD": (lambda d: d["exact_posterior"]["cov"][0].__setitem__(0, -1.0), None,
                               "'exact_posterior.cov' has a variance"),
    "units dt zero": (_set("units/bin_width_s", 0.0), None, "'units.bin_width_s' must be positive"),
    "units elbo unit": (_set("units/elbo", "bits"), None, "'units.elbo' must be \"nats\""),
    "standardisation sd zero": (_set("units/stimulus_standardisation/sd/0", 0.0), None,
                                "'units.stimulus_standardisation.sd' must hold positive"),
    "diagnostics list": (_set("diagnostics", []), None, "'diagnostics' must be an object"),
    "top level list": (lambda d: None, lambda t: "[" + t + "]", "expected a JSON object"),
    "nested 10000 deep": (lambda d: None, lambda t: '{"a": ' + "[" * 10000 + "]" * 10000 + "}",
                          "nested too deeply"),
    "nested objects 100000 deep": (lambda d: None, lambda t: '{"a":' * 100000 + "1" + "}" * 100000,
                                   "nested too deeply"),
}


def hostile_file(valid: dict, folder: Path, label: str) -> Path:
    edit, retext, _ = HOSTILE[label]
    data = copy.deepcopy(valid)
    if edit is not None:
        edit(data)
    text = json.dumps(data, indent=1)
    if retext is not None:
        text = retext(text)
    path = folder / (label.replace(" ", "_").replace("/", "_") + ".json")
    path.write_text(text)
    return path


def test_the_valid_result_reads_back(valid, tmp_path):
    path = tmp_path / "ok.json"
    path.write_text(json.dumps(valid))
    again = FitResult.from_dict(read_json(path), source=str(path))
    assert again.to_dict() == valid
    assert again.dt == valid["units"]["bin_width_s"] and again.stimulus_scaling is not None


@pytest.mark.parametrize("label", sorted(HOSTILE))
def test_a_hostile_result_is_refused_naming_the_file_and_the_field(valid, tmp_path, label):
    path = hostile_file(valid, tmp_path, label)
    with pytest.raises(ResultFileError) as caught:
        FitResult.from_dict(read_json(path), source=str(path))
    message = str(caught.value)
    assert message.startswith(str(path)) and HOSTILE[label][2] in message and "\n" not in message


def test_hostile_results_through_vbgui_export_exit_2_with_one_line(valid, tmp_path):
    """Each case in a real process (address space capped): exit 2, one line, no traceback, nothing written."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    labels = ["elbo as string nan", "kl as string -inf", "1e999", "negative variance", "iterations 1e999",
              "preset {}", "fit []", "missing elbo", "short mean", "not positive definite", "nested 10000 deep",
              "nested objects 100000 deep"]
    for label in labels:
        source = hostile_file(valid, tmp_path, label)
        target = tmp_path / "out.csv"
        completed = subprocess.run([sys.executable, "-m", "vbgui", "export", str(source), "--to", str(target)],
                                   capture_output=True, text=True, timeout=120, env=env, preexec_fn=limited_memory)
        lines = completed.stderr.strip().splitlines()
        assert completed.returncode == 2, (label, completed.stderr)
        assert len(lines) == 1 and str(source) in lines[0] and "Traceback" not in completed.stderr, label
        assert not target.exists() and not (tmp_path / "out_cov.csv").exists(), label
    assert not [p for p in tmp_path.iterdir() if "vbgui-tmp" in p.name]


def test_a_result_without_the_units_block_still_reads(valid):
    """Version-1 files written before the units block existed stay readable."""
    data = copy.deepcopy(valid)
    del data["units"]
    assert FitResult.from_dict(data).dt is None


def test_units_give_the_bin_width_and_the_standardisation(valid):
    units = valid["units"]
    recording = make_synthetic_recording("gaussian", n_bins=1500, stimulus_lags=4, spike_history_lags=0, seed=3)
    assert units["bin_width_s"] == units["lag_s"] == recording.dt
    assert units["elbo"] == units["evidence"] == "nats"
    scaling = units["stimulus_standardisation"]
    np.testing.assert_allclose(scaling["mean"], recording.stimulus.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(scaling["sd"], recording.stimulus.std(axis=0), rtol=1e-12)
    plain = FitSession(load_preset("linear-gaussian"), recording).run().to_dict()  # standardize = false
    assert plain["units"]["stimulus_standardisation"] is None


def _paths(node, prefix=()):
    """Every (path, value) in a JSON tree, lists sampled at their first two entries to keep it small."""
    yield prefix, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, prefix + (key,))
    elif isinstance(node, list):
        for index, value in enumerate(node[:2]):
            yield from _paths(value, prefix + (index,))


HOSTILE_VALUES = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True), st.integers(min_value=-(10 ** 400), max_value=10 ** 400),
    st.text(max_size=8), st.none(), st.booleans(), st.sampled_from(["nan", "-inf", "1e999", "", "structured"]),
    st.lists(st.floats(allow_nan=True, allow_infinity=True), max_size=3),
    st.dictionaries(st.text(max_size=4), st.integers(), max_size=2), st.just([]), st.just({}))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_single_edit_is_refused_in_one_line_or_reads_back_finite(valid, tmp_path, data):
    """Property over every field: a hostile value anywhere is refused with one line naming the file, or the
    result that is accepted is complete, finite and exports without error."""
    from vbgui.io.exports import write_export

    targets = list(_paths(valid))[1:]
    path, _ = data.draw(st.sampled_from(targets))
    value = data.draw(HOSTILE_VALUES)
    edited = copy.deepcopy(valid)
    node = edited
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    source = tmp_path / "fuzzed.json"
    source.write_text(json.dumps(edited))
    try:
        result = FitResult.from_dict(read_json(source), source=str(source))
    except ResultFileError as exc:
        assert str(exc).startswith(str(source)) and "\n" not in str(exc)
        return
    back = result.to_dict()
    FitResult.from_dict(back)  # what was accepted passes the checks again
    out = tmp_path / "fuzzed.npz"
    out.unlink(missing_ok=True)
    write_export(back, out)  # raises on any non-finite number


def test_a_device_or_an_oversized_file_is_refused_before_it_is_read(tmp_path, monkeypatch):
    from vbgui.io import result_json

    with pytest.raises(ResultFileError, match="/dev/zero: not a regular file"):
        read_json("/dev/zero")
    with pytest.raises(ResultFileError, match="cannot read"):
        read_json(tmp_path)
    big = tmp_path / "big.json"
    big.write_text('{"a": "' + "x" * 2000 + '"}')
    monkeypatch.setattr(result_json, "MAX_JSON_BYTES", 1000)
    with pytest.raises(ResultFileError, match="big.json: 2,009 bytes is larger than any vbgui result file"):
        read_json(big)
