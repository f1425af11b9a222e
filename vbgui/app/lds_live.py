"""A latent-dynamics fit run in the background for the window: the session, its live ELBO trace, the true path.

:func:`fit_lds_live` is a task ``task(cancel, report)`` (the shape
:class:`vbgui.gui.background.BackgroundJob` runs): it builds an
:class:`~vbgui.app.lds_fit.LdsFitSession` (whose check of the preset against
the recording raises the project's one-line error), reports
:class:`LdsSessionReady`, drives :meth:`~vbgui.app.lds_fit.LdsFitSession.steps`
reporting each :class:`~vbgui.app.lds_fit.LdsProgress`, and returns an
:class:`LdsLiveOutcome`: the result and, for a regenerable synthetic
population, the true path in the fit's axes (:func:`vbgui.app.lds_truth.aligned_truth`).
Progress reports may be dropped by a throttled ``report``, so every
iteration's ELBO terms also go to an :class:`~vbgui.app.live_trace.LiveTrace` the window reads.
The engine is imported inside the task, in the thread that runs it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

from vbgui.app.live_trace import LiveTrace
from vbgui.core.cancel import CancelToken
from vbgui.io.recording import Recording, RecordingFile
from vbgui.models.preset import Preset

if TYPE_CHECKING:  # the engine (numba) loads in the task's thread, not with the window
    from vbgui.app.lds_fit import LdsProgress
    from vbgui.app.lds_result import LdsFitResult
    from vbgui.app.lds_truth import AlignedTruth


@dataclass(frozen=True)
class LdsSessionReady:
    """The preset and the recording passed the checks: a fit of ``n_bins`` x ``n_units`` starts."""

    n_bins: int
    n_units: int
    latent_dim: int
    family: str
    max_iter: int


@dataclass(frozen=True, eq=False)
class LdsLiveOutcome:
    """A finished (converged, max-iter or cancelled) fit and the true path in its axes (None when unknown)."""

    result: LdsFitResult
    truth: AlignedTruth | None


def units_of(recording_file: RecordingFile | None, recording: Recording) -> RecordingFile:
    """The units a latent-dynamics fit takes: every unit of the loaded file, or the one ``recording`` holds
    when it was read on its own (a reopened result's recording).

    Parameters
    ----------
    recording_file : RecordingFile or None
        The file loaded in the window, with every unit; None when the recording was read on its own.
    recording : Recording
        The unit shown.

    Returns
    -------
    RecordingFile
        ``recording_file``, or a one-unit file holding ``recording``.
    """
    if recording_file is not None:
        return recording_file
    return RecordingFile(responses=recording.response.reshape(-1, 1), unit_names=(recording.unit or "unit 1",),
                         dt=recording.dt, source=recording.source, stimulus=recording.stimulus,
                         response_name=recording.response_name, notes=recording.notes)


def fit_lds_live(preset: Preset, recording: RecordingFile, trace: LiveTrace, cancel: CancelToken,
                 report: Callable[[Any], None]) -> LdsLiveOutcome:
    """Fit ``preset`` (a latent-dynamics preset) to every unit of ``recording``; see the module's docstring.

    Parameters
    ----------
    preset : Preset
        A latent-dynamics preset.
    recording : RecordingFile
        The units, (T, N) responses.
    trace : LiveTrace
        Receives every iteration's ELBO terms.
    cancel : CancelToken
        Set, it ends the fit with reason 'cancelled' (the result keeps what it reached).
    report : callable
        Called with :class:`LdsSessionReady` once the checks pass, then with every
        :class:`~vbgui.app.lds_fit.LdsProgress`.

    Returns
    -------
    LdsLiveOutcome
        The result and the true path in its axes (None when unknown or when no iteration ran).

    Raises
    ------
    VbguiError
        The project's error, one line naming the problem, when the pair cannot be fitted.
    """
    from vbgui.app.lds_fit import LdsFitSession
    from vbgui.app.lds_truth import aligned_truth

    session = LdsFitSession(preset, recording, cancel)
    n_bins, n_units = recording.responses.shape
    report(LdsSessionReady(n_bins, n_units, preset.latent_dim, preset.fit.family, preset.fit.max_iter))

    def on_progress(progress: LdsProgress) -> None:
        trace.append(progress)
        report(progress)

    result = session.run(on_progress)
    truth = aligned_truth(result) if result.iterations else None
    return LdsLiveOutcome(result, truth)
