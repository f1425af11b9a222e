"""Read the sample rate from a Kilosort/phy ``params.py`` without running it.

``params.py`` is Python source that Kilosort and phy write as plain
assignments (``sample_rate = 30000.``, ``dtype = 'int16'``, ...).  It is
parsed with :mod:`ast` and each value read with :func:`ast.literal_eval`;
nothing in it is executed or imported, and a file holding anything other
than assignments (imports, calls, loops) is refused, so a hostile
``params.py`` never runs.
"""
from __future__ import annotations

import ast
import math
from pathlib import Path

from vbgui.errors import RecordingError

MAX_PARAMS_BYTES = 1 << 20  # Kilosort writes a few hundred bytes
NOT_A_LITERAL = object()


def read_params(path: str | Path) -> dict[str, object]:
    """The assignments of ``params.py``: name -> value (:data:`NOT_A_LITERAL` where the value is an expression).

    Raises :class:`RecordingError` naming the file when it is missing, too
    large, not Python, or holds a statement other than ``NAME = value``
    (a docstring is allowed).
    """
    path = Path(path)
    if not path.is_file():
        raise RecordingError(f"{path}: no such file (Kilosort and phy write params.py with the sample rate)")
    if path.stat().st_size > MAX_PARAMS_BYTES:
        raise RecordingError(f"{path}: {path.stat().st_size} bytes; a phy params.py holds a few plain assignments")
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path), mode="exec")
    except SyntaxError as exc:
        raise RecordingError(f"{path}: not a readable params.py (line {exc.lineno}: {exc.msg})") from None
    except (OSError, UnicodeDecodeError, ValueError, RecursionError, MemoryError) as exc:
        raise RecordingError(f"{path}: not a readable params.py ({exc.__class__.__name__}: {exc})") from None
    params: dict[str, object] = {}
    for index, node in enumerate(tree.body):
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            try:
                params[node.targets[0].id] = ast.literal_eval(node.value)
            except (ValueError, TypeError, SyntaxError, RecursionError, MemoryError):
                params[node.targets[0].id] = NOT_A_LITERAL
        elif not (index == 0 and isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
                  and isinstance(node.value.value, str)):
            raise RecordingError(f"{path}: line {node.lineno} is not an assignment NAME = value; vbgui reads "
                                 "params.py without running it and accepts only plain assignments")
    return params


def read_sample_rate(path: str | Path) -> float:
    """``sample_rate`` (Hz) of ``params.py``: a positive, finite number; RecordingError naming the file otherwise."""
    params = read_params(path)
    if "sample_rate" not in params:
        raise RecordingError(f"{path}: no 'sample_rate = ...' (the sampling rate of the spike times, in Hz)")
    rate = params["sample_rate"]
    if rate is NOT_A_LITERAL or isinstance(rate, bool) or not isinstance(rate, (int, float)):
        raise RecordingError(f"{path}: 'sample_rate' must be a plain number (Hz), got "
                             f"{'an expression' if rate is NOT_A_LITERAL else repr(rate)}")
    rate = float(rate) if isinstance(rate, float) or abs(rate) < 2 ** 1000 else math.inf
    if not (math.isfinite(rate) and rate > 0):
        raise RecordingError(f"{path}: 'sample_rate' must be a positive number of samples per second, got {rate!r}")
    return rate
