"""The exact posterior of a GLM by Hamiltonian Monte Carlo, and its log joint density.

Target: log p(w | y) = log p(y | X w) + log p(w) - log p(y), with the prior
p(w) = N(0, s^2 I).  The log joint and its gradient in w are

    log p(y, w) = sum_t log p(y_t | x_t'w) - |w|^2 / (2 s^2) - D/2 log(2 pi s^2),
    grad        = X' g - w / s^2,        g_t = d log p(y_t | eta) / d eta,

with g from the likelihood's one definition
(:mod:`vbgui.core.likelihoods.registry`).  One pass over the data serves all
chains at once (:func:`vbgui.core.elbo.log_likelihood_of_draws`).

Sampler: static HMC with a jittered integration time, in coordinates
whitened by the metric.  With the inverse metric Sigma = A A' (dense: A its
Cholesky factor; diagonal: A = diag(sqrt(Sigma_ii))), positions are
w = A z, the log density in z has gradient A' grad_w, momenta are
p ~ N(0, I) and the Hamiltonian is H = -log p(y, A z) + |p|^2 / 2.  Each
iteration draws p, takes n = ceil(tau / eps) leapfrog steps

    p <- p + eps/2 grad(z),  z <- z + eps p,  p <- p + eps/2 grad(z),

with tau ~ Uniform(TAU_RANGE) (for a standard normal target, tau in
[pi/4, 3pi/4] makes the expected lag-1 autocorrelation cos(tau) zero), and
accepts with probability min(1, exp(H_0 - H_n)).  An energy error above
1000 (or a non-finite one) is a divergence and is rejected.

Adaptation in warm-up, as Stan does it: the step size by dual averaging
(Hoffman & Gelman 2014) towards a mean acceptance ``target_accept``; the
metric in Stan's windows (a fast initial buffer, slow windows of doubling
size, a fast terminal buffer), each slow window ending with the metric set
to the covariance of that window's draws, shrunk towards the previous metric
as if the previous metric were worth D (dense) or 5 (diagonal) draws:
Sigma = (N Sigma_hat + n0 Sigma_prev) / (N + n0).  The metric starts at the
covariance of the variational fit the chains start from, so a good fit
makes warm-up short.  The chains advance together and share the step size
and the metric (their warm-up draws and acceptance rates are pooled); after
warm-up they are independent Markov chains with the same kernel, so R-hat
is meaningful.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from vbgui.core.cancel import CancelToken
from vbgui.core.convergence import RHAT_THRESHOLD, ess_bulk, ess_mean, rhat
from vbgui.core.elbo import GLMProblem, log_likelihood_of_draws

TAU_RANGE = (0.25 * math.pi, 0.75 * math.pi)
DIVERGENCE_ENERGY = 1000.0


# --------------------------------------------------------------------------- the target


def log_prior(problem: GLMProblem, weights: np.ndarray) -> np.ndarray:
    """log N(w; 0, s^2 I) for every row of ``weights`` (K, D).

    Parameters
    ----------
    problem : GLMProblem
        Gives the prior scale s and D.
    weights : (K, D) array
        One weight vector per row.

    Returns
    -------
    (K,) array
        Nats.
    """
    s2 = problem.prior_scale ** 2
    return -0.5 * np.sum(weights ** 2, axis=1) / s2 - 0.5 * problem.dim * np.log(2.0 * np.pi * s2)


def log_joint(problem: GLMProblem, weights: np.ndarray, cancel: CancelToken | None = None) -> np.ndarray:
    """log p(y, w_k) = log p(y | X w_k) + log p(w_k), all constants included, for (K, D) weights.

    Parameters
    ----------
    problem : GLMProblem
        The GLM.
    weights : (K, D) or (D,) array
        Weight vectors, one per row.
    cancel : CancelToken, optional
        Checked during the pass over the data.

    Returns
    -------
    (K,) array
        Nats.
    """
    weights = np.atleast_2d(np.asarray(weights, dtype=np.float64))
    loglik, _ = log_likelihood_of_draws(problem, weights, cancel)
    return loglik + log_prior(problem, weights)


class LogPosterior:
    """log p(y, w) and its gradient for a batch of weight vectors, one data pass per call."""

    def __init__(self, problem: GLMProblem, cancel: CancelToken | None = None) -> None:
        self.problem = problem
        self.cancel = cancel
        self.n_evaluations = 0

    def __call__(self, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return log p(y, w_c) (C,) and d/dw (C, D) for the rows of ``weights`` (C, D)."""
        p = self.problem
        weights = np.ascontiguousarray(weights, dtype=np.float64)
        self.n_evaluations += weights.shape[0]
        loglik, grad = log_likelihood_of_draws(p, weights, self.cancel, want_gradient=True)
        return loglik + log_prior(p, weights), grad - weights / p.prior_scale ** 2


