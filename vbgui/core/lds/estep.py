"""The E-step: Newton on the means and the fixed point on the covariance, line-searched jointly.

At q = (m, J) of one trial, with g = dELBO/dm = prior gradient + sum_n dE/dmu c_n
and H = J0 + blockdiag(W_t) (block tridiagonal, W_t = -2 sum_n dE/dv c_n c_n'),
the candidate is

    m(alpha) = m + alpha H^{-1} g,   J(alpha) = J + alpha (target(H) - J),

(target: the family's member nearest H, :mod:`vbgui.core.lds.families`).  Both
are ascent directions, so halving alpha from 1 finds a candidate whose ELBO
is not below the current one; only such a candidate is taken, so the ELBO
never decreases.  For poisson the step in m is the exact Newton step (the
ELBO is concave in (m, S)); for gaussian observations H does not depend on q
and one full step lands on the exact posterior.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from vbgui.core.lds.elbo import LdsElboTerms, TrialPosterior, trial_terms
from vbgui.core.lds.families import NotPositiveDefinite, newton_direction
from vbgui.core.lds.model import LdsParams, prior_gradient, prior_precision_blocks
from vbgui.core.lds.observations import Observations, observation_terms

MAX_HALVINGS = 30


def initial_posterior(family: Any, params: LdsParams, n_steps: int) -> TrialPosterior:
    """q at the prior's precision (restricted to the family) with zero means.

    Parameters
    ----------
    family : StructuredMarkov or MeanFieldOverTime or FullRank
        The family of q (:mod:`vbgui.core.lds.families`).
    params : LdsParams
        The parameters whose prior precision J0 q starts from.
    n_steps : int
        T, the trial's number of bins.

    Returns
    -------
    TrialPosterior
        Means zero (T, K), precision the family's target at J0, and its moments.
    """
    diag, lower = prior_precision_blocks(params, n_steps)
    state = family.target(diag, lower)
    return TrialPosterior(np.zeros((n_steps, params.latent_dim)), state, family.moments(state))


def estep_trial(family: Any, params: LdsParams, observations: Observations, q: TrialPosterior,
                terms: LdsElboTerms, max_steps: int, tolerance: float, want_loading: bool = False
                ) -> tuple[TrialPosterior, LdsElboTerms]:
    """Up to ``max_steps`` line-searched steps on one trial's q; stops early when a step gains less than
    ``tolerance`` times |ELBO|.  Returns the new q and its terms (never a lower ELBO than ``terms``).

    ``terms`` belong to ``params`` and ``q``: latent derivatives in their ``data_pass`` serve the first step
    without a pass.  With ``want_loading`` the line search's passes also give the loadings' Newton pieces at
    the new q (for the M-step).

    Parameters
    ----------
    family : StructuredMarkov or MeanFieldOverTime or FullRank
        The family of q.
    params : LdsParams
        The parameters, held fixed.
    observations : Observations
        The trial's data (and input).
    q : TrialPosterior
        The current q over the trial's path.
    terms : LdsElboTerms
        The ELBO's terms at ``params`` and ``q``.
    max_steps : int
        The most line-searched steps to take.
    tolerance : float
        Stop when a step gains no more than this times |ELBO|.
    want_loading : bool
        Whether the line search's passes also give the loadings' Newton pieces at the new q.

    Returns
    -------
    q : TrialPosterior
        The new q (``q`` itself when no step was taken: H not positive definite, or no candidate in the line
        search had an ELBO at least as high).
    terms : LdsElboTerms
        Its terms, with an ELBO not below that of ``terms``.
    """
    prior_diag, prior_lower = prior_precision_blocks(params, q.mean.shape[0])
    for _ in range(max_steps):
        known = terms.data_pass.latent if terms.data_pass is not None else None
        if known is None:
            _, slope, curvature = observation_terms(observations, params.C, params.d, q.mean, q.moments.marginal)
        else:
            slope, curvature = known
        gradient = prior_gradient(params, q.mean, observations.inputs) + slope
        hessian_diag = prior_diag + curvature
        try:
            direction, hessian_factor = newton_direction(hessian_diag, prior_lower, gradient)
        except NotPositiveDefinite:
            break
        target = family.target(hessian_diag, prior_lower)
        candidate = _line_search(family, params, observations, q, terms, direction, target,
                                 hessian_factor if family.target_is_hessian else None, want_loading)
        if candidate is None:
            break
        gain = candidate[1].elbo - terms.elbo
        q, terms = candidate
        if gain <= tolerance * abs(terms.elbo):
            break
    return q, terms


def _line_search(family: Any, params: LdsParams, observations: Observations, q: TrialPosterior,
                 terms: LdsElboTerms, direction: np.ndarray, target: Any, target_factor: Any, want_loading: bool
                 ) -> tuple[TrialPosterior, LdsElboTerms] | None:
    """The first of alpha = 1, 1/2, 1/4, ... whose candidate's ELBO is not below the current one (None if
    none); ``target_factor``, when known, the factor of ``target`` (the full step's moments reuse it)."""
    alpha = 1.0
    for _ in range(MAX_HALVINGS):
        state = family.blend(q.state, target, alpha)
        try:
            moments = family.moments(state, target_factor if alpha == 1.0 else None)
        except NotPositiveDefinite:
            alpha *= 0.5
            continue
        mean = q.mean + alpha * direction
        new_terms = trial_terms(params, observations, mean, moments, want_loading=want_loading)
        if np.isfinite(new_terms.elbo) and new_terms.elbo >= terms.elbo:
            return TrialPosterior(mean, state, moments), new_terms
        alpha *= 0.5
    return None
