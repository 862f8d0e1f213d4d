"""Bragg reflections of a structure and the perovskite superstructure classes.

In the Pbnm frame (a ~ b ~ sqrt2 a_p, c ~ 2 a_p) a reflection hkl is a *fundamental* of the
pseudocubic perovskite when h+k and l are both even; otherwise it is a superstructure
reflection of class R (h+k odd, l odd), M (h+k odd, l even) or X (h+k even, l odd)
(SCIENCE.md §2). A coherent twin shift t multiplies F(hkl) by exp(2 pi i h.t): t1 = (1/2,1/2,0)
flips R and M, t2 = (0,0,1/2) flips R and X.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import periodictable

from nanotwin_core.structures.elements import element_of

CLASSES = ("fundamental", "R", "M", "X")


def superstructure_class(h: int, k: int, l: int) -> str:  # noqa: E741 - crystallographic index
    """'fundamental', 'R', 'M' or 'X' for a Pbnm reflection hkl."""
    hk_odd = (h + k) % 2 == 1
    l_odd = l % 2 == 1
    if hk_odd and l_odd:
        return "R"
    if hk_odd:
        return "M"
    if l_odd:
        return "X"
    return "fundamental"


@dataclass
class Reflection:
    """One reflection family at one |Q|: representative hkl, Q (1/Å), d (Å), |F|^2, count."""

    hkl: tuple[int, int, int]
    q: float
    d: float
    f_squared: float
    multiplicity: int
    klass: str


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
    reflections; entries below ``min_f_squared`` times the strongest are dropped.
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
    groups: dict[tuple[float, str], list[int]] = {}
    for i, (h, k, l) in enumerate(hkl):  # noqa: E741
        klass = superstructure_class(h, k, l) if classify else "fundamental"
        groups.setdefault((round(float(q[i]), 6), klass), []).append(i)
    out = []
    for (qv, klass), idx in groups.items():
        rep = max((tuple(int(x) for x in hkl[i]) for i in idx), key=lambda t: (t[0] >= 0, t[1] >= 0, t))
        out.append(Reflection(rep, qv, 2 * np.pi / qv, float(fsq[idx].mean()), len(idx), klass))
    out.sort(key=lambda r: (r.q, r.klass))
    return out


def _atomic_number(element: str) -> int:
    return int(getattr(periodictable, element).number)
