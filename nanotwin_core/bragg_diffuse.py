"""Bragg and diffuse parts of each superstructure class in a Q window (docs/internals.md).

Class fields (``class_fields.py``) split the pattern by class H. Within a class, the *Bragg*
part is the field with every node's class content replaced by the crystal's average class
content (c_H = mean over nodes of c_v(n)H; for translation twins alpha_H c_0H, alpha_H the node
average of chi_H(T(n))): the long-range order the twins leave, scattering with the whole
crystal's coherence. Its pattern is alpha_H^2 times the untwinned class pattern U_H of the same
shape, so the Bragg intensity at every reciprocal point of class H, and its integral over any
window, falls by the same factor

    beta_H = E[alpha_H^2] = 1/N^2 sum_u A(u) Lambda_H(u)   (ensemble: ``population/ensemble.py``),

the relative Bragg part; for one crystal beta_H = alpha_H^2. The *diffuse* part is the rest of the
class's intensity in the window, D_H = integral(I_H) - beta_H integral(U_H): what the boundaries
spread out. Integrals are 4 pi int Q^2 I(Q) dQ over the window (e^2 / Å^3 for X-rays), by
composite Simpson on a grid of step <= 0.05 / r_max (error < 1e-7 relative). Per class name
(R, M, X, fundamental) the characters of that name add; relative values are in units of the
untwinned crystal's class intensity in the window:

    bragg_C = sum beta_H U_H / sum U_H,  diffuse_C = sum D_H / sum U_H   (H of name C).

With the node-local terms and the interference of classes (``class_fields``), everything adds
up to the window's total: sum_C (Bragg_C + D_C) + local + cross = integral(I).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from nanotwin_core.builder.networks import domain_sizes_by_law
from nanotwin_core.builder.shapes import NodeSelection
from nanotwin_core.builder.sizes import DEFAULT_MAX_ATOMS
from nanotwin_core.builder.twins import select_nodes
from nanotwin_core.class_fields import (
    EMPTY,
    RESIDUES,
    character,
    check_doubled,
    class_content,
    class_histograms,
    class_intensity,
    class_label,
    class_nodes,
    combine_contents,
    crystal_ownership,
    field_table,
    local_intensity,
    negated,
    node_residues,
    proportion,
    signed_table,
    translation_residues,
)
from nanotwin_core.crystal import Crystal
from nanotwin_core.errors import NanotwinError
from nanotwin_core.population.ensemble import ensemble_histograms, node_autocorrelation, twin_network_model
from nanotwin_core.scattering import compute_histograms, debye_intensity
from nanotwin_core.scattering.types import PairHistograms
from nanotwin_core.structures.library import get_structure

DEFAULT_WINDOW = (1.5, 2.2)  # 1/Å, the superstructure region of CsPbX3
CLASS_ORDER = ("R", "M", "X", "fundamental")
_SIMPSON_STEP = 0.05  # grid step times r_max


@dataclass
class ClassPart:
    """Absolute window integrals (4 pi int Q^2 I dQ) of one class: its total, Bragg part and the
    untwinned crystal's class intensity."""

    total: float = 0.0
    bragg: float = 0.0
    untwinned: float = 0.0

    @property
    def diffuse(self) -> float:
        return self.total - self.bragg


@dataclass
class ClassMeasure:
    """Bragg and diffuse parts per class name in a window (module doc); absolute integrals."""

    window: tuple[float, float]
    total: float
    local: float
    cross: float | None  # None when only some classes were computed
    classes: dict[str, ClassPart]
    bragg_fraction: dict[str, float] = field(default_factory=dict)  # beta_H by H label "R", "X(001)"

    def relative(self, kind: str) -> dict[str, float]:
        """bragg or diffuse per class name, in units of the untwinned class intensity."""
        out = {}
        for name in CLASS_ORDER:
            part = self.classes.get(name)
            if part is not None and part.untwinned > 0:
                out[name] = (part.bragg if kind == "bragg" else part.diffuse) / part.untwinned
        return out

    def balance(self) -> float:
        """sum of Bragg and diffuse parts + local + cross - total (0 up to round-off)."""
        if self.cross is None:
            raise NanotwinError("only some classes were measured: no balance")
        return sum(p.total for p in self.classes.values()) + self.local + self.cross - self.total

    def to_dict(self) -> dict:
        """JSON-able: relative bragg and diffuse, absolute integrals."""
        return {
            "bragg": self.relative("bragg"),
            "diffuse": self.relative("diffuse"),
            "absolute": {
                "window": list(self.window), "total": self.total, "local": self.local,
                **({"cross": self.cross} if self.cross is not None else {}),
                "classes": {k: {"total": p.total, "bragg": p.bragg, "diffuse": p.diffuse,
                                "untwinned": p.untwinned} for k, p in self.classes.items()},
            },
            "bragg_fraction": dict(self.bragg_fraction),
        }


