"""Size databases (per-size Debye sums) in project files: cache entries of kind "size_database".

A fit stores its databases with ``size_database_to_cache``; ``size_databases_from_project``
gives them back by fingerprint for ``prepare_fit(databases=)`` (``nanotwin fit --reuse``, the
window), so nothing is recomputed for the same model, sizes and range.
"""

from __future__ import annotations

import numpy as np

from nanotwin_core.io.project import Project
from nanotwin_core.refine.size_database import SizeDatabase
from nanotwin_core.refine.twin_density import FORMAT as TWIN_DENSITY_FORMAT
from nanotwin_core.refine.twin_density import TwinDensityDatabase

__all__ = ["size_database_to_cache", "size_databases_from_project"]


def size_database_to_cache(db) -> tuple[dict[str, np.ndarray], dict]:
    """(arrays, metadata) of a ``SizeDatabase`` (per-size Debye sums) for ``Project.cache``."""
    arrays, meta = db.to_arrays()
    return arrays, {**meta, "kind": "size_database", "key": str(db.info.get("key", ""))}


def size_databases_from_project(project: Project) -> dict:
    """Every size database stored in ``project`` (per-size sums, or a twin-density database), by
    fingerprint (for ``prepare_fit(databases=)``)."""
    out = {}
    for name, meta in project.cache_meta.items():
        if meta.get("kind") == "size_database":
            cls = TwinDensityDatabase if meta.get("format") == TWIN_DENSITY_FORMAT else SizeDatabase
            db = cls.from_arrays(project.cache[name], {k: v for k, v in meta.items() if k != "kind"})
            key = str(meta.get("key") or db.info.get("key") or name)
            db.info["key"] = key
            out[key] = db
    return out
