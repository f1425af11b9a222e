"""Result files as JSON: written atomically without replacing by surprise, read back with clear errors."""
from __future__ import annotations

import json
import math
import os
import stat
from pathlib import Path
from typing import Any, Iterable

from vbgui.errors import ResultFileError
from vbgui.io.safe_write import write_file

MAX_JSON_BYTES = 256 * 2 ** 20  # a result of 3000 parameters (its covariance) is about 200 MB of JSON


def _reject_constant(name: str) -> float:
    raise ValueError(f"non-standard JSON number {name}")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"the number {text[:40]} is out of range")
    return value


def write_json(data: dict[str, Any], path: str | Path, *, force: bool, inputs: Iterable[str | Path] = ()) -> Path:
    """Write ``data`` as JSON to ``path`` (see :func:`vbgui.io.safe_write.write_files` for ``force`` and
    ``inputs``); NaN and Inf are refused, not written."""
    try:
        text = json.dumps(data, indent=1, allow_nan=False)
    except ValueError as exc:
        raise ResultFileError(f"{path}: the result holds a non-finite number and was not written ({exc})") from None
    try:
        return write_file(path, lambda handle: handle.write(text.encode("utf-8")), force=force, inputs=inputs)
    except OSError as exc:
        raise ResultFileError(f"{path}: cannot write the result ({exc.strerror or exc})") from None


def parse_json_text(text: str, source: str | Path) -> Any:
    """Parse JSON text, refusing NaN, Infinity, numbers beyond float range and nesting Python cannot follow."""
    try:
        return json.loads(text, parse_constant=_reject_constant, parse_float=_finite_float)
    except RecursionError:
        raise ResultFileError(f"{source}: the JSON is nested too deeply to be a vbgui file") from None
    except ValueError as exc:
        raise ResultFileError(f"{source}: not a JSON file ({exc})") from None


def read_json(path: str | Path) -> dict[str, Any]:
    """Read a JSON object from ``path``; any problem raises ResultFileError naming the file.

    Only regular files up to :data:`MAX_JSON_BYTES` are read (not a device that never ends, not a file
    whose parse would exhaust memory).
    """
    try:
        with open(path, "rb") as handle:
            info = os.fstat(handle.fileno())
            if not stat.S_ISREG(info.st_mode):
                raise ResultFileError(f"{path}: not a regular file")
            if info.st_size > MAX_JSON_BYTES:
                raise ResultFileError(f"{path}: {info.st_size:,} bytes is larger than any vbgui result file "
                                      f"({MAX_JSON_BYTES:,} bytes at most)")
            text = handle.read(MAX_JSON_BYTES + 1).decode("utf-8")
    except OSError as exc:
        raise ResultFileError(f"{path}: cannot read ({exc.strerror or exc})") from None
    except UnicodeDecodeError as exc:
        raise ResultFileError(f"{path}: not a JSON file ({exc})") from None
    data = parse_json_text(text, path)
    if not isinstance(data, dict):
        raise ResultFileError(f"{path}: expected a JSON object at the top level")
    return data
