"""Fit a latent-dynamics preset (a linear dynamical system over every unit) to a multi-unit recording.

:class:`LdsFitSession` checks the pair where it meets (latent_dim against the
units, at least two bins per trial, responses the likelihood accepts, a
stimulus when the preset's ``[dynamics] stimulus_input`` asks for one),
starts the parameters from the data
(:func:`vbgui.core.lds.sample.initial_params`) and runs variational EM
(:func:`vbgui.core.lds.em.variational_em`) one iteration at a time through
:meth:`LdsFitSession.steps`, whose return value is the
:class:`vbgui.app.lds_result.LdsFitResult`.

Trials: a recording with ``trial_starts`` (:mod:`vbgui.io.trials`) is fitted
as that list of trials, each with its own latent path (independent given the
parameters, x_0 ~ N(mu0, Sigma0) in each) and one set of parameters; without
it the recording is one trial.  The result stacks the trials' paths in the
recording's bin order (see :mod:`vbgui.app.lds_result`).  With
``stimulus_input`` the stimulus's bins are split the same way and u_t of a
trial's last bin drives nothing.
"""
from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable, Generator

import numpy as np

import vbgui
from vbgui.app.lds_result import LdsFitResult, LoadingPriorTrace
from vbgui.app.result import Trace
from vbgui.core.cancel import CancelToken
from vbgui.core.generators import run_to_end
from vbgui.core.lds.elbo import LdsElboTerms, TrialPosterior
from vbgui.core.lds.em import EmOutcome, EmSettings, variational_em
from vbgui.core.lds.families import FULL_RANK_MAX_DIM
from vbgui.core.lds.loading_prior import LoadingPrior
from vbgui.core.lds.observations import Observations
from vbgui.core.lds.sample import initial_params
from vbgui.core.likelihoods import Likelihood
from vbgui.errors import FitError, RecordingError
from vbgui.io.recording import RecordingFile
from vbgui.io.trials import trial_lengths
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
    """Raise the project's error, in one line naming the problem, unless ``preset`` can fit ``recording``.

    Parameters
    ----------
    preset : Preset
        A latent-dynamics preset (one with ``latent_dim``).
    recording : RecordingFile
        The multi-unit recording to fit.

    Returns
    -------
    Likelihood
        The preset's likelihood, which accepts every unit's responses.

    Raises
    ------
    FitError
        When the preset is not a latent-dynamics one, has more latents than the recording has units, or asks for
        full-rank over more than FULL_RANK_MAX_DIM latent values in a trial.
    RecordingError
        When a trial has fewer than MIN_TRIAL_BINS bins, the preset wants a stimulus the recording lacks, or a
        unit's responses do not suit the likelihood.
    """
    if not preset.is_latent_dynamics:
        raise FitError(f"{preset.name or 'preset'}: not a latent-dynamics preset (no 'latent_dim')")
    n_bins, n_units = recording.responses.shape
    starts = trial_starts_of(recording)
    lengths = trial_lengths(starts, n_bins)
    if np.any(lengths < MIN_TRIAL_BINS):
        index = int(np.flatnonzero(lengths < MIN_TRIAL_BINS)[0])
        which = f"trial {index} (from bin {int(starts[index])})" if len(starts) > 1 else "a trial"
        raise RecordingError(f"{recording.source}: {which} has {int(lengths[index])} bin; a latent-dynamics fit needs "
                             f"at least {MIN_TRIAL_BINS} bins per trial")
    if preset.dynamics.stimulus_input and recording.stimulus is None:
        raise RecordingError(f"{recording.source}: no 'stimulus' array, and {preset.name or 'the preset'} has "
                             "[dynamics] stimulus_input = true (the input u_t of every bin); add one or set it false")
    if preset.latent_dim > n_units:
        raise FitError(f"{preset.name or 'preset'}: latent_dim = {preset.latent_dim} is more than the {n_units} "
                       f"unit(s) of {recording.source}; choose latent_dim from 1 to {n_units}")
    longest = int(np.max(lengths))
    if preset.fit.family == "full-rank" and longest * preset.latent_dim > FULL_RANK_MAX_DIM:
        raise FitError(f"{preset.name or 'preset'}: fit.family = full-rank holds a dense precision over the path; "
                       f"{longest} bins x {preset.latent_dim} latents is more than {FULL_RANK_MAX_DIM} values "
                       "(use structured-markov: the same optimum)")
    likelihood = Likelihood(preset.likelihood, preset.noise_sd)
    for index, name in enumerate(recording.unit_names):
        problem = likelihood.response_problem(recording.responses[:, index])
        if problem is not None:
            raise RecordingError(f"{recording.source}: '{recording.response_name}' of unit '{name}' {problem} "
                                 f"(likelihood = {preset.likelihood})")
    return likelihood


def trial_starts_of(recording: RecordingFile) -> np.ndarray:
    """The bin at which each trial of ``recording`` begins, (n_trials,): its ``trial_starts``, or [0] (one trial).

    Parameters
    ----------
    recording : RecordingFile
        A loaded recording (its trial starts already checked by the loader).

    Returns
    -------
    ndarray of shape (n_trials,)
    """
    return np.zeros(1, dtype=np.int64) if recording.trial_starts is None else np.asarray(recording.trial_starts)


