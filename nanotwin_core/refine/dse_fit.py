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

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from nanotwin_core.builder.shape_kinds import get_shape
from nanotwin_core.errors import NanotwinError
from nanotwin_core.geometry import q_from_two_theta
from nanotwin_core.model import REFINABLE, Model
from nanotwin_core.refine.instrument import InstrumentProfile
from nanotwin_core.scattering.radiation import Radiation
from nanotwin_core.structures.adp import resolve_adp, structure_adp_groups, structure_b
from nanotwin_core.structures.files import resolve_structure


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
    zero: float = 0.0  # start value of the 2theta zero shift (degrees)

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
                   caglioti=ins.caglioti, max_nfev=fit.max_nfev, zero=ins.zero)

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

    # ------------------------------------------------------------------ model
    def size_weights(self, values: dict[str, float]) -> np.ndarray:
        """Number fractions of the database sizes for the current size parameters."""
        if self.population_kind is None:
            return np.ones(1)
        corr = self.model.population.correlation if self.model.population is not None else 0.0
        return _grid_weights(self.population_kind, self.grid, values, "", corr)

    @property
    def is_mixture(self) -> bool:
        """True when the model has components (a mixture of populations)."""
        return bool(self.components)

    def component_weights(self, values: dict[str, float], comp: FitComponent) -> np.ndarray:
        """Number fractions of a component's database sizes (sums to 1)."""
        if comp.kind is None:
            return np.ones(1)
        return _grid_weights(comp.kind, comp.grid, values, comp.suffix, comp.correlation)

    def component_distribution(self, values: dict[str, float], comp: FitComponent):
        """A component's size distribution (None for a single crystal)."""
        return _distribution(comp.kind, values, comp.suffix, comp.correlation)

    def component_pattern(self, values: dict[str, float], comp: FitComponent) -> np.ndarray:
        """Scale-free mean pattern of one crystal of a component (like ``population_pattern``)."""
        return self._pattern(comp.database, self.component_weights(values, comp), values)

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
        return self._pattern(self.database, self.size_weights(values), values)

    def _pattern(self, database, weights: np.ndarray, values: dict[str, float]) -> np.ndarray:
        b_iso = {k[2:]: v for k, v in values.items() if k.startswith("B_")}
        if hasattr(database, "update"):  # cell / tilt refinements (structure_fit.StructureDatabase)
            database.update(values)
        m = self.mask if self.eval_mask is None else self.eval_mask
        q = self.q_model(values)[m]
        part = database.intensity(
            weights, q, b_iso=b_iso, radiation=self.radiation, expansion=values.get("expansion", 0.0),
            exclude=self.model.excluded_pairs(),
        )
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
        import copy

        if len(data.x) != len(self.x) or not np.allclose(data.x, self.x):
            raise NanotwinError("with_data needs a pattern on the same x grid")
        new = copy.copy(self)
        new.data = data
        new.params = copy.deepcopy(self.start_params)
        new.messages = list(self.messages)
        return new

    def run(self, *, callback=None, cancel=None, global_grid=None):
        """Refine; returns the engine's FitResult."""
        from nanotwin_core.refine.engine import Refinement

        ref = Refinement(
            self.basis, self.params, self.data.y, self.data.sigma_used, self.linear_names, self.nonneg,
            sigma_source=self.data.sigma_source, mask=self.mask, callback=callback, cancel=cancel,
        )
        if global_grid:
            ref.global_start(global_grid)
        result = ref.run(max_nfev=self.settings.max_nfev)
        result.messages.extend(self.messages)
        values = {p.name: p.value for p in result.params}
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
                result.messages.append(
                    f"{leak:.1%} of the refined size distribution of {name} (by number) lies outside the "
                    "size grid: widen the grid or check the size parameters"
                )
        if self.components and self.settings.fractions_refined:
            mix = mixture_summary(self, result)
            text = ", ".join(f"{n} {_fmt(v, e)}" for n, v, e in zip(
                mix["names"], mix["number_fractions"], mix["esd"]["number_fractions"], strict=True))
            result.messages.append(f"number fractions: {text}")
            if mix.get("mean_domain_size_nm") is not None:
                d_txt = _fmt(mix["mean_domain_size_nm"], mix["esd"]["mean_domain_size_nm"])
                result.messages.append(
                    f"mean twin-domain size (number-fraction weighted over twinned states): {d_txt} nm")
        return result

    def _grid_leak(self, values: dict[str, float]) -> float:
        dist = self.distribution(values)
        return max(0.0, 1.0 - float(self.grid.weights(dist).sum()))

    def distribution(self, values: dict[str, float]):
        """The size distribution object for parameter values (None for a single crystal)."""
        corr = self.model.population.correlation if self.model.population is not None else 0.0
        return _distribution(self.population_kind, values, "", corr)


