"""Core calls the window's jobs run: warm-up, build + compute, demos, fit set-up and refinement.
No Qt.

Every function takes ``progress`` and ``cancel`` callables (the core's convention) and returns
plain results; ``tasks.CoreJob`` runs them in a worker. The computing is the core's:
``actions.compute_pattern`` for builds, ``demos.compute_demo`` for demos,
``actions.prepare_model_fit`` + ``problem.run`` for fits and ``actions.fit_parts`` for the parts
of a fitted curve. What is the window's own: the comparison with the untwinned crystal, the fit
table (start values, bounds, constraints edited by the user) and the live reports of a fit.
"""

from __future__ import annotations

import html
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np

from nanotwin_core.actions import (
    build_model_crystal,
    check_model_data,
    compute_pattern,
    data_defaults,
    fit_parts,
    fit_report,
    fit_summary,
    prepare_model_fit,
    refit_if_needed,
)
from nanotwin_core.crystal import LatticeContent, LatticeDescription, crystal_from_lattice
from nanotwin_core.demos import build_model_crystal as build_demo_crystal
from nanotwin_core.demos import compute_demo, get_demo
from nanotwin_core.errors import NanotwinError
from nanotwin_core.geometry import q_from_two_theta
from nanotwin_core.model import Model
from nanotwin_core.reflections import pseudocubic_a_of_crystal, pseudocubic_a_of_structure
from nanotwin_core.scattering import compute_histograms, debye_intensity
from nanotwin_core.structures.library import get_structure

LIVE_ATOM_LIMIT = 20_000  # atoms: live (slider-driven) recomputes stay under ~1 s on one thread
DEFAULT_Q = (0.5, 6.0, 0.002)
DEFAULT_WAVELENGTH = 0.565468


def tiny_crystal():
    """A 2 x 2 x 2 cubic CsPbBr3 crystal made by hand (for warm-up and tests)."""
    a = 5.87
    content = LatticeContent(
        frac=np.array([[0, 0, 0], [0.5, 0.5, 0.5], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]], float),
        elements=np.array(["Cs", "Pb", "Br", "Br", "Br"]),
        adp_groups=np.array(["Cs", "Pb", "Br", "Br", "Br"]),
        occupancy=np.ones(5),
        exclusion=np.full(5, -1),
    )
    lat = LatticeDescription(
        cell=np.eye(3) * a, node_basis_frac=np.eye(3), contents=[content],
        content_map=np.zeros((2, 2, 2), dtype=np.int64),
    )
    return crystal_from_lattice(lat, info={"shape": "cube", "structure": "hand-made CsPbBr3"})


def warm_up(progress: Callable | None = None, cancel: Callable | None = None) -> str:
    """Compile the numba kernels by computing the pattern of a tiny crystal."""
    t0 = time.perf_counter()
    hist = compute_histograms(tiny_crystal(), cancel=cancel)
    debye_intensity(hist, np.linspace(0.5, 6, 50))
    return f"Numerical kernels ready ({time.perf_counter() - t0:.1f} s)"


@dataclass
class ComputeResult:
    """What a build-and-compute or demo job hands back to the window."""

    crystal: object
    curves: dict[str, tuple[np.ndarray, np.ndarray]]
    caption: str = ""
    title: str = ""
    n_pairs: int | None = None
    seconds: float = 0.0
    a_p: float | None = None
    info: dict = field(default_factory=dict)
    wavelength: float = DEFAULT_WAVELENGTH
    histograms: dict = field(default_factory=dict)  # label -> PairHistograms (kept for projects)


def untwinned(model: Model) -> Model:
    """The same model without twin boundaries (the comparison a build draws beside it)."""
    return replace(model, twins=[], boundaries=None, domain_size_nm=None, ensemble=False, components=[])


