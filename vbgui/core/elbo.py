"""The evidence lower bound of a Bayesian GLM and three estimators of it.

Model: y_t ~ p(y_t | x_t'w) (see :mod:`vbgui.core.likelihoods`), prior
w ~ N(0, s^2 I).  For q(w) = N(m, S), S = L L',

    ELBO(q) = E_q[log p(y | X w)] - KL(q || prior)
            = expected_log_likelihood  -  kl
            = log p(y) - KL(q || posterior)  <=  log p(y).

The expected log-likelihood is called *accuracy* in the GUI, the KL
*complexity*.  Gradients of the KL (closed form, see
:mod:`vbgui.core.families`):

    dKL/dm = m / s^2,     dKL/dL = L / s^2 - diag(1 / L_ii).

* :class:`ExactEstimator`: since x_t'w ~ N(x_t'm, x_t'S x_t), the expected
  log-likelihood is exact (poisson, gaussian) or exact to quadrature
  precision (bernoulli), with dELL/dm = X' d_mu and dELL/dS = X' diag(d_var) X,
  hence dELL/dL = 2 (dELL/dS) L (see :mod:`vbgui.core.kernels`).
* :class:`ReparamEstimator`: the textbook reparameterisation Monte Carlo
  estimator, w_k = m + L eps_k, eps_k ~ N(0, I), k = 1..K:
  ELL ~= 1/K sum_k log p(y | X w_k), dELL/dm ~= 1/K sum_k X' g_k and
  dELL/dL ~= 1/K sum_k (X' g_k) eps_k' (lower part), g_k = dlog p / d eta.
* :class:`ScoreFunctionEstimator`: the same draws, gradients from the score
  of q (REINFORCE) with a leave-one-out baseline.

An estimator says what it offers: every one gives ``gradient(q)``; the exact
one also the curvature (``offers_curvature``), which the Newton fixed-point
optimiser needs.  Any estimator works with any family.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
from scipy.linalg import solve_triangular

from vbgui.core import kernels
from vbgui.core.families import GaussianPosterior
from vbgui.core.likelihoods import Likelihood, gauss_hermite_standard_normal
from vbgui.core.cancel import CancelToken
from vbgui.core.design_rows import DesignRows, as_design_rows, weighted_gram_product
from vbgui.core.rowpass import map_rows, reduce_rows


@dataclass(frozen=True, eq=False)
class GLMProblem:
    """Design X (T, D), response y (T,), likelihood and prior scale s of a Bayesian GLM.

    ``design`` is a matrix or a row source (:mod:`vbgui.core.design_rows`); it is kept as a row source.
    """

    design: DesignRows
    response: np.ndarray
    likelihood: Likelihood
    prior_scale: float

    def __post_init__(self) -> None:
        design = as_design_rows(self.design)
        response = np.ascontiguousarray(self.response, dtype=np.float64)
        if response.shape != (design.shape[0],):
            raise ValueError(f"design (T, D) and response (T,) disagree: {design.shape}, {response.shape}")
        if not self.prior_scale > 0:
            raise ValueError("prior_scale must be positive")
        object.__setattr__(self, "design", design)
        object.__setattr__(self, "response", response)

    @property
    def n_rows(self) -> int:
        return self.design.shape[0]

    @property
    def dim(self) -> int:
        return self.design.shape[1]

    @cached_property
    def log_normaliser(self) -> float:
        return self.likelihood.log_normaliser(self.response)


# Draws per call of the draws kernel: bounds the (D, K) partial sums each row chunk returns.
DRAWS_PER_GROUP = 256


def log_likelihood_of_draws(problem: GLMProblem, weights: np.ndarray, cancel: CancelToken | None = None,
                            want_gradient: bool = False) -> tuple[np.ndarray, np.ndarray | None]:
    """log p(y | X w_k) with every constant, for each row w_k of ``weights`` (K, D).

    One fused pass over the rows per group of DRAWS_PER_GROUP draws
    (:func:`vbgui.core.kernels.draws_pass`), chunked so that ``cancel`` is
    honoured within milliseconds.

    Parameters
    ----------
    problem : the GLM
    weights : (K, D) weight vectors (or one (D,) vector)
    cancel : checked between row chunks; raises FitCancelled when set
    want_gradient : also return X' g_k, g_tk = d log p(y_t | eta) / d eta at eta = x_t'w_k

    Returns
    -------
    loglik : (K,), every constant included
    gradient : (K, D), or None without ``want_gradient``
    """
    weights = np.atleast_2d(np.asarray(weights, dtype=np.float64))
    lik = problem.likelihood
    n_draws = weights.shape[0]
    loglik = np.empty(n_draws)
    gradient = np.empty((n_draws, problem.dim)) if want_gradient else None
    for start in range(0, n_draws, DRAWS_PER_GROUP):
        stop = min(n_draws, start + DRAWS_PER_GROUP)
        group = np.array(weights[start:stop].T, order="C")  # a writable C copy: one numba signature
        part, part_gradient = reduce_rows(
            kernels.draws_pass, problem.design, problem.response,
            (group, lik.code, lik.parameter, want_gradient), cancel, row_cost=(stop - start) * problem.dim)
        loglik[start:stop] = part
        if gradient is not None:
            gradient[start:stop] = part_gradient.T
    return loglik + problem.log_normaliser, gradient


@dataclass(frozen=True)
class ElboTerms:
    """ELBO = expected_log_likelihood - kl, in nats."""

    elbo: float
    expected_log_likelihood: float
    kl: float

    @classmethod
    def from_parts(cls, expected_log_likelihood: float, kl: float) -> "ElboTerms":
        """The terms from the expected log-likelihood and the KL, elbo being their difference.

        Parameters
        ----------
        expected_log_likelihood : float
            E_q[log p(y | X w)], in nats.
        kl : float
            KL(q || prior), in nats.

        Returns
        -------
        ElboTerms
            The three numbers as floats.
        """
        return cls(float(expected_log_likelihood - kl), float(expected_log_likelihood), float(kl))

    def is_finite(self) -> bool:
        """Whether the ELBO and both of its terms are finite.

        Returns
        -------
        bool
            True if no term is NaN or infinite.
        """
        return bool(np.isfinite(self.elbo) and np.isfinite(self.expected_log_likelihood) and np.isfinite(self.kl))


@dataclass(frozen=True, eq=False)
class ElboGradient:
    """The ELBO at q and its gradients in q's mean and (masked) Cholesky factor."""

    terms: ElboTerms
    grad_mean: np.ndarray
    grad_chol: np.ndarray


