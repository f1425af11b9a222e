"""Diagnostics of fits against closed forms, and `vbgui fit --diagnose`."""
from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from vbgui.app.diagnose import (CONFIRM_FACTOR, DiagnosticsSettings, ReferencePosterior, diagnose,
                                diagnose_session, elbo_still_rising, fit_flags, importance_draws, khat_reading,
                                khat_standard_error, q_of_result)
from vbgui.app.fit import FitSession
from vbgui.cli import main
from vbgui.core import hmc
from vbgui.core.conjugate import linear_gaussian_posterior, mean_field_gap
from vbgui.core.convergence import mcse_mean
from vbgui.core.cancel import CancelToken, FitCancelled
from vbgui.core.psis import psis
from vbgui.io.loaders import load_recording
from vbgui.io.npz import save_npz
from vbgui.models.preset import load_preset
from vbgui.models.synthetic import make_synthetic_recording


def session_for(recording, preset_name: str, **fit_changes) -> FitSession:
    preset = load_preset(preset_name)
    preset = replace(preset, design=replace(preset.design, stimulus_lags=6, spike_history_lags=0))
    return FitSession(preset.with_fit(**fit_changes), recording)


@pytest.fixture(scope="module")
def gaussian_recording():
    return make_synthetic_recording("gaussian", n_bins=3000, stimulus_lags=6, seed=2)


@pytest.fixture(scope="module")
def poisson_recording():
    return make_synthetic_recording("poisson", n_bins=6000, stimulus_lags=6, dt=0.01, mean_response=0.3, seed=3)


def test_linear_gaussian_mean_field_against_the_closed_form(gaussian_recording):
    session = session_for(gaussian_recording, "linear-gaussian", family="mean-field")
    result = session.run()
    diagnostics = diagnose_session(session, result)
    exact = linear_gaussian_posterior(session.problem)
    assert diagnostics.reference == "exact" and diagnostics.reference_posterior.valid
    assert diagnostics.log_evidence == pytest.approx(exact.log_evidence)
    gap = exact.log_evidence - result.elbo
    assert gap == pytest.approx(mean_field_gap(exact.precision), rel=1e-4) and gap > 0.2
    # ELBO < IW evidence <= log p(y) (up to MC error): the gap estimate is a lower estimate of the KL
    assert diagnostics.elbo == result.elbo < diagnostics.iw_log_evidence
    assert diagnostics.iw_log_evidence < exact.log_evidence + 3 * diagnostics.iw_log_evidence_se
    assert 0.0 < diagnostics.gap_estimate < gap + 3 * diagnostics.iw_log_evidence_se
    # the optimal mean-field variances are 1 / Lambda_ii <= Sigma_ii: sd ratios at most one
    assert np.allclose(diagnostics.sd_ratio, np.sqrt(1.0 / np.diag(exact.precision) / np.diag(exact.cov)), rtol=1e-5)
    assert np.all(diagnostics.sd_ratio <= 1.0 + 1e-6) and np.min(diagnostics.sd_ratio) < 0.9
    assert diagnostics.evidence_source == "exact" and diagnostics.evidence_estimate == exact.log_evidence


def test_linear_gaussian_full_rank_fit_is_the_posterior(gaussian_recording):
    session = session_for(gaussian_recording, "linear-gaussian", family="full-rank")
    result = session.run()
    diagnostics = diagnose_session(session, result)
    assert diagnostics.psis_khat < 0.5 and diagnostics.psis_verdict == "good"
    assert diagnostics.iw_log_evidence == pytest.approx(diagnostics.log_evidence, abs=1e-6)
    assert abs(diagnostics.gap_estimate) < 1e-6
    assert np.allclose(diagnostics.sd_ratio, 1.0, atol=1e-6)
    assert diagnostics.flags == ()


@pytest.fixture(scope="module")
def poisson_full_rank(poisson_recording):
    session = session_for(poisson_recording, "poisson-glm", family="full-rank")
    return session, session.run()


