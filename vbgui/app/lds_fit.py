"""Fit a latent-dynamics preset (a linear dynamical system over every unit) to a multi-unit recording.

:class:`LdsFitSession` checks the pair where it meets (latent_dim against the
units, at least two bins, responses the likelihood accepts), starts the
parameters from the data (:func:`vbgui.core.lds.sample.initial_params`) and
runs variational EM (:func:`vbgui.core.lds.em.variational_em`) one iteration
at a time through :meth:`LdsFitSession.steps`, whose return value is the
:class:`vbgui.app.lds_result.LdsFitResult`.  The recording is one trial.
"""
from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable, Generator

import numpy as np

import vbgui
from vbgui.app.lds_result import LdsFitResult
from vbgui.app.result import Trace
from vbgui.core.cancel import CancelToken
from vbgui.core.generators import run_to_end
from vbgui.core.lds.elbo import LdsElboTerms
from vbgui.core.lds.em import EmOutcome, EmSettings, variational_em
from vbgui.core.lds.families import FULL_RANK_MAX_DIM
from vbgui.core.lds.observations import Observations
from vbgui.core.lds.sample import initial_params
from vbgui.core.likelihoods import Likelihood
from vbgui.errors import FitError, RecordingError
from vbgui.io.recording import RecordingFile
from vbgui.models.preset import Preset

MIN_TRIAL_BINS = 2


@dataclass(frozen=True)
class LdsProgress:
    """One EM iteration as the CLI sees it."""

    iteration: int
    max_iter: int
    terms: LdsElboTerms
    elapsed: float


def check_lds_inputs(preset: Preset, recording: RecordingFile) -> Likelihood:
    """Raise the project's error, in one line naming the problem, unless ``preset`` can fit ``recording``."""
    if not preset.is_latent_dynamics:
        raise FitError(f"{preset.name or 'preset'}: not a latent-dynamics preset (no 'latent_dim')")
    n_bins, n_units = recording.responses.shape
    if n_bins < MIN_TRIAL_BINS:
        raise RecordingError(f"{recording.source}: a trial of {n_bins} bin; a latent-dynamics fit needs at least "
                             f"{MIN_TRIAL_BINS} bins per trial")
    if preset.latent_dim > n_units:
        raise FitError(f"{preset.name or 'preset'}: latent_dim = {preset.latent_dim} is more than the {n_units} "
                       f"unit(s) of {recording.source}; choose latent_dim from 1 to {n_units}")
    if preset.fit.family == "full-rank" and n_bins * preset.latent_dim > FULL_RANK_MAX_DIM:
        raise FitError(f"{preset.name or 'preset'}: fit.family = full-rank holds a dense precision over the path; "
                       f"{n_bins} bins x {preset.latent_dim} latents is more than {FULL_RANK_MAX_DIM} values "
                       "(use structured-markov: the same optimum)")
    likelihood = Likelihood(preset.likelihood, preset.noise_sd)
    for index, name in enumerate(recording.unit_names):
        problem = likelihood.response_problem(recording.responses[:, index])
        if problem is not None:
            raise RecordingError(f"{recording.source}: '{recording.response_name}' of unit '{name}' {problem} "
                                 f"(likelihood = {preset.likelihood})")
    return likelihood


class LdsFitSession:
    """A latent-dynamics preset applied to a multi-unit recording."""

    def __init__(self, preset: Preset, recording: RecordingFile, cancel: CancelToken | None = None) -> None:
        self.preset = preset
        self.recording = recording
        self.cancel = cancel if cancel is not None else CancelToken()
        likelihood = check_lds_inputs(preset, recording)
        self.observations = Observations.create(recording.responses, likelihood)
        self.initial_params = initial_params(self.observations.y, likelihood, preset.latent_dim)
        self.settings = EmSettings(family=preset.fit.family, max_iter=preset.fit.max_iter,
                                   tolerance=preset.fit.tolerance)

    def steps(self) -> Generator[LdsProgress, None, LdsFitResult]:
        """Run variational EM, yielding after every iteration; returns the result."""
        start = time.perf_counter()
        trace: list[tuple[int, float, float, float]] = []
        fit = variational_em([self.observations], self.initial_params, self.settings, self.cancel)
        while True:
            try:
                report = next(fit)
            except StopIteration as stop:
                outcome: EmOutcome = stop.value
                break
            terms = report.terms
            trace.append((report.iteration, terms.elbo, terms.expected_log_likelihood, terms.kl))
            yield LdsProgress(report.iteration, self.settings.max_iter, terms, time.perf_counter() - start)
        if not np.isfinite(outcome.terms.elbo):
            raise FitError(f"{self.recording.source}: the ELBO is not finite at the start; check the data's scale")
        return self._result(outcome, trace, time.perf_counter() - start)

    def run(self, on_progress: Callable[[LdsProgress], None] | None = None) -> LdsFitResult:
        """Run to the end, calling ``on_progress`` after every iteration."""
        return run_to_end(self.steps(), on_progress)

    def _result(self, outcome: EmOutcome, trace: list[tuple[int, float, float, float]],
                seconds: float) -> LdsFitResult:
        q = outcome.posteriors[0]
        columns = list(zip(*trace)) if trace else [(), (), (), ()]
        return LdsFitResult(
            vbgui_version=vbgui.__version__, preset=self.preset.to_dict(), recording=self.recording.source,
            recording_checksum=recording_checksum_of_units(self.recording),
            created=datetime.now(timezone.utc).isoformat(timespec="seconds"), family=self.preset.fit.family,
            converged=outcome.converged, stop_reason=outcome.reason, message=outcome.message,
            iterations=len(trace), elbo=outcome.terms.elbo,
            expected_log_likelihood=outcome.terms.expected_log_likelihood, kl=outcome.terms.kl,
            trace=Trace(tuple(columns[0]), tuple(columns[1]), tuple(columns[2]), tuple(columns[3])),
            seconds=seconds, dt=float(self.recording.dt), unit_names=tuple(self.recording.unit_names),
            latent_mean=q.mean, latent_sd=q.sd, latent_cross_cov=q.moments.cross,
            parameters={name: np.asarray(value) for name, value in outcome.params.to_dict().items()})


def recording_checksum_of_units(recording: RecordingFile) -> str:
    """sha256 of the data fitted: dt, then the (T, N) responses as float64 in row order."""
    digest = hashlib.sha256(np.float64(recording.dt).tobytes())
    digest.update(np.ascontiguousarray(recording.responses, dtype=np.float64).tobytes())
    return "sha256:" + digest.hexdigest()