# --------------------------------------------------------------------------- the sampler


@dataclass(frozen=True)
class HmcSettings:
    """Chains, warm-up and kept iterations per chain, seed, metric ('dense' or 'diag'),
    target acceptance of the step-size adaptation, and a cap on leapfrog steps per iteration."""

    chains: int = 4
    warmup: int = 300
    draws: int = 500
    seed: int = 0
    metric: str = "dense"
    target_accept: float = 0.8
    max_leapfrog: int = 1024

    def __post_init__(self) -> None:
        if self.chains < 1 or self.draws < 4 or self.warmup < 0:
            raise ValueError("HMC needs at least 1 chain, 4 draws and a non-negative warm-up")
        if self.metric not in ("dense", "diag"):
            raise ValueError(f"metric must be 'dense' or 'diag', got {self.metric!r}")
        if not 0.0 < self.target_accept < 1.0:
            raise ValueError("target_accept must lie in (0, 1)")


@dataclass(frozen=True)
class HmcProgress:
    """One iteration of all chains: ``phase`` is 'warmup' or 'sampling'; ``iteration`` counts
    from 1 over warm-up and sampling together, up to ``total``."""

    iteration: int
    total: int
    phase: str
    step_size: float
    accept_rate: float
    divergences: int
    elapsed: float


@dataclass(frozen=True, eq=False)
class HmcResult:
    """Kept draws (chains, draws, D), the adapted step size and inverse metric, acceptance,
    divergences, gradient evaluations per chain, and the convergence summary per parameter."""

    draws: np.ndarray
    step_size: float
    inverse_metric: np.ndarray
    accept_rate: float
    divergences: int
    gradient_evaluations: int
    rhat: np.ndarray
    ess_bulk: np.ndarray
    ess_mean: np.ndarray
    warmup_seconds: float
    sampling_seconds: float
    settings: HmcSettings = field(default_factory=HmcSettings)

    @property
    def converged(self) -> bool:
        """Every split R-hat below 1.01 (rank-normalized, bulk and tail) and no divergence."""
        return bool(np.all(self.rhat < RHAT_THRESHOLD) and self.divergences == 0)

    @property
    def flat_draws(self) -> np.ndarray:
        return self.draws.reshape(-1, self.draws.shape[2])

    @property
    def seconds(self) -> float:
        return self.warmup_seconds + self.sampling_seconds

    def summary_message(self) -> str:
        """One line: chains x draws, max R-hat, min bulk ESS, divergences; prefixed "NOT converged: " unless converged.

        Returns
        -------
        str
            The line.
        """
        text = (f"{self.draws.shape[0]} chains x {self.draws.shape[1]} draws, max R-hat {np.max(self.rhat):.4f}, "
                f"min bulk ESS {np.min(self.ess_bulk):.0f}, {self.divergences} divergences")
        return text if self.converged else "NOT converged: " + text


def adaptation_windows(warmup: int) -> list[tuple[int, int]]:
    """Stan's slow windows [start, end) of warm-up iterations (0-based).

    Initial buffer 75, first window 25 (doubling), terminal buffer 50; when
    warm-up is shorter than 150, 15 % / 75 % / 10 %.  A window is stretched
    to the terminal buffer when the next one (twice as long) would not fit.

    Parameters
    ----------
    warmup : int
        Number of warm-up iterations.

    Returns
    -------
    list of (int, int)
        The windows in order; empty for fewer than 20 warm-up iterations.
    """
    init_buffer, base_window, term_buffer = 75, 25, 50
    if warmup < 20:
        return []
    if init_buffer + base_window + term_buffer > warmup:
        init_buffer = int(0.15 * warmup)
        term_buffer = int(0.1 * warmup)
        base_window = warmup - init_buffer - term_buffer
    slow_end = warmup - term_buffer
    windows = []
    start, size = init_buffer, base_window
    while start < slow_end:
        end = start + size
        if end + 2 * size > slow_end:
            end = slow_end
        windows.append((start, end))
        start, size = end, 2 * size
    return windows


class _DualAveraging:
    """Hoffman & Gelman (2014), Algorithm 5: log eps_t = mu - sqrt(t)/gamma * H_t,
    H_t the running mean of (target - accept), averaged iterates with weight t^-kappa."""

    def __init__(self, step_size: float, target: float, gamma: float = 0.05, t0: float = 10.0,
                 kappa: float = 0.75) -> None:
        self.target, self.gamma, self.t0, self.kappa = target, gamma, t0, kappa
        self.restart(step_size)

    def restart(self, step_size: float) -> None:
        self.mu = math.log(10.0 * step_size)
        self.t = 0
        self.h_bar = 0.0
        self.log_step = math.log(step_size)
        self.log_step_bar = 0.0

    def update(self, accept: float) -> float:
        self.t += 1
        eta = 1.0 / (self.t + self.t0)
        self.h_bar = (1.0 - eta) * self.h_bar + eta * (self.target - accept)
        self.log_step = self.mu - math.sqrt(self.t) / self.gamma * self.h_bar
        weight = self.t ** -self.kappa
        self.log_step_bar = weight * self.log_step + (1.0 - weight) * self.log_step_bar
        return math.exp(self.log_step)

    @property
    def final_step_size(self) -> float:
        return math.exp(self.log_step_bar)


