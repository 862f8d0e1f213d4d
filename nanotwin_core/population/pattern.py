"""Population patterns: I(Q) = sum_n w_n I_n(Q) over a size grid (SCIENCE.md section 4).

``I_n`` is the pattern of one whole crystal of grid size n (never per atom), supplied by any
callable, e.g. the DSE of a prism of n_ab x n_ab x n_c cells.  Crystal patterns are cached per
size, so refining the four size parameters only re-weights them.  Weights are the number
fractions of the grid cells renormalised to sum 1 inside the grid (the scale factor K is a
linear coefficient of the fit).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable

import numpy as np

from nanotwin_core.errors import Cancelled, NanotwinError
from nanotwin_core.population.distributions import BivariateLogNormal, LogNormal
from nanotwin_core.population.grid import SizeGrid, SizeGrid1D

__all__ = ["PopulationPattern"]


class PopulationPattern:
    """Number-weighted sum of per-crystal patterns over a size grid.

    Parameters
    ----------
    grid : a prism grid (points (n_ab, n_c)) or a 1D grid (points (n,)).
    crystal_pattern : ``crystal_pattern(point) -> I_n`` on a fixed Q grid; ``point`` is
        (n_ab, n_c) or (n,).
    min_weight : points whose intensity weight (number fraction x atoms) is below
        ``min_weight`` x the largest are skipped (not computed).
    cancel : polled before every new crystal pattern; raises :class:`Cancelled`.
    """

    def __init__(
        self,
        grid: SizeGrid | SizeGrid1D,
        crystal_pattern: Callable[[tuple[int, ...]], np.ndarray],
        *,
        min_weight: float = 1e-9,
        cancel: Callable[[], bool] | None = None,
    ) -> None:
        self.grid = grid
        self.crystal_pattern = crystal_pattern
        self.min_weight = min_weight
        self.cancel = cancel
        self.cache: dict[Hashable, np.ndarray] = {}

    def _points(self) -> list[tuple[int, ...]]:
        if isinstance(self.grid, SizeGrid):
            return [(int(i), int(j)) for i in self.grid.n_ab for j in self.grid.n_c]
        return [(int(i),) for i in self.grid.n]

    def weights(self, dist: BivariateLogNormal | LogNormal) -> np.ndarray:
        """Number fractions of the grid points, flattened in point order, summing to 1."""
        w = np.asarray(self.grid.weights(dist), float).ravel()  # type: ignore[arg-type]
        tot = w.sum()
        if tot <= 0:
            raise NanotwinError("the size distribution puts no crystal on the size grid")
        return w / tot

    def __call__(self, dist: BivariateLogNormal | LogNormal) -> np.ndarray:
        """The population pattern sum_n w_n I_n for the distribution ``dist``."""
        w = self.weights(dist)
        atoms = np.asarray(self.grid.atoms(), float).ravel()
        iw = w * atoms
        keep = iw >= self.min_weight * iw.max()
        total: np.ndarray | None = None
        for point, wi, k in zip(self._points(), w, keep, strict=True):
            if not k:
                continue
            pat = self.cache.get(point)
            if pat is None:
                if self.cancel is not None and self.cancel():
                    raise Cancelled("population pattern cancelled")
                pat = np.asarray(self.crystal_pattern(point), float)
                self.cache[point] = pat
            total = wi * pat if total is None else total + wi * pat
        assert total is not None  # at least the largest weight is kept
        return total
