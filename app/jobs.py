"""Core calls the workers run: warm-up, build + compute, demos, refinements. No Qt, no widgets.

Every function takes ``progress`` and ``cancel`` callables (the core's convention) and returns
plain results; the core packages are imported lazily, so the window starts while they land.
"""

from __future__ import annotations

import html
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from nanotwin_core.errors import NanotwinError

LIVE_ATOM_LIMIT = 20_000  # atoms: live (slider-driven) recomputes stay under ~1 s on one thread
DEFAULT_Q = (0.5, 6.0, 0.002)
DEFAULT_WAVELENGTH = 0.565468


class CoreMissing(NanotwinError):
    """A core package the GUI needs is not installed in this version yet."""


def core_missing_message(exc: Exception) -> str:
    """A one-line 'not yet' message for a missing core package."""
    return f"This part of the core is not available in this version yet ({exc})."


def _core():
    try:
        from nanotwin_core.builder import build_crystal  # noqa: F401
        from nanotwin_core.scattering import compute_histograms, debye_intensity  # noqa: F401
        from nanotwin_core.structures.library import get_structure  # noqa: F401
    except ImportError as exc:
        raise CoreMissing(core_missing_message(exc)) from exc


def list_structure_names() -> list[str]:
    """Built-in structure names (the INTERFACES list when the library has not landed yet)."""
    try:
        from nanotwin_core.structures.library import list_structures

        names = list(list_structures())
        return [getattr(n, "name", str(n)) for n in names]
    except ImportError:
        out = []
        for x in ("Cl", "Br", "I"):
            out += [f"CsPb{x}3-{p}" for p in ("alpha", "alpha-split", "beta", "gamma")]
        return [*out, "CsPbI3-delta", "CsPbBr3-gamma-410K"]


def get_structure(name: str):
    """A built-in structure (CoreMissing while the library is absent)."""
    try:
        from nanotwin_core.structures.library import get_structure as core_get
    except ImportError as exc:
        raise CoreMissing(core_missing_message(exc)) from exc
    return core_get(name)


def tiny_crystal():
    """A 2 x 2 x 2 cubic CsPbBr3 crystal made by hand (for warm-up and tests)."""
    from nanotwin_core.crystal import LatticeContent, LatticeDescription, crystal_from_lattice

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
    try:
        from nanotwin_core.scattering import compute_histograms, debye_intensity
    except ImportError as exc:
        raise CoreMissing(core_missing_message(exc)) from exc
    t0 = time.perf_counter()
    hist = compute_histograms(tiny_crystal(), n_threads=1, cancel=cancel)
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


def _n_pairs(hist) -> int | None:
    n = getattr(hist, "n_pairs", None)
    try:
        return int(np.sum(n)) if n is not None else None
    except (TypeError, ValueError):
        return None


