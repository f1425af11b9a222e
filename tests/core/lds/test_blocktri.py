"""Block-tridiagonal Cholesky, solve, log-determinant and selected inverse against dense numpy."""
from __future__ import annotations

import numpy as np
import pytest

from vbgui.core.lds.blocktri import (block_cholesky, block_logdet, block_selected_inverse, block_solve,
                                     dense_from_blocks)


def random_blocks(rng, n_steps, size):
    """A random SPD block-tridiagonal matrix: a chain's precision plus a diagonal-dominance margin."""
    lower = rng.standard_normal((n_steps - 1, size, size))
    diag = np.empty((n_steps, size, size))
    for t in range(n_steps):
        root = rng.standard_normal((size, size))
        diag[t] = root @ root.T + 3.0 * size * np.eye(size)
    return diag, lower


@pytest.mark.parametrize("n_steps,size", [(1, 3), (2, 1), (7, 2), (20, 4)])
def test_block_routines_match_dense_linear_algebra(n_steps, size):
    rng = np.random.default_rng(n_steps * 10 + size)
    diag, lower = random_blocks(rng, n_steps, size)
    dense = dense_from_blocks(diag, lower)
    factor_diag, factor_lower, ok = block_cholesky(diag, lower)
    assert ok
    assert block_logdet(factor_diag) == pytest.approx(np.linalg.slogdet(dense)[1], rel=1e-12)
    rhs = rng.standard_normal((n_steps, size))
    solution = block_solve(factor_diag, factor_lower, rhs)
    np.testing.assert_allclose(solution.ravel(), np.linalg.solve(dense, rhs.ravel()), rtol=1e-10, atol=1e-12)
    marginal, cross = block_selected_inverse(factor_diag, factor_lower)
    inverse = np.linalg.inv(dense).reshape(n_steps, size, n_steps, size)
    for t in range(n_steps):
        np.testing.assert_allclose(marginal[t], inverse[t, :, t, :], rtol=1e-10, atol=1e-13)
    for t in range(n_steps - 1):
        np.testing.assert_allclose(cross[t], inverse[t, :, t + 1, :], rtol=1e-10, atol=1e-13)


def test_cholesky_reports_a_matrix_that_is_not_positive_definite():
    diag, lower = random_blocks(np.random.default_rng(0), 5, 2)
    diag[3] = -np.eye(2)
    assert not block_cholesky(diag, lower)[2]
