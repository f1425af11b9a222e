"""`vbgui fit`: fit a preset to a recording and write the result file."""
from __future__ import annotations

import argparse
import sys

from vbgui.cli.interrupt import run_interruptibly
from vbgui.cli.progress import iteration_printer
from vbgui.cli.options import add_memory_limit, add_recording_options, check_recording_options
from vbgui.core.lds.names import PATH_FAMILY_NAMES
from vbgui.core.names import ESTIMATOR_NAMES, FAMILY_NAMES
from vbgui.errors import VbguiError



def add_parser(commands: argparse._SubParsersAction) -> None:
    fit = commands.add_parser("fit", help="fit a preset to a recording and write the result as JSON")
    fit.add_argument("--preset", required=True, help="a shipped preset name (see 'vbgui presets') or a TOML file")
    fit.add_argument("--recording", required=True,
                     help="a recording (.npz, .mat, .csv, .tsv, .nwb, a Kilosort/phy output folder, or a Pillow "
                          "lab tutorial folder)")
    fit.add_argument("--unit", help="the unit to fit, by name or index (default: the first)")
    add_recording_options(fit)
    fit.add_argument("--out", required=True, help="the result file to write (JSON)")
    fit.add_argument("--force", action="store_true", help="replace --out if it exists (never an input)")
    fit.add_argument("--family", choices=tuple(dict.fromkeys(FAMILY_NAMES + PATH_FAMILY_NAMES)),
                     help="overrides [fit].family (structured-markov, mean-field or full-rank for a latent-dynamics "
                          "preset)")
    fit.add_argument("--estimator", choices=ESTIMATOR_NAMES, help="overrides [fit].estimator")
    fit.add_argument("--seed", type=int, help="overrides [fit].seed")
    fit.add_argument("--max-iter", type=int, help="overrides [fit].max_iter")
    fit.add_argument("--samples", type=int, help="Monte Carlo samples per step (reparam); overrides [fit].samples")
    fit.add_argument("--learning-rate", type=float, help="Adam step size (reparam); overrides [fit].learning_rate")
    fit.add_argument("--quiet", action="store_true", help="no progress lines")
    fit.add_argument("--diagnose", action="store_true",
                     help="add \"diagnostics\" (PSIS k-hat, importance-weighted evidence, reference posterior "
                          "summary, flags) to the result")
    add_memory_limit(fit)
    fit.set_defaults(run=run)


def parse_variables(pairs: list[str]) -> dict[str, str]:
    """ROLE=NAME pairs from the command line as a dict."""
    variables = {}
    for pair in pairs:
        role, sep, name = pair.partition("=")
        if not sep or not role.strip() or not name.strip():
            raise VbguiError(f"--variable {pair!r}: expected ROLE=NAME, e.g. counts=spk")
        variables[role.strip()] = name.strip()
    return variables


def run(args: argparse.Namespace) -> int:
    from vbgui.app.fit import FitSession, warm_up_engine
    from vbgui.core.cancel import CancelToken
    from vbgui.io.loaders import LoadOptions, load_recording
    from vbgui.io.result_json import write_json
    from vbgui.io.safe_write import check_target
    from vbgui.models.design import design_width, earliest_row
    from vbgui.models.fit_memory import check_fit_memory
    from vbgui.models.preset import load_preset, preset_path
    from vbgui.models.step_cost import check_step_cost

    check_recording_options(args)
    inputs = [args.recording, preset_path(args.preset), *([args.stimulus] if args.stimulus else [])]
    out = check_target(args.out, force=args.force, inputs=inputs)
    preset = load_preset(args.preset)
    preset = preset.with_fit(source=f"the flags over preset {preset.name or args.preset}", family=args.family,
                             estimator=args.estimator, seed=args.seed, max_iter=args.max_iter,
                             samples=args.samples, learning_rate=args.learning_rate)
    options = LoadOptions(parse_variables(args.variable), args.dt, stimulus_path=args.stimulus)
    if preset.is_latent_dynamics:
        from vbgui.cli.fit_lds import run_lds

        return run_lds(args, preset, options, out, inputs)
    recording = run_interruptibly(lambda: load_recording(args.recording, args.unit, options))
    cancel = CancelToken()
    # a design beyond memory, then settings whose one step takes minutes (many coupled units x lags, say), are
    # refused before the design is built
    check_fit_memory(recording, preset)
    n_rows = max(recording.n_bins - earliest_row(recording, preset.design), 0)
    slow = check_step_cost(preset, n_rows, design_width(recording, preset.design), str(args.recording))
    session = run_interruptibly(lambda: FitSession(preset, recording, cancel))
    run_interruptibly(warm_up_engine)
    report = iteration_printer(args.quiet)

    unit = f" unit '{recording.unit}'" if recording.unit else ""
    if not args.quiet:
        for note in recording.notes:
            print(f"note: {note}", file=sys.stderr)
        if slow:
            print(f"note: {slow}", file=sys.stderr)
        print(f"fitting {preset.name or args.preset} ({preset.likelihood}, {preset.fit.family}, "
              f"{preset.fit.estimator}) to {recording.source}{unit}: {session.design.n_rows} bins x "
              f"{session.design.dim} parameters", file=sys.stderr)
    result = run_interruptibly(lambda: session.run(report), cancel)
    if result.stop_reason == "cancelled":
        raise KeyboardInterrupt  # the token is set only by Ctrl-C here
    data = result.to_dict()
    if args.diagnose:
        from vbgui.app.diagnose import diagnose_session

        diagnostics = run_interruptibly(lambda: diagnose_session(session, result), cancel)
        data["diagnostics"] = diagnostics.to_dict()
        print(f"diagnostics: PSIS k-hat {diagnostics.psis_khat:.2f} ({diagnostics.psis_verdict}), "
              f"importance-weighted evidence {diagnostics.iw_log_evidence:.3f} +- "
              f"{diagnostics.iw_log_evidence_se:.3f}, reference {diagnostics.reference}"
              + "".join(f"; {flag}" for flag in diagnostics.flags), file=sys.stderr)
    write_json(data, out, force=args.force, inputs=inputs)
    status = "converged" if result.converged else f"NOT converged ({result.stop_reason}: {result.message})"
    print(f"{status} after {result.iterations} iterations in {result.seconds:.3f} s: "
          f"elbo {result.elbo:.6f} -> {out}", file=sys.stderr)
    return 0
