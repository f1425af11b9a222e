"""The README's command blocks run verbatim, in order, and its install lines match .ci/run."""
from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
QT_X11_PACKAGES = ("libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-render-util0 libxcb-render0 "
                   "libxcb-shape0 libxcb-util1 libxcb-xkb1 libxkbcommon-x11-0").split()


def sh_blocks() -> list[str]:
    return re.findall(r"```sh\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)


def install_blocks() -> list[str]:
    return [block for block in sh_blocks() if "apt-get" in block]


def command_blocks() -> list[str]:
    return [block for block in sh_blocks() if "apt-get" not in block]


def fake_venv(folder: Path) -> None:
    """.venv/bin/activate putting a `vbgui` on PATH that runs this checkout with this interpreter."""
    bin_dir = folder / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    launcher = bin_dir / "vbgui"
    launcher.write_text(f"#!/bin/sh\nPYTHONPATH={shlex.quote(str(ROOT))} exec {shlex.quote(sys.executable)} "
                        "-m vbgui \"$@\"\n")
    launcher.chmod(0o755)
    (bin_dir / "activate").write_text(f"PATH={shlex.quote(str(bin_dir))}:$PATH\nexport PATH\n")


def test_the_install_lines_work_as_root_and_as_a_user_and_carry_qts_x11_libraries():
    blocks = install_blocks()
    assert len(blocks) == 2
    for block in blocks:
        assert not re.search(r"(^|&& )sudo ", block), "a bare sudo fails where there is none (root containers)"
        assert block.count("$(command -v sudo) apt-get") == 2
        assert all(package in block.split() for package in QT_X11_PACKAGES)
    ci = (ROOT / ".ci" / "run").read_text()
    assert all(package in ci.split() for package in QT_X11_PACKAGES)


@pytest.mark.slow
def test_the_command_line_examples_run_verbatim_in_order(tmp_path):
    blocks = command_blocks()
    assert blocks and any("vbgui fit" in block for block in blocks)
    fake_venv(tmp_path)
    env = {key: value for key, value in os.environ.items() if key not in ("VBGUI_MEMORY_LIMIT", "PYTHONPATH")}
    for block in blocks:
        completed = subprocess.run(["sh", "-e", "-c", block], cwd=tmp_path, capture_output=True, text=True,
                                   timeout=900, env=env)
        assert completed.returncode == 0, (block, completed.stderr[-2000:])
    for written in ("result.json", "result.csv", "rec.npz", "my-model.toml", "r.json", "table.csv", "population.npz",
                    "fits/unit0.json", "fits/unit7.json", "fits/summary.csv", "session/spike_times.npy",
                    "session/stimulus.npz", "session-fits/cluster3.json", "cluster2-history.json",
                    "population.nwb", "nwb-fits/unit3.json", "coupled-fits/summary.csv", "coupled-fits/unit19.json",
                    "unit4.json", "coupled6.npz"):
        assert (tmp_path / written).is_file(), written
    # "Bring a population": the same spikes as a phy folder and as NWB give the ELBO of population.npz's unit 0
    elbos = [json.loads((tmp_path / name).read_text())["elbo"]
             for name in ("fits/unit0.json", "session-fits/cluster0.json", "nwb-fits/unit0.json")]
    assert f"({elbos[0]:.6f})" in README.read_text(encoding="utf-8")
    assert elbos[1] == pytest.approx(elbos[0], abs=1e-6) and elbos[2] == pytest.approx(elbos[0], abs=1e-6)
