"""What the command line and the window do with a ``Model``: the core's entry points.

- ``build_model_crystals(model)``: the crystal(s) of a model (one per seed of a twin network);
- ``compute_pattern(model, x, x_kind=, wavelength=)``: its powder pattern on a Q or 2theta grid
  (one crystal, averaged over seeds, or a size population / mixture);
- ``fit_model(model, data)``: a refinement with the model's ``fit`` and ``instrument`` settings
  (the blank read from ``model.fit.blank``); ``prepare_model_fit`` is its first half (the
  problem before it runs, for callers that edit parameters first);
- ``fit_parts(problem, values)``: a fitted curve split into each population, background, blank;
- ``fit_pdf_model(model, gr_data, settings)``: a G(r) refinement of the model's crystal (or of a
  ladder of spheres when the size is refined), ``pdf_model_of`` its PDF model;
- ``check_model_data(model, data)``: can the model's structures give the data's peaks (Bragg
  positions only, milliseconds: run it before a size database is built; ``refine.model_check``);
- ``data_defaults(model, data)``: the fitted range and start sizes read from the data, with their
  reasons; ``with_defaults`` applies them; ``refit_if_needed`` repeats a fit whose size box or
  automatic range stopped it (``fit_model`` calls it);
- ``estimate_atoms(model)``: atoms of the model's crystal (of its mean crystal for a population).

Everything takes ``progress``/``cancel`` callables where it may run long (the core's
convention: ``progress(fraction, message)``, ``cancel() -> bool``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from nanotwin_core.builder import build_crystal
from nanotwin_core.builder.shape_kinds import get_shape
from nanotwin_core.crystal import Crystal
from nanotwin_core.distributed import Mapper
from nanotwin_core.errors import Cancelled, NanotwinError
from nanotwin_core.io.data import PatternData, read_pattern
from nanotwin_core.model import Model
from nanotwin_core.population.ensemble import ensemble_histograms
from nanotwin_core.refine.auto_start import FitDefaults, first_strong_q, fit_defaults
from nanotwin_core.refine.dse_fit import (
    DSEFitProblem,
    FitSettings,
    mixture_summary,
    population_summary,
    prepare_fit,
)
from nanotwin_core.refine.fit_parts import FitParts, fit_parts
from nanotwin_core.refine.instrument import observed_pattern
from nanotwin_core.refine.model_check import ModelDataCheck, check_model_against_data
from nanotwin_core.refine.occupancy import composition_markdown, fit_composition
from nanotwin_core.refine.report import markdown_report, population_markdown, result_json
from nanotwin_core.refine.size_grids import grown_population, size_global_grid
from nanotwin_core.refine.small_angle_fit import CrystalTable, add_low_q_terms, model_low_q_values
from nanotwin_core.refine.twin_density import grown_domain_size
from nanotwin_core.scattering import PairHistograms, compute_histograms, debye_intensity
from nanotwin_core.scattering.radiation import Radiation
from nanotwin_core.scattering.texture import textured_debye_intensity
from nanotwin_core.structures.adp import resolve_adp, structure_b
from nanotwin_core.structures.files import resolve_structure
from nanotwin_core.structures.structure import Structure

__all__ = ["FitDefaults", "FitParts", "ModelDataCheck", "ModelPattern", "build_model_crystal",
           "build_model_crystals", "check_model_data", "compute_pattern", "data_defaults", "estimate_atoms",
           "fit_model", "fit_parts", "fit_pdf_model", "fit_pdf_model_ranges", "fit_report", "fit_settings",
           "fit_summary",
           "model_sizes", "pdf_model_of", "prepare_model_fit", "refit_if_needed", "seed_histograms",
           "with_defaults"]

Progress = Callable[[float, str], None]


def model_sizes(model: Model) -> dict[str, float]:
    """The crystal sizes (nm) by Model attribute: the single crystal's, or a population's
    number-based means (Dab, Lc or D) for its representative crystal."""
    kind = get_shape(model.shape)
    if model.population is None:
        sizes = dict(model.sizes())
        if kind.bivariate and sizes["size_ab_nm"] is None and sizes["size_c_nm"] is None:
            sizes["size_ab_nm"] = sizes["size_c_nm"] = sizes["size_nm"]
        return kind.check_sizes(sizes)
    pop = model.population
    if kind.bivariate:
        return {"size_ab_nm": float(pop.Dab), "size_c_nm": float(pop.Lc)}
    return {kind.size_attrs[0]: float(pop.D)}


def build_model_crystals(
    model: Model,
    *,
    structure: Structure | None = None,
    seeds: Sequence[int] | None = None,
    cancel: Callable[[], bool] | None = None,
    **build_options,
) -> list[Crystal]:
    """The model's crystal for every seed of its boundary network (one crystal when untwinned).

    A population model gives its representative crystal (the number-based mean sizes).
    ``structure`` overrides the model's; ``seeds`` the model's seeds; other keywords go to
    ``build_crystal`` (e.g. ``lattice="sublattice"``, ``max_atoms``).
    """
    model.validate()
    structure = model.load_structure() if structure is None else structure
    seeds = list(model.seeds if seeds is None else seeds)
    if not model.twins:
        seeds = seeds[:1]
    out = []
    for seed in seeds:
        if cancel is not None and cancel():
            raise Cancelled("crystal build cancelled")
        out.append(build_crystal(
            structure, shape=model.shape, twins=tuple(model.twins), boundaries=model.boundaries,
            domain_size_nm=model.domain_size_nm, seed=seed, coherent_element=model.coherent_element,
            allow_incoherent=model.allow_incoherent, **model_sizes(model), **model.surface_options(),
            **build_options))
    return out


def build_model_crystal(model: Model, *, seed: int | None = None, structure: Structure | None = None,
                        **build_options) -> Crystal:
    """One crystal of the model (its first seed unless ``seed`` is given)."""
    seeds = None if seed is None else [seed]
    return build_model_crystals(model, structure=structure, seeds=seeds, **build_options)[0]


@dataclass
class ModelPattern:
    """A model's powder pattern: ``intensity`` on ``x`` (Q in 1/Å or 2theta in degrees).

    ``q``: Q of every point (zero shift applied); ``radiation``: the one used (wavelength filled
    in); ``b_iso``: B (Å^2) used per ADP group; ``histograms``: the (seed-averaged) pair
    histograms of a single-crystal model (None for populations); ``crystal``: its last crystal;
    ``info``: atoms, pairs, seconds, population grid; ``messages``: notes for headers.
    """

    x: np.ndarray
    x_kind: str
    q: np.ndarray
    intensity: np.ndarray
    radiation: Radiation
    b_iso: dict[str, float]
    histograms: PairHistograms | None = None
    crystal: Crystal | None = None
    info: dict = field(default_factory=dict)
    messages: list[str] = field(default_factory=list)


def compute_pattern(
    model: Model,
    x: np.ndarray,
    *,
    x_kind: str = "q",
    wavelength: float | None = None,
    structure: Structure | None = None,
    n_threads: int | None = None,
    progress: Progress | None = None,
    cancel: Callable[[], bool] | None = None,
    databases: MutableMapping | None = None,
    mapper: Mapper | None = None,
) -> ModelPattern:
    """The model's pattern on ``x`` (Q in 1/Å, or 2theta in degrees with a wavelength).

    Single crystals: exact Debye sums of the pair histograms (averaged over the seeds of a twin
    network, or the exact average over every random network with ``model.ensemble``; the crystal
    returned is then one realisation, for pictures). Populations and mixtures: the number-weighted
    mean pattern per crystal from the per-size Debye sums the fits use (``databases``: a cache of
    them). B: ``model.adp`` by group or element, else the structure's own B. 2theta grids: zero
    shift, polarization and the Caglioti resolution of ``model.instrument`` (convolved over a
    padded grid). ``mapper`` (``nanotwin_core.distributed``): a cluster's mapper runs the seeds of
    a twin network, or the per-size crystals of a population, as tasks (same numbers); None = here.
    """
    model.validate()
    if x_kind not in ("q", "tth"):
        raise NanotwinError(f"x_kind must be 'q' or 'tth', got {x_kind!r}")
    x = np.asarray(x, dtype=float)
    wavelength = wavelength if wavelength is not None else model.radiation.beam_wavelength
    if x_kind == "tth" and wavelength is None:
        raise NanotwinError("a 2theta grid needs a wavelength (Å) or an X-ray energy")
    radiation = model.radiation.with_wavelength(wavelength)
    structure = model.load_structure() if structure is None else structure
    t0 = time.perf_counter()
    if model.population is not None or model.components:
        return _population_pattern(model, x, x_kind, wavelength, structure, radiation, progress, cancel,
                                   databases, t0, mapper)
    b_iso = resolve_adp(model.adp, *model.adp_groups(structure),
                        where=structure.name)
    if model.ensemble:  # the exact average over random networks; the crystal: one realisation
        crystals = build_model_crystals(model, structure=structure, seeds=model.seeds[:1], cancel=cancel)
        hists = [ensemble_histograms(
            structure, tuple(model.twins), model.domain_size_nm, shape=model.shape,
            coherent_element=model.coherent_element, n_threads=n_threads, cancel=cancel,
            progress=None if progress is None else (lambda f: progress(f, "ensemble pair distances")),
            **model_sizes(model))]
    elif mapper is not None and mapper.distributed:
        seeds = list(model.seeds) if model.twins else list(model.seeds)[:1]
        done = mapper.map(seed_histograms, seeds, shared={"model": model, "structure": structure},
                          progress=progress, cancel=cancel, label="realisation")
        crystals, hists = [c for c, _ in done], [h for _, h in done]
    else:
        crystals = build_model_crystals(model, structure=structure, cancel=cancel)
        hists = []
        for i, crystal in enumerate(crystals):
            def crystal_progress(f: float, i: int = i) -> None:
                if progress is not None:
                    progress((i + f) / len(crystals), f"pair distances {i + 1}/{len(crystals)}")

            hists.append(compute_histograms(crystal, n_threads=n_threads, progress=crystal_progress,
                                            cancel=cancel))
    hist = hists[0] if len(hists) == 1 else PairHistograms.combine([(1 / len(hists), h) for h in hists])
    def intensity_at(q: np.ndarray) -> np.ndarray:
        options = dict(b_iso=b_iso, radiation=radiation, exclude=model.excluded_pairs(),
                       occupancy=model.occupancy)
        if model.texture is not None:
            out = textured_debye_intensity(hist, q, structure=structure, axis=model.texture.axis,
                                           ratio=model.texture.ratio, **options)
        else:
            out = debye_intensity(hist, q, **options)
        if low_q:
            out = add_low_q_terms(out, q, database=CrystalTable.of(hist, crystals[-1]), weights=np.ones(1),
                                  values=low_q, radiation=radiation, occupancy=model.occupancy,
                                  structure=structure, kind=None)
        return out

    low_q = model_low_q_values(model)
    if x_kind == "tth":  # zero shift, polarization and resolution of the model's instrument
        intensity, q = observed_pattern(x, wavelength, model.instrument, intensity_at)
    else:
        q, intensity = x, intensity_at(x)
    sizes = {k: v for k, v in crystals[-1].info.items() if k in ("D_ab_nm", "L_c_nm", "size_nm", "D_eq_nm")}
    info = {"n_atoms": int(crystals[-1].n_atoms), "n_pairs": float(sum(h.n_pairs for h in hists)),
            "seeds": 0 if model.ensemble else len(crystals), "ensemble": bool(model.ensemble),
            "seconds": time.perf_counter() - t0, **sizes}
    return ModelPattern(x=x, x_kind=x_kind, q=q, intensity=intensity, radiation=radiation,
                        b_iso=b_iso, histograms=hist, crystal=crystals[-1], info=info)


def seed_histograms(seed: int, *, model: Model, structure: Structure,
                    cancel: Callable[[], bool] | None = None) -> tuple[Crystal, PairHistograms]:
    """(crystal, pair histograms) of one boundary-network realisation (``seed``) of the model:
    a task of ``compute_pattern`` on a cluster."""
    crystal = build_model_crystal(model, seed=seed, structure=structure)
    return crystal, compute_histograms(crystal, cancel=cancel)


def _population_pattern(model, x, x_kind, wavelength, structure, radiation, progress, cancel, databases,
                        t0, mapper) -> ModelPattern:
    """A population or mixture pattern through the fits' size databases (no data, nothing refined)."""
    grid_data = PatternData(x=x, y=np.zeros(len(x)), x_kind=x_kind, wavelength=wavelength)
    ins = model.instrument
    settings = FitSettings(refine=("scale",), background_order=None,
                           polarization=None if ins.polarization == "none" else ins.polarization,
                           caglioti=ins.caglioti, zero=ins.zero, lorentzian=ins.lorentzian,
                           kalpha2=ins.kalpha2, lambda2=ins.lambda2)
    problem = prepare_fit(model, grid_data, settings, structure=structure, progress=progress, cancel=cancel,
                          databases=databases, mapper=mapper)
    values = {p.name: p.value for p in problem.params}
    intensity = problem.basis(values)[:, 0]
    b_iso = {k[2:]: v for k, v in values.items() if k.startswith("B_")}

    class _Start:  # population_summary reads the parameters; no fit ran, so no covariance
        params = problem.params
        covariance = None

    info = {"n_sizes": int(problem.database.n_sizes), "intensity_fraction_out": float(problem.grid_out),
            "populations": population_summary(problem, _Start()), "seconds": time.perf_counter() - t0}
    return ModelPattern(x=x, x_kind=x_kind, q=problem.q_model(values), intensity=intensity,
                        radiation=radiation, b_iso=b_iso, info=info, messages=list(problem.messages))


