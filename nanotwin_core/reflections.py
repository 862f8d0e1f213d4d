"""Bragg reflections of a structure and the perovskite superstructure classes (the one copy).

``reflections`` classifies each reflection by the structure's own subcell (``subcell.py``: the
lattice of its Pb sites, or of the first element forming a Bravais lattice): alpha has
fundamentals only, beta fundamentals and M, gamma fundamentals, R, M and X; a structure without
a subcell (delta-CsPbI3) gives ``klass=None``.

Pseudocubic indices (cell a_p = Pb-Pb distance) are written doubled, H = 2h: fundamentals have
H, K, L all even; a superstructure reflection is of class X, M or R when one, two or three of
them are odd. (The count equals (H^2 + K^2 + L^2) mod 4, so one |Q| has one class.) In the Pbnm
frame (a ~ b ~ sqrt2 a_p, c ~ 2 a_p) the doubled pseudocubic indices of hkl are (h + k, k - h, l):
R is h+k odd and l odd, M h+k odd and l even, X h+k even and l odd (SCIENCE.md §2). A coherent
twin shift t multiplies F(hkl) by exp(2 pi i h.t): t1 = (1/2,1/2,0) flips R and M,
t2 = (0,0,1/2) flips R and X.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import periodictable

from nanotwin_core.errors import NanotwinError
from nanotwin_core.structures.elements import element_of
from nanotwin_core.subcell import find_subcell

CLASSES = ("fundamental", "R", "M", "X")
CLASS_BY_ODD = {0: "fundamental", 1: "X", 2: "M", 3: "R"}


def pseudocubic_class(hh: int, kk: int, ll: int) -> str:
    """'fundamental', 'X', 'M' or 'R' for doubled pseudocubic indices (H, K, L) = 2 (h, k, l)."""
    return CLASS_BY_ODD[sum(int(v) % 2 for v in (hh, kk, ll))]


def superstructure_class(h: int, k: int, l: int) -> str:  # noqa: E741 - crystallographic index
    """'fundamental', 'R', 'M' or 'X' for a Pbnm reflection hkl (pseudocubic (h+k, k-h, l)/2).

    Pbnm only; ``subcell.find_subcell(structure).classify(hkl)`` classifies any structure."""
    return pseudocubic_class(h + k, k - h, l)


@dataclass
class Reflection:
    """One reflection family at one |Q|: representative hkl, Q (1/Å), d (Å), |F|^2, count, class
    (``subcell.py``; None for a structure without a subcell)."""

    hkl: tuple[int, int, int]
    q: float
    d: float
    f_squared: float
    multiplicity: int
    klass: str | None


def reflections(
    structure,
    q_max: float,
    *,
    q_min: float = 0.0,
    min_f_squared: float = 1e-6,
    classify: bool = True,
) -> list[Reflection]:
    """Reflections of ``structure`` with q_min <= Q <= q_max (1/Å), merged by equal Q and class.

    |F|^2 uses f = Z (Q-independent, no Debye-Waller), enough to tell present from absent
    reflections; entries below ``min_f_squared`` times the strongest are dropped. Classes come
    from the structure's subcell (``classify=False``: every reflection "fundamental").
    """
    table = structure.expand()
    cell = structure.cell.matrix
    recip = 2 * np.pi * np.linalg.inv(cell).T  # rows a*, b*, c* (with 2 pi)
    hmax = np.ceil(q_max / np.linalg.norm(recip, axis=1)).astype(int) + 1
    hh, kk, ll = np.meshgrid(*(np.arange(-m, m + 1) for m in hmax), indexing="ij")
    hkl = np.stack([hh.ravel(), kk.ravel(), ll.ravel()], axis=1)
    hkl = hkl[np.any(hkl != 0, axis=1)]
    q = np.linalg.norm(hkl @ recip, axis=1)
    keep = (q <= q_max) & (q >= q_min)
    hkl, q = hkl[keep], q[keep]
    z = np.array([_atomic_number(element_of(e)) for e in table.elements], dtype=float)
    phase = np.exp(2j * np.pi * hkl @ table.frac.T)
    fsq = np.abs(phase @ (z * table.occupancy)) ** 2
    strong = fsq > min_f_squared * max(fsq.max(initial=0.0), 1e-300)
    hkl, q, fsq = hkl[strong], q[strong], fsq[strong]
    if classify:
        sub = find_subcell(structure)
        names = sub.classify(hkl) if sub is not None else [None] * len(hkl)
    else:
        names = ["fundamental"] * len(hkl)
    groups: dict[tuple[float, str | None], list[int]] = {}
    for i, klass in enumerate(names):
        groups.setdefault((round(float(q[i]), 6), klass), []).append(i)
    out = []
    for (qv, klass), idx in groups.items():
        rep = max((tuple(int(x) for x in hkl[i]) for i in idx), key=lambda t: (t[0] >= 0, t[1] >= 0, t))
        out.append(Reflection(rep, qv, 2 * np.pi / qv, float(fsq[idx].mean()), len(idx), klass))
    out.sort(key=lambda r: (r.q, r.klass or ""))
    return out


def _atomic_number(element: str) -> int:
    return int(getattr(periodictable, element).number)


# ----------------------------------------------------------------------------- pseudocubic ticks
@dataclass(frozen=True)
class Tick:
    """One pseudocubic reflection family: class, representative hkl text, Q (1/Å), d (Å)."""

    klass: str
    hkl: str
    q: float
    d: float


def _half(v: int) -> str:
    return str(v // 2) if v % 2 == 0 else f"{v}/2"


def pseudocubic_ticks(a_p: float, q_max: float, q_min: float = 0.0) -> list[Tick]:
    """Pseudocubic reflections with q_min <= Q <= q_max (1/Å) for a cell ``a_p`` (Å),
    Q = 2 pi |hkl| / a_p with half-integer hkl, one per |Q|, classified as above."""
    if not a_p > 0:
        raise NanotwinError("a_p must be > 0 Å")
    n_max = int(np.ceil(q_max * a_p / np.pi)) + 1
    seen: dict[int, tuple[int, int, int]] = {}
    for hh in range(n_max + 1):
        for kk in range(hh + 1):
            for ll in range(kk + 1):
                n = hh * hh + kk * kk + ll * ll
                if n and n not in seen:
                    seen[n] = (hh, kk, ll)
    out = []
    for n, (hh, kk, ll) in sorted(seen.items()):
        q = np.pi * np.sqrt(n) / a_p
        if q_min <= q <= q_max:
            out.append(Tick(pseudocubic_class(hh, kk, ll), " ".join(_half(v) for v in (hh, kk, ll)),
                            float(q), 2 * np.pi / q))
    return out


def pseudocubic_a(cell_matrix: np.ndarray, n_pb: float) -> float:
    """a_p = (V_cell / Z_Pb)^(1/3) (Å) from a cell (rows, Å) and the Pb count per cell."""
    if not n_pb > 0:
        raise NanotwinError("the cell holds no Pb: no pseudocubic cell")
    return float((abs(np.linalg.det(np.asarray(cell_matrix, float))) / n_pb) ** (1.0 / 3.0))


def pseudocubic_a_of_structure(structure) -> float | None:
    """a_p of a Structure (None when it has no Pb)."""
    table = structure.expand()
    n_pb = float(np.sum(np.asarray(table.occupancy)[np.asarray(table.elements) == "Pb"]))
    return pseudocubic_a(structure.cell.matrix, n_pb) if n_pb > 0 else None


def pseudocubic_a_of_crystal(crystal) -> float | None:
    """a_p from a crystal's parent cell and its lattice contents (None when unknown)."""
    if crystal is None or crystal.cell is None or crystal.lattice is None:
        return None
    lat = crystal.lattice
    n_nodes_per_cell = 1.0 / abs(np.linalg.det(np.asarray(lat.node_basis_frac, float)))
    pb_per_node = np.mean([np.sum(c.occupancy[c.elements == "Pb"]) for c in lat.contents])
    n_pb = n_nodes_per_cell * pb_per_node
    return pseudocubic_a(crystal.cell, n_pb) if n_pb > 0 else None
