"""Build the one-folder application at dist/vbgui/ (executable dist/vbgui/vbgui) and report its size.

    python packaging/build.py [--selftest]

Needs `pip install pyinstaller` (the `bundle` extra).  With --selftest the
built executable runs `vbgui --selftest` offscreen and the build fails if
that fails.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def folder_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--selftest", action="store_true", help="run the bundle's self-test after building")
    args = parser.parse_args()
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "PyInstaller", "--noconfirm", "--clean", "--distpath", str(ROOT / "dist"),
                    "--workpath", str(ROOT / "build"), str(ROOT / "packaging" / "vbgui.spec")], check=True, cwd=ROOT)
    bundle = ROOT / "dist" / "vbgui"
    shutil.copy(ROOT / "resources" / "vbgui.desktop", bundle / "vbgui.desktop")
    shutil.copy(ROOT / "resources" / "icons" / "vbgui.png", bundle / "vbgui.png")
    print(f"built {bundle} in {time.perf_counter() - start:.0f} s: {folder_size(bundle) / 1e6:.0f} MB")
    if args.selftest:
        env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
        completed = subprocess.run([str(bundle / "vbgui"), "--selftest"], env=env, timeout=600)
        if completed.returncode != 0:
            print("self-test of the bundle FAILED", file=sys.stderr)
            return 1
        print("self-test of the bundle passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