def prepare_model_fit(
    model: Model,
    data: PatternData,
    *,
    blank_x_kind: str | None = None,
    structure: Structure | None = None,
    progress: Progress | None = None,
    cancel: Callable[[], bool] | None = None,
    databases: MutableMapping | None = None,
    mapper: Mapper | None = None,
) -> DSEFitProblem:
    """The fit problem of ``model`` against ``data`` (its size database and parameters, nothing
    refined yet): settings from ``model.fit`` and ``model.instrument``, the blank
    (``model.fit.blank``) read here (``blank_x_kind``: its axis when the file does not say; its
    wavelength: the one its header or file name states, else the data's, so a blank of another
    wavelength is put on the data grid at equal Q). ``problem.run(callback=, cancel=)`` refines;
    a caller may set parameter values, bounds and constraints in ``problem.params`` first (the
    window's table does). ``mapper``: where the per-size crystals of a database build run
    (``nanotwin_core.distributed``; None = here).
    """
    settings = fit_settings(model, data, blank_x_kind=blank_x_kind)
    return prepare_fit(model, data, settings, progress=progress, cancel=cancel, structure=structure,
                       databases=databases, mapper=mapper)


def check_model_data(model: Model, data: PatternData, *,
                     structure: Structure | None = None) -> ModelDataCheck:
    """Whether the reflections of the model's structure (and of its mixture components') lie where
    the data's strong peaks are, and the data show its strong reflections (``refine.model_check``;
    ``.messages`` empty when they do). Needs Q: 2theta data with a wavelength."""
    structure = model.load_structure() if structure is None else structure
    structures = [structure] + [resolve_structure(c.structure, c.cif) for c in model.components
                                if c.structure or c.cif]
    names = list(dict.fromkeys(s.name for s in structures))
    keep = np.asarray(data.mask, bool) & np.isfinite(data.y)
    return check_model_against_data(structures, data.q()[keep], data.y[keep], data.sigma_used[keep],
                                    label=f"the {' + '.join(names)} {model.shape} model")


