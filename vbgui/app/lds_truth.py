"""The true latent path behind a latent-dynamics result on a regenerated synthetic population, in the fit's axes.

A synthetic LDS recording (the shipped ``synthetic-poisson-lds``, ``vbgui simulate --latent-dim``) stores
no latents: :func:`vbgui.models.lds_synthetic.make_lds_population` regenerates them from (bins, units,
latents, seed, dt, likelihood).  A result records the checksum of the data it fitted, so a regenerated
population with the same checksum is the one fitted.  Latents are identified only up to an affine map
(x -> M x + c, with C -> C M^-1), so the truth is returned in the fit's coordinates: the least-squares
affine map of the true path onto q's means, with the R^2 of each latent's means on it.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vbgui.app.lds_fit import recording_checksum_of_units
from vbgui.app.lds_result import LdsFitResult
from vbgui.models.lds_synthetic import SHIPPED_SEED, make_lds_population

SEEDS_TRIED = (SHIPPED_SEED,)  # the seed of a simulated population is not recorded: the shipped one is tried
MAX_REGENERATED_VALUES = 2_000_000  # bins x units: regenerating more would keep the window waiting


@dataclass(frozen=True, eq=False)
class AlignedTruth:
    """The true path mapped into the fit's latent coordinates (T, K), each latent's R^2, the seed found."""

    path: np.ndarray
    r_squared: np.ndarray
    seed: int


def aligned_truth(result: LdsFitResult) -> AlignedTruth | None:
    """The true path behind ``result`` when its data are a regenerable synthetic population, else None.

    Parameters
    ----------
    result : LdsFitResult
        A latent-dynamics result (its checksum, shape, dt and likelihood identify the population).

    Returns
    -------
    AlignedTruth or None
        The true path mapped affinely onto q's means with each latent's R^2; None when the result has no
        checksum, its data are larger than MAX_REGENERATED_VALUES, or no seed tried regenerates them.
    """
    n_bins, latent_dim = result.latent_mean.shape
    n_units = len(result.unit_names)
    likelihood = str(result.preset.get("likelihood", "poisson"))
    if not result.recording_checksum or n_bins * n_units > MAX_REGENERATED_VALUES:
        return None
    for seed in SEEDS_TRIED:
        recording, truth, _ = make_lds_population(n_bins, n_units, latent_dim, seed=seed, dt=result.dt,
                                                  likelihood=likelihood)
        if recording_checksum_of_units(recording) != result.recording_checksum:
            continue
        design = np.column_stack([truth, np.ones(n_bins)])
        coefficients, *_ = np.linalg.lstsq(design, result.latent_mean, rcond=None)
        path = design @ coefficients
        residual = np.sum((result.latent_mean - path) ** 2, axis=0)
        total = np.sum((result.latent_mean - result.latent_mean.mean(axis=0)) ** 2, axis=0)
        return AlignedTruth(path, 1.0 - residual / np.maximum(total, np.finfo(float).tiny), seed)
    return None
