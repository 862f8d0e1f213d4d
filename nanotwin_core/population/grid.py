"""Discrete size grids and their weights.

Prisms (DebUsSy convention, SCIENCE.md section 4): n_ab cells across the ab base and n_c along c,
D_ab = n_ab sqrt(4ab/pi), L_c = n_c c (a, b, c in Å; sizes in nm).  The weight of a grid point
is the number-probability mass of its grid cell, [n - 1/2, n + 1/2] in each direction (CDF
differences), so weights sum to the number fraction inside the grid.  Atoms per crystal are
proportional to n_ab^2 n_c (prisms) or n^3 (spheres, cubes: the volume rule).

Grids are cut by *intensity* weight (number fraction x atoms), never by number: large crystals
are few but scatter most.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import ndtri

from nanotwin_core.errors import NanotwinError
from nanotwin_core.population.distributions import BivariateLogNormal, LogNormal

# reference grids beyond these sizes cannot even be held in memory: such a population is refused
MAX_GRID_CELLS = 10_000_000  # cells across one crystal
MAX_WIDE_POINTS = 20_000_000  # (n_ab, n_c) points of a prism reference grid

TOO_WIDE = ("the size population is too wide to compute: its intensity reaches crystals of {size} "
            "({cells} cells across); give a smaller relative dispersion (sD, or sab and sc; the paper's "
            "are 0.2-0.6)")

__all__ = ["SizeGrid", "SizeGrid1D", "prism_steps_nm", "choose_grid", "choose_grid_1d", "GridChoice"]


def prism_steps_nm(cell: tuple[float, float, float] | object) -> tuple[float, float]:
    """(step of D_ab, step of L_c) in nm for a cell (a, b, c) in Å: (sqrt(4ab/pi)/10, c/10).

    ``cell`` is a tuple (a, b, c) or any object with attributes a, b, c (e.g. ``Cell``).
    """
    if hasattr(cell, "a"):
        a, b, c = float(cell.a), float(cell.b), float(cell.c)  # type: ignore[attr-defined]
    else:
        a, b, c = (float(v) for v in cell)  # type: ignore[union-attr]
    if min(a, b, c) <= 0:
        raise NanotwinError(f"cell lengths must be positive, got {(a, b, c)}")
    return math.sqrt(4 * a * b / math.pi) / 10.0, c / 10.0


@dataclass
class SizeGrid:
    """A rectangular grid of prisms, n_ab in [nab_min, nab_max], n_c in [nc_min, nc_max].

    Attributes
    ----------
    step_ab, step_c : nm per cell along D_ab and L_c.
    nab_min, nab_max, nc_min, nc_max : inclusive integer bounds (>= 1); edit them freely.
    atoms_per_cell : atoms in one unit cell (for atom counts and intensity weights).
    keep : optional bool mask of shape ``self.shape``: only these points are in the grid (the
        corners of the rectangle that no allowed distribution weighs are left out, see
        :func:`union_grid`); ``weights`` is zero elsewhere and ``points`` skips them.
    """

    step_ab: float
    step_c: float
    nab_min: int
    nab_max: int
    nc_min: int
    nc_max: int
    atoms_per_cell: float = 1.0
    keep: np.ndarray | None = None

    def __post_init__(self) -> None:
        if not (1 <= self.nab_min <= self.nab_max and 1 <= self.nc_min <= self.nc_max):
            raise NanotwinError(
                f"bad size grid bounds n_ab {self.nab_min}..{self.nab_max}, n_c {self.nc_min}..{self.nc_max}"
            )
        if self.keep is not None:
            self.keep = np.asarray(self.keep, bool)
            if self.keep.shape != self.shape or not self.keep.any():
                raise NanotwinError("size grid mask must match the grid and keep at least one point")

    @property
    def n_ab(self) -> np.ndarray:
        """Cells across the base, one per row."""
        return np.arange(self.nab_min, self.nab_max + 1)

    @property
    def n_c(self) -> np.ndarray:
        """Cells along c, one per column."""
        return np.arange(self.nc_min, self.nc_max + 1)

    @property
    def shape(self) -> tuple[int, int]:
        """(number of n_ab values, number of n_c values)."""
        return self.n_ab.size, self.n_c.size

    @property
    def d_ab(self) -> np.ndarray:
        """D_ab (nm) of every row."""
        return self.n_ab * self.step_ab

    @property
    def l_c(self) -> np.ndarray:
        """L_c (nm) of every column."""
        return self.n_c * self.step_c

    def cells(self) -> np.ndarray:
        """Unit cells per crystal, n_ab^2 n_c, shape ``self.shape``."""
        return np.outer(self.n_ab.astype(float) ** 2, self.n_c.astype(float))

    def atoms(self) -> np.ndarray:
        """Atoms per crystal (atoms_per_cell x n_ab^2 n_c)."""
        return self.atoms_per_cell * self.cells()

    def volumes_nm3(self) -> np.ndarray:
        """Prism volumes (pi/4) D_ab^2 L_c in nm^3."""
        return np.outer(math.pi / 4 * self.d_ab**2, self.l_c)

    def weights(self, dist: BivariateLogNormal) -> np.ndarray:
        """Number fraction of every grid point (cell mass of the density), shape ``self.shape``."""
        nab = self.n_ab.astype(float)
        nc = self.n_c.astype(float)
        w = dist.cell_mass(
            (nab - 0.5) * self.step_ab,
            (nab + 0.5) * self.step_ab,
            (nc - 0.5) * self.step_c,
            (nc + 0.5) * self.step_c,
        )
        return w if self.keep is None else np.where(self.keep, w, 0.0)

    def point_weights(self, dist: BivariateLogNormal) -> np.ndarray:
        """Number fractions of the grid's points, in ``points()`` order (not renormalised)."""
        w = self.weights(dist)
        return w.ravel() if self.keep is None else w[self.keep]

    def intensity_weights(self, dist: BivariateLogNormal) -> np.ndarray:
        """Number fraction x atoms per crystal (un-normalised intensity weight)."""
        return self.weights(dist) * self.atoms()

    def points(self) -> list[tuple[int, int]]:
        """All (n_ab, n_c) pairs of the grid (the mask's, if any) in C order of ``self.shape``."""
        if self.keep is None:
            return [(int(i), int(j)) for i in self.n_ab for j in self.n_c]
        rows, cols = np.nonzero(self.keep)
        return [(int(self.n_ab[a]), int(self.n_c[b])) for a, b in zip(rows, cols, strict=True)]