def test_poisson_reference_by_psis_agrees_with_hmc(poisson_full_rank):
    session, result = poisson_full_rank
    by_psis = diagnose_session(session, result)
    assert by_psis.reference == "psis" and by_psis.psis_khat < 0.7 and by_psis.proposal == "q"
    assert by_psis.reference_posterior.effective_draws > 1000
    by_hmc = diagnose_session(session, result, DiagnosticsSettings(
        reference="hmc", hmc=hmc.HmcSettings(warmup=200, draws=400, seed=3)))
    assert by_hmc.reference == "hmc" and by_hmc.reference_posterior.valid, by_hmc.flags
    assert by_hmc.hmc_summary["rhat_max"] < 1.01 and by_hmc.hmc_summary["divergences"] == 0
    draws = by_hmc.reference_posterior.draws.reshape(4, 400, -1)
    for i in range(draws.shape[2]):
        # PSIS mean's own error is about sd / sqrt(its ESS): add it to HMC's
        psis_se = by_psis.reference_posterior.sd[i] / np.sqrt(by_psis.reference_posterior.effective_draws)
        tolerance = 3 * np.hypot(mcse_mean(draws[:, :, i]), psis_se)
        assert abs(by_hmc.reference_posterior.mean[i] - by_psis.reference_posterior.mean[i]) < tolerance
    assert np.allclose(by_hmc.sd_ratio, by_psis.sd_ratio, rtol=0.1)
    assert np.allclose(by_psis.sd_ratio, 1.0, atol=0.1)  # a full-rank fit of a 6000-bin GLM is close


def test_mean_field_poisson_uses_a_full_rank_proposal(poisson_recording, poisson_full_rank):
    session = session_for(poisson_recording, "poisson-glm", family="mean-field")
    result = session.run()
    diagnostics = diagnose_session(session, result)
    assert diagnostics.proposal == "full-rank q fitted from q" and diagnostics.proposal_khat < 0.7
    assert diagnostics.reference == "psis"
    _, full = poisson_full_rank
    full_diagnostics = diagnose_session(*poisson_full_rank)
    # the evidence is the model's, whatever the family: both estimates agree
    assert diagnostics.evidence_estimate == pytest.approx(
        full_diagnostics.evidence_estimate,
        abs=4 * np.hypot(diagnostics.evidence_estimate_se, full_diagnostics.evidence_estimate_se) + 1e-3)
    assert result.elbo < full.elbo
    assert diagnostics.gap_estimate > full_diagnostics.gap_estimate
    assert np.min(diagnostics.sd_ratio) < 0.9


def test_to_dict_is_finite_json_with_the_contract_keys(gaussian_recording, poisson_full_rank):
    session = session_for(gaussian_recording, "linear-gaussian", family="mean-field")
    for diagnostics in (diagnose_session(session, session.run()), diagnose_session(*poisson_full_rank)):
        data = json.loads(json.dumps(diagnostics.to_dict(), allow_nan=False))
        assert {"psis_khat", "psis_verdict", "iw_log_evidence", "iw_log_evidence_se", "iw_draws", "elbo",
                "gap_estimate", "sd_ratio", "reference", "reference_draws", "flags"} <= set(data)
        assert data["iw_draws"] == 2000 and isinstance(data["flags"], list)
        assert len(data["sd_ratio"]) == len(diagnostics.names)
        assert ("log_evidence" in data) == (diagnostics.reference == "exact")


def test_flags_name_the_iteration_cap_and_a_rising_elbo(poisson_recording):
    session = session_for(poisson_recording, "poisson-glm", family="full-rank", max_iter=2)
    result = session.run()
    assert result.stop_reason == "max_iter"
    flags = fit_flags(result)
    assert fit_flags(session_for(poisson_recording, "poisson-glm", family="full-rank").run()) == []
    assert any("iteration cap" in f for f in flags)
    assert any("still rising" in f for f in flags)
    diagnostics = diagnose_session(session, result, DiagnosticsSettings(draws=200))
    assert any("iteration cap" in f for f in diagnostics.flags)


def test_elbo_still_rising_separates_trend_from_noise():
    rng = np.random.default_rng(0)
    flat = -100.0 + 0.05 * rng.standard_normal(200)
    rising = -100.0 + np.linspace(0, 1, 200) + 0.05 * rng.standard_normal(200)
    converged = -100.0 - np.exp(-np.arange(200) / 5.0)
    noisy_rise = -100.0 + np.linspace(0, 0.02, 200) + 0.05 * rng.standard_normal(200)
    assert elbo_still_rising(rising) and elbo_still_rising(np.array([-10.0, -9.0]))
    assert not elbo_still_rising(flat) and not elbo_still_rising(converged)
    assert not elbo_still_rising(noisy_rise)  # a rise hidden in the noise is not significant


def test_progress_and_cancel(poisson_full_rank):
    session, result = poisson_full_rank
    seen = []
    diagnose(session.problem, hmc_q(result, session), session.names, result,
             DiagnosticsSettings(draws=200, reference="hmc", hmc=hmc.HmcSettings(warmup=20, draws=20)),
             on_progress=seen.append)
    stages = [p.stage for p in seen]
    assert stages[0] == "importance" and "hmc" in stages and stages[-1] == "done"
    assert all(0.0 <= p.fraction <= 1.0 for p in seen)
    assert [p.fraction for p in seen] == sorted(p.fraction for p in seen)
    token = CancelToken()

    def cancel(progress):
        if progress.stage == "hmc":
            token.cancel()

    with pytest.raises(FitCancelled):
        diagnose(session.problem, hmc_q(result, session), session.names, result,
                 DiagnosticsSettings(draws=200, reference="hmc", hmc=hmc.HmcSettings(warmup=50, draws=50)),
                 cancel=token, on_progress=cancel)


