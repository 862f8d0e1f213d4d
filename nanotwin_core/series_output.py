"""What a data series gives the user: a parameter table (CSV), the ``--json`` dict, one project
holding every fit, and a figure of chosen parameters against the series value.

Table columns: ``file, value, status, gof, rwp``, then every parameter as ``NAME, NAME_esd``
(order of first appearance), then the first population's derived sizes (``D_eq_nm``, ...) not
already among the parameters. A failed file keeps its row: its status names the reason and its
numbers are empty.

Project layout of a series (schema version 2, only new entry names, so every reader of version-2
projects opens it): ``results/series`` = {"format": "nanotwin.Series/1", mode, value_spec,
seconds, n_workers, entries: [{file, value, status, name}]}; per fit ``name`` = ``fit_000``, ...:
``results/<name>`` (the single-fit JSON dict plus file, value, status, warnings),
``data/observed_NNN`` and ``cache/<name>`` (the fitted curves, as a single fit's ``fit``
entry); the size databases as ``cache/sizedb_<i>``.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from nanotwin_core.errors import NanotwinError
from nanotwin_core.io.project import Project
from nanotwin_core.refine.database_store import size_database_to_cache, size_databases_from_project
from nanotwin_core.refine.report import POPULATION_KEYS
from nanotwin_core.series import SeriesFit, SeriesResult

SERIES_FORMAT = "nanotwin.Series/1"
FIXED_COLUMNS = ("file", "value", "status", "gof", "rwp")


def _population(fit: SeriesFit) -> dict:
    pops = fit.summary.get("populations") or [{}]
    return pops[0]


def quantity_names(result: SeriesResult) -> list[str]:
    """Names of the table's numeric columns (figures of merit, parameters, derived sizes)."""
    names: list[str] = ["gof", "rwp"]
    for fit in result.fits:
        for name in fit.summary.get("parameters", {}):
            if name not in names:
                names.append(name)
    for fit in result.fits:
        pop = _population(fit)
        for key in POPULATION_KEYS:
            if isinstance(pop.get(key), (int, float)) and key not in names:
                names.append(key)
    return names


def quantity(fit: SeriesFit, name: str) -> tuple[float | None, float | None]:
    """(value, esd) of a table column for one fit; (None, None) where it has none."""
    if not fit.ok:
        return None, None
    if name in ("gof", "rwp"):
        return float(fit.summary[name]), None
    prm = fit.summary.get("parameters", {}).get(name)
    if prm is not None:
        return float(prm["value"]), prm.get("esd")
    pop = _population(fit)
    if isinstance(pop.get(name), (int, float)):
        return float(pop[name]), (pop.get("esd") or {}).get(name)
    return None, None


def series_table(result: SeriesResult) -> tuple[list[str], list[list]]:
    """(header, rows) of the parameter table (see the module docstring)."""
    names = quantity_names(result)
    header = ["file", "value", "status", "gof", "rwp"]
    for name in names[2:]:
        header += [name, f"{name}_esd"]
    rows = []
    for fit in result.fits:
        row: list = [fit.path, fit.value, fit.status]
        row += [quantity(fit, "gof")[0], quantity(fit, "rwp")[0]]
        for name in names[2:]:
            row += list(quantity(fit, name))
        rows.append(row)
    return header, rows


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.10g}" if math.isfinite(value) else ""
    return str(value)


def series_csv(result: SeriesResult) -> str:
    """The parameter table as CSV text (header line first)."""
    header, rows = series_table(result)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([_cell(v) for v in row])
    return buf.getvalue()


def series_json(result: SeriesResult) -> dict:
    """The ``--json`` dict: {"mode", "value_spec", "seconds", "n_workers", "fits": [{"file",
    "value", "status", ...the single-fit JSON...}]}."""
    fits = []
    for fit in result.fits:
        entry = {"file": fit.path, "value": fit.value, "status": fit.status}
        if fit.warnings:
            entry["warnings"] = list(fit.warnings)
        entry.update(fit.summary)
        fits.append(entry)
    return {"mode": result.mode, "value_spec": result.value_spec, "seconds": result.seconds,
            "n_workers": result.n_workers, "fits": fits}


