"""Exports of a fitted q: JSON, CSV, NPZ and MATLAB, each with full provenance, and their readers.

Every format carries the parameters (names, mean, sd, cov) and the metadata
of :data:`METADATA_KEYS` (vbgui version, preset as used, recording path and
checksum, unit, family, estimator, seed, ELBO and its two terms in nats, the
units block: bin width, what a lag is in seconds, the stimulus
standardisation; the diagnostics when they were run; time of the fit), and
an ``export_id`` shared by the files of one export.  Layouts:

    .json  the result contract itself (``vbgui fit --out``)
    .csv   ``name,mean,sd`` from the first line (any CSV reader with default
           options); the covariance in ``<stem>_cov.csv`` (header ``name`` and
           the names; first column the names); the metadata in
           ``<stem>_meta.json``, which also records the sha256 of the two CSV
           files, so a set mixed by an interrupted replacement is refused
    .npz   arrays names, mean, sd, cov, and ``metadata`` (a JSON string)
    .mat   a struct ``vbgui_fit`` with fields names (cell), mean, sd, cov and
           the metadata (preset, units and diagnostics as JSON strings)

No export holds a non-finite number: such a result is refused.  Writes go
through :mod:`vbgui.io.safe_write`: an existing file is replaced only with
``force``, never an input, and two writers of one new path cannot both win.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import uuid
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from vbgui.errors import ResultFileError
from vbgui.io.result_json import parse_json_text, read_json, write_json
from vbgui.io.safe_write import write_files

EXPORT_FORMATS = (".json", ".csv", ".npz", ".mat")
METADATA_KEYS = ("vbgui_version", "preset", "recording", "unit", "recording_checksum", "family", "estimator",
                 "seed", "elbo", "expected_log_likelihood", "kl", "log_evidence", "converged", "iterations",
                 "created", "units", "diagnostics")
JSON_FIELDS = ("preset", "units", "diagnostics")  # nested tables: JSON strings in a .mat struct
TEXT_FIELDS = ("vbgui_version", "recording", "unit", "recording_checksum", "family", "estimator", "created")
CSV_HEADER = ["name", "mean", "sd"]
SIDECAR_VERSION = 1


def export_metadata(result: dict[str, Any]) -> dict[str, Any]:
    """The provenance every export carries, from a result dict (absent fields are None)."""
    meta = {key: result.get(key) for key in METADATA_KEYS if key != "seed"}
    meta["seed"] = result["preset"]["fit"]["seed"]
    return meta


def _parameters(result: dict[str, Any]) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
    params = result["parameters"]
    return (list(params["names"]), np.asarray(params["mean"], float), np.asarray(params["sd"], float),
            np.asarray(params["cov"], float))


def covariance_path(path: Path) -> Path:
    """The covariance file of a CSV export."""
    return path.with_name(f"{path.stem}_cov.csv")


def sidecar_path(path: Path) -> Path:
    """The metadata file of a CSV export."""
    return path.with_name(f"{path.stem}_meta.json")


def export_files(path: str | Path) -> list[Path]:
    """Every file an export to ``path`` writes, the named one first."""
    path = Path(path)
    return [path, covariance_path(path), sidecar_path(path)] if path.suffix.lower() == ".csv" else [path]


def _first_non_finite(value: Any, where: str) -> str | None:
    """The path of the first non-finite number in nested dicts/lists, or None."""
    if isinstance(value, dict):
        for key, item in value.items():
            found = _first_non_finite(item, f"{where}.{key}" if where else str(key))
            if found:
                return found
    elif isinstance(value, (list, tuple, np.ndarray)):
        for index, item in enumerate(value):
            found = _first_non_finite(item, f"{where}[{index}]")
            if found:
                return found
    elif isinstance(value, (float, np.floating)) and not math.isfinite(value):
        return where
    return None


def _check_finite(names, mean, sd, cov, meta, source: str | Path) -> None:
    for label, array in (("mean", mean), ("sd", sd), ("cov", cov)):
        if not np.all(np.isfinite(array)):
            raise ResultFileError(f"{source}: parameters.{label} holds a non-finite number")
    size = len(names)
    if mean.shape != (size,) or sd.shape != (size,) or cov.shape != (size, size):
        raise ResultFileError(f"{source}: the shapes of mean {mean.shape}, sd {sd.shape} and cov {cov.shape} "
                              f"do not match the {size} parameter names")
    found = _first_non_finite(meta, "")
    if found:
        raise ResultFileError(f"{source}: metadata field '{found}' is not a finite number")


def _csv_bytes(rows: list[list[Any]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue().encode("utf-8")


def _sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def write_export(result: dict[str, Any], path: str | Path, force: bool = False,
                 inputs: Iterable[str | Path] = ()) -> list[Path]:
    """Write ``result`` (a result dict) in the format of ``path``'s extension; returns the files written.

    Raises ResultFileError (OutputFileError for a target that exists without
    ``force`` or is one of ``inputs``) with nothing written.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in EXPORT_FORMATS:
        raise ResultFileError(f"{path}: unknown export format '{suffix or 'no extension'}'; "
                              f"choose {', '.join(EXPORT_FORMATS)}")
    names, mean, sd, cov = _parameters(result)
    meta = export_metadata(result)
    _check_finite(names, mean, sd, cov, meta, path)
    meta["export_id"] = str(uuid.uuid4())
    try:
        if suffix == ".json":
            return [write_json(result, path, force=force, inputs=inputs)]
        if suffix == ".csv":
            table = _csv_bytes([CSV_HEADER] + [[n, repr(float(m)), repr(float(s))]
                                               for n, m, s in zip(names, mean, sd)])
            cov_table = _csv_bytes([["name"] + names] + [[n] + [repr(float(v)) for v in row]
                                                          for n, row in zip(names, cov)])
            csv_path, cov_path, meta_path = export_files(path)
            sidecar = {"vbgui_export": SIDECAR_VERSION, "export_id": meta["export_id"],
                       "files": {csv_path.name: _sha256(table), cov_path.name: _sha256(cov_table)},
                       "metadata": meta}
            sidecar_bytes = json.dumps(sidecar, indent=1, allow_nan=False).encode("utf-8")
            return write_files([(csv_path, lambda h: h.write(table)), (cov_path, lambda h: h.write(cov_table)),
                                (meta_path, lambda h: h.write(sidecar_bytes))], force=force, inputs=inputs)
        if suffix == ".npz":
            arrays = {"names": np.array(names, dtype=str), "mean": mean, "sd": sd, "cov": cov,
                      "metadata": np.array(json.dumps(meta, allow_nan=False))}
            return write_files([(path, lambda h: np.savez(h, **arrays))], force=force, inputs=inputs)
        import scipy.io

        struct = {"names": np.array(names, dtype=object).reshape(-1, 1), "mean": mean.reshape(-1, 1),
                  "sd": sd.reshape(-1, 1), "cov": cov}
        struct.update({key: (json.dumps(value, allow_nan=False) if key in JSON_FIELDS and value is not None else
                             ("" if value is None else value)) for key, value in meta.items()})
        return write_files([(path, lambda h: scipy.io.savemat(h, {"vbgui_fit": struct}, do_compression=True))],
                           force=force, inputs=inputs)
    except OSError as exc:
        raise ResultFileError(f"{path}: cannot write ({exc.strerror or exc}); any earlier file is intact") from None