def _fmt(value: float, esd: float | None) -> str:
    from nanotwin_core.refine.report import format_esd

    try:
        return format_esd(value, esd)
    except Exception:  # pragma: no cover - formatting must never break a fit
        return f"{value:.4g}({esd})"


def _distribution(kind: str | None, values: dict[str, float], suffix: str, correlation: float):
    """Log-normal size distribution from the size parameters ``<name><suffix>`` (None: single)."""
    from nanotwin_core.population.distributions import BivariateLogNormal, LogNormal

    if kind == "bivariate":
        return BivariateLogNormal(values["Dab_nm" + suffix], values["sab" + suffix],
                                  values["Lc_nm" + suffix], values["sc" + suffix], correlation)
    if kind is not None:
        return LogNormal(values["D_nm" + suffix], values["sD" + suffix])
    return None


def _grid_weights(kind: str, grid, values: dict[str, float], suffix: str, correlation: float) -> np.ndarray:
    """Normalised number fractions of the grid sizes."""
    dist = _distribution(kind, values, suffix, correlation)
    w = np.asarray(grid.point_weights(dist) if hasattr(grid, "point_weights") else grid.weights(dist),
                   float).ravel()
    total = w.sum()
    if not total > 0:
        raise NanotwinError("the size distribution lies outside the size grid")
    return w / total


def crystal_masses_da(database) -> np.ndarray:
    """Mass of every crystal of a size database (Da), from its per-type occupancy sums."""
    import re

    import periodictable

    masses = []
    for t in database.types:
        symbol = re.match(r"[A-Z][a-z]?", str(t.element))
        masses.append(float(periodictable.elements.symbol(symbol.group(0)).mass) if symbol else 0.0)
    return np.asarray(database.self_sums, float) @ np.asarray(masses)


def _s_max(s: float, prism: bool = False) -> float:
    """Upper bound of a relative size dispersion during a fit (the size grid covers it).

    Prism grids grow fast with the dispersion (two axes: the large-D, large-L crystals cost the
    most), so their bound is tighter: s + 0.08 (0.24 -> 0.32) halves the work of 1.1 s + 0.1
    for the paper's CsPbBr3 population. A fit that ends at the bound says so; start it again
    from a wider dispersion.
    """
    return min(1.0, s + 0.08) if prism else min(1.0, 2.0 * s + 0.1)


def _min_domains(settings: FitSettings, sizes: list, domain_size_nm: float | None) -> int | None:
    """Adaptive realisations only for populations of random networks (a single crystal, or a
    fixed number of boundaries, keeps every seed)."""
    if domain_size_nm is None or len(sizes) < 2:
        return None
    return settings.min_domains


def _component_structure(spec, structure):
    """The structure of a mixture component (the model's unless it names another)."""
    if spec.cif or spec.structure:
        return resolve_structure(spec.structure, spec.cif)
    return structure


def _add_size_params(params, pop, kind: str | None, suffix: str, free: bool) -> None:
    """Size parameters of a population (bounds: +-25 % of the start means)."""
    from nanotwin_core.refine.parameters import Parameter

    if kind == "bivariate":
        params._add(Parameter("Dab_nm" + suffix, pop.Dab, free, pop.Dab * 0.75, pop.Dab * 1.25))
        params._add(Parameter("sab" + suffix, pop.sab, free, 0.03, _s_max(pop.sab, True)))
        params._add(Parameter("Lc_nm" + suffix, pop.Lc, free, pop.Lc * 0.75, pop.Lc * 1.25))
        params._add(Parameter("sc" + suffix, pop.sc, free, 0.03, _s_max(pop.sc, True)))
    elif kind is not None:
        params._add(Parameter("D_nm" + suffix, pop.D, free, pop.D * 0.75, pop.D * 1.25))
        params._add(Parameter("sD" + suffix, pop.sD, free, 0.03, _s_max(pop.sD)))