def hmc_q(result, session):
    from vbgui.app.diagnose import q_of_result

    return q_of_result(result, session.family)


def test_reference_posterior_pairs_and_resampling():
    rng = np.random.default_rng(0)
    draws = rng.standard_normal((500, 3))
    weights = rng.random(500)
    weights /= weights.sum()
    ref = ReferencePosterior("psis", ("a", "b", "c"), weights @ draws, np.eye(3), draws, weights, 400.0, True, "")
    pair, w = ref.pair(0, 2)
    assert np.array_equal(pair, draws[:, [0, 2]]) and np.array_equal(w, weights)
    exact = ReferencePosterior("exact", ("a", "b"), np.array([1.0, 2.0]), np.array([[1.0, 0.5], [0.5, 2.0]]),
                               None, None, float("inf"), True, "")
    pair, w = exact.pair(0, 1)
    assert np.allclose(np.average(pair, axis=0, weights=w), [1.0, 2.0], atol=0.1)
    assert exact.corr[0, 1] == pytest.approx(0.5 / np.sqrt(2.0))
    assert ref.resample(rng, 50).shape == (50, 3)


def test_cli_fit_diagnose_adds_diagnostics(tmp_path, capsys):
    recording = make_synthetic_recording("poisson", n_bins=4000, stimulus_lags=10, dt=0.01, seed=1)
    path = tmp_path / "rec.npz"
    save_npz(recording, path)
    out = tmp_path / "result.json"
    assert main(["fit", "--preset", "poisson-glm", "--recording", str(path), "--out", str(out), "--quiet",
                 "--diagnose"]) == 0
    data = json.loads(out.read_text())
    diagnostics = data["diagnostics"]
    assert diagnostics["psis_verdict"] in ("good", "unreliable", "poor")
    assert diagnostics["iw_draws"] == 2000 and diagnostics["elbo"] == data["elbo"]
    assert diagnostics["reference"] in ("psis", "hmc") and len(diagnostics["sd_ratio"]) == len(
        data["parameters"]["names"])
    assert "k-hat" in capsys.readouterr().err
    plain = tmp_path / "plain.json"
    assert main(["fit", "--preset", "poisson-glm", "--recording", str(path), "--out", str(plain), "--quiet"]) == 0
    assert "diagnostics" not in json.loads(plain.read_text())


def test_khat_reading_allows_for_the_estimates_own_error():
    assert khat_standard_error(0.5, 225) == pytest.approx(0.1)
    assert khat_reading(0.55, 0.1) == "good"  # within one standard error of 0.5: the draws cannot tell
    assert khat_reading(0.62, 0.1) == "unreliable" and khat_reading(0.45, float("nan")) == "good"
    assert khat_reading(0.7, 0.2) == "poor" and khat_reading(float("inf"), float("nan")) == "poor"
    assert khat_reading(float("nan"), 0.1) == "poor"


@pytest.mark.slow
def test_a_near_exact_fit_never_reads_as_doubtful():
    """A full-rank fit of the grasshopper receptor lies about 0.05 nats below its posterior; from 2,000
    draws alone its k-hat scattered up to 0.66 ("unreliable").  With the confirming draws and k-hat's own
    error, no seed may call it doubtful."""
    recording = load_recording("resources/recordings/grasshopper-receptor-2.npz")
    session = FitSession(load_preset("poisson-glm"), recording)
    result = session.run()
    q = q_of_result(result, session.family)
    first_draws_khats = []
    for seed in range(6):
        diagnostics = diagnose_session(session, result, DiagnosticsSettings(seed=seed, reference="psis"))
        assert diagnostics.gap_estimate < 0.1  # near-exact
        assert diagnostics.psis_verdict == "good", (seed, diagnostics.psis_khat, diagnostics.psis_khat_se)
        assert not any("k-hat" in flag for flag in diagnostics.flags), diagnostics.flags
        assert diagnostics.iw_draws in (2000, 2000 * CONFIRM_FACTOR)
        _, log_ratios = importance_draws(session.problem, q, 2000, np.random.default_rng(seed))
        first_draws_khats.append(psis(log_ratios).khat)
    assert max(first_draws_khats) >= 0.5  # what the first draws alone said for some seed: the case reported
