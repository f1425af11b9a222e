"""Check every field of a result dict read from a file, before anything uses it.

One table (:data:`TOP_LEVEL_RULES`) says what each top-level field must
hold; :func:`check_result_dict` applies it and the checks that tie fields
together (shapes against ``parameters.names``, covariance symmetric positive
definite, ``sd`` the square root of its diagonal, ``elbo`` = accuracy -
complexity, a trace as long as ``iterations``).  A failure raises
:class:`vbgui.errors.ResultFileError` naming the file and the field.
"""
from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

from vbgui.core.names import ESTIMATOR_NAMES, FAMILY_NAMES
from vbgui.errors import PresetError, ResultFileError
from vbgui.models.preset import preset_from_dict

SYMMETRY_TOLERANCE = 1e-8  # relative to the largest variance
AGREEMENT_TOLERANCE = 1e-6  # relative: sd against sqrt(diag cov), elbo against accuracy - complexity


class _Field:
    """Raise ResultFileError for one field of one file."""

    def __init__(self, source: str, name: str) -> None:
        self.source, self.name = source, name

    def fail(self, problem: str) -> ResultFileError:
        return ResultFileError(f"{self.source}: field '{self.name}' {problem}")

    def sub(self, name: str) -> "_Field":
        return _Field(self.source, f"{self.name}.{name}")


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def finite_number(value: Any, where: _Field) -> float:
    """A JSON number (not a boolean, not a string) that is finite as a float.

    Parameters
    ----------
    value : object
        The field's JSON value.
    where : _Field
        The file and field named in an error.

    Returns
    -------
    float
        The number.

    Raises
    ------
    ResultFileError
        Naming the file and field.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise where.fail(f"must be a number, got {_shown(value)}")
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number):
        raise where.fail(f"must be a finite number, got {_shown(value)}")
    return number


def whole_number(value: Any, where: _Field, minimum: int = 0) -> int:
    """A JSON integer (not 3.0, not a boolean) at least ``minimum``.

    Parameters
    ----------
    value : object
        The field's JSON value.
    where : _Field
        The file and field named in an error.
    minimum : int
        The smallest allowed value.

    Returns
    -------
    int
        The number.

    Raises
    ------
    ResultFileError
        Naming the file and field.
    """
    if isinstance(value, bool) or not isinstance(value, int):
        raise where.fail(f"must be a whole number, got {_shown(value)}")
    if value < minimum:
        raise where.fail(f"must be at least {minimum}, got {value}")
    return value


def text(value: Any, where: _Field) -> str:
    """A JSON string.

    Parameters
    ----------
    value : object
        The field's JSON value.
    where : _Field
        The file and field named in an error.

    Returns
    -------
    str
        The value.

    Raises
    ------
    ResultFileError
        Naming the file and field.
    """
    if not isinstance(value, str):
        raise where.fail(f"must be a string, got {_shown(value)}")
    return value


def flag(value: Any, where: _Field) -> bool:
    """A JSON boolean.

    Parameters
    ----------
    value : object
        The field's JSON value.
    where : _Field
        The file and field named in an error.

    Returns
    -------
    bool
        The value.

    Raises
    ------
    ResultFileError
        Naming the file and field.
    """
    if not isinstance(value, bool):
        raise where.fail(f"must be true or false, got {_shown(value)}")
    return value


def table(value: Any, where: _Field) -> dict[str, Any]:
    """A JSON object.

    Parameters
    ----------
    value : object
        The field's JSON value.
    where : _Field
        The file and field named in an error.

    Returns
    -------
    dict of str to object
        The value.

    Raises
    ------
    ResultFileError
        Naming the file and field.
    """
    if not isinstance(value, dict):
        raise where.fail(f"must be an object, got {_shown(value)}")
    return value


def one_of(choices: tuple[str, ...]) -> Callable[[Any, _Field], str]:
    """A rule accepting only the strings choices.

    Parameters
    ----------
    choices : tuple of str
        The allowed values.

    Returns
    -------
    callable
        check(value, where) returning the value or raising ResultFileError naming the file and field.
    """
    def check(value: Any, where: _Field) -> str:
        if value not in choices:
            raise where.fail(f"must be one of {', '.join(choices)}, got {_shown(value)}")
        return value
    return check


def vector(value: Any, where: _Field, length: int) -> np.ndarray:
    """A list of ``length`` finite numbers.

    Parameters
    ----------
    value : object
        The field's JSON value.
    where : _Field
        The file and field named in an error.
    length : int
        The required number of entries.

    Returns
    -------
    (length,) array
        The numbers.

    Raises
    ------
    ResultFileError
        Naming the file and field.
    """
    if not isinstance(value, list):
        raise where.fail(f"must be a list of {length} numbers, got {_shown(value)}")
    if len(value) != length:
        raise where.fail(f"has {len(value)} entries; parameters.names has {length}")
    return np.array([finite_number(v, where) for v in value], dtype=float)


def square_matrix(value: Any, where: _Field, size: int) -> np.ndarray:
    """A list of ``size`` lists of ``size`` finite numbers.

    Parameters
    ----------
    value : object
        The field's JSON value.
    where : _Field
        The file and field named in an error.
    size : int
        The required number of rows and columns.

    Returns
    -------
    (size, size) array
        The numbers.

    Raises
    ------
    ResultFileError
        Naming the file and field (and the row).
    """
    if not isinstance(value, list) or len(value) != size or not all(isinstance(row, list) for row in value):
        raise where.fail(f"must be a {size} x {size} list of lists (one row per parameter name)")
    rows = [vector(row, _Field(where.source, f"{where.name}[{i}]"), size) for i, row in enumerate(value)]
    return np.array(rows, dtype=float).reshape(size, size)


def covariance(value: Any, where: _Field, size: int) -> np.ndarray:
    """A symmetric positive definite ``size`` x ``size`` matrix.

    Parameters
    ----------
    value : object
        The field's JSON value.
    where : _Field
        The file and field named in an error.
    size : int
        The required number of rows and columns.

    Returns
    -------
    (size, size) array
        The matrix.

    Raises
    ------
    ResultFileError
        Naming the file and field.
    """
    matrix = square_matrix(value, where, size)
    variances = np.diag(matrix)
    if np.any(variances <= 0):
        k = int(np.argmin(variances))
        raise where.fail(f"has a variance that is not positive (diagonal entry {k}: {variances[k]!r})")
    scale = float(np.max(variances))
    if np.max(np.abs(matrix - matrix.T)) > SYMMETRY_TOLERANCE * scale:
        raise where.fail("is not symmetric")
    try:
        np.linalg.cholesky(matrix)
    except np.linalg.LinAlgError:
        raise where.fail("is not positive definite (a covariance must be)") from None
    return matrix


def _names(value: Any, where: _Field) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise where.fail("must be a non-empty list of parameter names")
    names = tuple(text(n, where) for n in value)
    if any(not n for n in names) or len(set(names)) != len(names):
        raise where.fail("must hold distinct, non-empty names")
    return names


def _check_preset(value: Any, where: _Field) -> dict[str, Any]:
    data = table(value, where)
    try:
        preset_from_dict(data, source=f"{where.source} (field 'preset')")
    except PresetError as exc:
        raise ResultFileError(str(exc)) from None
    return data


def _check_parameters(value: Any, where: _Field) -> dict[str, Any]:
    data = table(value, where)
    _require(data, where, ("names", "mean", "sd", "cov"), ())
    names = _names(data["names"], where.sub("names"))
    size = len(names)
    vector(data["mean"], where.sub("mean"), size)
    sd = vector(data["sd"], where.sub("sd"), size)
    cov = covariance(data["cov"], where.sub("cov"), size)
    if not np.allclose(sd, np.sqrt(np.diag(cov)), rtol=AGREEMENT_TOLERANCE, atol=0):
        raise where.sub("sd").fail("does not match the square root of the diagonal of parameters.cov")
    return data


def _check_trace(value: Any, where: _Field) -> dict[str, Any]:
    data = table(value, where)
    keys = ("iteration", "elbo", "expected_log_likelihood", "kl")
    _require(data, where, keys, ())
    for key in keys:
        if not isinstance(data[key], list):
            raise where.sub(key).fail("must be a list")
    length = len(data["iteration"])
    for key in keys[1:]:
        if len(data[key]) != length:
            raise where.sub(key).fail(f"has {len(data[key])} entries; trace.iteration has {length}")
        for entry in data[key]:
            finite_number(entry, where.sub(key))
    for entry in data["iteration"]:
        whole_number(entry, where.sub("iteration"))
    return data


def _check_bins(value: Any, where: _Field) -> dict[str, Any]:
    data = table(value, where)
    _require(data, where, ("total", "first_row"), ())
    total = whole_number(data["total"], where.sub("total"), 1)
    first = whole_number(data["first_row"], where.sub("first_row"))
    if first >= total:
        raise where.sub("first_row").fail(f"must be below bins.total ({total}), got {first}")
    return data


def _check_truth(value: Any, where: _Field) -> dict[str, Any]:
    data = table(value, where)
    for key, weight in data.items():
        finite_number(weight, where.sub(key))
    return data


def _check_units(value: Any, where: _Field) -> dict[str, Any]:
    data = table(value, where)
    _require(data, where, ("bin_width_s", "lag_s", "elbo", "evidence", "stimulus_standardisation"),
              ("lags",))
    for key in ("bin_width_s", "lag_s"):
        if finite_number(data[key], where.sub(key)) <= 0:
            raise where.sub(key).fail(f"must be positive, got {data[key]!r}")
    for key in ("elbo", "evidence"):
        if data[key] != "nats":
            raise where.sub(key).fail(f"must be \"nats\", got {_shown(data[key])}")
    if "lags" in data:
        text(data["lags"], where.sub("lags"))
    scaling = data["stimulus_standardisation"]
    if scaling is not None:
        sub = where.sub("stimulus_standardisation")
        table(scaling, sub)
        _require(scaling, sub, ("mean", "sd"), ())
        if not isinstance(scaling["mean"], list) or not scaling["mean"]:
            raise sub.sub("mean").fail("must be a non-empty list of numbers, one per stimulus column")
        vector(scaling["mean"], sub.sub("mean"), len(scaling["mean"]))
        sd = vector(scaling["sd"], sub.sub("sd"), len(scaling["mean"]))
        if np.any(sd <= 0):
            raise sub.sub("sd").fail("must hold positive numbers")
    return data


AMORTISATION_NUMBERS = ("encoder_elbo", "best_elbo", "amortisation_gap", "encoder_amortisation_gap",
                        "approximation_gap", "log_evidence", "log_evidence_se", "encode_seconds")


def _check_amortisation(value: Any, where: _Field) -> dict[str, Any]:
    """The record of vbgui.app.amortise.amortisation_record: numbers finite or null."""
    data = table(value, where)
    _require(data, where, ("amortised", "role", "train_units", "refine_passes", "best_converged",
                           "evidence_source") + AMORTISATION_NUMBERS, ())
    flag(data["amortised"], where.sub("amortised"))
    one_of(("train", "amortised"))(data["role"], where.sub("role"))
    whole_number(data["train_units"], where.sub("train_units"), 1)
    whole_number(data["refine_passes"], where.sub("refine_passes"))
    if data["best_converged"] is not None:
        flag(data["best_converged"], where.sub("best_converged"))
    text(data["evidence_source"], where.sub("evidence_source"))
    for key in AMORTISATION_NUMBERS:
        if data[key] is not None:
            finite_number(data[key], where.sub(key))
    return data


def _check_exact_posterior(value: Any, where: _Field, size: int) -> None:
    data = table(value, where)
    _require(data, where, ("mean", "cov"), ())
    vector(data["mean"], where.sub("mean"), size)
    covariance(data["cov"], where.sub("cov"), size)


def _require(data: dict[str, Any], where: _Field, required: tuple[str, ...], optional: tuple[str, ...]) -> None:
    prefix = f"{where.name}." if where.name else ""
    for key in required:
        if key not in data:
            raise ResultFileError(f"{where.source}: not a vbgui result: field '{prefix}{key}' is missing")
    for key in data:
        if key not in required and key not in optional:
            raise ResultFileError(f"{where.source}: field '{prefix}{key}' is not part of a vbgui result")


TOP_LEVEL_RULES: dict[str, Callable[[Any, _Field], Any]] = {
    "vbgui_version": text, "preset": _check_preset, "recording": text, "family": one_of(FAMILY_NAMES),
    "estimator": one_of(ESTIMATOR_NAMES), "converged": flag, "iterations": whole_number, "elbo": finite_number,
    "expected_log_likelihood": finite_number, "kl": finite_number, "parameters": _check_parameters,
    "trace": _check_trace, "seconds": finite_number, "bins": _check_bins,
    "stop_reason": text, "message": text, "unit": text, "recording_checksum": text, "created": text,
    "log_evidence": finite_number, "truth": _check_truth, "diagnostics": table, "units": _check_units,
    "amortisation": _check_amortisation,
}
REQUIRED = ("result_version", "vbgui_version", "preset", "recording", "family", "estimator", "converged",
            "iterations", "elbo", "expected_log_likelihood", "kl", "parameters", "trace", "seconds", "bins")
OPTIONAL = ("stop_reason", "message", "unit", "recording_checksum", "created", "log_evidence", "exact_posterior",
            "truth", "diagnostics", "units", "amortisation")


def check_result_dict(data: Any, source: str, version: int) -> None:
    """Raise ResultFileError (naming ``source`` and the field) unless ``data`` is a complete, consistent result.

    Parameters
    ----------
    data : object
        The file's JSON value.
    source : str
        The file, named in an error.
    version : int
        The result_version this vbgui reads.

    Raises
    ------
    ResultFileError
        Naming the file and the field.
    """
    top = _Field(source, "")
    if not isinstance(data, dict):
        raise ResultFileError(f"{source}: not a vbgui result (expected a JSON object)")
    if "result_version" not in data:
        raise ResultFileError(f"{source}: not a vbgui result (field 'result_version' is missing)")
    if isinstance(data["result_version"], bool) or data["result_version"] != version:
        raise ResultFileError(f"{source}: unsupported result_version {_shown(data['result_version'])} "
                              f"(this vbgui reads version {version})")
    _require(data, top, REQUIRED, OPTIONAL)
    for key, rule in TOP_LEVEL_RULES.items():
        if key in data:
            rule(data[key], _Field(source, key))
    size = len(data["parameters"]["names"])
    if data["seconds"] < 0:
        raise _Field(source, "seconds").fail(f"must not be negative, got {data['seconds']!r}")
    if data["kl"] < -AGREEMENT_TOLERANCE * max(1.0, abs(data["elbo"])):
        raise _Field(source, "kl").fail(f"must not be negative (a KL divergence), got {data['kl']!r}")
    scale = max(1.0, abs(data["expected_log_likelihood"]), abs(data["kl"]))
    if abs(data["elbo"] - (data["expected_log_likelihood"] - data["kl"])) > AGREEMENT_TOLERANCE * scale:
        raise _Field(source, "elbo").fail("differs from expected_log_likelihood - kl")
    if len(data["trace"]["iteration"]) != data["iterations"]:
        raise _Field(source, "trace.iteration").fail(
            f"has {len(data['trace']['iteration'])} entries; iterations says {data['iterations']}")
    unknown_truth = sorted(set(data.get("truth", {})) - set(data["parameters"]["names"]))
    if unknown_truth:
        raise _Field(source, f"truth.{unknown_truth[0]}").fail("is not one of parameters.names")
    if ("log_evidence" in data) != ("exact_posterior" in data):
        raise ResultFileError(f"{source}: fields 'log_evidence' and 'exact_posterior' come together; "
                              "one of them is missing")
    if "exact_posterior" in data:
        _check_exact_posterior(data["exact_posterior"], _Field(source, "exact_posterior"), size)
