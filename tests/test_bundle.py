"""The application bundle: build it with pyinstaller and run its self-test (slow, opt-in).

Builds dist/vbgui/ with ``python packaging/build.py --selftest``, which also
runs ``dist/vbgui/vbgui --selftest`` offscreen.  About two minutes and
500 MB of disk on a 2-core machine, so it runs only when the environment
variable VBGUI_BUILD_BUNDLE=1 is set.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.environ.get("VBGUI_BUILD_BUNDLE") != "1",
                       reason="builds the pyinstaller bundle (minutes); set VBGUI_BUILD_BUNDLE=1 to run it"),
]


def test_the_bundle_builds_and_passes_its_selftest() -> None:
    completed = subprocess.run([sys.executable, str(ROOT / "packaging" / "build.py"), "--selftest"], cwd=ROOT,
                               capture_output=True, text=True, timeout=1800)
    output = f"{completed.stdout[-4000:]}\n{completed.stderr[-4000:]}"
    assert completed.returncode == 0, output
    assert "self-test of the bundle passed" in completed.stdout, output
    assert "selftest: all checks passed" in completed.stdout, output
    assert (ROOT / "dist" / "vbgui" / "vbgui").is_file()
