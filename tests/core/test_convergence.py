"""Split R-hat and effective sample sizes on chains whose behaviour is known."""
from __future__ import annotations

import numpy as np
import pytest

from vbgui.core.convergence import (ess_bulk, ess_mean, mcse_mean, mcse_sd, rank_normalize, rhat, split_chains,
                                    split_rhat, summarize)


def ar1_chains(rho: float, n_chains: int, n_draws: int, seed: int) -> np.ndarray:
    """Stationary AR(1) chains with unit variance: x_t = rho x_{t-1} + sqrt(1 - rho^2) e_t."""
    rng = np.random.default_rng(seed)
    noise = rng.standard_normal((n_chains, n_draws))
    chains = np.empty_like(noise)
    chains[:, 0] = noise[:, 0]
    for t in range(1, n_draws):
        chains[:, t] = rho * chains[:, t - 1] + np.sqrt(1.0 - rho ** 2) * noise[:, t]
    return chains


def test_independent_chains_mix():
    chains = np.random.default_rng(0).standard_normal((4, 1000))
    assert rhat(chains) < 1.01 and split_rhat(chains) < 1.01
    assert 0.85 * 4000 < ess_bulk(chains) < 1.2 * 4000
    assert mcse_mean(chains) == pytest.approx(np.std(chains) / np.sqrt(4000), rel=0.1)
    # sd of the sample sd of n normal draws: sigma / sqrt(2 n)
    assert mcse_sd(chains) == pytest.approx(np.std(chains) / np.sqrt(2 * 4000), rel=0.15)


@pytest.mark.parametrize("rho", [0.5, 0.9])
def test_ess_of_autocorrelated_chains_matches_the_ar1_formula(rho):
    """ESS = N (1 - rho) / (1 + rho) for an AR(1) chain."""
    chains = ar1_chains(rho, 4, 4000, seed=1)
    expected = chains.size * (1 - rho) / (1 + rho)
    assert ess_mean(chains) == pytest.approx(expected, rel=0.25)
    assert ess_bulk(chains) == pytest.approx(expected, rel=0.25)
    assert rhat(chains) < 1.05


def test_antithetic_chains_have_more_effective_draws_than_draws():
    chains = ar1_chains(-0.5, 4, 2000, seed=2)
    assert ess_mean(chains) > chains.size


def test_a_chain_stuck_elsewhere_is_caught():
    chains = np.random.default_rng(3).standard_normal((4, 1000))
    chains[0] += 1.0
    assert rhat(chains) > 1.05 and split_rhat(chains) > 1.05


def test_a_chain_with_another_scale_is_caught_by_the_folded_rhat_only():
    chains = np.random.default_rng(4).standard_normal((4, 1000))
    chains[0] *= 3.0
    assert split_rhat(chains) < 1.01  # same location: classic R-hat sees nothing
    assert rhat(chains) > 1.05


def test_a_trend_within_chains_is_caught_by_splitting():
    chains = np.random.default_rng(5).standard_normal((4, 1000)) + np.linspace(0.0, 1.5, 1000)
    assert rhat(chains) > 1.05


def test_identical_chains_give_rhat_below_one():
    chain = np.random.default_rng(6).standard_normal(1000)
    halves = split_chains(np.tile(chain[:500], (2, 1)))
    assert halves.shape == (4, 250)
    assert split_rhat(np.tile(chain, (4, 1))) < 1.0 + 1e-3


def test_rank_normalization_is_monotone_and_standard_normal():
    draws = np.random.default_rng(7).exponential(size=(2, 5000))
    z = rank_normalize(draws)
    assert np.all(np.diff(z.ravel()[np.argsort(draws.ravel())]) > 0)
    assert abs(np.mean(z)) < 1e-12 and np.std(z) == pytest.approx(1.0, abs=0.01)


def test_summarize_shapes():
    draws = np.random.default_rng(8).standard_normal((4, 200, 3))
    summary = summarize(draws)
    assert set(summary) == {"rhat", "ess_bulk", "ess_mean", "mcse_mean", "mcse_sd"}
    assert all(v.shape == (3,) for v in summary.values())