def data_defaults(
    model: Model,
    data: PatternData,
    *,
    choose_range: bool = True,
    choose_population: bool = True,
    blank_x_kind: str | None = None,
    structure: Structure | None = None,
) -> FitDefaults:
    """The fitted range and start population read from ``data`` for ``model`` (rules and reasons:
    ``refine.auto_start``); ``with_defaults`` puts them into a model."""
    blank = fit_settings(model, data, blank_x_kind=blank_x_kind).blank
    return fit_defaults(model, data, structure=structure, blank=blank, choose_range=choose_range,
                        choose_population=choose_population)


def with_defaults(model: Model, defaults: FitDefaults) -> Model:
    """A copy of ``model`` fitting ``defaults.q_range`` from ``defaults.population`` (when given)."""
    fit = replace(model.fit, q_range=defaults.q_range, tth_range=None)
    population = defaults.population if defaults.population is not None else model.population
    size = {} if defaults.population is None else {"size_nm": None, "size_ab_nm": None, "size_c_nm": None}
    return replace(model, fit=fit, population=population, **size).validate()


MAX_GROWTH = 2  # times a fit's size box may move to where the fit left it


def fit_model(
    model: Model,
    data: PatternData,
    *,
    blank_x_kind: str | None = None,
    structure: Structure | None = None,
    progress: Progress | None = None,
    callback: Callable[[dict[str, float], float], None] | None = None,
    cancel: Callable[[], bool] | None = None,
    databases: MutableMapping | None = None,
    global_grid: Mapping[str, Sequence[float]] | None = None,
    start: Mapping[str, float] | None = None,
    mapper: Mapper | None = None,
    global_start: bool = False,
    global_time: float | None = 60.0,
    grow: bool = True,
    auto_range: bool = False,
) -> tuple[DSEFitProblem, object]:
    """Refine ``model`` against ``data`` with ``model.fit`` and ``model.instrument``
    (:func:`prepare_model_fit`, then ``problem.run``), then :func:`refit_if_needed`.

    Returns (problem, FitResult) of the last fit; ``fit_parts(problem, values)`` splits the curve.
    ``databases``: size databases to reuse and add to. ``start``: start values by parameter name
    (e.g. the previous fit of a series; kept inside each parameter's bounds, names the fit does
    not have ignored). ``mapper``: see :func:`prepare_model_fit`. ``global_grid``: start values
    searched first; ``global_start``: search a coarse grid of the size parameters within their
    limits (``refine.size_grids.size_global_grid``), stopping after ``global_time`` seconds with
    the best point so far (progress as "global start").
    """
    problem = prepare_model_fit(model, data, blank_x_kind=blank_x_kind, structure=structure,
                                progress=progress, cancel=cancel, databases=databases, mapper=mapper)
    for name, value in (start or {}).items():
        if name in problem.params and name not in problem.linear_names:
            prm = problem.params[name]
            prm.value = float(min(max(float(value), prm.min), prm.max))
    if global_start and not global_grid:
        global_grid = size_global_grid(problem.params)
    result = problem.run(callback=callback, cancel=cancel, global_grid=global_grid, global_time=global_time,
                         progress=progress)
    return refit_if_needed(problem, result, blank_x_kind=blank_x_kind, structure=structure, progress=progress,
                           callback=callback, cancel=cancel, databases=databases, mapper=mapper, grow=grow,
                           auto_range=auto_range)


