"""What ``nanotwin fit`` prints and writes: the project, the ``--json`` summary, the report."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable

import numpy as np

from nanotwin_core.cli.outputs import OutputFiles
from nanotwin_core.io.atomic import atomic_write_text
from nanotwin_core.io.project import Project, save_project
from nanotwin_core.refine.database_store import size_database_to_cache
from nanotwin_core.refine.report import format_esd, markdown_report, population_markdown


def json_default(value):
    """numpy scalars and arrays as plain JSON values."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


def fit_project(args: argparse.Namespace, model, data, problem, result, elapsed: float):
    """(project, --json summary, populations) of a pattern fit; curves split by the core."""
    from nanotwin_core.actions import fit_parts, fit_summary

    summary = fit_summary(model, data, problem, result, elapsed)
    populations = summary.get("populations", [])
    parts = fit_parts(problem, {p.name: p.value for p in result.params})
    project = Project(
        model=model.to_dict(),
        data={"observed": {"x": data.x, "y": data.y, "sigma": data.sigma_used}},
        data_meta={"observed": {"path": str(args.data), "x_kind": data.x_kind,
                                "wavelength": data.wavelength, "sigma_source": data.sigma_source}},
        cache={"fit": parts.arrays()},
        cache_meta={"fit": {"columns": problem.linear_names, "populations": list(parts.populations)}},
        results={"fit": summary},
        history=[{"command": "fit", "refine": list(model.fit.refine), "gof": summary["gof"]}],
    )
    used = [db for db in [problem.database, *(c.database for c in problem.components)]
            if hasattr(db, "to_arrays")]  # cell/tilt fits keep pair tables, not per-size sums
    for i_db, db in enumerate({id(d): d for d in used}.values()):
        project.cache[f"sizedb_{i_db}"], project.cache_meta[f"sizedb_{i_db}"] = size_database_to_cache(db)
    return project, summary, populations


def fit_report(result, summary: dict, populations: list[dict], data_name: str) -> str:
    """The Markdown report of a pattern fit."""
    return markdown_report(result, title=f"nanotwin fit of {data_name}", data_note=summary.get("note")) \
        + population_markdown(populations)


def print_fit(result, summary: dict, populations: list[dict], elapsed: float) -> None:
    """Figures of merit, refined parameters, sizes and notes on stdout."""
    print(f"GoF = {result.gof:.3f}  Rwp = {result.rwp:.4f}  Rexp = {result.rexp:.4f}  "
          f"N = {result.n_points}  P = {result.n_params}  ({elapsed:.1f} s)")
    for prm in result.params:
        if prm.refine and not prm.linear:
            print(f"  {prm.name:12s} {format_esd(prm.value, prm.esd)}"
                  + (f"  (at {prm.at_bound} bound)" if prm.at_bound else ""))
    first = populations[0]
    for key, label in (("mean_D_vol_nm", "volume-weighted mean D"), ("D_eq_vol_nm", "volume-weighted D_eq")):
        if first.get(key) is not None:
            print(f"  {label}: {format_esd(first[key], first['esd'].get(key))} nm")
    pop = summary["population"]
    if pop.get("mean_D_nm") is not None:
        print(f"  mean size {pop['mean_D_nm']:.3f} nm" + (f", L_c {pop['mean_L_nm']:.3f} nm" if pop.get(
            "mean_L_nm") else "") + (f", D_eq {pop['D_eq_nm']:.3f} nm" if pop.get("D_eq_nm") else ""))
    for msg in result.messages:
        print(f"  note: {msg}")
    print_diagnostics(result)


def print_diagnostics(result) -> None:
    """The fit's diagnostics on stderr (``nanotwin: warning: ...``), and a failed fit's status."""
    for diag in result.diagnostics:
        print(f"nanotwin: {diag.severity}: {diag.message}", file=sys.stderr)
    if result.failed:
        print("nanotwin: the fit failed (see the error above): the outputs are written and marked "
              "failed (exit status 3)", file=sys.stderr)


def write_fit_outputs(args: argparse.Namespace, outputs: OutputFiles, project: Project, summary: dict,
                      report: Callable[[], str]) -> None:
    """Write the project, --json and --report together (the report made only if asked)."""
    with outputs:
        outputs.stage("--out", lambda path: save_project(project, path))
        if args.json:
            text = json.dumps(summary, indent=2, default=json_default)
            outputs.stage("--json", lambda path: atomic_write_text(path, text))
        if args.report:
            text_md = report()
            outputs.stage("--report", lambda path: atomic_write_text(path, text_md))
        for path in outputs.commit():
            print(f"wrote {path}")