def build_and_compute(
    settings,
    structure=None,
    *,
    q_range: tuple[float, float, float] = DEFAULT_Q,
    wavelength: float = DEFAULT_WAVELENGTH,
    n_threads: int | None = None,
    progress: Callable | None = None,
    cancel: Callable | None = None,
) -> ComputeResult:
    """Build the model of ``settings`` (a ModelSettings) and compute its pattern(s)."""
    _core()
    from nanotwin_app.plots.ticks import pseudocubic_a_of_structure

    from nanotwin_core.builder import build_crystal
    from nanotwin_core.demos import default_adp
    from nanotwin_core.errors import Cancelled
    from nanotwin_core.scattering import compute_histograms, debye_intensity
    from nanotwin_core.scattering.radiation import XRay

    t0 = time.perf_counter()
    if structure is None:
        structure = get_structure(settings.structure)
    lo, hi, step = q_range
    q = np.arange(lo, hi + step / 2, step)
    radiation = XRay(wavelength=wavelength)
    b_iso = default_adp(structure)
    size_kw = (
        {"size_ab_nm": settings.size_ab_nm, "size_c_nm": settings.size_c_nm}
        if settings.shape == "prism"
        else {"size_nm": settings.size_nm}
    )
    twins = tuple(settings.twins)
    models: list[tuple[str, tuple[str, ...]]] = []
    if twins and settings.compare_untwinned:
        models.append(("untwinned", ()))
    models.append((("twinned: " + ", ".join(twins)) if twins else "untwinned", twins))
    curves: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    crystal = None
    pairs = 0
    histograms = {}
    for i, (label, laws) in enumerate(models):
        if cancel is not None and cancel():
            raise Cancelled("cancelled")
        if progress:
            progress(f"building {label}")
        crystal = build_crystal(
            structure, shape=settings.shape, **size_kw, twins=laws,
            boundaries=settings.boundaries if laws else None,
            domain_size_nm=settings.domain_size_nm if laws else None, seed=settings.seed,
        )
        if progress:
            progress(f"pair distances: {label} ({crystal.n_atoms:,} atoms)")

        def frac_progress(f: float, i: int = i) -> None:
            if progress:
                progress((i + float(f)) / len(models))

        hist = compute_histograms(crystal, n_threads=n_threads, progress=frac_progress, cancel=cancel)
        pairs += _n_pairs(hist) or 0
        histograms[label] = hist
        curves[label] = (q, debye_intensity(hist, q, b_iso=b_iso, radiation=radiation))
    info = {k: v for k, v in (crystal.info or {}).items() if k != "boundaries"}
    return ComputeResult(
        crystal=crystal, curves=curves, n_pairs=pairs or None, seconds=time.perf_counter() - t0,
        a_p=pseudocubic_a_of_structure(structure), info=info, wavelength=wavelength,
        title=f"{getattr(structure, 'name', 'model')}: {settings.shape}", histograms=histograms,
    )


def run_demo(name: str, progress: Callable | None = None, cancel: Callable | None = None) -> ComputeResult:
    """Compute a core demo and build the crystal of its most twinned model for the viewer."""
    _core()
    from nanotwin_app.plots.ticks import pseudocubic_a_of_structure

    from nanotwin_core.builder import build_crystal
    from nanotwin_core.demos import compute_demo, get_demo

    t0 = time.perf_counter()
    demo = get_demo(name)
    result = compute_demo(demo, progress=progress, cancel=cancel)
    spec = demo_view_model(demo)
    structure = get_structure(spec.structure)
    if progress:
        progress(f"building {spec.label} for the 3D view")
    crystal = build_crystal(
        structure, shape="prism", size_ab_nm=spec.size_ab_nm, size_c_nm=spec.size_c_nm,
        twins=spec.twins, boundaries=spec.boundaries, domain_size_nm=spec.domain_size_nm,
        seed=spec.seeds[0],
    )
    crystal.info.setdefault("label", spec.label)
    pairs = sum(int(info.get("n_pairs", 0) or 0) for info in result.info.values())
    return ComputeResult(
        crystal=crystal,
        curves={label: (result.q, y) for label, y in result.intensities.items()},
        caption=(f"<b>{html.escape(demo.title)}</b><br>{html.escape(demo.caption)} "
                 f"<i>3D view: {html.escape(spec.label)}.</i>"),
        title=demo.title, n_pairs=pairs or None, seconds=time.perf_counter() - t0,
        a_p=pseudocubic_a_of_structure(structure), info=dict(result.info), wavelength=demo.wavelength,
    )


def demo_view_model(demo):
    """The model a demo shows in the 3D view and puts in the model dock: its last twinned one
    (the most twinned in every built-in demo), else its last."""
    return next((m for m in reversed(demo.models) if m.twinned), demo.models[-1])


# ================================================================================ refinement
FIT_CHOICES = ("scale", "background", "adp", "size", "expansion", "zero", "fractions", "twin")
SIZE_NAMES = ("Dab_nm", "sab", "Lc_nm", "sc", "D_nm", "sD")
ITERATION_INTERVAL_S = 0.3  # the live curve and Rwp/GoF are sent at most this often


