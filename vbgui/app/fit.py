"""Fit a preset to a recording: the one code path the CLI and the GUI share.

A :class:`FitSession` validates the pair, builds the design and the problem,
and is driven one iteration at a time through :meth:`FitSession.steps` (a
generator of :class:`FitProgress` whose return value is the
:class:`FitResult`), or to its end by :meth:`FitSession.run`.  It holds no
global state; a Qt worker drives it from its own thread and cancels it
through the session's :class:`CancelToken`.
"""
from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable, Generator

import numpy as np

import vbgui
from vbgui.app.result import FitResult, StimulusScaling, Trace
from vbgui.core.conjugate import linear_gaussian_posterior
from vbgui.core.elbo import MONTE_CARLO_ESTIMATORS, ElboTerms, ExactEstimator, GLMProblem, make_estimator
from vbgui.core.families import Family, GaussianPosterior
from vbgui.core.generators import run_to_end
from vbgui.core.likelihoods import Likelihood
from vbgui.core.low_rank import LowRankPosterior, exact_low_rank_gradient
from vbgui.core.names import LIKELIHOOD_NAMES, fits_matrix_free
from vbgui.core.optimize import IterationReport, Outcome, optimizer_for
from vbgui.core.cancel import CancelToken, FitCancelled
from vbgui.errors import FitError, RecordingError
from vbgui.io.recording import Recording
from vbgui.models.design import Design, build_design, coupling_partners, stimulus_standardisation
from vbgui.models.fit_memory import check_fit_memory
from vbgui.models.preset import DesignSettings, Preset

@dataclass(frozen=True, eq=False)
class FitProgress:
    """One iteration as the GUI and the CLI see it."""

    iteration: int
    max_iter: int
    terms: ElboTerms
    q: GaussianPosterior
    elapsed: float


def recording_checksum(recording: Recording, design: DesignSettings | None = None) -> str:
    """sha256 of the data fitted: dt, the response and the regressors as float64, in that order.

    With ``design`` (the preset's design settings) of a coupled model
    (``coupling_lags`` > 0), the coupled units' counts are regressors too and
    follow, each after its name; otherwise (and for ``design`` None) only
    the unit's own data count.

    Parameters
    ----------
    recording : Recording
        The unit's data.
    design : DesignSettings, optional
        The preset's design settings.

    Returns
    -------
    str
        "sha256:" and the hex digest.
    """
    digest = hashlib.sha256(np.float64(recording.dt).tobytes())
    for array in (recording.response, recording.stimulus, recording.design):
        if array is not None:
            digest.update(np.ascontiguousarray(array, dtype=np.float64).tobytes())
    if design is not None and design.coupling_lags > 0 and recording.population is not None:
        population = recording.population
        for partner in coupling_partners(recording, design):
            digest.update(population.names[partner].encode("utf-8") + b"\0")
            digest.update(np.ascontiguousarray(population.responses[:, partner], dtype=np.float64).tobytes())
    return "sha256:" + digest.hexdigest()


def likelihood_of(preset: Preset) -> Likelihood:
    """The preset's likelihood with its noise sd and dispersion.

    Parameters
    ----------
    preset : Preset
        The preset.

    Returns
    -------
    Likelihood
        The likelihood.
    """
    return Likelihood(preset.likelihood, preset.noise_sd, preset.dispersion)


def warm_up_engine() -> None:
    """Compile or load from cache every numba kernel, on a tiny problem (call off the GUI thread)."""
    rng = np.random.default_rng(0)
    design = rng.standard_normal((8, 2))
    for name in LIKELIHOOD_NAMES:
        problem = GLMProblem(design, np.ones(8), Likelihood(name), 1.0)
        estimator = ExactEstimator(problem)
        estimator.curvature_at_point(np.zeros(2))
        for family in ("mean-field", "full-rank"):
            q = GaussianPosterior.isotropic(Family.create(family, 2), np.zeros(2), 0.1)
            estimator.evaluate(q, want_curvature=True)
            estimator.evaluate(q, want_curvature=False)
        for name in MONTE_CARLO_ESTIMATORS:
            make_estimator(name, problem, 2, 0).gradient(q)
        low_rank = LowRankPosterior(Family.create("low-rank", 2, rank=1), np.zeros(2), np.full(2, -2.0),
                                    np.full((2, 1), 0.1))
        exact_low_rank_gradient(estimator, low_rank)


@dataclass
class _TraceBuilder:
    """The numbers of every iteration, kept while a fit runs (its q's are not: only the latest)."""

    iteration: list[int] = field(default_factory=list)
    elbo: list[float] = field(default_factory=list)
    expected_log_likelihood: list[float] = field(default_factory=list)
    kl: list[float] = field(default_factory=list)

    def append(self, report: IterationReport) -> None:
        self.iteration.append(report.iteration)
        self.elbo.append(report.terms.elbo)
        self.expected_log_likelihood.append(report.terms.expected_log_likelihood)
        self.kl.append(report.terms.kl)