def kl_gradients(q: GaussianPosterior, prior_scale: float) -> tuple[np.ndarray, np.ndarray]:
    """dKL/dm = m / s^2 and dKL/dL = L / s^2 - diag(1 / L_ii), masked to q's family.

    Parameters
    ----------
    q : the Gaussian q = N(m, L L')
    prior_scale : s, the prior N(0, s^2 I)'s sd

    Returns
    -------
    dKL/dm (D,) and dKL/dL (D, D), zero outside the family's mask
    """
    s2 = prior_scale ** 2
    grad_chol = q.chol / s2 - np.diag(1.0 / np.diag(q.chol))
    return q.mean / s2, np.where(q.family.chol_mask(), grad_chol, 0.0)


@dataclass(frozen=True, eq=False)
class ExactPass:
    """What one exact pass gives: the terms, dELBO/dm, and the expected-likelihood
    second-order quantities G = X' diag(d_var) X (``grad_cov_ell``) and H = X' diag(c) X."""

    terms: ElboTerms
    grad_mean: np.ndarray
    grad_cov_ell: np.ndarray
    curvature: np.ndarray | None


def _symmetric(matrix: np.ndarray) -> np.ndarray:
    """(M + M') / 2: the kernels' BLAS products X' diag(c) X are symmetric only up to rounding."""
    return 0.5 * (matrix + matrix.T)