def _size_grid(model: Model, pop, structure, settings: FitSettings):
    """(grid, intensity fraction out, kind, sizes, units) for a population (or a single crystal).

    Prisms: the grid holds all but ``settings.grid_tol`` of the intensity of the start
    distribution and of every corner of the box the fit may explore (means +-25 %, dispersions
    within their bounds), see :func:`union_grid`.
    """
    from nanotwin_core.population.distributions import BivariateLogNormal, LogNormal
    from nanotwin_core.population.grid import SizeGrid1D, choose_grid_1d, intensity_fraction_out, union_grid

    shape = get_shape(model.shape)
    units, per_unit = shape.grid_units(structure)
    grid, grid_out, kind = None, 0.0, None
    if pop is not None:
        kind = "bivariate" if shape.bivariate else "univariate"
        if kind == "bivariate":
            # every corner of the box the fit may explore (means +-25 %, dispersions from 0.03 up
            # to their bound): the grid holds all but ~tol of the intensity of each
            s_ab, s_c = _s_max(pop.sab, True), _s_max(pop.sc, True)
            corners = [BivariateLogNormal(pop.Dab * fd, sa, pop.Lc * fl, sc, pop.correlation)
                       for fd in (0.75, 1.25) for fl in (0.75, 1.25)
                       for sa in (min(0.03, pop.sab), s_ab) for sc in (min(0.03, pop.sc), s_c)]
            start = BivariateLogNormal(pop.Dab, pop.sab, pop.Lc, pop.sc, pop.correlation)
            grid = union_grid([start, *corners], structure.cell, per_unit, tol=settings.grid_tol)
            sizes = grid.points()
            grid_out = intensity_fraction_out(grid, start)
        else:
            lo = choose_grid_1d(LogNormal(pop.D * 0.75, _s_max(pop.sD)), units[0], per_unit,
                                tol=settings.grid_tol)
            hi = choose_grid_1d(LogNormal(pop.D * 1.25, _s_max(pop.sD)), units[0], per_unit,
                                tol=settings.grid_tol)
            # crystals beyond 2.5 x the largest allowed mean are left out (memory); the fit reports
            # the part of the distribution outside the grid
            n_cap = max(lo.grid.n_max, int(math.ceil(2.5 * pop.D * 1.25 / units[0])))
            grid = SizeGrid1D(units[0], min(lo.grid.n_min, hi.grid.n_min),
                              min(max(lo.grid.n_max, hi.grid.n_max), n_cap), per_unit)
            sizes = [(int(n),) for n in grid.n]
            grid_out = choose_grid_1d(LogNormal(pop.D, pop.sD), units[0], per_unit,
                                      tol=settings.grid_tol).intensity_fraction_out
    else:
        sizes = [shape.counts(shape.check_sizes(model.sizes()), units)]
    return grid, grid_out, kind, sizes, units


def twin_states(
    laws: Sequence[str],
    domain_sizes_nm: Sequence[float],
    seeds: Sequence[int],
    *,
    split_seeds: bool = False,
    untwinned: bool = True,
    fraction: float = 1.0,
) -> list:
    """Mixture components spanning a twin density: one twinned state per domain size.

    Parameters
    ----------
    laws : twin laws, e.g. ("1/2<110>{110}", "1/2<110>{001}", "1/2<001>{110}").
    domain_sizes_nm : mean twin-domain sizes of the states (nm), e.g. (6, 3, 2).
    seeds : builder seeds; a state averages them (``split_seeds=False``) or every seed is its own
        state (``split_seeds=True``; more columns, worse conditioned).
    untwinned : also add an untwinned state (named "untwinned").
    fraction : start number fraction of each state (normalised by the fit).

    Returns
    -------
    list of ``ComponentSpec`` sharing the model's sizes (``Model.components``), named
    ``d<size>nm`` or ``d<size>nm_s<seed>`` (dots as "p"); refine with ``--refine twin``.
    """
    from nanotwin_core.model import ComponentSpec

    out = []
    for d in domain_sizes_nm:
        tag = f"d{float(d):g}nm".replace(".", "p")
        if split_seeds:
            groups = [(f"{tag}_s{s}", [int(s)]) for s in seeds]
        else:
            groups = [(tag, [int(s) for s in seeds])]
        for name, sd in groups:
            out.append(ComponentSpec(name=name, fraction=fraction, twins=list(laws), domain_size_nm=float(d),
                                     seeds=sd))
    if untwinned:
        out.append(ComponentSpec(name="untwinned", fraction=fraction, twins=[]))
    return out