def refit_if_needed(
    problem: DSEFitProblem,
    result,
    *,
    blank_x_kind: str | None = None,
    structure: Structure | None = None,
    progress: Progress | None = None,
    callback: Callable[[dict[str, float], float], None] | None = None,
    cancel: Callable[[], bool] | None = None,
    databases: MutableMapping | None = None,
    mapper: Mapper | None = None,
    grow: bool = True,
    auto_range: bool = False,
    prepare: Callable[[DSEFitProblem], None] | None = None,
) -> tuple[DSEFitProblem, object]:
    """Fit again where the first fit says its set-up stopped it, and say so in the result:

    - ``grow``: a size parameter ended at a limit of its box (``size_grids.grown_population``), or
      the twin-domain size at a limit of its twin-density box (``twin_density.grown_domain_size``):
      the box moves there (a new grid or database) and the fit repeats, at most ``MAX_GROWTH`` times;
    - ``auto_range`` (the range was chosen from the data): data above the model at the low-Q
      end (``diagnostics.low_q_excess``) that ends below the first strong reflection (a halo the
      model lacks, not its own peaks): the range starts where that excess ends, once.

    B values start from the last fit's; ``prepare(problem)`` runs on every new problem before it
    is refined (the window puts its table's fixed parameters, bounds and constraints back).
    Returns the last (problem, FitResult).
    """
    notes: list[str] = []
    for round_ in range(MAX_GROWTH + 1):
        model = problem.model
        change = {}
        if grow and round_ < MAX_GROWTH and model.population is not None and not model.components:
            grown = grown_population(model.population, problem.population_kind, result.params)
            if grown is not None:
                change["population"], note = grown
                notes.append(note)
        if grow and round_ < MAX_GROWTH:
            domain = grown_domain_size(model, problem.database, result.params,
                                       tuple(problem.settings.twin_density_range))
            if domain is not None:
                change["domain_size_nm"], note = domain
                notes.append(note)
        if auto_range and problem.low_q is not None and not any("range starts" in n for n in notes) \
                and problem.low_q.x_end < first_strong_q(problem.structure, problem.low_q.x_end + 1.0):
            q_hi = model.fit.q_range[1] if model.fit.q_range else float(np.max(problem.q_data))
            change["fit"] = replace(model.fit, q_range=(problem.low_q.x_end, q_hi), tth_range=None)
            notes.append(f"the range starts at Q = {problem.low_q.x_end:.3g} 1/Å, above the low-Q excess "
                         "of the first fit, and the fit was repeated")
        if not change:
            break
        b_fitted = {p.name[2:]: p.value for p in result.params if p.name.startswith("B_")}
        model = replace(model, adp={**model.adp, **b_fitted}, **change)
        problem = prepare_model_fit(model, problem.data, blank_x_kind=blank_x_kind, structure=structure,
                                    progress=progress, cancel=cancel, databases=databases, mapper=mapper)
        if prepare is not None:
            prepare(problem)
        result = problem.run(callback=callback, cancel=cancel)
    result.messages.extend(notes)
    return problem, result


