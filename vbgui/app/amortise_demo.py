"""The computation behind the talk-mode demonstration "Amortised inference" (Qt-free).

A synthetic population of poisson units sharing one stimulus: ``n_train``
units are fitted exactly and train the encoder of :mod:`vbgui.app.encoder`;
one more unit, held out, gets its q from the encoder (one forward pass), from
one exact pass started there, and from the exact fit (a cold start, as
``vbgui fit`` does it).  The result holds the three q's, the gaps of Cremer
et al. (2018) in nats and how long each route took.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Any, Callable

import numpy as np

from vbgui.app.amortise import AmortiseSettings, measure_gaps
from vbgui.app.batch import fit_unit
from vbgui.app.encoder import RidgeEncoder, q_from_moments, unit_features
from vbgui.app.fit import FitSession
from vbgui.core.cancel import CancelToken
from vbgui.core.elbo import ExactEstimator
from vbgui.core.families import GaussianPosterior
from vbgui.errors import VbguiError
from vbgui.models.preset import load_preset
from vbgui.models.synthetic import make_synthetic_population

DEMO_BINS = 3000
DEMO_LAGS = 4
DEMO_PAIR = ("stim[0]", "stim[1]")  # the two weights drawn as contours
TRAIN_RANGE = (3, 80)
TIMING_REPEATS = 3  # each route is timed this often and the fastest counts (the machine may be busy)


@dataclass(frozen=True, eq=False)
class AmortisedDemo:
    """One held-out unit's three q's (``encoder``, ``refined``: one exact pass from it, ``exact``), their
    ELBOs, the gaps in nats and the seconds each route took (``train_seconds``: the exact fits of the
    training units and the encoder's regression)."""

    names: tuple[str, ...]
    pair: tuple[int, int]
    encoder: GaussianPosterior
    refined: GaussianPosterior
    exact: GaussianPosterior
    encoder_elbo: float
    refined_elbo: float
    exact_elbo: float
    log_evidence: float | None
    log_evidence_se: float | None
    encode_seconds: float
    refine_seconds: float
    fit_seconds: float
    train_seconds: float
    n_train: int
    seed: int

    @property
    def amortisation_gap(self) -> float:
        """ELBO(exact fit) - ELBO(encoder's q), nats."""
        return self.exact_elbo - self.encoder_elbo

    @property
    def refined_gap(self) -> float:
        """ELBO(exact fit) - ELBO(one exact pass from the encoder's q), nats."""
        return self.exact_elbo - self.refined_elbo

    @property
    def approximation_gap(self) -> float | None:
        """log p(y) - ELBO(exact fit) = KL(q* || posterior), nats (None when the evidence is unreliable)."""
        return None if self.log_evidence is None else self.log_evidence - self.exact_elbo


def amortised_demo(n_train: int = 40, seed: int = 0, cancel: CancelToken | None = None,
                   evidence_draws: int = 2000) -> AmortisedDemo:
    """Train an encoder on ``n_train`` units of a synthetic population (``seed``), apply it to one more.

    Raises VbguiError when ``n_train`` is outside TRAIN_RANGE or a fit fails.

    Parameters
    ----------
    n_train : int
        Training units, in TRAIN_RANGE.
    seed : int
        Seed of the synthetic population and the evidence draws.
    cancel : CancelToken, optional
        Stops the fits.
    evidence_draws : int
        Draws of the importance-weighted evidence.

    Returns
    -------
    AmortisedDemo
        The held-out unit's encoder, refined and exact q, their ELBOs and log evidence (nats), and timings (seconds).
    """
    low, high = TRAIN_RANGE
    if not low <= n_train <= high:
        raise VbguiError(f"the demonstration trains on {low} to {high} units, got {n_train}")
    cancel = cancel if cancel is not None else CancelToken()
    population = make_synthetic_population("poisson", n_train + 1, n_bins=DEMO_BINS, stimulus_lags=DEMO_LAGS,
                                           seed=seed)
    preset = load_preset("poisson-glm").with_fit(family="full-rank")
    preset = replace(preset, design=replace(preset.design, stimulus_lags=DEMO_LAGS, spike_history_lags=0))

    start = time.perf_counter()
    features, fitted = [], []
    for index in range(n_train):
        outcome = fit_unit(population, index, preset, cancel)
        if not outcome.succeeded:
            raise VbguiError(f"training unit {index}: {outcome.error}")
        session = FitSession(preset, population.unit(index), cancel)
        features.append(unit_features(session.problem, 0))
        fitted.append(q_from_moments(session.family, np.asarray(outcome.result["parameters"]["mean"]),
                                     np.asarray(outcome.result["parameters"]["cov"])))
    encoder = RidgeEncoder.fit(fitted[0].family, np.array(features), fitted)
    train_seconds = time.perf_counter() - start

    held_out = FitSession(preset, population.unit(n_train), cancel)
    encode_seconds, encoded = _fastest(lambda: encoder.encode(unit_features(held_out.problem, 0)))
    refine_seconds, refined = _fastest(lambda: held_out.run(start_q=encoded, max_iter=1))
    fit_seconds, exact = _fastest(held_out.run)
    refine_seconds += encode_seconds
    exact_q = q_from_moments(held_out.family, exact.mean, exact.cov)
    gaps = measure_gaps(held_out, exact_q, AmortiseSettings(evidence_draws=evidence_draws), seed)
    names = held_out.names
    return AmortisedDemo(
        names=names, pair=(names.index(DEMO_PAIR[0]), names.index(DEMO_PAIR[1])), encoder=encoded,
        refined=q_from_moments(held_out.family, refined.mean, refined.cov), exact=exact_q,
        encoder_elbo=ExactEstimator(held_out.problem).value(encoded).elbo, refined_elbo=refined.elbo,
        exact_elbo=exact.elbo, log_evidence=gaps.log_evidence, log_evidence_se=gaps.log_evidence_se,
        encode_seconds=encode_seconds, refine_seconds=refine_seconds, fit_seconds=fit_seconds,
        train_seconds=train_seconds, n_train=n_train, seed=seed)


def _fastest(route: Callable[[], Any]) -> tuple[float, Any]:
    """The fastest of TIMING_REPEATS runs of ``route`` (seconds) and its result."""
    best, result = float("inf"), None
    for _ in range(TIMING_REPEATS):
        start = time.perf_counter()
        result = route()
        best = min(best, time.perf_counter() - start)
    return best, result