def _mixture_values(problem: DSEFitProblem, values: dict[str, float]) -> dict[str, float]:
    """Number and mass fractions and the mean twin-domain size for parameter values."""
    comps = problem.components
    if problem.settings.fractions_refined:
        c = np.array([values[f"scale_{k.name}"] for k in comps])
    else:
        c = np.array([k.fraction for k in comps])
    total = c.sum()
    x = c / total if total > 0 else np.full(len(comps), np.nan)
    m = np.array([problem.mean_mass_da(values, k) for k in comps]) * x
    mf = m / m.sum() if m.sum() > 0 else np.full(len(comps), np.nan)
    out = {f"x_{k.name}": float(v) for k, v in zip(comps, x, strict=True)}
    out.update({f"m_{k.name}": float(v) for k, v in zip(comps, mf, strict=True)})
    tw = [(xi, k.domain_size_nm) for xi, k in zip(x, comps, strict=True) if k.domain_size_nm is not None]
    if tw and sum(xi for xi, _ in tw) > 0:
        out["mean_domain_size_nm"] = float(sum(xi * d for xi, d in tw) / sum(xi for xi, _ in tw))
        out["twinned_fraction"] = float(sum(xi for k, xi in zip(comps, x, strict=True) if k.twinned))
    return out


def _propagate_all(problem: DSEFitProblem, result, fn) -> dict[str, tuple[float, float | None]]:
    """Values of ``fn(values) -> dict`` with esds from the full covariance (numeric gradient)."""
    values = {p.name: p.value for p in result.params}
    base = fn(values)
    cov_names = list(getattr(result, "cov_names", []) or [])
    if result.covariance is None or not cov_names:
        return {k: (v, None) for k, v in base.items()}
    grads = {k: np.zeros(len(cov_names)) for k in base}
    for j, n in enumerate(cov_names):
        h = 1e-6 * max(abs(values[n]), 1e-12 if n.startswith("scale") else 1e-3)
        up = fn({**values, n: values[n] + h})
        dn = fn({**values, n: values[n] - h})
        for k in base:
            grads[k][j] = (up[k] - dn[k]) / (2 * h)
    cov = np.asarray(result.covariance)
    return {k: (float(base[k]), float(np.sqrt(max(grads[k] @ cov @ grads[k], 0.0)))) for k in base}


def mixture_summary(problem: DSEFitProblem, result) -> dict:
    """Fractions of a mixture fit with esds (the ``mixture`` entry the --json may carry).

    Returns a dict: ``names``; ``number_fractions`` (crystal number fractions, from the scale
    coefficients, which are proportional to the crystal numbers since every component column is
    the number-weighted mean pattern of one crystal); ``mass_fractions``; ``mean_mass_da``
    (number-mean crystal mass per component, Da); ``refined`` (fractions refined or fixed);
    for twin states ``mean_domain_size_nm`` (number-fraction weighted mean over the twinned
    states, nm) and ``twinned_fraction``; ``esd`` with the same keys (None where fixed).
    """
    if not problem.components:
        return {}
    prop = _propagate_all(problem, result, lambda v: _mixture_values(problem, v))
    names = [c.name for c in problem.components]
    values = {p.name: p.value for p in result.params}
    refined = problem.settings.fractions_refined
    out = {
        "names": names,
        "refined": refined,
        "number_fractions": [prop[f"x_{n}"][0] for n in names],
        "mass_fractions": [prop[f"m_{n}"][0] for n in names],
        "mean_mass_da": [problem.mean_mass_da(values, c) for c in problem.components],
        "domain_size_nm": [c.domain_size_nm for c in problem.components],
        "esd": {
            "number_fractions": [prop[f"x_{n}"][1] if refined else None for n in names],
            "mass_fractions": [prop[f"m_{n}"][1] for n in names],
        },
    }
    for key in ("mean_domain_size_nm", "twinned_fraction"):
        if key in prop:
            out[key] = prop[key][0]
            out["esd"][key] = prop[key][1] if refined else None
    return out