def fit_settings(model: Model, data: PatternData, *, blank_x_kind: str | None = None) -> FitSettings:
    """The fit settings of ``model`` (``model.fit``, ``model.instrument``) for ``data``, with the
    blank read from ``model.fit.blank`` (see :func:`prepare_model_fit`)."""
    model.validate()
    blank = None
    if model.fit.blank:
        blank = read_pattern(model.fit.blank, x_kind=blank_x_kind)
        if blank.wavelength is None:
            blank.wavelength = data.wavelength
    return FitSettings.from_model(model, blank)


def fit_summary(model: Model, data: PatternData, problem: DSEFitProblem, result, seconds: float) -> dict:
    """The single-fit ``--json`` dict (INTERFACES.md): figures of merit, parameters with esds,
    populations, the model, the data's path/axis/wavelength, seconds, mixture, the refined
    composition (occupancies or a termination) and notes."""
    summary = result_json(result, population_summary(problem, result))
    summary["model"] = model.to_dict()
    summary["data"] = {"path": str(data.path), "x_kind": data.x_kind, "wavelength": data.wavelength}
    summary["seconds"] = seconds
    if problem.is_mixture:
        summary["mixture"] = mixture_summary(problem, result)
    composition = fit_composition(problem, result)
    if composition:
        summary["composition"] = composition
    if not data.sigma_is_absolute:
        summary["note"] = "the data carry no sigma: GoF and Rexp are not absolute"
    return summary


