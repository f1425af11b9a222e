"""Check every field of a latent-dynamics result dict read from a file, before anything uses it.

The provenance, ELBO and trace fields follow the GLM result's rules
(:mod:`vbgui.app.result_checks`, one home each); this module adds the
latent path and the learned parameters, whose shapes tie to T (``bins.total``),
K (the preset's ``latent_dim``) and N (``unit_names``): latents.mean and
latents.sd (T, K) with sd > 0, latents.cross_cov (T - 1, K, K), latents.trial_start
(optional, default [0]: whole numbers from 0, increasing, each trial at least
two bins); A, Q, Sigma0 (K, K) with Q and Sigma0 symmetric positive definite, b
and mu0 (K,), C (N, K), d (N,), B (K, M) exactly when the preset's
``[dynamics] stimulus_input`` is true; ``loading_prior`` exactly when the preset
has a ``[loading_prior]``, one trace entry per iteration and its log_density
that of the prior at C and d.  A failure raises
:class:`vbgui.errors.ResultFileError` naming the file and the field.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from vbgui.app.result_checks import (AGREEMENT_TOLERANCE, _check_preset, _check_trace, _Field, _require, finite_number,
                                     flag, one_of, table, text, whole_number)
from vbgui.core.lds.loading_prior import LoadingPrior
from vbgui.core.lds.model import INPUT_PARAMETER_NAME
from vbgui.core.lds.names import PATH_FAMILY_NAMES
from vbgui.errors import ResultFileError
from vbgui.models.preset import Preset, preset_from_dict

MODEL_NAME = "latent-dynamics"
REQUIRED = ("result_version", "model", "vbgui_version", "preset", "recording", "family", "estimator", "converged",
            "iterations", "elbo", "expected_log_likelihood", "kl", "trace", "seconds", "bins", "units", "unit_names",
            "latents", "lds_parameters")
OPTIONAL = ("stop_reason", "message", "recording_checksum", "created", "loading_prior")
MIN_TRIAL_BINS = 2
SCALAR_RULES = {"vbgui_version": text, "recording": text, "family": one_of(PATH_FAMILY_NAMES),
                "estimator": one_of(("exact",)), "converged": flag, "iterations": whole_number,
                "elbo": finite_number, "expected_log_likelihood": finite_number, "kl": finite_number,
                "seconds": finite_number, "stop_reason": text, "message": text, "recording_checksum": text,
                "created": text}


def numeric_array(value: Any, where: _Field, shape: tuple[int, ...]) -> np.ndarray:
    """Nested lists of finite numbers with exactly ``shape``.

    Parameters
    ----------
    value : Any
        The field's value as read from the file.
    where : _Field
        The file and the field, for the error message.
    shape : tuple of int
        The shape required (() for a scalar).

    Returns
    -------
    ndarray of float64
        The value as an array of ``shape``.

    Raises
    ------
    ResultFileError
        When the value is not numbers, has another shape, or holds a number that is not finite.
    """
    described = " x ".join(map(str, shape)) or "scalar"
    try:
        array = np.array(value, dtype=np.float64)
    except (ValueError, TypeError, OverflowError):
        raise where.fail(f"must be a {described} array of numbers") from None
    if array.shape != shape:
        raise where.fail(f"must be a {described} array of numbers, got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise where.fail("holds a number that is not finite")
    return array


def _spd(matrix: np.ndarray, where: _Field) -> None:
    if np.max(np.abs(matrix - matrix.T), initial=0.0) > 1e-8 * max(1.0, float(np.max(np.abs(matrix)))):
        raise where.fail("is not symmetric")
    try:
        np.linalg.cholesky(matrix)
    except np.linalg.LinAlgError:
        raise where.fail("is not positive definite (a covariance must be)") from None


def check_lds_result_dict(data: Any, source: str, version: int) -> dict[str, np.ndarray]:
    """Raise ResultFileError unless ``data`` is a complete, consistent latent-dynamics result; return its arrays
    (mean, sd, cross_cov and the parameters by name).

    Parameters
    ----------
    data : Any
        The parsed JSON of a result file.
    source : str
        The file's name, for error messages.
    version : int
        The result_version this vbgui reads.

    Returns
    -------
    dict of str to ndarray
        "mean", "sd" (T, K), "cross_cov" (T - 1, K, K), "trial_start" (n_trials,), and "A", "b", "Q", "mu0",
        "Sigma0", "C", "d" (and "B" with a stimulus input) in their shapes.

    Raises
    ------
    ResultFileError
        Naming the file and the first field that is missing, malformed or inconsistent.
    """
    top = _Field(source, "")
    if not isinstance(data, dict) or data.get("model") != MODEL_NAME:
        raise ResultFileError(f"{source}: not a vbgui latent-dynamics result (field 'model' is not "
                              f"\"{MODEL_NAME}\")")
    if isinstance(data.get("result_version"), bool) or data.get("result_version") != version:
        raise ResultFileError(f"{source}: unsupported result_version {data.get('result_version')!r} "
                              f"(this vbgui reads version {version})")
    _require(data, top, REQUIRED, OPTIONAL)
    for key, rule in SCALAR_RULES.items():
        if key in data:
            rule(data[key], _Field(source, key))
    preset = _check_preset(data["preset"], _Field(source, "preset"))
    latent_dim = preset.get("latent_dim")
    settings = preset_from_dict(preset)
    if not isinstance(latent_dim, int) or isinstance(latent_dim, bool):
        raise _Field(source, "preset.latent_dim").fail("is missing: not a latent-dynamics preset")
    _check_trace(data["trace"], _Field(source, "trace"))
    if len(data["trace"]["iteration"]) != data["iterations"]:
        raise _Field(source, "trace.iteration").fail(f"has {len(data['trace']['iteration'])} entries; "
                                                     f"iterations says {data['iterations']}")
    bins = table(data["bins"], _Field(source, "bins"))
    _require(bins, _Field(source, "bins"), ("total", "first_row"), ())
    n_bins = whole_number(bins["total"], _Field(source, "bins.total"), 2)
    units = table(data["units"], _Field(source, "units"))
    _require(units, _Field(source, "units"), ("bin_width_s", "elbo", "evidence"), ())
    if finite_number(units["bin_width_s"], _Field(source, "units.bin_width_s")) <= 0:
        raise _Field(source, "units.bin_width_s").fail("must be positive")
    names = data["unit_names"]
    if not isinstance(names, list) or not names or not all(isinstance(n, str) and n for n in names):
        raise _Field(source, "unit_names").fail("must be a non-empty list of unit names")
    if data["kl"] < -AGREEMENT_TOLERANCE * max(1.0, abs(data["elbo"])):
        raise _Field(source, "kl").fail(f"must not be negative (a KL divergence), got {data['kl']!r}")
    scale = max(1.0, abs(data["expected_log_likelihood"]), abs(data["kl"]))
    if abs(data["elbo"] - (data["expected_log_likelihood"] - data["kl"])) > AGREEMENT_TOLERANCE * scale:
        raise _Field(source, "elbo").fail("differs from expected_log_likelihood - kl")
    arrays = _check_arrays(data, source, n_bins, latent_dim, len(names), settings.dynamics.stimulus_input)
    _check_loading_prior(data, source, settings, arrays)
    return arrays


def _check_trial_starts(value: Any, where: _Field, n_bins: int) -> np.ndarray:
    if not isinstance(value, list) or not value:
        raise where.fail("must be a non-empty list of bin indices")
    starts = np.array([whole_number(entry, where) for entry in value], dtype=np.int64)
    if starts[0] != 0:
        raise where.fail(f"must begin with 0, got {int(starts[0])}")
    if np.any(np.diff(np.append(starts, n_bins)) < MIN_TRIAL_BINS):
        raise where.fail(f"must be increasing with at least {MIN_TRIAL_BINS} bins per trial, within "
                         f"bins.total ({n_bins})")
    return starts


def _check_loading_prior(data: dict[str, Any], source: str, settings: Preset, arrays: dict[str, np.ndarray]) -> None:
    where = _Field(source, "loading_prior")
    prior = LoadingPrior(settings.loading_prior.loading_sd, settings.loading_prior.offset_sd)
    if ("loading_prior" in data) == prior.is_flat:
        raise where.fail("must be present exactly when the preset has a [loading_prior]")
    if prior.is_flat:
        return
    block = table(data["loading_prior"], where)
    _require(block, where, ("log_density", "trace"), ())
    value = finite_number(block["log_density"], where.sub("log_density"))
    trace = block["trace"]
    if not isinstance(trace, list) or len(trace) != data["iterations"]:
        raise where.sub("trace").fail(f"must be a list of one number per iteration ({data['iterations']})")
    for entry in trace:
        finite_number(entry, where.sub("trace"))
    expected = prior.log_density(arrays["C"], arrays["d"])
    if abs(value - expected) > AGREEMENT_TOLERANCE * max(1.0, abs(expected)):
        raise where.sub("log_density").fail(f"is not log p(C, d) under the preset's prior ({expected!r})")


def _check_arrays(data: dict[str, Any], source: str, n_bins: int, size: int, n_units: int,
                  has_input: bool) -> dict[str, np.ndarray]:
    latents = table(data["latents"], _Field(source, "latents"))
    _require(latents, _Field(source, "latents"), ("mean", "sd", "cross_cov"), ("trial_start",))
    arrays = {"mean": numeric_array(latents["mean"], _Field(source, "latents.mean"), (n_bins, size)),
              "sd": numeric_array(latents["sd"], _Field(source, "latents.sd"), (n_bins, size)),
              "cross_cov": numeric_array(latents["cross_cov"], _Field(source, "latents.cross_cov"),
                                         (n_bins - 1, size, size))}
    if np.any(arrays["sd"] <= 0):
        raise _Field(source, "latents.sd").fail("must hold positive numbers")
    arrays["trial_start"] = _check_trial_starts(latents.get("trial_start", [0]),
                                                _Field(source, "latents.trial_start"), n_bins)
    params = table(data["lds_parameters"], _Field(source, "lds_parameters"))
    shapes = {"A": (size, size), "b": (size,), "Q": (size, size), "mu0": (size,), "Sigma0": (size, size),
              "C": (n_units, size), "d": (n_units,)}
    if has_input:
        given = params.get(INPUT_PARAMETER_NAME)
        n_inputs = len(given[0]) if isinstance(given, list) and given and isinstance(given[0], list) else 0
        if n_inputs < 1:
            raise _Field(source, f"lds_parameters.{INPUT_PARAMETER_NAME}").fail(
                f"must be a {size} x M array (M >= 1 stimulus columns): the preset has [dynamics] stimulus_input")
        shapes[INPUT_PARAMETER_NAME] = (size, n_inputs)
    _require(params, _Field(source, "lds_parameters"), tuple(shapes), ())
    for name, shape in shapes.items():
        arrays[name] = numeric_array(params[name], _Field(source, f"lds_parameters.{name}"), shape)
    for name in ("Q", "Sigma0"):
        _spd(arrays[name], _Field(source, f"lds_parameters.{name}"))
    return arrays
