"""Exports of a latent-dynamics result: JSON, CSV, NPZ and MATLAB, each with the latent path and the parameters.

Every format carries q over the path (mean (T, K), sd (T, K), cross_cov
(T - 1, K, K) = Cov_q(x_t, x_{t+1})), the trials (trial_start: the bin at
which each begins; [0] for one), the learned parameters (A, b, Q, mu0,
Sigma0, C, d, and B (K, M) for a model driven by a stimulus), the unit names
and the provenance of :data:`METADATA_KEYS` (with the prior's log p(C, d)
when the fit had one), with an ``export_id`` shared by the files of one
export.  Layouts:

    .json  the result contract itself
    .csv   ``<stem>.csv`` the latents, header first: ``bin,trial,x1_mean..xK_mean,x1_sd..xK_sd`` (trial: the
           index of the trial the bin belongs to, from 0);
           ``<stem>_cross_cov.csv``: ``bin,cov_x1_x1next,..`` (row-major, bin t holds Cov(x_t, x_{t+1}));
           ``<stem>_parameters.csv``: ``parameter,row,column,value`` (column empty for a vector; rows of C
           and d in the order of the unit names); ``<stem>_meta.json``: the metadata, the unit names and
           the sha256 of the three CSV files
    .npz   arrays latent_mean, latent_sd, latent_cross_cov, trial_start, A, b, Q, mu0, Sigma0, C, d (B), unit_names and
           ``metadata`` (a JSON string)
    .mat   a struct ``vbgui_lds_fit`` with the same fields (metadata as a JSON string)

Writes go through :mod:`vbgui.io.safe_write` (never an input, replace only with ``force``, all or nothing).
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import uuid
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from vbgui.errors import ResultFileError
from vbgui.io.result_json import parse_json_text, write_json
from vbgui.io.safe_write import write_files

EXPORT_FORMATS = (".json", ".csv", ".npz", ".mat")
PARAMETER_NAMES = ("A", "b", "Q", "mu0", "Sigma0", "C", "d")
INPUT_PARAMETER_NAME = "B"  # only in a model driven by a stimulus
METADATA_KEYS = ("model", "vbgui_version", "preset", "recording", "recording_checksum", "family", "estimator",
                 "elbo", "expected_log_likelihood", "kl", "converged", "iterations", "created", "units", "unit_names",
                 "loading_prior")
SIDECAR_VERSION = 1


def lds_export_files(path: str | Path) -> list[Path]:
    """Every file an export to ``path`` writes, the named one first."""
    path = Path(path)
    if path.suffix.lower() != ".csv":
        return [path]
    return [path] + [path.with_name(f"{path.stem}_{part}") for part in ("cross_cov.csv", "parameters.csv",
                                                                        "meta.json")]


def _arrays(result: dict[str, Any]) -> dict[str, np.ndarray]:
    latents = result["latents"]
    arrays = {"latent_mean": np.asarray(latents["mean"], float), "latent_sd": np.asarray(latents["sd"], float),
              "latent_cross_cov": np.asarray(latents["cross_cov"], float).reshape(
                  -1, len(latents["mean"][0]), len(latents["mean"][0])),
              "trial_start": np.asarray(latents.get("trial_start", [0]), dtype=np.int64)}
    arrays.update({name: np.asarray(value, float) for name, value in result["lds_parameters"].items()
                   if name in PARAMETER_NAMES + (INPUT_PARAMETER_NAME,)})
    return arrays


def _csv_bytes(rows: Iterable[list[Any]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue().encode("utf-8")


def _csv_tables(arrays: dict[str, np.ndarray]) -> tuple[bytes, bytes, bytes]:
    mean, sd, cross = arrays["latent_mean"], arrays["latent_sd"], arrays["latent_cross_cov"]
    size = mean.shape[1]
    trial_of_bin = np.searchsorted(arrays["trial_start"], np.arange(mean.shape[0]), side="right") - 1
    latents = _csv_bytes([["bin", "trial"] + [f"x{k + 1}_mean" for k in range(size)]
                          + [f"x{k + 1}_sd" for k in range(size)]]
                         + [[t, int(trial_of_bin[t])] + [repr(float(v)) for v in row]
                            for t, row in enumerate(np.hstack([mean, sd]))])
    cross_header = ["bin"] + [f"cov_x{i + 1}_x{j + 1}next" for i in range(size) for j in range(size)]
    cross_rows = _csv_bytes([cross_header] + [[t] + [repr(float(v)) for v in block.ravel()]
                                              for t, block in enumerate(cross)])
    parameter_rows = [["parameter", "row", "column", "value"]]
    for name in PARAMETER_NAMES + tuple(name for name in (INPUT_PARAMETER_NAME,) if name in arrays):
        value = arrays[name]
        if value.ndim == 1:
            parameter_rows += [[name, i, "", repr(float(v))] for i, v in enumerate(value)]
        else:
            parameter_rows += [[name, i, j, repr(float(value[i, j]))] for i in range(value.shape[0])
                               for j in range(value.shape[1])]
    return latents, cross_rows, _csv_bytes(parameter_rows)


def _sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def write_lds_export(result: dict[str, Any], path: str | Path, force: bool = False,
                     inputs: Iterable[str | Path] = ()) -> list[Path]:
    """Write a checked latent-dynamics result dict in the format of ``path``'s extension; returns the files."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in EXPORT_FORMATS:
        raise ResultFileError(f"{path}: unknown export format '{suffix or 'no extension'}'; "
                              f"choose {', '.join(EXPORT_FORMATS)}")
    meta = {key: result.get(key) for key in METADATA_KEYS}
    meta["seed"] = result["preset"]["fit"]["seed"]
    meta["export_id"] = str(uuid.uuid4())
    arrays = _arrays(result)
    try:
        if suffix == ".json":
            return [write_json(result, path, force=force, inputs=inputs)]
        if suffix == ".csv":
            tables = _csv_tables(arrays)
            targets = lds_export_files(path)
            sidecar = {"vbgui_export": SIDECAR_VERSION, "export_id": meta["export_id"],
                       "files": {t.name: _sha256(b) for t, b in zip(targets, tables)}, "metadata": meta}
            sidecar_bytes = json.dumps(sidecar, indent=1, allow_nan=False).encode("utf-8")
            contents = list(tables) + [sidecar_bytes]
            return write_files([(t, (lambda data: lambda h: h.write(data))(b)) for t, b in zip(targets, contents)],
                               force=force, inputs=inputs)
        named = dict(arrays, unit_names=np.array(result["unit_names"], dtype=str),
                     metadata=np.array(json.dumps(meta, allow_nan=False)))
        if suffix == ".npz":
            return write_files([(path, lambda h: np.savez(h, **named))], force=force, inputs=inputs)
        import scipy.io

        struct = dict(arrays, unit_names=np.array(result["unit_names"], dtype=object).reshape(-1, 1),
                      metadata=json.dumps(meta, allow_nan=False))
        return write_files([(path, lambda h: scipy.io.savemat(h, {"vbgui_lds_fit": struct}, do_compression=True))],
                           force=force, inputs=inputs)
    except OSError as exc:
        raise ResultFileError(f"{path}: cannot write ({exc.strerror or exc}); any earlier file is intact") from None


