"""The computation of the talk-mode demonstration "Structure over time": both families fitted on the same
simulated path, the structured ELBO above mean-field's, coverage counted correctly, the gap growing with tau."""
from __future__ import annotations

import math

import numpy as np
import pytest

from vbgui.app.lds_demo import BAND_SDS, DEMO_BINS, DEMO_FAMILIES, structure_demo
from vbgui.core.lds.elbo import trial_terms
from vbgui.core.lds.families import PathMoments
from vbgui.core.lds.observations import Observations
from vbgui.core.likelihoods import Likelihood
from vbgui.errors import VbguiError


@pytest.fixture(scope="module")
def default_demo():
    return structure_demo(200.0, 20, 0)


def test_both_families_fit_the_same_truth_and_structured_wins(default_demo) -> None:
    demo = default_demo
    assert demo.truth.shape == (DEMO_BINS,) and demo.time_s[1] - demo.time_s[0] == pytest.approx(0.01)
    assert set(demo.fits) == set(DEMO_FAMILIES)
    mean_field, structured = demo.fits["mean-field"], demo.fits["structured-markov"]
    for fit in (mean_field, structured):
        assert fit.means.shape == fit.sds.shape == (fit.iterations + 1, DEMO_BINS)
        assert np.all(np.diff(fit.elbo_trace) >= -1e-9 * abs(fit.elbo))  # EM never lowers the ELBO
        np.testing.assert_array_equal(fit.means[0], 0.0)  # the start: the prior's precision, zero means
    np.testing.assert_array_equal(mean_field.cross_covs, 0.0)  # independent x_t
    assert demo.elbo_gap == structured.elbo - mean_field.elbo > 10.0
    # mean-field over time is overconfident: narrower bands that miss the truth more often
    assert np.all(mean_field.sd < structured.sd)
    assert mean_field.coverage(demo.truth) < 0.85 < 0.9 < structured.coverage(demo.truth)
    _, cov = structured.joint(DEMO_BINS // 2)
    assert cov[0, 1] / math.sqrt(cov[0, 0] * cov[1, 1]) > 0.3


def test_coverage_counts_the_bins_inside_the_bands(default_demo) -> None:
    fit, truth = default_demo.fits["mean-field"], default_demo.truth
    inside = sum(abs(truth[t] - fit.mean[t]) <= BAND_SDS * fit.sd[t] for t in range(DEMO_BINS))
    assert fit.coverage(truth) == inside / DEMO_BINS
    assert fit.coverage(fit.mean) == 1.0


def test_the_reported_elbo_is_the_engines_elbo_at_the_reported_q(default_demo) -> None:
    """Recompute the mean-field ELBO from the demo's own means and sds and the truth's
    parameters: the reported number is the ELBO of what is drawn."""
    from vbgui.core.lds.sample import sample_observations, sample_path
    from vbgui.models.lds_synthetic import lds_population_params

    decay = math.exp(-10.0 / 200.0)
    params = lds_population_params(20, 1, 0).with_changes(A=np.array([[decay]]), Q=np.array([[1 - decay ** 2]]))
    rng = np.random.default_rng(1)
    truth = sample_path(params, DEMO_BINS, rng)
    np.testing.assert_array_equal(truth[:, 0], default_demo.truth)
    likelihood = Likelihood("poisson")
    observations = Observations.create(sample_observations(params, truth, likelihood, rng), likelihood)
    fit = default_demo.fits["mean-field"]
    # mean-field: log det Cov is the sum of the marginal log variances
    moments = PathMoments(fit.sd[:, None, None] ** 2, np.zeros((DEMO_BINS - 1, 1, 1)),
                          float(np.sum(np.log(fit.sd ** 2))))
    terms = trial_terms(params, observations, fit.mean[:, None], moments)
    assert terms.elbo == pytest.approx(fit.elbo, rel=1e-10)


def test_slower_dynamics_cost_mean_field_more_nats() -> None:
    fast, slow = structure_demo(20.0, 20, 0), structure_demo(800.0, 20, 0)
    assert 0.0 < fast.elbo_gap < slow.elbo_gap
    assert fast.lag_one_correlation == pytest.approx(math.exp(-0.5))


@pytest.mark.parametrize("time_constant, units", [(5.0, 10), (math.nan, 10), (2000.0, 10), (200.0, 0),
                                                  (200.0, 61)])
def test_settings_outside_the_sliders_are_refused(time_constant, units) -> None:
    with pytest.raises(VbguiError, match="time constant|number of units"):
        structure_demo(time_constant, units, 0)
