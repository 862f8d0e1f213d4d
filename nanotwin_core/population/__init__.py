"""Nanocrystal size populations: log-normal distributions, discrete size grids, statistics."""

from nanotwin_core.population.distributions import BivariateLogNormal, LogNormal, Mixture, MixtureComponent
from nanotwin_core.population.grid import (
    GridChoice,
    SizeGrid,
    SizeGrid1D,
    choose_grid,
    choose_grid_1d,
    prism_steps_nm,
)
from nanotwin_core.population.pattern import PopulationPattern
from nanotwin_core.population.statistics import (
    SizeStatistics,
    SphereStatistics,
    grid_statistics,
    grid_statistics_1d,
    mixture_statistics,
    prism_statistics,
    prism_statistics_quadrature,
    sphere_statistics,
    tail_fractions,
)

__all__ = [
    "BivariateLogNormal",
    "GridChoice",
    "LogNormal",
    "Mixture",
    "MixtureComponent",
    "PopulationPattern",
    "SizeGrid",
    "SizeGrid1D",
    "SizeStatistics",
    "SphereStatistics",
    "choose_grid",
    "choose_grid_1d",
    "grid_statistics",
    "grid_statistics_1d",
    "mixture_statistics",
    "prism_statistics",
    "prism_statistics_quadrature",
    "prism_steps_nm",
    "sphere_statistics",
    "tail_fractions",
]
