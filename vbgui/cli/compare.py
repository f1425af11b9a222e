"""`vbgui compare`: fit several presets or families on one recording and write the comparison table."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from vbgui.cli.interrupt import run_interruptibly
from vbgui.cli.options import add_memory_limit, add_recording_options, check_recording_options
from vbgui.core.names import FAMILY_NAMES
from vbgui.errors import VbguiError

FORMATS = (".csv", ".json")
MAX_DRAWS = 1_000_000
MAX_SEED = 2 ** 63 - 1


def add_parser(commands: argparse._SubParsersAction) -> None:
    compare = commands.add_parser(
        "compare", help="compare presets/families on one recording by ELBO and evidence (CSV or JSON table)")
    compare.add_argument("--recording", required=True,
                         help="a recording (.npz, .mat, .csv, .tsv, .nwb, a Kilosort/phy output folder, or a "
                              "Pillow lab tutorial folder)")
    compare.add_argument("--unit", help="the unit to fit, by name or index (default: the first)")
    add_recording_options(compare)
    compare.add_argument("--preset", action="append", required=True,
                         help="a shipped preset name or a TOML file; repeat for each model")
    compare.add_argument("--family", action="append", choices=FAMILY_NAMES,
                         help="fit every preset with this family; repeat for several (default: each preset's own)")
    compare.add_argument("--out", required=True, help="the table to write: .csv or .json")
    compare.add_argument("--force", action="store_true", help="replace --out if it exists (never an input)")
    compare.add_argument("--draws", type=int, default=2000,
                         help=f"importance draws per model, 10 to {MAX_DRAWS} (default 2000)")
    compare.add_argument("--seed", type=int, default=0, help="seed of the importance draws, 0 or more (default 0)")
    compare.add_argument("--quiet", action="store_true", help="no progress lines and no table on stdout")
    add_memory_limit(compare)
    compare.set_defaults(run=run)


def check_flags(args: argparse.Namespace) -> None:
    """Refuse bad flag values before anything is read or fitted."""
    if not 10 <= args.draws <= MAX_DRAWS:
        raise VbguiError(f"--draws must be an integer from 10 to {MAX_DRAWS}, got {args.draws}")
    if not 0 <= args.seed <= MAX_SEED:
        raise VbguiError(f"--seed must be an integer from 0 to {MAX_SEED}, got {args.seed}")
    check_recording_options(args)


def run(args: argparse.Namespace) -> int:
    from vbgui.app.compare import compare_models, model_specs
    from vbgui.app.diagnose import DiagnosticsSettings
    from vbgui.app.fit import warm_up_engine
    from vbgui.cli.fit import parse_variables
    from vbgui.core.cancel import CancelToken
    from vbgui.io.limits import check_memory
    from vbgui.io.loaders import LoadOptions, load_recording
    from vbgui.io.safe_write import check_target, write_file
    from vbgui.models.design import design_width, earliest_row
    from vbgui.models.fit_memory import fit_bytes
    from vbgui.models.preset import load_preset, preset_path
    from vbgui.models.step_cost import check_step_cost

    check_flags(args)
    out = Path(args.out)
    if out.suffix.lower() not in FORMATS:
        raise VbguiError(f"{out}: the table must be .csv or .json (got '{out.suffix or 'no extension'}')")
    if not out.parent.is_dir():
        raise VbguiError(f"{out}: the folder {out.parent} does not exist")
    inputs = [args.recording, *map(preset_path, args.preset), *([args.stimulus] if args.stimulus else [])]
    check_target(out, force=args.force, inputs=inputs)
    presets = [load_preset(name) for name in args.preset]
    specs = model_specs(presets, args.family or ())
    options = LoadOptions(parse_variables(args.variable), args.dt, stimulus_path=args.stimulus)
    recording = run_interruptibly(lambda: load_recording(args.recording, args.unit, options))
    first_row = max(earliest_row(recording, spec.preset.design) for spec in specs)
    n_rows = recording.n_bins - first_row
    # every model's design is built before the first fit: together they must fit the budget
    check_memory(args.recording, f"the {len(specs)} models' fits ({n_rows} bins each)",
                 sum(fit_bytes(recording, spec.preset, n_rows) for spec in specs))
    for spec in specs:
        slow = check_step_cost(spec.preset, recording.n_bins - first_row, design_width(recording, spec.preset.design),
                               f"{args.recording} ({spec.label})")
        if slow and not args.quiet:
            print(f"note: {spec.label}: {slow}", file=sys.stderr)
    run_interruptibly(warm_up_engine)

    def report(progress) -> None:
        if not args.quiet and progress.stage != "fit":
            print(f"[{progress.index + 1}/{progress.n_models}] {progress.label}: {progress.message}", file=sys.stderr)

    settings = DiagnosticsSettings(draws=args.draws, seed=args.seed, reference="psis")
    cancel = CancelToken()
    table = run_interruptibly(lambda: compare_models(recording, specs, settings, cancel, on_progress=report), cancel)
    if out.suffix.lower() == ".json":
        text = json.dumps(table.to_dict(), indent=1, allow_nan=False)
    else:
        text = table.to_csv()
    try:
        write_file(out, lambda handle: handle.write(text.encode("utf-8")), force=args.force, inputs=inputs)
    except OSError as exc:
        raise VbguiError(f"{out}: cannot write the table ({exc.strerror or exc})") from None
    if not args.quiet:
        print(table.format_text())
        print(f"{len(table.rows)} models on {table.bins} bins (from bin {table.first_row}) -> {out}", file=sys.stderr)
    return 0
