"""FitResult: the one result type the CLI writes, the GUI shows and exports convert.

``to_dict`` gives the JSON contract of ``vbgui fit --out`` (version
``RESULT_VERSION``); ``from_dict`` reads it back and checks it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from vbgui.errors import ResultFileError

RESULT_VERSION = 1


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

    @property
    def sd(self) -> np.ndarray:
        return np.sqrt(np.diag(self.cov))

    @property
    def gap(self) -> float | None:
        """log p(D) - ELBO = KL(q || posterior), when the evidence is known exactly."""
        return None if self.log_evidence is None else self.log_evidence - self.elbo

    def to_dict(self) -> dict[str, Any]:
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
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "result") -> "FitResult":
        """Rebuild a result from :meth:`to_dict` output; raises ResultFileError naming what is wrong."""
        try:
            if data.get("result_version") != RESULT_VERSION:
                raise ResultFileError(f"{source}: unsupported result_version {data.get('result_version')!r} "
                                      f"(this vbgui reads version {RESULT_VERSION})")
            params = data["parameters"]
            names = tuple(str(n) for n in params["names"])
            mean = np.asarray(params["mean"], dtype=float)
            cov = np.asarray(params["cov"], dtype=float)
            if mean.shape != (len(names),) or cov.shape != (len(names), len(names)):
                raise ResultFileError(f"{source}: parameters.mean/cov do not match parameters.names")
            if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(cov))):
                raise ResultFileError(f"{source}: parameters contain non-finite values")
            trace = data["trace"]
            exact = data.get("exact_posterior")
            return cls(
                vbgui_version=str(data["vbgui_version"]), preset=dict(data["preset"]),
                recording=str(data["recording"]), family=str(data["family"]),
                estimator=str(data["estimator"]), converged=bool(data["converged"]),
                stop_reason=str(data.get("stop_reason", "")), message=str(data.get("message", "")),
                iterations=int(data["iterations"]), elbo=float(data["elbo"]),
                expected_log_likelihood=float(data["expected_log_likelihood"]), kl=float(data["kl"]),
                names=names, mean=mean, cov=cov,
                trace=Trace(tuple(int(i) for i in trace["iteration"]), tuple(map(float, trace["elbo"])),
                            tuple(map(float, trace["expected_log_likelihood"])), tuple(map(float, trace["kl"]))),
                seconds=float(data["seconds"]), n_bins=int(data["bins"]["total"]),
                first_row=int(data["bins"]["first_row"]),
                log_evidence=None if data.get("log_evidence") is None else float(data["log_evidence"]),
                exact_posterior_mean=None if exact is None else np.asarray(exact["mean"], dtype=float),
                exact_posterior_cov=None if exact is None else np.asarray(exact["cov"], dtype=float),
                truth={str(k): float(v) for k, v in data.get("truth", {}).items()},
                unit=str(data.get("unit", "")), recording_checksum=str(data.get("recording_checksum", "")),
                created=str(data.get("created", "")), diagnostics=dict(data.get("diagnostics", {})),
            )
        except ResultFileError:
            raise
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ResultFileError(f"{source}: not a vbgui result ({exc.__class__.__name__}: {exc})") from None