@dataclass
class SizeGrid1D:
    """A grid of spheres or cubes, n in [n_min, n_max], size D = n x step (nm), atoms ∝ n^3."""

    step: float
    n_min: int
    n_max: int
    atoms_per_unit: float = 1.0

    def __post_init__(self) -> None:
        if not 1 <= self.n_min <= self.n_max:
            raise NanotwinError(f"bad size grid bounds {self.n_min}..{self.n_max}")

    @property
    def n(self) -> np.ndarray:
        """Grid indices."""
        return np.arange(self.n_min, self.n_max + 1)

    @property
    def sizes(self) -> np.ndarray:
        """Sizes (nm)."""
        return self.n * self.step

    def atoms(self) -> np.ndarray:
        """Atoms per crystal (volume rule, atoms_per_unit x n^3)."""
        return self.atoms_per_unit * self.n.astype(float) ** 3

    def weights(self, dist: LogNormal) -> np.ndarray:
        """Number fraction of every grid point (mass of [n - 1/2, n + 1/2] x step)."""
        n = self.n.astype(float)
        return dist.mass((n - 0.5) * self.step, (n + 0.5) * self.step)

    def intensity_weights(self, dist: LogNormal) -> np.ndarray:
        """Number fraction x atoms per crystal."""
        return self.weights(dist) * self.atoms()


@dataclass
class GridChoice:
    """A chosen grid with what it leaves out.

    Attributes
    ----------
    grid : the grid.
    number_fraction_in : number fraction inside the grid.
    intensity_fraction_out : intensity (number x atoms) fraction outside the grid.
    """

    grid: SizeGrid | SizeGrid1D
    number_fraction_in: float
    intensity_fraction_out: float


def _tilted_bounds(mean_log: float, s: float, step: float, p: float) -> tuple[int, int]:
    """Integer bounds holding all but p/2 on each side of a normal in ln(size)."""
    z = float(-ndtri(p / 2))
    lo = math.exp(mean_log - z * s) / step
    hi = math.exp(mean_log + z * s) / step
    if hi > MAX_GRID_CELLS:
        raise NanotwinError(TOO_WIDE.format(size=f"{hi * step:.3g} nm", cells=f"{hi:.3g}"))
    return max(1, int(math.floor(lo + 0.5))), max(1, int(math.ceil(hi + 0.5)))


def _wide_prism_grid(step_ab: float, step_c: float, mu1: float, s1: float, mu2: float, s2: float) -> SizeGrid:
    """The reference prism grid from 1 cell to 10 standard deviations of the tilted log-normal."""
    n_ab = _tilted_bounds(mu1, s1, step_ab, 1e-20)[1]
    n_c = _tilted_bounds(mu2, s2, step_c, 1e-20)[1]
    if n_ab * n_c > MAX_WIDE_POINTS:
        raise NanotwinError(TOO_WIDE.format(size=f"{n_ab * step_ab:.3g} x {n_c * step_c:.3g} nm",
                                            cells=f"{n_ab} x {n_c}"))
    return SizeGrid(step_ab, step_c, 1, n_ab, 1, n_c)