def param_category(name: str) -> str:
    """Which refine choice a parameter belongs to: adp, size, scale, background, ... ."""
    if name.startswith("B_"):
        return "adp"
    if name.split("_nm")[0] in ("Dab", "Lc", "D") or name.split("_")[0] in ("sab", "sc", "sD"):
        return "size"
    if name == "scale":
        return "scale"
    if name.startswith("scale_"):
        return "fractions"
    if name.startswith("bkg_"):
        return "background"
    return name  # expansion, zero, blank


def param_row(name: str, value: float, refine: bool, lo: float | None, hi: float | None, *,
              esd: float | None = None, constraint: str | None = None, linear: bool = False,
              at_bound: str | None = None) -> dict:
    """One row of the refinement table (plain JSON values; None = unbounded / no esd)."""
    def bound(b):
        return None if b is None or not np.isfinite(b) else float(b)

    return {"name": name, "value": float(value), "refine": bool(refine), "min": bound(lo), "max": bound(hi),
            "esd": None if esd is None or not np.isfinite(esd) else float(esd), "constraint": constraint,
            "linear": bool(linear), "at_bound": at_bound, "category": param_category(name)}


def preview_rows(model, settings, x_kind: str, structure=None) -> list[dict]:
    """The parameters ``prepare_fit`` will create, without building the size database.

    Same names, start values and bounds as ``nanotwin_core.refine.dse_fit.prepare_fit`` (single
    population; mixtures appear after the first run).
    """
    from nanotwin_core.builder.shape_kinds import get_shape
    from nanotwin_core.refine.size_grids import size_parameters

    if structure is None:
        structure = get_structure(model.structure)
    refine = set(settings.refine)
    site_b = {s.adp_group: s.b_iso for s in structure.sites}
    rows = [param_row(f"B_{g}", model.adp.get(g, site_b[g]), "adp" in refine, 0.0, 40.0)
            for g in sorted(site_b)]
    if model.population is not None:
        kind = "bivariate" if get_shape(model.shape).bivariate else "univariate"
        rows += [param_row(p.name, p.value, p.refine, p.min, p.max)
                 for p in size_parameters(model.population, kind, "", "size" in refine)]
    rows.append(param_row("expansion", 0.0, "expansion" in refine, -0.05, 0.05))
    if x_kind == "tth":
        rows.append(param_row("zero", 0.0, "zero" in refine, -0.5, 0.5))
    rows.append(param_row("scale", 0.0, "scale" in refine, 0.0, None, linear=True))
    if settings.background_order is not None:
        rows += [param_row(f"bkg_{k}", 0.0, "background" in refine, None, None, linear=True)
                 for k in range(settings.background_order + 1)]
    return rows


def fit_key(model, settings, data, structure=None) -> str:
    """What the size database of a fit depends on: equal keys = the prepared problem is reused."""
    import json

    d = model.to_dict()
    d.pop("adp", None)  # start B values do not change the database
    s = {k: getattr(settings, k) for k in ("refine", "background_order", "q_range", "tth_range",
                                            "polarization", "caglioti", "grid_tol", "max_nfev")}
    return json.dumps({"model": d, "settings": s, "data": id(data), "structure": id(structure),
                       "blank": id(settings.blank)}, sort_keys=True, default=str)


@dataclass
class FitRequest:
    """Everything a refinement worker needs (built on the GUI thread, read-only in the worker)."""

    model: object  # nanotwin_core.model.Model
    data: object  # PatternData (with a wavelength for 2theta data)
    settings: object  # FitSettings
    rows: list[dict]  # the table: start values, refine flags, bounds, constraints
    structure: object | None = None  # an imported Structure, else the model's by name
    problem: object | None = None  # a prepared problem with the same fit_key, reused
    databases: dict | None = None  # the workspace's size databases by fingerprint (read and added to)
    key: str = ""
    title: str = "Refinement"


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
    key: str
    rows: list[dict]
    summary: dict  # the ``nanotwin fit --json`` dict
    y_calc: np.ndarray  # on the data grid
    background: np.ndarray  # on the data grid
    mask: np.ndarray
    report: str  # Markdown
    seconds: float


