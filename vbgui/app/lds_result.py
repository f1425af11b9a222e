"""LdsFitResult: what a latent-dynamics fit writes (``vbgui fit --preset poisson-lds``), reads back and exports.

The JSON contract shares the GLM result's provenance and ELBO fields
(:mod:`vbgui.app.result`) and replaces ``parameters`` (a posterior over
weights) by

    latents          {"mean": (T, K), "sd": (T, K), "cross_cov": (T - 1, K, K)}: q's means, marginal sds and
                     Cov_q(x_t, x_{t+1}) over the latent path (zero for mean-field over time)
    lds_parameters   the learned point estimates {"A", "b", "Q", "mu0", "Sigma0", "C", "d"}
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
from vbgui.core.lds.model import PARAMETER_NAMES
from vbgui.models.preset import preset_from_dict


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

    @property
    def n_bins(self) -> int:
        return int(self.latent_mean.shape[0])

    def to_dict(self) -> dict[str, Any]:
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
                        "cross_cov": self.latent_cross_cov.tolist()},
            "lds_parameters": {name: np.asarray(self.parameters[name]).tolist() for name in PARAMETER_NAMES},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "result") -> "LdsFitResult":
        """Rebuild a result from :meth:`to_dict` output; raises ResultFileError naming the file and the field."""
        arrays = check_lds_result_dict(data, source, RESULT_VERSION)
        trace = data["trace"]
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
            latent_cross_cov=arrays["cross_cov"], parameters={name: arrays[name] for name in PARAMETER_NAMES},
            recording_checksum=data.get("recording_checksum", ""), created=data.get("created", ""))


def is_lds_result(data: Any) -> bool:
    """True for a dict that says it is a latent-dynamics result."""
    return isinstance(data, dict) and data.get("model") == MODEL_NAME
