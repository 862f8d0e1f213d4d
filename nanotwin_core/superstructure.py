"""How much superstructure intensity a twinned crystal keeps, per class R, M, X.

The measure follows SCIENCE.md §2: twin boundaries redistribute intensity (it reappears as broad
tails) rather than destroy it, so suppression is read at the exact reflection positions, as the
height of I - I0 where I0 is the same crystal at zero tilt (the atoms moved to their ideal
perovskite sites, which makes every coherent twin invisible). Heights are given relative to the
untwinned crystal's I - I0 at the same positions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from nanotwin_core.builder import build_crystal
from nanotwin_core.crystal import Crystal, LatticeContent, LatticeDescription, crystal_from_lattice
from nanotwin_core.errors import NanotwinError
from nanotwin_core.reflections import reflections
from nanotwin_core.scattering import PairHistograms, compute_histograms, debye_intensity

IDEAL_GRID = 0.25  # ideal perovskite sites sit on multiples of 1/4 of the Pbnm cell


def zero_tilt(crystal: Crystal, grid: float = IDEAL_GRID) -> Crystal:
    """The same crystal (same nodes, same contents, same atom order) with every atom moved to its
    ideal untilted perovskite site (content offsets rounded to multiples of ``grid``)."""
    lat = crystal.lattice
    if lat is None:
        raise NanotwinError("zero_tilt needs a crystal built on a lattice (not an XYZ import)")
    contents = [
        LatticeContent(np.round(c.frac / grid) * grid, c.elements, c.adp_groups, c.occupancy, c.exclusion)
        for c in lat.contents
    ]
    ideal = LatticeDescription(lat.cell, lat.node_basis_frac, contents, lat.content_map, lat.map_origin)
    out = crystal_from_lattice(ideal, info=dict(crystal.info))
    out.domain, out.variant = crystal.domain.copy(), crystal.variant.copy()
    return out


@dataclass
class ClassHeights:
    """Per superstructure class: summed heights of I - I0 at the exact positions of its
    reflections (one row per reflection in ``reflections``)."""

    heights: dict[str, float]
    per_reflection: list[tuple[tuple[int, int, int], float, str, float]]


def class_heights(
    q: np.ndarray, i: np.ndarray, i0: np.ndarray, structure, q_range: tuple[float, float] = (1.5, 2.2)
) -> ClassHeights:
    """Heights of I - I0 at the reflection positions of ``structure`` in ``q_range`` (1/Å)."""
    diff = np.asarray(i) - np.asarray(i0)
    rows = []
    sums = {"R": 0.0, "M": 0.0, "X": 0.0}
    for r in reflections(structure, q_range[1], q_min=q_range[0]):
        if r.klass == "fundamental":
            continue
        h = float(np.interp(r.q, q, diff))
        rows.append((r.hkl, r.q, r.klass, h))
        sums[r.klass] += h
    return ClassHeights(sums, rows)


def integrated(q: np.ndarray, i: np.ndarray, centre: float, half_width: float = 0.06) -> float:
    """Integral of I over [centre - half_width, centre + half_width] (1/Å)."""
    sel = (q >= centre - half_width) & (q <= centre + half_width)
    return float(np.trapezoid(i[sel], q[sel]))


def suppression_table(
    structure,
    models: Sequence[tuple[str, dict]],
    *,
    size_ab_nm: float = 9.0,
    size_c_nm: float = 10.0,
    seeds: Sequence[int] = (1, 2, 3, 4),
    q: np.ndarray | None = None,
    b_iso: dict | None = None,
) -> list[dict]:
    """Rows (label, R, M, X, total, I110, I200) relative to the untwinned crystal.

    ``models``: (label, build_crystal keyword arguments such as twins, boundaries,
    domain_size_nm). Random networks are averaged over ``seeds`` (histograms add).
    """
    q = np.arange(1.0, 2.4, 0.001) if q is None else q
    b_iso = b_iso or {}

    def pattern(kwargs: dict, seed_list) -> tuple[np.ndarray, np.ndarray]:
        hs, h0s = [], []
        for seed in seed_list:
            c = build_crystal(structure, shape="prism", size_ab_nm=size_ab_nm, size_c_nm=size_c_nm,
                              seed=seed, **kwargs)
            hs.append(compute_histograms(c))
            h0s.append(compute_histograms(zero_tilt(c)))
        w = 1.0 / len(hs)
        h = hs[0] if len(hs) == 1 else PairHistograms.combine([(w, x) for x in hs])
        h0 = h0s[0] if len(h0s) == 1 else PairHistograms.combine([(w, x) for x in h0s])
        return debye_intensity(h, q, b_iso=b_iso), debye_intensity(h0, q, b_iso=b_iso)

    i_u, i0_u = pattern({"lattice": "sublattice"}, seeds[:1])
    ref = class_heights(q, i_u, i0_u, structure)
    fund = [r.q for r in reflections(structure, 2.2, q_min=1.4) if r.klass == "fundamental"]
    q110 = min(fund, key=lambda x: abs(x - 1.52))
    q200 = min(fund, key=lambda x: abs(x - 2.15))
    ref_110, ref_200 = integrated(q, i_u, q110), integrated(q, i_u, q200)
    ref_total = sum(ref.heights.values())
    rows = []
    for label, kwargs in models:
        i, i0 = pattern(kwargs, seeds if "domain_size_nm" in kwargs else seeds[:1])
        h = class_heights(q, i, i0, structure)
        rows.append({
            "label": label,
            **{k: h.heights[k] / ref.heights[k] for k in ("R", "M", "X")},
            "total": sum(h.heights.values()) / ref_total,
            "I110": integrated(q, i, q110) / ref_110,
            "I200": integrated(q, i, q200) / ref_200,
        })
    return rows
