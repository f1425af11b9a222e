"""Where the rows of a design come from: a matrix held in memory, or lags built on demand.

The ELBO passes read a design X (T, D) a block of rows at a time
(:mod:`vbgui.core.rowpass`).  A design given as a matrix is read as it is
(:class:`DenseRows`).  A GLM of neural data builds X from lags of a few
recorded series, and holding X would cost T x D x 8 bytes (832 MB for 4e6
bins and 26 columns, 25 GB for a day at 1 ms); :class:`LaggedRows` keeps only
the series and builds each block of rows when a pass asks for it: row t is

    x_t = [1,  (s_k[t - l] - a_k) / b_k  for k < K, l < L,   y[t - 1 - j]  for j < H]

(bias first when present; stimulus column k's lags l = 0..L-1, standardised by
its mean a_k and sd b_k or left as they are with a = 0, b = 1; then the
response's history lags j = 0..H-1), for bins t = first_row .. T-1.  The
blocks are bit-identical to the rows of the materialised matrix.

Both offer the same four operations: ``shape``, ``rows(start, stop)`` (a
C-contiguous float64 block), ``take(rows)`` and ``materialise()``;
:func:`weighted_gram_product` and :func:`gram` work on either a block at a
time.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, Union

import numpy as np
from numba import njit

from vbgui.core.rowpass import CHUNK_ROWS, row_blocks

BLOCK_BYTES = 2 ** 22  # a block of built rows is at most 4 MiB: a few per thread, and it stays near the cache


@njit(cache=True, nogil=True)
def _fill_lagged_rows(out, bins, bias, stimulus, stimulus_mean, stimulus_sd, stimulus_lags, response,
                      history_lags):
    """out[i] = x_{bins[i]} as in the module docstring (bins are the recording's bin indices)."""
    n_stimuli = stimulus.shape[1]
    for i in range(bins.shape[0]):
        t = bins[i]
        column = 0
        if bias:
            out[i, 0] = 1.0
            column = 1
        for k in range(n_stimuli):
            a = stimulus_mean[k]
            b = stimulus_sd[k]
            for lag in range(stimulus_lags):
                out[i, column] = (stimulus[t - lag, k] - a) / b
                column += 1
        for j in range(history_lags):
            out[i, column] = response[t - 1 - j]
            column += 1


@dataclass(frozen=True, eq=False)
class DenseRows:
    """A design held as a C-contiguous float64 matrix (T, D)."""

    matrix: np.ndarray

    def __post_init__(self) -> None:
        matrix = np.ascontiguousarray(self.matrix, dtype=np.float64)
        if matrix.ndim != 2:
            raise ValueError(f"a design is a (T, D) matrix, not of shape {matrix.shape}")
        object.__setattr__(self, "matrix", matrix)

    @property
    def shape(self) -> tuple[int, int]:
        return self.matrix.shape

    max_block_rows = CHUNK_ROWS  # blocks are views: only the work per chunk limits them

    def rows(self, start: int, stop: int) -> np.ndarray:
        """Rows start..stop-1 (a view).

        Parameters
        ----------
        start, stop : int
            The row range.

        Returns
        -------
        (stop - start, D) array
            A view of the matrix.
        """
        return self.matrix[start:stop]

    def take(self, rows: np.ndarray) -> np.ndarray:
        """The rows with the given indices.

        Parameters
        ----------
        rows : (n,) int array
            Row indices.

        Returns
        -------
        (n, D) array
            A copy of those rows.
        """
        return self.matrix[rows]

    def materialise(self) -> np.ndarray:
        """The whole (T, D) matrix (the stored one, not a copy).

        Returns
        -------
        (T, D) array
            The matrix.
        """
        return self.matrix


@dataclass(frozen=True, eq=False)
class LaggedRows:
    """The rows of the module docstring, built block by block from the recorded series.

    ``stimulus`` (T, K) (K may be 0), ``response`` (T,); ``stimulus_mean`` and
    ``stimulus_sd`` (K,) standardise each stimulus column (zeros and ones leave
    it as it is).  Rows are bins ``first_row`` .. T-1; the lags must lie inside
    the recording: first_row >= max(stimulus_lags - 1, history_lags).
    """

    stimulus: np.ndarray
    stimulus_mean: np.ndarray
    stimulus_sd: np.ndarray
    stimulus_lags: int
    response: np.ndarray
    history_lags: int
    bias: bool
    first_row: int

    def __post_init__(self) -> None:
        stimulus = np.asarray(self.stimulus, dtype=np.float64)
        if stimulus.ndim == 1:
            stimulus = stimulus[:, None]
        if self.stimulus_lags == 0:
            stimulus = np.empty((self.response.shape[0], 0))
        object.__setattr__(self, "stimulus", stimulus)
        object.__setattr__(self, "response", np.asarray(self.response, dtype=np.float64))
        for name in ("stimulus_mean", "stimulus_sd"):
            object.__setattr__(self, name, np.ascontiguousarray(getattr(self, name), dtype=np.float64)
                               [:stimulus.shape[1]])
        if self.first_row < max(self.stimulus_lags - 1, self.history_lags, 0):
            raise ValueError(f"first_row {self.first_row} is before the lags' reach")
        if stimulus.shape[0] != self.response.shape[0] or np.any(self.stimulus_sd == 0):
            raise ValueError("stimulus and response lengths differ, or a stimulus sd is 0")

    @property
    def shape(self) -> tuple[int, int]:
        width = int(self.bias) + self.stimulus.shape[1] * self.stimulus_lags + self.history_lags
        return (self.response.shape[0] - self.first_row, width)

    @property
    def max_block_rows(self) -> int:
        """Rows per block such that a built block holds at most BLOCK_BYTES."""
        return max(1, BLOCK_BYTES // (8 * max(1, self.shape[1])))

    def take(self, rows: np.ndarray) -> np.ndarray:
        """The rows with the given indices (0 is bin ``first_row``).

        Parameters
        ----------
        rows : (n,) int array
            Row indices.

        Returns
        -------
        (n, D) array
            The rows, built now.

        Raises
        ------
        IndexError
            When an index lies outside the design.
        """
        bins = np.asarray(rows, dtype=np.int64) + self.first_row
        if bins.size and (bins.min() < self.first_row or bins.max() >= self.response.shape[0]):
            raise IndexError("row index outside the design")
        out = np.empty((bins.shape[0], self.shape[1]))
        _fill_lagged_rows(out, bins, self.bias, self.stimulus, self.stimulus_mean, self.stimulus_sd,
                          self.stimulus_lags, self.response, self.history_lags)
        return out

    def rows(self, start: int, stop: int) -> np.ndarray:
        """Rows start..stop-1, built now (a new C-contiguous array).

        Parameters
        ----------
        start, stop : int
            The row range; stop is clipped to the number of rows.

        Returns
        -------
        (n, D) array
            The rows.
        """
        stop = min(stop, self.shape[0])
        return self.take(np.arange(start, max(start, stop)))

    def materialise(self) -> np.ndarray:
        """The whole (T, D) matrix: for small designs and tests only.

        Returns
        -------
        (T, D) array
            The matrix.
        """
        return self.rows(0, self.shape[0])


DesignRows = Union[DenseRows, LaggedRows]


def as_design_rows(design: np.ndarray | DesignRows) -> DesignRows:
    """A matrix becomes :class:`DenseRows`; a row source is returned as it is.

    Parameters
    ----------
    design : (T, D) array or DesignRows
        A matrix or a row source.

    Returns
    -------
    DesignRows
        The row source.
    """
    return design if isinstance(design, (DenseRows, LaggedRows)) else DenseRows(design)


def blocks(design: DesignRows) -> Iterator[tuple[int, int, np.ndarray]]:
    """(start, stop, rows start..stop-1) over the whole design, one block of at most BLOCK_BYTES at a time
    for a streamed design (a dense one is one block: its rows are a view).

    Parameters
    ----------
    design : DesignRows
        The row source.

    Yields
    ------
    start, stop : int
        The block's row range.
    rows : (stop - start, D) array
        Its rows.
    """
    if isinstance(design, DenseRows):
        yield 0, design.shape[0], design.matrix
        return
    for start, stop in row_blocks(design.shape[0], design.shape[1], design.max_block_rows):
        yield start, stop, design.rows(start, stop)


def linear_predictor(design: DesignRows, weights: np.ndarray) -> np.ndarray:
    """eta = X w, a block of rows at a time.

    Parameters
    ----------
    design : the rows X (T, D)
    weights : w (D,)

    Returns
    -------
    eta (T,)
    """
    eta = np.empty(design.shape[0])
    for start, stop, block in blocks(design):
        eta[start:stop] = block @ weights
    return eta


def weighted_gram_product(design: DesignRows, weights: np.ndarray, vector: np.ndarray) -> np.ndarray:
    """X' diag(c) X v, a block of rows at a time (no D x D matrix): sum over blocks of X_b'(c_b * (X_b v)).

    Parameters
    ----------
    design : the rows X (T, D)
    weights : c (T,), one weight per row
    vector : v (D,)

    Returns
    -------
    The product (D,).
    """
    total = np.zeros(design.shape[1])
    for start, stop, block in blocks(design):
        total += block.T @ (weights[start:stop] * (block @ vector))
    return total


def gram(design: DesignRows, response: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """X'X and X'y, a block of rows at a time.

    Parameters
    ----------
    design : the rows X (T, D)
    response : y (T,)

    Returns
    -------
    X'X (D, D) and X'y (D,)
    """
    dim = design.shape[1]
    cross, projected = np.zeros((dim, dim)), np.zeros(dim)
    for start, stop, block in blocks(design):
        cross += block.T @ block
        projected += block.T @ response[start:stop]
    return cross, projected