class FitSession:
    """A preset applied to a recording, ready to be optimised."""

    def __init__(self, preset: Preset, recording: Recording, cancel: CancelToken | None = None,
                 first_row: int | None = None) -> None:
        """``first_row``: fit bins from this one on (default: the earliest the lags allow)."""
        self.preset = preset
        self.recording = recording
        self.cancel = cancel if cancel is not None else CancelToken()
        if preset.is_latent_dynamics:
            raise FitError(f"{preset.name or 'preset'}: a latent-dynamics preset (latent_dim = {preset.latent_dim}) "
                           "fits every unit together; run it with 'vbgui fit', not as a GLM")
        likelihood = likelihood_of(preset)
        problem_text = likelihood.response_problem(recording.response)
        if problem_text is not None:
            raise RecordingError(f"{recording.source}: '{recording.response_name}' {problem_text} "
                                 f"(likelihood = {preset.likelihood})")
        check_fit_memory(recording, preset, first_row)
        self.design: Design = build_design(recording, preset.design, first_row)
        self.problem = GLMProblem(self.design.rows, self.design.response, likelihood, preset.prior.scale)
        self.family = Family.create(preset.fit.family, self.design.dim, list(self.design.groups.values()),
                                    rank=preset.fit.rank)

    @property
    def names(self) -> tuple[str, ...]:
        return self.design.names

    def initial_q(self) -> GaussianPosterior | LowRankPosterior:
        """The starting q: m0 = 0 except the bias, at the link of the mean response, and
        S0^-1 = blocks(H(m0) + I / s^2), the fixed point of S evaluated with the spread of
        the linear predictor ignored.  S0 is small wherever the data are informative, so
        x_t'S0 x_t stays moderate even for large regressors (spike history).

        Where the fit is matrix-free (:func:`vbgui.core.names.fits_matrix_free`), a mean-field or low-rank q starts
        from the diagonal of H alone (O(T D), no D x D matrix); the low-rank
        factor then starts small and seeded (V = 0 is a stationary point).

        Returns
        -------
        GaussianPosterior or LowRankPosterior
            q0 of the session's family.
        """
        dim = self.design.dim
        mean = np.zeros(dim)
        if "bias" in self.design.groups:
            mean[self.design.groups["bias"][0]] = self.problem.likelihood.linear_predictor_of_mean(
                float(np.mean(self.problem.response)))
        estimator = ExactEstimator(self.problem)
        prior_precision = 1.0 / self.preset.prior.scale ** 2
        if fits_matrix_free(self.family.name, dim):
            precision_diagonal = estimator.curvature_diagonal_at_point(mean) + prior_precision
            sd = 1.0 / np.sqrt(precision_diagonal)
            if self.family.is_diagonal:
                return GaussianPosterior(self.family, mean, np.diag(sd))
            factor = 0.1 * sd[:, None] * np.random.default_rng(0).standard_normal((dim, self.family.rank))
            return LowRankPosterior(self.family, mean, np.log(sd), factor)
        precision = estimator.curvature_at_point(mean) + np.eye(dim) * prior_precision
        if self.family.is_low_rank:
            return LowRankPosterior.from_precision(self.family, mean, precision)
        return GaussianPosterior.from_precision(self.family, mean, precision)

    def _optimizer(self, q0: GaussianPosterior, max_iter: int):
        fit = self.preset.fit
        estimator = make_estimator(fit.estimator, self.problem, fit.samples, fit.seed, self.cancel)
        return optimizer_for(estimator, q0, max_iter, fit.tolerance, fit.learning_rate)

    def steps(self, start_q: GaussianPosterior | None = None,
              max_iter: int | None = None) -> Generator[FitProgress, None, FitResult]:
        """Run the optimiser, yielding after every iteration; returns the FitResult.

        ``start_q`` (a q of this session's family) replaces :meth:`initial_q`
        as the starting point (a warm start); ``max_iter`` replaces the
        preset's iteration cap (0 evaluates ``start_q`` without a step).
        Cancelling (through ``self.cancel``) ends the fit with stop_reason
        'cancelled' and the last q reached.

        Parameters
        ----------
        start_q : GaussianPosterior, optional
            The starting q.
        max_iter : int, optional
            The iteration cap.

        Yields
        ------
        FitProgress
            The iteration, the cap, the ELBO terms (nats), q and the seconds elapsed.

        Returns
        -------
        FitResult
            The generator's return value (StopIteration.value).

        Raises
        ------
        FitError
            When the starting q's ELBO is not finite.
        """
        start = time.perf_counter()
        max_iter = self.preset.fit.max_iter if max_iter is None else max_iter
        trace = _TraceBuilder()
        last: IterationReport | None = None
        q0 = self.initial_q() if start_q is None else start_q
        optimizer = self._optimizer(q0, max_iter)
        try:
            while True:
                self.cancel.raise_if_cancelled()
                last = next(optimizer)
                trace.append(last)
                yield FitProgress(last.iteration, max_iter, last.terms, last.q, time.perf_counter() - start)
        except StopIteration as stop:
            outcome: Outcome = stop.value
        except FitCancelled:
            outcome = Outcome("cancelled", last.q if last is not None else q0, "cancelled by the user")
        seconds = time.perf_counter() - start
        if outcome.reason == "non-finite" and last is None:
            raise FitError(f"{self.recording.source}: {outcome.message}; check the data's scale "
                           "or lower the prior scale")
        return self._result(outcome, trace, last, seconds)

    def run(self, on_progress: Callable[[FitProgress], None] | None = None,
            start_q: GaussianPosterior | None = None, max_iter: int | None = None) -> FitResult:
        """Run to the end, calling ``on_progress`` after every iteration (``start_q``, ``max_iter``: see
        :meth:`steps`).

        Parameters
        ----------
        on_progress : callable, optional
            Called with a FitProgress after every iteration.
        start_q : GaussianPosterior, optional
            The starting q.
        max_iter : int, optional
            The iteration cap.

        Returns
        -------
        FitResult
            The result.
        """
        return run_to_end(self.steps(start_q, max_iter), on_progress)

    def result_for(self, q: GaussianPosterior, stop_reason: str, message: str, seconds: float = 0.0) -> FitResult:
        """The FitResult of a q reached without this session's optimiser (no iterations, an empty trace;
        ``converged`` when ``stop_reason`` is 'converged'), its ELBO evaluated exactly.

        Parameters
        ----------
        q : GaussianPosterior
            The q.
        stop_reason : str
            Recorded as the result's stop reason.
        message : str
            Recorded as the result's message.
        seconds : float
            Recorded as the time taken.

        Returns
        -------
        FitResult
            The result.
        """
        return self._result(Outcome(stop_reason, q, message), _TraceBuilder(), None, seconds)

    def exact_terms(self, q: GaussianPosterior) -> ElboTerms:
        """The exact ELBO terms of q on the session's data, in nats.

        Parameters
        ----------
        q : GaussianPosterior
            The q.

        Returns
        -------
        ElboTerms
            ELBO, expected log-likelihood and KL.
        """
        return ExactEstimator(self.problem).value(q)

    def _result(self, outcome: Outcome, trace: "_TraceBuilder", last: IterationReport | None,
                seconds: float) -> FitResult:
        q = outcome.q
        if self.preset.fit.estimator == "exact" and last is not None and last.q is q:
            terms = last.terms
        else:
            terms = self.exact_terms(q)
        log_evidence = exact_mean = exact_cov = None
        if self.problem.likelihood.name == "gaussian":
            exact = linear_gaussian_posterior(self.problem)
            log_evidence, exact_mean, exact_cov = exact.log_evidence, exact.mean, exact.cov
        return FitResult(
            vbgui_version=vbgui.__version__, preset=self.preset.to_dict(), recording=self.recording.source,
            family=self.family.name, estimator=self.preset.fit.estimator, converged=outcome.converged,
            stop_reason=outcome.reason, message=outcome.message, iterations=len(trace.iteration),
            elbo=terms.elbo, expected_log_likelihood=terms.expected_log_likelihood, kl=terms.kl,
            names=self.names, mean=np.array(q.mean), cov=np.array(q.cov),
            trace=Trace(tuple(trace.iteration), tuple(trace.elbo), tuple(trace.expected_log_likelihood),
                        tuple(trace.kl)),
            seconds=seconds, n_bins=self.recording.n_bins, first_row=self.design.first_row,
            log_evidence=log_evidence, exact_posterior_mean=exact_mean, exact_posterior_cov=exact_cov,
            truth={k: v for k, v in self.recording.truth.items() if k in self.names},
            unit=self.recording.unit, recording_checksum=recording_checksum(self.recording, self.preset.design),
            created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
            dt=float(self.recording.dt), stimulus_scaling=self._stimulus_scaling(),
        )

    def _stimulus_scaling(self) -> StimulusScaling | None:
        scaling = stimulus_standardisation(self.recording, self.preset.design)
        return None if scaling is None else StimulusScaling(tuple(scaling[0]), tuple(scaling[1]))
