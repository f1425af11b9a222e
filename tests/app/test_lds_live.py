"""The window's latent-dynamics task: it reports the session first, then every iteration (also into the trace),
returns the session's result with the true path of a synthetic population, and refuses a bad pair before any
report."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from vbgui.app.lds_fit import LdsFitSession, LdsProgress
from vbgui.app.lds_live import LdsSessionReady, fit_lds_live, units_of
from vbgui.app.live_trace import LiveTrace
from vbgui.core.cancel import CancelToken
from vbgui.errors import FitError
from vbgui.models.lds_synthetic import SHIPPED_SEED, make_lds_population
from vbgui.models.preset import load_preset


def test_the_task_reports_the_session_then_every_iteration_and_returns_the_sessions_result():
    recording, _, _ = make_lds_population(n_bins=400, n_units=6, latent_dim=2, seed=SHIPPED_SEED)
    preset = replace(load_preset("poisson-lds"), latent_dim=2).with_fit(max_iter=5)
    trace, reports = LiveTrace(), []
    outcome = fit_lds_live(preset, recording, trace, CancelToken(), reports.append)
    assert reports[0] == LdsSessionReady(400, 6, 2, "structured-markov", 5)
    assert [r.iteration for r in reports[1:]] == [1, 2, 3, 4, 5]
    assert all(isinstance(r, LdsProgress) for r in reports[1:])
    expected = LdsFitSession(preset, recording).run()
    assert outcome.result.elbo == pytest.approx(expected.elbo, rel=1e-12)
    iteration, elbo, accuracy, kl = trace.arrays()
    np.testing.assert_array_equal(iteration, [1, 2, 3, 4, 5])
    np.testing.assert_allclose(elbo, expected.trace.elbo, rtol=1e-12)
    np.testing.assert_allclose(accuracy - kl, elbo, rtol=1e-12)
    assert outcome.truth is not None and outcome.truth.path.shape == (400, 2)


def test_a_pair_the_fit_cannot_take_is_refused_before_any_report():
    recording, _, _ = make_lds_population(n_bins=100, n_units=2, latent_dim=1, seed=1)
    reports, trace = [], LiveTrace()
    with pytest.raises(FitError, match="latent_dim = 3 is more than the 2 unit"):
        fit_lds_live(load_preset("poisson-lds"), recording, trace, CancelToken(), reports.append)
    assert reports == [] and len(trace) == 0


def test_units_of_a_recording_read_on_its_own_is_that_one_unit():
    recording, _, _ = make_lds_population(n_bins=50, n_units=3, latent_dim=1, seed=2)
    assert units_of(recording, recording.unit(1)) is recording
    alone = units_of(None, recording.unit(1))
    assert alone.responses.shape == (50, 1) and alone.unit_names == (recording.unit_names[1],)
    np.testing.assert_array_equal(alone.responses[:, 0], recording.responses[:, 1])