def series_project(result: SeriesResult, model: dict) -> Project:
    """One project holding every fit of the series (layout in the module docstring)."""
    project = Project(model=dict(model))
    entries = []
    for i, fit in enumerate(result.fits):
        name = f"fit_{i:03d}"
        entries.append({"file": fit.path, "value": fit.value, "status": fit.status, "name": name})
        project.results[name] = {"file": fit.path, "value": fit.value, "status": fit.status,
                                 "warnings": list(fit.warnings), **fit.summary}
        if fit.ok:
            project.data[f"observed_{i:03d}"] = fit.observed
            project.data_meta[f"observed_{i:03d}"] = fit.observed_meta
            project.cache[name] = fit.curves
            project.cache_meta[name] = fit.curve_meta
    project.results["series"] = {"format": SERIES_FORMAT, "mode": result.mode,
                                 "value_spec": result.value_spec, "seconds": result.seconds,
                                 "n_workers": result.n_workers, "entries": entries}
    for i_db, db in enumerate({id(d): d for d in result.databases.values()}.values()):
        project.cache[f"sizedb_{i_db}"], project.cache_meta[f"sizedb_{i_db}"] = size_database_to_cache(db)
    n_ok = sum(f.ok for f in result.fits)
    project.history.append({"command": "fit series", "mode": result.mode, "files": len(result.fits),
                            "ok": n_ok})
    return project


def is_series_project(project: Project) -> bool:
    """True when the project holds a data series."""
    return project.results.get("series", {}).get("format") == SERIES_FORMAT


def series_from_project(project: Project) -> SeriesResult:
    """The series stored by ``series_project`` (a project without one is refused)."""
    if not is_series_project(project):
        raise NanotwinError("the project holds no data series")
    index = project.results["series"]
    fits = []
    for i, entry in enumerate(index["entries"]):
        name = entry["name"]
        stored = dict(project.results.get(name, {}))
        warnings = stored.pop("warnings", [])
        for key in ("file", "value", "status"):
            stored.pop(key, None)
        fit = SeriesFit(path=entry["file"], value=entry["value"], status=entry["status"], warnings=warnings)
        if fit.ok:
            fit.summary = stored
            fit.values = {k: float(v["value"]) for k, v in stored.get("parameters", {}).items()}
            fit.observed = dict(project.data.get(f"observed_{i:03d}", {}))
            fit.observed_meta = dict(project.data_meta.get(f"observed_{i:03d}", {}))
            fit.curves = dict(project.cache.get(name, {}))
            fit.curve_meta = dict(project.cache_meta.get(name, {}))
        fits.append(fit)
    return SeriesResult(fits=fits, mode=index["mode"], value_spec=index.get("value_spec"),
                        databases=size_databases_from_project(project),
                        seconds=float(index.get("seconds", 0.0)),
                        n_workers=int(index.get("n_workers", 1)))


def check_plot_names(result: SeriesResult, names: Sequence[str]) -> None:
    """Refuse --plot names that are no column of the table, listing the columns."""
    known = quantity_names(result)
    unknown = [n for n in names if n not in known]
    if unknown:
        raise NanotwinError(f"--plot: no column {', '.join(unknown)} in this series; "
                            f"columns: {', '.join(known)}")


def series_xy(result: SeriesResult, name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(x, value, esd (NaN where none), index of the fit) of one column over the good fits; x is
    the series value, or the file's position when the series has no values."""
    use_value = any(f.value is not None for f in result.fits)
    xs, ys, es, idx = [], [], [], []
    for i, fit in enumerate(result.fits):
        y, e = quantity(fit, name)
        x = fit.value if use_value else float(i)
        if y is None or x is None:
            continue
        xs.append(float(x))
        ys.append(y)
        es.append(np.nan if e is None else float(e))
        idx.append(i)
    return np.array(xs), np.array(ys), np.array(es), np.array(idx, dtype=int)


def series_figure(result: SeriesResult, names: Sequence[str], path: str | Path, *,
                  value_label: str | None = None, dpi: int = 130) -> Path:
    """One panel per column of ``names`` against the series value (esd bars), written atomically."""
    from nanotwin_core.figures import pyplot, save_figure

    check_plot_names(result, names)
    plt = pyplot()
    fig, axes = plt.subplots(len(names), 1, sharex=True, squeeze=False,
                             figsize=(6.0, 1.2 + 2.0 * len(names)), layout="constrained")
    for ax, name in zip(axes[:, 0], names, strict=True):
        x, y, e, _ = series_xy(result, name)
        ax.errorbar(x, y, yerr=np.where(np.isfinite(e), e, 0.0), fmt="o-", ms=4, lw=1, capsize=2)
        ax.set_ylabel(name)
        ax.grid(alpha=0.3)
    use_value = any(f.value is not None for f in result.fits)
    axes[-1, 0].set_xlabel(value_label or (result.value_spec if use_value else "file") or "series value")
    failed = [Path(f.path).name for f in result.fits if not f.ok]
    title = f"{sum(f.ok for f in result.fits)} fits ({result.mode})"
    if failed:
        title += f"; failed: {', '.join(failed[:4])}" + (" ..." if len(failed) > 4 else "")
    axes[0, 0].set_title(title, fontsize=9)
    return save_figure(fig, path, dpi=dpi)
