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

    for target in export_files(args.to):
        check_target(target, force=args.force, inputs=[args.result])
    result = FitResult.from_dict(read_json(args.result), source=args.result)
    written = write_export(result.to_dict(), args.to, force=args.force, inputs=[args.result])
    print("wrote " + ", ".join(str(p) for p in written), file=sys.stderr)
    return 0
