"""Synthetic recordings with known ground-truth weights, for tests, demos and benchmarks.

The stimulus is an AR(1) Gaussian process, s_t = rho s_{t-1} + sqrt(1 - rho^2) e_t,
z-scored exactly, so adjacent lags correlate at about rho (as real, smooth
stimuli do) and the truth holds with or without ``standardize``.  The
response follows the GLM of :mod:`vbgui.models.design` with a biphasic
stimulus filter, a refractory spike-history filter and a bias set from the
target mean response.  :func:`make_coupled_population` simulates a coupled
population (Pillow et al. 2008, Nature 454:995): each unit's linear predictor
adds the past counts of the other units through known coupling filters.
"""
from __future__ import annotations

import numpy as np

from vbgui.core.design_rows import linear_predictor
from vbgui.core.likelihoods import Likelihood
from vbgui.errors import VbguiError
from vbgui.io.recording import Recording, RecordingFile
from vbgui.models.design import build_design
from vbgui.models.preset import DesignSettings


def biphasic_filter(n_lags: int) -> np.ndarray:
    """A temporal filter shape that peaks at lag 0 and then reverses sign (peak 1)."""
    lags = np.arange(n_lags)
    shape = np.exp(-lags / 2.0) - 0.5 * np.exp(-lags / 5.0) - 0.35 * np.exp(-((lags - 6.0) / 3.0) ** 2)
    return shape / np.max(np.abs(shape))


def refractory_filter(n_lags: int) -> np.ndarray:
    """Spike-history weights: strong suppression right after a spike, decaying."""
    return -1.2 * np.exp(-np.arange(n_lags) / 1.5)


def make_synthetic_recording(likelihood: str = "poisson", n_bins: int = 20_000, stimulus_lags: int = 10,
                             spike_history_lags: int = 0, dt: float = 0.01, mean_response: float = 0.2,
                             stimulus_correlation: float = 0.6, noise_sd: float = 0.7, seed: int = 0,
                             n_stimuli: int = 1, drive_sd: float = 0.5, dispersion: float = 0.5,
                             stimulus: np.ndarray | None = None) -> Recording:
    """Simulate a recording whose ``truth`` holds the weights under the matching preset design.

    ``mean_response`` is the baseline mean per bin (counts for poisson and
    negative-binomial, spike probability for bernoulli, value for gaussian);
    ``noise_sd`` applies to gaussian, ``dispersion`` (Var = mu + dispersion mu^2)
    to negative-binomial; each stimulus filter is
    scaled so that its contribution to the linear predictor has sd ``drive_sd``
    (which keeps rates in a realistic range whatever the number of lags).
    A given ``stimulus`` (n_bins, n_stimuli), z-scored, replaces the AR(1) one.
    """
    rng = np.random.default_rng(seed)
    lik = Likelihood(likelihood, noise_sd, dispersion)
    if stimulus is None:
        stimulus = _ar1_stimulus(rng, n_bins, n_stimuli, stimulus_correlation)
    truth: dict[str, float] = {"bias": lik.linear_predictor_of_mean(mean_response)}
    settings = DesignSettings(stimulus_lags=stimulus_lags, spike_history_lags=0, bias=True, standardize=False)
    placeholder = Recording(np.zeros(n_bins), dt, "synthetic", stimulus=stimulus)
    design = build_design(placeholder, settings)
    for k in range(n_stimuli):
        prefix = "stim" if n_stimuli == 1 else f"stim{k}"
        filt = biphasic_filter(stimulus_lags) * (1.0 if k == 0 else -1.0)
        columns = [design.names.index(f"{prefix}[{lag}]") for lag in range(stimulus_lags)]
        padded = np.zeros(design.dim)
        padded[columns] = filt
        filt *= drive_sd / max(np.std(linear_predictor(design.rows, padded)), 1e-12)
        truth.update({f"{prefix}[{lag}]": float(w) for lag, w in enumerate(filt)})
    history = refractory_filter(spike_history_lags)
    truth.update({f"hist[{j}]": float(w) for j, w in enumerate(history)})
    weights = np.array([truth[name] for name in design.names])
    drive = np.full(n_bins, np.nan)
    drive[design.first_row:] = linear_predictor(design.rows, weights)
    drive[:design.first_row] = truth["bias"]
    response = _simulate(lik, drive, history, rng)
    return Recording(response, dt, f"synthetic-{likelihood}-seed{seed}", stimulus=stimulus, truth=truth,
                     response_name="response" if likelihood == "gaussian" else "counts")