def fit_report(result, summary: dict, title: str, robustness=None) -> str:
    """The Markdown report of a pattern fit (``nanotwin fit --report``, the window's Export
    report): figures of merit, parameters, sizes, the refined composition and, when given, the
    robustness refits; ``summary`` is :func:`fit_summary`'s."""
    text = markdown_report(result, title=title, data_note=summary.get("note")) \
        + population_markdown(summary.get("populations", [])) \
        + composition_markdown(summary.get("composition", {}))
    return text + (robustness.markdown() if robustness is not None else "")


def estimate_atoms(model: Model, structure: Structure | None = None) -> int:
    """Atoms of the model's crystal (a population: of its crystal at the mean sizes), from the
    shape's volume and the structure's atom density; no crystal is built."""
    structure = model.load_structure() if structure is None else structure
    return int(round(get_shape(model.shape).estimate_atoms(structure, model_sizes(model))))


def pdf_model_of(model: Model, *, refine: Sequence[str], qmin: float, qmax: float,
                 structure: Structure | None = None, n_threads: int | None = None, weights: str = "fq",
                 radiation: Radiation | str | None = None, **build_options):
    """The PDF model (``refine.pdf_fit.PDFModel``) of ``model`` for a G(r) fit refining ``refine``:
    refining ``size`` needs a sphere of ``size_nm`` (a ladder of spheres around it); an ensemble
    model (twin laws, domain size, ``ensemble``) gives the exact ensemble of its twin networks
    (``refine.pdf_twins``; refining ``twin_density`` needs it); else the model's crystal
    (``build_options`` go to the builder, e.g. ``max_atoms``). The coherent element is the
    model's where the structure holds it, else its first site's element. ``weights``: "fq" or
    "constant" (``refine.pdf_model``); ``radiation``: the model's kind by default.
    Returns (PDFModel, start B per ADP group)."""
    from nanotwin_core.refine.pdf_fit import PDFModel, model_from_crystal, sphere_ladder
    from nanotwin_core.refine.pdf_twins import ensemble_pdf_model

    if model.texture is not None:
        raise NanotwinError("texture is not available for PDF (G(r)) fits yet: remove the texture "
                            "(a PDF is measured in transmission on a random powder)")
    structure = model.load_structure() if structure is None else structure
    elements = {s.element for s in structure.sites}
    coherent = model.coherent_element if model.coherent_element in elements else structure.sites[0].element
    kind = model.radiation.kind if radiation is None else radiation
    common = {"qmin": qmin, "qmax": qmax, "radiation": kind, "weights": weights}
    if "twin_density" in refine and not model.ensemble:
        raise NanotwinError("refining twin_density in a PDF fit refines the mean domain size of the "
                            "exact ensemble: give twin laws, a domain size and ensemble (--twin LAW "
                            "--domain-size NM --ensemble)")
    if model.ensemble:
        if "size" in refine:
            raise NanotwinError("refining size in a PDF fit of an ensemble: only untwinned spheres "
                                "refine size")
        pdf = ensemble_pdf_model(structure, tuple(model.twins), model.domain_size_nm, shape=model.shape,
                                 coherent_element=coherent, refine_density="twin_density" in refine,
                                 n_threads=n_threads, baseline=True, **model_sizes(model), **common)
        return pdf, structure_b(structure)
    if "size" in refine:
        size = model.size_nm if model.population is None else model.population.D
        if model.shape != "sphere" or size is None or model.twins:
            raise NanotwinError("refining size in a PDF fit needs an untwinned sphere of a given size "
                                "(shape sphere, size in nm)")
        def ladder(size_nm: float):
            return sphere_ladder(structure, float(size_nm), coherent_element=coherent, n_threads=n_threads)

        return PDFModel(ladder(size), baseline=True, ladder=ladder, **common), structure_b(structure)
    single = replace(model, coherent_element=coherent, population=None, components=[])
    crystal = build_model_crystal(single, structure=structure, **build_options)
    return (model_from_crystal(crystal, n_threads=n_threads, baseline=True, **common),
            structure_b(structure))


