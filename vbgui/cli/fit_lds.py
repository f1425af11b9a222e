"""`vbgui fit` with a latent-dynamics preset: every unit of the recording in one linear dynamical system."""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from vbgui.cli.interrupt import run_interruptibly
from vbgui.errors import VbguiError
from vbgui.models.preset import Preset

PROGRESS_INTERVAL = 0.25  # seconds between progress lines on stderr


def run_lds(args: argparse.Namespace, preset: Preset, options, out: Path, inputs: list) -> int:
    """Load every unit, fit, write the latent-dynamics result to ``out``; returns the exit status."""
    from vbgui.app.lds_fit import LdsFitSession
    from vbgui.core.cancel import CancelToken
    from vbgui.io.loaders import read_recording_file
    from vbgui.io.result_json import write_json

    for flag, given in (("--unit", args.unit is not None), ("--diagnose", args.diagnose)):
        if given:
            raise VbguiError(f"{flag}: not for a latent-dynamics preset ({preset.name or args.preset} fits every "
                             "unit together)")
    recording = run_interruptibly(lambda: read_recording_file(args.recording, options))
    cancel = CancelToken()
    session = run_interruptibly(lambda: LdsFitSession(preset, recording, cancel))
    last_print = 0.0

    def report(progress) -> None:
        nonlocal last_print
        now = time.perf_counter()
        if args.quiet or (now - last_print < PROGRESS_INTERVAL and progress.iteration > 1):
            return
        last_print = now
        t = progress.terms
        print(f"iter {progress.iteration:6d}  elbo {t.elbo:.6f}  accuracy (E log-lik) "
              f"{t.expected_log_likelihood:.6f}  complexity (KL) {t.kl:.6f}", file=sys.stderr)

    if not args.quiet:
        for note in recording.notes:
            print(f"note: {note}", file=sys.stderr)
        n_bins, n_units = recording.responses.shape
        print(f"fitting {preset.name or args.preset} ({preset.likelihood} LDS, {preset.latent_dim} latents, "
              f"{preset.fit.family}) to {recording.source}: {n_bins} bins x {n_units} units", file=sys.stderr)
    result = run_interruptibly(lambda: session.run(report), cancel)
    if result.stop_reason == "cancelled":
        raise KeyboardInterrupt  # the token is set only by Ctrl-C here
    write_json(result.to_dict(), out, force=args.force, inputs=inputs)
    status = "converged" if result.converged else f"NOT converged ({result.stop_reason}: {result.message})"
    print(f"{status} after {result.iterations} iterations in {result.seconds:.3f} s: "
          f"elbo {result.elbo:.6f} -> {out}", file=sys.stderr)
    return 0
