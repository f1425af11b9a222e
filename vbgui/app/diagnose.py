"""How good is a fit?  A reference posterior, diagnostics with a verdict, and the evidence.

For a fitted q (any family) of a GLM problem, :func:`diagnose` computes

* ``psis_khat`` and its verdict: PSIS (see :mod:`vbgui.core.psis`) of the
  importance ratios p(y, w) / q(w), w ~ q.  k-hat measures how far q is from
  the posterior in the sense that matters for importance sampling (Yao,
  Vehtari, Simpson & Gelman 2018, "Yes, but did it work?"): good < 0.5 <=
  unreliable < 0.7 <= poor.  k-hat is itself an estimate from the M largest
  weights, with standard error about (1 + k) / sqrt(M) (``psis_khat_se``):
  about 0.13 near 0.5 from 2,000 draws, so a q close to the posterior can
  land above 0.5 by chance.  When it lands in [0.5, CONFIRM_BELOW) the draws
  are multiplied by CONFIRM_FACTOR (one more batch), and the verdict is
  'unreliable' only when k-hat exceeds 0.5 by more than its standard error
  (:func:`khat_reading`); 'poor' (>= 0.7) is read from k-hat itself.
* ``iw_log_evidence`` = log (1/K sum_k p(y, w_k) / q(w_k)), w_k ~ q, with its
  Monte Carlo standard error; in expectation it lies between the ELBO and
  log p(y), so ``gap_estimate`` = iw_log_evidence - elbo estimates (from
  below) KL(q || posterior) = log p(y) - ELBO, in nats.
* a reference posterior, the best available of
    - ``exact``: the closed form of the linear-gaussian model;
    - ``psis``: importance sampling with the full-rank Gaussian q as the
      proposal (the fit's own q when it is full-rank, otherwise a full-rank
      q fitted from it), valid when its k-hat < 0.7, and fast (one batched
      pass over the data);
    - ``hmc``: Hamiltonian Monte Carlo (:mod:`vbgui.core.hmc`) started from
      draws of that proposal, with its covariance as the first metric;
      valid when every split R-hat < 1.01 and no transition diverged;
* ``evidence_estimate``: the best estimate of log p(y) at hand, the exact
  value for linear-gaussian, else the larger (both are lower bounds in
  expectation) of the importance-weighted estimates with q and with the
  full-rank proposal whose k-hat is < 0.7 (the model's evidence does not
  depend on the family of q; model comparison uses this);
* ``sd_ratio`` = sd under q / sd under the reference, per parameter (the
  variance under-estimation of mean-field made visible);
* ``flags``: sentences about anything that weakens the fit or the reference
  (the iteration cap, an ELBO still rising, a large k-hat, a sampler that
  did not converge).

Everything is plain data: :class:`Diagnostics` (``to_dict`` gives finite
JSON) and :class:`ReferencePosterior` (draws and weights, or the exact
Gaussian), which a GUI can use for contours and correlation heat maps.  Long
steps report through ``on_progress`` and stop on the cancel token (raising
:class:`~vbgui.core.cancel.FitCancelled`).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Any, Callable

import numpy as np

from vbgui.app.fit import FitSession
from vbgui.app.result import FitResult
from vbgui.core import hmc
from vbgui.core.conjugate import linear_gaussian_posterior
from vbgui.core.elbo import ExactEstimator, GLMProblem
from vbgui.core.families import Family, GaussianPosterior
from vbgui.core.generators import run_to_end
from vbgui.core.optimize import newton_fixed_point
from vbgui.core.psis import (GOOD_KHAT, RELIABLE_KHAT, EvidenceEstimate, PsisResult, gaussian_log_density,
                             importance_weighted_evidence, psis)
from vbgui.core.cancel import CancelToken

REFERENCE_KINDS = ("auto", "exact", "psis", "hmc")
MIN_REFERENCE_ESS = 100.0
# The ELBO counts as still rising when its trend at the end of the trace gains more than
# this many nats (see elbo_still_rising).
RISING_NATS = 0.01
# A k-hat in [0.5, CONFIRM_BELOW) from the first draws is confirmed on CONFIRM_FACTOR times as many: near
# 0.5 the estimate from 2,000 draws is too noisy to call a fit doubtful (full-rank fits 0.05 nats from
# their posterior scattered up to 0.66 there, and stayed below 0.56 from 8,000 draws).
CONFIRM_BELOW = 0.8
CONFIRM_FACTOR = 4


def khat_standard_error(khat: float, tail_length: int) -> float:
    """(1 + k) / sqrt(M): the asymptotic standard deviation of the maximum-likelihood estimate of a
    generalized Pareto shape k > -1/2 from M exceedances (Smith 1985); NaN for a k-hat that is not finite.

    Parameters
    ----------
    khat : float
        The estimated shape.
    tail_length : int
        Number of exceedances M.

    Returns
    -------
    float
        The standard error (k-hat below -1/2 counts as -1/2).
    """
    if not np.isfinite(khat) or tail_length < 1:
        return float("nan")
    return float((1.0 + max(khat, -0.5)) / np.sqrt(tail_length))


def khat_reading(khat: float, standard_error: float) -> str:
    """The verdict on a k-hat given its standard error: 'poor' from 0.7 up (k-hat itself: an alarm stays
    an alarm), 'unreliable' when k-hat exceeds 0.5 by more than its standard error, 'good' otherwise (below
    0.5, or within noise of it: the draws cannot tell such a q from a good one).

    Parameters
    ----------
    khat : float
        The PSIS k-hat.
    standard_error : float
        Its standard error (NaN counts as 0).

    Returns
    -------
    str
        'good', 'unreliable' or 'poor'.
    """
    if not khat < RELIABLE_KHAT:  # NaN and inf too
        return "poor"
    if khat - (standard_error if np.isfinite(standard_error) else 0.0) >= GOOD_KHAT:
        return "unreliable"
    return "good"


@dataclass(frozen=True)
class DiagnosticsSettings:
    """``draws``: K draws from q (and from the proposal) for PSIS and the evidence;
    ``reference``: 'auto' (exact, else PSIS when k-hat < 0.7, else HMC) or forced;
    ``hmc``: the sampler's settings when it runs."""

    draws: int = 2000
    seed: int = 0
    reference: str = "auto"
    hmc: hmc.HmcSettings = field(default_factory=lambda: hmc.HmcSettings(warmup=200, draws=500))

    def __post_init__(self) -> None:
        if self.draws < 10:
            raise ValueError("diagnostics need at least 10 draws from q")
        if self.reference not in REFERENCE_KINDS:
            raise ValueError(f"reference must be one of {', '.join(REFERENCE_KINDS)}, got {self.reference!r}")


