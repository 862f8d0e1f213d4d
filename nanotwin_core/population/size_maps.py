"""Number- and volume-weighted size distributions on a grid, for drawing: a 1D histogram for one
size (spheres, cubes: volume ~ D^3) and a 2D map over (D_ab, L_c) for prisms (volume ~
D_ab^2 L_c), as the paper's Fig. 6b. Bin contents are fractions (number or volume) from the
log-normal's exact cell masses, not sampled densities.

``distribution_of(entry)`` rebuilds the number distribution from a ``populations`` entry of a
fit summary (``refine.report.population_entry``: number-based means and dispersions).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from nanotwin_core.errors import NanotwinError
from nanotwin_core.population.distributions import BivariateLogNormal, LogNormal

__all__ = ["SizeHistogram", "SizeMap", "distribution_of", "size_histogram", "size_map"]

TAIL = 1e-3  # number and volume fractions left out beyond the drawn range, at each end


@dataclass(frozen=True)
class SizeHistogram:
    """Bins ``edges_nm`` (n + 1) and the number and volume fractions in each (n)."""

    edges_nm: np.ndarray
    number: np.ndarray
    volume: np.ndarray

    @property
    def centres_nm(self) -> np.ndarray:
        return 0.5 * (self.edges_nm[1:] + self.edges_nm[:-1])


@dataclass(frozen=True)
class SizeMap:
    """Cells ``dab_edges_nm`` x ``lc_edges_nm`` and the number and volume fractions (n_ab, n_c)."""

    dab_edges_nm: np.ndarray
    lc_edges_nm: np.ndarray
    number: np.ndarray
    volume: np.ndarray


def _span(dists: list[LogNormal]) -> tuple[float, float]:
    lo = min(float(d.ppf(TAIL)) for d in dists)
    hi = max(float(d.ppf(1 - TAIL)) for d in dists)
    return lo, hi


def size_histogram(dist: LogNormal, n_bins: int = 60) -> SizeHistogram:
    """Number and volume (D^3) fractions of a one-size population in ``n_bins`` equal bins that
    hold all but ``TAIL`` of either weighting at each end."""
    vol = dist.tilted(3)
    edges = np.linspace(*_span([dist, vol]), n_bins + 1)
    return SizeHistogram(edges, dist.mass(edges[:-1], edges[1:]), vol.mass(edges[:-1], edges[1:]))


def size_map(dist: BivariateLogNormal, n: int = 60) -> SizeMap:
    """Number and volume (D_ab^2 L_c) fractions of a prism population on an n x n grid."""
    vol = dist.tilted(2, 1)
    ab = np.linspace(*_span([dist.ab, vol.ab]), n + 1)
    lc = np.linspace(*_span([dist.c, vol.c]), n + 1)
    return SizeMap(ab, lc, dist.cell_mass(ab[:-1], ab[1:], lc[:-1], lc[1:]),
                   vol.cell_mass(ab[:-1], ab[1:], lc[:-1], lc[1:]))


def distribution_of(entry: Mapping) -> LogNormal | BivariateLogNormal | None:
    """The number distribution of a fit summary's population entry (None for a single crystal)."""
    if entry.get("weighting") == "single crystal":
        return None
    try:
        if entry.get("Dab_nm") is not None and entry.get("sab") is not None:
            return BivariateLogNormal(float(entry["Dab_nm"]), float(entry["sab"]), float(entry["Lc_nm"]),
                                      float(entry["sc"]), float(entry.get("rho", 0.0)))
        if entry.get("mean_D_nm") is not None and entry.get("sD") is not None:
            return LogNormal(float(entry["mean_D_nm"]), float(entry["sD"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise NanotwinError(f"population {entry.get('name', '?')}: {exc}") from exc
    return None
