"""The encoder of amortised inference: per-unit data summaries -> the variational parameters of q.

A GLM's log-likelihood is sum_t log p(y_t | x_t'w); for the canonical links
(poisson, bernoulli, gaussian) it equals y'Xw minus terms that depend on X
alone, so with a design X shared across units the posterior of a unit, and
the family's optimal q, depend on its data through X'y only.  That map is
nonlinear; the encoder approximates it by ridge regression on five kinds of
per-unit features (:func:`unit_features`, one pass over the rows, about the
cost of one ELBO evaluation):

    features  f = [X'y / T,  X'y / sum(y),  diag(X' diag(y) X) / T,  link(mean y),
                   log mean_t exp(x_t' k)]

where k is the least-squares filter of y / mean(y) on the columns other than
the bias: the last feature approximates log E[exp(stimulus drive)], which
sets the bias of a log-link model given its filter (without it the bias
carried most of the encoder's gap: 0.035 nats median against 0.0007 with it,
60 training units, poisson, full-rank, 11 weights).
    targets   theta = [m,  log L_ii,  L_ij (i > j, inside the family's blocks)]
    theta(f)  = theta_bar + W' (f - f_bar) / f_sd

with S = L L' (lower triangular, positive diagonal through the log, so every
output is a valid q of the family).  Each target column gets its own ridge
penalty, chosen by exact leave-one-out error over a grid (one SVD of the
standardised training features serves every penalty and column).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vbgui.core.design_rows import DesignRows, blocks
from vbgui.core.elbo import GLMProblem
from vbgui.core.families import Family, GaussianPosterior

# Ridge penalties tried, relative to the largest squared singular value of the standardised features.
PENALTY_GRID = np.logspace(-8.0, 2.0, 41)
FEATURE_KINDS = ("X'y per bin", "X'y per unit response (spike-triggered average)",
                 "diag(X' diag(y) X) per bin", "link of the mean response",
                 "log mean exp of the least-squares drive")


def unit_features(problem: GLMProblem, bias_index: int | None = None) -> np.ndarray:
    """The encoder's input for one unit: the five summaries of FEATURE_KINDS, concatenated (3 D + 2,).

    ``problem.design`` X is (T, D) and ``problem.response`` y is (T,);
    ``bias_index`` is the column of ones, if any (left out of the
    least-squares drive).  Costs two passes over the design's rows, a block
    at a time (X'y, (X*X)'y and X'X, then the drive), and a D x D solve.

    Parameters
    ----------
    problem : GLMProblem
        The unit's GLM.
    bias_index : int, optional
        The bias column.

    Returns
    -------
    (3 D + 2,) array
        The features.
    """
    design, response = problem.design, problem.response
    n_rows, dim = design.shape
    cross, weighted_squares = np.zeros(dim), np.zeros(dim)
    gram, column_sum = np.zeros((dim, dim)), np.zeros(dim)
    for start, stop, block in blocks(design):
        y = response[start:stop]
        cross += block.T @ y
        weighted_squares += (block * block).T @ y
        gram += block.T @ block
        column_sum += block.sum(axis=0)
    total = float(np.sum(response))
    triggered = cross / total if total != 0.0 else np.zeros_like(cross)
    mean_response = total / n_rows
    link = problem.likelihood.linear_predictor_of_mean(mean_response)
    drive = _log_mean_exp_drive(design, response, mean_response, bias_index, gram, cross, column_sum)
    return np.concatenate([cross / n_rows, triggered, weighted_squares / n_rows, [link], [drive]])


def _log_mean_exp_drive(design: DesignRows, response: np.ndarray, mean_response: float, bias_index: int | None,
                        gram: np.ndarray, cross: np.ndarray, column_sum: np.ndarray) -> float:
    """log mean_t exp(x_t' k), k the (lightly regularised) least-squares filter of y / mean(y) on the
    centred non-bias columns; y itself when its mean is not positive.  ``gram``, ``cross`` and
    ``column_sum`` are X'X, X'y and X'1 over all columns."""
    columns = [i for i in range(design.shape[1]) if i != bias_index]
    if not columns:
        return 0.0
    n_rows = design.shape[0]
    column_mean = column_sum[columns] / n_rows
    scale = 1.0 / mean_response if mean_response > 0 else 1.0
    target_sum = float(np.sum(response)) * scale
    # the centred Gram matrix and cross products without a centred copy of the regressors
    centred_gram = gram[np.ix_(columns, columns)] - n_rows * np.outer(column_mean, column_mean)
    centred_cross = cross[columns] * scale - column_mean * target_sum
    ridge = 1e-9 * max(float(np.trace(centred_gram)), 1e-300) * np.eye(len(columns))
    filter_estimate = np.linalg.solve(centred_gram + ridge, centred_cross)
    offset = float(column_mean @ filter_estimate)
    peak, scaled_sum = -np.inf, 0.0  # log-sum-exp over the blocks, rescaled whenever the peak rises
    for _, _, block in blocks(design):
        drive = block[:, columns] @ filter_estimate - offset
        block_peak = float(np.max(drive))
        if block_peak > peak:
            scaled_sum *= np.exp(peak - block_peak) if np.isfinite(peak) else 0.0
            peak = block_peak
        scaled_sum += float(np.sum(np.exp(drive - peak)))
    return peak + float(np.log(scaled_sum / n_rows))


def q_parameters(q: GaussianPosterior) -> np.ndarray:
    """theta = [m, log L_ii, L_ij (i > j inside the blocks)]: the unconstrained coordinates of q.

    Parameters
    ----------
    q : GaussianPosterior
        The q.

    Returns
    -------
    (2 D + F,) array
        theta, F the number of free strictly-lower entries of L.
    """
    strict = q.family.chol_mask() & ~np.eye(q.dim, dtype=bool)
    return np.concatenate([q.mean, np.log(np.diag(q.chol)), q.chol[strict]])


def q_from_parameters(family: Family, theta: np.ndarray) -> GaussianPosterior:
    """The inverse of :func:`q_parameters`: always a valid q of ``family`` (positive Cholesky diagonal).

    Parameters
    ----------
    family : Family
        The family.
    theta : (2 D + F,) array
        The coordinates, as from :func:`q_parameters`.

    Returns
    -------
    GaussianPosterior
        The q.
    """
    dim = family.dim
    chol = np.diag(np.exp(theta[dim:2 * dim]))
    strict = family.chol_mask() & ~np.eye(dim, dtype=bool)
    chol[strict] = theta[2 * dim:]
    return GaussianPosterior(family, theta[:dim], chol)


def q_from_moments(family: Family, mean: np.ndarray, cov: np.ndarray) -> GaussianPosterior:
    """q of ``family`` with this mean and covariance (a result file's ``parameters``).

    Parameters
    ----------
    family : Family
        The family.
    mean : (D,) array
        The mean.
    cov : (D, D) array
        The covariance, positive definite (symmetrised before its Cholesky factor is taken).

    Returns
    -------
    GaussianPosterior
        The q.
    """
    return GaussianPosterior(family, mean, np.linalg.cholesky(0.5 * (cov + cov.T)))


@dataclass(frozen=True, eq=False)
class RidgeEncoder:
    """theta(f) = target_mean + ((f - feature_mean) / feature_scale) @ weights; see the module docstring.

    ``weights`` is (P, K) for P features and K targets; ``penalties`` (K,) the
    ridge penalty each target column was fitted with; ``loo_rmse`` (K,) its
    leave-one-out root mean squared error on the training units (NaN with fewer than 3).
    """

    family: Family
    feature_mean: np.ndarray
    feature_scale: np.ndarray
    target_mean: np.ndarray
    weights: np.ndarray
    penalties: np.ndarray
    loo_rmse: np.ndarray
    n_train: int

    @classmethod
    def fit(cls, family: Family, features: np.ndarray, fitted: list[GaussianPosterior]) -> "RidgeEncoder":
        """Fit the encoder to training units: their features (N, P) and their exactly fitted q's (N).

        Parameters
        ----------
        family : Family
            The family of the q's.
        features : (N, P) array
            One row of :func:`unit_features` per training unit.
        fitted : list of GaussianPosterior
            The N exactly fitted q's.

        Returns
        -------
        RidgeEncoder
            The encoder, with its ridge penalties and leave-one-out error.

        Raises
        ------
        ValueError
            When the rows and q's do not match, or there are none.
        """
        features = np.asarray(features, dtype=np.float64)
        if features.ndim != 2 or features.shape[0] != len(fitted) or not fitted:
            raise ValueError("the encoder needs one feature row per fitted q, and at least one")
        targets = np.array([q_parameters(q) for q in fitted])
        feature_mean = features.mean(axis=0)
        scale = features.std(axis=0)
        feature_scale = np.where(scale > 1e-12 * np.maximum(1.0, np.abs(feature_mean)), scale, np.inf)
        standardised = (features - feature_mean) / feature_scale
        target_mean = targets.mean(axis=0)
        centred = targets - target_mean
        weights, penalties, loo_rmse = _ridge_with_loo(standardised, centred)
        return cls(family, feature_mean, feature_scale, target_mean, weights, penalties, loo_rmse, len(fitted))

    def encode(self, features: np.ndarray) -> GaussianPosterior:
        """q for one unit's features (P,): one forward pass.

        Parameters
        ----------
        features : (P,) array
            One unit's features.

        Returns
        -------
        GaussianPosterior
            The encoder's q.
        """
        standardised = (np.asarray(features, dtype=np.float64) - self.feature_mean) / self.feature_scale
        return q_from_parameters(self.family, self.target_mean + standardised @ self.weights)


def _ridge_with_loo(inputs: np.ndarray, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ridge weights (P, K) of centred ``targets`` (N, K) on centred ``inputs`` (N, P), a penalty per column.

    For a penalty a, the hat matrix is H = 1/N + U diag(s^2 / (s^2 + a)) U'
    (the 1/N of the intercept); the leave-one-out residual of unit n is
    (y_n - (H y)_n) / (1 - H_nn).  Each column keeps the grid penalty with
    the smallest leave-one-out squared error (with fewer than 3 units, the
    largest penalty).
    """
    n_units = inputs.shape[0]
    left, singular, right_t = np.linalg.svd(inputs, full_matrices=False)
    top = float(singular[0]) ** 2 if singular.size and singular[0] > 0 else 1.0
    grid = PENALTY_GRID * top
    projected = left.T @ targets  # (R, K)
    best_error = np.full(targets.shape[1], np.inf)
    best_penalty = np.full(targets.shape[1], grid[-1])
    if n_units >= 3:
        for penalty in grid:
            shrink = singular ** 2 / (singular ** 2 + penalty)
            fitted = left @ (shrink[:, None] * projected)
            leverage = 1.0 / n_units + np.einsum("nr,r,nr->n", left, shrink, left)
            residual = (targets - fitted) / np.maximum(1.0 - leverage, 1e-12)[:, None]
            error = np.mean(residual ** 2, axis=0)
            better = error < best_error
            best_error[better] = error[better]
            best_penalty[better] = penalty
    gains = singular[:, None] / (singular[:, None] ** 2 + best_penalty[None, :])  # (R, K)
    weights = right_t.T @ (gains * projected)
    loo_rmse = np.sqrt(best_error) if n_units >= 3 else np.full(targets.shape[1], np.nan)
    return weights, best_penalty, loo_rmse
