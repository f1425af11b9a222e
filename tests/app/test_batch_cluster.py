"""`vbgui batch --cluster slurm`: the --cluster-option flags become SLURMCluster's keywords, the jobs are
scaled, the batch runs through the cluster's client and the cluster is closed at the end and on Ctrl-C.

No SLURM here.  Two stand-ins: a `dask_jobqueue` package put first on the subprocess's path, whose
SLURMCluster records its keywords, scale and close calls and is a `distributed.LocalCluster`; and, for the
real dask-jobqueue, `sbatch`/`scancel` scripts on PATH that run a job script on this machine and kill it.
Hostile input runs in subprocesses, as a user would meet it."""
from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tests.app.test_batch import multi_unit_arrays, read_summary, run_batch_cli, write_recording
from tests.cli_subprocess import assert_refused, interrupt_when
from tests.test_readme import command_blocks
from vbgui.app.cluster import SLURM_OPTIONS, parse_cluster_options
from vbgui.errors import VbguiError

ROOT = Path(__file__).resolve().parents[2]

FAKE_JOBQUEUE = '''
"""A stand-in for dask_jobqueue: SLURMCluster records how it is used and runs its "jobs" as local workers."""
import json
import os

from distributed import LocalCluster


def _record(entry):
    with open(os.environ["VBGUI_TEST_CLUSTER_RECORD"], "a") as handle:
        handle.write(json.dumps(entry) + "\\n")


class SLURMCluster(LocalCluster):
    def __init__(self, **kwargs):
        _record({"event": "init", "kwargs": kwargs})
        super().__init__(n_workers=0, threads_per_worker=1, processes=False, protocol="tcp",
                         dashboard_address=None)

    def scale(self, n=None, jobs=0, memory=None, cores=None):
        _record({"event": "scale", "n": n, "jobs": jobs})
        return super().scale(jobs)

    def close(self, *args, **kwargs):
        _record({"event": "close"})
        return super().close(*args, **kwargs)
'''


@pytest.fixture(scope="module")
def recording_path(tmp_path_factory) -> Path:
    return write_recording(tmp_path_factory.mktemp("rec") / "population.npz", **multi_unit_arrays(4, 3000))


def fake_jobqueue_env(folder: Path) -> tuple[dict[str, str], Path]:
    """The environment putting the stand-in dask_jobqueue first on the path, and the file it records to."""
    package = folder / "fake" / "dask_jobqueue"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(FAKE_JOBQUEUE)
    record = folder / "cluster-record.jsonl"
    return {"PYTHONPATH": f"{package.parent}{os.pathsep}{ROOT}", "VBGUI_TEST_CLUSTER_RECORD": str(record)}, record


def recorded(record: Path) -> list[dict]:
    return [json.loads(line) for line in record.read_text().splitlines()]


TYPICAL_OPTIONS = ["queue=short", "account=neuro-lab", "cores=2", "memory=2GB", "walltime=00:30:00",
                   "processes=1", "job_extra_directives=--gres=gpu:1", "job_extra_directives=--constraint=avx2",
                   "job_script_prologue=module load python/3.11"]


def cluster_flags(options: list[str]) -> list[str]:
    return [item for option in options for item in ("--cluster-option", option)]


# --- the options --------------------------------------------------------------------------------------------------

def test_options_are_parsed_by_their_kind_without_evaluation():
    parsed = parse_cluster_options([*TYPICAL_OPTIONS, "death_timeout=120", "job_name= vbgui fits "])
    assert parsed == {"queue": "short", "account": "neuro-lab", "cores": 2, "memory": "2GB",
                      "walltime": "00:30:00", "processes": 1,
                      "job_extra_directives": ["--gres=gpu:1", "--constraint=avx2"],
                      "job_script_prologue": ["module load python/3.11"], "death_timeout": 120.0,
                      "job_name": "vbgui fits"}
    assert type(parsed["cores"]) is int and type(parsed["death_timeout"]) is float
    assert parse_cluster_options(["queue=__import__('os').system('x')"]) == {"queue": "__import__('os').system('x')"}
    assert parse_cluster_options([]) == {}


def test_every_table_key_is_a_keyword_the_real_slurm_cluster_takes():
    dask_jobqueue = pytest.importorskip("dask_jobqueue")
    import inspect

    from dask_jobqueue.core import Job, JobQueueCluster

    accepted = set()
    for function in (dask_jobqueue.SLURMCluster.job_cls.__init__, Job.__init__, JobQueueCluster.__init__):
        accepted |= set(inspect.signature(function).parameters)
    assert set(SLURM_OPTIONS) <= accepted, set(SLURM_OPTIONS) - accepted


