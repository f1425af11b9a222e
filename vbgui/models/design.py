"""Design matrices of GLMs of neural data, with names for every column.

For a recording with response y_t and stimulus columns s^(k)_t, row t of the
design holds, in this order,

    bias                1
    stim[l]             s_{t-l},        l = 0 .. stimulus_lags-1   (one stimulus column)
    stim<k>[l]          s^(k)_{t-l}                                 (several columns)
    hist[j]             y_{t-1-j},      j = 0 .. spike_history_lags-1
    couple[UNIT][j]     y^(UNIT)_{t-1-j}, j = 0 .. coupling_lags-1  (every other unit of the file)

so stim[0] is the present stimulus and hist[0] the previous bin's response.
The coupling columns (Pillow et al. 2008, Nature 454:995) are the past
counts of every other usable unit recorded with this one, in file order; they
form one group, ``couple``, and are built by :func:`coupling_regressors`.
Rows whose lags would reach before the recording's start are dropped: the
first max(stimulus_lags - 1, spike_history_lags, coupling_lags) bins.  A recording's ready
``design`` (T, D) is used as it is, with columns x[0].. (plus bias).  With
``standardize`` each stimulus column is z-scored before its lags are built.

A design built from lags is streamed: it holds the recording's series and
builds each block of rows when a pass reads it
(:class:`vbgui.core.design_rows.LaggedRows`), so a fit needs memory for the
recording and a few numbers per bin, not for T x D.  A ready design is held
as a matrix (:class:`vbgui.core.design_rows.DenseRows`), and so is a coupled
design (the streamed rows have no coupling columns yet).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from vbgui.core.design_rows import DenseRows, DesignRows, LaggedRows
from vbgui.core.rowpass import row_blocks
from vbgui.errors import RecordingError
from vbgui.io.recording import Recording
from vbgui.models.preset import DesignSettings


@dataclass(frozen=True, eq=False)
class Design:
    """A design's rows (bins first_row.. of the recording), its response and column names.

    ``groups`` maps a group name (bias, stim, stim0, hist, x, couple) to its column
    indices: the blocks of the structured family.
    """

    rows: DesignRows
    response: np.ndarray
    names: tuple[str, ...]
    groups: dict[str, tuple[int, ...]]
    first_row: int

    @property
    def n_rows(self) -> int:
        return int(self.rows.shape[0])

    @property
    def dim(self) -> int:
        return int(self.rows.shape[1])


def _lagged(column: np.ndarray, n_lags: int, first_row: int, offset: int) -> np.ndarray:
    """Columns column[t - offset - l], l = 0..n_lags-1, for rows t = first_row..T-1."""
    n_bins = column.shape[0]
    if n_lags == 0:
        return np.empty((n_bins - first_row, 0))
    windows = sliding_window_view(column, n_lags)  # windows[i] = column[i : i + n_lags]
    start = first_row - offset - (n_lags - 1)
    return windows[start:start + n_bins - first_row, ::-1]


def earliest_row(recording: Recording, settings: DesignSettings) -> int:
    """The first bin whose lags all lie inside the recording."""
    if recording.design is not None:
        return max(settings.spike_history_lags, settings.coupling_lags)
    return max(settings.stimulus_lags - 1, settings.spike_history_lags, settings.coupling_lags, 0)


def stimulus_standardisation(recording: Recording, settings: DesignSettings) -> tuple[list[float], list[float]] | None:
    """The mean and sd of each stimulus column that :func:`build_design` z-scores with (over the whole
    recording); None when the design uses no standardised stimulus."""
    if (recording.design is not None or recording.stimulus is None or settings.stimulus_lags == 0
            or not settings.standardize):
        return None
    columns = [recording.stimulus[:, k] for k in range(recording.n_stimuli)]
    return [float(c.mean()) for c in columns], [float(c.std()) for c in columns]


def design_width(recording: Recording, settings: DesignSettings) -> int:
    """Number of columns the design of ``recording`` will have under ``settings``."""
    regressors = (recording.design.shape[1] if recording.design is not None
                  else recording.n_stimuli * settings.stimulus_lags if recording.stimulus is not None else 0)
    coupling = len(coupling_partners(recording, settings)) * settings.coupling_lags
    return int(settings.bias) + regressors + settings.spike_history_lags + coupling


def coupling_partners(recording: Recording, settings: DesignSettings) -> tuple[int, ...]:
    """The population columns whose past counts a coupled GLM of ``recording`` takes (none without coupling).

    Every other unit of the file, except those whose data are unusable (they
    fail alone in a batch and are left out here).  Raises RecordingError when
    ``coupling_lags`` > 0 and the recording holds one unit.
    """
    if settings.coupling_lags == 0:
        return ()
    if recording.population is None:
        raise RecordingError(f"{recording.source}: coupling_lags = {settings.coupling_lags} couples a unit to the "
                             "other units of a multi-unit recording, and this recording holds one unit (set "
                             "coupling_lags = 0, or open a recording of several units)")
    return recording.population.coupled


def coupling_regressors(recording: Recording, settings: DesignSettings,
                        first_row: int) -> tuple[list[str], list[np.ndarray]]:
    """The coupling columns of the design: names ``couple[UNIT][j]`` and one block per partner unit.

    Block p holds y^(p)_{t-1-j}, j = 0..coupling_lags-1, for rows t =
    first_row..T-1: views of the population's counts (nothing is copied until
    the design matrix is filled).
    """
    population = recording.population
    names: list[str] = []
    blocks: list[np.ndarray] = []
    for partner in coupling_partners(recording, settings):
        unit_name = population.names[partner]
        names.extend(f"couple[{unit_name}][{j}]" for j in range(settings.coupling_lags))
        blocks.append(_lagged(population.responses[:, partner], settings.coupling_lags, first_row, 1))
    return names, blocks


def _with_coupling(rows: DesignRows, coupling_blocks: list[np.ndarray]) -> DenseRows:
    """The design matrix of ``rows`` followed by the coupling columns, filled a block of rows at a time
    (no second copy of the whole design)."""
    n_rows, base = rows.shape
    width = base + sum(block.shape[1] for block in coupling_blocks)
    matrix = np.empty((n_rows, width))
    for start, stop in row_blocks(n_rows, base, rows.max_block_rows):
        matrix[start:stop, :base] = rows.rows(start, stop)
    column = base
    for block in coupling_blocks:
        matrix[:, column:column + block.shape[1]] = block
        column += block.shape[1]
    return DenseRows(matrix)


VECTORS_PER_ROW = 2  # what a fit of a streamed design holds per bin: the rows' curvatures and one product


def design_bytes(recording: Recording, settings: DesignSettings, n_rows: int) -> float:
    """Bytes a fit allocates for the design of n_rows bins, beyond the recording itself.

    A ready or coupled design is held as a matrix with its bias, history and
    coupling columns (n_rows x D x 8 bytes); a streamed one holds
    VECTORS_PER_ROW numbers per bin (its blocks of rows are a few MB per thread
    and come and go).
    """
    if recording.design is not None or coupling_partners(recording, settings):
        return float(n_rows) * design_width(recording, settings) * 8
    return float(n_rows) * VECTORS_PER_ROW * 8


def build_design(recording: Recording, settings: DesignSettings, first_row: int | None = None) -> Design:
    """Build the design of ``recording`` from bin ``first_row`` on (default: the earliest possible).

    A later ``first_row`` lets designs with different lags be scored on the
    same bins.  Raises RecordingError when the recording has too few bins.
    """
    src = recording.source
    names: list[str] = []
    groups: dict[str, tuple[int, ...]] = {}
    blocks: list[np.ndarray] = []

    def add(group: str, column_names: list[str], block: np.ndarray | None) -> None:
        """Name a group of columns; ``block`` holds them when the design is held as a matrix."""
        groups[group] = tuple(range(len(names), len(names) + len(column_names)))
        names.extend(column_names)
        if block is not None:
            blocks.append(block)

    earliest = earliest_row(recording, settings)
    first_row = earliest if first_row is None else first_row
    if first_row < earliest:
        raise ValueError(f"first_row {first_row} is before the earliest row the lags allow ({earliest})")
    n_rows = recording.n_bins - first_row
    if n_rows < 1:
        raise RecordingError(f"{src}: {recording.n_bins} bins are fewer than the lags need "
                             f"({first_row + 1} at least: stimulus_lags={settings.stimulus_lags}, "
                             f"spike_history_lags={settings.spike_history_lags}"
                             + (f", coupling_lags={settings.coupling_lags})" if settings.coupling_lags else ")"))
    if settings.bias:
        add("bias", ["bias"], np.ones((n_rows, 1)) if recording.design is not None else None)
    if recording.design is not None:
        add("x", [f"x[{i}]" for i in range(recording.design.shape[1])], recording.design[first_row:])
        if settings.spike_history_lags > 0:
            add("hist", [f"hist[{j}]" for j in range(settings.spike_history_lags)],
                _lagged(recording.response, settings.spike_history_lags, first_row, 1))
        rows: DesignRows = DenseRows(np.hstack(blocks) if blocks else np.empty((n_rows, 0)))
    else:
        scaling = None
        if settings.stimulus_lags > 0:
            if recording.stimulus is None:
                raise RecordingError(f"{src}: the preset asks for {settings.stimulus_lags} stimulus lags "
                                     "but the recording has no 'stimulus'")
            scaling = stimulus_standardisation(recording, settings)
            for k in range(recording.n_stimuli):
                if scaling is not None and scaling[1][k] == 0:
                    raise RecordingError(f"{src}: stimulus column {k} is constant and cannot be standardised")
                prefix = "stim" if recording.n_stimuli == 1 else f"stim{k}"
                add(prefix, [f"{prefix}[{lag}]" for lag in range(settings.stimulus_lags)], None)
        if settings.spike_history_lags > 0:
            add("hist", [f"hist[{j}]" for j in range(settings.spike_history_lags)], None)
        n_stimuli = recording.n_stimuli if settings.stimulus_lags > 0 else 0
        stimulus = (recording.stimulus if n_stimuli else np.empty((recording.n_bins, 0)))
        mean, sd = scaling if scaling is not None else ([0.0] * n_stimuli, [1.0] * n_stimuli)
        rows = LaggedRows(stimulus, np.array(mean), np.array(sd), settings.stimulus_lags, recording.response,
                          settings.spike_history_lags, settings.bias, first_row)
    coupling_names, coupling_blocks = coupling_regressors(recording, settings, first_row)
    if coupling_names:
        groups["couple"] = tuple(range(len(names), len(names) + len(coupling_names)))
        names.extend(coupling_names)
        rows = _with_coupling(rows, coupling_blocks)
    if not names:
        raise RecordingError(f"{src}: the preset builds no regressors (no bias, stimulus or history)")
    return Design(rows, np.ascontiguousarray(recording.response[first_row:]), tuple(names), groups, first_row)