def _prepared_pdf_model(model: Model, data, settings, structure, cancel):
    """(PDFModel, start B, qmin, qmax) of a G(r) fit: the Q window from the settings or the data."""
    from nanotwin_core.refine.pdf_fit import window_from_data

    settings.check()
    qmin, qmax = window_from_data(data, settings)
    pdf_model, start_b = pdf_model_of(model, refine=settings.refine, qmin=qmin, qmax=qmax,
                                      structure=structure)
    if cancel is not None and cancel():
        raise Cancelled("PDF fit cancelled")
    return pdf_model, start_b, qmin, qmax


def fit_pdf_model(model: Model, data, settings, *, structure: Structure | None = None,
                  callback: Callable[[dict[str, float], float], None] | None = None,
                  cancel: Callable[[], bool] | None = None,
                  curve_callback: Callable[[np.ndarray, np.ndarray], None] | None = None):
    """Refine ``model`` against a measured G(r) (``io.data.PDFData``) over ``settings``' r range
    (``refine.pdf_fit.PDFFitSettings``; Qmin/Qmax from the settings, else the data's header).
    ``curve_callback(r, g_calc)`` gets the current curve at every report. Returns the
    ``PDFFitOutcome``."""
    from nanotwin_core.refine.pdf_fit import fit_pdf

    pdf_model, start_b, _qmin, _qmax = _prepared_pdf_model(model, data, settings, structure, cancel)
    return fit_pdf(data, pdf_model, settings, start_b=start_b, callback=callback, cancel=cancel,
                   curve_callback=curve_callback)


def fit_pdf_model_ranges(model: Model, data, settings, ranges: Sequence[tuple[float, float]], *,
                         structure: Structure | None = None,
                         callback: Callable[[dict[str, float], float], None] | None = None,
                         cancel: Callable[[], bool] | None = None,
                         curve_callback: Callable[[np.ndarray, np.ndarray], None] | None = None):
    """Range-resolved G(r) fits (one independent refinement per (rmin, rmax) in Å, as the
    paper's 1.5-26 and 26-70 Å) of ``model``, the PDF model built once. Returns (PDFModel,
    [RangeFit], qmin, qmax)."""
    from nanotwin_core.refine.pdf_fit import fit_pdf_ranges

    pdf_model, start_b, qmin, qmax = _prepared_pdf_model(model, data, settings, structure, cancel)
    fits = fit_pdf_ranges(data, pdf_model, settings, ranges, start_b=start_b, callback=callback,
                          cancel=cancel, curve_callback=curve_callback)
    return pdf_model, fits, qmin, qmax
