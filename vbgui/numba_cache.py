"""Where numba keeps its on-disk cache of compiled kernels, chosen before numba is imported.

By default numba caches beside the source files; in a frozen application
(pyinstaller) or a read-only install there is no writable source folder, and
numba's own fallback fails outright when the user's cache folder is not
writable either.  So: an explicit NUMBA_CACHE_DIR is respected; otherwise,
when the package folder is not writable or the app is frozen, use the
user's cache folder (XDG_CACHE_HOME or ~/.cache)/vbgui/numba, and if that is
not writable either, a private temporary folder (compiled code then lasts
for this session only).
"""
from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path


def _writable(folder: Path) -> bool:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder):
            pass
        return True
    except OSError:
        return False


def choose_cache_dir(package_dir: Path, frozen: bool, environ: dict[str, str]) -> str | None:
    """The folder to give numba, or None to keep numba's default (beside the sources)."""
    if environ.get("NUMBA_CACHE_DIR"):
        return None
    if not frozen and os.access(package_dir / "core", os.W_OK):
        return None
    base = Path(environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    for candidate in (base / "vbgui" / "numba", Path(tempfile.gettempdir()) / f"vbgui-numba-{os.getuid()}"):
        if _writable(candidate):
            return str(candidate)
    return tempfile.mkdtemp(prefix="vbgui-numba-")


def configure() -> None:
    """Set NUMBA_CACHE_DIR if needed; call before anything imports numba."""
    folder = choose_cache_dir(Path(__file__).resolve().parent, bool(getattr(sys, "frozen", False)), dict(os.environ))
    if folder is not None:
        os.environ["NUMBA_CACHE_DIR"] = folder
