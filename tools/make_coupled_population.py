"""Regenerate the shipped coupled population, resources/recordings/coupled-population.npz.

Twenty Poisson units driven by one smooth random stimulus and coupled to each
other (Pillow et al. 2008, Nature 454:995), 50,000 bins of 5 ms, with every
unit's true weights (bias, 10 stimulus lags, 3 history taps, 3 coupling taps
per other unit, zeros included) in ``truth_units``/``truth_names``/
``truth_weights``.  It is exactly the output of the ``vbgui simulate``
command below (:data:`SIMULATE_ARGUMENTS`), so the file is reproducible
bit for bit; run

    python tools/make_coupled_population.py
"""
from __future__ import annotations

import sys
from pathlib import Path

from vbgui.cli import main

TARGET = Path(__file__).resolve().parent.parent / "vbgui" / "resources" / "recordings" / "coupled-population.npz"
SIMULATE_ARGUMENTS = ("simulate", "--likelihood", "poisson", "--units", "20", "--bins", "50000", "--lags", "10",
                      "--history", "3", "--coupling-lags", "3", "--coupling-fraction", "0.1",
                      "--coupling-strength", "0.6", "--dt", "0.005", "--seed", "1")


def regenerate(target: Path = TARGET) -> int:
    """Write the shipped population to ``target`` (replacing it); return vbgui's exit status."""
    return main([*SIMULATE_ARGUMENTS, "--out", str(target), "--force"])


if __name__ == "__main__":
    sys.exit(regenerate())
