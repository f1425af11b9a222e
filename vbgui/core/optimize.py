"""Optimisers of the ELBO, written as generators that yield after every iteration.

A fit is driven one step at a time (``next(iterator)``), so a caller can
report, pause or cancel between iterations; the generator's return value is
the :class:`Outcome`.  Both optimisers check the cancel token inside every
pass over the data (see :mod:`vbgui.core.rowpass`).

* :func:`newton_fixed_point`, for the exact estimator.  At the optimum of a
  GLM's ELBO the covariance satisfies the fixed point
  S^-1 = X' diag(c) X + I / s^2 (restricted to the family's blocks), and the
  Hessian in m is -(X' diag(c) X + I / s^2) with the *full* curvature matrix,
  whatever the family.  Each iteration moves to

      m'  = m + a (H + I/s^2)^-1 dELBO/dm                  (Newton on m)
      S'^-1 = (1 - a) S^-1 + a blocks(H + I/s^2)          (fixed point on S)

  starting at a = 1 and halving a until the ELBO does not fall.  For the
  gaussian likelihood H does not depend on q and one step is exact.
* :func:`adam`, for estimators that give gradients only (Monte Carlo): Adam on (m, the free entries of L
  with log-diagonal), whitened by the starting q (see _WhitenedCoordinates), halving the step size whenever the ELBO stops rising
  beyond its Monte Carlo noise, and returning the average of the iterates of
  the last window (Polyak averaging).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Generator

import numpy as np
from scipy.sparse.linalg import LinearOperator, cg

from vbgui.core.elbo import ElboGradient, ElboTerms, ExactEstimator, ExactPass, MonteCarloEstimator
from vbgui.core.families import GaussianPosterior
from vbgui.core.names import fits_matrix_free
from vbgui.core.low_rank import (LowRankCoordinates, LowRankGradient, LowRankPosterior, exact_low_rank_gradient,
                                 low_rank_gradient)

STOP_REASONS = ("converged", "max_iter", "cancelled", "non-finite", "stalled")


@dataclass(frozen=True, eq=False)
class IterationReport:
    """What every iteration reports: its number (1-based), the ELBO terms and the current q."""

    iteration: int
    terms: ElboTerms
    q: GaussianPosterior


@dataclass(frozen=True, eq=False)
class Outcome:
    """How an optimisation ended: ``reason`` in STOP_REASONS, the q to keep, and a message."""

    reason: str
    q: GaussianPosterior
    message: str

    @property
    def converged(self) -> bool:
        return self.reason == "converged"


Optimizer = Generator[IterationReport, None, Outcome]


def relative_change(new: float, old: float) -> float:
    """|new - old| / max(1, |new|): a change relative to the new value, absolute below 1.

    Parameters
    ----------
    new : float
        The latest value (an ELBO, nats).
    old : float
        The value before it.

    Returns
    -------
    float
        The change, >= 0.
    """
    return abs(new - old) / max(1.0, abs(new))


class _DenseNewton:
    """The Newton system with the D x D curvature H formed on every pass (any family)."""

    want_curvature = True

    def __init__(self, estimator: ExactEstimator, q0: GaussianPosterior) -> None:
        self.block_mask = q0.family.block_mask()
        self.prior_precision = np.eye(q0.dim) / estimator.problem.prior_scale ** 2

    def step(self, q: GaussianPosterior, current: ExactPass) -> tuple[np.ndarray, np.ndarray]:
        """The Newton direction in m and the target precision blocks(H + I/s^2)."""
        hessian = current.curvature + self.prior_precision
        return np.linalg.solve(hessian, current.grad_mean), np.where(self.block_mask, hessian, 0.0)


class _MatrixFreeNewton:
    """The Newton system of a diagonal q without the D x D curvature: O(T D) per product.

    The direction solves (X' diag(c) X + I/s^2) d = dELBO/dm by conjugate
    gradients on Hessian-vector products, preconditioned by the diagonal
    diag(H) + 1/s^2 = -2 diag(X' diag(d_var) X) + 1/s^2 that the pass gives
    anyway, to a relative residual min(0.1, sqrt(|g|)) (truncated Newton:
    loose far from the optimum, tight near it).  The fixed point of a
    diagonal S needs only that diagonal.
    """

    want_curvature = False

    def __init__(self, estimator: ExactEstimator, q0: GaussianPosterior) -> None:
        self.estimator = estimator
        self.prior_precision = 1.0 / estimator.problem.prior_scale ** 2

    def step(self, q: GaussianPosterior, current: ExactPass) -> tuple[np.ndarray, np.ndarray]:
        curvatures = self.estimator.row_curvatures(q)
        diagonal = -2.0 * np.diag(current.grad_cov_ell) + self.prior_precision
        gradient = current.grad_mean
        dim = gradient.shape[0]

        def product(vector: np.ndarray) -> np.ndarray:
            return self.estimator.curvature_product(curvatures, vector) + self.prior_precision * vector

        system = LinearOperator((dim, dim), matvec=product, dtype=np.float64)
        preconditioner = LinearOperator((dim, dim), matvec=lambda v: v / diagonal, dtype=np.float64)
        relative = min(0.1, float(np.sqrt(np.linalg.norm(gradient))))
        direction, info = cg(system, gradient, rtol=relative, atol=0.0, maxiter=10 * dim, M=preconditioner)
        if info < 0 or not np.all(np.isfinite(direction)):
            raise np.linalg.LinAlgError("conjugate gradients failed on the Newton system")
        return direction, np.diag(diagonal)


def newton_fixed_point(estimator: ExactEstimator, q0: GaussianPosterior, max_iter: int,
                       tolerance: float = 1e-10, max_halvings: int = 40,
                       matrix_free: bool | None = None) -> Optimizer:
    """Maximise the exact ELBO; converged when the relative ELBO change < ``tolerance``.

    Parameters
    ----------
    estimator : the exact estimator (it offers the curvature)
    q0 : the starting q; the fit keeps its family (any block family)
    max_iter : the iteration cap
    tolerance : the relative ELBO change that counts as converged
    max_halvings : how often a step may be halved before the fit is called stalled
    matrix_free : solve the Newton system by conjugate gradients without forming
        the D x D curvature, so a pass costs O(T D) rather than O(T D^2)
        (default: :func:`vbgui.core.names.fits_matrix_free`)

    Returns
    -------
    A generator yielding an :class:`IterationReport` per iteration and returning the :class:`Outcome`.
    """
    family = q0.family
    if matrix_free is None:
        matrix_free = family.is_diagonal and fits_matrix_free(family.name, q0.dim)
    if matrix_free and not family.is_diagonal:
        raise ValueError("the matrix-free Newton step serves diagonal families only")
    newton = _MatrixFreeNewton(estimator, q0) if matrix_free else _DenseNewton(estimator, q0)
    current = estimator.evaluate(q0, want_curvature=newton.want_curvature)
    q = q0
    if not current.terms.is_finite():
        return Outcome("non-finite", q0, "the ELBO is not finite at the starting point")
    for iteration in range(1, max_iter + 1):
        try:
            newton_direction, target_precision = newton.step(q, current)
        except np.linalg.LinAlgError:
            return Outcome("non-finite", q, "the Hessian of the ELBO became singular")
        old_precision = q.precision()
        step = 1.0
        accepted = None
        first_trial_elbo = None
        for _ in range(max_halvings):
            trial_precision = (1.0 - step) * old_precision + step * target_precision
            try:
                trial_q = GaussianPosterior.from_precision(family, q.mean + step * newton_direction, trial_precision)
                trial = estimator.evaluate(trial_q, want_curvature=newton.want_curvature)
            except (np.linalg.LinAlgError, FloatingPointError, OverflowError):
                trial = None
            trial_ok = trial is not None and trial.terms.is_finite() and bool(np.all(np.isfinite(trial.grad_mean)))
            if first_trial_elbo is None:
                first_trial_elbo = trial.terms.elbo if trial_ok else -np.inf
            if trial_ok and trial.terms.elbo >= current.terms.elbo:
                accepted = (trial_q, trial)
                break
            step *= 0.5
        if accepted is None:
            if relative_change(first_trial_elbo, current.terms.elbo) < tolerance or (
                    np.isfinite(first_trial_elbo) and first_trial_elbo < current.terms.elbo
                    and relative_change(first_trial_elbo, current.terms.elbo) < 100 * tolerance):
                return Outcome("converged", q, "no step improves the ELBO: at the optimum to rounding")
            return Outcome("stalled", q, "the line search found no step that increases the ELBO")
        previous_elbo = current.terms.elbo
        q, current = accepted
        yield IterationReport(iteration, current.terms, q)
        if relative_change(current.terms.elbo, previous_elbo) < tolerance:
            return Outcome("converged", q, f"relative ELBO change below {tolerance:g}")
    return Outcome("max_iter", q, f"stopped at the iteration cap ({max_iter})")


def lbfgs(estimator: ExactEstimator, q0: LowRankPosterior, max_iter: int, tolerance: float = 1e-10,
          memory: int = 20, max_halvings: int = 40) -> Optimizer:
    """Maximise the exact ELBO of a low-rank q by L-BFGS in :class:`~vbgui.core.low_rank.LowRankCoordinates`.

    The two-loop recursion over the last ``memory`` pairs gives the
    direction; a step halved from 1 until the ELBO rises by at least 1e-4 of
    the predicted gain (Armijo); memory is cleared when the direction stops
    ascending.  Written as a generator (scipy's L-BFGS cannot yield between
    iterations, which pausing, live plots and cancel need).  Converged when
    the gain the quasi-Newton model predicts, g'd / 2, falls below
    ``tolerance`` relative to the ELBO: a small step alone is no proof, since
    L-BFGS can creep along a flat ridge.

    Parameters
    ----------
    estimator : the exact estimator
    q0 : the starting low-rank q
    max_iter, tolerance : the iteration cap and the relative predicted gain that counts as converged
    memory : curvature pairs kept (20 took 192 passes where 10 took 231 to the same optimum at T = 1e5,
        D = 1000, rank 5: benchmarks/bench_large_d.py)
    max_halvings : how often a step may be halved before the fit is called stalled

    Returns
    -------
    A generator yielding an :class:`IterationReport` per iteration and returning the :class:`Outcome`.
    """
    coordinates = LowRankCoordinates(q0)
    theta = coordinates.start()
    q = q0
    current = exact_low_rank_gradient(estimator, q0)
    if not current.terms.is_finite():
        return Outcome("non-finite", q0, "the ELBO is not finite at the starting point")
    grad = coordinates.gradient(theta, current)
    steps: list[np.ndarray] = []
    changes: list[np.ndarray] = []
    for iteration in range(1, max_iter + 1):
        direction = _two_loop(grad, steps, changes)
        slope = float(grad @ direction)
        if not steps or not slope > 0:  # no curvature pairs yet: a gradient step of length at most 1
            steps.clear()
            changes.clear()
            direction = grad / max(1.0, float(np.linalg.norm(grad)))
            slope = float(grad @ direction)
        if steps and 0.5 * slope < tolerance * max(1.0, abs(current.terms.elbo)):
            return Outcome("converged", q, f"predicted ELBO gain below {tolerance:g} relative")
        step = 1.0
        accepted = None
        for _ in range(max_halvings):
            trial_theta = theta + step * direction
            try:
                with np.errstate(over="raise", divide="raise", invalid="raise"):
                    trial_q = coordinates.to_q(trial_theta)
                    trial = exact_low_rank_gradient(estimator, trial_q)
            except (np.linalg.LinAlgError, FloatingPointError, OverflowError, ValueError):
                trial = None
            if trial is not None and trial.terms.is_finite() and \
                    trial.terms.elbo >= current.terms.elbo + 1e-4 * step * slope:
                accepted = (trial_theta, trial_q, trial)
                break
            step *= 0.5
        if accepted is None:
            if relative_change(current.terms.elbo + step * slope, current.terms.elbo) < tolerance:
                return Outcome("converged", q, "no step improves the ELBO: at the optimum to rounding")
            return Outcome("stalled", q, "the line search found no step that increases the ELBO")
        trial_theta, trial_q, trial = accepted
        trial_grad = coordinates.gradient(trial_theta, trial)
        step_taken, gradient_change = trial_theta - theta, grad - trial_grad
        if step_taken @ gradient_change > 1e-12 * np.linalg.norm(step_taken) * np.linalg.norm(gradient_change):
            steps.append(step_taken)
            changes.append(gradient_change)
            if len(steps) > memory:
                del steps[0], changes[0]
        theta, q, current, grad = trial_theta, trial_q, trial, trial_grad
        yield IterationReport(iteration, current.terms, q)
    return Outcome("max_iter", q, f"stopped at the iteration cap ({max_iter})")


def _two_loop(gradient: np.ndarray, steps: list[np.ndarray], changes: list[np.ndarray]) -> np.ndarray:
    """The L-BFGS inverse-Hessian approximation applied to ``gradient`` (an ascent direction).

    For maximisation the pairs are (s_i, y_i) with y_i = -(change of the ascent gradient).
    """
    direction = gradient.copy()
    alphas = []
    for s, y in zip(reversed(steps), reversed(changes)):
        alpha = (s @ direction) / (s @ y)
        direction -= alpha * y
        alphas.append(alpha)
    if steps:
        direction *= (steps[-1] @ changes[-1]) / (changes[-1] @ changes[-1])
    for (s, y), alpha in zip(zip(steps, changes), reversed(alphas)):
        beta = (y @ direction) / (s @ y)
        direction += (alpha - beta) * s
    return direction


def _all_finite(estimate: ElboGradient | LowRankGradient) -> bool:
    """The ELBO terms and every gradient array of an estimate are finite."""
    arrays = [value for value in vars(estimate).values() if isinstance(value, np.ndarray)]
    return estimate.terms.is_finite() and all(bool(np.all(np.isfinite(a))) for a in arrays)


def optimizer_for(estimator: ExactEstimator | MonteCarloEstimator, q0: GaussianPosterior, max_iter: int,
                  tolerance: float = 1e-10, learning_rate: float = 0.05) -> Optimizer:
    """The optimiser that fits what ``estimator`` offers.

    Parameters
    ----------
    estimator : offers the curvature (Newton and the fixed point; L-BFGS for the low-rank family,
        which has no fixed point) or gradients only (Adam, in the family's own coordinates)
    q0 : the starting q, whose family the fit keeps
    max_iter, tolerance : the iteration cap and the relative ELBO change that counts as converged
    learning_rate : Adam's step, in units of q0's spread (gradients only)

    Returns
    -------
    A generator yielding an :class:`IterationReport` per iteration and returning the :class:`Outcome`.
    """
    if q0.family.is_low_rank and estimator.offers_curvature:
        return lbfgs(estimator, q0, max_iter, tolerance)
    if estimator.offers_curvature:
        return newton_fixed_point(estimator, q0, max_iter, tolerance)
    return adam(estimator, q0, max_iter, learning_rate, tolerance)


class _WhitenedCoordinates:
    """Adam's coordinates: m = m0 + L0 u and L = L0 V, V lower triangular with log-diagonal.

    Measuring every step in units of the starting q's spread makes one step size
    suit all models (an unwhitened step of 0.05 in L is enormous when posterior
    sds are 0.01).  L0 V stays in the family because L0 is block lower triangular.
    """

    def __init__(self, q0: GaussianPosterior) -> None:
        self.q0 = q0
        self.free = q0.family.chol_mask()
        rows, cols = np.nonzero(self.free)
        self.diagonal_positions = q0.dim + np.flatnonzero(rows == cols)

    def start(self) -> np.ndarray:
        """u = 0 and V = I (log-diagonal 0): the starting q itself."""
        return np.zeros(self.q0.dim + int(self.free.sum()))

    def to_q(self, theta: np.ndarray) -> GaussianPosterior:
        dim = self.q0.dim
        inner = np.zeros((dim, dim))
        inner[self.free] = theta[dim:]
        diag = np.arange(dim)
        inner[diag, diag] = np.exp(inner[diag, diag])
        return GaussianPosterior(self.q0.family, self.q0.mean + self.q0.chol @ theta[:dim], self.q0.chol @ inner)

    def gradient(self, theta: np.ndarray, estimate: ElboGradient) -> np.ndarray:
        """Chain rule: d/du = L0' g_m, d/dV = L0' g_L on V's free entries, times V_ii on its log-diagonal."""
        grad = np.concatenate([self.q0.chol.T @ estimate.grad_mean, (self.q0.chol.T @ estimate.grad_chol)[self.free]])
        grad[self.diagonal_positions] *= np.exp(theta[self.diagonal_positions])
        return grad


def adam(estimator: ExactEstimator | MonteCarloEstimator, q0: GaussianPosterior | LowRankPosterior, max_iter: int,
         learning_rate: float = 0.05, tolerance: float = 1e-10, window: int = 100, halvings: int = 4,
         beta1: float = 0.9, beta2: float = 0.999, epsilon: float = 1e-8) -> Optimizer:
    """Maximise the Monte Carlo ELBO with Adam, in coordinates whitened by ``q0``
    (:class:`_WhitenedCoordinates`, or :class:`~vbgui.core.low_rank.LowRankCoordinates`).

    Every ``window`` iterations the mean ELBO of the window is compared with
    the previous one; when it has risen by less than twice the standard error
    of that difference (or by less than ``tolerance`` relative), the step size
    is halved.  After ``halvings`` halvings the next plateau ends the fit as
    converged.  The q returned is the average of the last window's iterates.

    Parameters
    ----------
    estimator : any estimator (its ``gradient``; low-rank q's through :func:`~vbgui.core.low_rank.low_rank_gradient`)
    q0 : the starting q, whose spread whitens the coordinates
    max_iter, tolerance : the iteration cap and the relative rise below which a window is a plateau
    learning_rate : Adam's step in whitened units
    window, halvings : iterations per plateau check, and step halvings before a plateau ends the fit
    beta1, beta2, epsilon : Adam's moment decays and its guard

    Returns
    -------
    A generator yielding an :class:`IterationReport` per iteration and returning the :class:`Outcome`.
    """
    if q0.family.is_low_rank:
        coordinates = LowRankCoordinates(q0)
        estimate_at = partial(low_rank_gradient, estimator)
    else:
        coordinates = _WhitenedCoordinates(q0)
        estimate_at = estimator.gradient
    theta = coordinates.start()
    first_moment = np.zeros_like(theta)
    second_moment = np.zeros_like(theta)
    rate = learning_rate
    halved = 0
    window_elbos: list[float] = []
    window_thetas: list[np.ndarray] = []
    previous_window: np.ndarray | None = None
    last_good_theta = theta.copy()
    for iteration in range(1, max_iter + 1):
        q = coordinates.to_q(theta)
        estimate = estimate_at(q)
        if not _all_finite(estimate):
            return Outcome("non-finite", coordinates.to_q(last_good_theta),
                           f"the ELBO or its gradient became non-finite at iteration {iteration}")
        grad = coordinates.gradient(theta, estimate)
        last_good_theta = theta.copy()
        yield IterationReport(iteration, estimate.terms, q)
        window_elbos.append(estimate.terms.elbo)
        window_thetas.append(theta.copy())
        first_moment = beta1 * first_moment + (1 - beta1) * grad
        second_moment = beta2 * second_moment + (1 - beta2) * grad ** 2
        corrected_first = first_moment / (1 - beta1 ** iteration)
        corrected_second = second_moment / (1 - beta2 ** iteration)
        theta = theta + rate * corrected_first / (np.sqrt(corrected_second) + epsilon)
        if len(window_elbos) < window:
            continue
        elbos = np.array(window_elbos)
        plateau = False
        if previous_window is not None:
            rise = elbos.mean() - previous_window.mean()
            noise = np.sqrt(elbos.var(ddof=1) / window + previous_window.var(ddof=1) / window)
            plateau = rise < 2.0 * noise or rise < tolerance * abs(elbos.mean())
        if plateau:
            if halved >= halvings:
                return Outcome("converged", coordinates.to_q(np.mean(window_thetas, axis=0)),
                               "the ELBO stopped rising beyond its Monte Carlo noise at the smallest step size")
            rate *= 0.5
            halved += 1
        previous_window = elbos
        window_elbos = []
        window_thetas = []
    final = coordinates.to_q(np.mean(window_thetas, axis=0)) if window_thetas else coordinates.to_q(theta)
    return Outcome("max_iter", final, f"stopped at the iteration cap ({max_iter})")