def _ar1_stimulus(rng: np.random.Generator, n_bins: int, n_stimuli: int, rho: float) -> np.ndarray:
    innovations = rng.standard_normal((n_bins, n_stimuli))
    stimulus = np.empty((n_bins, n_stimuli))
    stimulus[0] = innovations[0]
    scale = np.sqrt(1.0 - rho ** 2)
    for t in range(1, n_bins):  # the AR(1) recursion: cheap next to simulating spikes
        stimulus[t] = rho * stimulus[t - 1] + scale * innovations[t]
    return (stimulus - stimulus.mean(axis=0)) / stimulus.std(axis=0)


def make_synthetic_population(likelihood: str = "poisson", n_units: int = 8, n_bins: int = 20_000,
                              stimulus_lags: int = 10, spike_history_lags: int = 0, dt: float = 0.01,
                              seed: int = 0, dispersion: float = 0.5) -> RecordingFile:
    """Simulate ``n_units`` uncoupled units driven by one shared stimulus, as a multi-unit recording.

    Unit u is :func:`make_synthetic_recording` with seed ``seed + u`` on the
    shared stimulus, its baseline mean response and stimulus drive drawn
    between half and one and a half times the defaults, so the units differ.
    The units' ground truths differ, so the file keeps none.
    """
    rng = np.random.default_rng(seed)
    stimulus = _ar1_stimulus(rng, n_bins, 1, 0.6)
    spread = rng.uniform(0.5, 1.5, size=(n_units, 2))
    responses = [make_synthetic_recording(likelihood, n_bins, stimulus_lags, spike_history_lags, dt,
                                          mean_response=0.2 * spread[u, 0], seed=seed + u,
                                          drive_sd=0.5 * spread[u, 1], dispersion=dispersion,
                                          stimulus=stimulus) for u in range(n_units)]
    return RecordingFile(np.column_stack([r.response for r in responses]),
                         tuple(f"unit{u}" for u in range(n_units)), dt,
                         f"synthetic-{likelihood}-{n_units}-units-seed{seed}", stimulus=stimulus,
                         response_name=responses[0].response_name)


