"""Shared fixtures: small synthetic problems with known answers."""
from __future__ import annotations

import numpy as np

from vbgui.core.elbo import GLMProblem
from vbgui.core.families import Family, GaussianPosterior
from vbgui.core.likelihoods import Likelihood
from vbgui.core.names import FAMILY_NAMES, LIKELIHOOD_NAMES


def make_problem(likelihood: str, n_rows: int = 3000, dim: int = 4, seed: int = 0,
                 prior_scale: float = 1.0, noise_sd: float = 0.7, dispersion: float = 0.5) -> GLMProblem:
    """A GLM with a bias column and correlated regressors, response drawn from the model."""
    rng = np.random.default_rng(seed)
    mixing = np.eye(dim - 1) + 0.5 * np.tri(dim - 1, k=-1)
    design = np.column_stack([np.ones(n_rows), rng.standard_normal((n_rows, dim - 1)) @ mixing.T * 0.5])
    counts = likelihood in ("poisson", "negative-binomial")
    weights = np.concatenate([[-1.0 if counts else 0.2], 0.4 * rng.standard_normal(dim - 1)])
    eta = design @ weights
    if likelihood == "poisson":
        y = rng.poisson(np.exp(eta))
    elif likelihood == "negative-binomial":
        size = 1.0 / dispersion
        y = rng.negative_binomial(size, size / (size + np.exp(eta)))
    elif likelihood == "bernoulli":
        y = (rng.random(n_rows) < 1 / (1 + np.exp(-eta))).astype(float)
    else:
        y = eta + noise_sd * rng.standard_normal(n_rows)
    return GLMProblem(design, y.astype(float), Likelihood(likelihood, noise_sd, dispersion), prior_scale)


def random_q(family_name: str, dim: int, seed: int = 1, scale: float = 0.2) -> GaussianPosterior:
    """A q with non-trivial mean and covariance, restricted to the family's blocks."""
    rng = np.random.default_rng(seed)
    family = Family.create(family_name, dim, [[0], list(range(1, dim))])
    chol = np.tril(rng.normal(scale=scale * 0.3, size=(dim, dim)), -1) + np.diag(rng.uniform(0.5, 1.0, dim) * scale)
    return GaussianPosterior(family, rng.normal(scale=0.3, size=dim) * np.r_[0.3, np.ones(dim - 1)], chol)


# Every registered likelihood and family enters the tests' matrix by itself.  FAMILIES are
# the block-Cholesky families (q = N(m, L L')); the low-rank family has its own tests
# (tests/core/test_low_rank.py) and joins the contract over every family (tests/app/test_contract.py).
LIKELIHOODS = LIKELIHOOD_NAMES
FAMILIES = tuple(name for name in FAMILY_NAMES if name != "low-rank")




# Adam on the Monte Carlo ELBO (10 samples, step halving, Polyak averaging)
# ends a little below the exact optimum: parameter noise costs about half its
# variance, in units of the posterior, per variational parameter.  We allow
# 1e-3 nats per variational parameter (mean entries plus free entries of L):
# a deficit of d nats in one parameter direction means an error of
# sqrt(2 d) = 0.045 posterior sds there, invisible on any plot.  For a gaussian
# likelihood the deficit is exactly KL(q || q*).  Measured deficits are
# 0.3-0.5e-3 nats per parameter.
REPARAM_NATS_PER_PARAMETER = 1e-3


def reparam_elbo_tolerance(family) -> float:
    """Allowed ELBO deficit of an Adam fit against the exact optimum, in nats."""
    return REPARAM_NATS_PER_PARAMETER * (family.dim + int(family.chol_mask().sum()))
