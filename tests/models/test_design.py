"""Design matrices against a row-by-row reference, and the ground truth of synthetic recordings."""
from __future__ import annotations

import numpy as np
import pytest

from vbgui.errors import RecordingError
from vbgui.io.recording import Recording
from vbgui.models.design import build_design
from vbgui.models.preset import DesignSettings
from vbgui.models.synthetic import make_synthetic_recording


def reference_row(y, stimulus, t, n_lags, n_hist, bias):
    row = [1.0] if bias else []
    for k in range(stimulus.shape[1]):
        row += [stimulus[t - lag, k] for lag in range(n_lags)]
    row += [y[t - 1 - j] for j in range(n_hist)]
    return row


@pytest.mark.parametrize("n_lags,n_hist,n_stim,bias", [(4, 0, 1, True), (3, 5, 2, True), (1, 2, 1, False),
                                                       (0, 3, 1, True)])
def test_lags_and_history_match_a_row_by_row_reference(n_lags, n_hist, n_stim, bias):
    rng = np.random.default_rng(0)
    y = rng.poisson(1.0, 40).astype(float)
    stimulus = rng.standard_normal((40, n_stim))
    design = build_design(Recording(y, 0.01, "r", stimulus=stimulus), DesignSettings(n_lags, n_hist, bias, False))
    first = max(n_lags - 1, n_hist)
    assert design.first_row == first and design.n_rows == 40 - first
    expected = np.array([reference_row(y, stimulus, t, n_lags, n_hist, bias) for t in range(first, 40)])
    np.testing.assert_array_equal(design.rows.materialise(), expected)
    np.testing.assert_array_equal(design.response, y[first:])


def test_names_and_groups():
    rec = Recording(np.zeros(30), 0.01, "r", stimulus=np.ones((30, 2)) * np.arange(30)[:, None])
    design = build_design(rec, DesignSettings(2, 1, True, False))
    assert design.names == ("bias", "stim0[0]", "stim0[1]", "stim1[0]", "stim1[1]", "hist[0]")
    assert design.groups == {"bias": (0,), "stim0": (1, 2), "stim1": (3, 4), "hist": (5,)}
    single = build_design(Recording(np.zeros(30), 0.01, "r", stimulus=np.arange(30.0)), DesignSettings(2, 0, False))
    assert single.names == ("stim[0]", "stim[1]")


def test_a_given_design_is_used_as_it_is():
    X = np.random.default_rng(1).standard_normal((20, 3))
    design = build_design(Recording(np.zeros(20), 0.01, "r", design=X), DesignSettings(10, 0, True, True))
    assert design.names == ("bias", "x[0]", "x[1]", "x[2]")
    np.testing.assert_array_equal(design.rows.materialise()[:, 1:], X)


def test_standardize_z_scores_each_stimulus_column():
    stimulus = np.column_stack([np.linspace(0, 10, 50), np.linspace(5, 6, 50) ** 2])
    design = build_design(Recording(np.zeros(50), 0.01, "r", stimulus=stimulus), DesignSettings(1, 0, False, True))
    np.testing.assert_allclose(design.rows.materialise().mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(design.rows.materialise().std(axis=0), 1, rtol=1e-12)


def test_too_few_bins_for_the_lags_is_a_clear_error():
    with pytest.raises(RecordingError, match="r: 5 bins are fewer than the lags need"):
        build_design(Recording(np.zeros(5), 0.01, "r", stimulus=np.zeros(5)), DesignSettings(10, 0, True, False))


def test_synthetic_truth_names_match_the_design():
    rec = make_synthetic_recording("poisson", n_bins=3000, stimulus_lags=6, spike_history_lags=3, seed=2)
    design = build_design(rec, DesignSettings(6, 3, True, True))
    assert set(design.names) == set(rec.truth)
    stimulus_lag_1 = design.rows.materialise()[:, design.names.index("stim[1]")]
    assert np.corrcoef(design.rows.materialise()[:, design.names.index("stim[0]")], stimulus_lag_1)[0, 1] > 0.5