class ExactEstimator:
    """Closed-form (or quadrature-exact) ELBO of a GLM under a Gaussian q, with its curvature."""

    name = "exact"
    offers_curvature = True

    def __init__(self, problem: GLMProblem, cancel: CancelToken | None = None) -> None:
        self.problem = problem
        self.cancel = cancel
        self._gh_nodes, self._gh_weights = gauss_hermite_standard_normal()

    @property
    def quadrature(self) -> tuple[np.ndarray, np.ndarray]:
        """The Gauss-Hermite nodes and weights the kernels use (read-only)."""
        return self._gh_nodes, self._gh_weights

    def evaluate(self, q: GaussianPosterior, want_curvature: bool = False) -> ExactPass:
        """One fused pass over the data; ``want_curvature`` adds H = X' diag(c) X.

        Parameters
        ----------
        q : GaussianPosterior
            The posterior approximation, D parameters.
        want_curvature : bool
            Also accumulate the full (D, D) curvature H.

        Returns
        -------
        ExactPass
            The ELBO terms (nats), dELBO/dm (D,), G = dE_q[log p]/dS (D, D) (only its diagonal
            unless ``want_curvature``; then G = -H / 2), and H (D, D) or None.
        """
        p = self.problem
        lik = p.likelihood
        if q.family.is_diagonal:
            kernel = kernels.diagonal_pass
            scale = np.ascontiguousarray(q.variance)
        else:
            kernel = kernels.cholesky_pass
            scale = np.array(q.chol)  # a writable copy: numba compiles read-only arrays separately
        total, grad_ell_mean, grad_var, curvature = reduce_rows(
            kernel, p.design, p.response,
            (np.array(q.mean), scale, lik.code, lik.parameter,
             self._gh_nodes, self._gh_weights, want_curvature),
            self.cancel)
        kl = q.kl_to_prior(p.prior_scale)
        terms = ElboTerms.from_parts(total + p.log_normaliser, kl)
        grad_kl_mean, _ = kl_gradients(q, p.prior_scale)
        full_curvature = None
        if want_curvature:
            full_curvature = _symmetric(curvature)
            grad_cov_ell = -0.5 * full_curvature
        else:
            grad_cov_ell = np.diag(grad_var)
        return ExactPass(terms, grad_ell_mean - grad_kl_mean, grad_cov_ell, full_curvature)

    def value(self, q: GaussianPosterior) -> ElboTerms:
        """The ELBO and its two terms at q, in nats.

        Parameters
        ----------
        q : GaussianPosterior
            The posterior approximation.

        Returns
        -------
        ElboTerms
            ELBO, expected log-likelihood and KL, in nats.
        """
        return self.evaluate(q).terms

    def _point_pass(self, weights: np.ndarray, want_curvature: bool) -> tuple:
        """The diagonal pass at a point mass (S = 0): the derivatives of log p at eta = X w."""
        p = self.problem
        lik = p.likelihood
        return reduce_rows(
            kernels.diagonal_pass, p.design, p.response,
            (np.ascontiguousarray(weights, dtype=np.float64), np.zeros(p.dim), lik.code, lik.parameter,
             self._gh_nodes, self._gh_weights, want_curvature), self.cancel)

    def point_derivatives(self, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """X' g and H = X' diag(c) X at a point mass, g_t and -c_t the first and second
        eta-derivatives of log p(y_t | eta) at eta = X w.

        Parameters
        ----------
        weights : (D,) array
            The point w.

        Returns
        -------
        slope : (D,) array
            X' g, the gradient of log p(y | X w) in w.
        curvature : (D, D) array
            H = X' diag(c) X, symmetric.
        """
        _, slope, _, curvature = self._point_pass(weights, True)
        return slope, _symmetric(curvature)

    def curvature_at_point(self, weights: np.ndarray) -> np.ndarray:
        """H = X' diag(c) X at a point mass (S = 0), c_t = -d^2 log p(y_t | eta) / d eta^2 at eta = X w.

        Parameters
        ----------
        weights : (D,) array
            The point w.

        Returns
        -------
        (D, D) array
            H, symmetric.
        """
        return self.point_derivatives(weights)[1]

    def curvature_diagonal_at_point(self, weights: np.ndarray) -> np.ndarray:
        """diag(H) = sum_t c_t x_t^2 at a point mass: O(T D), no D x D matrix.

        Parameters
        ----------
        weights : (D,) array
            The point w.

        Returns
        -------
        (D,) array
            diag(H).
        """
        _, _, grad_var, _ = self._point_pass(weights, False)
        return -2.0 * grad_var

    def row_curvatures(self, q: GaussianPosterior) -> np.ndarray:
        """c_t = -2 dE_t/dv_t for every row (T,), for a diagonal q: the weights of H = X' diag(c) X.

        Parameters
        ----------
        q : GaussianPosterior
            A diagonal (mean-field) q.

        Returns
        -------
        (T,) array
            c_t, one per row.
        """
        p = self.problem
        lik = p.likelihood
        curvatures = np.empty(p.n_rows)
        map_rows(kernels.diagonal_row_curvatures, p.design, p.response, curvatures,
                 (np.array(q.mean), np.ascontiguousarray(q.variance), lik.code, lik.parameter,
                  self._gh_nodes, self._gh_weights), self.cancel)
        return curvatures

    def curvature_product(self, curvatures: np.ndarray, vector: np.ndarray) -> np.ndarray:
        """H v = X' diag(c) (X v): two matrix-vector products, no D x D matrix.

        Parameters
        ----------
        curvatures : (T,) array
            Row weights c, as from :meth:`row_curvatures`.
        vector : (D,) array
            v.

        Returns
        -------
        (D,) array
            H v.
        """
        if self.cancel is not None:
            self.cancel.raise_if_cancelled()
        return weighted_gram_product(self.problem.design, curvatures, vector)

    def gradient(self, q: GaussianPosterior) -> ElboGradient:
        """ELBO and its gradients in (m, L); the L gradient is 2 G L - dKL/dL on the family's mask.

        Parameters
        ----------
        q : GaussianPosterior
            The posterior approximation.

        Returns
        -------
        ElboGradient
            The ELBO terms (nats), dELBO/dm (D,) and dELBO/dL (D, D), zero off the family's mask.
        """
        exact = self.evaluate(q, want_curvature=not q.family.is_diagonal)
        _, grad_kl_chol = kl_gradients(q, self.problem.prior_scale)
        grad_chol = np.where(q.family.chol_mask(), 2.0 * exact.grad_cov_ell @ q.chol, 0.0) - grad_kl_chol
        return ElboGradient(exact.terms, exact.grad_mean, grad_chol)


class MonteCarloEstimator:
    """An ELBO estimator from K fresh standard-normal draws per call, seeded; gradients only.

    Subclasses give :meth:`gradient_at`, the estimate for given draws.
    """

    name = ""
    offers_curvature = False

    def __init__(self, problem: GLMProblem, n_samples: int, seed: int,
                 cancel: CancelToken | None = None) -> None:
        if n_samples < 1:
            raise ValueError("n_samples must be at least 1")
        self.problem = problem
        self.n_samples = int(n_samples)
        self.rng = np.random.default_rng(seed)
        self.cancel = cancel

    def draw_noise(self) -> np.ndarray:
        """Fresh standard-normal draws from the estimator's generator.

        Returns
        -------
        (K, D) array
            eps, K = n_samples.
        """
        return self.rng.standard_normal((self.n_samples, self.problem.dim))

    def gradient_at(self, q: GaussianPosterior, eps: np.ndarray) -> ElboGradient:
        """The estimate for given standard-normal draws; subclasses give it.

        Parameters
        ----------
        q : GaussianPosterior
            The posterior approximation.
        eps : (K, D) array
            Standard-normal draws; w_k = m + L eps_k.

        Returns
        -------
        ElboGradient
            Estimated ELBO terms (nats), dELBO/dm (D,) and dELBO/dL (D, D).
        """
        raise NotImplementedError

    def gradient(self, q: GaussianPosterior) -> ElboGradient:
        """The estimate at q from fresh draws (:meth:`draw_noise`).

        Parameters
        ----------
        q : GaussianPosterior
            The posterior approximation.

        Returns
        -------
        ElboGradient
            Estimated ELBO terms (nats), dELBO/dm (D,) and dELBO/dL (D, D).
        """
        return self.gradient_at(q, self.draw_noise())

    def value(self, q: GaussianPosterior) -> ElboTerms:
        """The estimated ELBO terms at q from fresh draws.

        Parameters
        ----------
        q : GaussianPosterior
            The posterior approximation.

        Returns
        -------
        ElboTerms
            ELBO, expected log-likelihood (the mean over draws) and KL (closed form), in nats.
        """
        return self.gradient(q).terms


class ReparamEstimator(MonteCarloEstimator):
    """The reparameterisation (pathwise) gradient: differentiate log p through w = m + L eps."""

    name = "reparam"

    def gradient_at(self, q: GaussianPosterior, eps: np.ndarray) -> ElboGradient:
        """The estimate for given standard-normal draws ``eps`` (K, D) (common random numbers).

        Parameters
        ----------
        q : GaussianPosterior
            The posterior approximation.
        eps : (K, D) array
            Standard-normal draws; w_k = m + L eps_k.

        Returns
        -------
        ElboGradient
            Estimated ELBO terms (nats), dELBO/dm (D,) and dELBO/dL (D, D), masked to the family.
        """
        p = self.problem
        loglik, grad_eta = log_likelihood_of_draws(p, q.mean + eps @ q.chol.T, self.cancel, want_gradient=True)
        k = eps.shape[0]
        ell = float(np.mean(loglik))
        grad_kl_mean, grad_kl_chol = kl_gradients(q, p.prior_scale)
        with np.errstate(invalid="ignore", over="ignore"):  # an overflowed draw is reported as non-finite
            grad_mean = grad_eta.mean(axis=0) - grad_kl_mean
            grad_chol = np.where(q.family.chol_mask(), grad_eta.T @ eps / k, 0.0) - grad_kl_chol
        return ElboGradient(ElboTerms.from_parts(ell, q.kl_to_prior(p.prior_scale)), grad_mean, grad_chol)


class ScoreFunctionEstimator(MonteCarloEstimator):
    """The score-function (REINFORCE) gradient with a leave-one-out control variate.

    grad E_q[f(w)] = E_q[f(w) grad log q(w)], estimated as
    1/K sum_k (f_k - b_k) grad log q(w_k) with f_k = log p(y | X w_k) and the
    baseline b_k = mean of the other draws' f (independent of w_k, so the
    estimate stays unbiased; K = 1 has no baseline).  For w = m + L eps,

        d log q / dm = L^-T eps,   d log q / dL = L^-T eps eps' - diag(1 / L_ii)   (on L's free entries).

    It needs no derivative of the likelihood, and pays for that in variance.
    """

    name = "score-function"

    def gradient_at(self, q: GaussianPosterior, eps: np.ndarray) -> ElboGradient:
        """The estimate for given standard-normal draws eps (K, D) (common random numbers).

        Parameters
        ----------
        q : GaussianPosterior
            The posterior approximation.
        eps : (K, D) array
            Standard-normal draws; w_k = m + L eps_k.

        Returns
        -------
        ElboGradient
            Estimated ELBO terms (nats), dELBO/dm (D,) and dELBO/dL (D, D), masked to the family.
        """
        p = self.problem
        loglik, _ = log_likelihood_of_draws(p, q.mean + eps @ q.chol.T, self.cancel)
        k = eps.shape[0]
        ell = float(np.mean(loglik))
        baseline = (loglik.sum() - loglik) / (k - 1) if k > 1 else np.zeros(k)
        weight = (loglik - baseline) / k
        grad_kl_mean, grad_kl_chol = kl_gradients(q, p.prior_scale)
        with np.errstate(invalid="ignore", over="ignore"):
            whitened = solve_triangular(q.chol, eps.T, lower=True, trans="T")  # column k: L^-T eps_k
            grad_mean = whitened @ weight - grad_kl_mean
            score_chol = (whitened * weight) @ eps - np.diag(weight.sum() / np.diag(q.chol))
            grad_chol = np.where(q.family.chol_mask(), score_chol, 0.0) - grad_kl_chol
        return ElboGradient(ElboTerms.from_parts(ell, q.kl_to_prior(p.prior_scale)), grad_mean, grad_chol)


MONTE_CARLO_ESTIMATORS: dict[str, type[MonteCarloEstimator]] = {
    cls.name: cls for cls in (ReparamEstimator, ScoreFunctionEstimator)}


def make_estimator(name: str, problem: GLMProblem, n_samples: int = 10, seed: int = 0,
                   cancel: CancelToken | None = None) -> ExactEstimator | MonteCarloEstimator:
    """The estimator called ``name`` (one of :data:`vbgui.core.names.ESTIMATOR_NAMES`).

    Parameters
    ----------
    name : 'exact', or a Monte Carlo estimator's name
    problem : the GLM
    n_samples, seed : draws per call and their seed (Monte Carlo estimators only)
    cancel : checked during every pass over the data

    Returns
    -------
    ExactEstimator or MonteCarloEstimator
        A new estimator on problem.
    """
    if name == ExactEstimator.name:
        return ExactEstimator(problem, cancel)
    return MONTE_CARLO_ESTIMATORS[name](problem, n_samples, seed, cancel)
