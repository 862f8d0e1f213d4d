"""The subcell of a structure and the class of each of its reflections (SCIENCE.md §2).

The subcell is the lattice of one element's sites (the coherent element, Pb by default): the
node lattice of the twin builder (``builder.ownership``), spanned by a reduced basis b_1, b_2,
b_3 (rows, in fractional units of the parent cell). A reflection hkl of the parent cell has the
wave vector k = (hkl . b_1, hkl . b_2, hkl . b_3) mod 1 in units of the subcell's reciprocal
basis: k = 0 is a fundamental (a reflection of the subcell itself), every other k is a
superstructure class. Doubled subcells (every k in {0, 1/2}^3: all octahedral-tilt perovskites)
name their classes by the number of halves, as the points of the cubic Brillouin zone: X (one),
M (two), R (three). Other k are named by their components, e.g. "k=(1/3,0,0)".

So Pbnm (gamma) has R, M and X; P4/mbm (beta, in-plane tilt only) has M; Pm-3m (alpha) has
fundamentals only; a structure whose chosen element does not form a Bravais lattice (delta-CsPbI3)
has no subcell and its reflections no class.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from math import lcm

import numpy as np

from nanotwin_core.builder.ownership import sublattice_basis
from nanotwin_core.errors import NanotwinError

FUNDAMENTAL = "fundamental"
HALF_NAMES = {0: FUNDAMENTAL, 1: "X", 2: "M", 3: "R"}
_K_TOL = 1e-6


def class_name(k) -> str:
    """The name of a class wave vector k (subcell reciprocal units, taken mod 1)."""
    k = np.asarray(k, dtype=float).reshape(3)
    k = k - np.floor(k + _K_TOL)
    k[np.abs(k) < _K_TOL] = 0.0
    halves = np.abs(k - 0.5) < _K_TOL
    if np.all(halves | (k == 0.0)):
        return HALF_NAMES[int(halves.sum())]
    parts = [str(Fraction(float(x)).limit_denominator(1000)) for x in k]
    return "k=(" + ",".join(parts) + ")"


@dataclass(frozen=True)
class Subcell:
    """The subcell of a structure: the lattice of ``element``'s sites.

    ``basis_frac``: reduced basis vectors (rows, parent fractional units); ``wave_vectors``:
    the class wave vectors k (rows, subcell reciprocal units, in [0, 1)), fundamental first;
    ``names``: their names (``class_name``).
    """

    element: str
    basis_frac: np.ndarray
    wave_vectors: np.ndarray
    names: tuple[str, ...]

    @property
    def n_classes(self) -> int:
        """Index of the subcell in the parent lattice (number of classes, fundamental included)."""
        return len(self.names)

    @property
    def doubled(self) -> bool:
        """True when every class wave vector lies in {0, 1/2}^3 (classes fundamental, X, M, R)."""
        return all(n in HALF_NAMES.values() for n in self.names)

    def wave_vector(self, hkl) -> np.ndarray:
        """k (N, 3) in [0, 1) of parent reflections hkl (N, 3)."""
        k = np.asarray(hkl, dtype=float).reshape(-1, 3) @ self.basis_frac.T
        k = k - np.floor(k + _K_TOL)
        k[np.abs(k) < _K_TOL] = 0.0
        return k

    def classify(self, hkl) -> list[str]:
        """The class name of each parent reflection hkl (N, 3)."""
        return [class_name(k) for k in self.wave_vector(hkl)]


def subcell_of(structure, element: str) -> Subcell:
    """The subcell of ``element``'s sites (NanotwinError if they do not form a Bravais lattice)."""
    basis = sublattice_basis(structure, element)
    den = lcm(*(Fraction(float(x)).limit_denominator(1000).denominator for x in basis.ravel()))
    grid = np.stack(np.meshgrid(*[np.arange(den)] * 3, indexing="ij"), axis=-1).reshape(-1, 3)
    k = grid @ basis.T
    k = k - np.floor(k + _K_TOL)
    k[np.abs(k) < _K_TOL] = 0.0
    distinct = np.unique(np.round(k, 9), axis=0)
    order = sorted(range(len(distinct)), key=lambda i: (np.count_nonzero(distinct[i]), tuple(distinct[i])))
    kv = distinct[order]
    return Subcell(element, np.asarray(basis, float), kv, tuple(class_name(x) for x in kv))


def find_subcell(structure, element: str | None = None) -> Subcell | None:
    """The structure's subcell, or None when it has none.

    ``element``: the element whose sites span it; by default Pb when the structure has Pb (the
    coherent sublattice of the twin builder), else the first element (in site order) whose sites
    form a Bravais lattice.
    """
    elements = [s.element for s in structure.sites]
    if element is not None:
        candidates = [element]
    elif "Pb" in elements:
        candidates = ["Pb"]
    else:
        candidates = list(dict.fromkeys(elements))
    for el in candidates:
        try:
            return subcell_of(structure, el)
        except NanotwinError:
            continue
    return None
