"""What ``nanotwin fit`` prints and writes: the project, the ``--json`` summary, the report."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

from nanotwin_core.cli.outputs import OutputFiles
from nanotwin_core.io.atomic import atomic_write_text
from nanotwin_core.io.project import Project, save_project
from nanotwin_core.refine.database_store import size_database_to_cache
from nanotwin_core.refine.report import format_esd


def json_default(value):
    """numpy scalars and arrays as plain JSON values."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


def fit_project(args: argparse.Namespace, model, data, problem, result, elapsed: float, robustness=None):
    """(project, --json summary, populations) of a pattern fit; curves split by the core;
    ``robustness``: a ``refine.robustness.RobustnessReport`` (--robustness), kept in both."""
    from nanotwin_core.actions import fit_parts, fit_summary

    summary = fit_summary(model, data, problem, result, elapsed)
    populations = summary.get("populations", [])
    if robustness is not None:
        summary["robustness"] = robustness.to_dict()
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


SIZE_LINES = (  # (label, number-weighted key, volume-weighted key) of the console's size lines
    ("mean D", "mean_D_nm", "mean_D_vol_nm"), ("D_ab", "Dab_nm", "Dab_vol_nm"), ("L_c", "Lc_nm", "Lc_vol_nm"),
    ("D_eq", "D_eq_nm", "D_eq_vol_nm"))


def size_lines(populations: list[dict]) -> list[str]:
    """One line per size of every population: number-weighted and volume-weighted, value(esd)."""
    lines = []
    for pop in populations:
        esd = pop.get("esd") or {}
        name = f"{pop['name']}: " if len(populations) > 1 else ""
        for label, num, vol in SIZE_LINES:
            if pop.get(num) is None:
                continue
            text = f"{name}{label} number-weighted {format_esd(pop[num], esd.get(num))} nm"
            if pop.get(vol) is not None:
                text += f", volume-weighted {format_esd(pop[vol], esd.get(vol))} nm"
            lines.append(text)
    return lines


def print_fit(result, summary: dict, populations: list[dict], elapsed: float, robustness=None) -> None:
    """Figures of merit, refined parameters, sizes (number- and volume-weighted), robustness,
    notes on stdout; diagnostics on stderr."""
    print(f"GoF = {result.gof:.3f}  Rwp = {result.rwp:.4f}  Rexp = {result.rexp:.4f}  "
          f"N = {result.n_points}  P = {result.n_params}  ({elapsed:.1f} s)")
    for prm in result.params:
        if prm.refine and not prm.linear:
            print(f"  {prm.name:12s} {format_esd(prm.value, prm.esd)}"
                  + (f"  (at {prm.at_bound} bound)" if prm.at_bound else ""))
    for line in size_lines(populations):
        print(f"  {line}")
    comp = summary.get("composition")
    if comp:
        print(f"  composition: {comp['formula']} (per {comp['reference']})")
    if robustness is not None:
        spreads = ", ".join(f"{k} {v:.3g}" for k, v in robustness.spread.items())
        print(f"  spread over {len(robustness.refits)} neighbouring refits: {spreads}")
        for warning in robustness.warnings:
            print(f"nanotwin: warning: {warning}", file=sys.stderr)
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
                      report: Callable[[], str], *, figure: Callable[[Path], object] | None = None) -> None:
    """Write the project, --json, --report and --figure together (the report made only if asked;
    ``figure(path)`` draws the --figure)."""
    with outputs:
        outputs.stage("--out", lambda path: save_project(project, path))
        if args.json:
            text = json.dumps(summary, indent=2, default=json_default)
            outputs.stage("--json", lambda path: atomic_write_text(path, text))
        if args.report:
            text_md = report()
            outputs.stage("--report", lambda path: atomic_write_text(path, text_md))
        if figure is not None:
            outputs.stage("--figure", figure)
        for path in outputs.commit():
            print(f"wrote {path}")
