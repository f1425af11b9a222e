"""Exports of a fitted q: JSON, CSV, NPZ and MATLAB, each with full provenance, and their readers.

Every format carries the parameters (names, mean, sd, cov) and the metadata
of :data:`METADATA_KEYS` (vbgui version, preset as used, recording path and
checksum, unit, family, estimator, seed, ELBO and its two terms, time of the
fit).  Layouts:

    .json  the result contract itself (``vbgui fit --out``)
    .csv   '# key: value' metadata lines, then ``name,mean,sd``; the
           covariance in ``<stem>_cov.csv`` (header and first column: names)
    .npz   arrays names, mean, sd, cov, and ``metadata`` (a JSON string)
    .mat   a struct ``vbgui_fit`` with fields names (cell), mean, sd, cov and
           the metadata (the preset as a JSON string)

Writes are atomic; an existing file is replaced only with ``force``.
"""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import numpy as np

from vbgui.errors import ResultFileError
from vbgui.io.atomic import atomic_write
from vbgui.io.result_json import read_json, write_json

EXPORT_FORMATS = (".json", ".csv", ".npz", ".mat")
METADATA_KEYS = ("vbgui_version", "preset", "recording", "unit", "recording_checksum", "family", "estimator",
                 "seed", "elbo", "expected_log_likelihood", "kl", "converged", "iterations", "created")


def export_metadata(result: dict[str, Any]) -> dict[str, Any]:
    """The provenance every export carries, from a result dict."""
    meta = {key: result.get(key) for key in METADATA_KEYS if key != "seed"}
    meta["seed"] = result["preset"]["fit"]["seed"]
    return meta


def _parameters(result: dict[str, Any]) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
    params = result["parameters"]
    return (list(params["names"]), np.asarray(params["mean"], float), np.asarray(params["sd"], float),
            np.asarray(params["cov"], float))


def covariance_path(path: Path) -> Path:
    return path.with_name(f"{path.stem}_cov.csv")


def _csv_text(rows: list[list[Any]], comments: list[str] = ()) -> bytes:
    buffer = io.StringIO()
    for line in comments:
        buffer.write(f"# {line}\n")
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue().encode("utf-8")


def write_export(result: dict[str, Any], path: str | Path, force: bool = False) -> list[Path]:
    """Write ``result`` (a result dict) in the format of ``path``'s extension; returns the files written."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in EXPORT_FORMATS:
        raise ResultFileError(f"{path}: unknown export format '{suffix or 'no extension'}'; "
                              f"choose {', '.join(EXPORT_FORMATS)}")
    targets = [path, covariance_path(path)] if suffix == ".csv" else [path]
    existing = [t for t in targets if t.exists()]
    if existing and not force:
        raise ResultFileError(f"{existing[0]}: already exists; not overwritten (use --force to replace it)")
    if not path.parent.is_dir():
        raise ResultFileError(f"{path}: the folder {path.parent} does not exist")
    names, mean, sd, cov = _parameters(result)
    meta = export_metadata(result)
    try:
        if suffix == ".json":
            write_json(result, path)
        elif suffix == ".csv":
            comments = [f"{key}: {json.dumps(value)}" for key, value in meta.items()]
            rows = [["name", "mean", "sd"]] + [[n, repr(float(m)), repr(float(s))] for n, m, s in zip(names, mean, sd)]
            cov_rows = [[""] + names] + [[n] + [repr(float(v)) for v in row] for n, row in zip(names, cov)]
            atomic_write(path, lambda h: h.write(_csv_text(rows, comments)))
            atomic_write(targets[1], lambda h: h.write(_csv_text(cov_rows, [f"covariance of {path.name}"])))
        elif suffix == ".npz":
            arrays = {"names": np.array(names, dtype=str), "mean": mean, "sd": sd, "cov": cov,
                      "metadata": np.array(json.dumps(meta))}
            atomic_write(path, lambda h: np.savez(h, **arrays))
        else:
            import scipy.io

            struct = {"names": np.array(names, dtype=object).reshape(-1, 1), "mean": mean.reshape(-1, 1),
                      "sd": sd.reshape(-1, 1), "cov": cov}
            struct.update({key: (json.dumps(value) if isinstance(value, dict) else
                                 ("" if value is None else value)) for key, value in meta.items()})
            atomic_write(path, lambda h: scipy.io.savemat(h, {"vbgui_fit": struct}, do_compression=True))
    except OSError as exc:
        raise ResultFileError(f"{path}: cannot write ({exc.strerror or exc}); any earlier file is intact") from None
    return targets


def read_export(path: str | Path) -> dict[str, Any]:
    """Read any export back as {"names", "mean", "sd", "cov", "metadata"}."""
    path = Path(path)
    suffix = path.suffix.lower()
    try:
        if suffix == ".json":
            result = read_json(path)
            names, mean, sd, cov = _parameters(result)
            return {"names": names, "mean": mean, "sd": sd, "cov": cov, "metadata": export_metadata(result)}
        if suffix == ".csv":
            text = path.read_text(encoding="utf-8").splitlines()
            meta = {}
            for line in text:
                if line.startswith("# "):
                    key, _, value = line[2:].partition(": ")
                    meta[key] = json.loads(value)
            rows = list(csv.reader(line for line in text if not line.startswith("#")))
            cov_rows = list(csv.reader(line for line in covariance_path(path).read_text(encoding="utf-8").splitlines()
                                       if not line.startswith("#")))
            return {"names": [r[0] for r in rows[1:]], "mean": np.array([float(r[1]) for r in rows[1:]]),
                    "sd": np.array([float(r[2]) for r in rows[1:]]),
                    "cov": np.array([[float(v) for v in r[1:]] for r in cov_rows[1:]]), "metadata": meta}
        if suffix == ".npz":
            with np.load(path, allow_pickle=False) as archive:
                return {"names": [str(n) for n in archive["names"]], "mean": archive["mean"], "sd": archive["sd"],
                        "cov": archive["cov"], "metadata": json.loads(str(archive["metadata"]))}
        if suffix == ".mat":
            import scipy.io

            fit = scipy.io.loadmat(path, simplify_cells=True)["vbgui_fit"]
            meta = {key: fit[key] for key in METADATA_KEYS if key in fit}
            meta["preset"] = json.loads(meta["preset"])
            return {"names": [str(n) for n in np.atleast_1d(fit["names"])], "mean": np.atleast_1d(fit["mean"]),
                    "sd": np.atleast_1d(fit["sd"]), "cov": np.atleast_2d(fit["cov"]), "metadata": meta}
    except ResultFileError:
        raise
    except Exception as exc:  # noqa: BLE001 - a user's file: report, never crash
        raise ResultFileError(f"{path}: not a vbgui export ({exc.__class__.__name__}: {exc})") from None
    raise ResultFileError(f"{path}: unknown export format '{suffix}'")