def _simulate(lik: Likelihood, drive: np.ndarray, history: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Draw y_t given eta_t = drive_t + sum_j history_j y_{t-1-j}."""
    if history.size == 0:
        return lik.draw(rng, drive)
    response = np.zeros(drive.shape[0])
    n_lags = history.size
    for t in range(drive.shape[0]):
        start = max(0, t - n_lags)
        past = response[start:t][::-1]
        eta = drive[t] + float(history[:past.size] @ past)
        response[t] = lik.draw(rng, np.array([eta]))[0]
    return response


COUPLING_DECAY_BINS = 1.5  # a coupling filter decays by e every 1.5 bins
RUNAWAY_LINEAR_PREDICTOR = float(np.log(100.0))  # a simulated rate of 100 per bin means the network ran away


def coupling_filter(n_lags: int) -> np.ndarray:
    """The shape of every true coupling filter: exp(-j / 1.5) for lag j (peak 1 at the previous bin)."""
    return np.exp(-np.arange(n_lags) / COUPLING_DECAY_BINS)


def random_couplings(rng: np.random.Generator, n_units: int, coupling_lags: int, fraction: float,
                     strength: float) -> np.ndarray:
    """True coupling weights, (n_units, n_units, coupling_lags): ``[i, p, j]`` weights unit p's count j + 1 bins
    back in unit i's linear predictor.

    Each ordered pair (i, p), i != p, is coupled with probability
    ``fraction``, excitatory or inhibitory with equal odds, with a peak of
    magnitude uniform in [strength / 2, strength]; the other weights are 0.
    """
    coupled = rng.random((n_units, n_units)) < fraction
    np.fill_diagonal(coupled, False)
    peak = strength * rng.uniform(0.5, 1.0, (n_units, n_units)) * rng.choice([-1.0, 1.0], (n_units, n_units))
    return (coupled * peak)[:, :, None] * coupling_filter(coupling_lags)[None, None, :]


def make_coupled_population(likelihood: str = "poisson", n_units: int = 20, n_bins: int = 50_000,
                            stimulus_lags: int = 10, spike_history_lags: int = 3, coupling_lags: int = 3,
                            coupling_fraction: float = 0.1, coupling_strength: float = 0.6, dt: float = 0.005,
                            mean_response: float = 0.1, seed: int = 0, dispersion: float = 0.5) -> RecordingFile:
    """Simulate ``n_units`` coupled units driven by one shared stimulus, with every unit's ground truth.

    Unit i's linear predictor is

        eta^(i)_t = b_i + sum_l k_i[l] s_{t-l} + sum_j h[j] y^(i)_{t-1-j}
                    + sum_{p != i} sum_j c_ip[j] y^(p)_{t-1-j},

    the GLM :func:`vbgui.models.design.build_design` builds with the same
    lags and ``coupling_lags``: a biphasic stimulus filter of random sign whose
    drive has sd between 0.25 and 0.75, the refractory history filter, and the
    couplings of :func:`random_couplings`.  The baseline mean response of each
    unit lies between half and one and a half ``mean_response``.  Counts are
    drawn bin by bin, all units at once.  ``unit_truth`` holds every unit's
    weights under its design names (zero couplings included).  Raises
    VbguiError if the network runs away (a rate beyond 100 per bin).
    """
    rng = np.random.default_rng(seed)
    lik = Likelihood(likelihood, 0.7, dispersion)
    stimulus = _ar1_stimulus(rng, n_bins, 1, 0.6)
    placeholder = Recording(np.zeros(n_bins), dt, "synthetic", stimulus=stimulus)
    design = build_design(placeholder, DesignSettings(stimulus_lags=stimulus_lags, spike_history_lags=0,
                                                      bias=False, standardize=False))
    spread = rng.uniform(0.5, 1.5, size=(n_units, 2))
    signs = rng.choice([-1.0, 1.0], size=n_units)
    couplings = random_couplings(rng, n_units, coupling_lags, coupling_fraction, coupling_strength)
    history = refractory_filter(spike_history_lags)
    names = tuple(f"unit{u}" for u in range(n_units))
    drive = np.empty((n_bins, n_units))
    unit_truth: dict[str, dict[str, float]] = {}
    for unit in range(n_units):
        bias = lik.linear_predictor_of_mean(mean_response * spread[unit, 0])
        stimulus_filter = signs[unit] * biphasic_filter(stimulus_lags)
        stimulus_drive = design.rows.materialise() @ stimulus_filter  # (50,000 x stimulus_lags): small
        scale = 0.5 * spread[unit, 1] / max(float(np.std(stimulus_drive)), 1e-12)
        drive[:design.first_row, unit] = bias
        drive[design.first_row:, unit] = bias + scale * stimulus_drive
        truth = {"bias": bias, **{f"stim[{lag}]": float(w) for lag, w in enumerate(scale * stimulus_filter)},
                 **{f"hist[{j}]": float(w) for j, w in enumerate(history)}}
        for partner in range(n_units):
            if partner != unit:
                truth.update({f"couple[{names[partner]}][{j}]": float(couplings[unit, partner, j])
                              for j in range(coupling_lags)})
        unit_truth[names[unit]] = truth
    counts = _simulate_population(lik, drive, history, couplings, rng)
    response_name = "response" if likelihood == "gaussian" else "counts"
    responses = counts if likelihood == "gaussian" else counts.astype(np.int64)
    return RecordingFile(responses, names, dt, f"synthetic-{likelihood}-{n_units}-coupled-units-seed{seed}",
                         stimulus=stimulus, response_name=response_name, unit_truth=unit_truth)


def _simulate_population(lik: Likelihood, drive: np.ndarray, history: np.ndarray, couplings: np.ndarray,
                         rng: np.random.Generator) -> np.ndarray:
    """Draw y_t (all units) given eta_t = drive_t + sum_j F[j] y_{t-1-j}, where F[j] holds the couplings at
    lag j off its diagonal and the history weight h[j] on it."""
    n_bins, n_units = drive.shape
    n_lags = max(couplings.shape[2], history.size)
    feedback = np.zeros((n_lags, n_units, n_units))
    feedback[:couplings.shape[2]] = couplings.transpose(2, 0, 1)
    for j, weight in enumerate(history):
        feedback[j][np.diag_indices(n_units)] += weight
    weights = feedback.transpose(1, 0, 2).reshape(n_units, n_lags * n_units)  # [i, j * U + p] = F[j][i, p]
    padded = np.zeros((n_bins + n_lags, n_units))  # padded[n_lags + t] = y_t; the bins before the start are 0
    for t in range(n_bins):
        past = padded[t:t + n_lags][::-1].ravel()  # y_{t-1}, ..., y_{t-n_lags}, each all units
        eta = drive[t] + weights @ past
        if np.max(eta) > RUNAWAY_LINEAR_PREDICTOR:
            raise VbguiError(f"the simulated population runs away at bin {t} (a unit's rate passed "
                             f"{np.exp(RUNAWAY_LINEAR_PREDICTOR):.0f} per bin); use fewer or weaker couplings")
        padded[n_lags + t] = lik.draw(rng, eta)
    return padded[n_lags:]
