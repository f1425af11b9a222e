"""`vbgui fit` with a latent-dynamics preset: every unit of the recording in one linear dynamical system."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from vbgui.cli.interrupt import run_interruptibly
from vbgui.cli.progress import iteration_printer
from vbgui.errors import VbguiError
from vbgui.models.preset import Preset



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
    report = iteration_printer(args.quiet)

    if not args.quiet:
        for note in recording.notes:
            print(f"note: {note}", file=sys.stderr)
        n_bins, n_units = recording.responses.shape
        n_trials = len(session.trials)
        driven = (f", driven by {recording.stimulus.shape[1]} stimulus column(s)"
                  if preset.dynamics.stimulus_input else "")
        print(f"fitting {preset.name or args.preset} ({preset.likelihood} LDS, {preset.latent_dim} latents, "
              f"{preset.fit.family}{driven}) to {recording.source}: {n_bins} bins x {n_units} units in {n_trials} "
              f"trial{'s' if n_trials > 1 else ''}", file=sys.stderr)
    result = run_interruptibly(lambda: session.run(report), cancel)
    if result.stop_reason == "cancelled":
        raise KeyboardInterrupt  # the token is set only by Ctrl-C here
    write_json(result.to_dict(), out, force=args.force, inputs=inputs)
    status = "converged" if result.converged else f"NOT converged ({result.stop_reason}: {result.message})"
    prior = "" if result.loading_prior is None else \
        f", log p(C, d) {result.loading_prior.log_density:.6f}, objective {result.objective:.6f}"
    print(f"{status} after {result.iterations} iterations in {result.seconds:.3f} s: "
          f"elbo {result.elbo:.6f}{prior} -> {out}", file=sys.stderr)
    return 0