def _read_csv_export(path: Path) -> dict[str, Any]:
    csv_path, cov_path, meta_path = export_files(path)
    if not meta_path.is_file():
        raise ResultFileError(f"{path}: its metadata file {meta_path.name} is missing (a vbgui CSV export is "
                              f"{csv_path.name}, {cov_path.name} and {meta_path.name})")
    sidecar = parse_json_text(meta_path.read_text(encoding="utf-8"), meta_path)
    if not isinstance(sidecar, dict) or sidecar.get("vbgui_export") != SIDECAR_VERSION:
        raise ResultFileError(f"{meta_path}: not the metadata of a vbgui CSV export")
    recorded = sidecar.get("files")
    if not isinstance(recorded, dict) or not isinstance(sidecar.get("metadata"), dict):
        raise ResultFileError(f"{meta_path}: the fields 'files' and 'metadata' must be objects")
    contents = {}
    for member in (csv_path, cov_path):
        contents[member] = member.read_bytes()
        if recorded.get(member.name) != _sha256(contents[member]):
            raise ResultFileError(f"{member}: not from the same export as {meta_path.name} (export "
                                  f"{sidecar.get('export_id')}): the set was mixed, e.g. by an interrupted "
                                  "replacement; export again")
    rows = list(csv.reader(io.StringIO(contents[csv_path].decode("utf-8"))))
    if not rows or rows[0] != CSV_HEADER:
        raise ResultFileError(f"{csv_path}: the first line must be {','.join(CSV_HEADER)}")
    cov_rows = list(csv.reader(io.StringIO(contents[cov_path].decode("utf-8"))))
    names = [r[0] for r in rows[1:]]
    if not cov_rows or cov_rows[0] != ["name"] + names or [r[0] for r in cov_rows[1:]] != names:
        raise ResultFileError(f"{cov_path}: its names do not match {csv_path.name}")
    return {"names": names, "mean": np.array([float(r[1]) for r in rows[1:]]),
            "sd": np.array([float(r[2]) for r in rows[1:]]),
            "cov": np.array([[float(v) for v in r[1:]] for r in cov_rows[1:]]).reshape(len(names), len(names)),
            "metadata": sidecar["metadata"]}


