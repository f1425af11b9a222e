"""How noisy each estimator's ELBO gradient is at a fitted q: the numbers the noisy-gradients demo shows."""
from __future__ import annotations

import numpy as np

from vbgui.app.diagnose import q_of_result
from vbgui.app.fit import FitSession
from vbgui.app.result import FitResult
from vbgui.core.elbo import make_estimator
from vbgui.core.gradient_variance import gradient_spread
from vbgui.core.names import ESTIMATOR_NAMES


def gradient_variances(session: FitSession, fit: FitResult, samples: int = 10, repeats: int = 100,
                       seed: int = 0) -> dict[str, float]:
    """Median over the gradient's components of each estimator's variance at the fitted q.

    Parameters
    ----------
    session : the fit's session (its problem and family)
    fit : its result, whose mean and covariance give the q
    samples : Monte Carlo draws per gradient, the same for every estimator
    repeats : independent gradients drawn per estimator
    seed : seeds the draws

    Returns
    -------
    {estimator name: median per-component variance}; the exact estimator's is 0 up to rounding.
    """
    q = q_of_result(fit, session.family)
    return {name: float(np.median(gradient_spread(make_estimator(name, session.problem, samples, seed, session.cancel),
                                                  q, repeats).variance))
            for name in ESTIMATOR_NAMES}
