"""Gauss-Hermite rules for expectations over a Gaussian linear predictor.

For eta ~ N(mu, v) and a smooth f, E[f(eta)] ~= sum_k w_k f(mu + sqrt(v) z_k),
with probabilists' nodes z_k and weights w_k summing to one.  Three rules are
stored back to back (RULES: 8, 16 and 96 nodes); the first whose variance
limit is not exceeded serves a row.  For the softplus-shaped likelihoods
(bernoulli, negative binomial), measured against adaptive quadrature the
relative error of E[log(1 + exp(eta))] stays below 1e-14 for v <= 4 and
below 1e-9 for v <= 9 (softplus has poles at +-i pi, which limit any fixed
rule when v is large).
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
from numba import njit

# (nodes, largest variance of eta served)
RULES = ((8, 0.02), (16, 0.25), (96, np.inf))


@lru_cache(maxsize=1)
def gauss_hermite_standard_normal() -> tuple[np.ndarray, np.ndarray]:
    """The rules of RULES for E[f(z)], z ~ N(0, 1), back to back: (nodes, weights), read-only.

    Returns
    -------
    nodes : (120,) array
        Probabilists' nodes z_k of the 8-, 16- and 96-node rules, in that order.
    weights : (120,) array
        Their weights; each rule's weights sum to one.
    """
    parts = [np.polynomial.hermite.hermgauss(n) for n, _ in RULES]
    nodes = np.ascontiguousarray(np.concatenate([np.sqrt(2.0) * x for x, _ in parts]))
    weights = np.ascontiguousarray(np.concatenate([w / np.sqrt(np.pi) for _, w in parts]))
    nodes.setflags(write=False)
    weights.setflags(write=False)
    return nodes, weights


@njit(cache=True, nogil=True, inline="always")
def rule_range(var: float) -> tuple[int, int]:
    """The slice [first, stop) of the stored nodes that serves a variance ``var``.

    Parameters
    ----------
    var : float
        Variance of the linear predictor.

    Returns
    -------
    first, stop : int
        Indices into the nodes and weights of :func:`gauss_hermite_standard_normal`.
    """
    first = 0
    stop = RULES[0][0]
    for r in range(len(RULES) - 1):
        if var <= RULES[r][1]:
            break
        first = stop
        stop += RULES[r + 1][0]
    return first, stop
