"""Streamed rows against the materialised matrix: blocks, fits on every family, products, memory."""
from __future__ import annotations

import tracemalloc
from dataclasses import replace

import numpy as np
import pytest

from vbgui.app.fit import FitSession
from vbgui.core.design_rows import DenseRows, LaggedRows, gram, linear_predictor, weighted_gram_product
from vbgui.core.names import FAMILY_NAMES
from vbgui.io.recording import Recording
from vbgui.models.design import build_design
from vbgui.models.preset import DesignSettings, load_preset
from vbgui.models.synthetic import make_synthetic_recording


def lagged(n_bins: int = 3000, seed: int = 0) -> LaggedRows:
    rng = np.random.default_rng(seed)
    stimulus = rng.standard_normal((n_bins, 2))
    counts = rng.poisson(0.5, n_bins).astype(float)
    return LaggedRows(stimulus, stimulus.mean(axis=0), stimulus.std(axis=0), 4, counts, 3, True, 5)


def test_blocks_and_taken_rows_are_the_rows_of_the_whole_matrix():
    rows = lagged()
    whole = rows.materialise()
    assert whole.shape == rows.shape == (2995, 1 + 2 * 4 + 3)
    np.testing.assert_array_equal(rows.rows(100, 357), whole[100:357])
    picked = np.array([0, 7, 2994, 1000])
    np.testing.assert_array_equal(rows.take(picked), whole[picked])
    with pytest.raises(IndexError):
        rows.take(np.array([2995]))


def test_products_equal_those_of_the_materialised_matrix(monkeypatch):
    import vbgui.core.design_rows as design_rows

    monkeypatch.setattr(design_rows, "BLOCK_BYTES", 8 * 12 * 100)  # 100-row blocks: many of them
    rows = lagged()
    X = rows.materialise()
    rng = np.random.default_rng(1)
    weights, vector, response = rng.random(X.shape[0]), rng.standard_normal(X.shape[1]), rng.random(X.shape[0])
    assert rows.max_block_rows == 100
    np.testing.assert_allclose(linear_predictor(rows, vector), X @ vector, rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(weighted_gram_product(rows, weights, vector), X.T @ (weights * (X @ vector)),
                               rtol=1e-12)
    cross, projected = gram(rows, response)
    np.testing.assert_allclose(cross, X.T @ X, rtol=1e-12, atol=1e-10)
    np.testing.assert_allclose(projected, X.T @ response, rtol=1e-12)


@pytest.mark.parametrize("family", FAMILY_NAMES)
def test_a_fit_on_streamed_rows_equals_the_fit_on_the_matrix(family):
    recording = make_synthetic_recording("poisson", n_bins=40_000, stimulus_lags=8, spike_history_lags=2,
                                         dt=0.002, mean_response=0.2, seed=4)
    preset = load_preset("poisson-glm")
    preset = replace(preset, design=replace(preset.design, stimulus_lags=8, spike_history_lags=2),
                     fit=replace(preset.fit, family=family, rank=2))
    streamed = FitSession(preset, recording)
    assert isinstance(streamed.problem.design, LaggedRows)
    dense = FitSession(preset, recording)
    object.__setattr__(dense.problem, "design", DenseRows(streamed.problem.design.materialise()))
    a, b = streamed.run(), dense.run()
    assert a.converged and b.converged and a.iterations == b.iterations
    assert a.elbo == pytest.approx(b.elbo, rel=1e-12, abs=1e-9)
    np.testing.assert_allclose(a.mean, b.mean, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(a.cov, b.cov, rtol=1e-9, atol=1e-14)


def test_a_million_bin_fit_holds_the_recording_and_a_few_numbers_per_bin():
    """The issue's bound: at most 2x the recording's arrays plus O(D^2).  A materialised 1e6 x 26 design
    alone is 208 MB, 13 times the recording's 16 MB."""
    recording = make_synthetic_recording("poisson", n_bins=1_000_000, stimulus_lags=20, spike_history_lags=0,
                                         dt=0.001, mean_response=0.02, seed=5)
    recorded = recording.response.nbytes + recording.stimulus.nbytes
    preset = load_preset("poisson-glm")
    preset = replace(preset, design=replace(preset.design, stimulus_lags=20, spike_history_lags=5),
                     fit=replace(preset.fit, family="full-rank"))
    tracemalloc.start()
    result = FitSession(preset, recording).run()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert result.converged and result.mean.shape == (26,)
    assert peak < recorded + 26 ** 2 * 8 * 100, f"peak {peak / 1e6:.1f} MB, recording {recorded / 1e6:.1f} MB"


def test_a_ready_design_is_held_as_the_matrix_it_is():
    design_matrix = np.random.default_rng(0).standard_normal((50, 3))
    design = build_design(Recording(np.ones(50), 0.01, "r", design=design_matrix), DesignSettings(0, 0, True, False))
    assert isinstance(design.rows, DenseRows)
    np.testing.assert_array_equal(design.rows.materialise()[:, 1:], design_matrix)
