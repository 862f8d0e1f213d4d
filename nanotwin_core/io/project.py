"""Project files: HDF5 (h5py) with a schema version, saved atomically, never pickled.

Layout (version 1)::

    /                    attrs: format = "nanotwin-project", schema_version = 1, nanotwin_version
    /model               attrs: json = the model settings (structure, shape, sizes, twins, ...)
    /data/<name>/        datasets x, y[, sigma]; attrs: json = metadata (path, x_kind, wavelength)
    /cache/<key>/        datasets of cached arrays (pair histograms, per-size patterns); attrs json
    /results/<name>      attrs: json = a refinement result (parameters, esds, figures of merit)
    /history             attrs: json = list of history entries (one per fit)

Everything user-defined is stored as JSON text in attributes or as plain numeric arrays, so
opening a project never runs code from the file. Saving writes a temporary file beside the
target and renames it over the target only when complete: an interrupted save leaves the old
project untouched.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np

from nanotwin_core._version import __version__
from nanotwin_core.errors import InputFileError

FORMAT_NAME = "nanotwin-project"
SCHEMA_VERSION = 1


@dataclass
class Project:
    """Everything a user has open: model settings, data, caches, results, history."""

    model: dict = field(default_factory=dict)
    data: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    data_meta: dict[str, dict] = field(default_factory=dict)
    cache: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    cache_meta: dict[str, dict] = field(default_factory=dict)
    results: dict[str, dict] = field(default_factory=dict)
    history: list[dict] = field(default_factory=list)


def _json(value) -> str:
    return json.dumps(value, sort_keys=True, default=_json_default)


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot store {type(value).__name__} in a project")


def save_project(project: Project, path: str | Path) -> Path:
    """Write ``project`` to ``path`` atomically (temporary file, then rename)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.saving-{os.getpid()}")
    try:
        with h5py.File(tmp, "w") as f:
            f.attrs["format"] = FORMAT_NAME
            f.attrs["schema_version"] = SCHEMA_VERSION
            f.attrs["nanotwin_version"] = __version__
            f.create_group("model").attrs["json"] = _json(project.model)
            _write_arrays(f.create_group("data"), project.data, project.data_meta)
            _write_arrays(f.create_group("cache"), project.cache, project.cache_meta)
            res = f.create_group("results")
            for name, result in project.results.items():
                res.create_group(_check_name(name)).attrs["json"] = _json(result)
            f.create_group("history").attrs["json"] = _json(project.history)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def _check_name(name: str) -> str:
    if not name or "/" in name or name in (".", ".."):
        raise ValueError(f"invalid name for a project entry: {name!r}")
    return name


def _write_arrays(group: h5py.Group, arrays: dict, meta: dict) -> None:
    for name, columns in arrays.items():
        g = group.create_group(_check_name(name))
        for key, values in columns.items():
            arr = np.asarray(values)
            if arr.dtype.kind in "OUS":
                raise ValueError(f"{name}/{key}: only numeric arrays are stored in projects")
            g.create_dataset(_check_name(key), data=arr, compression="gzip" if arr.size > 4096 else None)
        g.attrs["json"] = _json(meta.get(name, {}))


def open_project(path: str | Path) -> Project:
    """Read a project; a corrupt, truncated, foreign or newer-schema file raises InputFileError."""
    path = Path(path)
    if not path.exists():
        raise InputFileError(path, "no such file")
    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise InputFileError(path, f"not a readable HDF5 project (corrupt or truncated?): {exc}") from None
    try:
        with f:
            if f.attrs.get("format") != FORMAT_NAME:
                raise InputFileError(path, "not a nanotwin project (no format attribute)")
            version = int(f.attrs.get("schema_version", -1))
            if version > SCHEMA_VERSION:
                raise InputFileError(
                    path,
                    f"project schema version {version} is newer than this nanotwin "
                    f"({__version__}) reads (version {SCHEMA_VERSION}); update nanotwin",
                )
            if version < 1:
                raise InputFileError(path, f"unknown project schema version {version}")
            project = Project(model=_load_json(f["model"], path))
            project.data, project.data_meta = _read_arrays(f["data"], path)
            project.cache, project.cache_meta = _read_arrays(f["cache"], path)
            for name, g in f["results"].items():
                project.results[name] = _load_json(g, path)
            project.history = _load_json(f["history"], path)
            return project
    except InputFileError:
        raise
    except (KeyError, OSError, ValueError, TypeError) as exc:
        raise InputFileError(path, f"damaged project: {exc}") from None


def _load_json(obj, path: Path):
    text = obj.attrs.get("json")
    if text is None:
        raise InputFileError(path, f"damaged project: {obj.name} has no json attribute")
    if isinstance(text, bytes):
        text = text.decode()
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputFileError(path, f"damaged project: {obj.name}: {exc}") from None


def _read_arrays(group: h5py.Group, path: Path) -> tuple[dict, dict]:
    arrays, meta = {}, {}
    for name, g in group.items():
        arrays[name] = {key: np.asarray(ds[()]) for key, ds in g.items()}
        meta[name] = _load_json(g, path)
    return arrays, meta
