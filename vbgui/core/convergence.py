"""Convergence diagnostics of Markov chains: split R-hat and effective sample sizes.

Following Vehtari, Gelman, Simpson, Carpenter & Buerkner (2021), "Rank-
normalization, folding, and localization: an improved R-hat":

* Split chains: each of the M chains of N draws is cut into two halves, so
  that a trend within a chain shows up as disagreement between halves.
* For split chains theta_mn (m = 1..2M, n = 1..N/2), with chain means
  theta_m, their mean theta, W the mean within-chain variance and
  B = N/2 * var_m(theta_m):

      var_plus = (N/2 - 1)/(N/2) W + B / (N/2),    R-hat = sqrt(var_plus / W).

* Rank normalization: all draws are replaced by
  z = Phi^-1((rank - 3/8) / (S + 1/4)) before computing R-hat, which makes
  it robust to heavy tails; the *folded* draws |theta - median| catch chains
  that agree in location but not in scale.  R-hat = max(bulk, tail), and
  a run is taken as converged when R-hat < 1.01.
* Effective sample size (Geyer's initial monotone sequence): with the
  autocorrelation rho_t estimated across chains as
  rho_t = 1 - (W - mean_m acov_m(t)) / var_plus,
  ESS = M N / (-1 + 2 sum_{t=0}^{2k+1} rho_t), summing pairs
  P_k = rho_2k + rho_2k+1 while positive, made monotone.  The *bulk* ESS is
  the ESS of the rank-normalized split chains; the ESS of the mean is that
  of the raw split chains (used for Monte Carlo standard errors).

Arrays are (chains, draws) for one quantity, or (chains, draws, D) for D.
"""
from __future__ import annotations

import numpy as np
from scipy.special import ndtri
from scipy.stats import rankdata

RHAT_THRESHOLD = 1.01


def _as_chains(draws: np.ndarray) -> np.ndarray:
    """(chains, draws) float64; at least 2 chains of at least 4 draws."""
    draws = np.asarray(draws, dtype=np.float64)
    if draws.ndim != 2 or draws.shape[0] < 1 or draws.shape[1] < 4:
        raise ValueError(f"need (chains, draws) with at least 4 draws, got shape {draws.shape}")
    return draws


def split_chains(draws: np.ndarray) -> np.ndarray:
    """Cut each chain into two halves (dropping the middle draw of an odd length): (2M, N // 2).

    Parameters
    ----------
    draws : (M, N) array
        M chains of N draws of one scalar, N >= 4.

    Returns
    -------
    (2M, N // 2) array
        The halves, first halves of all chains before second halves.
    """
    draws = _as_chains(draws)
    half = draws.shape[1] // 2
    return np.concatenate([draws[:, :half], draws[:, -half:]], axis=0)


def rank_normalize(draws: np.ndarray) -> np.ndarray:
    """z = Phi^-1((r - 3/8) / (S + 1/4)) with r the average rank of each draw among all S draws.

    Parameters
    ----------
    draws : array
        Draws of one scalar, any shape.

    Returns
    -------
    array
        z, the shape of draws.
    """
    draws = np.asarray(draws, dtype=np.float64)
    ranks = rankdata(draws, method="average").reshape(draws.shape)
    return ndtri((ranks - 0.375) / (draws.size + 0.25))


def _basic_rhat(chains: np.ndarray) -> float:
    """sqrt(var_plus / W) of already-split chains (M, N)."""
    n = chains.shape[1]
    within = float(np.mean(np.var(chains, axis=1, ddof=1)))
    between = n * float(np.var(np.mean(chains, axis=1), ddof=1)) if chains.shape[0] > 1 else 0.0
    if within <= 0.0:
        return 1.0 if between <= 0.0 else float("inf")
    var_plus = (n - 1) / n * within + between / n
    return float(np.sqrt(var_plus / within))


def split_rhat(draws: np.ndarray) -> float:
    """The classic split R-hat (no rank normalization) of (chains, draws).

    Parameters
    ----------
    draws : (M, N) array
        M chains of N draws of one scalar, N >= 4.

    Returns
    -------
    float
        R-hat (1 at convergence).
    """
    return _basic_rhat(split_chains(draws))


def rhat(draws: np.ndarray) -> float:
    """Rank-normalized split R-hat: max of the bulk and the folded (tail) R-hat.

    Parameters
    ----------
    draws : (M, N) array
        M chains of N draws of one scalar, N >= 4.

    Returns
    -------
    float
        R-hat (1 at convergence).
    """
    chains = split_chains(draws)
    bulk = _basic_rhat(rank_normalize(chains))
    folded = np.abs(chains - np.median(chains))
    tail = _basic_rhat(rank_normalize(folded))
    return max(bulk, tail)


