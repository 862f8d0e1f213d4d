"""Size conventions (SCIENCE.md section 4): prisms of n_ab x n_ab x n_c unit cells.

D_ab = n_ab * sqrt(4 A / pi) with A the area of the cell's ab face (A = a b for orthogonal
cells): the diameter of the circle with the area of the prism's base. L_c = n_c * c.
Sizes in nm; cell lengths in Å.
"""

from __future__ import annotations

import math

import numpy as np

from nanotwin_core.errors import NanotwinError

#: default refusal limit for the number of atoms of one crystal
DEFAULT_MAX_ATOMS = 5_000_000


def check_size(value: object, name: str) -> float:
    """A size (nm) as a float: NanotwinError unless it is a finite number > 0."""
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise NanotwinError(f"{name} is not a number: {value!r}") from None
    if not math.isfinite(v) or v <= 0:
        raise NanotwinError(f"{name} must be > 0 nm, got {value!r}")
    return v


def check_count(value: object, name: str) -> int:
    """A positive whole number of cells (>= 1)."""
    try:
        v = int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        raise NanotwinError(f"{name} is not a whole number: {value!r}") from None
    if v != value and not (isinstance(value, float) and float(v) == value):
        raise NanotwinError(f"{name} must be a whole number of cells, got {value!r}")
    if v < 1:
        raise NanotwinError(f"{name} must be >= 1, got {value!r}")
    return v


def ab_unit_nm(cell: np.ndarray) -> float:
    """sqrt(4 A / pi) in nm, A = |a x b| (Å^2): the D_ab of one cell."""
    area = float(np.linalg.norm(np.cross(cell[0], cell[1])))
    return math.sqrt(4.0 * area / math.pi) / 10.0


def c_unit_nm(cell: np.ndarray) -> float:
    """|c| in nm: the L_c of one cell."""
    return float(np.linalg.norm(cell[2])) / 10.0


def prism_sizes(cell: np.ndarray, n_ab: int, n_c: int) -> tuple[float, float]:
    """Realised (D_ab, L_c) in nm of an n_ab x n_ab x n_c prism of ``cell`` (rows, Å)."""
    return n_ab * ab_unit_nm(cell), n_c * c_unit_nm(cell)


def prism_counts(cell: np.ndarray, size_ab_nm: float, size_c_nm: float) -> tuple[int, int]:
    """Nearest whole numbers of cells (>= 1) for the requested D_ab and L_c (nm)."""
    d = check_size(size_ab_nm, "size_ab_nm")
    lc = check_size(size_c_nm, "size_c_nm")
    return max(1, round(d / ab_unit_nm(cell))), max(1, round(lc / c_unit_nm(cell)))


def check_atoms(n_atoms: float, max_atoms: int, what: str) -> None:
    """NanotwinError if the estimated atom count exceeds ``max_atoms``."""
    if n_atoms > max_atoms:
        raise NanotwinError(
            f"{what} would hold about {int(n_atoms):,} atoms, above the limit of {max_atoms:,} atoms; "
            "build a smaller crystal or raise the limit (build and simulate: --max-atoms N; Python: "
            "max_atoms=; fits and populations keep the default)"
        )
