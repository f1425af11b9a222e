"""`vbgui batch`: fit a preset to every unit (or some units) of a recording.

Writes ``DIR/<unit>.json`` per unit (the ``vbgui fit`` result file, each
written atomically as its unit finishes) and ``DIR/summary.csv`` at the end.
With ``--amortise`` a training subset is fitted exactly and every other unit
gets its q from an encoder (:mod:`vbgui.app.amortise`); each result then
carries an ``amortisation`` object and summary.csv the two gaps in nats.
Exit status: 0 when every unit succeeded; 2 (one line) for bad input, before
anything is written, or when some units failed, after writing the others and
the summary (which holds each failure's reason); 130 on Ctrl-C, keeping the
finished units' files and a summary of them.  With ``--cluster slurm`` the
command starts a dask-jobqueue SLURMCluster (:mod:`vbgui.app.cluster`) for the
batch's duration and cancels its jobs when it ends, however it ends.
"""
from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

from vbgui.app.cluster import (MAX_JOBS, SLURM_OPTIONS, check_cluster_kind, parse_cluster_options,
                               require_cluster_packages)
from vbgui.cli.fit import parse_variables
from vbgui.cli.interrupt import run_interruptibly
from vbgui.cli.options import add_memory_limit, add_recording_options, check_recording_options
from vbgui.errors import OutputFileError, VbguiError

MAX_WORKERS = 1024
DEFAULT_TRAIN = 60  # vbgui.app.amortise.DEFAULT_TRAIN (not imported: the parser stays light)
SUMMARY_NAME = "summary.csv"


def add_parser(commands: argparse._SubParsersAction) -> None:
    batch = commands.add_parser(
        "batch", help="fit a preset to every unit of a recording: one result file per unit and summary.csv",
        description="Fit a preset to many units of one recording, on threads or a Dask cluster. Writes "
                    "DIR/<unit>.json (the 'vbgui fit' result) per unit and DIR/summary.csv. Exit status 0 when "
                    "every unit succeeded, 2 when some failed (after writing the others), 130 on Ctrl-C.")
    batch.add_argument("--preset", required=True, help="a shipped preset name (see 'vbgui presets') or a TOML file")
    batch.add_argument("--recording", required=True, help="a recording of one or more units (as for 'vbgui fit')")
    batch.add_argument("--units", default="all",
                       help="'all' (default) or unit names or indices separated by commas, e.g. 0,3,5")
    batch.add_argument("--out", required=True, metavar="DIR",
                       help="the folder for the result files and summary.csv (created if missing)")
    batch.add_argument("--workers", type=int,
                       help=f"units fitted at once on threads, 1 to {MAX_WORKERS} (default: the number of CPUs)")
    batch.add_argument("--scheduler", metavar="tcp://HOST:PORT",
                       help="run the units on a running Dask cluster instead of threads (needs "
                            "pip install \"vbgui[cluster]\"); the workers read --recording themselves")
    batch.add_argument("--cluster", metavar="KIND",
                       help="start a Dask cluster for this batch and run the units on it: 'slurm' (a dask-jobqueue "
                            "SLURMCluster; needs pip install \"vbgui[cluster]\" and --recording on a file system "
                            "the compute nodes share); its jobs are cancelled when the batch ends")
    batch.add_argument("--cluster-option", action="append", default=[], metavar="KEY=VALUE",
                       help=f"with --cluster slurm, one SLURMCluster setting, repeated for each: "
                            f"{', '.join(SLURM_OPTIONS)}; e.g. --cluster-option queue=short --cluster-option "
                            f"cores=8 --cluster-option memory=16GB --cluster-option walltime=01:00:00")
    batch.add_argument("--cluster-jobs", type=int, metavar="N",
                       help=f"with --cluster: SLURM jobs to submit, 1 to {MAX_JOBS} (default: 1); each runs "
                            f"'processes' Dask workers")
    batch.add_argument("--resume", action="store_true",
                       help="skip units whose result file is already there for this recording and preset")
    batch.add_argument("--force", action="store_true", help="replace result files and summary.csv that exist")
    batch.add_argument("--amortise", action="store_true",
                       help="fit --train units exactly, learn an encoder from their data summaries to q and give "
                            "every other unit its q by one forward pass; each result and summary.csv report the "
                            "amortisation and approximation gaps in nats (every unit is also fitted to its "
                            "optimum to measure them)")
    batch.add_argument("--train", type=int, metavar="N",
                       help=f"with --amortise: units fitted exactly to train the encoder, 1 to the units less one "
                            f"(default: {DEFAULT_TRAIN}, or the units less one when fewer)")
    batch.add_argument("--refine", type=int, metavar="K",
                       help="with --amortise: exact optimiser passes started from the encoder's q, 0 or more "
                            "(default: 0)")
    batch.add_argument("--quiet", action="store_true", help="no line per unit")
    add_recording_options(batch)
    add_memory_limit(batch)
    batch.set_defaults(run=run)