def loading_prior_of(preset: Preset) -> LoadingPrior:
    """The prior on C and d that a preset's ``[loading_prior]`` sets (flat where a key is absent).

    Parameters
    ----------
    preset : Preset
        A latent-dynamics preset.

    Returns
    -------
    LoadingPrior
        With the preset's ``loading_sd`` and ``offset_sd``.
    """
    return LoadingPrior(preset.loading_prior.loading_sd, preset.loading_prior.offset_sd)


class LdsFitSession:
    """A latent-dynamics preset applied to a multi-unit recording."""

    def __init__(self, preset: Preset, recording: RecordingFile, cancel: CancelToken | None = None) -> None:
        self.preset = preset
        self.recording = recording
        self.cancel = cancel if cancel is not None else CancelToken()
        likelihood = check_lds_inputs(preset, recording)
        self.trial_starts = trial_starts_of(recording)
        bounds = np.append(self.trial_starts, recording.responses.shape[0])
        stimulus = recording.stimulus if preset.dynamics.stimulus_input else None
        self.trials = [Observations.create(recording.responses[start:stop], likelihood,
                                           None if stimulus is None else stimulus[start:stop])
                       for start, stop in zip(bounds[:-1], bounds[1:])]
        self.initial_params = initial_params(recording.responses, likelihood, preset.latent_dim,
                                             0 if stimulus is None else stimulus.shape[1])
        self.settings = EmSettings(family=preset.fit.family, max_iter=preset.fit.max_iter,
                                   tolerance=preset.fit.tolerance, loading_prior=loading_prior_of(preset))

    def steps(self) -> Generator[LdsProgress, None, LdsFitResult]:
        """Run variational EM, yielding after every iteration; returns the result.

        Yields
        ------
        LdsProgress
            The iteration, the cap, the ELBO terms (nats) and the seconds elapsed.

        Returns
        -------
        LdsFitResult
            The generator's return value (StopIteration.value); a cancelled fit returns the last state reached.

        Raises
        ------
        FitError
            When the fit's final ELBO is not finite (the data's scale does not suit the model).
        """
        start = time.perf_counter()
        trace: list[tuple[int, float, float, float]] = []
        prior_trace: list[float] = []
        fit = variational_em(self.trials, self.initial_params, self.settings, self.cancel)
        while True:
            try:
                report = next(fit)
            except StopIteration as stop:
                outcome: EmOutcome = stop.value
                break
            terms = report.terms
            trace.append((report.iteration, terms.elbo, terms.expected_log_likelihood, terms.kl))
            prior_trace.append(terms.log_loading_prior)
            yield LdsProgress(report.iteration, self.settings.max_iter, terms, time.perf_counter() - start)
        if not np.isfinite(outcome.terms.elbo):
            raise FitError(f"{self.recording.source}: the ELBO is not finite at the start; check the data's scale")
        return self._result(outcome, trace, prior_trace, time.perf_counter() - start)

    def run(self, on_progress: Callable[[LdsProgress], None] | None = None) -> LdsFitResult:
        """Run to the end, calling ``on_progress`` after every iteration.

        Parameters
        ----------
        on_progress : callable (LdsProgress) -> None, optional
            Called with each iteration's progress.

        Returns
        -------
        LdsFitResult
            What :meth:`steps` returns.
        """
        return run_to_end(self.steps(), on_progress)

    def _result(self, outcome: EmOutcome, trace: list[tuple[int, float, float, float]], prior_trace: list[float],
                seconds: float) -> LdsFitResult:
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
            latent_mean=np.concatenate([q.mean for q in outcome.posteriors]),
            latent_sd=np.concatenate([q.sd for q in outcome.posteriors]),
            latent_cross_cov=stacked_cross_cov(outcome.posteriors),
            parameters={name: np.asarray(value) for name, value in outcome.params.to_dict().items()},
            trial_starts=tuple(int(start) for start in self.trial_starts),
            loading_prior=None if self.settings.loading_prior.is_flat else LoadingPriorTrace(
                outcome.terms.log_loading_prior, tuple(prior_trace)))


def stacked_cross_cov(posteriors: tuple[TrialPosterior, ...]) -> np.ndarray:
    """Cov_q(x_t, x_{t+1}) over the trials' paths stacked in bin order, (T - 1, K, K): between the last bin of
    a trial and the first of the next it is exactly 0 (q, like the model, makes trials independent).

    Parameters
    ----------
    posteriors : tuple of TrialPosterior
        q over each trial's path, in bin order (at least one).

    Returns
    -------
    (T - 1, K, K) array
        T the total number of bins over the trials.
    """
    size = posteriors[0].mean.shape[1]
    blocks = []
    for index, q in enumerate(posteriors):
        if index:
            blocks.append(np.zeros((1, size, size)))
        blocks.append(q.moments.cross)
    return np.concatenate(blocks)


def recording_checksum_of_units(recording: RecordingFile) -> str:
    """sha256 of the data fitted: dt, then the (T, N) responses as float64 in row order.

    Parameters
    ----------
    recording : RecordingFile
        The recording fitted (its ``dt`` and ``responses``).

    Returns
    -------
    str
        "sha256:" followed by the hex digest.
    """
    digest = hashlib.sha256(np.float64(recording.dt).tobytes())
    digest.update(np.ascontiguousarray(recording.responses, dtype=np.float64).tobytes())
    return "sha256:" + digest.hexdigest()
