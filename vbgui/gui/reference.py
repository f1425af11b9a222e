"""The posterior a fit is compared with: exact when the model allows it, else none.

Qt-free, so it can run in the worker thread and in tests alike.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vbgui.app.fit import FitSession
from vbgui.core.conjugate import linear_gaussian_posterior
from vbgui.core.grid_posterior import MAX_GRID_DIM, GridPosterior, glm_grid_posterior


@dataclass(frozen=True, eq=False)
class ReferencePosterior:
    """The true posterior and how it was obtained.

    ``kind`` is 'conjugate' (linear-Gaussian, closed form: ``mean`` and
    ``cov`` set) or 'grid' (exact on a grid: ``grid`` set).
    """

    kind: str
    mean: np.ndarray | None = None
    cov: np.ndarray | None = None
    grid: GridPosterior | None = None


def reference_posterior(session: FitSession) -> ReferencePosterior | None:
    """The exact posterior of the session's model when one is computable, else None.

    Closed form for the gaussian likelihood; an exact grid for at most
    MAX_GRID_DIM weights (cancelled through the session's token); None otherwise.
    """
    problem = session.problem
    if problem.likelihood.name == "gaussian":
        exact = linear_gaussian_posterior(problem)
        return ReferencePosterior("conjugate", mean=exact.mean, cov=exact.cov)
    if problem.dim <= MAX_GRID_DIM:
        return ReferencePosterior("grid", grid=glm_grid_posterior(problem, cancel=session.cancel))
    return None