def mean_measure(measures: list[ClassMeasure]) -> ClassMeasure:
    """The average of several realisations' measures (every integral is linear in the pattern)."""
    n = len(measures)
    names = {k for m in measures for k in m.classes}
    classes = {k: ClassPart(*(sum(getattr(m.classes.get(k, ClassPart()), a) for m in measures) / n
                              for a in ("total", "bragg", "untwinned"))) for k in names}
    keys = {k for m in measures for k in m.bragg_fraction}
    frac = {k: sum(m.bragg_fraction.get(k, 0.0) for m in measures) / n for k in keys}
    cross = None if any(m.cross is None for m in measures) else sum(m.cross for m in measures) / n
    return ClassMeasure(measures[0].window, sum(m.total for m in measures) / n,
                        sum(m.local for m in measures) / n, cross, classes, frac)


# ----------------------------------------------------------------------------- window integrals
def window_grid(window: tuple[float, float], r_max: float) -> tuple[np.ndarray, np.ndarray]:
    """(Q, weights) of composite Simpson over the window with step <= 0.05 / r_max (1/Å)."""
    lo, hi = (float(x) for x in window)
    if not hi > lo > 0:
        raise NanotwinError(f"window must be 0 < QMIN < QMAX (1/Å), got {lo}:{hi}")
    n = max(200, int(np.ceil((hi - lo) * max(r_max, 1.0) / _SIMPSON_STEP)))
    n += n % 2  # an even number of intervals
    q = np.linspace(lo, hi, n + 1)
    w = np.full(n + 1, 2.0)
    w[1::2] = 4.0
    w[0] = w[-1] = 1.0
    return q, w * (hi - lo) / (3.0 * n)


def window_integral(q: np.ndarray, weights: np.ndarray, intensity: np.ndarray) -> float:
    """4 pi int Q^2 I(Q) dQ with the weights of ``window_grid``."""
    return float(4.0 * np.pi * np.sum(weights * q**2 * np.asarray(intensity, float)))


def _label(h) -> str:
    name = class_label(h)
    return name if name in ("R", "fundamental") else f"{name}({''.join(str(int(x)) for x in h)})"


