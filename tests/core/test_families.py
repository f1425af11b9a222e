"""Families and q against closed forms computed independently (scipy.stats, dense algebra)."""
from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from tests.conftest import FAMILIES, random_q
from vbgui.core.families import Family, GaussianPosterior


def gaussian_kl(m0, S0, m1, S1) -> float:
    """KL(N(m0, S0) || N(m1, S1)) by the textbook formula with dense inverses."""
    S1_inv = np.linalg.inv(S1)
    d = m1 - m0
    return 0.5 * (np.trace(S1_inv @ S0) + d @ S1_inv @ d - len(m0)
                  + np.linalg.slogdet(S1)[1] - np.linalg.slogdet(S0)[1])


@pytest.mark.parametrize("family_name", FAMILIES)
def test_entropy_kl_and_marginals(family_name):
    q = random_q(family_name, 5)
    assert q.entropy() == pytest.approx(stats.multivariate_normal(q.mean, q.cov).entropy(), rel=1e-12)
    s = 1.7
    assert q.kl_to_prior(s) == pytest.approx(gaussian_kl(q.mean, q.cov, np.zeros(5), s ** 2 * np.eye(5)), rel=1e-12)
    mean2, cov2 = q.marginal([3, 1])
    np.testing.assert_allclose(mean2, q.mean[[3, 1]])
    np.testing.assert_allclose(cov2, q.cov[np.ix_([3, 1], [3, 1])])
    np.testing.assert_allclose(q.sd ** 2, np.diag(q.cov), rtol=1e-12)


@pytest.mark.parametrize("family_name", FAMILIES)
def test_covariance_respects_the_family_blocks(family_name):
    q = random_q(family_name, 5)
    outside = ~q.family.block_mask()
    assert np.all(q.cov[outside] == 0.0)
    if family_name == "full-rank":
        assert np.all(q.cov != 0.0)


@pytest.mark.parametrize("family_name", FAMILIES)
def test_reparameterised_samples_have_q_moments(family_name):
    q = random_q(family_name, 4)
    draws = q.sample(np.random.default_rng(3), 200_000)
    np.testing.assert_allclose(draws.mean(axis=0), q.mean, atol=5 * np.sqrt(q.sd.max() ** 2 / 200_000))
    np.testing.assert_allclose(np.cov(draws.T), q.cov, atol=0.01 * q.sd.max() ** 2)


@pytest.mark.parametrize("family_name", FAMILIES)
def test_from_precision_inverts_precision(family_name):
    q = random_q(family_name, 5)
    again = GaussianPosterior.from_precision(q.family, q.mean, q.precision())
    np.testing.assert_allclose(again.cov, q.cov, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(q.precision() @ q.cov, np.eye(5), atol=1e-10)


def test_structured_blocks_and_bad_partitions():
    family = Family.create("structured", 4, [[0], [1, 2, 3]])
    assert family.blocks == ((0,), (1, 2, 3))
    with pytest.raises(ValueError, match="partition"):
        Family("structured", ((0,), (2, 3)))
    with pytest.raises(ValueError, match="unknown family"):
        Family.create("diagonal", 3)
