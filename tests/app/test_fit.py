"""FitSession end to end on synthetic recordings with known ground truth."""
from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from scipy.special import gammaln

from tests.conftest import reparam_elbo_tolerance
from vbgui.app.fit import FitSession
from vbgui.app.result import FitResult
from vbgui.core.cancel import CancelToken
from vbgui.errors import RecordingError
from vbgui.io.recording import Recording
from vbgui.models.preset import load_preset
from vbgui.models.synthetic import make_synthetic_recording


def independent_poisson_elbo(X, y, mean, cov, prior_scale) -> float:
    """ELBO of a Poisson GLM written out in numpy, with scipy's gammaln and a dense KL."""
    mu = X @ mean
    var = np.einsum("ti,ij,tj->t", X, cov, X)
    ell = np.sum(y * mu - np.exp(mu + var / 2) - gammaln(y + 1))
    d = len(mean)
    s2 = prior_scale ** 2
    kl = 0.5 * (np.trace(cov) / s2 + mean @ mean / s2 - d + d * np.log(s2) - np.linalg.slogdet(cov)[1])
    return float(ell - kl)


@pytest.fixture(scope="module")
def poisson_recording() -> Recording:
    return make_synthetic_recording("poisson", n_bins=40_000, stimulus_lags=8, spike_history_lags=3,
                                    dt=0.005, seed=3)


def fit(recording, preset_name, **changes) -> tuple[FitSession, FitResult]:
    preset = load_preset(preset_name)
    preset = preset.with_fit(**changes)
    session = FitSession(preset, recording)
    return session, session.run()


@pytest.fixture(scope="module")
def poisson_fits(poisson_recording):
    preset = load_preset("poisson-glm")
    from dataclasses import replace

    preset = replace(preset, design=replace(preset.design, stimulus_lags=8, spike_history_lags=3))
    results = {}
    for family in ("mean-field", "structured", "full-rank"):
        session = FitSession(preset.with_fit(family=family), poisson_recording)
        results[family] = (session, session.run())
    return results


def test_poisson_fit_recovers_the_ground_truth(poisson_fits):
    session, result = poisson_fits["full-rank"]
    assert result.converged and result.iterations < 20
    truth = np.array([result.truth[name] for name in result.names])
    z = (result.mean - truth) / result.sd
    assert np.max(np.abs(z)) < 4.0
    assert np.sqrt(np.mean(z ** 2)) < 2.0


def test_family_ordering_and_an_independent_elbo_at_the_reported_q(poisson_fits):
    elbos = {family: result.elbo for family, (_, result) in poisson_fits.items()}
    assert elbos["full-rank"] >= elbos["structured"] >= elbos["mean-field"]
    for family, (session, result) in poisson_fits.items():
        independent = independent_poisson_elbo(session.design.rows.materialise(), session.design.response, result.mean,
                                               result.cov, session.preset.prior.scale)
        assert result.elbo == pytest.approx(independent, rel=1e-10)
        assert result.elbo == pytest.approx(result.expected_log_likelihood - result.kl, rel=1e-14)
        assert result.trace.elbo[-1] == pytest.approx(result.elbo, rel=1e-12)


def test_bernoulli_fit_recovers_the_ground_truth():
    recording = make_synthetic_recording("bernoulli", n_bins=60_000, stimulus_lags=10, mean_response=0.2, seed=4)
    _, result = fit(recording, "bernoulli-glm")
    assert result.converged
    truth = np.array([result.truth[name] for name in result.names])
    assert np.max(np.abs((result.mean - truth) / result.sd)) < 4.0


def test_linear_gaussian_result_carries_the_exact_posterior_and_evidence():
    recording = make_synthetic_recording("gaussian", n_bins=3000, stimulus_lags=10, noise_sd=0.7, seed=5)
    _, full = fit(recording, "linear-gaussian")
    _, mean_field = fit(recording, "linear-gaussian", family="mean-field")
    assert full.elbo == pytest.approx(full.log_evidence, rel=1e-6) and full.gap < 1e-6 * abs(full.log_evidence)
    np.testing.assert_allclose(full.mean, full.exact_posterior_mean, rtol=1e-7, atol=1e-9)
    assert mean_field.gap > 0.0
    assert mean_field.log_evidence == full.log_evidence


def test_reparam_fit_reports_the_exact_elbo_of_its_q():
    recording = make_synthetic_recording("poisson", n_bins=5000, stimulus_lags=4, seed=6)
    session, result = fit(recording, "poisson-glm", estimator="reparam", samples=10, max_iter=3000, seed=3)
    assert result.estimator == "reparam"
    assert result.elbo == pytest.approx(session.exact_terms(_q_of(session, result)).elbo, rel=1e-12)
    _, exact = fit(recording, "poisson-glm")
    assert exact.elbo - reparam_elbo_tolerance(session.family) < result.elbo <= exact.elbo + 1e-9