@dataclass(frozen=True)
class DiagnosticsProgress:
    """``stage`` in 'importance', 'proposal', 'hmc'; ``fraction`` of the whole run done (0..1)."""

    stage: str
    fraction: float
    message: str
    elapsed: float


@dataclass(frozen=True, eq=False)
class ReferencePosterior:
    """The posterior a fit is compared with.

    ``kind`` 'exact': a Gaussian with ``mean`` and ``cov`` (``draws`` None).
    'psis': ``draws`` (N, D) from the proposal with normalised Pareto-smoothed
    ``weights`` (N,).  'hmc': ``draws`` (N, D) pooled over chains, equal
    weights (``weights`` None).  ``effective_draws`` is the ESS behind it
    (inf for 'exact', null in JSON); ``valid`` is False when
    it should not be drawn (HMC not converged, PSIS k-hat >= 0.7).
    """

    kind: str
    names: tuple[str, ...]
    mean: np.ndarray
    cov: np.ndarray
    draws: np.ndarray | None
    weights: np.ndarray | None
    effective_draws: float
    valid: bool
    description: str

    @property
    def sd(self) -> np.ndarray:
        return np.sqrt(np.diag(self.cov))

    @property
    def corr(self) -> np.ndarray:
        sd = self.sd
        return self.cov / np.outer(sd, sd)

    def pair(self, i: int, j: int) -> tuple[np.ndarray, np.ndarray]:
        """Draws (N, 2) of parameters (i, j) and their weights (N,) summing to one.

        For the exact reference, 4000 draws of the Gaussian (seeded) serve
        the same code path; the exact mean and cov are on the object too.

        Parameters
        ----------
        i, j : int
            The two parameters.

        Returns
        -------
        draws : (N, 2) array
            The draws of the pair.
        weights : (N,) array
            Their weights.
        """
        draws, weights = self._weighted_draws()
        return np.ascontiguousarray(draws[:, [i, j]]), weights

    def resample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """n equally weighted draws (N, D): multinomial resampling for PSIS, a subset for HMC.

        Parameters
        ----------
        rng : numpy.random.Generator
            Source of randomness.
        n : int
            Number of draws.

        Returns
        -------
        (n, D) array
            The draws, with replacement.
        """
        draws, weights = self._weighted_draws()
        return draws[rng.choice(draws.shape[0], size=n, replace=True, p=weights)]

    def _weighted_draws(self) -> tuple[np.ndarray, np.ndarray]:
        if self.draws is None:
            rng = np.random.default_rng(0)
            draws = self.mean + rng.standard_normal((4000, self.mean.size)) @ np.linalg.cholesky(self.cov).T
            return draws, np.full(4000, 1.0 / 4000)
        weights = self.weights if self.weights is not None else np.full(self.draws.shape[0], 1.0 / self.draws.shape[0])
        return self.draws, weights


