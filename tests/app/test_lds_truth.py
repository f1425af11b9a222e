"""The true path behind a result on a regenerated synthetic population: found by the data's checksum only,
mapped affinely into the fit's axes, with each latent's R^2."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from vbgui.app.lds_fit import LdsFitSession
from vbgui.app.lds_truth import aligned_truth
from vbgui.models.lds_synthetic import SHIPPED_SEED, make_lds_population
from vbgui.models.preset import load_preset


def fit(seed: int):
    recording, truth, _ = make_lds_population(n_bins=500, n_units=12, latent_dim=2, seed=seed)
    preset = replace(load_preset("poisson-lds"), latent_dim=2).with_fit(max_iter=40)
    return LdsFitSession(preset, recording).run(), truth


@pytest.fixture(scope="module")
def shipped_seed_fit():
    return fit(SHIPPED_SEED)


def test_the_truth_of_a_regenerable_population_is_mapped_into_the_fits_axes(shipped_seed_fit) -> None:
    result, truth = shipped_seed_fit
    found = aligned_truth(result)
    assert found is not None and found.seed == SHIPPED_SEED and found.path.shape == result.latent_mean.shape
    # the mapped path is an affine function of the true one ...
    design = np.column_stack([truth, np.ones(len(truth))])
    coefficients, *_ = np.linalg.lstsq(design, found.path, rcond=None)
    np.testing.assert_allclose(design @ coefficients, found.path, atol=1e-9)
    # ... the one closest to q's means, which it explains well
    residual = result.latent_mean - found.path
    np.testing.assert_allclose(design.T @ residual, 0.0, atol=1e-6 * np.abs(result.latent_mean).sum())
    expected = 1 - residual.var(axis=0) / result.latent_mean.var(axis=0)
    np.testing.assert_allclose(found.r_squared, expected, rtol=1e-9)
    assert np.all(found.r_squared > 0.5)  # 0.84 and 0.67 on 500 bins of 12 units


def test_other_data_have_no_truth(shipped_seed_fit) -> None:
    result, _ = shipped_seed_fit
    assert aligned_truth(replace(result, recording_checksum="sha256:" + "0" * 64)) is None
    assert aligned_truth(replace(result, recording_checksum="")) is None
    other, _ = fit(SHIPPED_SEED + 7)  # a population of another seed: not regenerated
    assert aligned_truth(other) is None