def prepare_fit(
    model: Model,
    data,
    settings: FitSettings,
    *,
    progress: Callable[[float, str], None] | None = None,
    cancel: Callable[[], bool] | None = None,
    structure=None,
    databases: dict | None = None,
) -> DSEFitProblem:
    """Build the size database and the parameter set for fitting ``model`` to ``data``.

    ``structure`` overrides the model's structure name or CIF (a ``Structure`` object).
    ``databases``: a cache of size databases by fingerprint (e.g. read from a project): one built
    from the same inputs is reused, new ones are added.
    """
    from nanotwin_core.refine.background import blank_on_grid, chebyshev_basis
    from nanotwin_core.refine.parameters import Parameter, ParameterSet
    from nanotwin_core.refine.size_database import cached_size_database
    from nanotwin_core.refine.structure_fit import build_structure_database, check_structure_fit, tilt_note

    model.validate()
    structural = check_structure_fit(model, settings.refine)  # "cell", "tilt" or None
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
    if settings.caglioti is not None and data.x_kind == "tth":
        u, v, w = settings.caglioti
        resolution = InstrumentProfile(u=u, v=v, w=w, lambda1=data.wavelength)
        eval_mask = resolution.reach_mask(x, mask)  # convolve over the padded range, mask after
    q_fit = q_all[eval_mask]
    margin = 0.06 if "expansion" in settings.refine else 0.0
    q_lo = max(0.0, q_fit.min() * (1 - margin) - 0.05)
    q_hi = q_fit.max() * (1 + margin) + 0.05
    if "zero" in settings.refine and data.x_kind == "tth":
        q_lo, q_hi = max(0.0, q_lo - 0.1), q_hi + 0.1
    grid, grid_out, kind, sizes, units = _size_grid(model, model.population, structure, settings)
    components: list[FitComponent] = []
    if model.components:
        total = sum(c.fraction for c in model.components)
        for ic, spec in enumerate(model.components):
            c_struct = comp_structures[ic]
            own = spec.population is not None
            pop = spec.population if own else model.population
            if own or c_struct is not structure:
                c_grid, c_out, c_kind, c_sizes, c_units = _size_grid(model, pop, c_struct, settings)
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

            db = cached_size_database(
                databases, c_struct, shape, c_sizes, c_units, (q_lo, q_hi), twins=twins,
                boundaries=boundaries, domain_size_nm=domain, seeds=seeds,
                coherent_element=model.coherent_element, min_domains=_min_domains(settings, c_sizes, domain),
                progress=sub_progress, cancel=cancel,
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
        )
        structure = database.structure  # the tilt model at the start angles for "tilt"
        db_types = list(database.types)
        if tilt_note(database):
            messages.append(tilt_note(database))
    else:
        database = cached_size_database(
            databases, structure, shape, sizes, units, (q_lo, q_hi), twins=tuple(model.twins),
            boundaries=model.boundaries, domain_size_nm=model.domain_size_nm, seeds=tuple(model.seeds),
            coherent_element=model.coherent_element,
            min_domains=_min_domains(settings, sizes, model.domain_size_nm), progress=progress, cancel=cancel,
        )
        db_types = list(database.types)

    # ---- parameters
    params = ParameterSet()
    refine = set(settings.refine)
    groups = sorted({t.adp_group for t in db_types})
    for g in groups:
        start = b_start.get(g, 1.0)
        params._add(Parameter(f"B_{g}", start, "adp" in refine, 0.0, 40.0))
    size_free = "size" in refine
    shared_used = not components or any(c.suffix == "" for c in components)
    if model.population is not None and shared_used:
        _add_size_params(params, model.population, kind, "", size_free)
    elif "size" in refine and not any(c.kind is not None for c in components):
        messages.append("size not refined: the model is a single crystal (give --population)")
    for c, spec in zip(components, model.components, strict=True):
        if c.suffix:
            _add_size_params(params, spec.population, c.kind, c.suffix, size_free)
    if structural:
        for p in database.parameters():
            params._add(p)
    params._add(Parameter("expansion", 0.0, "expansion" in refine, -0.05, 0.05))
    if data.x_kind == "tth":
        params._add(Parameter("zero", settings.zero, "zero" in refine, -0.5, 0.5))

    # ---- linear columns: scale (one per component with fractions refined), background, blank
    if components and settings.fractions_refined:
        linear_names = [f"scale_{c.name}" for c in components]
        nonneg = [True] * len(components)
        # start the per-component scales in the model's proportions (held if a fit fixes them)
    else:
        linear_names, nonneg = ["scale"], [True]
        if settings.fractions_refined:
            messages.append("fractions/twin not refined: the model has no components (a mixture)")
    static = []
    if settings.background_order is not None and ("background" in refine or settings.background_order >= 0):
        xs = x[mask]
        cheb = chebyshev_basis(x, settings.background_order, xs.min(), xs.max())
        for k in range(cheb.shape[1]):
            linear_names.append(f"bkg_{k}")
            nonneg.append(False)
            static.append(cheb[:, k])
    if settings.blank is not None:
        static.append(blank_on_grid(settings.blank, x, data.x_kind, data.wavelength))
        linear_names.append("blank")
        nonneg.append(True)
    problem = DSEFitProblem(
        model=model, settings=settings, data=data, x=x, q_data=q_all, mask=mask, database=database,
        params=params, linear_names=linear_names, nonneg=nonneg, structure=structure,
        population_kind=None if model.population is None else kind,
        grid=grid, grid_out=grid_out, messages=messages, components=components,
    )
    problem.start_params = params.copy()
    problem.static_columns = np.column_stack(static) if static else np.zeros((len(x), 0))
    problem.resolution = resolution
    problem.eval_mask = eval_mask
    return problem


