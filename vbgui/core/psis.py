"""Pareto-smoothed importance sampling (PSIS) and importance-weighted evidence.

Importance sampling with a proposal q: for draws w_s ~ q, s = 1..S, the raw
log weights are

    log r_s = log p(y, w_s) - log q(w_s),

and sum_s r_s f(w_s) / sum_s r_s estimates E_posterior[f].  When q is
narrower than the posterior the weights are heavy-tailed and a few of them
dominate.  PSIS (Vehtari, Simpson, Gelman, Yao & Gabry 2015/2024, "Pareto
smoothed importance sampling") stabilises them:

1. take the M = ceil(min(0.2 S, 3 sqrt(S))) largest weights; u is the
   largest weight not among them (the threshold);
2. fit a generalized Pareto distribution GPD(k, sigma) to the exceedances
   r - u of those M weights, with the estimator of Zhang & Stephens (2009)
   and the weakly informative prior of Vehtari et al. that shrinks k
   towards 0.5 as if by 10 extra observations: k_hat = (M k + 5) / (M + 10);
3. replace the M largest weights, in order, by the expected order
   statistics u + F^-1((z - 1/2) / M), z = 1..M, of the fitted GPD,
   F^-1(p) = sigma ((1 - p)^-k - 1) / k;
4. truncate every smoothed weight at the largest raw weight.

k_hat is also the diagnostic: the tail of the weights has finite variance
for k < 0.5, and Vehtari et al. show that the estimates stay reliable up to
k < 0.7 for practical sample sizes.  Verdicts: good (k < 0.5), unreliable
(0.5 <= k < 0.7), poor (k >= 0.7).

The importance-weighted evidence estimate (Burda, Grosse & Salakhutdinov
2016) is the log of the mean raw weight:

    L_K = log (1/K sum_k r_k),    E[L_K] <= log p(y),    E[L_K] >= ELBO(q),

since E_q[r] = p(y) (Jensen's inequality on the concave log gives the
first; the second because the bound tightens with K, L_1 being the ELBO).
Its Monte Carlo standard error follows from the delta method:
se(L_K) = sd(r) / (sqrt(K) mean(r)).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.linalg import solve_triangular
from scipy.special import logsumexp

from vbgui.core.families import GaussianPosterior

GOOD_KHAT = 0.5
RELIABLE_KHAT = 0.7
# Prior on the GPD shape (Vehtari et al.): k shrunk towards 0.5 with this weight in observations.
PRIOR_K_WEIGHT = 10.0
PRIOR_K_CENTRE = 0.5
# Largest log weights closer than this to one another are equal to rounding: the tail is flat.
FLAT_TAIL_LOG_SPREAD = 1e-8
MIN_TAIL = 5


@dataclass(frozen=True, eq=False)
class PsisResult:
    """Smoothed, normalised log weights (sum exp = 1), k_hat, the tail length M and the
    effective sample size 1 / sum w_s^2 of the smoothed normalised weights."""

    log_weights: np.ndarray
    khat: float
    tail_length: int
    ess: float

    @property
    def weights(self) -> np.ndarray:
        return np.exp(self.log_weights)

    @property
    def verdict(self) -> str:
        return khat_verdict(self.khat)


def khat_verdict(khat: float) -> str:
    """'good' for k < 0.5, 'unreliable' for 0.5 <= k < 0.7, 'poor' above (and for NaN).

    Parameters
    ----------
    khat : float
        The Pareto shape estimate k_hat.

    Returns
    -------
    str
        'good', 'unreliable' or 'poor'.
    """
    if khat < GOOD_KHAT:
        return "good"
    if khat < RELIABLE_KHAT:
        return "unreliable"
    return "poor"


def fit_generalized_pareto(exceedances: np.ndarray, prior: bool = True) -> tuple[float, float]:
    """Fit GPD(k, sigma) to positive exceedances x (any order) by Zhang & Stephens (2009).

    The density is f(x) = (1/sigma) (1 + k x / sigma)^(-1/k - 1), x > 0.
    With b = -k / sigma, the maximum-likelihood k for a fixed b is
    k(b) = mean(log(1 - b x)) and the profile log-likelihood is
    l(b) = n (log(-b / k(b)) - k(b) - 1).  The estimate averages b over the
    m = 30 + floor(sqrt(n)) candidates
    b_j = 1 / x_(n) + (1 - sqrt(m / (j - 1/2))) / (3 x_(n/4)), j = 1..m,
    weighted by exp(l(b_j)) (an empirical-Bayes posterior mean); then
    k = k(b_hat) and sigma = -k / b_hat.  ``prior`` applies the weakly
    informative prior of Vehtari et al.: k <- (n k + 10 * 0.5) / (n + 10).
    Returns (k, sigma).

    Parameters
    ----------
    exceedances : (n,) array
        Positive exceedances over the threshold, n >= MIN_TAIL.
    prior : bool
        Apply the prior on k.

    Returns
    -------
    k : float
        The shape.
    sigma : float
        The scale, in the units of the exceedances.

    Raises
    ------
    ValueError
        With fewer than MIN_TAIL exceedances.
    """
    x = np.sort(np.asarray(exceedances, dtype=np.float64))
    n = x.size
    if n < MIN_TAIL:
        raise ValueError(f"a generalized Pareto fit needs at least {MIN_TAIL} exceedances, got {n}")
    prior_bs = 3.0
    n_candidates = 30 + int(np.sqrt(n))
    b = 1.0 - np.sqrt(n_candidates / (np.arange(1, n_candidates + 1) - 0.5))
    b /= prior_bs * x[int(n / 4 + 0.5) - 1]
    b += 1.0 / x[-1]
    k_of_b = np.mean(np.log1p(-b[:, None] * x[None, :]), axis=1)  # = the usual shape k for each b
    profile = n * (np.log(-b / k_of_b) - k_of_b - 1.0)
    weights = np.exp(profile - logsumexp(profile))  # = 1 / sum_i exp(l_i - l_j), without overflow
    keep = weights >= 10.0 * np.finfo(float).eps
    weights = weights[keep] / np.sum(weights[keep])
    b_post = float(np.sum(b[keep] * weights))
    k = float(np.mean(np.log1p(-b_post * x)))
    sigma = -k / b_post
    if prior:
        k = (n * k + PRIOR_K_WEIGHT * PRIOR_K_CENTRE) / (n + PRIOR_K_WEIGHT)
    return k, float(sigma)


def generalized_pareto_quantile(p: np.ndarray, k: float, sigma: float) -> np.ndarray:
    """F^-1(p) = sigma ((1 - p)^-k - 1) / k of GPD(k, sigma) (k = 0: the exponential).

    Parameters
    ----------
    p : array
        Probabilities in [0, 1), any shape.
    k : float
        The shape.
    sigma : float
        The scale.

    Returns
    -------
    array
        The quantiles, the shape of p.
    """
    p = np.asarray(p, dtype=np.float64)
    if abs(k) < 1e-12:
        return -sigma * np.log1p(-p)
    return sigma * np.expm1(-k * np.log1p(-p)) / k


def tail_length(n_draws: int) -> int:
    """M = ceil(min(0.2 S, 3 sqrt(S))).

    Parameters
    ----------
    n_draws : int
        Number of draws S.

    Returns
    -------
    int
        The tail length M.
    """
    return int(np.ceil(min(0.2 * n_draws, 3.0 * np.sqrt(n_draws))))


def psis(log_ratios: np.ndarray) -> PsisResult:
    """Pareto-smooth the raw log importance ratios log r_s (S,); see the module docstring.

    When the M + 1 largest log ratios agree to within 1e-8 (weights equal to
    rounding, as when q is the posterior itself) there is no tail to fit:
    the weights are left as they are and k_hat is reported as -1, the shape
    of a bounded (uniform) tail.  With fewer than 5 tail draws k_hat is inf.

    Parameters
    ----------
    log_ratios : (S,) array
        Finite raw log weights log p(y, w_s) - log q(w_s), S >= 2.

    Returns
    -------
    PsisResult
        The smoothed normalised log weights (S,), k_hat, M and the effective sample size.

    Raises
    ------
    ValueError
        When log_ratios is not a finite 1-D array of at least 2 values.
    """
    log_ratios = np.asarray(log_ratios, dtype=np.float64)
    n_draws = log_ratios.size
    if log_ratios.ndim != 1 or n_draws < 2 or not np.all(np.isfinite(log_ratios)):
        raise ValueError("psis needs a finite one-dimensional array of at least 2 log ratios")
    smoothed = log_ratios - np.max(log_ratios)
    m = min(tail_length(n_draws), n_draws - 1)
    order = np.argsort(smoothed)
    tail_index = order[-m:]
    threshold = smoothed[order[-m - 1]]
    if -threshold <= FLAT_TAIL_LOG_SPREAD:
        khat = -1.0
    elif m < MIN_TAIL:
        khat = float("inf")
    else:
        exp_threshold = np.exp(threshold)
        exceedances = np.exp(smoothed[tail_index]) - exp_threshold
        khat, sigma = fit_generalized_pareto(exceedances)
        if np.isfinite(khat):
            expected = generalized_pareto_quantile((np.arange(m) + 0.5) / m, khat, sigma)
            smoothed[tail_index] = np.log(expected + exp_threshold)
            np.minimum(smoothed, 0.0, out=smoothed)  # truncate at the largest raw weight
    smoothed -= logsumexp(smoothed)
    ess = float(1.0 / np.sum(np.exp(2.0 * smoothed)))
    return PsisResult(smoothed, float(khat), int(m), ess)


@dataclass(frozen=True)
class EvidenceEstimate:
    """log (1/K sum_k r_k) and its delta-method Monte Carlo standard error, in nats."""

    log_evidence: float
    standard_error: float
    n_draws: int


def importance_weighted_evidence(log_ratios: np.ndarray) -> EvidenceEstimate:
    """L_K = logsumexp(log r) - log K, se = sd(r) / (sqrt(K) mean(r)) (computed on r / max r).

    Parameters
    ----------
    log_ratios : (K,) array
        Finite raw log weights log p(y, w_k) - log q(w_k), K >= 2.

    Returns
    -------
    EvidenceEstimate
        L_K and its standard error, in nats, and K.

    Raises
    ------
    ValueError
        With fewer than 2 draws or a non-finite ratio.
    """
    log_ratios = np.asarray(log_ratios, dtype=np.float64)
    n_draws = log_ratios.size
    if n_draws < 2 or not np.all(np.isfinite(log_ratios)):
        raise ValueError("the importance-weighted evidence needs at least 2 finite log ratios")
    estimate = float(logsumexp(log_ratios) - np.log(n_draws))
    scaled = np.exp(log_ratios - np.max(log_ratios))
    standard_error = float(np.std(scaled, ddof=1) / (np.sqrt(n_draws) * np.mean(scaled)))
    return EvidenceEstimate(estimate, standard_error, int(n_draws))


def gaussian_log_density(q: GaussianPosterior, weights: np.ndarray) -> np.ndarray:
    """log q(w) = -D/2 log 2pi - sum_i log L_ii - |L^-1 (w - m)|^2 / 2 for the rows of ``weights`` (K, D).

    Parameters
    ----------
    q : GaussianPosterior
        The Gaussian, D parameters.
    weights : (K, D) or (D,) array
        The points.

    Returns
    -------
    (K,) array
        log q, in nats.
    """
    whitened = solve_triangular(q.chol, (np.atleast_2d(weights) - q.mean).T, lower=True)
    return (-0.5 * q.dim * np.log(2.0 * np.pi) - float(np.sum(np.log(np.diag(q.chol))))
            - 0.5 * np.sum(whitened ** 2, axis=0))