@dataclass(frozen=True, eq=False)
class Diagnostics:
    """What :func:`diagnose` finds; see the module docstring for each quantity."""

    names: tuple[str, ...]
    family: str
    psis_khat: float
    psis_ess: float
    iw_log_evidence: float
    iw_log_evidence_se: float
    iw_draws: int
    elbo: float
    log_evidence: float | None
    q_mean: np.ndarray
    q_sd: np.ndarray
    reference_posterior: ReferencePosterior
    proposal: str
    proposal_khat: float
    flags: tuple[str, ...]
    seconds: float
    evidence_estimate: float
    evidence_estimate_se: float
    evidence_source: str
    hmc_summary: dict[str, Any] | None = None
    psis_khat_se: float = float("nan")
    proposal_khat_se: float = float("nan")

    @property
    def psis_verdict(self) -> str:
        return khat_reading(self.psis_khat, self.psis_khat_se)

    @property
    def proposal_verdict(self) -> str:
        return khat_reading(self.proposal_khat, self.proposal_khat_se)

    @property
    def evidence_khat(self) -> float:
        """PSIS k-hat of the draws behind ``evidence_estimate`` (NaN when it is exact)."""
        if self.evidence_source == "exact":
            return float("nan")
        return self.proposal_khat if self.evidence_source.endswith("full-rank proposal") else self.psis_khat

    @property
    def evidence_reliable(self) -> bool:
        """Whether ``evidence_estimate`` can be trusted: exact, or importance-weighted with k-hat < 0.7."""
        return self.evidence_source == "exact" or self.evidence_khat < RELIABLE_KHAT

    @property
    def gap(self) -> tuple[float, str]:
        """KL(q || posterior) = log p(y) - ELBO in nats, and how it is known: 'exact' (the closed-form
        evidence), 'estimate' (the best evidence estimate, reliable; a lower estimate in expectation) or
        'unknown' (NaN: the only evidence at hand is unreliable)."""
        if self.log_evidence is not None:
            return self.log_evidence - self.elbo, "exact"
        if self.evidence_reliable:
            return self.evidence_estimate - self.elbo, "estimate"
        return float("nan"), "unknown"

    @property
    def gap_estimate(self) -> float:
        """iw_log_evidence - elbo: an estimate of KL(q || posterior) in nats (from below)."""
        return self.iw_log_evidence - self.elbo

    @property
    def reference(self) -> str:
        return self.reference_posterior.kind

    @property
    def sd_ratio(self) -> np.ndarray:
        return self.q_sd / self.reference_posterior.sd

    def to_dict(self) -> dict[str, Any]:
        """The ``"diagnostics"`` object of a result file; non-finite numbers become null.

        Returns
        -------
        dict of str to object
            JSON-ready; 'log_evidence' and 'gap' only when the exact evidence is known, 'hmc' only after HMC.
        """
        ref = self.reference_posterior
        data: dict[str, Any] = {
            "psis_khat": self.psis_khat,
            "psis_khat_se": self.psis_khat_se,
            "psis_verdict": self.psis_verdict,
            "psis_ess": self.psis_ess,
            "iw_log_evidence": self.iw_log_evidence,
            "iw_log_evidence_se": self.iw_log_evidence_se,
            "iw_draws": self.iw_draws,
            "elbo": self.elbo,
            "gap_estimate": self.gap_estimate,
            "sd_ratio": self.sd_ratio.tolist(),
            "reference": ref.kind,
            "reference_valid": ref.valid,
            "reference_draws": 0 if ref.draws is None else int(ref.draws.shape[0]),
            "reference_effective_draws": ref.effective_draws,
            "reference_description": ref.description,
            "reference_mean": ref.mean.tolist(),
            "reference_sd": ref.sd.tolist(),
            "reference_corr": ref.corr.tolist(),
            "proposal": self.proposal,
            "proposal_khat": self.proposal_khat,
            "evidence_estimate": self.evidence_estimate,
            "evidence_estimate_se": self.evidence_estimate_se,
            "evidence_source": self.evidence_source,
            "flags": list(self.flags),
            "seconds": self.seconds,
        }
        if self.log_evidence is not None:
            data["log_evidence"] = self.log_evidence
            data["gap"] = self.log_evidence - self.elbo
        if self.hmc_summary is not None:
            data["hmc"] = dict(self.hmc_summary)
        return _finite_json(data)