def choose_grid(
    dist: BivariateLogNormal,
    cell: tuple[float, float, float] | object,
    atoms_per_cell: float = 1.0,
    tol: float = 1e-3,
    max_points: int = 200_000,
) -> GridChoice:
    """Choose the smallest practical prism grid leaving out less than ``tol`` of the intensity.

    The intensity weight of a grid point is number fraction x atoms (∝ n_ab^2 n_c).  The bounds
    start from the quantiles of the intensity-tilted log-normal and are widened until the
    left-out fraction (against a grid reaching 10 standard deviations) is below ``tol``.

    Returns
    -------
    GridChoice (grid, number fraction in the grid, intensity fraction left out).
    """
    step_ab, step_c = prism_steps_nm(cell)
    tilt = dist.tilted(2.0, 1.0)
    mu1, s1, mu2, s2 = tilt.log_params()
    # the reference: a very wide grid
    wide = _wide_prism_grid(step_ab, step_c, mu1, s1, mu2, s2)
    total = float(wide.intensity_weights(dist).sum())
    p = tol / 2
    for _ in range(60):
        g = SizeGrid(
            step_ab,
            step_c,
            *_tilted_bounds(mu1, s1, step_ab, p),
            *_tilted_bounds(mu2, s2, step_c, p),
            atoms_per_cell,
        )
        if g.shape[0] * g.shape[1] > max_points:
            raise NanotwinError(f"size grid would need more than {max_points} crystals; raise tol")
        out = 1.0 - float((g.weights(dist) * g.cells()).sum()) / total
        if out < tol:
            return GridChoice(g, float(g.weights(dist).sum()), max(out, 0.0))
        p /= 2
    raise NanotwinError("could not find a size grid within the tolerance")  # pragma: no cover


def intensity_fraction_out(grid: SizeGrid, dist: BivariateLogNormal) -> float:
    """Intensity (number x atoms) fraction of ``dist`` outside ``grid`` (mask included)."""
    tilt = dist.tilted(2.0, 1.0)
    mu1, s1, mu2, s2 = tilt.log_params()
    wide = _wide_prism_grid(grid.step_ab, grid.step_c, mu1, s1, mu2, s2)
    total = float(wide.intensity_weights(dist).sum())
    return max(0.0, 1.0 - float((grid.weights(dist) * grid.cells()).sum()) / total)


def union_grid(
    dists: list[BivariateLogNormal],
    cell: tuple[float, float, float] | object,
    atoms_per_cell: float = 1.0,
    tol: float = 1e-3,
) -> SizeGrid:
    """The smallest grid that leaves out less than ``tol`` of the intensity of every one of ``dists``.

    The bounding rectangle of the per-distribution grids (each leaving out < tol/2) is cut down
    to the union, over the distributions, of the heaviest points holding all but tol/2 of each
    one's intensity: a fit whose size parameters move inside the box spanned by ``dists`` (its
    corners) keeps its left-out fraction near ``tol`` while the large-D, large-L corner, which
    no allowed distribution weighs but which costs the most to compute, is skipped.
    """
    if not dists:
        raise NanotwinError("union_grid needs at least one distribution")
    choices = [choose_grid(d, cell, atoms_per_cell, tol=tol / 2).grid for d in dists]
    step_ab, step_c = choices[0].step_ab, choices[0].step_c
    rect = SizeGrid(step_ab, step_c, min(g.nab_min for g in choices), max(g.nab_max for g in choices),
                    min(g.nc_min for g in choices), max(g.nc_max for g in choices), atoms_per_cell)
    keep = np.zeros(rect.shape, bool)
    for d in dists:
        w = rect.intensity_weights(d).ravel()
        w = w / w.sum()
        order = np.argsort(w)[::-1]
        n = int(np.searchsorted(np.cumsum(w[order]), 1.0 - tol / 2)) + 1
        chosen = np.zeros(w.size, bool)
        chosen[order[:n]] = True
        keep |= chosen.reshape(rect.shape)
    rect.keep = keep
    return rect


def choose_grid_1d(
    dist: LogNormal, step: float, atoms_per_unit: float = 1.0, tol: float = 1e-3
) -> GridChoice:
    """As :func:`choose_grid` for spheres or cubes of size n x step (nm), atoms ∝ n^3."""
    tilt = dist.tilted(3.0)
    wide = SizeGrid1D(step, 1, _tilted_bounds(tilt.mu, tilt.s, step, 1e-20)[1])
    total = float(wide.intensity_weights(dist).sum())
    p = tol / 2
    for _ in range(60):
        g = SizeGrid1D(step, *_tilted_bounds(tilt.mu, tilt.s, step, p), atoms_per_unit)
        out = 1.0 - float((g.weights(dist) * g.n.astype(float) ** 3).sum()) / total
        if out < tol:
            return GridChoice(g, float(g.weights(dist).sum()), max(out, 0.0))
        p /= 2
    raise NanotwinError("could not find a size grid within the tolerance")  # pragma: no cover
