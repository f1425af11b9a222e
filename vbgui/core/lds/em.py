"""Variational EM for an LDS: alternate the E-step on every trial's q and the M-step on the parameters.

Each iteration: E-step (:func:`vbgui.core.lds.estep.estep_trial`, per trial),
then the dynamics in closed form and the loadings by Newton
(:mod:`vbgui.core.lds.mstep`, :func:`vbgui.core.lds.observations.loading_update`).
Every part is an ascent step of the same objective, the ELBO plus, with a
prior on the loadings (``EmSettings.loading_prior``), log p(C, d) (C and d are
then MAP estimates; :mod:`vbgui.core.lds.loading_prior`).  A parameter update
that would lower it in floating point is not taken, so the objective reported
after each iteration (``terms.objective``; the ELBO without a prior) never
decreases.  The fit converges when an iteration gains less than
``tolerance`` times |objective|.

:func:`variational_em` is a generator: it yields an :class:`EmReport` after
every iteration and returns the :class:`EmOutcome`; a set cancel token ends
it with reason "cancelled" and the last state reached.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Generator

import numpy as np

from vbgui.core.cancel import CancelToken
from vbgui.core.lds.elbo import LdsElboTerms, TrialPosterior, terms_from_pass, trial_terms
from vbgui.core.lds.estep import estep_trial, initial_posterior
from vbgui.core.lds.families import FULL_RANK_MAX_DIM, make_path_family
from vbgui.core.lds.loading_prior import LoadingPrior
from vbgui.core.lds.model import LdsParams
from vbgui.core.lds.mstep import update_dynamics
from vbgui.core.lds.observations import ObservationPass, Observations, loading_update


@dataclass(frozen=True)
class EmSettings:
    """How to fit: the path family, iteration cap, relative tolerance, steps per E-step and per
    loading update, whether to learn the parameters (False: the E-step alone, for fixed parameters), and the
    prior on C and d (flat by default: their maximum-likelihood M-step)."""

    family: str = "structured-markov"
    max_iter: int = 500
    tolerance: float = 1e-8
    estep_steps: int = 1
    loading_steps: int = 1
    learn: bool = True
    loading_prior: LoadingPrior = LoadingPrior()


@dataclass(frozen=True, eq=False)
class EmReport:
    """The state after one iteration."""

    iteration: int
    terms: LdsElboTerms
    params: LdsParams
    posteriors: tuple[TrialPosterior, ...]


@dataclass(frozen=True, eq=False)
class EmOutcome:
    """How a fit ended: reason 'converged', 'max-iter' or 'cancelled', with the last state."""

    reason: str
    message: str
    terms: LdsElboTerms
    params: LdsParams
    posteriors: tuple[TrialPosterior, ...]
    iterations: int

    @property
    def converged(self) -> bool:
        return self.reason == "converged"


def per_trial_terms(params: LdsParams, trials: list[Observations],
                    posteriors: list[TrialPosterior]) -> list[LdsElboTerms]:
    """The ELBO's two terms of every trial.

    Parameters
    ----------
    params : LdsParams
        The parameters.
    trials : list of Observations
        Each trial's data.
    posteriors : list of TrialPosterior
        q over each trial's path, in the same order.

    Returns
    -------
    list of LdsElboTerms
        One per trial, each from a pass over its data (without derivatives).
    """
    return [trial_terms(params, o, q.mean, q.moments) for o, q in zip(trials, posteriors)]


def summed(terms: list[LdsElboTerms]) -> LdsElboTerms:
    """The terms of several trials added.

    Parameters
    ----------
    terms : list of LdsElboTerms
        At least one.

    Returns
    -------
    LdsElboTerms
        The summed expected log-likelihoods, KLs and log p(C, d) terms (no data pass kept).
    """
    return sum(terms[1:], terms[0])


def _total(per_trial: list[LdsElboTerms], params: LdsParams, prior: LoadingPrior) -> LdsElboTerms:
    """Every trial's terms added, with log p(C, d) of ``params`` under ``prior``."""
    return summed(per_trial).with_loading_prior(prior.log_density(params.C, params.d))


def _stacked(trials: list[Observations], posteriors: list[TrialPosterior]):
    if len(trials) == 1:
        return trials[0], posteriors[0].mean, posteriors[0].moments.marginal
    y = np.concatenate([o.y for o in trials])
    return (Observations(y, trials[0].likelihood, 0.0), np.concatenate([q.mean for q in posteriors]),
            np.concatenate([q.moments.marginal for q in posteriors]))