def build_and_compute(
    model: Model,
    structure=None,
    *,
    q_range: tuple[float, float, float] = DEFAULT_Q,
    grid: tuple[np.ndarray, str] | None = None,
    wavelength: float = DEFAULT_WAVELENGTH,
    compare_untwinned: bool = True,
    n_threads: int | None = None,
    progress: Callable | None = None,
    cancel: Callable | None = None,
) -> ComputeResult:
    """The pattern of ``model`` (the core's ``compute_pattern``) on the window's Q grid and, for a
    twinned model, of the same model untwinned; the crystal for the 3D view.

    ``structure``: the model's structure when it came from a file (None: the model's own);
    ``grid``: (x, "q" | "tth") to compute on instead of ``q_range`` (loaded data's points: 2theta
    grids get the model's instrument; curves come back on the observed Q); ``wavelength``: used
    where the model's radiation gives none (the pattern panel's).
    """
    t0 = time.perf_counter()
    if grid is None:
        lo, hi, step = q_range
        x, x_kind = np.arange(lo, hi + step / 2, step), "q"
    else:
        x, x_kind = np.asarray(grid[0], float), grid[1]
    models: list[tuple[str, Model]] = []
    if model.twins and compare_untwinned:
        models.append(("untwinned", untwinned(model)))
    label = ("twinned: " + ", ".join(model.twins)) if model.twins else "untwinned"
    if model.twins and model.ensemble:
        label += " (ensemble average; 3D view: one realisation)"
    models.append((label, model))
    wl = model.radiation.beam_wavelength or wavelength
    curves: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    histograms = {}
    pairs = 0.0
    pattern = None
    for i, (label, m) in enumerate(models):
        def part(fraction: float, message: str = "", i: int = i, label: str = label) -> None:
            if progress:
                progress((i + float(fraction)) / len(models), f"{label}: {message}" if message else label)

        pattern = compute_pattern(m, x, x_kind=x_kind, wavelength=wl, structure=structure,
                                  n_threads=n_threads, progress=part, cancel=cancel)
        curves[label] = (x if x_kind == "q" else q_from_two_theta(x, wl), pattern.intensity)
        if pattern.histograms is not None:
            histograms[label] = pattern.histograms
        pairs += float(pattern.info.get("n_pairs", 0.0))
    crystal = pattern.crystal
    if crystal is None:  # a population: show its crystal at the mean sizes
        crystal = build_model_crystal(model, structure=structure)
    structure = structure if structure is not None else model.load_structure()
    return ComputeResult(
        crystal=crystal, curves=curves, n_pairs=int(round(pairs)) or None, seconds=time.perf_counter() - t0,
        a_p=pseudocubic_a_of_structure(structure) or pseudocubic_a_of_crystal(crystal),
        info=dict(pattern.info), wavelength=wl, title=f"{structure.name}: {model.shape}",
        histograms=histograms,
    )


def run_demo(name: str, progress: Callable | None = None, cancel: Callable | None = None) -> ComputeResult:
    """Compute a core demo and build the crystal of its most twinned model for the viewer."""
    t0 = time.perf_counter()
    demo = get_demo(name)
    result = compute_demo(demo, progress=progress, cancel=cancel)
    spec = demo_view_model(demo)
    structure = get_structure(spec.structure)
    if progress:
        progress(f"building {spec.label} for the 3D view")
    crystal = build_demo_crystal(structure, spec, spec.seeds[0], cancel)
    crystal.info.setdefault("label", spec.label)
    view = (f"one realisation (seed {spec.seeds[0]}) of {spec.label}; its curve is the exact average over "
            "every random network" if spec.ensemble else spec.label)
    pairs = sum(int(info.get("n_pairs", 0) or 0) for info in result.info.values())
    return ComputeResult(
        crystal=crystal,
        curves={label: (result.q, y) for label, y in result.intensities.items()},
        caption=(f"<b>{html.escape(demo.title)}</b><br>{html.escape(demo.caption)} "
                 f"<i>3D view: {html.escape(view)}.</i>"),
        title=demo.title, n_pairs=pairs or None, seconds=time.perf_counter() - t0,
        a_p=pseudocubic_a_of_structure(structure), info=dict(result.info), wavelength=demo.wavelength,
    )


def demo_view_model(demo):
    """The model a demo shows in the 3D view and puts in the model dock: its last twinned one
    (the most twinned in every built-in demo), else its last."""
    return next((m for m in reversed(demo.models) if m.twinned), demo.models[-1])


# ================================================================================ refinement
ITERATION_INTERVAL_S = 0.3  # the live curve and Rwp/GoF are sent at most this often
EDITABLE = ("value", "refine", "min", "max", "constraint")  # what the user edits in the table


def param_row(name: str, value: float, refine: bool, lo: float | None, hi: float | None, *,
              esd: float | None = None, constraint: str | None = None, linear: bool = False,
              at_bound: str | None = None) -> dict:
    """One row of the refinement table (plain JSON values; None = unbounded / no esd)."""
    def bound(b):
        return None if b is None or not np.isfinite(b) else float(b)

    return {"name": name, "value": float(value), "refine": bool(refine), "min": bound(lo), "max": bound(hi),
            "esd": None if esd is None or not np.isfinite(esd) else float(esd), "constraint": constraint,
            "linear": bool(linear), "at_bound": at_bound}