# ----------------------------------------------------------------------------- one crystal
def measure_crystal(
    crystal: Crystal,
    structure,
    *,
    window: tuple[float, float] = DEFAULT_WINDOW,
    b_iso: Mapping[str, float] | None = None,
    radiation=None,
    coherent_element: str = "Pb",
    hist: PairHistograms | None = None,
    n_threads: int | None = None,
    cancel=None,
) -> ClassMeasure:
    """Bragg and diffuse parts of one crystal built on the subcell of ``structure`` (translation
    and rotation twins; ``hist``: its histograms, when the caller has them)."""
    structure = get_structure(structure) if isinstance(structure, str) else structure
    own = crystal_ownership(crystal, structure, coherent_element)
    check_doubled(own)
    nodes, ids, residues = node_residues(crystal, own)
    contents = crystal.lattice.contents
    variants, slot = np.unique(residues, axis=0, return_inverse=True)
    slot = slot.reshape(-1)
    share = np.bincount(slot, minlength=len(variants)) / len(nodes)
    hist = hist if hist is not None else compute_histograms(crystal, n_threads=n_threads, cancel=cancel)
    q, w = window_grid(window, hist.r_max)
    opts = {"b_iso": b_iso, "radiation": radiation}
    total = window_integral(q, w, debye_intensity(hist, q, **opts))
    local = window_integral(q, w, local_intensity(contents, np.bincount(ids, minlength=len(contents)), q,
                                                  cell=own.cell, **opts))
    u, a_u = node_autocorrelation(NodeSelection(own, nodes))
    classes: dict[str, ClassPart] = {}
    fractions: dict[str, float] = {}
    for h in RESIDUES:
        per_variant = [class_content(contents, row, h) for row in variants]
        if all(c is None for c in per_variant):
            continue
        field = [x for c in per_variant for x in ((c, negated(c)) if c is not None else (EMPTY, EMPTY))]
        table = field_table(own, nodes, 2 * slot + (character(h, nodes) < 0), field)
        i_h = class_intensity(class_histograms(table, n_threads=n_threads, cancel=cancel), q, **opts)
        base = class_content(own.contents, translation_residues(own, 0), h)
        untw = 0.0 if base is None else _ordered(own, base, u, a_u, h, len(nodes), q, w, opts, n_threads,
                                                    cancel)
        ratios = [proportion(c, base) for c in per_variant]
        if all(r is not None for r in ratios):  # translation twins: the Bragg field is alpha U_H
            bragg = float(np.dot(share, ratios)) ** 2 * untw
        else:  # rotated domains: the field of the node-averaged class content
            mean = combine_contents([(f, c) for f, c in zip(share, per_variant, strict=True)
                                     if c is not None])
            bragg = 0.0 if mean is None else _ordered(own, mean, u, a_u, h, len(nodes), q, w, opts, n_threads,
                                                      cancel)
        _add(classes, h, window_integral(q, w, i_h), bragg, untw)
        if untw > 0:
            fractions[_label(h)] = bragg / untw
    return _finish(window, total, local, classes, fractions)


def _ordered(own, base, u, a_u, h, n_nodes, q, w, opts, n_threads, cancel,
             cache: dict | None = None) -> float:
    """Window integral of the class-H field with content ``base`` on every node of the shape (the
    untwinned class field, or a Bragg field); ``cache`` keyed by H."""
    key = tuple(int(x) for x in h)
    if cache is not None and key in cache:
        return cache[key]
    table = signed_table(own, base, u, a_u * character(h, u), n_nodes)
    value = window_integral(q, w, class_intensity(class_histograms(table, n_threads=n_threads, cancel=cancel),
                                                  q, **opts))
    if cache is not None:
        cache[key] = value
    return value


def _add(classes: dict[str, ClassPart], h, total: float, bragg: float, untwinned: float) -> None:
    part = classes.setdefault(class_label(h), ClassPart())
    part.total += total
    part.bragg += bragg
    part.untwinned += untwinned


def _finish(window, total, local, classes, fractions, complete: bool = True) -> ClassMeasure:
    cross = total - local - sum(p.total for p in classes.values()) if complete else None
    ordered = {k: classes[k] for k in CLASS_ORDER if k in classes}
    return ClassMeasure((float(window[0]), float(window[1])), total, local, cross, ordered, fractions)


# ----------------------------------------------------------------------------- ensembles
def measure_ensemble(
    structure,
    twins,
    domain_size_nm: float | str | Mapping[str, float],
    *,
    shape: str = "prism",
    size_ab_nm: float | None = None,
    size_c_nm: float | None = None,
    size_nm: float | None = None,
    coherent_element: str = "Pb",
    window: tuple[float, float] = DEFAULT_WINDOW,
    b_iso: Mapping[str, float] | None = None,
    radiation=None,
    hist: PairHistograms | None = None,
    max_atoms: int = DEFAULT_MAX_ATOMS,
    untwinned: dict | None = None,
    classes: tuple[str, ...] | None = None,
    n_threads: int | None = None,
    cancel=None,
) -> ClassMeasure:
    """Bragg and diffuse parts of the exact average over every random twin network of a crystal
    (the ensemble route); ``hist``: the ensemble's histograms, when the caller has them;
    ``untwinned``: a dict kept by the caller between calls for the same structure, shape, window,
    B and radiation (the untwinned class integrals are read from it or stored in it); ``classes``:
    the class names to measure (default all; with fewer, ``cross`` is None)."""
    structure = get_structure(structure) if isinstance(structure, str) else structure
    sel, model, p = ensemble_model(structure, twins, domain_size_nm, shape, (size_ab_nm, size_c_nm, size_nm),
                                   coherent_element, max_atoms)
    if hist is None:
        hist = ensemble_histograms(structure, twins, domain_size_nm, shape=shape, size_ab_nm=size_ab_nm,
                                   size_c_nm=size_c_nm, size_nm=size_nm, coherent_element=coherent_element,
                                   max_atoms=max_atoms, n_threads=n_threads, cancel=cancel)
    return _ensemble_measure(sel, model, p, hist, window, {"b_iso": b_iso, "radiation": radiation},
                             n_threads, cancel, untwinned, classes)