def _read_export_unchecked(path: Path, suffix: str) -> dict[str, Any]:
    if suffix == ".json":
        result = read_json(path)
        names, mean, sd, cov = _parameters(result)
        return {"names": names, "mean": mean, "sd": sd, "cov": cov, "metadata": export_metadata(result)}
    if suffix == ".csv":
        return _read_csv_export(path)
    if suffix == ".npz":
        with np.load(path, allow_pickle=False) as archive:
            return {"names": [str(n) for n in archive["names"]], "mean": archive["mean"], "sd": archive["sd"],
                    "cov": archive["cov"], "metadata": parse_json_text(str(archive["metadata"]), path)}
    import scipy.io

    fit = scipy.io.loadmat(path, simplify_cells=True)["vbgui_fit"]
    meta = {key: fit[key] for key in METADATA_KEYS + ("export_id",) if key in fit}
    for key, value in meta.items():
        if isinstance(value, np.ndarray) and value.size == 0:  # MATLAB has no null: None was written as ''
            meta[key] = "" if key in TEXT_FIELDS else None
        elif key in JSON_FIELDS:
            meta[key] = parse_json_text(value, path)
    return {"names": [str(n) for n in np.atleast_1d(fit["names"])], "mean": np.atleast_1d(fit["mean"]),
            "sd": np.atleast_1d(fit["sd"]), "cov": np.atleast_2d(fit["cov"]), "metadata": meta}


def read_export(path: str | Path) -> dict[str, Any]:
    """Read any export back as {"names", "mean", "sd", "cov", "metadata"}; a damaged, mixed or non-finite
    export raises ResultFileError naming the file."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in EXPORT_FORMATS:
        raise ResultFileError(f"{path}: unknown export format '{suffix}'")
    try:
        back = _read_export_unchecked(path, suffix)
        back["mean"], back["sd"], back["cov"] = (np.asarray(back[k], dtype=float) for k in ("mean", "sd", "cov"))
    except ResultFileError:
        raise
    except RecursionError:
        raise ResultFileError(f"{path}: nested too deeply to be a vbgui export") from None
    except Exception as exc:  # noqa: BLE001 - a user's file: report, never crash
        raise ResultFileError(f"{path}: not a vbgui export ({exc.__class__.__name__}: {exc})") from None
    _check_finite(back["names"], back["mean"], back["sd"], back["cov"], back["metadata"], path)
    return back