@pytest.mark.parametrize("options,fragment", [
    (["cores"], "expected KEY=VALUE"),
    (["=8"], "the key before '=' is empty"),
    (["cores="], "the value after '=' is empty"),
    (["acount=lab"], "unknown key 'acount'; did you mean account?"),
    (["cores=eight"], "cores must be an integer from 1"),
    (["cores=-2"], "cores must be an integer from 1"),
    (["memory=16"], "memory must be a memory size with its unit"),
    (["walltime=1h"], "walltime must be a SLURM time limit"),
    (["death_timeout=nan"], "death_timeout must be a positive number"),
    (["queue=a", "queue=b"], "queue is given twice"),
    (["job_extra_directives=--x\n#SBATCH --y"], "control character"),
    (["cores=2", "processes=4"], "more worker processes than cores=2"),
])
def test_malformed_options_are_refused_naming_the_flag(options, fragment):
    with pytest.raises(VbguiError, match="--cluster-option") as raised:
        parse_cluster_options(options)
    assert fragment in str(raised.value)


# --- hostile input, in subprocesses -------------------------------------------------------------------------------

@pytest.mark.parametrize("flags,fragments", [
    (["--cluster", "pbs"], ["--cluster pbs: unknown cluster kind; the one supported is slurm"]),
    (["--cluster", "slurm", "--cluster-option", "cores"], ["--cluster-option 'cores': expected KEY=VALUE"]),
    (["--cluster", "slurm", "--cluster-option", "=8"], ["the key before '=' is empty"]),
    (["--cluster", "slurm", "--cluster-option", "partition=short"],
     ["unknown key 'partition'", "the keys are queue, account"]),
    (["--cluster", "slurm", "--scheduler", "tcp://127.0.0.1:9"], ["--scheduler joins a running cluster and "
                                                                  "--cluster starts one"]),
    (["--cluster-option", "cores=2"], ["--cluster-option applies with --cluster only"]),
    (["--cluster", "slurm", "--cluster-jobs", "0"], ["--cluster-jobs must be an integer from 1 to 1000"]),
    (["--cluster", "slurm", "--workers", "2"], ["--workers applies to threads; with --cluster"]),
    (["--cluster", "slurm", "--amortise"], ["--amortise runs on threads", "with --cluster"]),
    (["--cluster", "slurm", "--cluster-option", "memory=2GB"], ["--cluster slurm needs --cluster-option cores=8"]),
    (["--cluster", "slurm", "--cluster-option", "cores=1", "--cluster-option", "memory=1GB", "--cluster-option",
      "interface=nosuch0"], ["--cluster slurm: the SLURMCluster did not start", "'nosuch0' is not a valid network"]),
])
def test_bad_cluster_flags_are_refused_in_one_line_and_nothing_is_written(tmp_path, recording_path, flags,
                                                                         fragments):
    out = tmp_path / "fits"
    completed = run_batch_cli("--preset", "poisson-glm", "--recording", recording_path, "--out", out, *flags,
                              "--quiet", env_extra={"DASK_CONFIG": str(tmp_path / "no-dask-config")})
    assert_refused(completed, *fragments)
    assert not out.exists()


def test_without_dask_jobqueue_the_cluster_flag_says_how_to_install_it(tmp_path, recording_path):
    blocker = tmp_path / "blocker" / "dask_jobqueue"
    blocker.mkdir(parents=True)
    (blocker / "__init__.py").write_text("raise ImportError('No module named dask_jobqueue')\n")
    out = tmp_path / "fits"
    completed = run_batch_cli("--preset", "poisson-glm", "--recording", recording_path, "--out", out,
                              "--cluster", "slurm", *cluster_flags(["cores=2", "memory=2GB"]),
                              env_extra={"PYTHONPATH": f"{blocker.parent}{os.pathsep}{ROOT}"})
    assert_refused(completed, "--cluster slurm needs dask-jobqueue, which is not installed",
                   'pip install "vbgui[cluster]"')
    assert not out.exists()


# --- the batch through the cluster ----------------------------------------------------------------------------------

