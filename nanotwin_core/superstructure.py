"""How much superstructure a twinned crystal keeps, per class R, M, X: Bragg, diffuse, heights.

Two measures, side by side (SCIENCE.md §2, docs/internals.md "Bragg and diffuse"):

- Bragg and diffuse (``bragg_diffuse.py``): per class, the part of its intensity in the window
  that keeps the whole crystal's long-range order, and the rest (what the boundaries spread out),
  both in units of the untwinned crystal's class intensity in the window. This is the class
  measure: a 1/2<110> network leaves X exactly as it was, a 1/2<001> boundary leaves M.
- Heights at the reflection positions (``class_heights``): I - I0 at the exact R, M, X positions
  in the window, I0 the same crystal at zero tilt (every atom on its ideal perovskite site, which
  makes every coherent twin invisible), relative to the untwinned crystal. It is what a reader
  of peak heights sees, not a class measure: diffuse intensity spilled from R and M lands on X
  positions and never vanishes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from nanotwin_core.bragg_diffuse import (
    DEFAULT_WINDOW,
    ClassMeasure,
    mean_measure,
    measure_crystal,
    measure_ensemble,
)
from nanotwin_core.builder import build_crystal
from nanotwin_core.crystal import Crystal, LatticeContent, LatticeDescription, crystal_from_lattice
from nanotwin_core.errors import Cancelled, NanotwinError
from nanotwin_core.population.ensemble import ensemble_histograms
from nanotwin_core.reflections import reflections
from nanotwin_core.scattering import PairHistograms, compute_histograms, debye_intensity

IDEAL_GRID = 0.25  # ideal perovskite sites sit on multiples of 1/4 of the Pbnm cell
SUPER_CLASSES = ("R", "M", "X")
BRAGG_SENTENCE = ("Bragg: the part of each class's intensity in the window that keeps the whole crystal's "
                  "long-range order, relative to the untwinned crystal (1 = untouched, 0 = gone).")
DIFFUSE_SENTENCE = ("diffuse: the class intensity the boundaries spread into broad features, in the same "
                    "units (Bragg + diffuse differs from 1 where intensity crosses the window's edges).")
HEIGHTS_SENTENCE = ("at positions: heights of I - I0 at the exact reflection positions relative to the "
                    "untwinned crystal (I0 = zero tilt), what a peak-height reader sees; spilled R and M "
                    "intensity lands on X positions.")


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
    q: np.ndarray, i: np.ndarray, i0: np.ndarray, structure, q_range: tuple[float, float] = DEFAULT_WINDOW,
    refl: list | None = None,
) -> ClassHeights:
    """Heights of I - I0 at the R, M, X reflection positions of ``structure`` in ``q_range`` (1/Å)
    (``refl``: its ``reflections`` in that range, when the caller has them)."""
    diff = np.asarray(i) - np.asarray(i0)
    rows = []
    sums = dict.fromkeys(SUPER_CLASSES, 0.0)
    for r in refl if refl is not None else reflections(structure, q_range[1], q_min=q_range[0]):
        if r.klass not in sums:
            continue
        h = float(np.interp(r.q, q, diff))
        rows.append((r.hkl, r.q, r.klass, h))
        sums[r.klass] += h
    return ClassHeights(sums, rows)


def integrated(q: np.ndarray, i: np.ndarray, centre: float, half_width: float = 0.06) -> float:
    """Integral of I over [centre - half_width, centre + half_width] (1/Å)."""
    sel = (q >= centre - half_width) & (q <= centre + half_width)
    return float(np.trapezoid(i[sel], q[sel]))


# ----------------------------------------------------------------------------- one model
def model_measure(
    structure,
    model: dict,
    *,
    shape: str = "prism",
    sizes: dict,
    q: np.ndarray,
    window: tuple[float, float] = DEFAULT_WINDOW,
    b_iso=None,
    radiation=None,
    cancel: Callable[[], bool] | None = None,
) -> tuple[ClassMeasure, np.ndarray]:
    """(Bragg/diffuse measure, pattern on ``q``) of one model: ``model`` holds ``twins``,
    ``boundaries`` or ``domain_size_nm``, ``seeds`` (realisations, averaged) or ``ensemble``."""
    twins = tuple(model.get("twins", ()))
    opts = {"b_iso": b_iso, "radiation": radiation}
    if model.get("ensemble"):
        hist = ensemble_histograms(structure, twins, model.get("domain_size_nm"), shape=shape,
                                   boundaries=model.get("boundaries"), cancel=cancel, **sizes)
        measure = measure_ensemble(structure, twins, model["domain_size_nm"], shape=shape, window=window,
                                   hist=hist, cancel=cancel, **sizes, **opts)
        return measure, debye_intensity(hist, q, **opts)
    seeds = tuple(model.get("seeds", (0,))) if twins and model.get("domain_size_nm") is not None else \
        tuple(model.get("seeds", (0,)))[:1]
    measures, hists = [], []
    for seed in seeds:
        if cancel is not None and cancel():
            raise Cancelled("superstructure measure cancelled")
        crystal = build_crystal(structure, shape=shape, twins=twins, boundaries=model.get("boundaries"),
                                domain_size_nm=model.get("domain_size_nm"), seed=seed,
                                lattice=None if twins else "sublattice", **sizes)
        hist = compute_histograms(crystal, cancel=cancel)
        measures.append(measure_crystal(crystal, structure, window=window, hist=hist, cancel=cancel, **opts))
        hists.append(hist)
    hist = hists[0] if len(hists) == 1 else PairHistograms.combine([(1.0 / len(hists), h) for h in hists])
    return mean_measure(measures), debye_intensity(hist, q, **opts)


def superstructure_rows(
    structure,
    models: Sequence[tuple[str, dict]],
    *,
    shape: str = "prism",
    size_ab_nm: float | None = None,
    size_c_nm: float | None = None,
    size_nm: float | None = None,
    window: tuple[float, float] = DEFAULT_WINDOW,
    b_iso=None,
    radiation=None,
    progress: Callable[[str], None] | None = None,
    cancel: Callable[[], bool] | None = None,
) -> list[dict]:
    """One row per model (label, model keywords as ``model_measure``): relative ``bragg``,
    ``diffuse`` and ``at_positions`` per class R, M, X (``at_positions_total``: their summed heights
    relative to the untwinned sum), the integrated (110) and (200) near 1.52
    and 2.15 1/Å relative to the untwinned crystal (when in the window's reach), ``absolute``
    window integrals and ``bragg_fraction`` per class field."""
    sizes = {k: v for k, v in (("size_ab_nm", size_ab_nm), ("size_c_nm", size_c_nm), ("size_nm", size_nm))
             if v is not None}
    q = np.arange(window[0] - 0.1, window[1] + 0.1 + 5e-4, 0.001)
    opts = {"b_iso": b_iso, "radiation": radiation}
    reference = build_crystal(structure, shape=shape, lattice="sublattice", **sizes)
    i_u = debye_intensity(compute_histograms(reference, cancel=cancel), q, **opts)
    i0 = debye_intensity(compute_histograms(zero_tilt(reference), cancel=cancel), q, **opts)
    refl = reflections(structure, window[1], q_min=window[0])
    ref_heights = class_heights(q, i_u, i0, structure, window, refl).heights
    fund = [r.q for r in reflections(structure, window[1] + 0.1, q_min=window[0] - 0.1)
            if r.klass == "fundamental"]
    rows = []
    for label, model in models:
        if progress:
            progress(f"superstructure of {label}")
        measure, i = model_measure(structure, model, shape=shape, sizes=sizes, q=q, window=window,
                                   cancel=cancel, **opts)
        heights = class_heights(q, i, i0, structure, window, refl).heights
        row = {"label": label, **{k: v for k, v in measure.to_dict().items() if k in ("bragg", "diffuse")},
               "at_positions": {k: heights[k] / ref_heights[k] for k in SUPER_CLASSES if ref_heights[k]},
               "at_positions_total": sum(heights.values()) / sum(ref_heights.values()),
               "absolute": measure.to_dict()["absolute"], "bragg_fraction": dict(measure.bragg_fraction)}
        for name, centre in (("I110", 1.52), ("I200", 2.15)):
            near = [x for x in fund if abs(x - centre) < 0.1]
            if near:
                qc = min(near, key=lambda x: abs(x - centre))
                row[name] = integrated(q, i, qc) / integrated(q, i_u, qc)
        rows.append(row)
    return rows


def format_rows(rows: list[dict]) -> str:
    """Rows of ``superstructure_rows`` as an aligned table (Bragg, diffuse, at positions)."""
    width = max(12, *(len(r["label"]) for r in rows))
    head1 = f"{'':{width}s}  {'Bragg':^21s}  {'diffuse':^21s}  {'at positions':^21s}"
    head2 = f"{'model':{width}s}" + ("  " + "".join(f"{k:>6s} " for k in SUPER_CLASSES)) * 3
    lines = [head1.rstrip(), head2.rstrip()]
    for r in rows:
        cells = []
        for kind in ("bragg", "diffuse", "at_positions"):
            values = r[kind]
            cells.append("".join(f"{round(values[k], 2) + 0.0:6.2f} " if k in values else "     - "
                                 for k in SUPER_CLASSES))
        lines.append((f"{r['label']:{width}s}  " + "  ".join(cells)).rstrip())
    return "\n".join(lines)


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
    """The rows of ``superstructure_rows`` for prisms (``models``: build_crystal keywords; random
    networks averaged over ``seeds``), with the at-position heights also under the old keys R, M,
    X and their sum relative to the untwinned crystal as ``total``. ``q`` is ignored (the
    superstructure window is 1.5-2.2 1/Å)."""
    del q
    models = [(label, {"seeds": tuple(seeds), **kw}) for label, kw in models]
    rows = superstructure_rows(structure, models, size_ab_nm=size_ab_nm, size_c_nm=size_c_nm,
                               b_iso=b_iso or {})
    for row in rows:
        row.update(row["at_positions"], total=row["at_positions_total"])
    return rows
