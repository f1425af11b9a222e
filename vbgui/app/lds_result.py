"""LdsFitResult: what a latent-dynamics fit writes (``vbgui fit --preset poisson-lds``), reads back and exports.

The JSON contract shares the GLM result's provenance and ELBO fields
(:mod:`vbgui.app.result`) and replaces ``parameters`` (a posterior over
weights) by

    latents          {"mean": (T, K), "sd": (T, K), "cross_cov": (T - 1, K, K), "trial_start": [...]}: q's
                     means, marginal sds and Cov_q(x_t, x_{t+1}) over the latent path (zero for mean-field over
                     time), every trial's path stacked in the recording's bin order; trial i holds bins
                     trial_start[i] .. trial_start[i+1] - 1 (the last to T - 1), and cross_cov at the last bin
                     of a trial is exactly 0 (trials are independent).  One trial: trial_start = [0] (a file
                     without the key reads so)
    lds_parameters   the learned point estimates {"A", "b", "Q", "mu0", "Sigma0", "C", "d"}, and "B" (K, M)
                     when the preset's [dynamics] stimulus_input drove the latents with an M-column stimulus
    loading_prior    with a preset's [loading_prior] only: {"log_density": log p(C, d) at the returned C, d
                     (nats, every constant kept), "trace": log p(C, d) after each iteration}; EM maximised
                     elbo + log_density (C and d are MAP estimates), which never decreases along the trace
    unit_names       the N units, in the order of the rows of C and of d

with ``"model": "latent-dynamics"``.  ``from_dict`` checks every field
(:mod:`vbgui.app.lds_result_checks`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from vbgui.app.lds_result_checks import MODEL_NAME, check_lds_result_dict
from vbgui.app.result import RESULT_VERSION, Trace
from vbgui.core.lds.model import INPUT_PARAMETER_NAME, PARAMETER_NAMES
from vbgui.models.preset import preset_from_dict


@dataclass(frozen=True)
class LoadingPriorTrace:
    """log p(C, d) under a preset's prior on the loadings: at the returned C, d and after each iteration."""

    log_density: float
    trace: tuple[float, ...]


@dataclass(frozen=True, eq=False)
class LdsFitResult:
    """A finished latent-dynamics fit; ``elbo`` = ``expected_log_likelihood`` - ``kl`` at the returned q."""

    vbgui_version: str
    preset: dict[str, Any]
    recording: str
    family: str
    converged: bool
    stop_reason: str
    message: str
    iterations: int
    elbo: float
    expected_log_likelihood: float
    kl: float
    trace: Trace
    seconds: float
    dt: float
    unit_names: tuple[str, ...]
    latent_mean: np.ndarray
    latent_sd: np.ndarray
    latent_cross_cov: np.ndarray
    parameters: dict[str, np.ndarray] = field(default_factory=dict)
    recording_checksum: str = ""
    created: str = ""
    trial_starts: tuple[int, ...] = (0,)
    loading_prior: LoadingPriorTrace | None = None

    @property
    def n_bins(self) -> int:
        return int(self.latent_mean.shape[0])

    @property
    def objective(self) -> float:
        """What EM maximised: the ELBO, plus log p(C, d) with a prior on the loadings."""
        return self.elbo + (0.0 if self.loading_prior is None else self.loading_prior.log_density)

    def to_dict(self) -> dict[str, Any]:
        """The result contract (see the module docstring) as plain JSON types.

        Returns
        -------
        dict of str to Any
            Ready for ``json.dump``; :meth:`from_dict` reads it back.
        """
        names = PARAMETER_NAMES + tuple(name for name in (INPUT_PARAMETER_NAME,) if name in self.parameters)
        extra = {} if self.loading_prior is None else {"loading_prior": {
            "log_density": self.loading_prior.log_density, "trace": list(self.loading_prior.trace)}}
        return {
            "result_version": RESULT_VERSION, "model": MODEL_NAME, "vbgui_version": self.vbgui_version,
            "preset": self.preset, "recording": self.recording, "recording_checksum": self.recording_checksum,
            "created": self.created, "family": self.family, "estimator": "exact", "converged": self.converged,
            "stop_reason": self.stop_reason, "message": self.message, "iterations": self.iterations,
            "elbo": self.elbo, "expected_log_likelihood": self.expected_log_likelihood, "kl": self.kl,
            "trace": {"iteration": list(self.trace.iteration), "elbo": list(self.trace.elbo),
                      "expected_log_likelihood": list(self.trace.expected_log_likelihood),
                      "kl": list(self.trace.kl)},
            "seconds": self.seconds, "bins": {"total": self.n_bins, "first_row": 0},
            "units": {"bin_width_s": self.dt, "elbo": "nats", "evidence": "nats"},
            "unit_names": list(self.unit_names),
            "latents": {"mean": self.latent_mean.tolist(), "sd": self.latent_sd.tolist(),
                        "cross_cov": self.latent_cross_cov.tolist(), "trial_start": list(self.trial_starts)},
            "lds_parameters": {name: np.asarray(self.parameters[name]).tolist() for name in names},
            **extra,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "result") -> "LdsFitResult":
        """Rebuild a result from :meth:`to_dict` output; raises ResultFileError naming the file and the field.

        Parameters
        ----------
        data : dict of str to Any
            The parsed JSON of a result file.
        source : str
            The file's name, for error messages.

        Returns
        -------
        LdsFitResult
            The result, every field checked (:func:`vbgui.app.lds_result_checks.check_lds_result_dict`).

        Raises
        ------
        ResultFileError
            When a field is missing, of the wrong type or shape, or inconsistent with another.
        """
        arrays = check_lds_result_dict(data, source, RESULT_VERSION)
        trace = data["trace"]
        prior = data.get("loading_prior")
        return cls(
            vbgui_version=data["vbgui_version"], preset=preset_from_dict(data["preset"], source=source).to_dict(),
            recording=data["recording"], family=data["family"], converged=data["converged"],
            stop_reason=data.get("stop_reason", ""), message=data.get("message", ""),
            iterations=data["iterations"], elbo=float(data["elbo"]),
            expected_log_likelihood=float(data["expected_log_likelihood"]), kl=float(data["kl"]),
            trace=Trace(tuple(trace["iteration"]), tuple(map(float, trace["elbo"])),
                        tuple(map(float, trace["expected_log_likelihood"])), tuple(map(float, trace["kl"]))),
            seconds=float(data["seconds"]), dt=float(data["units"]["bin_width_s"]),
            unit_names=tuple(data["unit_names"]), latent_mean=arrays["mean"], latent_sd=arrays["sd"],
            latent_cross_cov=arrays["cross_cov"],
            parameters={name: arrays[name] for name in PARAMETER_NAMES + (INPUT_PARAMETER_NAME,) if name in arrays},
            recording_checksum=data.get("recording_checksum", ""), created=data.get("created", ""),
            trial_starts=tuple(int(start) for start in arrays["trial_start"]),
            loading_prior=None if prior is None else LoadingPriorTrace(float(prior["log_density"]),
                                                                       tuple(map(float, prior["trace"]))))


def is_lds_result(data: Any) -> bool:
    """True for a dict that says it is a latent-dynamics result.

    Parameters
    ----------
    data : Any
        A parsed result file (or anything else).

    Returns
    -------
    bool
        Whether ``data`` is a dict whose "model" is "latent-dynamics" (its other fields are not checked).
    """
    return isinstance(data, dict) and data.get("model") == MODEL_NAME
