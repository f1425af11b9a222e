"""FitResult: the one result type the CLI writes, the GUI shows and exports convert.

``to_dict`` gives the JSON contract of ``vbgui fit --out`` (version
``RESULT_VERSION``); ``from_dict`` checks every field
(:mod:`vbgui.app.result_checks`) and reads it back.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from vbgui.app.result_checks import check_result_dict
from vbgui.models.preset import preset_from_dict

RESULT_VERSION = 1
LAGS_MEANING = ("stim[l] weights the stimulus l * lag_s seconds before the bin (l = 0: the same bin); "
                "hist[j] weights the response (j + 1) * lag_s seconds before the bin")


@dataclass(frozen=True)
class StimulusScaling:
    """The z-scoring applied to each stimulus column before its lags were built:
    s_standardised = (s - mean) / sd, so a weight w per standard deviation is w / sd per stimulus unit."""

    mean: tuple[float, ...]
    sd: tuple[float, ...]


@dataclass(frozen=True)
class Trace:
    """The ELBO and its two terms at every iteration, as the optimiser saw them.

    For the reparam estimator these are Monte Carlo estimates.
    """

    iteration: tuple[int, ...] = ()
    elbo: tuple[float, ...] = ()
    expected_log_likelihood: tuple[float, ...] = ()
    kl: tuple[float, ...] = ()


@dataclass(frozen=True, eq=False)
class FitResult:
    """A finished (converged, capped, cancelled or diverged) fit.

    ``elbo``, ``expected_log_likelihood`` and ``kl`` are exact evaluations at
    the returned q, whatever estimator drove the fit.  ``seconds`` is the
    optimisation time, excluding loading and engine start-up.
    """

    vbgui_version: str
    preset: dict[str, Any]
    recording: str
    family: str
    estimator: str
    converged: bool
    stop_reason: str
    message: str
    iterations: int
    elbo: float
    expected_log_likelihood: float
    kl: float
    names: tuple[str, ...]
    mean: np.ndarray
    cov: np.ndarray
    trace: Trace
    seconds: float
    n_bins: int
    first_row: int
    log_evidence: float | None = None
    exact_posterior_mean: np.ndarray | None = None
    exact_posterior_cov: np.ndarray | None = None
    truth: dict[str, float] = field(default_factory=dict)
    unit: str = ""
    recording_checksum: str = ""
    created: str = ""
    diagnostics: dict[str, Any] = field(default_factory=dict)
    dt: float | None = None
    stimulus_scaling: StimulusScaling | None = None
    amortisation: dict[str, Any] | None = None  # see vbgui.app.amortise.amortisation_record

    @property
    def sd(self) -> np.ndarray:
        return np.sqrt(np.diag(self.cov))

    @property
    def gap(self) -> float | None:
        """log p(D) - ELBO = KL(q || posterior), when the evidence is known exactly."""
        return None if self.log_evidence is None else self.log_evidence - self.elbo

    def to_dict(self) -> dict[str, Any]:
        """The result file's JSON object (versioned); the exact posterior, truth, diagnostics, amortisation and units only when known.

        Returns
        -------
        dict of str to object
            JSON-ready.
        """
        data: dict[str, Any] = {
            "result_version": RESULT_VERSION,
            "vbgui_version": self.vbgui_version,
            "preset": self.preset,
            "recording": self.recording,
            "unit": self.unit,
            "recording_checksum": self.recording_checksum,
            "created": self.created,
            "family": self.family,
            "estimator": self.estimator,
            "converged": self.converged,
            "stop_reason": self.stop_reason,
            "message": self.message,
            "iterations": self.iterations,
            "elbo": self.elbo,
            "expected_log_likelihood": self.expected_log_likelihood,
            "kl": self.kl,
            "parameters": {"names": list(self.names), "mean": self.mean.tolist(),
                           "sd": self.sd.tolist(), "cov": self.cov.tolist()},
            "trace": {"iteration": list(self.trace.iteration), "elbo": list(self.trace.elbo),
                      "expected_log_likelihood": list(self.trace.expected_log_likelihood),
                      "kl": list(self.trace.kl)},
            "seconds": self.seconds,
            "bins": {"total": self.n_bins, "first_row": self.first_row},
        }
        if self.log_evidence is not None:
            data["log_evidence"] = self.log_evidence
            data["exact_posterior"] = {"mean": self.exact_posterior_mean.tolist(),
                                       "cov": self.exact_posterior_cov.tolist()}
        if self.truth:
            data["truth"] = dict(self.truth)
        if self.diagnostics:
            data["diagnostics"] = self.diagnostics
        if self.amortisation is not None:
            data["amortisation"] = dict(self.amortisation)
        if self.dt is not None:
            scaling = self.stimulus_scaling
            data["units"] = {
                "bin_width_s": self.dt, "lag_s": self.dt, "lags": LAGS_MEANING, "elbo": "nats", "evidence": "nats",
                "stimulus_standardisation": None if scaling is None else {"mean": list(scaling.mean),
                                                                          "sd": list(scaling.sd)}}
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "result") -> "FitResult":
        """Rebuild a result from :meth:`to_dict` output; raises ResultFileError naming the file and the field.

        Parameters
        ----------
        data : dict of str to object
            A result file's JSON object.
        source : str
            Named in a message (the file).

        Returns
        -------
        FitResult
            The result.
        """
        check_result_dict(data, source, RESULT_VERSION)
        params, trace, exact = data["parameters"], data["trace"], data.get("exact_posterior")
        units = data.get("units")
        scaling = None if units is None else units["stimulus_standardisation"]
        return cls(
            vbgui_version=data["vbgui_version"], recording=data["recording"],
            preset=preset_from_dict(data["preset"], source=source).to_dict(),  # defaults filled in
            family=data["family"], estimator=data["estimator"], converged=data["converged"],
            stop_reason=data.get("stop_reason", ""), message=data.get("message", ""),
            iterations=data["iterations"], elbo=float(data["elbo"]),
            expected_log_likelihood=float(data["expected_log_likelihood"]), kl=float(data["kl"]),
            names=tuple(params["names"]), mean=np.asarray(params["mean"], dtype=float),
            cov=np.asarray(params["cov"], dtype=float),
            trace=Trace(tuple(trace["iteration"]), tuple(map(float, trace["elbo"])),
                        tuple(map(float, trace["expected_log_likelihood"])), tuple(map(float, trace["kl"]))),
            seconds=float(data["seconds"]), n_bins=data["bins"]["total"], first_row=data["bins"]["first_row"],
            log_evidence=None if exact is None else float(data["log_evidence"]),
            exact_posterior_mean=None if exact is None else np.asarray(exact["mean"], dtype=float),
            exact_posterior_cov=None if exact is None else np.asarray(exact["cov"], dtype=float),
            truth={k: float(v) for k, v in data.get("truth", {}).items()},
            unit=data.get("unit", ""), recording_checksum=data.get("recording_checksum", ""),
            created=data.get("created", ""), diagnostics=dict(data.get("diagnostics", {})),
            dt=None if units is None else float(units["bin_width_s"]),
            stimulus_scaling=None if scaling is None else StimulusScaling(tuple(map(float, scaling["mean"])),
                                                                          tuple(map(float, scaling["sd"]))),
            amortisation=None if "amortisation" not in data else dict(data["amortisation"]),
        )