def apply_rows(problem, rows: list[dict]) -> None:
    """Put the table's start values, refine flags, bounds and constraints into a prepared problem.

    Linear coefficients (scale, bkg_k) are solved in every evaluation unless the row is not
    refined or fixed: then they are held at the row's value.
    """
    import math

    from nanotwin_core.refine.parameters import Parameter

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
                params.append(Parameter(name, float(row["value"]), False, 0.0 if linear[name] else lo, hi,
                                      constraint="fixed"))
    params.resolve()


def _calc(problem, values: dict[str, float]) -> tuple[np.ndarray, np.ndarray]:
    """(y_calc, background + blank) on the data grid for parameter values incl. the linear
    coefficients (the core's ``fit_parts``)."""
    from nanotwin_core.actions import fit_parts

    parts = fit_parts(problem, {**{n: 0.0 for n in problem.linear_names}, **values})
    return parts.total, parts.background + (parts.blank if parts.blank is not None else 0.0)


def run_refinement(request: FitRequest, progress: Callable | None = None,
                   cancel: Callable | None = None) -> FitOutcome:
    """Prepare (or reuse) the fit problem, apply the table, refine with live reports.

    ``progress`` receives fractions and messages while the size database is built, then
    ``FitProgress`` reports; ``cancel()`` is polled at every model evaluation.
    """
    from nanotwin_core.refine.dse_fit import population_summary, prepare_fit
    from nanotwin_core.refine.report import markdown_report, population_markdown, result_json

    t0 = time.perf_counter()
    problem = request.problem
    if problem is None:
        if progress:
            progress("building the size database…")

        def db_progress(fraction: float, _message: str = "") -> None:
            if progress:
                progress(float(fraction))

        problem = prepare_fit(request.model, request.data, request.settings, structure=request.structure,
                              progress=db_progress, cancel=cancel, databases=request.databases)
    else:
        problem.params = problem.start_params.copy()
    apply_rows(problem, request.rows)
    if progress:
        progress("refining…")
    y, sigma, mask = request.data.y, request.data.sigma_used, problem.mask
    w2 = 1.0 / sigma[mask] ** 2
    state = {"n": 0, "last": -1e9}

    def on_iteration(values: dict[str, float], rwp: float) -> None:
        state["n"] += 1
        now = time.perf_counter()
        if progress is None or now - state["last"] < ITERATION_INTERVAL_S:
            return
        state["last"] = now
        yc, _bkg = _calc(problem, values)
        n_par = len(problem.params.free_names())
        chi2 = float(np.sum(w2 * (y[mask] - yc[mask]) ** 2))
        gof = float(np.sqrt(chi2 / max(int(mask.sum()) - n_par, 1)))
        progress(FitProgress(state["n"], float(rwp), gof, yc, dict(values), mask))

    result = problem.run(callback=on_iteration, cancel=cancel)
    values = {p.name: p.value for p in result.params}
    y_calc, background = _calc(problem, values)
    populations = population_summary(problem, result)
    summary = result_json(result, populations)
    summary["model"] = request.model.to_dict()
    summary["data"] = {"path": str(request.data.path), "x_kind": request.data.x_kind,
                       "wavelength": request.data.wavelength}
    summary["seconds"] = time.perf_counter() - t0
    summary["messages"] = list(result.messages)
    if not request.data.sigma_is_absolute:
        summary["note"] = "the data carry no sigma: GoF and Rexp are not absolute"
    rows = [param_row(p.name, p.value, p.refine, p.min, p.max, esd=p.esd, constraint=p.constraint,
                      linear=p.linear, at_bound=p.at_bound) for p in result.params]
    report = markdown_report(result, title=request.title, data_note=summary.get("note"))
    report += population_markdown(populations)
    return FitOutcome(problem=problem, result=result, key=request.key, rows=rows, summary=summary,
                      y_calc=y_calc, background=background, mask=np.asarray(mask, bool).copy(), report=report,
                      seconds=time.perf_counter() - t0)