def population_summary(problem: DSEFitProblem, result) -> list[dict]:
    """The ``populations`` list of the --json dict, with esds of the size parameters."""
    from nanotwin_core.refine.report import population_entry

    values = {p.name: p.value for p in result.params}
    esd = {p.name: p.esd for p in result.params}
    if problem.components:
        return _mixture_populations(problem, result, values, esd)
    dist = problem.distribution(values)
    if dist is None:
        info = problem.database.sizes_nm[0]
        entry = {"name": "crystal", "fraction": 1.0, "weighting": "single crystal", "esd": {}}
        if get_shape(problem.model.shape).bivariate:
            d_ab, l_c = float(info[0]), float(info[1])
            entry.update(Dab_nm=d_ab, Lc_nm=l_c, D_eq_nm=(1.5 * d_ab**2 * l_c) ** (1 / 3),
                         aspect=l_c / d_ab)
        else:
            entry.update(mean_D_nm=float(info[0]))
        return [entry]
    if problem.population_kind == "bivariate":
        keys = {"Dab_nm": "Dab_nm", "sab": "sab", "Lc_nm": "Lc_nm", "sc": "sc"}
    else:
        keys = {"D_nm": "mean_D_nm", "sD": "sD"}
    entry = population_entry("population", dist, 1.0, esd={v: esd.get(k) for k, v in keys.items()})
    # volume-weighted means (what peak widths measure most directly), with propagated esds
    derived = _derived_sizes(problem, values)
    for key, (value, sigma) in _propagate(problem, result, values, derived).items():
        entry[key] = value
        entry["esd"][key] = sigma
    entry["grid"] = {"n_sizes": int(problem.database.n_sizes),
                     "intensity_fraction_out": float(problem.grid_out),
                     "build_seconds": float(problem.database.seconds)}
    return [entry]


