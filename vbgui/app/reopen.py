"""Reopen a fit from its result file: the result, its recording if it still exists, and what to draw.

Qt-free.  Nothing is refitted: the curves, parameters and contours come
from the file; the recording (for the predicted rate and the exact grid
posterior) is read again from the path the result names, when it still
exists and still holds the data that was fitted.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vbgui.app.fit import FitSession, recording_checksum
from vbgui.app.result import FitResult
from vbgui.errors import VbguiError
from vbgui.app.shown_reference import ShownReference, reference_posterior
from vbgui.io.loaders import load_recording
from vbgui.io.recording import Recording
from vbgui.io.result_json import read_json
from vbgui.models.preset import Preset, preset_from_dict


@dataclass(frozen=True, eq=False)
class ReopenedFit:
    """A result read back, with its preset, and its recording and session when the data could be found.

    ``problem`` says in words why the recording is missing (empty when it was found).
    """

    path: Path
    result: FitResult
    preset: Preset
    recording: Recording | None
    session: FitSession | None
    reference: ShownReference | None
    problem: str = ""


def _exact_reference(result: FitResult) -> ShownReference | None:
    if result.exact_posterior_mean is None or result.exact_posterior_cov is None:
        return None
    return ShownReference("conjugate", mean=result.exact_posterior_mean, cov=result.exact_posterior_cov)


def reopen_result(path: str | Path, data: dict[str, Any] | None = None) -> ReopenedFit:
    """Read the result file ``path`` (``data``: its JSON, when the caller has read it already); raises a
    VbguiError when the file itself is not a readable result.

    Parameters
    ----------
    path : str or Path
        The result file.
    data : dict of str to object, optional
        Its JSON content, already read.

    Returns
    -------
    ReopenedFit
        The result and preset, with the recording and session when the data are found unchanged
        (else problem says why not).
    """
    path = Path(path)
    result = FitResult.from_dict(read_json(path) if data is None else data, source=str(path))
    preset = preset_from_dict(result.preset, source=f"{path} (preset)")
    recording_path = Path(result.recording)
    if not recording_path.exists():
        return ReopenedFit(path, result, preset, None, None, _exact_reference(result),
                           f"the recording {result.recording} no longer exists")
    try:
        recording = load_recording(recording_path, result.unit or None)
    except VbguiError as exc:
        return ReopenedFit(path, result, preset, None, None, _exact_reference(result),
                           f"the recording cannot be read again ({exc})")
    if result.recording_checksum and recording_checksum(recording, preset.design) != result.recording_checksum:
        return ReopenedFit(path, result, preset, None, None, _exact_reference(result),
                           f"the recording {result.recording} has changed since the fit")
    try:
        session = FitSession(preset, recording)
    except VbguiError as exc:
        return ReopenedFit(path, result, preset, None, None, _exact_reference(result),
                           f"the preset no longer fits the recording ({exc})")
    reference = _exact_reference(result) or reference_posterior(session)
    return ReopenedFit(path, result, preset, recording, session, reference)
