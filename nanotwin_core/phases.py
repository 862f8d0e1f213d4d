"""Bragg reflections of any structure (for tick marks) and its superstructure subcell, if any.

- ``phase_reflections(structure, q_max)``: every reflection family the space group allows
  (gemmi), with hkl, d (Å), Q = 2 pi / d (1/Å), powder multiplicity (Friedel mates counted) and
  |F|^2 with f = Z (drops accidental extinctions of special positions); classified as
  fundamental or superstructure where the structure has a subcell.
- ``find_subcell(structure)``: the pseudo-translations of a structure, i.e. translations t that
  are not lattice or centring vectors but move every atom to within ``tolerance`` Å of an atom
  of the same element (the octahedral tilts of a perovskite: Pbnm CsPbBr3 has t = (1/2, 1/2, 0),
  (0, 0, 1/2), (1/2, 1/2, 1/2)). Reflections with h.t integer for every t are the subcell's
  (fundamentals); the others are superstructure reflections, named R, M, X by the number of
  half-integer indices in the subcell's basis (3, 2, 1: the cubic zone-boundary points) and
  "superstructure" otherwise. PbS (rock salt) has none: its fcc translations are centring.
- ``superstructure_zoom(structure)``: the Q window (1/Å) where the superstructure peaks sit among
  the subcell's 2nd to 4th fundamentals (CsPbBr3: 1.48-2.18, the paper's region), or None.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from functools import lru_cache

import gemmi
import numpy as np
import periodictable

from nanotwin_core.errors import NanotwinError
from nanotwin_core.structures.elements import element_of
from nanotwin_core.structures.structure import Structure

__all__ = ["PhaseReflection", "Subcell", "find_subcell", "phase_reflections", "superstructure_zoom"]

PSEUDO_TOLERANCE = 1.5  # Å: a pseudo-translation moves every atom at most this far from its twin
# (gamma CsPbBr3: 1.40 Å for Br under (1/2, 1/2, 0); nearest like atoms sit >= 3 Å apart)
EXACT_TOLERANCE = 0.02  # Å: below this a translation is exact (a lattice vector the cell hides)
SUPER_CLASSES = ("R", "M", "X")
ZOOM_PAD = 0.02  # relative padding of the superstructure zoom window


@dataclass(frozen=True)
class PhaseReflection:
    """One reflection family: representative hkl, d (Å), Q (1/Å), multiplicity, |F|^2 (f = Z),
    class ("fundamental", "R", "M", "X" or "superstructure")."""

    hkl: tuple[int, int, int]
    d: float
    q: float
    multiplicity: int
    f_squared: float
    klass: str = "fundamental"

    @property
    def label(self) -> str:
        """'(1 1 1)' style text."""
        return "(" + " ".join(str(v) for v in self.hkl) + ")"


@dataclass(frozen=True)
class Subcell:
    """The subcell of a superstructure: pseudo-translations (fractions of the structure's cell),
    the subcell basis (rows, Å) and the largest atom displacement the translations leave (Å)."""

    translations: tuple[tuple[float, float, float], ...]
    basis: np.ndarray
    displacement: float

    def indices(self, hkl: np.ndarray, cell_matrix: np.ndarray) -> np.ndarray:
        """Indices (n, 3) of reflections ``hkl`` of the structure's cell (rows, Å) in the subcell's
        reciprocal basis: p_i = h . (basis_i in fractions of the cell); integer for fundamentals."""
        hkl = np.atleast_2d(np.asarray(hkl, float))
        return hkl @ (self.basis @ np.linalg.inv(cell_matrix)).T

    def classify(self, hkl: np.ndarray, cell_matrix: np.ndarray) -> list[str]:
        """Class of every reflection ``hkl`` (n, 3) of the structure's cell (rows, Å)."""
        p = self.indices(hkl, cell_matrix)
        off = np.abs(p - np.round(p)) > 1e-6
        half = np.abs(np.abs(p - np.floor(p)) - 0.5) < 1e-6
        out = []
        for o, h in zip(off, half, strict=True):
            n = int(o.sum())
            if n == 0:
                out.append("fundamental")
            elif np.all(h[o]):
                out.append(SUPER_CLASSES[3 - n])
            else:
                out.append("superstructure")
        return out


def find_subcell(structure: Structure, tolerance: float = PSEUDO_TOLERANCE) -> Subcell | None:
    """The subcell of ``structure`` if it is a superstructure of a smaller cell, else None
    (cached per structure: a Structure is frozen and hashable)."""
    return _search_subcell(structure, float(tolerance))


def _wrap(v: np.ndarray) -> np.ndarray:
    return v - np.round(v)


@lru_cache(maxsize=32)
def _search_subcell(structure: Structure, tolerance: float) -> Subcell | None:
    table = structure.expand()
    frac = np.asarray(table.frac, float)
    elements = np.array([element_of(str(e)) for e in table.elements])
    cell = structure.cell.matrix
    centring = [np.array(c, float) / 24.0 for c in structure.space_group().operations().cen_ops]
    # candidates: from one atom of the rarest (then heaviest) element to every other one of it
    kinds, counts = np.unique(elements, return_counts=True)
    rare = min(kinds, key=lambda e: (counts[list(kinds).index(e)], -getattr(periodictable, e).number))
    same = np.flatnonzero(elements == rare)
    anchor = frac[same[0]]
    by_element = {e: frac[elements == e] for e in kinds}
    pseudo: list[np.ndarray] = []
    worst = 0.0
    for j in same[1:]:
        t = _wrap(frac[j] - anchor)
        if any(np.allclose(_wrap(t - c), 0.0, atol=1e-4) for c in centring):
            continue
        if any(np.allclose(_wrap(t - p), 0.0, atol=1e-4) for p in pseudo):
            continue
        shift = 0.0
        for pos in by_element.values():
            moved = pos + t
            d = _wrap(moved[:, None, :] - pos[None, :, :]) @ cell  # (n, n, 3) Å
            shift = max(shift, float(np.max(np.min(np.linalg.norm(d, axis=2), axis=1))))
            if shift > tolerance:
                break
        if EXACT_TOLERANCE < shift <= tolerance:
            pseudo.append(t)
            worst = max(worst, shift)
    if not pseudo:
        return None
    group = _closure(pseudo + centring)
    basis = _lattice_basis(group, cell)
    return Subcell(tuple(tuple(float(v) for v in _wrap(t) % 1.0) for t in pseudo), basis, worst)


def _closure(translations: list[np.ndarray]) -> list[np.ndarray]:
    """Every sum of the translations modulo 1 (the translation group), the origin included."""
    group = [np.zeros(3)]
    changed = True
    while changed:
        changed = False
        for g in list(group):
            for t in translations:
                s = (g + t) % 1.0
                s[np.isclose(s, 1.0, atol=1e-6)] = 0.0
                if not any(np.allclose(s, h, atol=1e-6) for h in group):
                    group.append(s)
                    changed = True
    return group


def _lattice_basis(group: list[np.ndarray], cell: np.ndarray) -> np.ndarray:
    """Three shortest independent vectors (rows, Å) of the lattice spanned by the cell and the
    translations of ``group`` (in 3D the successive minima form a basis)."""
    volume = abs(np.linalg.det(cell)) / len(group)
    points = [np.array(n, float) + t for n in itertools.product((-1, 0, 1), repeat=3) for t in group]
    vecs = sorted((p @ cell for p in points if np.linalg.norm(p) > 1e-9), key=np.linalg.norm)
    basis: list[np.ndarray] = []
    for v in vecs:
        trial = np.array([*basis, v])
        if len(basis) < 2 and np.linalg.matrix_rank(trial, tol=1e-6) == len(trial):
            basis.append(v)
        elif len(basis) == 2 and abs(abs(np.linalg.det(trial)) - volume) < 1e-6 * volume:
            basis.append(v)
            break
    if len(basis) != 3:
        raise NanotwinError("no basis of the subcell found")
    return np.array(basis)


def _atomic_numbers(elements) -> np.ndarray:
    return np.array([getattr(periodictable, element_of(str(e))).number for e in elements], float)


def phase_reflections(structure: Structure, q_max: float, *, q_min: float = 0.0,
                      min_f_squared: float = 1e-6) -> list[PhaseReflection]:
    """Reflection families of ``structure`` with q_min <= Q <= q_max (1/Å), sorted by Q.

    Systematic absences of the space group are left out (gemmi), and so are families whose
    |F|^2 (f = Z, no Debye-Waller) is below ``min_f_squared`` times the strongest. Cached per
    structure and arguments (gamma CsPbBr3 up to 20 1/Å: 13,700 families, 0.3 s).
    """
    if not q_max > 0:
        raise NanotwinError(f"q_max must be > 0 1/Å, got {q_max}")
    return list(_reflections(structure, float(q_max), float(q_min), float(min_f_squared)))


@lru_cache(maxsize=16)
def _reflections(structure: Structure, q_max: float, q_min: float,
                 min_f_squared: float) -> tuple[PhaseReflection, ...]:
    c = structure.cell
    cell = gemmi.UnitCell(c.a, c.b, c.c, c.alpha, c.beta, c.gamma)
    sg = structure.space_group()
    hkl = np.asarray(gemmi.make_miller_array(cell, sg, 2 * np.pi / q_max, 0.0, unique=True), int)
    if not len(hkl):
        return ()
    d = np.asarray(cell.calculate_d_array(hkl), float)
    q = 2 * np.pi / d
    keep = q >= q_min
    hkl, d, q = hkl[keep], d[keep], q[keep]
    table = structure.expand()
    z = _atomic_numbers(table.elements) * np.asarray(table.occupancy, float)
    fsq = np.abs(np.exp(2j * np.pi * (hkl @ np.asarray(table.frac, float).T)) @ z) ** 2
    strong = fsq > min_f_squared * max(float(fsq.max(initial=0.0)), 1e-300)
    hkl, d, q, fsq = hkl[strong], d[strong], q[strong], fsq[strong]
    mult = _multiplicities(hkl, sg)
    subcell = find_subcell(structure)
    classes = (subcell.classify(hkl, c.matrix) if subcell is not None else ["fundamental"] * len(hkl))
    order = np.argsort(q, kind="stable")
    return tuple(PhaseReflection(tuple(int(v) for v in hkl[i]), float(d[i]), float(q[i]), int(mult[i]),
                                 float(fsq[i]), classes[i]) for i in order)


def _multiplicities(hkl: np.ndarray, sg: gemmi.SpaceGroup) -> np.ndarray:
    """Powder multiplicity: the size of the orbit of h under the point group and -1 (Friedel)."""
    rots = {tuple(np.array(op.rot).ravel() // op.DEN) for op in sg.operations().sym_ops}
    rots |= {tuple(-v for v in r) for r in rots}
    mats = np.array([np.reshape(r, (3, 3)) for r in rots])  # (n_ops, 3, 3)
    images = np.einsum("ni,oij->noj", hkl, mats)
    stabiliser = np.all(images == hkl[:, None, :], axis=2).sum(axis=1)
    return len(mats) // stabiliser


def superstructure_zoom(structure: Structure) -> tuple[float, float] | None:
    """The Q window (1/Å) of the superstructure peaks: the subcell's 2nd to 4th fundamental
    families (pseudo-cubic {110} to {200} of a perovskite, split by its distortion), padded by
    ``ZOOM_PAD``; None for a structure without a subcell."""
    subcell = find_subcell(structure)
    if subcell is None:
        return None
    q_first = 2 * np.pi / np.max(np.linalg.norm(subcell.basis, axis=1))
    found = [r for r in phase_reflections(structure, 4 * q_first) if r.klass == "fundamental"]
    if not found:
        return None
    p = np.round(subcell.indices(np.array([r.hkl for r in found]), structure.cell.matrix)).astype(int)
    families: dict[tuple[int, ...], list[float]] = {}
    for r, idx in zip(found, p, strict=True):
        families.setdefault(tuple(sorted(np.abs(idx))), []).append(r.q)
    ordered = sorted(families.values(), key=lambda qs: float(np.mean(qs)))
    if len(ordered) < 4:
        return None
    return min(ordered[1]) * (1 - ZOOM_PAD), max(ordered[3]) * (1 + ZOOM_PAD)
