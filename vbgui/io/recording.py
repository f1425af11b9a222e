"""The in-memory recording every loader returns, and the checks it passes."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from vbgui.errors import RecordingError
from vbgui.io.limits import VALUE_RULES, check_values
from vbgui.io.trials import checked_trial_starts


@dataclass(frozen=True, eq=False)
class Population:
    """The units recorded together with one unit, in the same bins: the regressors of a coupled GLM.

    ``responses`` is the file's (T, U) array of every unit (shared, never
    copied); ``own`` is the column of the unit being fitted; ``unusable`` maps
    the columns whose data are unusable (NaN, negative counts, ...) to their
    reason: they are left out of the coupling regressors.
    """

    responses: np.ndarray
    names: tuple[str, ...]
    own: int
    unusable: dict[int, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.responses.ndim != 2 or self.responses.shape[1] != len(self.names):
            raise ValueError(f"population responses of shape {self.responses.shape} for {len(self.names)} names")
        if not 0 <= self.own < len(self.names):
            raise ValueError(f"own unit {self.own} outside 0..{len(self.names) - 1}")

    @property
    def coupled(self) -> tuple[int, ...]:
        """The columns a coupled GLM of unit ``own`` takes as regressors: every other usable unit, in file order."""
        return tuple(j for j in range(len(self.names)) if j != self.own and j not in self.unusable)

    def head(self, n_bins: int) -> "Population":
        """The same population restricted to its first ``n_bins`` bins (no copy)."""
        return Population(self.responses[:n_bins], self.names, self.own, self.unusable)


@dataclass(frozen=True, eq=False)
class Recording:
    """One unit's response in T bins of width ``dt`` seconds, with its regressors.

    ``response`` holds spike counts (or 0/1 spikes, or a continuous response);
    ``stimulus`` is (T, K) or None; ``design`` is a ready design matrix (T, D)
    used as it is, or None; ``truth`` maps parameter names to ground-truth
    weights when the recording is synthetic; ``population`` holds the other
    units of a multi-unit file (None for a file of one unit).
    """

    response: np.ndarray
    dt: float
    source: str
    stimulus: np.ndarray | None = None
    design: np.ndarray | None = None
    truth: dict[str, float] = field(default_factory=dict)
    response_name: str = "counts"
    unit: str = ""
    notes: tuple[str, ...] = ()
    population: Population | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "response", np.ascontiguousarray(self.response, dtype=np.float64))
        _as_float_columns(self)
        check_recording_arrays(self)
        if self.population is not None and self.population.responses.shape[0] != self.n_bins:
            raise RecordingError(f"{self.source}: the population has {self.population.responses.shape[0]} bins "
                                 f"but '{self.response_name}' has {self.n_bins}")

    @property
    def n_bins(self) -> int:
        return int(self.response.shape[0])

    @property
    def duration(self) -> float:
        return self.n_bins * self.dt

    @property
    def n_stimuli(self) -> int:
        return 0 if self.stimulus is None else int(self.stimulus.shape[1])

    def mean_rate(self) -> float:
        """Mean response per second (the firing rate in Hz for spike counts)."""
        return float(np.mean(self.response) / self.dt)


def _as_float_columns(record) -> None:
    """Make ``stimulus`` and ``design`` C-contiguous float64 with one column per regressor (no copy if already)."""
    for name in ("stimulus", "design"):
        array = getattr(record, name)
        if array is not None:
            array = np.asarray(array, dtype=np.float64)
            object.__setattr__(record, name, np.ascontiguousarray(array[:, None] if array.ndim == 1 else array))


def _finite(source: str, name: str, array: np.ndarray) -> None:
    if array.dtype.kind in "biu":  # integers are always finite; skip a temporary as large as the data
        return
    if not np.all(np.isfinite(array)):
        flat = np.flatnonzero(~np.isfinite(array.reshape(array.shape[0], -1)).any(axis=1))
        raise RecordingError(f"{source}: '{name}' contains NaN or Inf (first at bin {int(flat[0])})")


def check_arrays(source: str, name: str, responses: np.ndarray, dt: float, stimulus: np.ndarray | None,
                 design: np.ndarray | None, truth: dict[str, float], role: str = "response") -> None:
    """Raise :class:`RecordingError` naming ``source`` and the array if they are inconsistent.

    ``responses`` is (T,) or (T, units); ``name`` is what the file calls it and
    ``role`` what it holds ('counts' or 'response'), which sets the values allowed
    (:data:`vbgui.io.limits.VALUE_RULES`).
    """
    n_bins = responses.shape[0]
    if n_bins == 0:
        raise RecordingError(f"{source}: '{name}' is empty")
    _finite(source, name, responses)
    check_values(source, name, role if role in VALUE_RULES else "response", responses)
    if not (np.isfinite(dt) and dt > 0):
        raise RecordingError(f"{source}: 'dt' must be a positive number of seconds per bin, got {dt!r}")
    for array_name, array in (("stimulus", stimulus), ("design", design)):
        if array is None:
            continue
        if array.ndim != 2:
            raise RecordingError(f"{source}: '{array_name}' must be (T,) or (T, K), got shape {array.shape}")
        if array.shape[0] != n_bins:
            raise RecordingError(f"{source}: '{array_name}' has {array.shape[0]} bins but '{name}' has {n_bins}")
        if array.shape[1] == 0:
            raise RecordingError(f"{source}: '{array_name}' has no columns")
        _finite(source, array_name, array)
        check_values(source, array_name, array_name, array)
    for key, value in truth.items():
        if not np.isfinite(value):
            raise RecordingError(f"{source}: ground truth for '{key}' is not finite")


def check_recording_arrays(rec: Recording) -> None:
    """Raise :class:`RecordingError` naming the source and array if ``rec`` is inconsistent."""
    name = f"{rec.response_name}' of unit '{rec.unit}" if rec.unit else rec.response_name
    if rec.response.ndim != 1:
        raise RecordingError(f"{rec.source}: '{name}' must be a vector of length T, got shape {rec.response.shape}")
    check_arrays(rec.source, name, rec.response, rec.dt, rec.stimulus, rec.design, rec.truth, rec.response_name)


@dataclass(frozen=True, eq=False)
class RecordingFile:
    """What a loader read: one or more units recorded in the same bins, with a shared stimulus.

    ``responses`` is (T, U); :meth:`unit` picks one as a :class:`Recording`
    without copying the other units.  ``unit_problems`` maps the index of a
    unit whose responses are unusable (NaN, negative counts, ...) to the
    one-line reason (a file of several units is built as long as one is usable;
    :func:`vbgui.io.loaders.read_recording_file` refuses it unless asked to
    keep bad units).  ``unit_truth`` maps a unit's name to ground truth of
    that unit alone (a simulated population), added to the shared ``truth``.
    ``trial_starts``, when the file has trials, is the bin at which each
    begins (:mod:`vbgui.io.trials`; None: one trial).
    """

    responses: np.ndarray
    unit_names: tuple[str, ...]
    dt: float
    source: str
    stimulus: np.ndarray | None = None
    design: np.ndarray | None = None
    truth: dict[str, float] = field(default_factory=dict)
    response_name: str = "counts"
    notes: tuple[str, ...] = ()
    unit_truth: dict[str, dict[str, float]] = field(default_factory=dict)
    trial_starts: np.ndarray | None = None
    unit_problems: dict[int, str] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        responses = self.responses
        if responses.ndim == 1:
            responses = responses[:, None]
        if responses.ndim != 2:
            raise RecordingError(f"{self.source}: '{self.response_name}' must be (T,) or (T, units), "
                                 f"got shape {self.responses.shape}")
        if responses.shape[1] == 0:
            raise RecordingError(f"{self.source}: '{self.response_name}' has no units (shape {self.responses.shape})")
        if len(self.unit_names) != responses.shape[1]:
            raise RecordingError(f"{self.source}: {len(self.unit_names)} unit names for "
                                 f"{responses.shape[1]} units in '{self.response_name}'")
        _as_float_columns(self)
        problems: dict[int, str] = {}
        if responses.shape[1] == 1:
            check_arrays(self.source, self.response_name, responses, self.dt, self.stimulus, self.design,
                         self.truth, self.response_name)
            if self.response_name == "counts" and np.min(responses) < 0:
                bins = np.flatnonzero(responses[:, 0] < 0)
                raise RecordingError(f"{self.source}: 'counts' contains negative counts (first at bin "
                                     f"{int(bins[0])})")
        else:
            problems = self._unit_problems(responses)
            if len(problems) == responses.shape[1]:
                raise RecordingError(f"{problems[0]} (and every other unit has a problem too)")
        self._check_unit_truth()
        if self.trial_starts is not None:
            object.__setattr__(self, "trial_starts", checked_trial_starts(self.source, self.trial_starts,
                                                                          responses.shape[0]))
        object.__setattr__(self, "responses", responses)
        object.__setattr__(self, "unit_problems", problems)

    def _unit_problems(self, responses: np.ndarray) -> dict[int, str]:
        """Check the shared arrays (raising) and each unit's column (collecting): one bad unit of many
        leaves the others usable; its problem is raised when that unit is picked."""
        placeholder = np.broadcast_to(np.int8(0), (responses.shape[0], 1))  # the shared arrays' checks need T
        check_arrays(self.source, self.response_name, placeholder, self.dt, self.stimulus, self.design,
                     self.truth, self.response_name)
        problems = {}
        for index, unit_name in enumerate(self.unit_names):
            column = responses[:, index]
            name = f"{self.response_name}' of unit '{unit_name}"
            try:
                check_arrays(self.source, name, column, self.dt, None, None, {}, self.response_name)
                if self.response_name == "counts" and np.min(column) < 0:
                    raise RecordingError(f"{self.source}: '{name}' contains negative counts (first at bin "
                                         f"{int(np.flatnonzero(column < 0)[0])})")
            except RecordingError as exc:
                problems[index] = str(exc)
        return problems

    def _check_unit_truth(self) -> None:
        for unit_name, truth in self.unit_truth.items():
            if unit_name not in self.unit_names:
                raise RecordingError(f"{self.source}: ground truth for unit '{unit_name}', which the file does not "
                                     "hold")
            for key, value in truth.items():
                if not np.isfinite(value):
                    raise RecordingError(f"{self.source}: ground truth for '{key}' of unit '{unit_name}' is not finite")

    @property
    def n_units(self) -> int:
        return len(self.unit_names)

    @property
    def n_usable_units(self) -> int:
        """The units whose data can be fitted (those without an entry in ``unit_problems``)."""
        return self.n_units - len(self.unit_problems)

    def unit_index(self, key: str | int | None) -> int:
        """Index of a unit given by name, by index (int or digits), or the first when None."""
        if key is None:
            return 0
        if isinstance(key, str) and key in self.unit_names:
            return self.unit_names.index(key)
        try:
            index = int(key)
        except (TypeError, ValueError):
            index = -1
        if not 0 <= index < self.n_units:
            raise RecordingError(f"{self.source}: no unit {key!r}; units are "
                                 + ", ".join(f"{i}: {n}" for i, n in enumerate(self.unit_names[:20]))
                                 + (" ..." if self.n_units > 20 else ""))
        return index

    def unit(self, key: str | int | None = None) -> Recording:
        """The unit ``key`` (see :meth:`unit_index`) as a Recording; RecordingError if its data are unusable."""
        index = self.unit_index(key)
        if index in self.unit_problems:
            raise RecordingError(self.unit_problems[index])
        name = self.unit_names[index]
        population = (Population(self.responses, self.unit_names, index, self.unit_problems)
                      if self.n_units > 1 else None)
        return Recording(self.responses[:, index], self.dt, self.source, stimulus=self.stimulus, design=self.design,
                         truth={**self.truth, **self.unit_truth.get(name, {})}, response_name=self.response_name,
                         unit=name if self.n_units > 1 else "", notes=self.notes, population=population)