def test_a_slurm_batch_builds_the_cluster_from_the_options_scales_it_runs_on_it_and_closes_it(tmp_path,
                                                                                             recording_path):
    pytest.importorskip("distributed")
    env, record = fake_jobqueue_env(tmp_path)
    threads_out, cluster_out = tmp_path / "threads", tmp_path / "cluster"
    assert run_batch_cli("--preset", "poisson-glm", "--recording", recording_path, "--out", threads_out,
                         "--quiet").returncode == 0
    completed = run_batch_cli("--preset", "poisson-glm", "--recording", recording_path, "--out", cluster_out,
                              "--cluster", "slurm", *cluster_flags(TYPICAL_OPTIONS), "--cluster-jobs", "2",
                              env_extra=env, limited=False)
    assert completed.returncode == 0, completed.stderr
    assert "on 2 SLURM job(s) of a dask-jobqueue SLURMCluster" in completed.stderr
    events = recorded(record)
    assert [event["event"] for event in events[:3]] == ["init", "scale", "close"]  # LocalCluster.close scales to 0
    assert events[0]["kwargs"] == parse_cluster_options(TYPICAL_OPTIONS)
    assert events[0]["kwargs"]["cores"] == 2 and events[0]["kwargs"]["job_extra_directives"] == [
        "--gres=gpu:1", "--constraint=avx2"]
    assert events[1]["jobs"] == 2 and events[1]["n"] is None
    assert sorted(p.name for p in cluster_out.iterdir()) == ["cell-0.json", "cell-1.json", "cell-2.json",
                                                             "cell-3.json", "summary.csv"]
    assert len(read_summary(cluster_out / "summary.csv")) == 4
    for name in ("cell-0", "cell-1", "cell-2", "cell-3"):
        on_threads = json.loads((threads_out / f"{name}.json").read_text())
        on_cluster = json.loads((cluster_out / f"{name}.json").read_text())
        for key in ("elbo", "parameters", "trace", "recording_checksum", "unit", "preset"):
            assert on_threads[key] == on_cluster[key], (name, key)
    resumed = run_batch_cli("--preset", "poisson-glm", "--recording", recording_path, "--out", cluster_out,
                            "--cluster", "slurm", *cluster_flags(TYPICAL_OPTIONS), "--resume", env_extra=env,
                            limited=False)
    assert resumed.returncode == 0 and "0 fitted" in resumed.stderr, resumed.stderr
    assert recorded(record) == events  # nothing left to fit: no cluster started, no job submitted


def test_the_default_is_one_job_and_a_failed_batch_still_closes_the_cluster(tmp_path):
    pytest.importorskip("distributed")
    env, record = fake_jobqueue_env(tmp_path)
    arrays = multi_unit_arrays(2, 2000)
    counts = arrays["counts"].astype(float)
    counts[4, 1] = -1
    bad = write_recording(tmp_path / "bad.npz", **{**arrays, "counts": counts})
    completed = run_batch_cli("--preset", "poisson-glm", "--recording", bad, "--out", tmp_path / "fits",
                              "--cluster", "slurm", *cluster_flags(["cores=1", "memory=1GB"]), "--quiet",
                              env_extra=env, limited=False)
    assert_refused(completed, "1 of 2 units failed", "negative counts (first at bin 4)")
    events = recorded(record)
    assert events[1] == {"event": "scale", "n": None, "jobs": 1} and events[2]["event"] == "close"


@pytest.mark.slow
def test_sigint_on_a_slurm_batch_closes_the_cluster_and_keeps_finished_units(tmp_path):
    pytest.importorskip("distributed")
    env, record = fake_jobqueue_env(tmp_path)
    path = write_recording(tmp_path / "many.npz", **multi_unit_arrays(30, 100_000))
    out = tmp_path / "fits"
    process = subprocess.Popen([sys.executable, "-m", "vbgui", "batch", "--preset", "poisson-glm", "--recording",
                                str(path), "--out", str(out), "--cluster", "slurm",
                                *cluster_flags(["cores=2", "memory=2GB"]), "--cluster-jobs", "2"],
                               stderr=subprocess.PIPE, text=True, env={**os.environ, **env})
    status, elapsed, rest = interrupt_when(process, lambda line: line.startswith("[2/30]"))
    assert status == 130 and elapsed < 5.0, (status, elapsed, rest)
    assert "Traceback" not in rest and "interrupted; kept the" in rest
    assert [event["event"] for event in recorded(record)][:3] == ["init", "scale", "close"]
    results = sorted(p.name for p in out.glob("*.json"))
    assert 2 <= len(results) < 30
    assert sorted(f"{row['unit']}.json" for row in read_summary(out / "summary.csv")) == results


FAKE_SBATCH = """#!/bin/sh
# sbatch SCRIPT: keep a copy of the job script, run it in its own session, answer as sbatch does
script="$FAKE_SLURM_DIR/job-$$.sh"
cp "$1" "$script"
setsid bash "$script" > "$script.log" 2>&1 < /dev/null &
echo "sbatch $!" >> "$FAKE_SLURM_DIR/calls"
echo "Submitted batch job $!"
"""
FAKE_SCANCEL = """#!/bin/sh
# scancel JOBID: end the job's whole session
echo "scancel $1" >> "$FAKE_SLURM_DIR/calls"
kill -TERM -- "-$1" 2>/dev/null
exit 0
"""


def fake_slurm(folder: Path) -> tuple[dict[str, str], Path]:
    """The environment putting the stand-in sbatch and scancel first on PATH, and the folder they log to."""
    slurm = folder / "slurm"
    slurm.mkdir()
    for name, text in (("sbatch", FAKE_SBATCH), ("scancel", FAKE_SCANCEL)):
        (slurm / name).write_text(textwrap.dedent(text))
        (slurm / name).chmod(0o755)
    return {"PATH": f"{slurm}{os.pathsep}{os.environ['PATH']}", "FAKE_SLURM_DIR": str(slurm),
            "DASK_CONFIG": str(folder / "no-dask-config")}, slurm


