"""Model comparison on one recording: ELBO, evidence, differences and Bayes factors.

Several (preset, family) pairs are fitted to the same recording and scored by

* the ELBO = log p(y) - KL(q || posterior), a lower bound on the evidence;
* the importance-weighted evidence of q, a tighter bound (see
  :mod:`vbgui.core.psis`), and ``evidence``: the best estimate of
  log p(y | model) at hand (:attr:`vbgui.app.diagnose.Diagnostics.evidence_estimate`:
  exact for linear-gaussian, else importance-weighted);
* differences in nats to the best model, and the approximate Bayes factor
  against the best, BF = p(y | model) / p(y | best) = exp(delta_evidence).

The table is ranked by ``evidence``, the column the dialog shows first among
the scores.  A difference within its standard error (the two Monte Carlo
errors combined) is a tie and is called one; an evidence from importance
weights with PSIS k-hat >= 0.7 is unreliable: such a model is listed last,
not ranked, and never called best (:attr:`ComparisonTable.verdict` says why).

A larger ELBO is a better *bound*; comparing models by ELBO differences
assumes their gaps KL(q || posterior) are equal, which fails when the
families differ (mean-field's gap grows with posterior correlations) or the
models differ in how non-Gaussian their posteriors are.  The evidence
columns do not depend on the family.

All models are scored on the same bins: designs with longer lags drop more
initial bins, so every design is cut to start at the latest first row
among the models (otherwise evidences would count different data).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Any, Callable, Sequence

import numpy as np

from vbgui.app.diagnose import Diagnostics, DiagnosticsProgress, DiagnosticsSettings, diagnose_session
from vbgui.app.fit import FitProgress, FitSession
from vbgui.core.cancel import CancelToken
from vbgui.errors import ComparisonError
from vbgui.io.recording import Recording
from vbgui.models.design import earliest_row
from vbgui.models.preset import Preset

TABLE_COLUMNS = ("model", "preset", "family", "parameters", "bins", "converged", "elbo", "iw_log_evidence",
                 "iw_log_evidence_se", "log_evidence", "evidence", "evidence_se", "evidence_source", "psis_khat",
                 "evidence_khat", "evidence_reliable", "delta_elbo", "delta_evidence", "delta_evidence_se",
                 "bayes_factor", "standing", "seconds")
# How a row stands: the best reliable evidence, tied with it (within a standard error), below it, or not
# ranked because its evidence is unreliable (importance weights with k-hat >= 0.7).
STANDINGS = ("best", "tie", "lower", "unreliable")

TOOLTIP = ("ELBO = log p(y) - KL(q || posterior): a larger ELBO is a better lower bound on the evidence. "
           "ELBO differences compare models only if their gaps KL(q || posterior) are equal; they differ "
           "between families (mean-field ignores correlations) and between models, so rank models by the "
           "evidence columns (exact, or importance-weighted), which do not depend on the family. "
           "delta = value - best, in nats; Bayes factor = exp(delta evidence) against the best model. "
           "A difference within its standard error is a tie; an evidence from importance weights with "
           "PSIS k-hat >= 0.7 is unreliable and is not ranked.")


@dataclass(frozen=True)
class ModelSpec:
    """One candidate: a preset, optionally with another family, and its label in the table."""

    preset: Preset
    label: str


@dataclass(frozen=True)
class ComparisonRow:
    """One model's scores (nats); ``log_evidence`` is None unless known exactly.

    ``evidence_khat`` is the k-hat of the draws behind ``evidence`` (NaN when exact); ``delta_evidence``
    and ``delta_evidence_se`` are relative to the best reliable evidence; ``standing`` is one of STANDINGS.
    """

    model: str
    preset: str
    family: str
    parameters: int
    bins: int
    converged: bool
    elbo: float
    iw_log_evidence: float
    iw_log_evidence_se: float
    log_evidence: float | None
    evidence: float
    evidence_se: float
    evidence_source: str
    psis_khat: float
    evidence_khat: float
    evidence_reliable: bool
    delta_elbo: float
    delta_evidence: float
    delta_evidence_se: float
    bayes_factor: float
    standing: str
    seconds: float

    def as_dict(self) -> dict[str, Any]:
        """The row's values by column name, in the order of TABLE_COLUMNS.

        Returns
        -------
        dict of str to object
            Column name to value.
        """
        return {name: getattr(self, name) for name in TABLE_COLUMNS}


@dataclass(frozen=True)
class ComparisonTable:
    """The rows, ranked (reliable evidences first, largest first; then the unreliable ones), and what
    they were computed on."""

    recording: str
    bins: int
    first_row: int
    rows: tuple[ComparisonRow, ...]

    @property
    def best(self) -> ComparisonRow | None:
        """The first-ranked model; None when it is tied with another or every evidence is unreliable."""
        return self.rows[0] if self.rows[0].standing == "best" else None

    @property
    def verdict(self) -> str:
        """The comparison in words: which model is best and by how much, or a tie, and which are not ranked."""
        ranked = [row for row in self.rows if row.standing != "unreliable"]
        ties = [row for row in ranked if row.standing == "tie"]
        if not ranked:
            sentence = "No model can be called best: every evidence is unreliable (PSIS k-hat >= 0.7)."
        elif ties:
            widest = max(ties, key=lambda row: abs(row.delta_evidence))
            sentence = (f"Tie: {' and '.join(row.model for row in ties)} (their evidences differ by "
                        f"{abs(widest.delta_evidence):.3f} nats or less, within the standard error "
                        f"{widest.delta_evidence_se:.3f}); no single model is best.")
        elif len(ranked) == 1:
            sentence = f"Best: {ranked[0].model}, the only model with a reliable evidence."
        else:
            second = ranked[1]
            sentence = (f"Best: {ranked[0].model}, {-second.delta_evidence:.3f} ± {second.delta_evidence_se:.3f} "
                        f"nats above {second.model} (Bayes factor {1.0 / second.bayes_factor:.3g}).")
        unreliable = [row for row in self.rows if row.standing == "unreliable"]
        if unreliable:
            sentence += " Not ranked: " + "; ".join(
                f"{row.model} (k-hat {row.evidence_khat:.2f} >= 0.7: its evidence is unreliable)"
                for row in unreliable) + "."
        return sentence

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready; non-finite numbers (none expected) become null.

        Returns
        -------
        dict of str to object
            The recording, bins, first row, columns, note and rows.
        """
        def clean(value: Any) -> Any:
            if isinstance(value, float) and not np.isfinite(value):
                return None
            return value

        return {"recording": self.recording, "bins": self.bins, "first_row": self.first_row,
                "columns": list(TABLE_COLUMNS), "note": TOOLTIP,
                "rows": [{k: clean(v) for k, v in row.as_dict().items()} for row in self.rows]}

    def to_csv(self) -> str:
        """CSV text with a header line; an unknown exact log evidence, or a non-finite number (a Bayes
        factor beyond float range), is an empty field.

        Returns
        -------
        str
            The CSV text, lines ending in newline.
        """
        import csv
        import io

        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(TABLE_COLUMNS)
        for row in self.rows:
            values = []
            for name in TABLE_COLUMNS:
                value = getattr(row, name)
                if value is None or (isinstance(value, float) and not np.isfinite(value)):
                    values.append("")
                elif isinstance(value, float):
                    values.append(repr(value))
                else:
                    values.append(str(value).lower() if isinstance(value, bool) else str(value))
            writer.writerow(values)
        return buffer.getvalue()

    def format_text(self) -> str:
        """A short aligned table for a terminal.

        Returns
        -------
        str
            A header line, one line per row, then the verdict.
        """
        lines = [f"{'model':32s} {'elbo':>14s} {'evidence':>14s} {'d_elbo':>9s} {'d_evid':>9s} "
                 f"{'BF':>9s} {'k-hat':>6s} standing"]
        for row in self.rows:
            lines.append(f"{row.model[:32]:32s} {row.elbo:14.3f} {row.evidence:14.3f} {row.delta_elbo:9.3f} "
                         f"{row.delta_evidence:9.3f} {row.bayes_factor:9.3g} {row.evidence_khat:6.2f} {row.standing}")
        lines.append(self.verdict)
        return "\n".join(lines)


