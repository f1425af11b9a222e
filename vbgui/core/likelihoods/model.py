"""The :class:`Likelihood` a model names, over the modules of :mod:`vbgui.core.likelihoods`."""
from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType

import numpy as np

from vbgui.core.likelihoods.registry import MODULES
from vbgui.core.names import DISPERSION_RANGE, LIKELIHOOD_NAMES


@dataclass(frozen=True)
class Likelihood:
    """A GLM observation model: ``name`` in LIKELIHOOD_NAMES; ``noise_sd`` for gaussian,
    ``dispersion`` (Var[y] = mu + dispersion mu^2) for negative-binomial."""

    name: str
    noise_sd: float = 1.0
    dispersion: float = 0.1

    def __post_init__(self) -> None:
        if self.name not in LIKELIHOOD_NAMES:
            raise ValueError(f"unknown likelihood {self.name!r}; choose one of {', '.join(LIKELIHOOD_NAMES)}")
        if not (np.isfinite(self.noise_sd) and self.noise_sd > 0):
            raise ValueError("noise_sd must be a positive finite number")
        low, high = DISPERSION_RANGE
        if not low <= self.dispersion <= high:
            raise ValueError(f"dispersion must lie in [{low:g}, {high:g}]")

    @property
    def module(self) -> ModuleType:
        return MODULES[self.name]

    @property
    def code(self) -> int:
        """The integer the numba dispatch branches on."""
        return self.module.CODE

    @property
    def parameter(self) -> float:
        """The scalar the numba functions receive: noise variance (gaussian), size 1/dispersion
        (negative-binomial), unused otherwise."""
        if self.name == "gaussian":
            return self.noise_var
        if self.name == "negative-binomial":
            return float(1.0 / self.dispersion)
        return 0.0

    @property
    def noise_var(self) -> float:
        return float(self.noise_sd ** 2)

    def log_normaliser_terms(self, y: np.ndarray) -> np.ndarray:
        """The data-only part of log p(y_t | eta_t), per row.

        Parameters
        ----------
        y : (T,) array
            Responses.

        Returns
        -------
        (T,) array
            Nats per row (zeros for bernoulli).
        """
        return self.module.log_normaliser_terms(np.asarray(y, dtype=np.float64), self.parameter)

    def log_normaliser(self, y: np.ndarray) -> float:
        """The data-only part of sum_t log p(y_t | eta_t).

        Parameters
        ----------
        y : (T,) array
            Responses.

        Returns
        -------
        float
            Nats.
        """
        return float(np.sum(self.log_normaliser_terms(y)))

    def mean_response(self, eta: np.ndarray) -> np.ndarray:
        """Inverse link: E[y | eta] (counts per bin, probability, or value).

        Parameters
        ----------
        eta : array
            Linear predictor, any shape.

        Returns
        -------
        array
            The mean response, the shape of eta.
        """
        return self.module.mean_response(eta, self.parameter)

    def linear_predictor_of_mean(self, mean_response: float) -> float:
        """Link: the eta whose mean response is ``mean_response`` (clipped into range).

        Parameters
        ----------
        mean_response : float
            Mean response (counts per bin, probability, or value).

        Returns
        -------
        float
            The linear predictor.
        """
        return self.module.linear_predictor_of_mean(mean_response, self.parameter)

    def draw(self, rng: np.random.Generator, eta: np.ndarray) -> np.ndarray:
        """Responses drawn from p(y | eta), one per entry of ``eta``.

        Parameters
        ----------
        rng : numpy.random.Generator
            Source of randomness.
        eta : array
            Linear predictor, any shape.

        Returns
        -------
        array of float64
            Responses, the shape of eta.
        """
        return self.module.draw(rng, np.asarray(eta, dtype=np.float64), self.parameter)

    def response_problem(self, y: np.ndarray) -> str | None:
        """Return why ``y`` cannot be a response of this model, or None if it can.

        Parameters
        ----------
        y : array
            Candidate responses.

        Returns
        -------
        str or None
            A phrase saying what is wrong (shape, emptiness, NaN or Inf, or the model's own check), or None.
        """
        if y.ndim != 1:
            return f"must be one-dimensional, got shape {y.shape}"
        if y.shape[0] == 0:
            return "is empty"
        if not np.all(np.isfinite(y)):
            bad = int(np.flatnonzero(~np.isfinite(y))[0])
            return f"contains NaN or Inf (first at bin {bad})"
        return self.module.response_problem(y)
