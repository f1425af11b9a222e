"""`vbgui export`: convert a result file to CSV, NPZ, MATLAB or JSON."""
from __future__ import annotations

import argparse
import sys


def add_parser(commands: argparse._SubParsersAction) -> None:
    export = commands.add_parser("export", help="convert a result file (from vbgui fit) to .csv, .npz, .mat or .json")
    export.add_argument("result", help="a result file written by 'vbgui fit' (JSON)")
    export.add_argument("--to", required=True, help="the file to write; its extension picks the format")
    export.add_argument("--force", action="store_true",
                        help="replace the file(s) if they exist (never the result being read)")
    export.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from vbgui.app.result import FitResult
    from vbgui.io.exports import export_files, write_export
    from vbgui.io.result_json import read_json
    from vbgui.io.safe_write import check_target

    from vbgui.errors import ResultFileError

    try:
        data = read_json(args.result)
    except ResultFileError:
        data = None  # the GLM path below reads it again and reports the problem as it always has
    if data is not None and data.get("model") == "latent-dynamics":
        return _run_latent_dynamics(args, data)
    for target in export_files(args.to):
        check_target(target, force=args.force, inputs=[args.result])
    result = FitResult.from_dict(read_json(args.result), source=args.result)
    written = write_export(result.to_dict(), args.to, force=args.force, inputs=[args.result])
    print("wrote " + ", ".join(str(p) for p in written), file=sys.stderr)
    return 0


def _run_latent_dynamics(args: argparse.Namespace, data: dict) -> int:
    """Export a latent-dynamics result (:mod:`vbgui.io.lds_exports`)."""
    from vbgui.app.lds_result import LdsFitResult
    from vbgui.io.lds_exports import lds_export_files, write_lds_export
    from vbgui.io.safe_write import check_target

    for target in lds_export_files(args.to):
        check_target(target, force=args.force, inputs=[args.result])
    result = LdsFitResult.from_dict(data, source=args.result)
    written = write_lds_export(result.to_dict(), args.to, force=args.force, inputs=[args.result])
    print("wrote " + ", ".join(str(p) for p in written), file=sys.stderr)
    return 0
