"""Replace a file atomically, after the user agreed to replace it (the window's save dialogs)."""
from __future__ import annotations

from pathlib import Path

from vbgui.io.safe_write import Writer, write_file


def atomic_write(path: str | Path, write: Writer) -> None:
    """Call ``write(handle)`` on a temporary file beside ``path``, then rename it over ``path``.

    On any error the temporary file is removed and ``path`` is left as it was.
    """
    write_file(path, write, force=True)
