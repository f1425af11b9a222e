"""The names of the model choices, in a module light enough to import before the engine.

Presets and the window's forms need these names at start-up; importing them
from here keeps numba and scipy off the path to the first window.
"""
LIKELIHOOD_NAMES = ("poisson", "bernoulli", "gaussian", "negative-binomial")
FAMILY_NAMES = ("mean-field", "full-rank", "structured", "low-rank")
ESTIMATOR_NAMES = ("exact", "reparam", "score-function")
# Negative-binomial dispersion a (Var[y] = mu + a mu^2): below the lower bound a count model is
# Poisson to every digit a count carries; above the upper bound no recording is that over-dispersed.
DISPERSION_RANGE = (1e-6, 1e3)
# From this many parameters on, a diagonal q's Newton step is solved matrix-free
# (vbgui.core.optimize), so a pass costs O(T D) rather than O(T D^2).
MATRIX_FREE_MIN_DIM = 100
MATRIX_FREE_FAMILIES = ("mean-field", "low-rank")


def fits_matrix_free(family: str, dim: int) -> bool:
    """Whether a fit of this family at this many parameters forms no D x D curvature (the one place this
    is decided): from MATRIX_FREE_MIN_DIM parameters on, mean-field solves its Newton step by conjugate
    gradients, and both families start from the diagonal of the curvature alone.

    Parameters
    ----------
    family : str
        A family name.
    dim : int
        Number of parameters D.

    Returns
    -------
    bool
        True for a matrix-free fit.
    """
    return family in MATRIX_FREE_FAMILIES and dim >= MATRIX_FREE_MIN_DIM
