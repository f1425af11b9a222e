"""Result files as JSON: written atomically, read back with clear errors."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from vbgui.errors import ResultFileError
from vbgui.io.atomic import atomic_write


def _reject_constant(name: str) -> float:
    raise ValueError(f"non-standard JSON number {name}")


def write_json(data: dict[str, Any], path: str | Path) -> None:
    """Write ``data`` as JSON to ``path`` atomically; NaN and Inf are refused, not written."""
    try:
        text = json.dumps(data, indent=1, allow_nan=False)
    except ValueError as exc:
        raise ResultFileError(f"{path}: the result holds a non-finite number and was not written ({exc})") from None
    try:
        atomic_write(path, lambda handle: handle.write(text.encode("utf-8")))
    except OSError as exc:
        raise ResultFileError(f"{path}: cannot write the result ({exc.strerror or exc})") from None


def read_json(path: str | Path) -> dict[str, Any]:
    """Read a JSON object from ``path``; any problem raises ResultFileError naming the file."""
    try:
        text = Path(path).read_text(encoding="utf-8")
        data = json.loads(text, parse_constant=_reject_constant)
    except OSError as exc:
        raise ResultFileError(f"{path}: cannot read ({exc.strerror or exc})") from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise ResultFileError(f"{path}: not a JSON file ({exc})") from None
    if not isinstance(data, dict):
        raise ResultFileError(f"{path}: expected a JSON object at the top level")
    return data