def ensemble_model(structure, twins, domain_size_nm, shape: str, sizes: tuple, coherent_element: str = "Pb",
                   max_atoms: int = DEFAULT_MAX_ATOMS) -> tuple[NodeSelection, object, np.ndarray]:
    """(nodes, ``TwinNetworkModel``, gap probability per group) of an ensemble; sizes (nm) are
    (size_ab_nm, size_c_nm, size_nm)."""
    sel = select_nodes(structure, shape, *sizes, coherent_element, max_atoms)
    check_doubled(sel.ownership)
    model = twin_network_model(sel.ownership, twins, structure)
    return sel, model, model.gap_probabilities(domain_sizes_by_law(domain_size_nm, model.laws))


def _ensemble_measure(sel: NodeSelection, model, p, hist, window, opts, n_threads, cancel,
                      untwinned: dict | None, names: tuple[str, ...] | None) -> ClassMeasure:
    own = sel.ownership
    n = len(sel.nodes)
    q, w = window_grid(window, hist.r_max)
    total = window_integral(q, w, debye_intensity(hist, q, **opts))
    local = window_integral(q, w, local_intensity(own.contents, np.full(own.n_classes, n / own.n_classes), q,
                                                  cell=own.cell, **opts))
    u, a_u = node_autocorrelation(sel)
    prob = model.pair_probabilities(u, p)  # P_u(D = d), classes in the order of own
    classes: dict[str, ClassPart] = {}
    fractions: dict[str, float] = {}
    complete = True
    for h in RESIDUES:
        base = class_content(own.contents, translation_residues(own, 0), h)
        if base is None:
            continue
        if names is not None and class_label(h) not in names:
            complete = False
            continue
        lam = prob @ character(h, class_nodes(own)).astype(float)  # Lambda_H(u) = E chi_H(D)
        table = signed_table(own, base, u, a_u * character(h, u) * lam, n)
        i_h = class_intensity(class_histograms(table, n_threads=n_threads, cancel=cancel), q, **opts)
        beta = float(np.sum(a_u * lam) / n**2)
        untw = _ordered(own, base, u, a_u, h, n, q, w, opts, n_threads, cancel, untwinned)
        _add(classes, h, window_integral(q, w, i_h), beta * untw, untw)
        fractions[_label(h)] = beta
    return _finish(window, total, local, classes, fractions, complete)


def bragg_fractions(structure, twins, domain_size_nm, *, shape: str = "prism",
                    size_ab_nm: float | None = None, size_c_nm: float | None = None,
                    size_nm: float | None = None, coherent_element: str = "Pb") -> dict[str, float]:
    """beta per class name of an ensemble (no patterns: the relative Bragg part is independent of
    Q, form factors and B). Classes of one name weigh equally (Pbnm has one of each)."""
    structure = get_structure(structure) if isinstance(structure, str) else structure
    sel, model, p = ensemble_model(structure, twins, domain_size_nm, shape, (size_ab_nm, size_c_nm, size_nm),
                                   coherent_element)
    own = sel.ownership
    u, a_u = node_autocorrelation(sel)
    prob = model.pair_probabilities(u, p)
    n = len(sel.nodes)
    out: dict[str, list[float]] = {}
    for h in RESIDUES:
        if class_content(own.contents, translation_residues(own, 0), h) is None:
            continue
        lam = prob @ character(h, class_nodes(own)).astype(float)
        out.setdefault(class_label(h), []).append(float(np.sum(a_u * lam) / n**2))
    return {k: float(np.mean(v)) for k, v in out.items()}