class _Chains:
    """Positions of all chains in whitened coordinates z (w = A z) with their log density and gradient."""

    def __init__(self, target: LogPosterior, weights: np.ndarray, factor: np.ndarray) -> None:
        self.target = target
        self.set_factor(factor, weights)

    def set_factor(self, factor: np.ndarray, weights: np.ndarray) -> None:
        self.factor = factor
        self.z = np.linalg.solve(factor, weights.T).T
        self.logp, grad_w = self.target(weights)
        self.grad = grad_w @ factor

    @property
    def weights(self) -> np.ndarray:
        return self.z @ self.factor.T

    def evaluate(self, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        logp, grad_w = self.target(z @ self.factor.T)
        return logp, grad_w @ self.factor

    def transition(self, rng: np.random.Generator, step_size: float, n_steps: int) -> tuple[np.ndarray, np.ndarray]:
        """One HMC iteration of every chain; returns (acceptance probability, divergent) per chain."""
        momentum = rng.standard_normal(self.z.shape)
        energy0 = -self.logp + 0.5 * np.sum(momentum ** 2, axis=1)
        z, logp, grad = self.z, self.logp, self.grad
        with np.errstate(over="ignore", invalid="ignore"):
            momentum = momentum + 0.5 * step_size * grad
            for step in range(n_steps):
                z = z + step_size * momentum
                logp, grad = self.evaluate(z)
                if step < n_steps - 1:
                    momentum = momentum + step_size * grad
            momentum = momentum + 0.5 * step_size * grad
            energy = -logp + 0.5 * np.sum(momentum ** 2, axis=1)
            delta = energy - energy0
            finite = np.isfinite(delta) & np.all(np.isfinite(grad), axis=1)
            divergent = ~finite | (delta > DIVERGENCE_ENERGY)
            accept_prob = np.where(finite, np.exp(np.minimum(0.0, -np.where(finite, delta, 0.0))), 0.0)
        accept = (rng.random(z.shape[0]) < accept_prob) & ~divergent
        self.z = np.where(accept[:, None], z, self.z)
        self.logp = np.where(accept, logp, self.logp)
        self.grad = np.where(accept[:, None], grad, self.grad)
        return accept_prob, divergent


def _metric_factor(inverse_metric: np.ndarray, kind: str) -> np.ndarray:
    if kind == "diag":
        return np.diag(np.sqrt(np.diag(inverse_metric)))
    return np.linalg.cholesky(inverse_metric)


def _initial_step_size(chains: _Chains, rng: np.random.Generator, target: float) -> float:
    """Stan's heuristic: from eps = 1 (natural in whitened coordinates), double while one
    leapfrog step's mean acceptance stays above ``target``, or halve while it stays below;
    the chains are not moved."""

    def acceptance(eps: float) -> float:
        momentum = rng.standard_normal(chains.z.shape)
        energy0 = -chains.logp + 0.5 * np.sum(momentum ** 2, axis=1)
        with np.errstate(over="ignore", invalid="ignore"):
            half = momentum + 0.5 * eps * chains.grad
            logp, grad = chains.evaluate(chains.z + eps * half)
            momentum = half + 0.5 * eps * grad
            delta = -logp + 0.5 * np.sum(momentum ** 2, axis=1) - energy0
            finite = np.isfinite(delta) & np.all(np.isfinite(grad), axis=1)
            prob = np.where(finite, np.exp(np.minimum(0.0, -np.where(finite, delta, 0.0))), 0.0)
        return float(np.mean(prob))

    step_size = 1.0
    direction = 1.0 if acceptance(step_size) > target else -1.0
    for _ in range(40):
        step_size *= 2.0 ** direction
        accept = acceptance(step_size)
        if (direction > 0 and not accept > target) or (direction < 0 and not accept < target):
            break
    return step_size


def sample(problem: GLMProblem, initial: np.ndarray, settings: HmcSettings = HmcSettings(),
           initial_inverse_metric: np.ndarray | None = None, cancel: CancelToken | None = None,
           on_progress: Callable[[HmcProgress], None] | None = None) -> HmcResult:
    """Run ``settings.chains`` HMC chains on the posterior of ``problem``.

    ``initial`` (chains, D) are the starting points, typically draws from the
    variational q; ``initial_inverse_metric`` (D, D) the starting metric,
    typically q's covariance (default: the covariance of ``initial``, or the
    prior's when there is a single chain).  ``on_progress`` is called after
    every iteration; ``cancel`` stops the run (raises
    :class:`~vbgui.core.cancel.FitCancelled`) within one data pass.

    Parameters
    ----------
    problem : GLMProblem
        The GLM whose posterior is sampled.
    initial : (chains, D) array
        Starting points.
    settings : HmcSettings
        Chains, iterations, seed, metric, target acceptance, leapfrog cap.
    initial_inverse_metric : (D, D) array, optional
        Starting inverse metric.
    cancel : CancelToken, optional
        Stops the run.
    on_progress : callable, optional
        Called with an HmcProgress after every iteration.

    Returns
    -------
    HmcResult
        Kept draws (chains, draws, D), adaptation, diagnostics and timings (seconds).

    Raises
    ------
    ValueError
        When initial has the wrong shape or the log posterior is not finite there.
    """
    initial = np.array(initial, dtype=np.float64, ndmin=2)
    n_chains, dim = initial.shape
    if n_chains != settings.chains or dim != problem.dim:
        raise ValueError(f"initial points must be ({settings.chains}, {problem.dim}), got {initial.shape}")
    if initial_inverse_metric is None:
        initial_inverse_metric = (np.cov(initial.T).reshape(dim, dim) + 1e-12 * np.eye(dim) if n_chains > dim
                                  else problem.prior_scale ** 2 * np.eye(dim))
    inverse_metric = np.array(initial_inverse_metric, dtype=np.float64)
    if settings.metric == "diag":
        inverse_metric = np.diag(np.diag(inverse_metric))
    rng = np.random.default_rng(settings.seed)
    target = LogPosterior(problem, cancel)
    chains = _Chains(target, initial, _metric_factor(inverse_metric, settings.metric))
    if not np.all(np.isfinite(chains.logp)):
        raise ValueError("the log posterior is not finite at the initial points")
    start = time.perf_counter()
    step_size = _initial_step_size(chains, rng, settings.target_accept)
    averaging = _DualAveraging(step_size, settings.target_accept)
    windows = adaptation_windows(settings.warmup)
    window_ends = {end: begin for begin, end in windows}
    window_draws: list[np.ndarray] = []
    prior_weight = float(dim if settings.metric == "dense" else 5)
    total = settings.warmup + settings.draws
    kept = np.empty((n_chains, settings.draws, dim))
    divergences = 0
    accept_sum = 0.0
    warmup_seconds = 0.0
    for iteration in range(total):
        warm = iteration < settings.warmup
        tau = rng.uniform(*TAU_RANGE)
        n_steps = int(min(settings.max_leapfrog, max(1, math.ceil(tau / step_size))))
        accept_prob, divergent = chains.transition(rng, step_size, n_steps)
        mean_accept = float(np.mean(accept_prob))
        if warm:
            step_size = averaging.update(mean_accept)
            if any(begin <= iteration < end for begin, end in windows):
                window_draws.append(chains.weights)
            if iteration + 1 in window_ends:
                pooled = np.concatenate(window_draws, axis=0)
                window_draws = []
                estimate = np.cov(pooled.T).reshape(dim, dim)
                if settings.metric == "diag":
                    estimate = np.diag(np.diag(estimate))
                n = pooled.shape[0]
                inverse_metric = (n * estimate + prior_weight * inverse_metric) / (n + prior_weight)
                chains.set_factor(_metric_factor(inverse_metric, settings.metric), chains.weights)
                step_size = _initial_step_size(chains, rng, settings.target_accept)
                averaging.restart(step_size)
            if iteration + 1 == settings.warmup:
                step_size = averaging.final_step_size
                warmup_seconds = time.perf_counter() - start
        else:
            kept[:, iteration - settings.warmup] = chains.weights
            divergences += int(np.sum(divergent))
            accept_sum += mean_accept
        if on_progress is not None:
            on_progress(HmcProgress(iteration + 1, total, "warmup" if warm else "sampling", step_size,
                                    mean_accept, divergences, time.perf_counter() - start))
    if settings.warmup == 0:
        warmup_seconds = 0.0
    sampling_seconds = time.perf_counter() - start - warmup_seconds
    columns = [kept[:, :, d] for d in range(dim)]
    return HmcResult(
        draws=kept, step_size=float(step_size), inverse_metric=inverse_metric,
        accept_rate=accept_sum / settings.draws, divergences=divergences,
        gradient_evaluations=int(target.n_evaluations // n_chains),
        rhat=np.array([rhat(c) for c in columns]),
        ess_bulk=np.array([ess_bulk(c) for c in columns]),
        ess_mean=np.array([ess_mean(c) for c in columns]),
        warmup_seconds=warmup_seconds, sampling_seconds=sampling_seconds, settings=settings)