def _q_of(session, result):
    from vbgui.core.families import GaussianPosterior

    return GaussianPosterior(session.family, result.mean, np.linalg.cholesky(result.cov))


def test_result_round_trips_through_its_dict(poisson_fits):
    _, result = poisson_fits["structured"]
    again = FitResult.from_dict(result.to_dict())
    assert again.to_dict() == result.to_dict()


def test_bad_responses_are_refused_with_the_file_named():
    recording = Recording(np.array([0.0, 1.0, 2.0] * 10), 0.01, "spikes.npz", stimulus=np.ones(30))
    with pytest.raises(RecordingError, match=r"spikes.npz: 'counts' must hold only 0 and 1.*bernoulli"):
        FitSession(load_preset("bernoulli-glm"), recording)


def test_cancel_stops_a_large_fit_within_100_ms():
    recording = make_synthetic_recording("poisson", n_bins=400_000, stimulus_lags=25, seed=8)
    FitSession(load_preset("poisson-glm").with_fit(max_iter=1), recording).run()  # warm the kernels
    token = CancelToken()
    session = FitSession(load_preset("poisson-glm"), recording, cancel=token)
    done = {}
    first_iteration = threading.Event()

    def work():
        done["result"] = session.run(lambda progress: first_iteration.set())
        done["at"] = time.perf_counter()

    thread = threading.Thread(target=work)
    thread.start()
    assert first_iteration.wait(30)
    time.sleep(0.02)
    cancelled_at = time.perf_counter()
    token.cancel()
    thread.join(5)
    assert not thread.is_alive()
    assert done["at"] - cancelled_at < 0.1
    assert done["result"].stop_reason == "cancelled" and np.all(np.isfinite(done["result"].mean))


def test_diagnostics_survive_a_round_trip(poisson_fits):
    from dataclasses import replace

    _, result = poisson_fits["full-rank"]
    with_diagnostics = replace(result, diagnostics={"psis_khat": 0.3, "flags": []})
    assert FitResult.from_dict(with_diagnostics.to_dict()).diagnostics == {"psis_khat": 0.3, "flags": []}


def test_mean_field_on_the_real_grasshopper_recording_converges_fast_and_shows_its_losses():
    """Adjacent stimulus lags of the shipped recording are strongly correlated: the case where
    coordinate-wise mean-field optimisers crawl and where mean-field gives up the most."""
    from dataclasses import replace as replace_settings
    from pathlib import Path

    import vbgui
    from vbgui.io.loaders import load_recording

    recording = load_recording(Path(vbgui.__file__).parent / "resources" / "recordings" / "grasshopper-receptor-1.npz")
    assert recording.n_bins == 10_000 and recording.response.sum() == 929
    preset = load_preset("poisson-glm")
    preset = replace_settings(preset, design=replace_settings(preset.design, stimulus_lags=20, spike_history_lags=0))
    fits = {family: FitSession(preset.with_fit(family=family), recording).run() for family in ("mean-field", "full-rank")}
    mean_field, full_rank = fits["mean-field"], fits["full-rank"]
    assert mean_field.converged and mean_field.iterations <= 15
    stimulus = [i for i, name in enumerate(mean_field.names) if name.startswith("stim")]
    assert np.all(mean_field.sd[stimulus] < 0.5 * full_rank.sd[stimulus])
    assert full_rank.elbo - mean_field.elbo > 10.0
    with_history = replace_settings(preset, design=replace_settings(preset.design, spike_history_lags=5))
    assert FitSession(with_history, recording).run().elbo - full_rank.elbo > 300.0


@pytest.mark.parametrize("family,changes", [("mean-field", {}), ("low-rank", {"rank": 3})])
def test_a_large_model_never_forms_a_d_by_d_curvature(family, changes, monkeypatch):
    """From 100 parameters on, mean-field and low-rank fits stay O(T D) per pass, their start included."""
    from dataclasses import replace

    from vbgui.core.elbo import ExactEstimator

    recording = make_synthetic_recording("poisson", n_bins=6000, stimulus_lags=120, spike_history_lags=0,
                                         dt=0.005, seed=8)
    preset = load_preset("poisson-glm")
    preset = replace(preset, design=replace(preset.design, stimulus_lags=120, spike_history_lags=0))
    evaluate, curvature_at_point = ExactEstimator.evaluate, ExactEstimator.curvature_at_point
    dense = []
    monkeypatch.setattr(ExactEstimator, "evaluate",
                        lambda self, q, want_curvature=False: dense.append(want_curvature) or evaluate(self, q, want_curvature))
    monkeypatch.setattr(ExactEstimator, "curvature_at_point",
                        lambda self, weights: dense.append(True) or curvature_at_point(self, weights))
    result = FitSession(preset.with_fit(family=family, max_iter=3000, **changes), recording).run()
    assert result.converged and len(result.names) == 121
    assert not any(dense)
