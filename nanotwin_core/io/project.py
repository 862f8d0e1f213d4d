"""Project files: HDF5 (h5py) with a schema version, saved atomically, never pickled.

Layout (version 2)::

    /                    attrs: format = "nanotwin-project", schema_version = 2, nanotwin_version
    /model               attrs: json = the model settings (structure, shape, sizes, twins, ...)
    /data/<name>/        datasets x, y[, sigma]; attrs: json = metadata (path, x_kind, wavelength)
    /cache/<key>/        datasets of cached arrays (pair histograms, per-size patterns); attrs json
    /results/<name>      attrs: json = a refinement result (parameters, esds, figures of merit)
    /history             attrs: json = list of history entries (one per fit)
    /state               attrs: json = what a program needs to restore its view (the GUI's dock
                         settings, curve labels, ...); new in version 2

Version 1 files (no ``/state``) are read as version 2 files with an empty state. Cache entries
written by the helpers below carry a ``kind`` in their metadata: ``"pair_histograms"``
(:func:`histograms_to_cache`, a ``PairHistograms``) and ``"crystal"`` (:func:`crystal_to_cache`,
the atoms of a ``Crystal`` with element and ADP-group names as indices into a JSON list);
``"size_database"`` entries are written and read by ``refine.database_store``.

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
from nanotwin_core.crystal import Crystal
from nanotwin_core.errors import InputFileError, NanotwinError
from nanotwin_core.scattering.types import PairHistograms

FORMAT_NAME = "nanotwin-project"
SCHEMA_VERSION = 2
READABLE_VERSIONS = (1, 2)


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
    state: dict = field(default_factory=dict)
    schema_version: int = SCHEMA_VERSION  # of the file it was read from (written: always the newest)


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
            f.create_group("state").attrs["json"] = _json(project.state)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def _check_name(name: str) -> str:
    if not name or "/" in name or name in (".", ".."):
        raise NanotwinError(f"invalid name for a project entry: {name!r}")
    return name


GZIP_MAX_BYTES = 32_000_000  # above this, gzip costs seconds per 100 MB (in the GUI's save) for ~7 %


def _compression(arr: np.ndarray) -> str | None:
    """gzip for mid-sized arrays (histograms, curves); none for tiny ones and for the large float
    sums of size databases, which hardly compress."""
    return "gzip" if 4096 < arr.size and arr.nbytes <= GZIP_MAX_BYTES else None


def _write_arrays(group: h5py.Group, arrays: dict, meta: dict) -> None:
    for name, columns in arrays.items():
        g = group.create_group(_check_name(name))
        for key, values in columns.items():
            arr = np.asarray(values)
            if arr.dtype.kind in "OUS":
                raise NanotwinError(f"{name}/{key}: only numeric arrays are stored in projects")
            g.create_dataset(_check_name(key), data=arr, compression=_compression(arr))
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
            if version not in READABLE_VERSIONS:
                raise InputFileError(path, f"unknown project schema version {version}")
            project = Project(model=_load_json(f["model"], path), schema_version=version)
            project.data, project.data_meta = _read_arrays(f["data"], path)
            project.cache, project.cache_meta = _read_arrays(f["cache"], path)
            for name, g in f["results"].items():
                project.results[name] = _load_json(g, path)
            project.history = _load_json(f["history"], path)
            if version >= 2:
                project.state = _load_json(f["state"], path)
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


# ---------------------------------------------------------------------------------------- helpers
def histograms_to_cache(hist) -> tuple[dict[str, np.ndarray], dict]:
    """(arrays, metadata) of a ``PairHistograms`` for ``Project.cache`` / ``cache_meta``."""
    arrays, meta = hist.to_arrays()
    return arrays, {**meta, "kind": "pair_histograms"}


def histograms_from_cache(arrays: dict[str, np.ndarray], meta: dict):
    """The ``PairHistograms`` stored by :func:`histograms_to_cache`."""
    if meta.get("kind") != "pair_histograms":
        raise NanotwinError(f"cache entry of kind {meta.get('kind')!r} is not pair histograms")
    return PairHistograms.from_arrays(arrays, {k: v for k, v in meta.items() if k != "kind"})


def crystal_to_cache(crystal) -> tuple[dict[str, np.ndarray], dict]:
    """(arrays, metadata) of a ``Crystal``'s atoms (positions Å, names as indices; no lattice).

    ``info`` entries that are not plain JSON values are left out.
    """
    elements, el_idx = np.unique(np.asarray(crystal.elements, str), return_inverse=True)
    groups, gr_idx = np.unique(np.asarray(crystal.adp_groups, str), return_inverse=True)
    arrays = {
        "positions": np.asarray(crystal.positions, np.float64),
        "element_index": el_idx.astype(np.int32),
        "adp_group_index": gr_idx.astype(np.int32),
        "occupancy": np.asarray(crystal.occupancy, np.float64),
        "exclusion": np.asarray(crystal.exclusion, np.int64),
        "domain": np.asarray(crystal.domain, np.int32),
        "variant": np.asarray(crystal.variant, np.int32),
    }
    if crystal.cell is not None:
        arrays["cell"] = np.asarray(crystal.cell, np.float64)
    info = {}
    for key, value in (crystal.info or {}).items():
        try:
            json.dumps(value, default=_json_default)
        except (TypeError, ValueError):
            continue
        info[str(key)] = value
    meta = {"kind": "crystal", "elements": [str(e) for e in elements],
            "adp_groups": [str(g) for g in groups], "info": info}
    return arrays, meta


def crystal_from_cache(arrays: dict[str, np.ndarray], meta: dict):
    """The ``Crystal`` stored by :func:`crystal_to_cache` (without its lattice description)."""
    if meta.get("kind") != "crystal":
        raise NanotwinError(f"cache entry of kind {meta.get('kind')!r} is not a crystal")
    elements = np.asarray(meta["elements"], dtype="U4")
    groups = np.asarray(meta["adp_groups"], dtype="U16")
    el_idx = np.asarray(arrays["element_index"], np.int64)
    gr_idx = np.asarray(arrays["adp_group_index"], np.int64)
    if el_idx.size and (el_idx.min() < 0 or el_idx.max() >= len(elements)
                        or gr_idx.min() < 0 or gr_idx.max() >= len(groups)):
        raise NanotwinError("crystal element or ADP-group index out of range")
    return Crystal(
        positions=arrays["positions"], elements=elements[el_idx], adp_groups=groups[gr_idx],
        occupancy=arrays["occupancy"], exclusion=arrays["exclusion"], domain=arrays["domain"],
        variant=arrays["variant"], cell=arrays.get("cell"), info=dict(meta.get("info", {})),
    )
