"""Fit a DSE model (one crystal or a size population) to a powder pattern.

The observed pattern is modelled as

    y(x) = scale * P(2theta) * [R (x) I_pop](Q(x - zero)) + sum_k b_k T_k(x) + c_blank * blank(x)

with I_pop the population Debye intensity (``SizeDatabase``), P the polarization factor, R an
optional Caglioti resolution, T_k Chebyshev polynomials over the fitted x range. scale, b_k and
c_blank are linear: they are solved inside every evaluation (variable projection); the
nonlinear parameters are B per ADP group (``B_<group>``), the size parameters (``Dab_nm``,
``sab``, ``Lc_nm``, ``sc`` or ``D_nm``, ``sD``), ``expansion`` and ``zero`` (2theta, degrees); for a
single crystal also the cell ``a_A``, ``b_A``, ``c_A`` or the tilts ``tilt_ab_deg``, ``tilt_c_deg``
(``structure_fit.StructureDatabase`` re-histograms its stored pair table in ``update``).

Mixtures (``Model.components``): every component i (twinned / untwinned crystals, another phase,
a twin state of given domain size) has its own ``SizeDatabase`` and its pattern
I_i(Q) = sum_n w_n,i I_n,i(Q), the number-weighted mean pattern of *one* crystal. Then

    y = sum_i c_i P R I_i + background,   c_i = K N_i

so a linear coefficient c_i is proportional to the number N_i of crystals of component i and the
number fractions are x_i = c_i / sum_j c_j; the mass fractions are x_i <M>_i / sum_j x_j <M>_j with
<M>_i the number-mean crystal mass (Da). With ``--refine fractions`` (or ``twin``) every c_i is a
separate non-negative linear column ``scale_<name>``; otherwise one column ``scale`` holds
sum_i x_i I_i with the model's fixed fractions. Components share the size parameters unless they
carry their own population (parameters ``Dab_nm_<name>``, ...). Esds of the fractions, masses
and of the mean twin-domain size come from the full covariance (linear and nonlinear), propagated
by a numeric gradient.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from nanotwin_core.errors import NanotwinError
from nanotwin_core.geometry import q_from_two_theta
from nanotwin_core.model import REFINABLE, Model
from nanotwin_core.model_parts import Instrument, twin_states
from nanotwin_core.refine.auto_start import first_strong_q
from nanotwin_core.refine.diagnostics import Diagnostic, low_q_excess, low_q_excess_diagnostic
from nanotwin_core.refine.engine import Refinement
from nanotwin_core.refine.fast_database import cached_database
from nanotwin_core.refine.fit_summary import crystal_masses_da, mixture_summary, population_summary
from nanotwin_core.refine.instrument import InstrumentProfile, instrument_profile
from nanotwin_core.refine.occupancy import occupancy_values
from nanotwin_core.refine.parameter_providers import PROVIDERS, FitSetup
from nanotwin_core.refine.parameters import ParameterSet
from nanotwin_core.refine.report import format_esd
from nanotwin_core.refine.size_grids import grid_weights, min_domains, size_distribution, size_grid
from nanotwin_core.refine.small_angle_fit import add_low_q_terms
from nanotwin_core.refine.structure_fit import build_structure_database, check_structure_fit, tilt_note
from nanotwin_core.refine.texture_choice import texture_axis_hint
from nanotwin_core.refine.twin_density import model_twin_density_database
from nanotwin_core.scattering.radiation import Radiation
from nanotwin_core.scattering.texture import texture_database_spec
from nanotwin_core.structures.adp import resolve_adp, structure_adp_groups, structure_b, with_surface_groups
from nanotwin_core.structures.files import resolve_structure

# population_summary, mixture_summary, crystal_masses_da (fit_summary) and twin_states
# (model_parts) keep their old import path here
__all__ = ["DB_Q_STEP", "DSEFitProblem", "FitComponent", "FitSettings", "crystal_masses_da",
           "database_q_range", "mixture_summary", "population_summary", "prepare_fit", "run_fit",
           "twin_states"]


@dataclass
class FitSettings:
    """How to fit: what to refine, background, fitted range, corrections."""

    refine: tuple[str, ...] = ("scale", "background", "adp", "size")
    background_order: int | None = 4
    blank: object | None = None  # PatternData
    q_range: tuple[float, float] | None = None
    tth_range: tuple[float, float] | None = None
    polarization: str | float | None = None
    caglioti: tuple[float, float, float] | None = None
    grid_tol: float = 1e-3
    # twinned populations: a size stops adding boundary-network realisations once it has averaged
    # over this many twin domains (large crystals average themselves); None = every seed always
    min_domains: int | None = 64
    max_nfev: int | None = 200
    constraints: dict[str, str] = field(default_factory=dict)  # {parameter: "=OTHER" | "fixed"}
    zero: float = 0.0  # start value of the 2theta zero shift (degrees)
    # size databases: "auto" (fast route where possible), "fast" or "crystals" (one crystal per size)
    database_route: str = "auto"
    # refine twin_density: Chebyshev nodes of 1/D and the domain sizes covered (x the start size)
    twin_density_nodes: int = 5
    twin_density_range: tuple[float, float] = (0.75, 1.35)
    # Lorentzian X, Y (degrees) of a TCH resolution (model_parts.Instrument.lorentzian); None: pV 0.5
    lorentzian: tuple[float, float] | None = None
    # K-alpha2 ratio and wavelength (Å; None: the tube's, from the data's K-alpha1); None: no doublet
    kalpha2: float | None = None
    lambda2: float | None = None

    def __post_init__(self) -> None:
        unknown = [r for r in self.refine if r not in REFINABLE]
        if unknown:
            raise NanotwinError(f"--refine: unknown {', '.join(unknown)}; choose from {', '.join(REFINABLE)}")

    @classmethod
    def from_model(cls, model: Model, blank=None) -> FitSettings:
        """The settings of ``model.fit`` and ``model.instrument``; ``blank``: the blank pattern
        (``PatternData``) read from ``model.fit.blank``."""
        fit, ins = model.fit, model.instrument
        return cls(refine=tuple(fit.refine), background_order=fit.effective_background_order, blank=blank,
                   q_range=fit.q_range, tth_range=fit.tth_range,
                   polarization=None if ins.polarization == "none" else ins.polarization,
                   caglioti=ins.caglioti, max_nfev=fit.max_nfev, zero=ins.zero,
                   constraints=dict(fit.constraints), lorentzian=ins.lorentzian, kalpha2=ins.kalpha2,
                   lambda2=ins.lambda2)

    @property
    def instrument(self) -> Instrument:
        """The resolution and K-alpha2 parts of these settings as a ``model_parts.Instrument``."""
        return Instrument(caglioti=self.caglioti, lorentzian=self.lorentzian, kalpha2=self.kalpha2,
                          lambda2=self.lambda2)

    @property
    def fractions_refined(self) -> bool:
        """True = one non-negative scale column per mixture component ("fractions" or "twin")."""
        return "fractions" in self.refine or "twin" in self.refine


@dataclass
class FitComponent:
    """One population of a mixture fit: its database, size grid and how its sizes are set.

    ``fraction``: the model's number fraction (normalised; fixed unless fractions are refined);
    ``suffix``: "" = shares the model's size parameters, "_<name>" = its own; ``kind``:
    "bivariate", "univariate" or None (single crystal); ``domain_size_nm``: twin-domain size (None:
    untwinned or set by a number of boundaries); ``mass_da``: (n_sizes,) crystal masses in Da.
    """

    name: str
    fraction: float
    database: object
    structure: object
    grid: object | None
    grid_out: float
    kind: str | None
    suffix: str
    correlation: float
    twinned: bool
    domain_size_nm: float | None
    mass_da: np.ndarray


@dataclass
class DSEFitProblem:
    """A prepared fit: data on its grid, the size database, parameters and the basis function."""

    model: Model
    settings: FitSettings
    data: object
    x: np.ndarray
    q_data: np.ndarray | None
    mask: np.ndarray
    database: object
    params: object
    linear_names: list[str]
    nonneg: list[bool]
    structure: object
    population_kind: str | None
    grid: object | None = None
    grid_out: float = 0.0
    messages: list[str] = field(default_factory=list)
    components: list[FitComponent] = field(default_factory=list)
    # the points the model is evaluated at: the fitted ones, padded by the instrument profile's
    # reach (the convolution needs the neighbours of the range's edges); None = ``mask``
    eval_mask: np.ndarray | None = None
    static_columns: np.ndarray | None = None  # (n_points, k) background and blank columns
    resolution: InstrumentProfile | None = None  # Caglioti convolution of 2theta data
    start_params: object | None = None  # the parameters as prepare_fit set them (a copy)
    low_q: object | None = None  # after run: the low-Q excess of the fit (diagnostics.LowQExcess) or None

    # ------------------------------------------------------------------ model
    def size_weights(self, values: dict[str, float]) -> np.ndarray:
        """Number fractions of the database sizes for the current size parameters."""
        if self.population_kind is None:
            return np.ones(1)
        corr = self.model.population.correlation if self.model.population is not None else 0.0
        return grid_weights(self.population_kind, self.grid, values, "", corr)

    @property
    def is_mixture(self) -> bool:
        """True when the model has components (a mixture of populations)."""
        return bool(self.components)

    def component_weights(self, values: dict[str, float], comp: FitComponent) -> np.ndarray:
        """Number fractions of a component's database sizes (sums to 1)."""
        if comp.kind is None:
            return np.ones(1)
        return grid_weights(comp.kind, comp.grid, values, comp.suffix, comp.correlation)

    def component_distribution(self, values: dict[str, float], comp: FitComponent):
        """A component's size distribution (None for a single crystal)."""
        return size_distribution(comp.kind, values, comp.suffix, comp.correlation)

    def component_pattern(self, values: dict[str, float], comp: FitComponent) -> np.ndarray:
        """Scale-free mean pattern of one crystal of a component (like ``population_pattern``)."""
        return self._pattern(comp.database, self.component_weights(values, comp), values,
                             kind=comp.kind, suffix=comp.suffix, structure=comp.structure)

    def mean_mass_da(self, values: dict[str, float], comp: FitComponent) -> float:
        """Number-mean crystal mass of a component (Da)."""
        return float(self.component_weights(values, comp) @ comp.mass_da)

    def q_model(self, values: dict[str, float]) -> np.ndarray:
        """Q (1/Å) at which the model is evaluated for every data point (zero shift applied)."""
        if self.data.x_kind == "q":
            return self.x
        tth = self.x - values.get("zero", 0.0)
        return q_from_two_theta(np.clip(tth, 1e-6, 179.9), self.data.wavelength)

    def population_pattern(self, values: dict[str, float]) -> np.ndarray:
        """Scale-free model curve (polarization and resolution applied) on the data grid.

        Evaluated on the fitted points, padded by the instrument profile's reach where there is
        one, convolved, then zero outside the fitted points (the database covers that range).
        """
        return self._pattern(self.database, self.size_weights(values), values, kind=self.population_kind)

    def _pattern(self, database, weights: np.ndarray, values: dict[str, float], *, kind: str | None = None,
                 suffix: str = "", structure=None) -> np.ndarray:
        b_iso = {k[2:]: v for k, v in values.items() if k.startswith("B_")}
        occupancy = {**self.model.occupancy, **occupancy_values(values)}
        if hasattr(database, "update"):  # cell / tilt refinements (structure_fit.StructureDatabase)
            database.update(values)
        m = self.mask if self.eval_mask is None else self.eval_mask
        q = self.q_model(values)[m]
        texture = {} if self.model.texture is None else {
            "texture_ratio": values.get("texture", self.model.texture.ratio)}
        part = database.intensity(
            weights, q, b_iso=b_iso, radiation=self.radiation, expansion=values.get("expansion", 0.0),
            exclude=self.model.excluded_pairs(), occupancy=occupancy, **texture,
        )
        structure = self.structure if structure is None else structure
        part = add_low_q_terms(part, q, database=database, weights=weights, values=values,
                               radiation=self.radiation, occupancy=occupancy, structure=structure,
                               kind=kind, suffix=suffix)
        curve = np.zeros(len(self.x))
        curve[m] = part
        if self.data.x_kind == "tth":
            if self.settings.polarization not in (None, "none"):
                from nanotwin_core.scattering import polarization_factor

                tth = self.x[m] - values.get("zero", 0.0)
                curve[m] *= polarization_factor(tth, self.settings.polarization)
            if self.resolution is not None:
                curve = self.resolution.apply(self.x, curve)
                curve[~self.mask] = 0.0
        return curve

    @property
    def radiation(self) -> Radiation:
        """The model's radiation, with the data's wavelength where the model gives none."""
        return self.model.radiation.with_wavelength(getattr(self.data, "wavelength", None))

    def basis(self, values: dict[str, float]) -> np.ndarray:
        """(n_points, n_linear) design matrix: population column(s), then background/blank."""
        if not self.components:
            cols = [self.population_pattern(values)]
        elif self.settings.fractions_refined:
            cols = [self.component_pattern(values, c) for c in self.components]
        else:
            cols = [sum(c.fraction * self.component_pattern(values, c) for c in self.components)]
        if self.static_columns is not None:
            cols.extend(self.static_columns.T)
        return np.column_stack(cols)

    def with_data(self, data) -> DSEFitProblem:
        """The same prepared problem (database, start values) for another pattern on the same grid.

        Parameters start again from the values ``prepare_fit`` set (a fresh copy), so repeated
        fits of noise realisations are independent.
        """
        if len(data.x) != len(self.x) or not np.allclose(data.x, self.x):
            raise NanotwinError("with_data needs a pattern on the same x grid")
        new = copy.copy(self)
        new.data = data
        new.params = copy.deepcopy(self.start_params)
        new.messages = list(self.messages)
        return new

    def run(self, *, callback=None, cancel=None, global_grid=None, global_time=None, progress=None):
        """Refine; returns the engine's FitResult. ``global_grid`` (name -> values): start values
        searched first, for at most ``global_time`` seconds, with ``progress(fraction, text)``."""
        ref = Refinement(
            self.basis, self.params, self.data.y, self.data.sigma_used, self.linear_names, self.nonneg,
            sigma_source=self.data.sigma_source, mask=self.mask, callback=callback, cancel=cancel,
        )
        if global_grid:
            ref.global_start(global_grid, time_limit=global_time, progress=progress)
        result = ref.run(max_nfev=self.settings.max_nfev)
        result.messages.extend(self.messages)
        excess = low_q_excess(self.q_data[self.mask], result.y_obs, result.y_calc, result.sigma)
        self.low_q = excess
        if excess is not None:
            first = first_strong_q(self.structure, excess.x_end + 1.0)
            texture = self.model.texture
            result.diagnostics.append(low_q_excess_diagnostic(
                excess, has_blank=self.settings.blank is not None, first_reflection=first,
                strong_family=texture_axis_hint(self.structure, excess.x_peak),
                texture_axis=None if texture is None else texture.label))
        values = {p.name: p.value for p in result.params}
        if self.model.texture is not None:
            label = self.model.texture.label
            esd = {p.name: p.esd for p in result.params}.get("texture")
            orders = getattr(self.database, "info", {}).get("texture_orders") or [0]
            result.messages.append(f"texture: March-Dollase fibre about {label}, r = "
                                   f"{format_esd(values['texture'], esd)} (1 random, < 1 the ({label}) "
                                   f"planes lie in the sample surface; Legendre orders to l = {max(orders)})")
        leaks = []
        if self.components:
            for c in self.components:
                if c.kind is not None:
                    dist = self.component_distribution(values, c)
                    leaks.append((c.name, max(0.0, 1.0 - float(c.grid.weights(dist).sum()))))
        elif self.population_kind is not None:
            leaks.append(("population", self._grid_leak(values)))
        for name, leak in leaks:
            if leak > 1e-2:
                result.diagnostics.append(Diagnostic(
                    "size_grid", "warning",
                    f"{leak:.1%} of the refined size distribution of {name} (by number) lies outside the "
                    "size grid: widen the grid or check the size parameters"))
        if self.components and self.settings.fractions_refined:
            mix = mixture_summary(self, result)
            text = ", ".join(f"{n} {format_esd(v, e)}" for n, v, e in zip(
                mix["names"], mix["number_fractions"], mix["esd"]["number_fractions"], strict=True))
            result.messages.append(f"number fractions: {text}")
            if mix.get("mean_domain_size_nm") is not None:
                d_txt = format_esd(mix["mean_domain_size_nm"], mix["esd"]["mean_domain_size_nm"])
                result.messages.append(
                    f"mean twin-domain size (number-fraction weighted over twinned states): {d_txt} nm")
        if hasattr(self.database, "domain_sizes") and "domain_nm" in values:
            esd = {p.name: p.esd for p in result.params}.get("domain_nm")
            laws = self.database.domain_sizes(values["domain_nm"])
            per_law = ", ".join(f"{law} {d:.3g} nm" for law, d in laws.items())
            result.messages.append(f"twin-domain size (ensemble, shared by the laws in fixed ratios): "
                                   f"{format_esd(values['domain_nm'], esd)} nm ({per_law})")
        return result

    def _grid_leak(self, values: dict[str, float]) -> float:
        dist = self.distribution(values)
        return max(0.0, 1.0 - float(self.grid.weights(dist).sum()))

    def distribution(self, values: dict[str, float]):
        """The size distribution object for parameter values (None for a single crystal)."""
        corr = self.model.population.correlation if self.model.population is not None else 0.0
        return size_distribution(self.population_kind, values, "", corr)


