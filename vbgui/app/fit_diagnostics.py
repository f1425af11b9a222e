"""The diagnostics of a fit as the GUI shows them: rebuild the fit's problem, diagnose its q.

:func:`diagnose_fit` is a task for the GUI's background worker
(:class:`~vbgui.gui.background.BackgroundJob`): it checks ``cancel`` (a
:class:`~vbgui.core.cancel.CancelToken`) and calls ``report(progress)`` as
it goes, and returns a :class:`FitDiagnostics`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from vbgui.app.result import FitResult
from vbgui.core.cancel import CancelToken
from vbgui.io.recording import Recording
from vbgui.models.preset import preset_from_dict

if TYPE_CHECKING:
    from vbgui.app.diagnose import Diagnostics, DiagnosticsSettings


@dataclass(frozen=True, eq=False)
class FitDiagnostics:
    """What the diagnostics panel shows: the diagnostics of ``result`` and q's covariance (D, D)."""

    result: FitResult
    diagnostics: Diagnostics
    q_cov: np.ndarray


def diagnose_fit(result: FitResult, recording: Recording, settings: DiagnosticsSettings,
                 cancel: CancelToken, report: Callable[[Any], None]) -> FitDiagnostics:
    """Rebuild the fit's problem from its preset and ``recording``, then run :func:`diagnose` on its q.

    The session is rebuilt (same preset, same first bin) rather than borrowed
    from the fit worker, so a diagnosis has its own cancel token and works
    for a reopened result as well.  The engine is imported when this runs (in
    the GUI's worker thread), not with the window.
    """
    from vbgui.app.diagnose import diagnose, q_of_result
    from vbgui.app.fit import FitSession

    preset = preset_from_dict(result.preset, source="the fit's preset")
    session = FitSession(preset, recording, cancel, first_row=result.first_row)
    q = q_of_result(result, session.family)
    diagnostics = diagnose(session.problem, q, session.names, result, settings, cancel, report)
    return FitDiagnostics(result, diagnostics, np.array(result.cov))
