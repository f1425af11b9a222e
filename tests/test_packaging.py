"""A non-editable install carries the presets, the recordings and the user guide inside the package."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_build_py_puts_resources_and_the_user_guide_in_the_package(tmp_path):
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.nbi", "*.nbc")
    for name in ("vbgui", "resources", "docs"):
        shutil.copytree(ROOT / name, source / name, symlinks=True, ignore=ignore)
    built = tmp_path / "built"
    completed = subprocess.run([sys.executable, "-c", "from setuptools import setup; setup()", "build_py", "-d",
                                str(built)], cwd=source, capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr[-2000:]
    package = built / "vbgui"
    for path in ("resources/presets/poisson-glm.toml", "resources/recordings/grasshopper-receptor-1.npz",
                 "resources/recordings/synthetic-poisson.npz", "resources/recordings/coupled-population.npz",
                 "docs/user-guide.md", "docs/images/guide-1-window.png"):
        assert (package / path).is_file() and not (package / path).is_symlink(), path
    listing = subprocess.run([sys.executable, "-m", "vbgui", "recordings"], cwd=tmp_path, capture_output=True,
                             text=True, timeout=60, env={"PYTHONPATH": str(built), "PATH": "/usr/bin:/bin"})
    assert listing.returncode == 0, listing.stderr[-2000:]
    assert str(package / "resources" / "recordings" / "grasshopper-receptor-1.npz") in listing.stdout