def check_flags(args: argparse.Namespace) -> None:
    """Refuse bad flag values before anything is read."""
    if args.workers is not None and not 1 <= args.workers <= MAX_WORKERS:
        raise VbguiError(f"--workers must be an integer from 1 to {MAX_WORKERS}, got {args.workers}")
    if args.scheduler and args.cluster:
        raise VbguiError("--scheduler joins a running cluster and --cluster starts one: give one of them")
    if args.workers is not None and (args.scheduler or args.cluster):
        flag = "--scheduler" if args.scheduler else "--cluster"
        raise VbguiError(f"--workers applies to threads; with {flag} the cluster's workers fit the units")
    if args.cluster:
        check_cluster_kind(args.cluster)
        args.cluster_settings = parse_cluster_options(args.cluster_option)
        if args.cluster_jobs is not None and not 1 <= args.cluster_jobs <= MAX_JOBS:
            raise VbguiError(f"--cluster-jobs must be an integer from 1 to {MAX_JOBS}, got {args.cluster_jobs}")
        require_cluster_packages(args.cluster)
    else:
        for flag, given in (("--cluster-option", args.cluster_option), ("--cluster-jobs", args.cluster_jobs)):
            if given:
                raise VbguiError(f"{flag} applies with --cluster only")
    if not args.amortise:
        for flag, value in (("--train", args.train), ("--refine", args.refine)):
            if value is not None:
                raise VbguiError(f"{flag} applies with --amortise only")
    else:
        if args.train is not None and args.train < 1:
            raise VbguiError(f"--train must be 1 or more units, got {args.train}")
        if args.refine is not None and args.refine < 0:
            raise VbguiError(f"--refine must be 0 or more exact passes, got {args.refine}")
        for flag, given in (("--scheduler", args.scheduler), ("--cluster", args.cluster),
                            ("--resume", args.resume)):
            if given:
                raise VbguiError(f"--amortise runs on threads and fits every unit anew; it does not combine "
                                 f"with {flag}")
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise OutputFileError(f"--out {out}: exists and is not a folder")
    if not out.exists() and not (out.parent if str(out.parent) else Path(".")).is_dir():
        raise OutputFileError(f"--out {out}: its parent folder {out.parent} does not exist")


