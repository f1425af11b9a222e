"""One pass over the data serves two steps of the EM: its fused sums against oracles and against separate passes."""
from __future__ import annotations

import numpy as np
import pytest

from tests.core.lds.conftest import rotating_params, simulate
from vbgui.core.generators import run_to_end
from vbgui.core.lds import observations as observations_module
from vbgui.core.lds.em import EmSettings, variational_em
from vbgui.core.lds.observations import loading_update, observation_pass, observation_terms
from vbgui.core.lds.sample import initial_params
from vbgui.core.likelihoods import Likelihood


def random_q(n_steps: int, size: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    roots = rng.standard_normal((n_steps, size, size))
    return rng.standard_normal((n_steps, size)), 0.1 * roots @ roots.transpose(0, 2, 1)


def test_the_poisson_loadings_newton_pieces_are_the_log_normal_moments_derivatives(small_poisson):
    """Per unit, for E = y mu - exp(mu + c' S c / 2): gradient sum_t (y - r) m_t - r S_t c in c, sum_t y - r in d;
    preconditioner sum_t r ([m_t; 1][m_t; 1]' + [S_t 0; 0 0])."""
    params, _, observations = small_poisson
    mean, marginal = random_q(observations.y.shape[0], params.latent_dim, 5)
    data_pass = observation_pass(observations, params.C, params.d, mean, marginal, want_loading=True)
    gradient, precision = data_pass.loading
    y = observations.y
    rate = np.exp(mean @ params.C.T + params.d + np.einsum("ni,tij,nj->tn", params.C, marginal, params.C) / 2)
    lifted = np.column_stack([mean, np.ones(len(mean))])
    expected_gradient = (y - rate).T @ lifted
    expected_gradient[:, :-1] -= np.einsum("tn,tij,nj->ni", rate, marginal, params.C)
    expected_precision = np.einsum("tn,ti,tj->nij", rate, lifted, lifted)
    expected_precision[:, :-1, :-1] += np.einsum("tn,tij->nij", rate, marginal)
    np.testing.assert_allclose(gradient, expected_gradient, rtol=1e-10)
    np.testing.assert_allclose(precision, expected_precision, rtol=1e-10)
    assert data_pass.latent is None


@pytest.mark.parametrize("likelihood", ["poisson", "gaussian", "bernoulli"])
def test_a_fused_pass_gives_what_separate_passes_give(likelihood):
    lik = Likelihood(likelihood, noise_sd=0.7)
    params = rotating_params(np.random.default_rng(7), 3, 9)
    _, observations = simulate(params, 50, lik, seed=8)
    mean, marginal = random_q(50, 3, 9)
    fused = observation_pass(observations, params.C, params.d, mean, marginal, want_latent=True, want_loading=True)
    plain = observation_pass(observations, params.C, params.d, mean, marginal)
    loading_only = observation_pass(observations, params.C, params.d, mean, marginal, want_loading=True)
    total, gradient, curvature = observation_terms(observations, params.C, params.d, mean, marginal)
    assert fused.total == plain.total == total
    np.testing.assert_array_equal(fused.unit_values, plain.unit_values)
    np.testing.assert_array_equal(fused.latent[0], gradient)
    np.testing.assert_array_equal(fused.latent[1], curvature)
    for fused_piece, separate_piece in zip(fused.loading, loading_only.loading):
        np.testing.assert_array_equal(fused_piece, separate_piece)


def test_the_loadings_update_from_known_pieces_is_the_update_from_fresh_passes_and_hands_on_the_derivatives(
        small_poisson):
    params, _, observations = small_poisson
    mean, marginal = random_q(observations.y.shape[0], params.latent_dim, 10)
    known = observation_pass(observations, params.C, params.d, mean, marginal, want_loading=True)
    fresh = loading_update(observations, params.C, params.d, mean, marginal, 1)
    reused = loading_update(observations, params.C, params.d, mean, marginal, 1, known.unit_values, known.loading,
                            want_latent=True)
    for a, b in [(fresh.loading, reused.loading), (fresh.offset, reused.offset),
                 (fresh.unit_values, reused.unit_values)]:
        np.testing.assert_array_equal(a, b)
    assert fresh.latent is None
    assert not np.array_equal(reused.loading, params.C)
    after = observation_pass(observations, reused.loading, reused.offset, mean, marginal, want_latent=True)
    assert reused.latent is not None
    np.testing.assert_array_equal(reused.latent[0], after.latent[0])
    np.testing.assert_array_equal(reused.latent[1], after.latent[1])
    np.testing.assert_array_equal(reused.unit_values, after.unit_values)


def test_an_em_iteration_whose_steps_are_taken_whole_reads_the_data_twice(monkeypatch):
    """Measured on T = 400, K = 2, N = 12 poisson: 2 passes per iteration after the first (which also needs
    the starting terms and the first E-step's derivatives)."""
    lik = Likelihood("poisson")
    truth = rotating_params(np.random.default_rng(31), 2, 12, base_rate=1.0)
    _, observations = simulate(truth, 400, lik, seed=32)
    start = initial_params(observations.y, lik, 2)
    run_to_end(variational_em([observations], start, EmSettings(max_iter=2)))  # compile outside the count
    passes = []
    split = observations_module.over_row_ranges

    def counted(work, n_rows):
        passes.append(n_rows)
        return split(work, n_rows)

    monkeypatch.setattr(observations_module, "over_row_ranges", counted)
    outcome = run_to_end(variational_em([observations], start, EmSettings(max_iter=10, tolerance=1e-14)))
    assert outcome.iterations == 10
    assert len(passes) <= 2 * outcome.iterations + 2, len(passes)
