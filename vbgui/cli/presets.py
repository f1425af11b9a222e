"""`vbgui presets`: list the shipped model presets."""
from __future__ import annotations

import argparse


def add_parser(commands: argparse._SubParsersAction) -> None:
    presets = commands.add_parser("presets", help="list the shipped model presets")
    presets.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from vbgui.models.preset import load_preset, shipped_preset_names

    for name in shipped_preset_names(include_latent=True):
        print(f"{name:18s} {load_preset(name).description}")
    return 0