def run(args: argparse.Namespace) -> int:
    from vbgui.app.amortise import (AMORTISE_SUMMARY_COLUMNS, AmortiseSettings, amortise_batch, amortised_summary_row,
                                    check_amortisable)
    from vbgui.app.batch import (UnitOutcome, connect_dask, resolve_units, result_file_stems, resumable, run_batch,
                                 summary_csv_text)
    from vbgui.app.cluster import start_cluster
    from vbgui.app.population import latent_batch_problem
    from vbgui.app.fit import warm_up_engine
    from vbgui.core.cancel import CancelToken
    from vbgui.io.limits import check_memory
    from vbgui.io.loaders import LoadOptions, read_recording_file
    from vbgui.io.result_json import read_json, write_json
    from vbgui.io.safe_write import check_target, write_file
    from vbgui.models.design import design_width
    from vbgui.models.fit_memory import check_fit_memory, fit_bytes
    from vbgui.models.preset import load_preset, preset_path
    from vbgui.models.step_cost import check_step_cost

    check_flags(args)
    check_recording_options(args)
    out_dir = Path(args.out)
    inputs = [args.recording, preset_path(args.preset), *([args.stimulus] if args.stimulus else [])]
    preset = load_preset(args.preset)
    if preset.is_latent_dynamics:
        raise VbguiError(f"--preset: {latent_batch_problem(preset)}")
    options = LoadOptions(parse_variables(args.variable), args.dt, keep_bad_units=True,  # a bad unit fails alone
                          stimulus_path=args.stimulus)
    recording = run_interruptibly(lambda: read_recording_file(args.recording, options))
    indices = resolve_units(recording, args.units)
    amortise_settings = None
    if args.amortise:
        amortise_settings = AmortiseSettings(train=args.train, refine=args.refine or 0, seed=preset.fit.seed)
        check_amortisable(preset, len(indices), amortise_settings,
                          sum(index not in recording.unit_problems for index in indices))
    stems = result_file_stems(recording)
    targets = {index: out_dir / f"{stems[index]}.json" for index in indices}
    summary_path = out_dir / SUMMARY_NAME

    finished: dict[int, UnitOutcome] = {}
    to_fit: list[int] = []
    for index in indices:
        target = targets[index]
        if target.exists() and args.resume and resumable(target, recording, index, preset):
            finished[index] = UnitOutcome(index, recording.unit_names[index], read_json(target))
            continue
        if out_dir.is_dir():
            check_target(target, force=args.force, inputs=inputs)
        to_fit.append(index)
    if out_dir.is_dir():
        check_target(summary_path, force=args.force or args.resume, inputs=inputs)

    usable = [index for index in to_fit if index not in recording.unit_problems]
    remote = bool(args.scheduler or args.cluster)
    workers = 1 if remote else min(args.workers or (os.cpu_count() or 1), max(1, len(to_fit)))
    if usable:
        unit = recording.unit(usable[0])
        check_fit_memory(unit, preset)  # one unit's fit first: its message names the lags that make it too large
        width = design_width(unit, preset.design)
        slow = check_step_cost(preset, unit.n_bins, width, str(args.recording))
        if slow and not args.quiet:
            print(f"note: {slow}", file=sys.stderr)
        check_memory("--workers", f"{workers} fits at once ({unit.n_bins} bins x {width} parameters each)",
                     workers * fit_bytes(unit, preset, unit.n_bins))
    client, started = None, None
    if args.scheduler and to_fit:
        client = run_interruptibly(lambda: connect_dask(args.scheduler))
    elif args.cluster and to_fit:
        started = start_cluster(args.cluster, args.cluster_settings, args.cluster_jobs or 1)
        client = started.client

    def close_cluster() -> None:
        if started is not None:
            started.close()  # cancels the jobs this batch submitted
        elif client is not None:
            client.close()

    if not args.quiet:
        if started is not None:
            where = started.description
        elif args.scheduler:
            where = f"the Dask cluster at {args.scheduler}"
        else:
            where = f"a {args.cluster} cluster" if args.cluster else f"{workers} thread(s)"
        resumed = f" ({len(finished)} already done)" if finished else ""
        how = "amortising" if args.amortise else "fitting"
        print(f"{how} {preset.name or args.preset} ({preset.likelihood}, {preset.fit.family}, "
              f"{preset.fit.estimator}) to {len(to_fit)} of {len(indices)} units{resumed} of {recording.source} "
              f"on {where}", file=sys.stderr)
    if to_fit and not remote:
        run_interruptibly(warm_up_engine)
    try:
        out_dir.mkdir(exist_ok=True)
    except OSError as exc:
        close_cluster()
        raise OutputFileError(f"--out {out_dir}: cannot create the folder ({exc.strerror or exc})") from None

    def write_summary() -> None:
        done = [finished[index] for index in indices if index in finished]
        text = (summary_csv_text(done, AMORTISE_SUMMARY_COLUMNS, amortised_summary_row) if args.amortise
                else summary_csv_text(done))
        write_file(summary_path, lambda handle: handle.write(text.encode("utf-8")), force=True, inputs=inputs)

    cancel = CancelToken()
    start = time.perf_counter()
    if amortise_settings is not None:
        outcomes = amortise_batch(recording, preset, to_fit, amortise_settings, workers=workers, cancel=cancel)
    else:
        outcomes = run_batch(recording, preset, to_fit, executor="threads" if client is None else "dask",
                             workers=workers, cancel=cancel, recording_path=args.recording, load_options=options,
                             dask_client=client)
    # On Dask, Ctrl-C must not raise wherever the main thread happens to be: raised inside a finalizer
    # (distributed's Future.__del__), a KeyboardInterrupt is printed as "ignored" and lost, and the batch
    # ran on to the end.  The handler only sets a flag and the cancel token; the loop below raises.
    interrupted = threading.Event()

    def on_sigint(_signum, _frame) -> None:
        interrupted.set()
        cancel.cancel()

    previous_handler = signal.signal(signal.SIGINT, on_sigint) if client is not None else None
    try:
        for outcome in outcomes:
            outcome = replace(outcome, unit=recording.unit_names[outcome.index])  # a remote failure knows no name
            if outcome.succeeded:
                try:
                    write_json(outcome.result, targets[outcome.index], force=args.force, inputs=inputs)
                except VbguiError as exc:
                    outcome = replace(outcome, result=None, error=" ".join(str(exc).split()))
            finished[outcome.index] = outcome
            if not args.quiet:
                print(_unit_line(len(finished), len(indices), outcome, targets[outcome.index]), file=sys.stderr)
            if interrupted.is_set():
                break
        if interrupted.is_set():
            raise KeyboardInterrupt
    except KeyboardInterrupt:
        cancel.cancel()
        outcomes.close()
        write_summary()
        raise KeyboardInterrupt(f"kept the {len(finished)} finished unit(s) and {summary_path}") from None
    finally:
        if previous_handler is not None:
            signal.signal(signal.SIGINT, previous_handler)
        close_cluster()
    write_summary()
    failed = [outcome for outcome in finished.values() if not outcome.succeeded]
    seconds = time.perf_counter() - start
    if failed:
        raise VbguiError(f"{len(failed)} of {len(indices)} units failed (first: {failed[0].unit}: "
                         f"{failed[0].error[:200]}); every reason is in {summary_path}; the "
                         f"{len(indices) - len(failed)} other results are in {out_dir}")
    if args.amortise:
        amortised = sum(bool(o.result["amortisation"]["amortised"]) for o in finished.values())
        done = f"{len(indices) - amortised} fitted and {amortised} amortised in {seconds:.1f} s, gaps included"
    else:
        done = f"{len(to_fit)} fitted in {seconds:.1f} s, {len(indices) - len(to_fit)} resumed"
    print(f"{len(indices)} units done ({done}) -> {out_dir}/ and {summary_path}", file=sys.stderr)
    return 0


def _unit_line(count: int, total: int, outcome, target: Path) -> str:
    prefix = f"[{count}/{total}] {outcome.unit}:"
    if not outcome.succeeded:
        return f"{prefix} FAILED: {outcome.error}"
    result = outcome.result
    record = result.get("amortisation")
    if record is not None and record["amortised"]:
        gap = record["amortisation_gap"]
        gap_text = "" if gap is None else f", amortisation gap {gap:.3g} nats"
        return (f"{prefix} amortised ({result['iterations']} refinement pass(es)) in {result['seconds']:.3f} s: "
                f"elbo {result['elbo']:.6f}{gap_text} -> {target}")
    status = "converged" if result["converged"] else f"NOT converged ({result['stop_reason']})"
    return (f"{prefix} {status} after {result['iterations']} iterations in {result['seconds']:.2f} s: "
            f"elbo {result['elbo']:.6f} -> {target}")
