"""The population view's numbers: one row per unit of a multi-unit recording, and a unit's fit rebuilt for showing.

Qt-free.  A row combines what the data say (the unit's mean rate) with what
a batch fit of :mod:`vbgui.app.batch` found (ELBO per fitted bin,
convergence, the gap to the exact log evidence where that is known).  A
value nobody computed is None, never a guess: the window shows it as
"not computed".
"""
from __future__ import annotations

import math
import os
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Iterator, Sequence

import numpy as np

from vbgui.app.result import FitResult
from vbgui.core.cancel import CancelToken
from vbgui.errors import FitError
from vbgui.io.limits import check_memory
from vbgui.io.recording import Recording, RecordingFile
from vbgui.models.design import design_width
from vbgui.models.preset import Preset, preset_from_dict
from vbgui.models.step_cost import check_step_cost

if TYPE_CHECKING:  # the engine (scipy, numba) is imported where units are fitted or rebuilt, off the GUI thread
    from vbgui.app.amortise import AmortiseSettings
    from vbgui.app.batch import UnitOutcome
    from vbgui.app.fit import FitSession
    from vbgui.app.shown_reference import ShownReference

NOT_FITTED = "not fitted"


@dataclass(frozen=True)
class UnitRow:
    """One unit as the population table shows it.

    ``mean_response_per_bin`` is the unit's mean count (or response) per bin
    of ``bin_width`` seconds (NaN when its data are unusable).  The fit's numbers are None until the
    unit is fitted, and stay None when it failed (``error`` then says why)
    or when nothing computes them: ``gap`` is log p(D) - ELBO = KL(q ||
    posterior), known only where the log evidence is exact (the
    linear-Gaussian model); ``history_evidence`` (the log Bayes factor for
    spike history) is not computed by a batch fit.  After amortised
    inference (:func:`amortise_population`), ``q_source`` is 'encoder' or
    'exact fit' (a training unit), and the gaps of Cremer et al. (2018) are in
    nats: ``amortisation_gap`` = ELBO(q*) - ELBO(q) (None for a training unit),
    ``approximation_gap`` = log p(D) - ELBO(q*) (None where the evidence is
    unknown); ``gap_note`` says how the evidence was obtained.
    """

    index: int
    unit: str
    mean_response_per_bin: float
    bin_width: float
    status: str = NOT_FITTED
    elbo_per_bin: float | None = None
    converged: bool | None = None
    iterations: int | None = None
    gap: float | None = None
    history_evidence: float | None = None
    error: str = ""
    q_source: str | None = None
    amortisation_gap: float | None = None
    approximation_gap: float | None = None
    gap_note: str = ""

    @property
    def rate_per_second(self) -> float:
        """The mean response per second: the firing rate in Hz for spike counts."""
        return self.mean_response_per_bin / self.bin_width


def unfitted_rows(recording: RecordingFile) -> list[UnitRow]:
    """One row per unit of ``recording``, in file order, before any fit (NaN mean for unusable data).

    Parameters
    ----------
    recording : RecordingFile
        The recording.

    Returns
    -------
    list of UnitRow
        One per unit.
    """
    means = np.mean(recording.responses, axis=0)  # one pass over the (T, U) array, row by row
    rows = []
    for index, name in enumerate(recording.unit_names):
        problem = recording.unit_problems.get(index, "")
        rows.append(UnitRow(index, name, math.nan if problem else float(means[index]), recording.dt, error=problem))
    return rows


def fitted_row(row: UnitRow, outcome: UnitOutcome) -> UnitRow:
    """``row`` (of :func:`unfitted_rows`) with the numbers of its unit's batch ``outcome``.

    Parameters
    ----------
    row : UnitRow
        The unit's row.
    outcome : UnitOutcome
        Its batch outcome.

    Returns
    -------
    UnitRow
        The new row.
    """
    return unit_row(row.index, row.unit, row.mean_response_per_bin, row.bin_width, outcome)


def unit_row(index: int, unit: str, mean_response_per_bin: float, bin_width: float,
             outcome: UnitOutcome | None) -> UnitRow:
    """The table row of unit ``index``: its data's mean, and ``outcome``'s numbers when it was fitted.

    Parameters
    ----------
    index : int
        The unit.
    unit : str
        Its name.
    mean_response_per_bin : float
        Its data's mean response per bin.
    bin_width : float
        Seconds.
    outcome : UnitOutcome or None
        Its batch outcome, None before a fit.

    Returns
    -------
    UnitRow
        The row (ELBO per fitted bin, in nats; the gap in nats where the evidence is known).
    """
    if outcome is None:
        return UnitRow(index, unit, mean_response_per_bin, bin_width)
    if outcome.result is None:
        return UnitRow(index, unit, mean_response_per_bin, bin_width, "failed", error=outcome.error)
    result = outcome.result
    fitted_bins = max(1, int(result["bins"]["total"]) - int(result["bins"]["first_row"]))
    log_evidence = result.get("log_evidence")
    gap = None if log_evidence is None or not math.isfinite(log_evidence) else log_evidence - result["elbo"]
    converged = bool(result["converged"])
    record = result.get("amortisation") or {}
    if record:
        status = "amortised" if record["amortised"] else "trained on"
    else:
        status = "converged" if converged else "not converged"
    return UnitRow(index, unit, mean_response_per_bin, bin_width, status,
                   elbo_per_bin=result["elbo"] / fitted_bins, converged=converged,
                   iterations=int(result["iterations"]), gap=gap,
                   q_source=(("encoder" if record["amortised"] else "exact fit") if record else None),
                   amortisation_gap=record.get("amortisation_gap"), approximation_gap=record.get("approximation_gap"),
                   gap_note=record.get("evidence_source", ""))


