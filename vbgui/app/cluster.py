"""A Dask cluster that ``vbgui batch --cluster slurm`` builds itself: a dask-jobqueue ``SLURMCluster``.

The ``--cluster-option KEY=VALUE`` flags are checked against one table
(:data:`SLURM_OPTIONS`) before anything is read or submitted: each key names
a ``SLURMCluster`` keyword and each value is parsed by its kind (an integer,
a number, a memory size, a SLURM walltime, a line of text, or a list built
from repeating the key); nothing is evaluated.  A key outside the table is
refused with the nearest known keys, rather than passed through, so that a
typing slip (``acount=``) fails in one line before any job is queued instead
of as ``SLURMCluster``'s TypeError; settings the table lacks belong in Dask's
configuration (``~/.config/dask/jobqueue.yaml``, section ``jobqueue.slurm``),
which ``SLURMCluster`` reads for every keyword not given.

:func:`start_cluster` builds the cluster, connects a ``Client`` and asks for
the jobs; the batch then runs on the client exactly as with ``--scheduler``.
"""
from __future__ import annotations

import difflib
import importlib
import importlib.util
import math
import re
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from vbgui.errors import VbguiError

CLUSTER_KINDS = ("slurm",)
CLUSTER_INSTALL = 'pip install "vbgui[cluster]"'
MAX_JOBS = 1000
MAX_CORES = 4096
_SIZE = re.compile(r"^[0-9]+(\.[0-9]+)?\s*([KMGTP]i?B|[KMGTP])$", re.IGNORECASE)
_WALLTIME = re.compile(r"^([0-9]+-)?[0-9]+(:[0-5][0-9]){0,2}$")  # minutes, MM:SS, HH:MM:SS, D-HH[:MM[:SS]]


def _integer(value: str) -> int:
    if not value.isdigit() or not 1 <= int(value) <= MAX_CORES:
        raise ValueError(f"an integer from 1 to {MAX_CORES}")
    return int(value)


