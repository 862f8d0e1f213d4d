"""Size grids of a fit: which crystal sizes a population's database holds, and its parameters.

A population's size parameters (``Dab_nm``, ``sab``, ``Lc_nm``, ``sc`` for bivariate shapes, or
``D_nm``, ``sD``) only re-weight the per-size Debye sums, so the grid must hold every size the
fit may reach: the union over the corners of the box the parameters may explore (means +-25 %,
dispersions 0.03 up to ``s_max``), cut by intensity weight (docs/internals.md).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from nanotwin_core.builder.shape_kinds import get_shape
from nanotwin_core.errors import NanotwinError
from nanotwin_core.population.distributions import BivariateLogNormal, LogNormal
from nanotwin_core.population.grid import SizeGrid1D, choose_grid_1d, intensity_fraction_out, union_grid
from nanotwin_core.refine.parameters import Parameter

__all__ = ["SIZE_LIMIT_NAMES", "SizeGridChoice", "grid_weights", "grown_population", "min_domains", "s_max",
           "size_distribution", "size_global_grid", "size_grid", "size_parameters"]


@dataclass
class SizeGridChoice:
    """``grid`` (None for a single crystal), ``grid_out`` (start distribution's intensity fraction
    outside it), ``kind`` ("bivariate", "univariate" or None), ``sizes`` (whole counts per crystal),
    ``units`` (nm per count)."""

    grid: object | None
    grid_out: float
    kind: str | None
    sizes: list[tuple[int, ...]]
    units: tuple[float, ...]

    def __iter__(self):  # unpacks as (grid, grid_out, kind, sizes, units)
        return iter((self.grid, self.grid_out, self.kind, self.sizes, self.units))


def size_distribution(kind: str | None, values: dict[str, float], suffix: str, correlation: float):
    """Log-normal size distribution from the size parameters ``<name><suffix>`` (None: single)."""
    if kind == "bivariate":
        return BivariateLogNormal(values["Dab_nm" + suffix], values["sab" + suffix],
                                  values["Lc_nm" + suffix], values["sc" + suffix], correlation)
    if kind is not None:
        return LogNormal(values["D_nm" + suffix], values["sD" + suffix])
    return None


def grid_weights(kind: str, grid, values: dict[str, float], suffix: str, correlation: float) -> np.ndarray:
    """Normalised number fractions of the grid sizes."""
    dist = size_distribution(kind, values, suffix, correlation)
    w = np.asarray(grid.point_weights(dist) if hasattr(grid, "point_weights") else grid.weights(dist),
                   float).ravel()
    total = w.sum()
    if not total > 0:
        raise NanotwinError("the size distribution lies outside the size grid")
    return w / total


def s_max(s: float, prism: bool = False) -> float:
    """Upper bound of a relative size dispersion during a fit (the size grid covers it).

    The grid's largest crystals, which cost the most, grow fast with the dispersion's bound, so
    it stays near the start: s + 0.08 for prisms (0.24 -> 0.32 halves the work of 1.1 s + 0.1
    for the paper's CsPbBr3 population), s + 0.15 for one size (was 2 s + 0.1: a start of
    D = 4 nm, sD = 0.25 then reached 45 nm crystals). A fit that ends at the bound is refitted
    with the box moved there (``grown_population``, ``actions.fit_model``).
    """
    return min(1.0, s + 0.08) if prism else min(1.0, s + 0.15)


def min_domains(setting: int | None, sizes: list, domain_size_nm: float | None) -> int | None:
    """Adaptive realisations (``setting`` domains) only for populations of random networks (a
    single crystal, or a fixed number of boundaries, keeps every seed)."""
    if domain_size_nm is None or len(sizes) < 2:
        return None
    return setting


def size_parameters(pop, kind: str | None, suffix: str, free: bool) -> list[Parameter]:
    """Size parameters of a population (bounds: +-25 % of the start means, dispersions from 0.03
    to ``s_max``): ``Dab_nm``, ``sab``, ``Lc_nm``, ``sc`` (bivariate) or ``D_nm``, ``sD``, each
    with ``suffix`` (a mixture component's own sizes)."""
    if kind == "bivariate":
        return [Parameter("Dab_nm" + suffix, pop.Dab, free, pop.Dab * 0.75, pop.Dab * 1.25),
                Parameter("sab" + suffix, pop.sab, free, 0.03, s_max(pop.sab, True)),
                Parameter("Lc_nm" + suffix, pop.Lc, free, pop.Lc * 0.75, pop.Lc * 1.25),
                Parameter("sc" + suffix, pop.sc, free, 0.03, s_max(pop.sc, True))]
    if kind is not None:
        return [Parameter("D_nm" + suffix, pop.D, free, pop.D * 0.75, pop.D * 1.25),
                Parameter("sD" + suffix, pop.sD, free, 0.03, s_max(pop.sD))]
    return []


SIZE_LIMIT_NAMES = {"bivariate": (("Dab_nm", "sab"), ("Lc_nm", "sc")), "univariate": (("D_nm", "sD"),)}


def grown_population(pop, kind: str | None, params) -> tuple[object, str] | None:
    """A population centred where a fit left its size box, or None when no size parameter ended
    at a limit of the box (a mean at either limit, a dispersion at its upper one; the lower
    dispersion limit 0.03 is a floor, not the box).

    ``pop``: the ``PopulationSpec`` the box was made for; ``params``: the fit's ``ParameterSet``.
    Returns (PopulationSpec at the fitted values, one line saying what moved).
    """
    if kind not in SIZE_LIMIT_NAMES:
        return None
    moved = []
    for mean, disp in SIZE_LIMIT_NAMES[kind]:
        if mean in params and params[mean].is_free and params[mean].at_bound:
            moved.append(f"{mean} at its {params[mean].at_bound} limit {params[mean].value:.4g}")
        if disp in params and params[disp].is_free and params[disp].at_bound == "max":
            moved.append(f"{disp} at its upper limit {params[disp].value:.4g}")
    if not moved:
        return None
    values = {p.name: p.value for p in params}
    if kind == "bivariate":
        new = replace(pop, Dab=values["Dab_nm"], sab=values["sab"], Lc=values["Lc_nm"], sc=values["sc"])
    else:
        new = replace(pop, D=values["D_nm"], sD=values["sD"])
    reason = "the size box moved (" + "; ".join(moved) + "): its grid was rebuilt there and the fit repeated"
    return new, reason


def size_grid(model, pop, structure, grid_tol: float = 1e-3) -> SizeGridChoice:
    """The size grid of a population (or the one size of a single crystal) of ``model``'s shape.

    Prisms: the grid holds all but ``grid_tol`` of the intensity of the start
    distribution and of every corner of the box the fit may explore (means +-25 %, dispersions
    within their bounds), see :func:`union_grid`.
    """
    shape = get_shape(model.shape)
    units, per_unit = shape.grid_units(structure)
    grid, grid_out, kind = None, 0.0, None
    if pop is not None:
        kind = "bivariate" if shape.bivariate else "univariate"
        if kind == "bivariate":
            # every corner of the box the fit may explore (means +-25 %, dispersions from 0.03 up
            # to their bound): the grid holds all but ~tol of the intensity of each
            s_ab, s_c = s_max(pop.sab, True), s_max(pop.sc, True)
            corners = [BivariateLogNormal(pop.Dab * fd, sa, pop.Lc * fl, sc, pop.correlation)
                       for fd in (0.75, 1.25) for fl in (0.75, 1.25)
                       for sa in (min(0.03, pop.sab), s_ab) for sc in (min(0.03, pop.sc), s_c)]
            start = BivariateLogNormal(pop.Dab, pop.sab, pop.Lc, pop.sc, pop.correlation)
            grid = union_grid([start, *corners], structure.cell, per_unit, tol=grid_tol)
            sizes = grid.points()
            grid_out = intensity_fraction_out(grid, start)
        else:
            lo = choose_grid_1d(LogNormal(pop.D * 0.75, s_max(pop.sD)), units[0], per_unit,
                                tol=grid_tol)
            hi = choose_grid_1d(LogNormal(pop.D * 1.25, s_max(pop.sD)), units[0], per_unit,
                                tol=grid_tol)
            # crystals beyond 2.5 x the largest allowed mean are left out (memory); the fit reports
            # the part of the distribution outside the grid
            n_cap = max(lo.grid.n_max, int(math.ceil(2.5 * pop.D * 1.25 / units[0])))
            grid = SizeGrid1D(units[0], min(lo.grid.n_min, hi.grid.n_min),
                              min(max(lo.grid.n_max, hi.grid.n_max), n_cap), per_unit)
            sizes = [(int(n),) for n in grid.n]
            grid_out = choose_grid_1d(LogNormal(pop.D, pop.sD), units[0], per_unit,
                                      tol=grid_tol).intensity_fraction_out
    elif shape.whole_steps:  # one crystal of whole steps (cells), as the builder makes it
        sizes = [shape.counts(shape.check_sizes(model.sizes()), units)]
    else:  # one crystal: exactly the model's sizes (one step each), the crystal simulate and Build make
        requested = shape.check_sizes(model.sizes())
        units = tuple(float(requested[a]) for a in shape.size_attrs)
        sizes = [(1,) * len(units)]
    return SizeGridChoice(grid, grid_out, kind, sizes, units)


def size_global_grid(params, points: int = 5) -> dict[str, list[float]]:
    """A coarse grid over the free size parameters within their bounds (``points`` values each,
    means spaced evenly in log, dispersions evenly), for ``Refinement.global_start``."""
    grid: dict[str, list[float]] = {}
    for names in SIZE_LIMIT_NAMES.values():
        for mean, disp in names:
            for name in (mean, disp):
                if name in params and params[name].is_free:
                    p = params[name]
                    values = (np.geomspace(p.min, p.max, points) if name == mean
                              else np.linspace(p.min, p.max, points))
                    grid[name] = [float(v) for v in values]
    return grid