def problem_rows(problem) -> list[dict]:
    """The table of a prepared fit problem: its parameters as the core set them up, then the
    linear coefficients (solved in every evaluation unless the user holds one)."""
    rows = [param_row(p.name, p.value, p.refine, p.min, p.max, constraint=p.constraint)
            for p in problem.params]
    rows += [param_row(n, 0.0, True, 0.0 if nonneg else None, None, linear=True)
             for n, nonneg in zip(problem.linear_names, problem.nonneg, strict=True)]
    return rows


def merge_rows(new: list[dict], table: list[dict], defaults: dict[str, dict]) -> list[dict]:
    """The rows of a freshly set-up problem, keeping the user's edits of the table: a field the
    user changed from the default it was shown with is kept where that default did not change."""
    old = {r["name"]: r for r in table}
    out = []
    for row in new:
        prev, base = old.get(row["name"]), defaults.get(row["name"])
        if prev is not None and base is not None:
            row = dict(row)
            for key in EDITABLE:
                if prev.get(key) != base.get(key) and base.get(key) == row.get(key):
                    row[key] = prev[key]
        out.append(row)
    return out


@dataclass
class FitRequest:
    """Everything a fit job needs (built on the GUI thread, read-only in the worker).

    ``rows`` / ``defaults``: the table and the rows it was set up with (see ``merge_rows``);
    ``databases``: a copy of the workspace's size databases (the job adds to it and hands it back).
    """

    model: Model
    data: object  # PatternData (with a wavelength for 2theta data)
    rows: list[dict] = field(default_factory=list)
    defaults: dict[str, dict] = field(default_factory=dict)
    structure: object | None = None  # the model's structure when it came from a file
    databases: dict = field(default_factory=dict)
    title: str = "Refinement"


@dataclass
class FitSetup:
    """A fit problem set up (size database built, parameters made): the table to show."""

    rows: list[dict]
    databases: dict
    messages: list[str]


@dataclass
class FitProgress:
    """One live report of a running fit (sent at most every ITERATION_INTERVAL_S)."""

    iteration: int
    rwp: float
    gof: float
    y_calc: np.ndarray  # on the data grid
    values: dict[str, float]
    mask: np.ndarray  # fitted points


@dataclass
class FitOutcome:
    """A finished fit: the core's result and what the window shows and saves."""

    problem: object
    result: object  # nanotwin_core.refine.engine.FitResult
    rows: list[dict]
    defaults: list[dict]  # the set-up problem's rows (start values) the table is measured against
    summary: dict  # the ``nanotwin fit --json`` dict
    parts: object  # nanotwin_core.refine.fit_parts.FitParts
    report: str  # Markdown
    databases: dict
    seconds: float


def set_up_fit(request: FitRequest, progress: Callable | None = None,
               cancel: Callable | None = None) -> FitSetup:
    """Set the fit up (build or reuse the size database) to show its parameters."""
    checks = model_data_messages(request)
    problem = prepare_model_fit(request.model, request.data, structure=request.structure, progress=progress,
                                cancel=cancel, databases=request.databases)
    return FitSetup(merge_rows(problem_rows(problem), request.rows, request.defaults), request.databases,
                    checks + list(problem.messages))


def defaults_from_data(request: FitRequest, progress: Callable | None = None,
                       cancel: Callable | None = None):
    """The fitted range and start population the data suggest for the request's model
    (``actions.data_defaults``: ``FitDefaults`` with its reasons)."""
    if progress:
        progress("reading the data's peaks…")
    return data_defaults(request.model, request.data, structure=request.structure)


def model_data_messages(request: FitRequest) -> list[str]:
    """Whether the model's reflections and the data's peaks agree (``actions.check_model_data``,
    as ``nanotwin fit`` warns before any database); needs Q (2theta data with a wavelength)."""
    data = request.data
    if data.x_kind != "q" and not data.wavelength:
        return []
    return list(check_model_data(request.model, data, structure=request.structure).messages)