def _finite_json(value: Any) -> Any:
    """Replace NaN and +-inf anywhere in nested dicts/lists by None (JSON null)."""
    if isinstance(value, dict):
        return {k: _finite_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite_json(v) for v in value]
    if isinstance(value, (float, np.floating)):
        return float(value) if np.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value


def importance_draws(problem: GLMProblem, q: GaussianPosterior, n_draws: int, rng: np.random.Generator,
                     cancel: CancelToken | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Draws w_k ~ q (K, D) and their log ratios log p(y, w_k) - log q(w_k) (K,).

    Parameters
    ----------
    problem : GLMProblem
        The GLM.
    q : GaussianPosterior
        The proposal.
    n_draws : int
        Number of draws K.
    rng : numpy.random.Generator
        Source of randomness.
    cancel : CancelToken, optional
        Checked during the pass over the data.

    Returns
    -------
    draws : (K, D) array
        The draws.
    log_ratios : (K,) array
        Nats.
    """
    draws = q.sample(rng, n_draws)
    return draws, hmc.log_joint(problem, draws, cancel) - gaussian_log_density(q, draws)


@dataclass(frozen=True, eq=False)
class ImportanceSample:
    """Draws from a proposal (K, D), their Pareto-smoothed weights, k-hat's standard error and the
    importance-weighted evidence."""

    draws: np.ndarray
    smoothed: PsisResult
    khat_se: float
    evidence: EvidenceEstimate


def importance_sample(problem: GLMProblem, q: GaussianPosterior, n_draws: int, rng: np.random.Generator,
                      cancel: CancelToken | None = None) -> ImportanceSample:
    """``n_draws`` draws from ``q``, and CONFIRM_FACTOR times as many when their k-hat lands in
    [0.5, CONFIRM_BELOW), where so few draws cannot tell a good q from a doubtful one.

    Parameters
    ----------
    problem : GLMProblem
        The GLM.
    q : GaussianPosterior
        The proposal.
    n_draws : int
        Number of draws before any confirmation.
    rng : numpy.random.Generator
        Source of randomness.
    cancel : CancelToken, optional
        Checked during the passes over the data.

    Returns
    -------
    ImportanceSample
        All the draws, their PSIS result, k-hat's standard error and the importance-weighted evidence.
    """
    draws, log_ratios = importance_draws(problem, q, n_draws, rng, cancel)
    smoothed = psis(log_ratios)
    if GOOD_KHAT <= smoothed.khat < CONFIRM_BELOW:
        more_draws, more_ratios = importance_draws(problem, q, (CONFIRM_FACTOR - 1) * n_draws, rng, cancel)
        draws, log_ratios = np.vstack([draws, more_draws]), np.concatenate([log_ratios, more_ratios])
        smoothed = psis(log_ratios)
    return ImportanceSample(draws, smoothed, khat_standard_error(smoothed.khat, smoothed.tail_length),
                            importance_weighted_evidence(log_ratios))


def full_rank_proposal(problem: GLMProblem, q: GaussianPosterior, cancel: CancelToken | None = None,
                       max_iter: int = 200) -> GaussianPosterior:
    """The full-rank q: ``q`` itself when full-rank, else the full-rank ELBO optimum started from q.

    Parameters
    ----------
    problem : GLMProblem
        The GLM.
    q : GaussianPosterior
        The fit.
    cancel : CancelToken, optional
        Stops the optimiser.
    max_iter : int
        Most Newton iterations.

    Returns
    -------
    GaussianPosterior
        A full-rank q.
    """
    if q.family.name == "full-rank":
        return q
    family = Family.create("full-rank", q.dim)
    optimizer = newton_fixed_point(ExactEstimator(problem, cancel), GaussianPosterior(family, q.mean, q.chol),
                                   max_iter, 1e-10)
    return run_to_end(optimizer).q


def fit_flags(fit: FitResult | None) -> list[str]:
    """Sentences about how the fit ended: the iteration cap, cancellation, an ELBO still rising.

    Parameters
    ----------
    fit : FitResult or None
        The fit.

    Returns
    -------
    list of str
        Empty when the fit ended well or is not given.
    """
    if fit is None:
        return []
    flags = []
    if fit.stop_reason == "max_iter":
        flags.append(f"stopped at the iteration cap ({fit.iterations} iterations)")
    elif fit.stop_reason in ("cancelled", "non-finite", "stalled"):
        flags.append(f"the fit did not converge ({fit.stop_reason}: {fit.message})")
    if not fit.converged and elbo_still_rising(np.asarray(fit.trace.elbo, dtype=float)):
        flags.append("the ELBO was still rising when the fit stopped")
    return flags


def elbo_still_rising(trace: np.ndarray) -> bool:
    """True when the ELBO trace ends on a significant rise.

    A least-squares line through the last quarter (at least 5 values) of the
    trace must gain more than RISING_NATS over that stretch with a slope more
    than two standard errors above zero (so Monte Carlo noise of a reparam
    trace does not count); a trace of fewer than 5 values must gain more than
    RISING_NATS on its last step.

    Parameters
    ----------
    trace : (n,) array
        ELBO per iteration, in nats; non-finite values are dropped.

    Returns
    -------
    bool
        Whether the trace ends on a significant rise.
    """
    trace = np.asarray(trace, dtype=float)
    trace = trace[np.isfinite(trace)]
    if trace.size < 2:
        return False
    if trace.size < 5:
        return bool(trace[-1] - trace[-2] > RISING_NATS)
    n = max(5, trace.size // 4)
    tail = trace[-n:]
    x = np.arange(n, dtype=float) - (n - 1) / 2.0
    slope = float(x @ (tail - tail.mean()) / (x @ x))
    residual = tail - tail.mean() - slope * x
    slope_se = float(np.sqrt(residual @ residual / (n - 2) / (x @ x)))
    return bool(slope * (n - 1) > RISING_NATS and slope > 2.0 * slope_se)


def _weighted_moments(draws: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean = weights @ draws
    centred = draws - mean
    cov = (centred * weights[:, None]).T @ centred
    return mean, 0.5 * (cov + cov.T)


def diagnose(problem: GLMProblem, q: GaussianPosterior, names: tuple[str, ...] | None = None,
             fit: FitResult | None = None, settings: DiagnosticsSettings = DiagnosticsSettings(),
             cancel: CancelToken | None = None,
             on_progress: Callable[[DiagnosticsProgress], None] | None = None) -> Diagnostics:
    """Diagnose the fit ``q`` of ``problem`` (see the module docstring).

    ``fit`` (optional) supplies the ELBO and how the fit ended; otherwise the
    exact ELBO of q is computed.  Raises FitCancelled when ``cancel`` is set.

    Parameters
    ----------
    problem : GLMProblem
        The GLM.
    q : GaussianPosterior
        The fit.
    names : tuple of str, optional
        Parameter names (default w[0], w[1], ...).
    fit : FitResult, optional
        The fit's result.
    settings : DiagnosticsSettings
        Draws, seed, reference and HMC settings.
    cancel : CancelToken, optional
        Stops the diagnosis.
    on_progress : callable, optional
        Called with a DiagnosticsProgress at each stage.

    Returns
    -------
    Diagnostics
        k-hats, evidences (nats), the reference posterior and flags.

    Raises
    ------
    ValueError
        When the exact reference is asked for a likelihood other than gaussian.
    """
    start = time.perf_counter()
    names = tuple(names) if names is not None else tuple(f"w[{i}]" for i in range(problem.dim))
    rng = np.random.default_rng(settings.seed)

    def progress(stage: str, fraction: float, message: str) -> None:
        if on_progress is not None:
            on_progress(DiagnosticsProgress(stage, float(fraction), message, time.perf_counter() - start))

    flags = fit_flags(fit)
    elbo = fit.elbo if fit is not None else ExactEstimator(problem, cancel).value(q).elbo
    progress("importance", 0.0, f"importance sampling with q ({settings.draws} draws)")
    sample_q = importance_sample(problem, q, settings.draws, rng, cancel)
    smoothed_q, evidence = sample_q.smoothed, sample_q.evidence
    reading = khat_reading(smoothed_q.khat, sample_q.khat_se)
    if reading == "poor":
        flags.append(f"PSIS k-hat {smoothed_q.khat:.2f} >= 0.7: q is far from the posterior; "
                     "importance weights of q cannot be trusted")
    elif reading == "unreliable":
        flags.append(f"PSIS k-hat {smoothed_q.khat:.2f} ± {sample_q.khat_se:.2f} above 0.5: importance weights "
                     "of q are unreliable")

    log_evidence = None
    hmc_summary = None
    best_evidence = (evidence.log_evidence, evidence.standard_error, "importance-weighted, q")
    wanted = settings.reference
    if problem.likelihood.name == "gaussian":
        exact = linear_gaussian_posterior(problem)
        log_evidence = exact.log_evidence
        best_evidence = (log_evidence, 0.0, "exact")
    if problem.likelihood.name == "gaussian" and wanted in ("auto", "exact"):
        reference = ReferencePosterior("exact", names, exact.mean, exact.cov, None, None, float("inf"), True,
                                       "exact posterior (linear-gaussian closed form)")
        proposal_name, proposal_khat, proposal_khat_se = "none", float("nan"), float("nan")
    else:
        if wanted == "exact":
            raise ValueError("the exact posterior is known for the gaussian likelihood only")
        progress("proposal", 0.2, "full-rank proposal")
        proposal = full_rank_proposal(problem, q, cancel)
        proposal_name = "q" if proposal is q else "full-rank q fitted from q"
        sample_p = sample_q if proposal is q else importance_sample(problem, proposal, settings.draws, rng, cancel)
        draws_p, smoothed_p, evidence_p = sample_p.draws, sample_p.smoothed, sample_p.evidence
        proposal_khat, proposal_khat_se = smoothed_p.khat, sample_p.khat_se
        if log_evidence is None and smoothed_p.khat < RELIABLE_KHAT and (
                smoothed_q.khat >= RELIABLE_KHAT or evidence_p.log_evidence > evidence.log_evidence):
            best_evidence = (evidence_p.log_evidence, evidence_p.standard_error,
                             "importance-weighted, full-rank proposal" if proposal is not q
                             else "importance-weighted, q")
        use_psis = wanted == "psis" or (wanted == "auto" and smoothed_p.khat < RELIABLE_KHAT)
        if use_psis:
            weights = smoothed_p.weights
            mean, cov = _weighted_moments(draws_p, weights)
            valid = smoothed_p.khat < RELIABLE_KHAT
            reference = ReferencePosterior(
                "psis", names, mean, cov, draws_p, weights, smoothed_p.ess, valid,
                f"PSIS reweighted draws of the full-rank q: {draws_p.shape[0]} draws, "
                f"ESS {smoothed_p.ess:.0f}, k-hat {smoothed_p.khat:.2f}")
            if not valid:
                flags.append(f"PSIS reference with k-hat {smoothed_p.khat:.2f} >= 0.7 is not valid")
        else:
            reference, hmc_summary = _hmc_reference(problem, proposal, names, settings, rng, cancel, progress)
            if not reference.valid:
                flags.append(f"HMC reference did not converge ({reference.description}); "
                             "no reference contours")
        if reference.effective_draws < MIN_REFERENCE_ESS:
            flags.append(f"the reference rests on only {reference.effective_draws:.0f} effective draws")
    if best_evidence[2] != "exact" and not (proposal_khat < RELIABLE_KHAT or smoothed_q.khat < RELIABLE_KHAT):
        flags.append("no reliable log evidence: every importance sample has k-hat >= 0.7")
    progress("done", 1.0, reference.description)
    return Diagnostics(
        names=names, family=q.family.name, psis_khat=smoothed_q.khat, psis_ess=smoothed_q.ess,
        iw_log_evidence=evidence.log_evidence, iw_log_evidence_se=evidence.standard_error,
        iw_draws=evidence.n_draws, elbo=float(elbo), log_evidence=log_evidence, q_mean=np.array(q.mean),
        q_sd=np.array(q.sd), reference_posterior=reference, proposal=proposal_name,
        proposal_khat=float(proposal_khat), flags=tuple(flags), seconds=time.perf_counter() - start,
        evidence_estimate=float(best_evidence[0]), evidence_estimate_se=float(best_evidence[1]),
        evidence_source=best_evidence[2], hmc_summary=hmc_summary, psis_khat_se=sample_q.khat_se,
        proposal_khat_se=proposal_khat_se)


def _hmc_reference(problem: GLMProblem, proposal: GaussianPosterior, names: tuple[str, ...],
                   settings: DiagnosticsSettings, rng: np.random.Generator, cancel: CancelToken | None,
                   progress: Callable[[str, float, str], None]) -> tuple[ReferencePosterior, dict[str, Any]]:
    hmc_settings = replace(settings.hmc, seed=settings.hmc.seed + settings.seed)
    initial = proposal.sample(rng, hmc_settings.chains)

    def on_step(step: hmc.HmcProgress) -> None:
        if step.iteration % 10 == 0 or step.iteration == step.total:
            progress("hmc", 0.3 + 0.7 * step.iteration / step.total,
                     f"HMC {step.phase} {step.iteration}/{step.total}, step size {step.step_size:.3f}")

    result = hmc.sample(problem, initial, hmc_settings, initial_inverse_metric=np.array(proposal.cov),
                        cancel=cancel, on_progress=on_step)
    draws = result.flat_draws
    mean = draws.mean(axis=0)
    cov = np.cov(draws.T).reshape(problem.dim, problem.dim)
    effective = float(np.min(result.ess_bulk))
    reference = ReferencePosterior("hmc", names, mean, cov, draws, None, effective, result.converged,
                                   "HMC " + result.summary_message())
    summary = {"chains": hmc_settings.chains, "warmup": hmc_settings.warmup, "draws": hmc_settings.draws,
               "rhat_max": float(np.max(result.rhat)), "ess_bulk_min": effective,
               "divergences": result.divergences, "step_size": result.step_size,
               "accept_rate": result.accept_rate, "gradient_evaluations": result.gradient_evaluations,
               "seconds": result.seconds, "converged": result.converged}
    return reference, summary


def q_of_result(result: FitResult, family: Family) -> GaussianPosterior:
    """Rebuild the fit's q from a result's mean and covariance.

    Parameters
    ----------
    result : FitResult
        The result.
    family : Family
        The fit's family.

    Returns
    -------
    GaussianPosterior
        The q (covariance symmetrised).
    """
    cov = 0.5 * (result.cov + result.cov.T)
    return GaussianPosterior(family, result.mean, np.linalg.cholesky(cov))


def diagnose_session(session: FitSession, result: FitResult, settings: DiagnosticsSettings = DiagnosticsSettings(),
                     on_progress: Callable[[DiagnosticsProgress], None] | None = None) -> Diagnostics:
    """Diagnose a finished :class:`~vbgui.app.fit.FitSession` run; cancelled through ``session.cancel``.

    Parameters
    ----------
    session : FitSession
        The session that ran the fit.
    result : FitResult
        Its result.
    settings : DiagnosticsSettings
        The diagnostics' settings.
    on_progress : callable, optional
        Called with a DiagnosticsProgress at each stage.

    Returns
    -------
    Diagnostics
        As :func:`diagnose` gives it.
    """
    q = q_of_result(result, session.family)
    return diagnose(session.problem, q, session.names, result, settings, session.cancel, on_progress)