class OutcomeCollector:
    """The outcomes of a running batch, appended by the thread that drives it and taken by the one that shows them.

    :meth:`take_new` returns each outcome once, in the order they finished,
    so a window that looks now and then (throttled) misses none.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._outcomes: list[UnitOutcome] = []
        self._taken = 0

    def add(self, outcome: UnitOutcome) -> int:
        """Keep ``outcome``; returns how many outcomes there are now.

        Parameters
        ----------
        outcome : UnitOutcome
            The outcome.

        Returns
        -------
        int
            The number of outcomes kept.
        """
        with self._lock:
            self._outcomes.append(outcome)
            return len(self._outcomes)

    def take_new(self) -> list[UnitOutcome]:
        """The outcomes added since the last call.

        Returns
        -------
        list of UnitOutcome
            In the order they were added.
        """
        with self._lock:
            new = self._outcomes[self._taken:]
            self._taken = len(self._outcomes)
            return new

    def __len__(self) -> int:
        with self._lock:
            return len(self._outcomes)


def batch_workers(recording: RecordingFile) -> int:
    """Threads :func:`fit_population` uses: one per CPU, no more than the units.

    Parameters
    ----------
    recording : RecordingFile
        The recording.

    Returns
    -------
    int
        At least 1.
    """
    return max(1, min(os.cpu_count() or 1, recording.n_units))


def latent_batch_problem(preset: Preset) -> str:
    """Why a batch (one GLM per unit) cannot take a latent-dynamics preset.

    Parameters
    ----------
    preset : Preset
        A latent-dynamics preset.

    Returns
    -------
    str
        One line naming the preset, for a dialog or ``vbgui batch``'s error.
    """
    return (f"{preset.name or 'preset'}: a latent-dynamics preset fits every unit together in one model, not one "
            "GLM per unit; fit it with Run in the window or `vbgui fit`")


def check_population_fit(recording: RecordingFile, preset: Preset, source: str) -> str | None:
    """Refuse, before anything starts, a batch whose steps take minutes or whose designs (one per thread) would
    not fit in memory (raises FitError or MemoryLimitError naming ``source``); return a sentence when each
    step takes several seconds, else None.  As ``vbgui batch`` checks it.

    Parameters
    ----------
    recording : RecordingFile
        The recording.
    preset : Preset
        The preset.
    source : str
        Named in a message.

    Returns
    -------
    str or None
        The warning sentence, or None.
    """
    if preset.is_latent_dynamics:
        raise FitError(latent_batch_problem(preset))
    usable = [index for index in range(recording.n_units) if index not in recording.unit_problems]
    if not usable:
        return None
    unit = recording.unit(usable[0])
    width = design_width(unit, preset.design)
    slow = check_step_cost(preset, unit.n_bins, width, source)
    workers = batch_workers(recording)
    check_memory(source, f"{workers} design matrices at once ({unit.n_bins} bins x {width} columns each)",
                 float(workers) * unit.n_bins * width * 8)
    return slow


def fit_population(recording: RecordingFile, preset: Preset, indices: Sequence[int], collector: OutcomeCollector,
                   cancel: CancelToken, report: Callable[[int], None], workers: int | None = None) -> int:
    """Fit ``preset`` to the units ``indices`` with :func:`vbgui.app.batch.run_batch` on ``workers`` threads
    (default :func:`batch_workers`).

    Each outcome goes to ``collector`` as its unit finishes, then ``report``
    is called with the number finished.  Returns that number; raises
    FitCancelled when ``cancel`` stopped the batch before every unit finished
    (the finished outcomes stay in ``collector``).  Runs in a worker thread:
    it compiles the engine first.

    Parameters
    ----------
    recording : RecordingFile
        The recording.
    preset : Preset
        The preset.
    indices : sequence of int
        The units.
    collector : OutcomeCollector
        Receives every outcome.
    cancel : CancelToken
        Stops the batch.
    report : callable
        Called with the number of outcomes so far.
    workers : int, optional
        Threads.

    Returns
    -------
    int
        The number of outcomes in collector.
    """
    from vbgui.app.batch import run_batch
    from vbgui.app.fit import warm_up_engine

    warm_up_engine()
    workers = workers or batch_workers(recording)
    return _collect(run_batch(recording, preset, indices, executor="threads", workers=workers, cancel=cancel),
                    len(indices), collector, cancel, report)


def default_training_units(recording: RecordingFile) -> int:
    """The training subset amortised inference fits exactly unless told: as ``vbgui batch --amortise``'s
    --train default, min(DEFAULT_TRAIN, usable units - 1), and at least 1.

    Parameters
    ----------
    recording : RecordingFile
        The multi-unit recording.

    Returns
    -------
    int
        The number of training units.
    """
    from vbgui.app.amortise import default_training_count

    return max(1, default_training_count(recording.n_usable_units))


def amortise_population(recording: RecordingFile, preset: Preset, indices: Sequence[int],
                        settings: AmortiseSettings, collector: OutcomeCollector, cancel: CancelToken,
                        report: Callable[[int], None], workers: int | None = None) -> int:
    """Amortised inference over the units ``indices`` with :func:`vbgui.app.amortise.amortise_batch` (as
    ``vbgui batch --amortise``), on ``workers`` threads (default :func:`batch_workers`).

    Each outcome (its result carrying the ``amortisation`` record with the
    two gaps) goes to ``collector`` as its unit finishes, then ``report`` is
    called with the number finished.  Returns that number; raises
    FitCancelled when ``cancel`` stopped it first (the finished outcomes stay
    in ``collector``) and VbguiError when the preset or ``settings`` cannot
    be amortised.  Runs in a worker thread: it compiles the engine first.

    Parameters
    ----------
    recording : RecordingFile
        The multi-unit recording.
    preset : Preset
        The GLM preset each unit is fitted with.
    indices : sequence of int
        The units to give a q.
    settings : AmortiseSettings
        Training units and refinement passes.
    collector : OutcomeCollector
        Receives each outcome as its unit finishes.
    cancel : CancelToken
        Stops the run at the next check.
    report : callable
        Called with the number of units finished so far.
    workers : int, optional
        Threads (default :func:`batch_workers`).

    Returns
    -------
    int
        The number of units finished.
    """
    from vbgui.app.amortise import amortise_batch
    from vbgui.app.fit import warm_up_engine

    warm_up_engine()
    workers = workers or batch_workers(recording)
    return _collect(amortise_batch(recording, preset, indices, settings, workers=workers, cancel=cancel),
                    len(indices), collector, cancel, report)


def _collect(outcomes: Iterator[UnitOutcome], expected: int, collector: OutcomeCollector, cancel: CancelToken,
             report: Callable[[int], None]) -> int:
    """Add each outcome to ``collector`` as it comes and report the count; raise FitCancelled when the batch
    ended with fewer than ``expected`` outcomes because ``cancel`` was set (a cancel arriving after the last
    unit finished ends nothing: the count decides, not the token)."""
    for outcome in outcomes:
        report(collector.add(outcome))
    if len(collector) < expected:
        cancel.raise_if_cancelled()
    return len(collector)


@dataclass(frozen=True, eq=False)
class UnitFit:
    """A batch-fitted unit made ready to show: its result, preset, data, session and exact reference (or None)."""

    index: int
    result: FitResult
    preset: Preset
    recording: Recording
    session: FitSession
    reference: ShownReference | None


def rebuild_unit_fit(recording: RecordingFile, index: int, result_data: dict[str, Any],
                     cancel: CancelToken | None = None) -> UnitFit:
    """Rebuild unit ``index``'s batch fit (``result_data``, :meth:`FitResult.to_dict`) for the window's panels.

    Nothing is refitted: the session (for the predicted rate) is built on the
    unit's data with the fit's preset and first bin, and the exact posterior
    (closed form or grid) is computed where the model allows one, as for a
    reopened result.  Call it off the GUI thread; ``cancel`` stops a grid.

    Parameters
    ----------
    recording : RecordingFile
        The recording.
    index : int
        The unit.
    result_data : dict of str to object
        Its result.
    cancel : CancelToken, optional
        Stops a grid.

    Returns
    -------
    UnitFit
        The result, preset, unit data, session and exact reference (or None).
    """
    from vbgui.app.fit import FitSession
    from vbgui.app.shown_reference import ShownReference, reference_posterior

    name = recording.unit_names[index]
    result = FitResult.from_dict(result_data, source=f"the fit of unit {name}")
    preset = preset_from_dict(result.preset, source=f"the preset of unit {name}'s fit")
    unit = recording.unit(index)
    session = FitSession(preset, unit, cancel, first_row=result.first_row)
    if result.exact_posterior_mean is not None and result.exact_posterior_cov is not None:
        reference = ShownReference("conjugate", mean=result.exact_posterior_mean, cov=result.exact_posterior_cov)
    else:
        reference = reference_posterior(session)
    return UnitFit(index, result, preset, unit, session, reference)
