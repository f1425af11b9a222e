"""The posterior a fit is compared with on screen: exact when the model allows it, else the diagnostics' draws.

The fit worker computes the exact references before a fit starts
(:func:`reference_posterior`); for larger non-gaussian models the
diagnostics supply draws after the fit (:func:`sampled_reference`).
Qt-free, so it can run in the worker thread and in tests alike; the engine
is imported when first used, not with the window.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from vbgui.app import diagnose
    from vbgui.app.fit import FitSession
    from vbgui.core.grid_posterior import GridPosterior


@dataclass(frozen=True, eq=False)
class ShownReference:
    """The true posterior and how it was obtained.

    ``kind`` is 'conjugate' (linear-Gaussian, closed form: ``mean`` and
    ``cov`` set), 'grid' (exact on a grid: ``grid`` set) or 'sampled'
    (weighted PSIS or HMC draws of the diagnostics: ``sampled`` set).
    """

    kind: str
    mean: np.ndarray | None = None
    cov: np.ndarray | None = None
    grid: GridPosterior | None = None
    sampled: diagnose.ReferencePosterior | None = None

    @property
    def legend(self) -> str:
        """What the legend calls a sampled reference: its method and effective draws."""
        method = {"psis": "PSIS", "hmc": "HMC"}.get(self.sampled.kind, self.sampled.kind)
        return f"reference posterior: {method}, {self.sampled.effective_draws:.0f} effective draws"


def sampled_reference(reference: diagnose.ReferencePosterior) -> ShownReference | None:
    """Wrap the diagnostics' reference when it is made of draws (PSIS, HMC); None for the exact one.

    Parameters
    ----------
    reference : ReferencePosterior
        The diagnostics' reference.

    Returns
    -------
    ShownReference or None
        The wrapped reference.
    """
    return ShownReference("sampled", sampled=reference) if reference.draws is not None else None


def reference_posterior(session: FitSession) -> ShownReference | None:
    """The exact posterior of the session's model when one is computable, else None.

    Closed form for the gaussian likelihood; an exact grid for at most
    MAX_GRID_DIM weights (cancelled through the session's token); None otherwise.

    Parameters
    ----------
    session : FitSession
        The fit session.

    Returns
    -------
    ShownReference or None
        The exact reference.
    """
    from vbgui.core.conjugate import linear_gaussian_posterior
    from vbgui.core.grid_posterior import MAX_GRID_DIM, glm_grid_posterior

    problem = session.problem
    if problem.likelihood.name == "gaussian":
        exact = linear_gaussian_posterior(problem)
        return ShownReference("conjugate", mean=exact.mean, cov=exact.cov)
    if problem.dim <= MAX_GRID_DIM:
        return ShownReference("grid", grid=glm_grid_posterior(problem, cancel=session.cancel))
    return None