def read_lds_export(path: str | Path) -> dict[str, Any]:
    """Read an .npz, .mat or .csv latent-dynamics export back: the arrays by name and ``metadata``."""
    path = Path(path)
    suffix = path.suffix.lower()
    try:
        if suffix == ".npz":
            with np.load(path, allow_pickle=False) as archive:
                back = {name: archive[name] for name in archive.files if name != "metadata"}
                back["metadata"] = parse_json_text(str(archive["metadata"]), path)
            return back
        if suffix == ".mat":
            import scipy.io

            fit = scipy.io.loadmat(path, simplify_cells=True)["vbgui_lds_fit"]
            back = {name: np.asarray(value) for name, value in fit.items() if name != "metadata"}
            back["metadata"] = parse_json_text(fit["metadata"], path)
            return back
        if suffix == ".csv":
            return _read_csv(path)
    except ResultFileError:
        raise
    except Exception as exc:  # noqa: BLE001 - a user's file: report, never crash
        raise ResultFileError(f"{path}: not a vbgui latent-dynamics export ({exc.__class__.__name__}: {exc})") \
            from None
    raise ResultFileError(f"{path}: unknown export format '{suffix}'")


def _read_csv(path: Path) -> dict[str, Any]:
    latents_path, cross_path, parameters_path, meta_path = lds_export_files(path)
    sidecar = parse_json_text(meta_path.read_text(encoding="utf-8"), meta_path)
    contents = {p: p.read_bytes() for p in (latents_path, cross_path, parameters_path)}
    for member, data in contents.items():
        if sidecar["files"].get(member.name) != _sha256(data):
            raise ResultFileError(f"{member}: not from the same export as {meta_path.name}; export again")
    rows = list(csv.reader(io.StringIO(contents[latents_path].decode("utf-8"))))
    size = (len(rows[0]) - 2) // 2
    trials = np.array([int(r[1]) for r in rows[1:]])
    table = np.array([[float(v) for v in r[2:]] for r in rows[1:]])
    cross = np.array([[float(v) for v in r[1:]] for r in
                      list(csv.reader(io.StringIO(contents[cross_path].decode("utf-8"))))[1:]])
    back: dict[str, Any] = {"latent_mean": table[:, :size], "latent_sd": table[:, size:],
                            "latent_cross_cov": cross.reshape(-1, size, size), "metadata": sidecar["metadata"],
                            "header": rows[0],
                            "trial_start": np.concatenate([[0], np.flatnonzero(np.diff(trials)) + 1])}
    entries: dict[str, dict[tuple[int, int], float]] = {}
    for name, row, column, value in list(csv.reader(io.StringIO(contents[parameters_path].decode("utf-8"))))[1:]:
        entries.setdefault(name, {})[(int(row), int(column) if column else -1)] = float(value)
    for name, cells in entries.items():
        n_rows = 1 + max(r for r, _ in cells)
        n_cols = 1 + max(c for _, c in cells)
        back[name] = np.array([cells[(r, -1)] for r in range(n_rows)]) if n_cols == 0 else \
            np.array([[cells[(r, c)] for c in range(n_cols)] for r in range(n_rows)])
    return back