def submitted_and_cancelled(slurm: Path) -> tuple[list[str], list[str]]:
    calls = (slurm / "calls").read_text().splitlines()
    return ([line.split()[1] for line in calls if line.startswith("sbatch")],
            [line.split()[1] for line in calls if line.startswith("scancel")])


def session_alive(session_id: str) -> bool:
    completed = subprocess.run(["ps", "-o", "pid=", "-s", session_id], capture_output=True, text=True)
    return bool(completed.stdout.strip())


@pytest.mark.slow
def test_the_real_slurm_cluster_submits_its_job_scripts_and_cancels_them_at_the_end(tmp_path, recording_path):
    pytest.importorskip("dask_jobqueue")
    env, slurm = fake_slurm(tmp_path)
    out = tmp_path / "fits"
    completed = run_batch_cli("--preset", "poisson-glm", "--recording", recording_path, "--out", out,
                              "--cluster", "slurm", *cluster_flags(TYPICAL_OPTIONS[:6]), "--cluster-jobs", "2",
                              "--cluster-option", "job_extra_directives=--comment=vbgui-test",
                              "--cluster-option", "death_timeout=20", env_extra=env, limited=False, timeout=400)
    assert completed.returncode == 0, completed.stderr
    assert len(list(out.glob("*.json"))) == 4
    submitted, cancelled = submitted_and_cancelled(slurm)
    assert len(submitted) == 2 and sorted(cancelled) == sorted(submitted)
    script = next(slurm.glob("job-*.sh")).read_text()
    for line in ("#SBATCH -p short", "#SBATCH -A neuro-lab", "#SBATCH --cpus-per-task=2", "#SBATCH --mem=2G",
                 "#SBATCH -t 00:30:00", "#SBATCH --comment=vbgui-test", "--death-timeout 20"):
        assert line in script, script


@pytest.mark.slow
def test_sigint_cancels_the_submitted_jobs_of_the_real_slurm_cluster(tmp_path):
    pytest.importorskip("dask_jobqueue")
    env, slurm = fake_slurm(tmp_path)
    path = write_recording(tmp_path / "many.npz", **multi_unit_arrays(30, 100_000))
    out = tmp_path / "fits"
    process = subprocess.Popen([sys.executable, "-m", "vbgui", "batch", "--preset", "poisson-glm", "--recording",
                                str(path), "--out", str(out), "--cluster", "slurm",
                                *cluster_flags(["cores=1", "memory=2GB", "death_timeout=20"]), "--cluster-jobs", "2"],
                               stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "PYTHONPATH": str(ROOT), **env})
    status, _, rest = interrupt_when(process, lambda line: line.startswith("[2/30]"))
    assert status == 130 and "interrupted; kept the" in rest, rest
    submitted, cancelled = submitted_and_cancelled(slurm)
    assert len(submitted) == 2 and sorted(cancelled) == sorted(submitted)
    deadline = time.monotonic() + 20  # scancel, like SIGTERM, asks: the workers need a moment to leave
    while any(session_alive(job) for job in submitted) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(session_alive(job) for job in submitted)  # no worker left running on the "cluster"


def readme_slurm_command() -> list[str]:
    """The README's SLURM example: its `vbgui batch` command, continuation lines joined, split as a shell would."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = [block for block in re.findall(r"```bash\n(.*?)```", text, flags=re.S) if "--cluster slurm" in block]
    assert len(blocks) == 1
    assert blocks[0] not in command_blocks()  # the README test runs its sh blocks; there is no SLURM here
    command = next(line for line in blocks[0].replace("\\\n", " ").splitlines() if line.startswith("vbgui batch"))
    return shlex.split(command)[1:]


def test_the_readme_slurm_example_is_accepted_and_gives_the_job_it_describes():
    dask_jobqueue = pytest.importorskip("dask_jobqueue")
    from vbgui.cli import build_parser

    args = build_parser()[0].parse_args(readme_slurm_command())
    assert args.cluster == "slurm" and args.cluster_jobs == 4 and args.scheduler is None
    options = parse_cluster_options(args.cluster_option)
    cluster = dask_jobqueue.SLURMCluster(**options)
    try:
        script = cluster.job_script()
    finally:
        cluster.close()
    for line in ("#SBATCH -p short", "#SBATCH -A neuro-lab", "#SBATCH --cpus-per-task=8", "#SBATCH --mem=15G",
                 "#SBATCH -t 02:00:00", "#SBATCH --constraint=avx2", "module load gcc", "--nthreads 4"):
        assert line in script, script