DB_Q_STEP = 0.25  # 1/Å: size-database Q ranges are whole multiples, so nearby fitted ranges share one


def database_q_range(q_min: float, q_max: float, refine, x_kind: str) -> tuple[float, float]:
    """The Q range (1/Å) a size database needs for fitted points q_min..q_max: 0.05 1/Å beyond
    them (6 % more with an expansion refined, 0.1 1/Å more with a 2theta zero shift), widened to
    multiples of ``DB_Q_STEP`` so that fits of nearby ranges (robustness refits, a range moved
    above a low-Q excess) reuse the same database."""
    margin = 0.06 if "expansion" in refine else 0.0
    lo = q_min * (1 - margin) - 0.05
    hi = q_max * (1 + margin) + 0.05
    if "zero" in refine and x_kind == "tth":
        lo, hi = lo - 0.1, hi + 0.1
    return max(0.0, DB_Q_STEP * np.floor(lo / DB_Q_STEP)), DB_Q_STEP * np.ceil(hi / DB_Q_STEP)


def _component_structure(spec, structure):
    """The structure of a mixture component (the model's unless it names another)."""
    if spec.cif or spec.structure:
        return resolve_structure(spec.structure, spec.cif)
    return structure


def prepare_fit(
    model: Model,
    data,
    settings: FitSettings,
    *,
    progress: Callable[[float, str], None] | None = None,
    cancel: Callable[[], bool] | None = None,
    structure=None,
    databases: dict | None = None,
    mapper=None,
) -> DSEFitProblem:
    """Build the size database and the parameter set for fitting ``model`` to ``data``.

    ``structure`` overrides the model's structure name or CIF (a ``Structure`` object).
    ``databases``: a cache of size databases by fingerprint (e.g. read from a project): one built
    from the same inputs is reused, new ones are added. ``mapper``: where the per-size crystals
    of a database build run (``nanotwin_core.distributed``; None = here).
    """
    model.validate()
    structural = check_structure_fit(model, settings.refine)  # "cell", "tilt" or None
    if model.texture is not None and (structural or "twin_density" in settings.refine):
        raise NanotwinError(f"texture is not available for {structural or 'twin_density'} fits yet: "
                            "remove the texture or that refinement")
    if data.x_kind == "tth" and not data.wavelength:
        raise NanotwinError(f"{data.path}: 2theta data need a wavelength (--wavelength)")
    if structure is None:
        structure = model.load_structure()
    comp_structures = [_component_structure(spec, structure) for spec in model.components]
    adp_groups: dict[str, str] = {}
    site_b: dict[str, float] = {}
    for st in (*comp_structures, structure):  # the model's own structure wins
        adp_groups.update(structure_adp_groups(st))
        site_b.update(structure_b(st))
    if model.has_surface_shell:
        adp_groups, site_b = with_surface_groups(adp_groups, site_b)
    b_start = resolve_adp(model.adp, adp_groups, site_b, fallback=1.0, where=structure.name)

    x = np.asarray(data.x, dtype=float)
    mask = np.asarray(getattr(data, "mask", None) if getattr(data, "mask", None) is not None
                      else np.ones(len(x), bool), bool).copy()
    q_all = None
    if data.x_kind == "tth":
        q_all = q_from_two_theta(x, data.wavelength)
        if settings.tth_range:
            mask &= (x >= settings.tth_range[0]) & (x <= settings.tth_range[1])
        if settings.q_range:
            mask &= (q_all >= settings.q_range[0]) & (q_all <= settings.q_range[1])
    else:
        q_all = x
        if settings.q_range:
            mask &= (x >= settings.q_range[0]) & (x <= settings.q_range[1])
        if settings.tth_range:
            raise NanotwinError("--tth-range needs 2theta data; use --range QMIN:QMAX for Q data")
    if mask.sum() < 10:
        raise NanotwinError("fewer than 10 data points in the fitted range")
    messages: list[str] = []

    # ---- size grid and database
    shape = model.shape
    resolution, eval_mask = None, mask
    if data.x_kind == "tth":
        resolution = instrument_profile(settings.instrument, data.wavelength, zero=0.0)
    if resolution is not None:
        eval_mask = resolution.reach_mask(x, mask)  # convolve over the padded range, mask after
    q_fit = q_all[eval_mask]
    q_lo, q_hi = database_q_range(float(q_fit.min()), float(q_fit.max()), settings.refine, data.x_kind)
    grid, grid_out, kind, sizes, units = size_grid(model, model.population, structure, settings.grid_tol)
    components: list[FitComponent] = []
    if model.components:
        total = sum(c.fraction for c in model.components)
        for ic, spec in enumerate(model.components):
            c_struct = comp_structures[ic]
            own = spec.population is not None
            pop = spec.population if own else model.population
            if own or c_struct is not structure:
                c_grid, c_out, c_kind, c_sizes, c_units = size_grid(model, pop, c_struct, settings.grid_tol)
            else:
                c_grid, c_out, c_kind, c_sizes, c_units = grid, grid_out, kind, sizes, units
            twins = tuple(model.twins if spec.twins is None else spec.twins)
            inherit = spec.twins is None
            boundaries = spec.boundaries if spec.boundaries is not None else (model.boundaries if inherit
                                                                               else None)
            domain = spec.domain_size_nm if spec.domain_size_nm is not None else (
                model.domain_size_nm if inherit else None)
            seeds = tuple(spec.seeds if spec.seeds is not None else model.seeds)

            def sub_progress(f: float, text: str, _i: int = ic, _n: int = len(model.components),
                             _name: str = spec.name) -> None:
                if progress is not None:
                    progress((_i + f) / _n, f"{_name}: {text}")

            db = cached_database(
                databases, c_struct, shape, c_sizes, c_units, (q_lo, q_hi), twins=twins,
                boundaries=boundaries, domain_size_nm=domain, seeds=seeds,
                coherent_element=model.coherent_element,
                min_domains=min_domains(settings.min_domains, c_sizes, domain),
                ensemble=model.ensemble and bool(twins) and boundaries is None, route=settings.database_route,
                progress=sub_progress, cancel=cancel, mapper=mapper, crystal_options=model.surface_options(),
            )
            components.append(FitComponent(
                name=spec.name, fraction=spec.fraction / total, database=db, structure=c_struct,
                grid=c_grid, grid_out=c_out, kind=c_kind, suffix=f"_{spec.name}" if own else "",
                correlation=pop.correlation if pop is not None else 0.0, twinned=bool(twins),
                domain_size_nm=domain if twins else None, mass_da=crystal_masses_da(db),
            ))
        database = components[0].database
        db_types = [t for c in components for t in c.database.types]
    elif structural:
        database = build_structure_database(
            structural, structure, shape, sizes[0], units, twins=tuple(model.twins),
            boundaries=model.boundaries, domain_size_nm=model.domain_size_nm, seeds=tuple(model.seeds),
            coherent_element=model.coherent_element, progress=progress, cancel=cancel,
            crystal_options=model.surface_options(),
        )
        structure = database.structure  # the tilt model at the start angles for "tilt"
        db_types = list(database.types)
        if tilt_note(database):
            messages.append(tilt_note(database))
    elif "twin_density" in settings.refine:
        database = model_twin_density_database(model, settings, databases, structure, sizes, units,
                                               (q_lo, q_hi), progress=progress, cancel=cancel)
        db_types = list(database.types)
    else:
        texture = None if model.texture is None else texture_database_spec(structure, model.texture.axis,
                                                                           model.texture.ratio)
        database = cached_database(
            databases, structure, shape, sizes, units, (q_lo, q_hi), twins=tuple(model.twins),
            boundaries=model.boundaries, domain_size_nm=model.domain_size_nm, seeds=tuple(model.seeds),
            coherent_element=model.coherent_element,
            min_domains=min_domains(settings.min_domains, sizes, model.domain_size_nm),
            ensemble=model.ensemble, route=settings.database_route, progress=progress, cancel=cancel,
            mapper=mapper, crystal_options=model.surface_options(), texture=texture,
        )
        db_types = list(database.types)

    # ---- parameters and linear columns, from the registered providers
    setup = FitSetup(model=model, settings=settings, data=data, x=x, mask=mask, database=database,
                     components=components, population_kind=None if model.population is None else kind,
                     structural=structural, b_start=b_start,
                     groups=sorted({t.adp_group for t in db_types}), messages=messages)
    params = ParameterSet()
    terms = []
    for provider in PROVIDERS.values():
        for p in provider.parameters(setup):
            params.append(p)
        terms += provider.linear(setup)
    linear_names = [t.name for t in terms]
    nonneg = [t.nonneg for t in terms]
    static = [t.column for t in terms if t.column is not None]
    problem = DSEFitProblem(
        model=model, settings=settings, data=data, x=x, q_data=q_all, mask=mask, database=database,
        params=params, linear_names=linear_names, nonneg=nonneg, structure=structure,
        population_kind=None if model.population is None else kind,
        grid=grid, grid_out=grid_out, messages=messages, components=components,
    )
    for name, rule in settings.constraints.items():
        if name not in params:
            raise NanotwinError(f"constraint on {name}: no such parameter; the fit has "
                                f"{', '.join(params.names)}")
        params[name].constraint = rule.replace(" ", "")
    params.resolve()
    problem.start_params = params.copy()
    problem.static_columns = np.column_stack(static) if static else np.zeros((len(x), 0))
    problem.resolution = resolution
    problem.eval_mask = eval_mask
    return problem


def run_fit(
    model: Model,
    data,
    settings: FitSettings,
    *,
    progress: Callable[[float, str], None] | None = None,
    callback: Callable[[dict[str, float], float], None] | None = None,
    cancel: Callable[[], bool] | None = None,
    global_grid: dict[str, Sequence[float]] | None = None,
    structure=None,
    databases: dict | None = None,
    mapper=None,
):
    """prepare_fit + run: returns (problem, FitResult). ``structure`` overrides the model's;
    ``databases`` is a size-database cache and ``mapper`` runs its per-size crystals (see
    :func:`prepare_fit`)."""
    problem = prepare_fit(model, data, settings, progress=progress, cancel=cancel, structure=structure,
                          databases=databases, mapper=mapper)
    result = problem.run(callback=callback, cancel=cancel, global_grid=global_grid)
    return problem, result
