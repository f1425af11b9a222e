"""Amortised inference over the units of a recording, with the gaps of Cremer et al. (2018) in nats.

:func:`amortise_batch` fits a training subset of the units exactly (through
:func:`vbgui.app.batch.fit_unit`, the fit service of ``vbgui batch``), fits
a :class:`~vbgui.app.encoder.RidgeEncoder` from their data summaries to
their q's, and gives every other unit its q by one forward pass of the
encoder, optionally refined by ``refine`` exact passes of the engine's own
optimiser started from it.  For each unit it reports, in nats,

    amortisation gap  = ELBO(q*) - ELBO(q)        q* the family's optimum, q the unit's q
    approximation gap = log p(y) - ELBO(q*)       = KL(q* || posterior)

(Cremer, Li & Duvenaud 2018, "Inference suboptimality in variational
autoencoders").  q* is the engine's fit to convergence started from q (the
ELBO of a GLM is concave in (m, L) for the log-concave likelihoods, so this
is the fit a cold start reaches).  log p(y) is exact for the linear-gaussian
model; otherwise it is the importance-weighted estimate with the full-rank
optimum as the proposal (:mod:`vbgui.app.diagnose`), a lower bound in
expectation, left out (None) when its PSIS k-hat is 0.7 or more.  Training
units carry their exact fit: no amortisation gap, their approximation gap.

Each unit's result is :meth:`FitResult.to_dict` of its q (the ``vbgui fit``
contract) with an ``amortisation`` object (:func:`amortisation_record`).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from vbgui.app.batch import SUMMARY_COLUMNS, BatchProgress, UnitOutcome, fit_unit, one_line, units_on_threads
from vbgui.app.diagnose import full_rank_proposal, importance_sample
from vbgui.app.encoder import RidgeEncoder, q_from_moments, unit_features
from vbgui.app.fit import FitSession
from vbgui.core.cancel import CancelToken, FitCancelled
from vbgui.core.elbo import ExactEstimator
from vbgui.core.families import GaussianPosterior
from vbgui.core.psis import RELIABLE_KHAT
from vbgui.errors import VbguiError
from vbgui.io.recording import RecordingFile
from vbgui.models.preset import Preset

DEFAULT_TRAIN = 60
AMORTISED_FAMILIES = ("mean-field", "full-rank", "structured")
EVIDENCE_DRAWS = 2000
AMORTISE_SUMMARY_COLUMNS = SUMMARY_COLUMNS[:-1] + ("amortised", "amortisation_gap", "approximation_gap", "error")


@dataclass(frozen=True)
class AmortiseSettings:
    """``train``: units fitted exactly to train the encoder (None: min(DEFAULT_TRAIN, usable units - 1));
    ``refine``: exact passes after the encoder (0: its q as it is); ``measure_gaps``: fit every unit to
    its optimum and estimate its evidence for the two gaps (the costly part); ``evidence_draws``: draws
    for the importance-weighted evidence; ``seed``: the training subset's and the draws' seed."""

    train: int | None = None
    refine: int = 0
    measure_gaps: bool = True
    evidence_draws: int = EVIDENCE_DRAWS
    seed: int = 0


def check_amortisable(preset: Preset, n_units: int, settings: AmortiseSettings, n_usable: int | None = None,
                      flag: str = "--amortise") -> None:
    """Raise VbguiError (one line) when this preset, these settings and ``n_units`` units (``n_usable`` of
    them with usable data, default all) cannot be amortised.

    Parameters
    ----------
    preset : Preset
        The preset every unit is fitted with.
    n_units : int
        Number of units asked for.
    settings : AmortiseSettings
        The amortisation settings.
    n_usable : int, optional
        Number of those units with usable data.
    flag : str
        The flag named in the message.

    Raises
    ------
    VbguiError
        For a family without an encoder, an estimator other than 'exact', fewer than 2 (usable) units,
        a training count outside 1..usable - 1, or a negative refine.
    """
    if preset.fit.family not in AMORTISED_FAMILIES:
        raise VbguiError(f"{flag}: the encoder outputs q of the {', '.join(AMORTISED_FAMILIES)} families; "
                         f"the preset's family is {preset.fit.family}")
    if preset.fit.estimator != "exact":
        raise VbguiError(f"{flag}: the gaps need each family's exact optimum; set the preset's estimator to "
                         f"'exact' (it is {preset.fit.estimator!r})")
    if n_units < 2:
        raise VbguiError(f"{flag} needs at least 2 units (one to train on, one to amortise); got {n_units}")
    usable = n_units if n_usable is None else n_usable
    if usable < 2:
        raise VbguiError(f"{flag} needs at least 2 units with usable data (one to train on, one to amortise); "
                         f"{usable} of the {n_units} units have")
    if settings.train is not None and not 1 <= settings.train <= usable - 1:
        raise VbguiError(f"--train must be an integer from 1 to {usable - 1} (the {usable} usable units less "
                         f"one to amortise), got {settings.train}")
    if settings.refine < 0:
        raise VbguiError(f"--refine must be 0 or more exact passes, got {settings.refine}")


def default_training_count(n_usable: int) -> int:
    """How many units amortised inference fits exactly when not told (``--train``'s default).

    Parameters
    ----------
    n_usable : int
        The batch's units with usable data.

    Returns
    -------
    int
        min(DEFAULT_TRAIN, n_usable - 1): at least one usable unit is left for the encoder.
    """
    return min(DEFAULT_TRAIN, n_usable - 1)


def training_units(indices: Sequence[int], unusable: set[int], n_train: int | None, seed: int) -> list[int]:
    """The training subset: ``n_train`` usable units of ``indices`` drawn without replacement with ``seed``,
    in their order (default: min(DEFAULT_TRAIN, usable - 1)).

    Parameters
    ----------
    indices : sequence of int
        The units of the batch.
    unusable : set of int
        Units without usable data.
    n_train : int, optional
        How many to train on.
    seed : int
        Seed of the draw.

    Returns
    -------
    list of int
        Unit indices, in the order of indices.
    """
    usable = [index for index in indices if index not in unusable]
    count = default_training_count(len(usable)) if n_train is None else min(n_train, len(usable))
    chosen = np.random.default_rng(seed).choice(len(usable), size=max(count, 0), replace=False)
    return [usable[i] for i in sorted(chosen)]


@dataclass(frozen=True)
class Gaps:
    """A unit's decomposition in nats; None where unknown.  ``evidence_source``: 'exact',
    'importance-weighted' or the reason it is unknown."""

    best_elbo: float
    best_converged: bool
    log_evidence: float | None
    log_evidence_se: float | None
    evidence_source: str

    def approximation_gap(self) -> float | None:
        """log p(y) - best ELBO = KL(q* || posterior) of the family's optimum, in nats; None without the evidence.

        Returns
        -------
        float or None
            The gap.
        """
        return None if self.log_evidence is None else self.log_evidence - self.best_elbo


def measure_gaps(session: FitSession, start: GaussianPosterior, settings: AmortiseSettings, seed: int) -> Gaps:
    """The family's optimum (a fit from ``start`` to convergence) and the log evidence of ``session``'s unit
    (exact for the gaussian likelihood, else importance-weighted with ``settings.evidence_draws`` draws
    from the full-rank optimum, seeded by ``seed``).

    Parameters
    ----------
    session : FitSession
        The unit's fit session.
    start : GaussianPosterior
        Where the fit to the optimum starts.
    settings : AmortiseSettings
        Gives evidence_draws.
    seed : int
        Seed of the importance draws.

    Returns
    -------
    Gaps
        The best ELBO and whether its fit converged, and the log evidence and its standard error (nats)
        with their source; the evidence is None when PSIS k-hat of the proposal is not below RELIABLE_KHAT.
    """
    best = session.run(start_q=start)
    if best.log_evidence is not None:
        return Gaps(best.elbo, best.converged, best.log_evidence, 0.0, "exact")
    q_best = q_from_moments(session.family, best.mean, best.cov)
    proposal = full_rank_proposal(session.problem, q_best, session.cancel)
    sample = importance_sample(session.problem, proposal, settings.evidence_draws, np.random.default_rng(seed),
                               session.cancel)
    if not sample.smoothed.khat < RELIABLE_KHAT:
        return Gaps(best.elbo, best.converged, None, None,
                    f"unknown: PSIS k-hat {sample.smoothed.khat:.2f} >= {RELIABLE_KHAT} of the full-rank proposal")
    return Gaps(best.elbo, best.converged, sample.evidence.log_evidence, sample.evidence.standard_error,
                "importance-weighted")


def amortisation_record(role: str, n_train: int, refine: int, gaps: Gaps | None, encoder_elbo: float | None,
                        elbo: float, encode_seconds: float | None) -> dict[str, Any]:
    """The ``amortisation`` object of a result: ``amortised`` (the q came from the encoder), ``role``
    ('train' or 'amortised'), the gaps in nats (null where unknown) and how they were obtained.

    Parameters
    ----------
    role : str
        'train' or 'amortised'.
    n_train : int
        Number of training units.
    refine : int
        Exact passes after the encoder (recorded for amortised units only).
    gaps : Gaps or None
        The unit's gaps, None when not measured.
    encoder_elbo : float or None
        ELBO of the encoder's q, in nats.
    elbo : float
        ELBO of the unit's result, in nats.
    encode_seconds : float or None
        Time to encode, in seconds.

    Returns
    -------
    dict
        The record, JSON-ready.
    """
    best = None if gaps is None else gaps.best_elbo
    return {
        "amortised": role == "amortised",
        "role": role,
        "train_units": n_train,
        "refine_passes": refine if role == "amortised" else 0,
        "encoder_elbo": encoder_elbo,
        "best_elbo": best,
        "best_converged": None if gaps is None else gaps.best_converged,
        "amortisation_gap": None if best is None or role != "amortised" else best - elbo,
        "encoder_amortisation_gap": None if best is None or encoder_elbo is None else best - encoder_elbo,
        "approximation_gap": None if gaps is None else gaps.approximation_gap(),
        "log_evidence": None if gaps is None else gaps.log_evidence,
        "log_evidence_se": None if gaps is None else gaps.log_evidence_se,
        "evidence_source": "not measured" if gaps is None else gaps.evidence_source,
        "encode_seconds": encode_seconds,
    }


def _failure(index: int, name: str, exc: BaseException) -> UnitOutcome:
    if isinstance(exc, FitCancelled):
        return UnitOutcome(index, name, None, "cancelled", cancelled=True)
    if isinstance(exc, VbguiError):
        return UnitOutcome(index, name, None, one_line(exc))
    if isinstance(exc, MemoryError):
        return UnitOutcome(index, name, None, "out of memory (fewer --workers hold fewer designs at once)")
    return UnitOutcome(index, name, None, f"unexpected error, please report it: {exc.__class__.__name__}: "
                                          f"{one_line(exc)}")


def _non_finite(index: int, name: str) -> UnitOutcome:
    return UnitOutcome(index, name, None, "the encoder's q has a non-finite ELBO for this unit (fit it exactly, "
                                          "or train on more units)")


def train_encoder(recording: RecordingFile, preset: Preset, trained: dict[int, dict[str, Any]]) -> RidgeEncoder:
    """The encoder fitted to the training units' exact results (``trained``: index -> result dict).

    Parameters
    ----------
    recording : RecordingFile
        The recording the units come from.
    preset : Preset
        The preset they were fitted with.
    trained : dict of int to dict
        Unit index to its result dict (FitResult.to_dict).

    Returns
    -------
    RidgeEncoder
        The fitted encoder.

    Raises
    ------
    VbguiError
        When trained is empty.
    """
    features, fitted = [], []
    family = None
    for index, result in sorted(trained.items()):
        session = FitSession(preset, recording.unit(index))
        family = session.family
        features.append(unit_features(session.problem, _bias_index(session)))
        fitted.append(q_from_moments(family, np.asarray(result["parameters"]["mean"]),
                                     np.asarray(result["parameters"]["cov"])))
    if family is None:
        raise VbguiError("--amortise: no training unit could be fitted, so there is no encoder to train")
    return RidgeEncoder.fit(family, np.array(features), fitted)


def _bias_index(session: FitSession) -> int | None:
    bias = session.design.groups.get("bias")
    return int(bias[0]) if bias is not None and len(bias) else None


def training_outcome(recording: RecordingFile, outcome: UnitOutcome, preset: Preset, n_train: int,
                     settings: AmortiseSettings, cancel: CancelToken) -> UnitOutcome:
    """A training unit's exact result with its ``amortisation`` record (and approximation gap).

    Parameters
    ----------
    recording : RecordingFile
        The recording.
    outcome : UnitOutcome
        The unit's exact fit.
    preset : Preset
        The preset it was fitted with.
    n_train : int
        Number of training units.
    settings : AmortiseSettings
        Whether to measure gaps, and their draws and seed.
    cancel : CancelToken
        Checked by the gap measurement.

    Returns
    -------
    UnitOutcome
        outcome unchanged when it failed; else a failure, a cancellation, or the result with its record.
    """
    if not outcome.succeeded:
        return outcome
    try:
        gaps = None
        if settings.measure_gaps:
            session = FitSession(preset, recording.unit(outcome.index), cancel)
            q = q_from_moments(session.family, np.asarray(outcome.result["parameters"]["mean"]),
                               np.asarray(outcome.result["parameters"]["cov"]))
            gaps = measure_gaps(session, q, settings, settings.seed + outcome.index)
    except Exception as exc:  # noqa: BLE001 - one unit's failure must not end the others'
        return _failure(outcome.index, outcome.unit, exc)
    if cancel.cancelled:
        return UnitOutcome(outcome.index, outcome.unit, None, "cancelled", cancelled=True)
    record = amortisation_record("train", n_train, 0, gaps, None, outcome.result["elbo"], None)
    return replace(outcome, result={**outcome.result, "amortisation": record})


def amortise_unit(recording: RecordingFile, index: int, preset: Preset, encoder: RidgeEncoder,
                  settings: AmortiseSettings, cancel: CancelToken) -> UnitOutcome:
    """One unit's q from the encoder (refined by ``settings.refine`` exact passes), its result and gaps.

    Parameters
    ----------
    recording : RecordingFile
        The recording.
    index : int
        The unit.
    preset : Preset
        The preset.
    encoder : RidgeEncoder
        The trained encoder.
    settings : AmortiseSettings
        Refinement passes, gap measurement, seed.
    cancel : CancelToken
        Stops the unit's work.

    Returns
    -------
    UnitOutcome
        The unit's result with its amortisation record, or why it failed or was cancelled.
    """
    name = recording.unit_names[index]
    if cancel.cancelled:
        return UnitOutcome(index, name, None, "cancelled", cancelled=True)
    try:
        session = FitSession(preset, recording.unit(index), cancel)
        start = time.perf_counter()
        encoded = encoder.encode(unit_features(session.problem, _bias_index(session)))
        encode_seconds = time.perf_counter() - start
        if settings.refine:
            # the optimiser's start is not in its result: evaluate the encoder's q first
            encoder_elbo = ExactEstimator(session.problem).value(encoded).elbo
            if not math.isfinite(encoder_elbo):
                return _non_finite(index, name)
            result = session.run(start_q=encoded, max_iter=settings.refine)
            q = q_from_moments(session.family, result.mean, result.cov)
        else:
            result = session.result_for(encoded, "amortised", "")
            encoder_elbo, q = result.elbo, encoded
            if not math.isfinite(encoder_elbo):
                return _non_finite(index, name)
        if result.stop_reason == "cancelled":
            return UnitOutcome(index, name, None, "cancelled", cancelled=True)
        gaps = measure_gaps(session, q, settings, settings.seed + index) if settings.measure_gaps else None
    except Exception as exc:  # noqa: BLE001 - one unit's failure must not end the others'
        return _failure(index, name, exc)
    if session.cancel.cancelled:
        return UnitOutcome(index, name, None, "cancelled", cancelled=True)
    passes = f", refined by {result.iterations} exact pass(es)" if settings.refine else ""
    stop_reason = result.stop_reason if result.stop_reason == "converged" else "amortised"
    result = replace(result, stop_reason=stop_reason, converged=stop_reason == "converged",
                     seconds=result.seconds + encode_seconds,
                     message=f"q from the encoder trained on {encoder.n_train} exactly fitted units{passes}")
    data = result.to_dict()
    data["amortisation"] = amortisation_record("amortised", encoder.n_train, settings.refine, gaps, encoder_elbo,
                                               result.elbo, encode_seconds)
    return UnitOutcome(index, name, data)


def amortise_batch(recording: RecordingFile, preset: Preset, indices: Sequence[int],
                   settings: AmortiseSettings = AmortiseSettings(), *, workers: int | None = None,
                   cancel: CancelToken | None = None,
                   on_progress: Callable[[BatchProgress], None] | None = None) -> Iterator[UnitOutcome]:
    """Amortised inference over the units ``indices``: yield every unit's outcome as it finishes.

    The training units come first (their exact fits, on threads), then every
    other unit's encoder q.  Raises VbguiError before any fit when the
    preset or the settings cannot be amortised (:func:`check_amortisable`)
    and when no training unit could be fitted.  ``workers``, ``cancel`` and
    ``on_progress`` work as in :func:`vbgui.app.batch.run_batch`.

    Parameters
    ----------
    recording : RecordingFile
        The recording.
    preset : Preset
        The preset.
    indices : sequence of int
        The units.
    settings : AmortiseSettings
        The amortisation settings.
    workers : int, optional
        Threads.
    cancel : CancelToken, optional
        Stops the batch.
    on_progress : callable, optional
        Called with a BatchProgress as each unit finishes.

    Yields
    ------
    UnitOutcome
        One per unit, as it finishes.
    """
    unusable = set(recording.unit_problems)
    check_amortisable(preset, len(indices), settings, sum(index not in unusable for index in indices))
    cancel = cancel if cancel is not None else CancelToken()
    train = training_units(indices, unusable, settings.train, settings.seed)
    chosen = set(train)
    rest = [index for index in indices if index not in chosen]
    total, finished = len(indices), 0

    def report(outcome: UnitOutcome) -> UnitOutcome:
        nonlocal finished
        finished += 1
        if on_progress is not None:
            on_progress(BatchProgress(finished, total, outcome))
        return outcome

    trained: dict[int, dict[str, Any]] = {}
    def fit_for_training(index: int) -> UnitOutcome:
        return training_outcome(recording, fit_unit(recording, index, preset, cancel), preset, len(train),
                                settings, cancel)

    for outcome in units_on_threads(fit_for_training, train, workers, cancel):
        if outcome.succeeded:
            trained[outcome.index] = outcome.result
        yield report(outcome)
    if cancel.cancelled:
        return
    encoder = train_encoder(recording, preset, trained)
    for outcome in units_on_threads(lambda index: amortise_unit(recording, index, preset, encoder, settings, cancel),
                               rest, workers, cancel):
        yield report(outcome)


def amortised_summary_row(outcome: UnitOutcome) -> dict[str, str]:
    """The unit's row of ``summary.csv`` in amortised mode: the batch columns, then ``amortised``,
    ``amortisation_gap`` and ``approximation_gap`` (nats; empty where unknown or not applicable).

    Parameters
    ----------
    outcome : UnitOutcome
        The unit's outcome.

    Returns
    -------
    dict of str to str
        Column name to cell text.
    """
    row = dict.fromkeys(AMORTISE_SUMMARY_COLUMNS, "")
    row.update(outcome.summary_row())
    record = (outcome.result or {}).get("amortisation")
    if record is not None:
        row["amortised"] = str(record["amortised"]).lower()
        for key in ("amortisation_gap", "approximation_gap"):
            row[key] = "" if record[key] is None else repr(record[key])
    return row
