"""How much memory a fit will allocate, estimated before anything is allocated.

A fit holds its design (:func:`vbgui.models.design.design_bytes`: a few
numbers per bin when the design is streamed from lags, T x D when a ready
design is given), blocks of built rows in flight (IN_FLIGHT_BLOCKS blocks of
at most BLOCK_BYTES), and D x D matrices: q's Cholesky factor and covariance,
the curvature of each chunk of rows, gradients and Newton's solves.  The
number of D x D matrices a fit holds at its peak was measured with
tracemalloc (D = 800, T = 3000, 8 iterations): full-rank 20.8, structured
19.1, mean-field 11.3 (q is held as a D x D matrix), low-rank 2.1 (the
result's covariance); :data:`POSTERIOR_MATRICES` rounds them up.
"""
from __future__ import annotations

from vbgui.core.design_rows import BLOCK_BYTES
from vbgui.core.rowpass import IN_FLIGHT
from vbgui.errors import PresetError
from vbgui.io.limits import MemoryLimitError, check_memory
from vbgui.io.recording import Recording
from vbgui.models.design import design_bytes, design_width, earliest_row
from vbgui.models.preset import Preset

POSTERIOR_MATRICES = {"full-rank": 24, "structured": 24, "mean-field": 12, "low-rank": 3}


def fit_bytes(recording: Recording, preset: Preset, n_rows: int) -> float:
    """Bytes a fit of ``n_rows`` bins of ``recording`` under ``preset`` allocates beyond the recording."""
    dim = design_width(recording, preset.design)
    matrices = POSTERIOR_MATRICES[preset.fit.family] * float(dim) ** 2 * 8
    return design_bytes(recording, preset.design, n_rows) + IN_FLIGHT * BLOCK_BYTES + matrices


def check_fit_memory(recording: Recording, preset: Preset, first_row: int | None = None) -> None:
    """Refuse, naming the recording, a fit that would need more than the memory budget."""
    first = earliest_row(recording, preset.design) if first_row is None else first_row
    n_rows = max(0, recording.n_bins - first)
    dim = design_width(recording, preset.design)
    settings = preset.design
    check_memory(recording.source, f"a {preset.fit.family} fit of {n_rows} bins x {dim} parameters "
                 f"(stimulus_lags={settings.stimulus_lags}, spike_history_lags={settings.spike_history_lags}"
                 + (f", coupling_lags={settings.coupling_lags}" if settings.coupling_lags else "") + "; "
                 f"{POSTERIOR_MATRICES[preset.fit.family]} matrices of {dim} x {dim})",
                 fit_bytes(recording, preset, n_rows))


def check_coupling_lags(recording: Recording, preset: Preset, source: str) -> None:
    """Refuse, as a PresetError naming ``source`` and 'design.coupling_lags', a ``coupling_lags`` too large for
    ``recording``: lags that leave no bin to fit, or a coupled design beyond the memory budget.

    Parameters
    ----------
    recording
        The unit about to be fitted; its ``population`` holds the units it would be coupled to (None for a
        recording of one unit, where a non-zero value is refused by the fit itself, naming the file).
    preset
        A preset already validated by :func:`vbgui.models.preset.preset_from_dict` (0 to 10000 lags).
    source
        What the message names (e.g. "preset form").
    """
    lags = preset.design.coupling_lags
    if lags == 0 or recording.population is None:
        return
    if lags >= recording.n_bins:
        raise PresetError(f"{source}: 'design.coupling_lags' must be an integer from 0 to {recording.n_bins - 1} "
                          f"(the recording's {recording.n_bins} bins less one), got {lags}")
    try:
        check_fit_memory(recording, preset)
    except MemoryLimitError as exc:
        raise PresetError(f"{source}: 'design.coupling_lags' = {lags} is too large for this recording: {exc}") from None
