"""Variational EM for an LDS: alternate the E-step on every trial's q and the M-step on the parameters.

Each iteration: E-step (:func:`vbgui.core.lds.estep.estep_trial`, per trial),
then the dynamics in closed form and the loadings by Newton
(:mod:`vbgui.core.lds.mstep`, :func:`vbgui.core.lds.observations.update_loadings`).
Every part is an ascent step of the same ELBO, and a parameter update that
would lower it in floating point is not taken, so the ELBO reported after
each iteration never decreases.  The fit converges when an iteration gains
less than ``tolerance`` times |ELBO|.

:func:`variational_em` is a generator: it yields an :class:`EmReport` after
every iteration and returns the :class:`EmOutcome`; a set cancel token ends
it with reason "cancelled" and the last state reached.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Generator

import numpy as np

from vbgui.core.cancel import CancelToken
from vbgui.core.lds.elbo import LdsElboTerms, TrialPosterior, trial_terms
from vbgui.core.lds.estep import estep_trial, initial_posterior
from vbgui.core.lds.families import FULL_RANK_MAX_DIM, make_path_family
from vbgui.core.lds.model import LdsParams
from vbgui.core.lds.mstep import update_dynamics
from vbgui.core.lds.observations import Observations, update_loadings


@dataclass(frozen=True)
class EmSettings:
    """How to fit: the path family, iteration cap, relative tolerance, steps per E-step and per
    loading update, whether to learn the parameters (False: the E-step alone, for fixed parameters)."""

    family: str = "structured-markov"
    max_iter: int = 500
    tolerance: float = 1e-8
    estep_steps: int = 1
    loading_steps: int = 1
    learn: bool = True


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
    """The ELBO's two terms of every trial."""
    return [trial_terms(params, o, q.mean, q.moments) for o, q in zip(trials, posteriors)]


def summed(terms: list[LdsElboTerms]) -> LdsElboTerms:
    """The terms of several trials added."""
    return sum(terms[1:], terms[0])


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
    """
    family = make_path_family(settings.family, params.latent_dim)
    if settings.family == "full-rank" and max(o.y.shape[0] for o in trials) * params.latent_dim > FULL_RANK_MAX_DIM:
        raise ValueError(f"full-rank over a path holds at most {FULL_RANK_MAX_DIM} latent values (T K)")
    cancel = cancel if cancel is not None else CancelToken()
    posteriors = list(posteriors) if posteriors is not None else [
        initial_posterior(family, params, o.y.shape[0]) for o in trials]
    per_trial = per_trial_terms(params, trials, posteriors)
    terms = summed(per_trial)
    learn_initial_cov = len(trials) > 1
    for iteration in range(1, settings.max_iter + 1):
        if cancel.cancelled:
            return EmOutcome("cancelled", "cancelled by the user", terms, params, tuple(posteriors), iteration - 1)
        previous = terms.elbo
        for index, observations in enumerate(trials):
            posteriors[index], per_trial[index] = estep_trial(family, params, observations, posteriors[index],
                                                              per_trial[index], settings.estep_steps,
                                                              0.1 * settings.tolerance)
        if cancel.cancelled:  # an iteration at 1e6 bins takes tens of seconds: stop between its halves too
            return EmOutcome("cancelled", "cancelled by the user", summed(per_trial), params, tuple(posteriors),
                             iteration - 1)
        if settings.learn:
            params, per_trial = _mstep(params, trials, posteriors, per_trial, settings, learn_initial_cov)
        terms = summed(per_trial)
        yield EmReport(iteration, terms, params, tuple(posteriors))
        if terms.elbo - previous <= settings.tolerance * abs(terms.elbo):
            return EmOutcome("converged", f"the ELBO gained less than {settings.tolerance:g} relative",
                             terms, params, tuple(posteriors), iteration)
    return EmOutcome("max-iter", f"stopped at max_iter = {settings.max_iter}", terms, params, tuple(posteriors),
                     settings.max_iter)


def _mstep(params: LdsParams, trials: list[Observations], posteriors: list[TrialPosterior],
           per_trial: list[LdsElboTerms], settings: EmSettings,
           learn_initial_cov: bool) -> tuple[LdsParams, list[LdsElboTerms]]:
    """The dynamics, then the loadings; each kept only if the ELBO does not fall."""
    known = [terms.unit_values for terms in per_trial]  # from the E-step's last pass, at these C, d and q
    start_values = None if any(v is None for v in known) else np.sum(known, axis=0)
    candidate = update_dynamics(params, posteriors, learn_initial_cov)
    candidate_terms = [trial_terms(candidate, o, q.mean, q.moments, accuracy=old.expected_log_likelihood)
                       for o, q, old in zip(trials, posteriors, per_trial)]  # the loadings did not change
    if summed(candidate_terms).elbo >= summed(per_trial).elbo:
        params, per_trial = candidate, candidate_terms
    stacked, mean, marginal = _stacked(trials, posteriors)
    loading, offset, unit_values = update_loadings(stacked, params.C, params.d, mean, marginal,
                                                   settings.loading_steps, start_values)
    candidate = params.with_changes(C=loading, d=offset)
    if len(trials) == 1:  # the loadings' update evaluated the one trial's accuracy already
        accuracy = float(np.sum(unit_values)) + trials[0].log_normaliser
        candidate_terms = [trial_terms(candidate, trials[0], posteriors[0].mean, posteriors[0].moments, accuracy)]
    else:
        candidate_terms = per_trial_terms(candidate, trials, posteriors)
    if summed(candidate_terms).elbo >= summed(per_trial).elbo:
        params, per_trial = candidate, candidate_terms
    return params, per_trial
