"""Observation models of a generalised linear model, one module each.

For a response y_t and linear predictor eta_t = x_t'w, each module of this
package states its log p(y | eta) and derivatives once (see
:mod:`vbgui.core.likelihoods.registry`):

    poisson            (log link)    y eta - exp(eta) - log y!
    bernoulli          (logit link)  y eta - log(1 + exp(eta)),  y in {0, 1}
    gaussian           (identity)    -(y - eta)^2 / (2 sigma^2) - log(2 pi sigma^2) / 2
    negative-binomial  (log link)    Var[y] = mu + a mu^2, a the dispersion

The terms that depend on the data only (log y!, the 2 pi sigma^2 term) are
kept, as :meth:`Likelihood.log_normaliser`, so that ELBOs are true lower
bounds on log p(D) and compare with other tools.

Importing this package imports none of its modules: ``Likelihood``,
``gauss_hermite_standard_normal`` and ``RULES`` are loaded when first asked
for (PEP 562).  The package's modules import each other through the
registry; were the package to import the registry while it initialises, a
thread importing the registry directly at the same moment would deadlock
against it (each holding one module lock and waiting for the other's).
"""
from __future__ import annotations

from typing import Any

__all__ = ["Likelihood", "gauss_hermite_standard_normal", "RULES"]


def __getattr__(name: str) -> Any:
    # plain import statements (not importlib), so that PyInstaller's analysis finds the modules
    if name == "Likelihood":
        from vbgui.core.likelihoods.model import Likelihood

        return Likelihood
    if name in ("gauss_hermite_standard_normal", "RULES"):
        from vbgui.core.likelihoods import quadrature

        return getattr(quadrature, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
