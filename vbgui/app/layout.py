"""The shape of a model before it is fitted: parameter names, groups and the first usable bin.

Computed on the GUI thread whenever the preset or the recording changes,
from a design built on the first few bins only (cheap at any recording
length), so the panels are laid out while the window is idle and a fit
only updates existing plot items.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from vbgui.errors import VbguiError
from vbgui.io.recording import Recording
from vbgui.models.design import build_design, earliest_row
from vbgui.models.preset import Preset


@dataclass(frozen=True)
class ModelLayout:
    """Parameter names, groups (name -> column indices), first design row, likelihood and bin width.

    ``dt`` is None when the recording is not at hand (a reopened result whose
    recording has gone): lags are then counted in bins.
    """

    names: tuple[str, ...]
    groups: tuple[tuple[str, tuple[int, ...]], ...]
    first_row: int
    likelihood: str
    dt: float | None
    response_name: str
    source: str


def _head(recording: Recording, n_bins: int) -> Recording:
    return Recording(recording.response[:n_bins], recording.dt, recording.source,
                     stimulus=None if recording.stimulus is None else recording.stimulus[:n_bins],
                     design=None if recording.design is None else recording.design[:n_bins],
                     response_name=recording.response_name,
                     population=None if recording.population is None else recording.population.head(n_bins))


def model_layout(preset: Preset, recording: Recording) -> ModelLayout | None:
    """The layout of ``preset`` on ``recording``, or None when they do not fit together (the fit will say why).

    Parameters
    ----------
    preset : Preset
        The preset.
    recording : Recording
        The data.

    Returns
    -------
    ModelLayout or None
        The layout.
    """
    settings = replace(preset.design, standardize=False)  # names do not depend on scaling
    first_row = earliest_row(recording, settings)
    try:
        design = build_design(_head(recording, min(recording.n_bins, first_row + 2)), settings)
    except VbguiError:
        return None
    return ModelLayout(design.names, tuple(design.groups.items()), design.first_row, preset.likelihood,
                       recording.dt, recording.response_name, recording.source)


def layout_from_names(names: tuple[str, ...], likelihood: str, first_row: int, source: str) -> ModelLayout:
    """The layout of a fitted model known only by its parameter names ("bias", "stim[3]", "hist[0]", ...).

    Parameters
    ----------
    names : tuple of str
        The parameter names; a group is the part before "[".
    likelihood : str
        The likelihood's name.
    first_row : int
        The first bin of the design.
    source : str
        Where the model came from (a file).

    Returns
    -------
    ModelLayout
        The layout, with no bin width (lags counted in bins).
    """
    groups: dict[str, list[int]] = {}
    for index, name in enumerate(names):
        groups.setdefault(name.split("[")[0], []).append(index)
    return ModelLayout(tuple(names), tuple((g, tuple(i)) for g, i in groups.items()), first_row, likelihood,
                       None, "counts" if likelihood != "gaussian" else "response", source)
