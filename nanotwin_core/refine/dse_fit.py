"""Fit a DSE model (one crystal or a size population) to a powder pattern.

The observed pattern is modelled as

    y(x) = scale * P(2theta) * [R (x) I_pop](Q(x - zero)) + sum_k b_k T_k(x) + c_blank * blank(x)

with I_pop the population Debye intensity (``SizeDatabase``), P the polarization factor, R an
optional Caglioti resolution, T_k Chebyshev polynomials over the fitted x range. scale, b_k and
c_blank are linear: they are solved inside every evaluation (variable projection); the
nonlinear parameters are B per ADP group (``B_<group>``), the size parameters (``Dab_nm``,
``sab``, ``Lc_nm``, ``sc`` or ``D_nm``, ``sD``), ``expansion`` and ``zero`` (2theta, degrees).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from nanotwin_core.errors import NanotwinError
from nanotwin_core.model import Model

REFINABLE = ("scale", "background", "adp", "size", "expansion", "fractions", "twin", "zero")


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
    max_nfev: int | None = 200

    def __post_init__(self) -> None:
        unknown = [r for r in self.refine if r not in REFINABLE]
        if unknown:
            raise NanotwinError(f"--refine: unknown {', '.join(unknown)}; choose from {', '.join(REFINABLE)}")
        for r in ("fractions", "twin"):
            if r in self.refine:
                raise NanotwinError(
                    f"--refine {r}: mixtures of populations are not available yet in this version"
                )


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

    # ------------------------------------------------------------------ model
    def size_weights(self, values: dict[str, float]) -> np.ndarray:
        """Number fractions of the database sizes for the current size parameters."""
        if self.population_kind is None:
            return np.ones(1)
        from nanotwin_core.population.distributions import BivariateLogNormal, LogNormal

        if self.population_kind == "prism":
            dist = BivariateLogNormal(values["Dab_nm"], values["sab"], values["Lc_nm"], values["sc"],
                                      self.model.population.correlation)
            w = self.grid.weights(dist).ravel()
        else:
            w = self.grid.weights(LogNormal(values["D_nm"], values["sD"]))
        total = w.sum()
        if not total > 0:
            raise NanotwinError("the size distribution lies outside the size grid")
        return w / total

    def q_model(self, values: dict[str, float]) -> np.ndarray:
        """Q (1/Å) at which the model is evaluated for every data point (zero shift applied)."""
        if self.data.x_kind == "q":
            return self.x
        tth = self.x - values.get("zero", 0.0)
        return 4 * np.pi * np.sin(np.radians(np.clip(tth, 1e-6, 179.9)) / 2) / self.data.wavelength

    def population_pattern(self, values: dict[str, float]) -> np.ndarray:
        """Scale-free model curve (polarization and resolution applied) on the data grid.

        Evaluated on the fitted points only (zero elsewhere): the database covers the fitted range.
        """
        b_iso = {k[2:]: v for k, v in values.items() if k.startswith("B_")}
        m = self.mask
        q = self.q_model(values)[m]
        part = self.database.intensity(
            self.size_weights(values), q, b_iso=b_iso, radiation=self.model.radiation,
            energy_kev=self.energy_kev, anomalous=self.model.anomalous,
            expansion=values.get("expansion", 0.0),
        )
        curve = np.zeros(len(self.x))
        curve[m] = part
        if self.data.x_kind == "tth":
            if self.settings.polarization not in (None, "none"):
                from nanotwin_core.scattering import polarization_factor

                tth = self.x[m] - values.get("zero", 0.0)
                curve[m] *= polarization_factor(tth, self.settings.polarization)
            if self.settings.caglioti is not None:
                curve = self._resolution.apply(self.x, curve)
        return curve

    @property
    def energy_kev(self) -> float | None:
        from nanotwin_core.scattering.form_factors import energy_from_wavelength

        if self.model.energy_kev:
            return self.model.energy_kev
        wl = self.model.wavelength or getattr(self.data, "wavelength", None)
        return energy_from_wavelength(wl) if wl else None

    def basis(self, values: dict[str, float]) -> np.ndarray:
        cols = [self.population_pattern(values)]
        cols.extend(self._static_columns.T)
        return np.column_stack(cols)

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
        if self.population_kind is not None:
            leak = self._grid_leak({p.name: p.value for p in result.params})
            if leak > 1e-2:
                result.messages.append(
                    f"{leak:.1%} of the refined size distribution (by number) lies outside the size grid: "
                    "widen the grid or check the size parameters"
                )
        return result

    def _grid_leak(self, values: dict[str, float]) -> float:
        from nanotwin_core.population.distributions import BivariateLogNormal, LogNormal

        if self.population_kind == "prism":
            dist = BivariateLogNormal(values["Dab_nm"], values["sab"], values["Lc_nm"], values["sc"],
                                      self.model.population.correlation)
        else:
            dist = LogNormal(values["D_nm"], values["sD"])
        return max(0.0, 1.0 - float(self.grid.weights(dist).sum()))

    def distribution(self, values: dict[str, float]):
        """The size distribution object for parameter values (None for a single crystal)."""
        from nanotwin_core.population.distributions import BivariateLogNormal, LogNormal

        if self.population_kind == "prism":
            return BivariateLogNormal(values["Dab_nm"], values["sab"], values["Lc_nm"], values["sc"],
                                      self.model.population.correlation)
        if self.population_kind is not None:
            return LogNormal(values["D_nm"], values["sD"])
        return None


def _units(structure, shape: str) -> tuple[tuple[float, ...], float]:
    """(size unit(s) in nm, atoms per unit) for the size grid of a shape."""
    from nanotwin_core.population.grid import prism_steps_nm

    cell = structure.cell
    atoms_cell = float(sum(structure.composition().values()))
    if shape == "prism":
        return prism_steps_nm(cell), atoms_cell
    from nanotwin_core.builder import find_ownership

    try:
        own = find_ownership(structure)
        node_vol = float(own.node_volume)
        per_node = float(own.atoms_per_node)
    except Exception:  # no coherent sublattice: whole cells
        node_vol, per_node = cell.volume, atoms_cell
    unit = node_vol ** (1 / 3) / 10.0
    per_unit = per_node * (math.pi / 6 if shape == "sphere" else 1.0)
    return (unit,), per_unit


def prepare_fit(
    model: Model,
    data,
    settings: FitSettings,
    *,
    progress: Callable[[float, str], None] | None = None,
    cancel: Callable[[], bool] | None = None,
    structure=None,
) -> DSEFitProblem:
    """Build the size database and the parameter set for fitting ``model`` to ``data``.

    ``structure`` overrides the model's structure name or CIF (a ``Structure`` object).
    """
    from nanotwin_core.population.distributions import BivariateLogNormal, LogNormal
    from nanotwin_core.population.grid import SizeGrid, SizeGrid1D, choose_grid, choose_grid_1d
    from nanotwin_core.refine.background import blank_on_grid, chebyshev_basis
    from nanotwin_core.refine.parameters import Parameter, ParameterSet
    from nanotwin_core.refine.size_database import build_size_database
    model.validate()
    if data.x_kind == "tth" and not data.wavelength:
        raise NanotwinError(f"{data.path}: 2theta data need a wavelength (--wavelength)")
    if structure is not None:
        pass
    elif model.cif:
        from nanotwin_core.structures.cif import read_cif

        structure = read_cif(model.cif)
    else:
        from nanotwin_core.structures.library import get_structure

        structure = get_structure(model.structure)

    x = np.asarray(data.x, dtype=float)
    mask = np.asarray(getattr(data, "mask", None) if getattr(data, "mask", None) is not None
                      else np.ones(len(x), bool), bool).copy()
    q_all = None
    if data.x_kind == "tth":
        q_all = 4 * np.pi * np.sin(np.radians(x) / 2) / data.wavelength
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
    units, per_unit = _units(structure, shape)
    grid, grid_out, kind = None, 0.0, None
    if model.population is not None:
        pop = model.population
        kind = "prism" if shape == "prism" else "1d"
        if kind == "prism":
            lo = choose_grid(
                BivariateLogNormal(pop.Dab * 0.75, pop.sab, pop.Lc * 0.75, pop.sc, pop.correlation),
                structure.cell, per_unit, tol=settings.grid_tol,
            )
            hi = choose_grid(BivariateLogNormal(pop.Dab * 1.25, pop.sab * 1.1, pop.Lc * 1.25, pop.sc * 1.1,
                                                pop.correlation), structure.cell, per_unit,
                             tol=settings.grid_tol)
            grid = SizeGrid(units[0], units[1], min(lo.grid.nab_min, hi.grid.nab_min),
                            max(lo.grid.nab_max, hi.grid.nab_max), min(lo.grid.nc_min, hi.grid.nc_min),
                            max(lo.grid.nc_max, hi.grid.nc_max), per_unit)
            sizes = grid.points()
            grid_out = choose_grid(BivariateLogNormal(pop.Dab, pop.sab, pop.Lc, pop.sc, pop.correlation),
                                   structure.cell, per_unit, tol=settings.grid_tol).intensity_fraction_out
        else:
            lo = choose_grid_1d(LogNormal(pop.D * 0.75, pop.sD), units[0], per_unit, tol=settings.grid_tol)
            hi = choose_grid_1d(LogNormal(pop.D * 1.25, pop.sD * 1.1), units[0], per_unit,
                                tol=settings.grid_tol)
            grid = SizeGrid1D(units[0], min(lo.grid.n_min, hi.grid.n_min), max(lo.grid.n_max, hi.grid.n_max),
                              per_unit)
            sizes = [(int(n),) for n in grid.n]
            grid_out = choose_grid_1d(LogNormal(pop.D, pop.sD), units[0], per_unit,
                                      tol=settings.grid_tol).intensity_fraction_out
    else:
        if shape == "prism":
            sizes = [(max(1, round(model.size_ab_nm / units[0])), max(1, round(model.size_c_nm / units[1])))]
        else:
            sizes = [(max(1, round(model.size_nm / units[0])),)]
    q_fit = q_all[mask]
    margin = 0.06 if "expansion" in settings.refine else 0.0
    q_lo = max(0.0, q_fit.min() * (1 - margin) - 0.05)
    q_hi = q_fit.max() * (1 + margin) + 0.05
    if "zero" in settings.refine and data.x_kind == "tth":
        q_lo, q_hi = max(0.0, q_lo - 0.1), q_hi + 0.1
    database = build_size_database(
        structure, shape, sizes, units, (q_lo, q_hi), twins=tuple(model.twins),
        boundaries=model.boundaries, domain_size_nm=model.domain_size_nm, seeds=tuple(model.seeds),
        coherent_element=model.coherent_element, progress=progress, cancel=cancel,
    )

    # ---- parameters
    params = ParameterSet()
    refine = set(settings.refine)
    groups = sorted({t.adp_group for t in database.types})
    site_b = {s.adp_group: s.b_iso for s in structure.sites}
    for g in groups:
        start = model.adp.get(g, site_b.get(g, 1.0))
        params._add(Parameter(f"B_{g}", start, "adp" in refine, 0.0, 40.0))
    if model.population is not None:
        pop = model.population
        size_free = "size" in refine
        if kind == "prism":
            params._add(Parameter("Dab_nm", pop.Dab, size_free, pop.Dab * 0.75, pop.Dab * 1.25))
            params._add(Parameter("sab", pop.sab, size_free, 0.03, min(1.0, pop.sab * 1.1 + 0.1)))
            params._add(Parameter("Lc_nm", pop.Lc, size_free, pop.Lc * 0.75, pop.Lc * 1.25))
            params._add(Parameter("sc", pop.sc, size_free, 0.03, min(1.0, pop.sc * 1.1 + 0.1)))
        else:
            params._add(Parameter("D_nm", pop.D, size_free, pop.D * 0.75, pop.D * 1.25))
            params._add(Parameter("sD", pop.sD, size_free, 0.03, min(1.0, pop.sD * 1.1 + 0.1)))
    elif "size" in refine:
        messages.append("size not refined: the model is a single crystal (give --population)")
    params._add(Parameter("expansion", 0.0, "expansion" in refine, -0.05, 0.05))
    if data.x_kind == "tth":
        params._add(Parameter("zero", 0.0, "zero" in refine, -0.5, 0.5))

    # ---- linear columns: scale, background, blank
    linear_names, nonneg, static = ["scale"], [True], []
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
        population_kind=None if model.population is None else ("prism" if kind == "prism" else "1d"),
        grid=grid, grid_out=grid_out, messages=messages,
    )
    problem._static_columns = np.column_stack(static) if static else np.zeros((len(x), 0))
    if settings.caglioti is not None and data.x_kind == "tth":
        from nanotwin_core.refine.instrument import InstrumentProfile

        u, v, w = settings.caglioti
        problem._resolution = InstrumentProfile(u=u, v=v, w=w, lambda1=data.wavelength)
    return problem


def population_summary(problem: DSEFitProblem, result) -> list[dict]:
    """The ``populations`` list of the --json dict, with esds of the size parameters."""
    from nanotwin_core.refine.report import population_entry

    values = {p.name: p.value for p in result.params}
    esd = {p.name: p.esd for p in result.params}
    dist = problem.distribution(values)
    if dist is None:
        info = problem.database.sizes_nm[0]
        entry = {"name": "crystal", "fraction": 1.0, "weighting": "single crystal", "esd": {}}
        if problem.model.shape == "prism":
            d_ab, l_c = float(info[0]), float(info[1])
            entry.update(Dab_nm=d_ab, Lc_nm=l_c, D_eq_nm=(1.5 * d_ab**2 * l_c) ** (1 / 3),
                         aspect=l_c / d_ab)
        else:
            entry.update(mean_D_nm=float(info[0]))
        return [entry]
    if problem.population_kind == "prism":
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


def _derived_sizes(problem: DSEFitProblem, values: dict[str, float]) -> dict[str, float]:
    from nanotwin_core.population.statistics import prism_statistics, sphere_statistics

    dist = problem.distribution(values)
    if problem.population_kind == "prism":
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
):
    """prepare_fit + run: returns (problem, FitResult)."""
    problem = prepare_fit(model, data, settings, progress=progress, cancel=cancel)
    result = problem.run(callback=callback, cancel=cancel, global_grid=global_grid)
    return problem, result
