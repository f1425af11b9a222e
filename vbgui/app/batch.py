"""Fit one preset to many units of a recording: serially, on threads, or on a Dask cluster.

Every unit goes through the same :class:`~vbgui.app.fit.FitSession` as
``vbgui fit``, so a unit's result is the one ``vbgui fit --unit`` writes.  A
unit whose data are unusable (NaN, negative counts, ...) or whose fit fails
gives an outcome with its one-line reason; the other units go on.

:func:`run_batch` yields a :class:`UnitOutcome` as each unit finishes (in
completion order) and calls ``on_progress`` first; the caller writes the
results (the CLI in its main thread; the window, later, in its own).
Executors:

* ``"serial"``: one unit after the other, in the calling thread;
* ``"threads"``: a thread pool over units (the numba kernels release the
  GIL; each session still splits its passes over the row-chunk pool of
  :mod:`vbgui.core.rowpass`);
* ``"dask"``: tasks on a ``dask.distributed`` cluster (a running one, or a
  SLURM cluster :mod:`vbgui.app.cluster` starts); a task carries
  the recording's path, the load options, the unit's index and the preset,
  and the worker reads the file itself (arrays never travel through the
  scheduler).

Serial, threads and Dask give bit-identical results: a fit depends on its
unit's data and the preset only, and the row passes sum their chunks in a
fixed order.
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import csv
import io
import json
import math
import os
import re
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

from vbgui.app.cluster import CLUSTER_INSTALL
from vbgui.app.fit import FitSession, recording_checksum
from vbgui.core.cancel import CancelToken
from vbgui.core.rowpass import rows_in_this_thread
from vbgui.errors import ResultFileError, VbguiError
from vbgui.io.loaders import LoadOptions, read_recording_file
from vbgui.io.recording import RecordingFile
from vbgui.io.result_json import read_json
from vbgui.models.preset import Preset

EXECUTORS = ("serial", "threads", "dask")
POLL_SECONDS = 0.05  # how often a waiting caller looks at its cancel token (and lets Ctrl-C in)
CONNECT_TIMEOUT = 5.0  # seconds to reach a Dask scheduler before giving up
SUMMARY_COLUMNS = ("unit", "converged", "iterations", "elbo", "expected_log_likelihood", "kl", "log_evidence",
                   "seconds", "error")


@dataclass(frozen=True)
class UnitOutcome:
    """What became of one unit: its result (as written to its file) or the reason it failed.

    ``result`` is :meth:`FitResult.to_dict` of the fit, None when the unit
    failed (``error`` holds the one-line reason) or was cancelled.
    """

    index: int
    unit: str
    result: dict[str, Any] | None
    error: str = ""
    cancelled: bool = False

    @property
    def succeeded(self) -> bool:
        return self.result is not None

    def summary_row(self) -> dict[str, str]:
        """The unit's row of ``summary.csv`` (empty fields where a value is unknown).

        Returns
        -------
        dict of str to str
            Column name (SUMMARY_COLUMNS) to cell text.
        """
        row = dict.fromkeys(SUMMARY_COLUMNS, "")
        row["unit"] = self.unit
        row["error"] = self.error
        if self.result is not None:
            for key in SUMMARY_COLUMNS[1:-1]:
                value = self.result.get(key)
                row[key] = "" if value is None else (str(value).lower() if isinstance(value, bool) else repr(value))
        return row


@dataclass(frozen=True)
class BatchProgress:
    """Passed to ``on_progress`` as each unit finishes: how many of how many, and the latest outcome."""

    finished: int
    total: int
    outcome: UnitOutcome


def summary_csv_text(outcomes: Sequence[UnitOutcome], columns: Sequence[str] = SUMMARY_COLUMNS,
                     row: Callable[[UnitOutcome], dict[str, str]] | None = None) -> str:
    """``summary.csv`` of a batch (``vbgui batch`` and the window's export): the header, then one row per
    unit, ``row(outcome)`` (default: :meth:`UnitOutcome.summary_row`) under ``columns``.

    Parameters
    ----------
    outcomes : sequence of UnitOutcome
        One per unit, in the order of the rows.
    columns : sequence of str
        The header.
    row : callable, optional
        Gives a unit's row, column name to text.

    Returns
    -------
    str
        The CSV text, lines ending in newline.
    """
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    for outcome in outcomes:
        writer.writerow(row(outcome) if row is not None else outcome.summary_row())
    return text.getvalue()


def one_line(message: object) -> str:
    """``message`` as text on one line: every run of whitespace (line breaks too) becomes one space.

    Parameters
    ----------
    message : object
        An exception or any object; its str() is used.

    Returns
    -------
    str
        The text, without leading or trailing whitespace.
    """
    return " ".join(str(message).split())


def resolve_units(recording: RecordingFile, spec: str, flag: str = "--units") -> list[int]:
    """Indices of the units ``spec`` names: ``all``, or a comma-separated list of names or indices.

    Raises VbguiError naming ``flag`` and listing the units that exist when an entry names none.

    Parameters
    ----------
    recording : RecordingFile
        The recording.
    spec : str
        The flag's value.
    flag : str
        The flag named in a message.

    Returns
    -------
    list of int
        Unit indices, in the order named, without repeats.
    """
    if spec.strip() == "all":
        return list(range(recording.n_units))
    indices: list[int] = []
    for entry in spec.split(","):
        key = entry.strip()
        if not key:
            raise VbguiError(f"{flag} {spec!r}: an empty entry; give 'all' or names or indices separated by commas")
        if key in recording.unit_names:
            index = recording.unit_names.index(key)
        elif key.isdigit() and int(key) < recording.n_units:
            index = int(key)
        else:
            shown = ", ".join(f"{i}: {n}" for i, n in enumerate(recording.unit_names[:20]))
            raise VbguiError(f"{flag}: {recording.source} has no unit {key!r}; its units are {shown}"
                             + (f" ... ({recording.n_units} in all)" if recording.n_units > 20 else ""))
        if index not in indices:
            indices.append(index)
    return indices


def result_file_stems(recording: RecordingFile) -> list[str]:
    """The result file name (without .json) of every unit: its name with characters other than letters,
    digits, '.', '_' and '-' replaced by '_'; prefixed by its index when names would clash or be hidden.

    Parameters
    ----------
    recording : RecordingFile
        The recording.

    Returns
    -------
    list of str
        One stem per unit, in unit order, all different.
    """
    stems = [re.sub(r"[^A-Za-z0-9._-]", "_", name) for name in recording.unit_names]
    if len(set(stems)) < len(stems) or any(not s or s.startswith(".") for s in stems):
        width = len(str(recording.n_units - 1))
        stems = [f"{i:0{width}d}_{s}" for i, s in enumerate(stems)]
    return stems


def fit_unit(recording: RecordingFile, index: int, preset: Preset, cancel: CancelToken) -> UnitOutcome:
    """Fit ``preset`` to unit ``index``; a problem of this unit (a VbguiError) becomes the outcome's error.

    Parameters
    ----------
    recording : RecordingFile
        The recording.
    index : int
        The unit.
    preset : Preset
        The preset.
    cancel : CancelToken
        Stops the fit.

    Returns
    -------
    UnitOutcome
        The result, or the one-line reason it failed, or a cancellation.
    """
    name = recording.unit_names[index]
    if cancel.cancelled:
        return UnitOutcome(index, name, None, "cancelled", cancelled=True)
    try:
        session = FitSession(preset, recording.unit(index), cancel)
        result = session.run()
    except VbguiError as exc:
        return UnitOutcome(index, name, None, one_line(exc))
    except MemoryError:
        return UnitOutcome(index, name, None, "out of memory (fewer --workers hold fewer designs at once)")
    except Exception as exc:  # noqa: BLE001 - one unit's unforeseen failure must not end the others' fits
        return UnitOutcome(index, name, None, f"unexpected error, please report it: {exc.__class__.__name__}: "
                                              f"{one_line(exc)}")
    if result.stop_reason == "cancelled":
        return UnitOutcome(index, name, None, "cancelled", cancelled=True)
    data = result.to_dict()
    if not all(math.isfinite(data[key]) for key in ("elbo", "expected_log_likelihood", "kl")):
        return UnitOutcome(index, name, None, f"the fit ended with a non-finite ELBO ({result.message})")
    return UnitOutcome(index, name, data)


def units_on_threads(work: Callable[[int], UnitOutcome], indices: Sequence[int], workers: int | None,
                     cancel: CancelToken) -> Iterator[UnitOutcome]:
    """``work(index)`` for every index on a pool of ``workers`` threads (default: one per core; never more
    than there are units), yielding each outcome as it finishes (in index order among those finishing
    together; cancelled ones are not yielded).

    With more than one worker each unit's passes run in its own thread
    (:func:`vbgui.core.rowpass.rows_in_this_thread`): the units are the
    parallelism, and passes queued on the shared row pool would make the
    fits wait for each other's chunks.  Results are bit-identical either way.
    Stopping early (``cancel`` set, or the caller closing the generator)
    cancels what still runs.

    Parameters
    ----------
    work : callable
        work(index) -> UnitOutcome, run in a pool thread.
    indices : sequence of int
        The units.
    workers : int or None
        Threads.
    cancel : CancelToken
        Stops the loop; set by it when it stops early.

    Yields
    ------
    UnitOutcome
        One per unit that was not cancelled, as it finishes.
    """
    n_workers = max(1, min(workers or os.cpu_count() or 1, len(indices)))

    def run(index: int) -> UnitOutcome:
        if n_workers == 1:
            return work(index)
        with rows_in_this_thread():
            return work(index)

    pool = concurrent.futures.ThreadPoolExecutor(max_workers=n_workers, thread_name_prefix="vbgui-unit")
    pending = {pool.submit(run, index) for index in indices}
    try:
        while pending and not cancel.cancelled:
            done, pending = concurrent.futures.wait(pending, timeout=POLL_SECONDS,
                                                    return_when=concurrent.futures.FIRST_COMPLETED)
            for future in sorted(done, key=lambda f: f.result().index):
                if not future.result().cancelled:
                    yield future.result()
    finally:
        if pending:  # stopped early: stop what still runs
            cancel.cancel()
        pool.shutdown(wait=False, cancel_futures=True)


def resumable(result_path: Path, recording: RecordingFile, index: int, preset: Preset) -> bool:
    """True when ``result_path`` holds a result of this unit's data (same checksum) under this preset.

    Parameters
    ----------
    result_path : Path
        An existing result file, or a path where none is.
    recording : RecordingFile
        The recording.
    index : int
        The unit.
    preset : Preset
        The preset.

    Returns
    -------
    bool
        False also when the file cannot be read.
    """
    try:
        existing = read_json(result_path)
        checksum = recording_checksum(recording.unit(index), preset.design)
    except (ResultFileError, VbguiError):
        return False
    return (existing.get("recording_checksum") == checksum
            and existing.get("preset") == json.loads(json.dumps(preset.to_dict())))


@lru_cache(maxsize=2)
def _worker_recording(path: str, options_json: str, mtime_ns: int) -> RecordingFile:
    """A Dask worker's copy of a recording (read once per worker while the file is unchanged)."""
    options = json.loads(options_json)
    return read_recording_file(path, LoadOptions(options["variables"], options["dt"], keep_bad_units=True,
                                                 stimulus_path=options["stimulus_path"]))


def fit_unit_from_file(path: str, options_json: str, index: int, preset: Preset) -> UnitOutcome:
    """A Dask task: read the recording at ``path`` in the worker, fit unit ``index``.

    Parameters
    ----------
    path : str
        The recording file, as the worker sees it.
    options_json : str
        The load options (variables, dt, stimulus path) as JSON.
    index : int
        The unit.
    preset : Preset
        The preset.

    Returns
    -------
    UnitOutcome
        The unit's outcome; a file the worker cannot read becomes its error.
    """
    try:
        recording = _worker_recording(path, options_json, os.stat(path).st_mtime_ns)
    except (OSError, VbguiError) as exc:
        return UnitOutcome(index, str(index), None, one_line(exc))
    with rows_in_this_thread():  # a Dask worker runs one task per thread: the tasks are the parallelism
        return fit_unit(recording, index, preset, CancelToken())


def connect_dask(scheduler: str, timeout: float = CONNECT_TIMEOUT):
    """A ``dask.distributed.Client`` of the scheduler at ``scheduler`` (e.g. tcp://host:8786).

    The scheduler is asked who it is first, within ``timeout`` seconds, so
    that an address nothing answers at (or something other than a Dask
    scheduler answers at) leaves no half-built client behind.  Raises
    VbguiError (one line) then, and when Dask is not installed.

    Parameters
    ----------
    scheduler : str
        The scheduler's address.
    timeout : float
        Seconds to wait for it.

    Returns
    -------
    dask.distributed.Client
        A client not set as Dask's default.
    """
    try:
        from dask.distributed import Client
    except ImportError:
        raise VbguiError(f"--scheduler needs Dask, which is not installed: {CLUSTER_INSTALL}") from None
    where = f"--scheduler {scheduler}"
    try:
        identity = asyncio.run(_scheduler_identity(scheduler, timeout))
    except (OSError, asyncio.TimeoutError):
        raise VbguiError(f"{where}: cannot reach a Dask scheduler within {timeout:g} s") from None
    except ValueError as exc:
        raise VbguiError(f"{where}: not a scheduler address like tcp://HOST:PORT ({one_line(exc)})") from None
    except Exception as exc:  # noqa: BLE001 - whatever answered spoke another protocol
        raise VbguiError(f"{where}: what answers there is not a Dask scheduler ({exc.__class__.__name__})") from None
    if not isinstance(identity, dict) or identity.get("type") != "Scheduler":
        raise VbguiError(f"{where}: what answers there is not a Dask scheduler")
    try:
        return Client(scheduler, timeout=timeout, set_as_default=False)
    except Exception as exc:  # noqa: BLE001 - distributed raises OSError, TimeoutError, ...
        raise VbguiError(f"{where}: cannot connect to the Dask scheduler ({one_line(exc)})") from None


async def _scheduler_identity(scheduler: str, timeout: float) -> Any:
    from distributed.core import rpc

    connection = rpc(scheduler, timeout=timeout)
    try:
        return await asyncio.wait_for(connection.identity(), timeout)
    finally:
        await connection.close_rpc()


def run_batch(recording: RecordingFile, preset: Preset, indices: Sequence[int], *, executor: str = "threads",
              workers: int | None = None, cancel: CancelToken | None = None,
              on_progress: Callable[[BatchProgress], None] | None = None, recording_path: str | Path | None = None,
              load_options: LoadOptions | None = None, dask_client: Any = None) -> Iterator[UnitOutcome]:
    """Fit ``preset`` to the units ``indices`` of ``recording``; yield each outcome as its unit finishes.

    Closing the generator (or an exception in the caller while it waits, such
    as KeyboardInterrupt) cancels what still runs and returns at once.

    Parameters
    ----------
    recording
        The recording file, read (the serial and thread executors fit from it).
    preset
        The preset every unit is fitted with.
    indices
        The units to fit, by index.
    executor
        One of :data:`EXECUTORS`.  ``"dask"`` needs ``dask_client`` and
        ``recording_path`` (and ``load_options`` if the file needed them).
    workers
        Threads for ``"threads"`` (default: ``os.cpu_count()``).
    cancel
        Set it to stop: running fits end at their next check, waiting units
        never start, and the generator returns without yielding them.
    on_progress
        Called with a :class:`BatchProgress` before each outcome is yielded.
    recording_path
        Path of the recording file, which each Dask worker reads itself (``"dask"`` only).
    load_options
        The options the file was loaded with (``"dask"`` only).
    dask_client
        A ``dask.distributed.Client`` (``"dask"`` only).

    Yields
    ------
    UnitOutcome
        One per unit, as it finishes; cancelled units are not yielded.

    Raises
    ------
    ValueError
        For an executor not in :data:`EXECUTORS`, or ``"dask"`` without ``dask_client`` and ``recording_path``.
    """
    if executor not in EXECUTORS:
        raise ValueError(f"executor must be one of {EXECUTORS}, got {executor!r}")
    cancel = cancel if cancel is not None else CancelToken()
    total = len(indices)
    finished = 0

    def report(outcome: UnitOutcome) -> UnitOutcome:
        nonlocal finished
        finished += 1
        if on_progress is not None:
            on_progress(BatchProgress(finished, total, outcome))
        return outcome

    if executor == "serial":
        for index in indices:
            outcome = fit_unit(recording, index, preset, cancel)
            if outcome.cancelled:
                return
            yield report(outcome)
        return
    if executor == "threads":
        for outcome in units_on_threads(lambda index: fit_unit(recording, index, preset, cancel), indices, workers,
                                        cancel):
            yield report(outcome)
        return
    yield from _run_on_dask(dask_client, recording_path, load_options, preset, indices, cancel, report)


def _run_on_dask(client: Any, recording_path: str | Path | None, load_options: LoadOptions | None, preset: Preset,
                 indices: Sequence[int], cancel: CancelToken,
                 report: Callable[[UnitOutcome], UnitOutcome]) -> Iterator[UnitOutcome]:
    if client is None or recording_path is None:
        raise ValueError("the dask executor needs dask_client and recording_path")
    options = load_options or LoadOptions()
    stimulus_path = None if options.stimulus_path is None else str(Path(options.stimulus_path).resolve())
    options_json = json.dumps({"variables": options.variables, "dt": options.dt, "stimulus_path": stimulus_path})
    path = str(Path(recording_path).resolve())
    pending = {client.submit(fit_unit_from_file, path, options_json, index, preset, pure=False): index
               for index in indices}
    try:
        while pending and not cancel.cancelled:
            done = [future for future in pending if future.done()]
            if not done:
                time.sleep(POLL_SECONDS)
                continue
            for future in done:
                index = pending.pop(future)
                try:
                    outcome = future.result()
                except Exception as exc:  # noqa: BLE001 - a worker lost or a task killed: this unit fails
                    outcome = UnitOutcome(index, str(index), None,
                                          f"the Dask task failed ({one_line(exc) or exc.__class__.__name__})")
                yield report(outcome)
    finally:
        if pending:
            client.cancel(list(pending))