@dataclass(frozen=True)
class ComparisonProgress:
    """Model ``index`` (0-based) of ``n_models``, its label, and what it is doing."""

    index: int
    n_models: int
    label: str
    stage: str
    message: str


def model_specs(presets: Sequence[Preset], families: Sequence[str] = ()) -> list[ModelSpec]:
    """Every preset with its own family, or with each of ``families`` (a cross product).

    Parameters
    ----------
    presets : sequence of Preset
        The presets.
    families : sequence of str
        Families to fit each preset with (empty: its own).

    Returns
    -------
    list of ModelSpec
        One per preset (and family); repeated labels get a " #n" suffix.
    """
    specs = []
    for preset in presets:
        name = preset.name or "preset"
        if families:
            specs.extend(ModelSpec(preset.with_fit(family=f), f"{name} / {f}") for f in families)
        else:
            specs.append(ModelSpec(preset, f"{name} / {preset.fit.family}"))
    labels = [s.label for s in specs]
    return [replace(s, label=f"{s.label} #{i + 1}") if labels.count(s.label) > 1 else s
            for i, s in enumerate(specs)]


def compare_models(recording: Recording, specs: Sequence[ModelSpec],
                   settings: DiagnosticsSettings = DiagnosticsSettings(reference="psis"),
                   cancel: CancelToken | None = None,
                   on_progress: Callable[[ComparisonProgress], None] | None = None) -> ComparisonTable:
    """Fit every model on ``recording`` (on common bins), diagnose it, and build the table.

    The default settings skip HMC (the evidence needs importance sampling
    only).  Raises :class:`ComparisonError` for fewer than two models or for
    models whose likelihoods score the data on different scales (a density
    for gaussian, probabilities otherwise).

    Parameters
    ----------
    recording : Recording
        The data.
    specs : sequence of ModelSpec
        At least two models.
    settings : DiagnosticsSettings
        The diagnostics run after each fit.
    cancel : CancelToken, optional
        Stops the comparison.
    on_progress : callable, optional
        Called with a ComparisonProgress during each fit and its diagnostics.

    Returns
    -------
    ComparisonTable
        The ranked rows (ELBO and evidence in nats, times in seconds).
    """
    if len(specs) < 2:
        raise ComparisonError("give at least two models to compare (several --preset, or several --family)")
    continuous = {spec.preset.likelihood == "gaussian" for spec in specs}
    if len(continuous) > 1:
        raise ComparisonError("a gaussian model (a density) and a count model (probabilities) cannot be "
                              "compared by their evidence; compare models of one kind")
    cancel = cancel if cancel is not None else CancelToken()
    first_row = max(earliest_row(recording, spec.preset.design) for spec in specs)
    sessions = [FitSession(spec.preset, recording, cancel, first_row=first_row) for spec in specs]
    results: list[tuple[ModelSpec, FitSession, Any, Diagnostics, float]] = []
    n_models = len(specs)
    for index, (spec, session) in enumerate(zip(specs, sessions)):
        def fit_progress(progress: FitProgress, index: int = index, label: str = spec.label) -> None:
            if on_progress is not None:
                on_progress(ComparisonProgress(index, n_models, label, "fit",
                                               f"iteration {progress.iteration}, ELBO {progress.terms.elbo:.3f}"))

        def diag_progress(progress: DiagnosticsProgress, index: int = index, label: str = spec.label) -> None:
            if on_progress is not None:
                on_progress(ComparisonProgress(index, n_models, label, progress.stage, progress.message))

        start = time.perf_counter()
        result = session.run(fit_progress)
        cancel.raise_if_cancelled()
        diagnostics = diagnose_session(session, result, settings, diag_progress)
        results.append((spec, session, result, diagnostics, time.perf_counter() - start))
    best_elbo = max(r[2].elbo for r in results)
    rows = [ComparisonRow(
        model=spec.label, preset=spec.preset.name, family=result.family, parameters=session.design.dim,
        bins=session.design.n_rows, converged=result.converged, elbo=result.elbo,
        iw_log_evidence=diagnostics.iw_log_evidence, iw_log_evidence_se=diagnostics.iw_log_evidence_se,
        log_evidence=diagnostics.log_evidence, evidence=diagnostics.evidence_estimate,
        evidence_se=diagnostics.evidence_estimate_se, evidence_source=diagnostics.evidence_source,
        psis_khat=diagnostics.psis_khat, evidence_khat=diagnostics.evidence_khat,
        evidence_reliable=diagnostics.evidence_reliable, delta_elbo=result.elbo - best_elbo,
        delta_evidence=float("nan"), delta_evidence_se=float("nan"), bayes_factor=float("nan"), standing="",
        seconds=seconds) for spec, session, result, diagnostics, seconds in results]
    return ComparisonTable(recording.source, sessions[0].design.n_rows, first_row, tuple(rank_rows(rows)))