def _mixture_populations(problem: DSEFitProblem, result, values: dict, esd: dict) -> list[dict]:
    """One ``populations`` entry per mixture component: number ``fraction`` (with esd),
    ``mass_fraction``, sizes (shared ones repeat), twin description."""
    from nanotwin_core.refine.report import population_entry

    mix = mixture_summary(problem, result)
    out = []
    for i, comp in enumerate(problem.components):
        dist = problem.component_distribution(values, comp)
        frac = mix["number_fractions"][i]
        if dist is None:
            info = comp.database.sizes_nm[0]
            entry = {"name": comp.name, "fraction": frac, "weighting": "single crystal", "esd": {}}
            if get_shape(problem.model.shape).bivariate:
                d_ab, l_c = float(info[0]), float(info[1])
                entry.update(Dab_nm=d_ab, Lc_nm=l_c, D_eq_nm=(1.5 * d_ab**2 * l_c) ** (1 / 3),
                             aspect=l_c / d_ab)
            else:
                entry.update(mean_D_nm=float(info[0]))
        else:
            sfx = comp.suffix
            if comp.kind == "bivariate":
                keys = {"Dab_nm": "Dab_nm", "sab": "sab", "Lc_nm": "Lc_nm", "sc": "sc"}
            else:
                keys = {"D_nm": "mean_D_nm", "sD": "sD"}
            entry = population_entry(comp.name, dist, frac,
                                     esd={v: esd.get(k + sfx) for k, v in keys.items()})
            entry["grid"] = {"n_sizes": int(comp.database.n_sizes),
                             "intensity_fraction_out": float(comp.grid_out),
                             "build_seconds": float(comp.database.seconds)}
            entry["shares_sizes"] = sfx == ""
        entry["esd"]["fraction"] = mix["esd"]["number_fractions"][i]
        entry["fraction_refined"] = mix["refined"]
        entry["mass_fraction"] = mix["mass_fractions"][i]
        entry["esd"]["mass_fraction"] = mix["esd"]["mass_fractions"][i]
        entry["mean_mass_da"] = mix["mean_mass_da"][i]
        entry["twinned"] = comp.twinned
        entry["domain_size_nm"] = comp.domain_size_nm
        entry["structure"] = getattr(comp.structure, "name", None)
        out.append(entry)
    return out


def _derived_sizes(problem: DSEFitProblem, values: dict[str, float]) -> dict[str, float]:
    from nanotwin_core.population.statistics import prism_statistics, sphere_statistics

    dist = problem.distribution(values)
    if problem.population_kind == "bivariate":
        st = prism_statistics(dist, "number")
        return {"Dab_vol_nm": st.d_ab_vol, "Lc_vol_nm": st.l_c_vol, "D_eq_vol_nm": st.d_eq_vol,
                "D_eq_nm": st.d_eq}
    return {"mean_D_vol_nm": sphere_statistics(dist, "number").mean_vol}


def _propagate(problem: DSEFitProblem, result, values: dict[str, float], derived: dict[str, float]):
    """Derived sizes with esds from the covariance of the size parameters (numeric gradient)."""
    names = [n for n in ("Dab_nm", "sab", "Lc_nm", "sc", "D_nm", "sD") if n in values]
    cov_names = list(getattr(result, "cov_names", []) or [])
    out = {k: (float(v), None) for k, v in derived.items()}
    if result.covariance is None or not all(n in cov_names for n in names):
        return out
    idx = [cov_names.index(n) for n in names]
    cov = np.asarray(result.covariance)[np.ix_(idx, idx)]
    grads = {k: np.zeros(len(names)) for k in derived}
    for j, n in enumerate(names):
        h = 1e-6 * max(abs(values[n]), 1e-3)
        up = _derived_sizes(problem, {**values, n: values[n] + h})
        dn = _derived_sizes(problem, {**values, n: values[n] - h})
        for k in derived:
            grads[k][j] = (up[k] - dn[k]) / (2 * h)
    return {k: (float(derived[k]), float(np.sqrt(max(grads[k] @ cov @ grads[k], 0.0)))) for k in derived}


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
):
    """prepare_fit + run: returns (problem, FitResult). ``structure`` overrides the model's;
    ``databases`` is a size-database cache (see :func:`prepare_fit`)."""
    problem = prepare_fit(model, data, settings, progress=progress, cancel=cancel, structure=structure,
                          databases=databases)
    result = problem.run(callback=callback, cancel=cancel, global_grid=global_grid)
    return problem, result