def _number(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not math.isfinite(number) or number <= 0:
        raise ValueError("a positive number")
    return number


def _size(value: str) -> str:
    if not _SIZE.match(value):
        raise ValueError("a memory size with its unit, such as 16GB or 4GiB")
    return value


def _walltime(value: str) -> str:
    if not _WALLTIME.match(value):
        raise ValueError("a SLURM time limit: MINUTES, HH:MM:SS or DAYS-HH:MM:SS")
    return value


def _text(value: str) -> str:
    return value


@dataclass(frozen=True)
class ClusterOption:
    """One ``--cluster-option`` key: how its value is parsed, whether it may repeat, and what it sets."""

    parse: Callable[[str], Any]
    repeats: bool
    meaning: str


SLURM_OPTIONS: dict[str, ClusterOption] = {
    "queue": ClusterOption(_text, False, "the partition (#SBATCH -p)"),
    "account": ClusterOption(_text, False, "the account charged (#SBATCH -A)"),
    "walltime": ClusterOption(_walltime, False, "each job's time limit (#SBATCH -t)"),
    "cores": ClusterOption(_integer, False, "cores per job, shared by its Dask worker processes"),
    "memory": ClusterOption(_size, False, "memory per job, shared by its Dask worker processes"),
    "processes": ClusterOption(_integer, False, "Dask worker processes per job (each fits one unit at a time "
                                                "per thread)"),
    "job_cpu": ClusterOption(_integer, False, "cores asked of SLURM when not 'cores' (#SBATCH --cpus-per-task)"),
    "job_mem": ClusterOption(_size, False, "memory asked of SLURM when not 'memory' (#SBATCH --mem)"),
    "job_name": ClusterOption(_text, False, "the jobs' name in squeue (#SBATCH -J)"),
    "job_extra_directives": ClusterOption(_text, True, "one more #SBATCH line, e.g. --gres=gpu:1 (repeatable)"),
    "job_directives_skip": ClusterOption(_text, True, "leave out #SBATCH lines holding this text (repeatable)"),
    "job_script_prologue": ClusterOption(_text, True, "a shell line run before the worker starts, e.g. "
                                                      "'module load python' (repeatable)"),
    "worker_extra_args": ClusterOption(_text, True, "one more argument of the dask worker command (repeatable)"),
    "interface": ClusterOption(_text, False, "the network interface of the scheduler and workers, e.g. ib0"),
    "local_directory": ClusterOption(_text, False, "the workers' scratch folder on the compute nodes"),
    "log_directory": ClusterOption(_text, False, "where the jobs' output files go"),
    "python": ClusterOption(_text, False, "the Python that runs the workers (default: this one)"),
    "death_timeout": ClusterOption(_number, False, "seconds a worker waits for the scheduler before it stops"),
}


def check_cluster_kind(kind: str) -> None:
    """Refuse a ``--cluster`` other than the kinds :data:`CLUSTER_KINDS` names.

    Parameters
    ----------
    kind : str
        The value of --cluster.

    Raises
    ------
    VbguiError
        For an unknown kind.
    """
    if kind not in CLUSTER_KINDS:
        raise VbguiError(f"--cluster {kind}: unknown cluster kind; the one supported is "
                         f"{', '.join(CLUSTER_KINDS)} (or join a running cluster with --scheduler tcp://HOST:PORT)")


def parse_cluster_options(texts: Sequence[str]) -> dict[str, Any]:
    """The ``SLURMCluster`` keywords that ``--cluster-option KEY=VALUE`` flags give.

    Each text is split at its first '='; the key must be one of
    :data:`SLURM_OPTIONS` and the value is parsed by that key's kind (no
    evaluation).  A repeatable key collects its values into a list in the
    order given; any other key may appear once.

    Raises
    ------
    VbguiError
        Naming the flag and the problem: no '=', an empty key or value, a
        control character, an unknown key (with the nearest known ones), a
        value of the wrong kind, a key given twice, or more processes than
        cores.

    Parameters
    ----------
    texts : sequence of str
        The values of the --cluster-option flags, in order.

    Returns
    -------
    dict of str to object
        Keyword to parsed value (a list for a repeatable key).
    """
    options: dict[str, Any] = {}
    for text in texts:
        flag = f"--cluster-option {text!r}"
        key, equals, value = text.partition("=")
        key, value = key.strip(), value.strip()
        if not equals:
            raise VbguiError(f"{flag}: expected KEY=VALUE, e.g. cores=8")
        if not key:
            raise VbguiError(f"{flag}: the key before '=' is empty")
        if key not in SLURM_OPTIONS:
            near = difflib.get_close_matches(key, SLURM_OPTIONS, n=2)
            hint = f"did you mean {' or '.join(near)}? " if near else ""
            raise VbguiError(f"{flag}: unknown key {key!r}; {hint}the keys are {', '.join(SLURM_OPTIONS)} "
                             f"(others go in Dask's jobqueue.slurm configuration)")
        if not value:
            raise VbguiError(f"{flag}: the value after '=' is empty")
        if any(ord(character) < 32 or ord(character) == 127 for character in value):
            raise VbguiError(f"{flag}: the value holds a control character (a line break would end up in the "
                             f"job script)")
        option = SLURM_OPTIONS[key]
        try:
            parsed = option.parse(value)
        except ValueError as exc:
            raise VbguiError(f"{flag}: {key} must be {exc}") from None
        if option.repeats:
            options.setdefault(key, []).append(parsed)
        elif key in options:
            raise VbguiError(f"{flag}: {key} is given twice")
        else:
            options[key] = parsed
    if "processes" in options and "cores" in options and options["processes"] > options["cores"]:
        raise VbguiError(f"--cluster-option processes={options['processes']}: more worker processes than "
                         f"cores={options['cores']} per job")
    return options


@dataclass
class RunningCluster:
    """A cluster this process started, its connected client, and what to tell the user about it."""

    client: Any
    cluster: Any
    description: str

    def close(self) -> None:
        """Disconnect, then close the cluster: its jobs are cancelled (scancel) and its scheduler stops."""
        try:
            self.client.close()
        finally:
            self.cluster.close()


def require_cluster_packages(kind: str) -> None:
    """Refuse ``--cluster kind`` in one line saying how to install dask-jobqueue when it cannot be imported.

    Parameters
    ----------
    kind : str
        The value of --cluster, named in the message.

    Raises
    ------
    VbguiError
        When dask.distributed or dask_jobqueue cannot be imported.
    """
    try:
        for module in ("dask.distributed", "dask_jobqueue"):
            importlib.import_module(module)
    except ImportError:
        raise VbguiError(f"--cluster {kind} needs dask-jobqueue, which is not installed: {CLUSTER_INSTALL}") from None


def start_cluster(kind: str, options: dict[str, Any], jobs: int) -> RunningCluster:
    """Build a ``kind`` cluster (``SLURMCluster(**options)``), connect a client and ask for ``jobs`` jobs.

    The jobs are submitted in the background; tasks wait in the scheduler
    until the queue starts them.  Raises VbguiError (one line) when
    dask-jobqueue is not installed (saying how to install it), when neither
    the options nor Dask's configuration give the cores and memory of a job,
    or when ``SLURMCluster`` refuses the options or cannot start its
    scheduler (a network interface that is not there, say).

    Parameters
    ----------
    kind : str
        The cluster kind, one of CLUSTER_KINDS.
    options : dict of str to object
        SLURMCluster keywords, as from :func:`parse_cluster_options`.
    jobs : int
        Number of jobs to ask for.

    Returns
    -------
    RunningCluster
        The client, the cluster and a line describing them.
    """
    check_cluster_kind(kind)
    require_cluster_packages(kind)
    import dask
    from dask.distributed import Client
    from dask_jobqueue import SLURMCluster

    for key, example in (("cores", "8"), ("memory", "16GB")):
        if key not in options and dask.config.get(f"jobqueue.slurm.{key}", None) is None:
            raise VbguiError(f"--cluster {kind} needs --cluster-option {key}={example} (per job), or "
                             f"jobqueue.slurm.{key} in Dask's configuration")
    try:
        cluster = SLURMCluster(**options)
    except Exception as exc:  # noqa: BLE001 - ValueError, TypeError, distributed's RuntimeError (a bad interface)
        raise VbguiError(f"--cluster {kind}: the SLURMCluster did not start ({' '.join(str(exc).split())})") \
            from None
    try:
        client = Client(cluster, set_as_default=False)
        cluster.scale(jobs=jobs)
    except BaseException:
        cluster.close()
        raise
    # the dashboard is served only where bokeh is installed; elsewhere its address would lead nowhere
    dashboard = f" (dashboard {cluster.dashboard_link})" if importlib.util.find_spec("bokeh") else ""
    return RunningCluster(client, cluster, f"{jobs} SLURM job(s) of a dask-jobqueue SLURMCluster{dashboard}")