def rank_rows(rows: Sequence[ComparisonRow]) -> list[ComparisonRow]:
    """``rows`` ranked by evidence, with their differences to the best reliable one and their standing.

    Reliable evidences come first, largest first; a row whose difference to the first is within the
    standard error of that difference (the two errors combined) is a tie; rows with an unreliable
    evidence follow, unranked.  Differences and Bayes factors are against the first reliable row (or the
    largest evidence when none is reliable).

    Parameters
    ----------
    rows : sequence of ComparisonRow
        At least one row.

    Returns
    -------
    list of ComparisonRow
        The rows, ranked, with delta_evidence, delta_evidence_se (nats), bayes_factor and standing set.
    """
    reliable = sorted((row for row in rows if row.evidence_reliable), key=lambda row: -row.evidence)
    unreliable = sorted((row for row in rows if not row.evidence_reliable), key=lambda row: -row.evidence)
    top = (reliable or unreliable)[0]
    ranked = []
    for row in reliable + unreliable:
        delta = row.evidence - top.evidence
        delta_se = 0.0 if row is top else float(np.hypot(row.evidence_se, top.evidence_se))
        if not row.evidence_reliable:
            standing = "unreliable"
        elif row is top:
            standing = "best"
        else:
            standing = "tie" if abs(delta) <= delta_se else "lower"
        ranked.append(replace(row, delta_evidence=float(delta), delta_evidence_se=delta_se,
                              bayes_factor=float(np.exp(delta)), standing=standing))
    if any(row.standing == "tie" for row in ranked):  # the first is tied too: no single model is best
        ranked[0] = replace(ranked[0], standing="tie")
    return ranked
