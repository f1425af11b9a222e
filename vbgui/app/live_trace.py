"""The trace of a fit while it runs: every iteration's ELBO and its two terms, written by the fit's thread.

One class for the GLM fit's worker and the latent-dynamics fit's task: the
throttled progress signals may skip iterations, the trace never does.
"""
from __future__ import annotations

import threading
from typing import Any

import numpy as np


class LiveTrace:
    """The iteration, ELBO, accuracy and complexity of every iteration so far, in growing arrays.

    Written by the fit's thread, read by the GUI thread; ``arrays()``
    returns views of the filled part that later appends never modify.

    Parameters
    ----------
    capacity : int
        Iterations held before the arrays first grow (they double when full).
    """

    def __init__(self, capacity: int = 256) -> None:
        self._lock = threading.Lock()
        self._data = np.empty((4, max(1, capacity)))
        self._count = 0

    def append(self, progress: Any) -> None:
        """Record one iteration.

        Parameters
        ----------
        progress : FitProgress or LdsProgress
            Its ``iteration`` and its ``terms`` (ELBO, expected log-likelihood and KL, nats).
        """
        with self._lock:
            if self._count == self._data.shape[1]:
                grown = np.empty((4, 2 * self._data.shape[1]))
                grown[:, :self._count] = self._data[:, :self._count]
                self._data = grown
            terms = progress.terms
            self._data[:, self._count] = (progress.iteration, terms.elbo, terms.expected_log_likelihood, terms.kl)
            self._count += 1

    def __len__(self) -> int:
        return self._count

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The trace so far.

        Returns
        -------
        tuple of four ndarrays of shape (n,)
            iteration, ELBO, expected log-likelihood and KL (nats), one entry per iteration.
        """
        with self._lock:
            filled = self._data[:, :self._count]
            return filled[0], filled[1], filled[2], filled[3]
