"""Pseudocubic reflection positions and superstructure classes for the tick rows (pure numpy).

Pseudocubic cell a_p = Pb-Pb distance = (V_cell / Z_Pb)^(1/3)
(``nanotwin_core.reflections.pseudocubic_a``). Reflections are written in
half-integer pseudocubic indices: fundamentals have integer h k l; R has all three
half-integer, M two, X one. Q = 2 pi |hkl| / a_p. With H = 2h, the number of odd H, K, L
gives the class, and it equals (H^2 + K^2 + L^2) mod 4, so one |Q| has one class.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

CLASS_BY_ODD = {0: "fundamental", 1: "X", 2: "M", 3: "R"}
TICK_CLASSES = ("fundamental", "R", "M", "X")


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
    """Ticks with q_min <= Q <= q_max for a pseudocubic cell ``a_p`` (Å)."""
    if not a_p > 0:
        raise ValueError("a_p must be > 0 Å")
    n_max = int(np.ceil(q_max * a_p / np.pi)) + 1
    seen: dict[int, tuple[int, int, int]] = {}
    for hh in range(n_max + 1):
        for kk in range(hh + 1):
            for ll in range(kk + 1):
                n = hh * hh + kk * kk + ll * ll
                if n == 0 or n in seen:
                    continue
                seen[n] = (hh, kk, ll)
    out = []
    for n, (hh, kk, ll) in sorted(seen.items()):
        q = np.pi * np.sqrt(n) / a_p
        if q < q_min or q > q_max:
            continue
        odd = sum(v % 2 for v in (hh, kk, ll))
        out.append(Tick(CLASS_BY_ODD[odd], " ".join(_half(v) for v in (hh, kk, ll)), float(q), 2 * np.pi / q))
    return out
