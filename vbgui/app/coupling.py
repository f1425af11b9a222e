"""The posterior over couplings of a population, as unit x unit matrices, from the fits of a coupled GLM.

A coupled GLM (preset ``[design] coupling_lags = K``) of unit i has weights
``couple[p][j]``: unit p's count j + 1 bins back in unit i's linear
predictor.  :func:`coupling_matrix` gathers them from the per-unit results of
a batch (``vbgui batch``, or the outcomes of :func:`vbgui.app.batch.run_batch`)
into matrices whose row is the unit fitted (the target) and whose column is
the unit coupled to it (the source):

* ``mean[i, p]`` is the posterior mean of the summed coupling
  c_ip = sum_j couple[p][j] (the total effect of one spike of p on log rate
  of i), ``sd[i, p]`` its posterior sd sqrt(1' S_ip 1) from the covariance
  block S_ip of those weights, and ``z = mean / sd``, so |z| says how
  strongly the data support a coupling;
* ``lag_mean`` and ``lag_sd`` (U, U, K) hold each lag's marginal.

Entries that do not exist are NaN: the diagonal (a unit's own history is not
a coupling), rows of units without a result, and columns a fit left out (a
unit whose data were unusable).  Qt-free; reading a folder of large results
takes a while, so call it off the GUI thread.
"""
from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping

import numpy as np

from vbgui.app.result import FitResult
from vbgui.errors import ResultFileError, VbguiError
from vbgui.io.result_json import read_json

COUPLING_NAME = re.compile(r"couple\[(.*)\]\[(\d+)\]")  # couple[UNIT][lag]; the lag is the last bracket
SUMMARY_NAME = "summary.csv"


@dataclass(frozen=True, eq=False)
class CouplingMatrix:
    """Posterior summaries of the couplings between ``units`` (rows: the target, columns: the source).

    ``mean``, ``sd`` (U, U): the summed coupling over lags; ``lag_mean``,
    ``lag_sd`` (U, U, K): each lag; ``truth`` (U, U): the summed true
    coupling where the results carry ground truth (synthetic data), else NaN.
    """

    units: tuple[str, ...]
    lags: int
    mean: np.ndarray
    sd: np.ndarray
    lag_mean: np.ndarray
    lag_sd: np.ndarray
    truth: np.ndarray

    @property
    def z(self) -> np.ndarray:
        """mean / sd: how many posterior sds the summed coupling lies from 0."""
        return self.mean / self.sd


def _as_result(result: FitResult | Mapping[str, Any], source: str) -> FitResult:
    return result if isinstance(result, FitResult) else FitResult.from_dict(dict(result), source=source)


def _couplings_of(result: FitResult) -> dict[str, list[tuple[int, int]]]:
    """partner unit -> [(lag, parameter index)] of the result's coupling weights."""
    partners: dict[str, list[tuple[int, int]]] = {}
    for index, name in enumerate(result.names):
        match = COUPLING_NAME.fullmatch(name)
        if match:
            partners.setdefault(match.group(1), []).append((int(match.group(2)), index))
    return partners


def coupling_matrix(results: Iterable[FitResult | Mapping[str, Any]],
                    units: Iterable[str] | None = None) -> CouplingMatrix:
    """The unit x unit coupling matrices of the coupled-GLM fits ``results``, one per unit.

    Parameters
    ----------
    results
        :class:`FitResult` objects or result dicts (a result file's content,
        or ``UnitOutcome.result`` of a batch); each names its unit.
    units
        The order of rows and columns (default: the units of ``results`` in
        the order given, then any coupled unit without a result, in the order
        the fits name them).

    Raises
    ------
    VbguiError
        When no result holds couplings, two results are of one unit, or
        results were fitted with different ``coupling_lags``.

    Returns
    -------
    CouplingMatrix
        The units' order and the summaries (U, U) and (U, U, K), NaN where no fit couples the pair.
    """
    fitted: dict[str, dict[str, list[tuple[int, int]]]] = {}
    by_unit: dict[str, FitResult] = {}
    lags: set[int] = set()
    for number, raw in enumerate(results):
        result = _as_result(raw, f"result {number}")
        if result.unit in by_unit:
            raise VbguiError(f"two results of unit '{result.unit}'; give one result per unit")
        partners = _couplings_of(result)
        by_unit[result.unit] = result
        fitted[result.unit] = partners
        lags.update(len(entries) for entries in partners.values())
    if not lags:
        raise VbguiError("no result holds coupling weights (couple[UNIT][lag]); fit a preset whose [design] "
                         "coupling_lags is 1 or more")
    if len(lags) > 1:
        raise VbguiError(f"the results were fitted with different coupling_lags ({sorted(lags)}); give the results "
                         "of one preset")
    n_lags = lags.pop()
    order = list(units) if units is not None else list(fitted)
    for partners in fitted.values():
        order.extend(name for name in partners if name not in order)
    position = {name: i for i, name in enumerate(order)}
    n_units = len(order)
    lag_mean = np.full((n_units, n_units, n_lags), np.nan)
    lag_sd = np.full((n_units, n_units, n_lags), np.nan)
    mean = np.full((n_units, n_units), np.nan)
    sd = np.full((n_units, n_units), np.nan)
    truth = np.full((n_units, n_units), np.nan)
    for unit, partners in fitted.items():
        if unit not in position:
            continue  # the caller asked for other rows
        result = by_unit[unit]
        row = position[unit]
        for partner, entries in partners.items():
            if partner not in position:
                continue
            column = position[partner]
            indices = [index for _, index in sorted(entries)]
            lag_mean[row, column] = result.mean[indices]
            lag_sd[row, column] = np.sqrt(np.diag(result.cov)[indices])
            mean[row, column] = float(np.sum(result.mean[indices]))
            sd[row, column] = float(np.sqrt(np.sum(result.cov[np.ix_(indices, indices)])))
            names = [result.names[index] for index in indices]
            if all(name in result.truth for name in names):
                truth[row, column] = float(sum(result.truth[name] for name in names))
    return CouplingMatrix(tuple(order), n_lags, mean, sd, lag_mean, lag_sd, truth)


def coupling_matrix_of_folder(folder: str | Path) -> CouplingMatrix:
    """:func:`coupling_matrix` of the result files of a ``vbgui batch`` output folder.

    Rows follow ``summary.csv`` (the order the batch was asked for) when it
    is there; every ``*.json`` file in ``folder`` must be a result file.
    Raises a VbguiError naming the file that cannot be read.

    Parameters
    ----------
    folder : str or Path
        The batch output folder.

    Returns
    -------
    CouplingMatrix
        As :func:`coupling_matrix` gives it.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise ResultFileError(f"{folder}: not a folder of batch results")
    paths = sorted(folder.glob("*.json"))
    if not paths:
        raise ResultFileError(f"{folder}: holds no result files (*.json)")
    results = [FitResult.from_dict(read_json(path), source=str(path)) for path in paths]
    summary = folder / SUMMARY_NAME
    order: list[str] | None = None
    if summary.is_file():
        try:
            with open(summary, newline="", encoding="utf-8") as handle:
                order = [row["unit"] for row in csv.DictReader(handle)]
        except (OSError, UnicodeDecodeError, KeyError, csv.Error) as exc:
            raise ResultFileError(f"{summary}: not a batch summary ({exc.__class__.__name__}: {exc})") from None
    return coupling_matrix(results, order)