def variational_em(trials: list[Observations], params: LdsParams, settings: EmSettings,
                   cancel: CancelToken | None = None,
                   posteriors: list[TrialPosterior] | None = None) -> Generator[EmReport, None, EmOutcome]:
    """Fit q over every trial's path (and the parameters when ``settings.learn``) by variational EM.

    ``trials`` hold (T_i, N) observations; ``posteriors`` a starting q per trial
    (default: the prior's precision, zero means).

    Parameters
    ----------
    trials : list of Observations
        Each trial's data (T_i, N), with its input when the model has one.
    params : LdsParams
        The starting parameters (kept when ``settings.learn`` is False).
    settings : EmSettings
        The family, iteration cap, tolerance, steps and prior on the loadings.
    cancel : CancelToken, optional
        Checked before each iteration and between its E-step and M-step.
    posteriors : list of TrialPosterior, optional
        A starting q per trial.

    Yields
    ------
    EmReport
        The iteration, the summed terms (nats), the parameters and every trial's q after it.

    Returns
    -------
    EmOutcome
        The generator's return value (StopIteration.value): why it stopped ("converged", "max-iter" or
        "cancelled"), with the last terms, parameters, posteriors and the number of iterations completed.

    Raises
    ------
    ValueError
        When ``settings.family`` is unknown, or full-rank is asked for with T K above FULL_RANK_MAX_DIM.
    """
    family = make_path_family(settings.family, params.latent_dim)
    if settings.family == "full-rank" and max(o.y.shape[0] for o in trials) * params.latent_dim > FULL_RANK_MAX_DIM:
        raise ValueError(f"full-rank over a path holds at most {FULL_RANK_MAX_DIM} latent values (T K)")
    cancel = cancel if cancel is not None else CancelToken()
    posteriors = list(posteriors) if posteriors is not None else [
        initial_posterior(family, params, o.y.shape[0]) for o in trials]
    per_trial = per_trial_terms(params, trials, posteriors)
    prior = settings.loading_prior
    terms = _total(per_trial, params, prior)
    learn_initial_cov = len(trials) > 1
    for iteration in range(1, settings.max_iter + 1):
        if cancel.cancelled:
            return EmOutcome("cancelled", "cancelled by the user", terms, params, tuple(posteriors), iteration - 1)
        previous = terms.objective
        for index, observations in enumerate(trials):
            posteriors[index], per_trial[index] = estep_trial(family, params, observations, posteriors[index],
                                                              per_trial[index], settings.estep_steps,
                                                              0.1 * settings.tolerance, want_loading=settings.learn)
        if cancel.cancelled:  # an iteration at 1e6 bins takes tens of seconds: stop between its halves too
            return EmOutcome("cancelled", "cancelled by the user", _total(per_trial, params, prior), params,
                             tuple(posteriors), iteration - 1)
        if settings.learn:
            params, per_trial = _mstep(params, trials, posteriors, per_trial, settings, learn_initial_cov)
        terms = _total(per_trial, params, prior)
        yield EmReport(iteration, terms, params, tuple(posteriors))
        if terms.objective - previous <= settings.tolerance * abs(terms.objective):
            return EmOutcome("converged", f"the ELBO gained less than {settings.tolerance:g} relative",
                             terms, params, tuple(posteriors), iteration)
    return EmOutcome("max-iter", f"stopped at max_iter = {settings.max_iter}", terms, params, tuple(posteriors),
                     settings.max_iter)


def _mstep(params: LdsParams, trials: list[Observations], posteriors: list[TrialPosterior],
           per_trial: list[LdsElboTerms], settings: EmSettings,
           learn_initial_cov: bool) -> tuple[LdsParams, list[LdsElboTerms]]:
    """The dynamics, then the loadings; each kept only if the ELBO does not fall.

    The E-step's last pass (at these C, d and q) gave each unit's sums and the loadings' first Newton step,
    and the loadings' line search gives the next E-step's derivatives, so an iteration whose steps are all
    taken at full length reads the data twice."""
    known = [terms.data_pass for terms in per_trial]  # from the E-step's last pass, at these C, d and q
    start_values = start_pieces = None
    if all(data_pass is not None for data_pass in known):
        start_values = np.sum([data_pass.unit_values for data_pass in known], axis=0)
        if all(data_pass.loading is not None for data_pass in known):  # sums over bins: add over trials
            start_pieces = tuple(np.sum([data_pass.loading[k] for data_pass in known], axis=0) for k in range(2))
    prior = settings.loading_prior
    candidate = update_dynamics(params, posteriors, learn_initial_cov, [o.inputs for o in trials])
    candidate_terms = [trial_terms(candidate, o, q.mean, q.moments, accuracy=old.expected_log_likelihood)
                       for o, q, old in zip(trials, posteriors, per_trial)]  # the loadings did not change
    if summed(candidate_terms).elbo >= summed(per_trial).elbo:  # log p(C, d) did not change either
        params, per_trial = candidate, candidate_terms
    stacked, mean, marginal = _stacked(trials, posteriors)
    single = len(trials) == 1
    update = loading_update(stacked, params.C, params.d, mean, marginal, settings.loading_steps, start_values,
                            start_pieces, want_latent=single, prior=prior)
    candidate = params.with_changes(C=update.loading, d=update.offset)
    if single:  # the loadings' update evaluated the one trial's accuracy (and its derivatives) already
        data_pass = ObservationPass(float(np.sum(update.unit_values)) + trials[0].log_normaliser,
                                    update.unit_values, update.latent)
        candidate_terms = [terms_from_pass(candidate, posteriors[0].mean, posteriors[0].moments, data_pass,
                                           trials[0].inputs)]
    else:
        candidate_terms = [trial_terms(candidate, o, q.mean, q.moments, want_latent=True)
                           for o, q in zip(trials, posteriors)]
    if _total(candidate_terms, candidate, prior).objective >= _total(per_trial, params, prior).objective:
        params, per_trial = candidate, candidate_terms
    return params, per_trial