def _autocovariance(chain: np.ndarray) -> np.ndarray:
    """Biased autocovariance acov(t) = 1/N sum_n (x_n - x)(x_{n+t} - x), by FFT."""
    n = chain.size
    centred = chain - chain.mean()
    size = 1 << int(np.ceil(np.log2(2 * n)))
    spectrum = np.fft.rfft(centred, size)
    return np.fft.irfft(spectrum * np.conj(spectrum), size)[:n] / n


def _ess_of_chains(chains: np.ndarray) -> float:
    """Geyer's initial-monotone-sequence ESS of (M, N) chains (see the module docstring)."""
    n_chains, n = chains.shape
    acov = np.array([_autocovariance(c) for c in chains])
    chain_var = acov[:, 0] * n / (n - 1)
    within = float(np.mean(chain_var))
    var_plus = within * (n - 1) / n
    if n_chains > 1:
        var_plus += float(np.var(np.mean(chains, axis=1), ddof=1))
    if var_plus <= 0.0:
        return float(n_chains * n)
    rho = 1.0 - (within - np.mean(acov, axis=0)) / var_plus
    rho[0] = 1.0
    # Pairs P_k = rho_2k + rho_2k+1 while positive, then made non-increasing.
    n_pairs = n // 2
    pairs = rho[0:2 * n_pairs:2] + rho[1:2 * n_pairs:2]
    positive = pairs > 0.0
    last = int(np.argmin(positive)) if not np.all(positive) else n_pairs
    pairs = np.minimum.accumulate(pairs[:last]) if last > 0 else pairs[:1]
    tau = -1.0 + 2.0 * float(np.sum(pairs))
    tau = max(tau, 1.0 / np.log10(n_chains * n))  # the cap Stan uses for antithetic chains
    return float(n_chains * n / tau)


def ess_mean(draws: np.ndarray) -> float:
    """ESS for the mean: Geyer ESS of the raw split chains.

    Parameters
    ----------
    draws : (M, N) array
        M chains of N draws of one scalar, N >= 4.

    Returns
    -------
    float
        Effective sample size, in draws.
    """
    return _ess_of_chains(split_chains(draws))


def ess_bulk(draws: np.ndarray) -> float:
    """Bulk ESS: Geyer ESS of the rank-normalized split chains.

    Parameters
    ----------
    draws : (M, N) array
        M chains of N draws of one scalar, N >= 4.

    Returns
    -------
    float
        Effective sample size, in draws.
    """
    return _ess_of_chains(rank_normalize(split_chains(draws)))


def mcse_mean(draws: np.ndarray) -> float:
    """Monte Carlo standard error of the posterior mean: sd / sqrt(ESS_mean).

    Parameters
    ----------
    draws : (M, N) array
        M chains of N draws of one scalar, N >= 4.

    Returns
    -------
    float
        In the units of the draws.
    """
    draws = _as_chains(draws)
    return float(np.std(draws, ddof=1) / np.sqrt(ess_mean(draws)))


def mcse_sd(draws: np.ndarray) -> float:
    """Monte Carlo standard error of the posterior sd, by the delta method.

    With v = E[(x - mu)^2], se(v) = sd((x - mu)^2) / sqrt(ESS of (x - mu)^2)
    and se(sd) = se(v) / (2 sqrt(v)).

    Parameters
    ----------
    draws : (M, N) array
        M chains of N draws of one scalar, N >= 4.

    Returns
    -------
    float
        In the units of the draws.
    """
    draws = _as_chains(draws)
    squared = (draws - np.mean(draws)) ** 2
    variance = float(np.mean(squared))
    se_variance = float(np.std(squared, ddof=1) / np.sqrt(ess_mean(squared)))
    return se_variance / (2.0 * np.sqrt(variance))


def summarize(draws: np.ndarray) -> dict[str, np.ndarray]:
    """Per-parameter rhat, ess_bulk, ess_mean, mcse_mean, mcse_sd of (chains, draws, D).

    Parameters
    ----------
    draws : (M, N, D) array
        M chains of N draws of D parameters.

    Returns
    -------
    dict of str to (D,) array
        Keys 'rhat', 'ess_bulk', 'ess_mean', 'mcse_mean', 'mcse_sd'.
    """
    draws = np.asarray(draws, dtype=np.float64)
    if draws.ndim != 3:
        raise ValueError(f"need (chains, draws, D), got shape {draws.shape}")
    columns = [draws[:, :, d] for d in range(draws.shape[2])]
    return {
        "rhat": np.array([rhat(c) for c in columns]),
        "ess_bulk": np.array([ess_bulk(c) for c in columns]),
        "ess_mean": np.array([ess_mean(c) for c in columns]),
        "mcse_mean": np.array([mcse_mean(c) for c in columns]),
        "mcse_sd": np.array([mcse_sd(c) for c in columns]),
    }
