"""`vbgui compare`: fit several presets or families on one recording and write the comparison table."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from vbgui.core.names import FAMILY_NAMES
from vbgui.errors import VbguiError

FORMATS = (".csv", ".json")


def add_parser(commands: argparse._SubParsersAction) -> None:
    compare = commands.add_parser(
        "compare", help="compare presets/families on one recording by ELBO and evidence (CSV or JSON table)")
    compare.add_argument("--recording", required=True,
                         help="a recording (.npz, .mat, .csv, .tsv, .nwb, or a Pillow lab tutorial folder)")
    compare.add_argument("--unit", help="the unit to fit, by name or index (default: the first)")
    compare.add_argument("--dt", type=float, help="bin width in seconds, for files that do not say")
    compare.add_argument("--variable", action="append", default=[], metavar="ROLE=NAME",
                         help="the file's name for a role (as for 'vbgui fit'), e.g. --variable counts=spk")
    compare.add_argument("--preset", action="append", required=True,
                         help="a shipped preset name or a TOML file; repeat for each model")
    compare.add_argument("--family", action="append", choices=FAMILY_NAMES,
                         help="fit every preset with this family; repeat for several (default: each preset's own)")
    compare.add_argument("--out", required=True, help="the table to write: .csv or .json")
    compare.add_argument("--force", action="store_true", help="replace --out if it exists (never an input)")
    compare.add_argument("--draws", type=int, default=2000, help="importance draws per model (default 2000)")
    compare.add_argument("--seed", type=int, default=0, help="seed of the importance draws")
    compare.add_argument("--quiet", action="store_true", help="no progress lines and no table on stdout")
    compare.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from vbgui.app.compare import compare_models, model_specs
    from vbgui.app.diagnose import DiagnosticsSettings
    from vbgui.app.fit import warm_up_engine
    from vbgui.cli.fit import parse_variables
    from vbgui.io.loaders import LoadOptions, load_recording
    from vbgui.io.safe_write import check_target, write_file
    from vbgui.models.preset import load_preset, preset_path

    out = Path(args.out)
    if out.suffix.lower() not in FORMATS:
        raise VbguiError(f"{out}: the table must be .csv or .json (got '{out.suffix or 'no extension'}')")
    inputs = [args.recording, *map(preset_path, args.preset)]
    check_target(out, force=args.force, inputs=inputs)
    if args.draws < 10:
        raise VbguiError(f"--draws must be at least 10, got {args.draws}")
    presets = [load_preset(name) for name in args.preset]
    specs = model_specs(presets, args.family or ())
    recording = load_recording(args.recording, args.unit, LoadOptions(parse_variables(args.variable), args.dt))
    warm_up_engine()

    def report(progress) -> None:
        if not args.quiet and progress.stage != "fit":
            print(f"[{progress.index + 1}/{progress.n_models}] {progress.label}: {progress.message}", file=sys.stderr)

    table = compare_models(recording, specs, DiagnosticsSettings(draws=args.draws, seed=args.seed,
                                                                 reference="psis"), on_progress=report)
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