def apply_rows(problem, rows: list[dict]) -> None:
    """Put the table's start values, refine flags, bounds and constraints into a prepared problem.

    Linear coefficients (scale, bkg_k, blank) are solved in every evaluation unless the row is not
    refined or fixed: then they are held at the row's value.
    """
    params = problem.params
    linear = dict(zip(problem.linear_names, problem.nonneg, strict=True))
    for row in rows:
        name = row["name"]
        lo = -math.inf if row.get("min") is None else float(row["min"])
        hi = math.inf if row.get("max") is None else float(row["max"])
        constraint = row.get("constraint") or None
        if name in params:
            p = params[name]
            if lo > hi:
                raise NanotwinError(f"{name}: min {lo:g} > max {hi:g}")
            p.value, p.refine, p.min, p.max = float(row["value"]), bool(row["refine"]), lo, hi
            p.constraint = constraint
            if p.is_free and not lo <= p.value <= hi:
                raise NanotwinError(f"{name}: start value {p.value:g} outside [{lo:g}, {hi:g}]")
        elif name in linear:
            if constraint and constraint != "fixed":
                raise NanotwinError(f"{name} is a linear coefficient: it can be fixed, not set equal to "
                                    "another parameter")
            if not row["refine"] or constraint == "fixed":
                params.add(name, float(row["value"]), False, 0.0 if linear[name] else lo, hi,
                           constraint="fixed")
    params.resolve()


def _values(problem, values: dict[str, float]) -> dict[str, float]:
    """Parameter values with every linear coefficient (0 where an evaluation has none yet)."""
    return {**{n: 0.0 for n in problem.linear_names}, **values}


def run_refinement(request: FitRequest, progress: Callable | None = None,
                   cancel: Callable | None = None) -> FitOutcome:
    """Set the fit up, apply the table, refine with live reports, split the curve into its parts.

    ``progress`` receives fractions and messages while the size database is built, then
    ``FitProgress`` reports; ``cancel()`` is polled at every model evaluation.
    """
    t0 = time.perf_counter()
    if progress:
        progress("setting the fit up…")
    state = {"n": 0, "last": -1e9}

    def with_table(prepared) -> None:  # the table's start values, fixed parameters, bounds, constraints
        state["problem"], state["defaults"] = prepared, problem_rows(prepared)
        apply_rows(prepared, merge_rows(state["defaults"], request.rows, request.defaults))

    with_table(prepare_model_fit(request.model, request.data, structure=request.structure, progress=progress,
                                 cancel=cancel, databases=request.databases))
    if progress:
        progress("refining…")
    y, sigma = request.data.y, request.data.sigma_used

    def on_iteration(values: dict[str, float], rwp: float) -> None:
        state["n"] += 1
        now = time.perf_counter()
        if progress is None or now - state["last"] < ITERATION_INTERVAL_S:
            return
        current = state["problem"]
        mask = current.mask
        yc = fit_parts(current, _values(current, values)).total
        n_par = len(current.params.free_names())
        chi2 = float(np.sum((y[mask] - yc[mask]) ** 2 / sigma[mask] ** 2))
        gof = float(np.sqrt(chi2 / max(int(mask.sum()) - n_par, 1)))
        progress(FitProgress(state["n"], float(rwp), gof, yc, dict(values), mask))
        state["last"] = time.perf_counter()  # the interval runs from the end of a report to the next

    checks = model_data_messages(request)
    first = state["problem"]
    # as nanotwin fit: a size box the fit left moves there and the fit repeats (said in the notes)
    problem, result = refit_if_needed(first, first.run(callback=on_iteration, cancel=cancel),
                                      structure=request.structure, progress=progress, callback=on_iteration,
                                      cancel=cancel, databases=request.databases, prepare=with_table)
    defaults = state["defaults"]
    values = {p.name: p.value for p in result.params}
    parts = fit_parts(problem, _values(problem, values))
    # the command line's --json summary (status and diagnostics included), plus the notes
    summary = fit_summary(problem.model, request.data, problem, result, time.perf_counter() - t0)
    summary["messages"] = checks + list(result.messages)
    rows = [param_row(p.name, p.value, p.refine, p.min, p.max, esd=p.esd, constraint=p.constraint,
                      linear=p.linear, at_bound=p.at_bound) for p in result.params]
    report = fit_report(result, summary, request.title)
    return FitOutcome(problem=problem, result=result, rows=rows, defaults=defaults, summary=summary,
                      parts=parts, report=report, databases=request.databases,
                      seconds=time.perf_counter() - t0)
