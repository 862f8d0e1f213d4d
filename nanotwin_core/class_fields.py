"""A crystal's scattering split by superstructure class (docs/internals.md, "Bragg and diffuse").

Node n of the subcell (the coherent Pb sublattice, ``builder.ownership``) carries the content
C_s(n) (its Pb and the atoms it owns). The classes of a doubled subcell are the characters
chi_H(n) = (-1)^(H . n), H in {0, 1}^3 (node coordinates; wave vector k = H / 2: fundamental,
X, M, R by the number of ones, ``subcell.py``). A domain of variant v puts content v(nu) on the
nodes of residue nu = n mod 2; its class-H content is the signed superposition

    c_vH = 1/8 sum_nu chi_H(nu) C_v(nu)     (atom amplitudes o f T times the weights),

and the crystal's amplitude field rho = sum_H rho_H with rho_H = sum_n chi_H(n) c_v(n)H (r - n).
Within one domain rho_H scatters only near the reciprocal points of class H. A translation twin
T multiplies c_vH by chi_H(T) (a sign): nothing else changes.

The pattern of a class field is computed by the lattice route with the class contents as
contents; their signed amplitudes ride in the occupancy slot and the coherent self term
(o T f)^2 sits at r = 0, so ``class_intensity`` (not ``debye_intensity``) evaluates them. The
Debye pattern then splits exactly as

    I = sum_H I_H + I_local + I_cross,

I_local the node-local terms a coherent amplitude leaves out (Laue and thermal self terms
(o - o^2 T^2) |f|^2, minus the pairs of mutually exclusive split sites), I_cross the interference
of different classes: zero in an ensemble whose first domain's variant is uniform, small (tails)
for one crystal.
"""

from __future__ import annotations

import itertools

import numpy as np

from nanotwin_core.builder.ownership import Ownership, find_ownership
from nanotwin_core.crystal import Crystal, LatticeContent, LatticeDescription
from nanotwin_core.errors import NanotwinError
from nanotwin_core.scattering.debye import debye_from_sums, sinc_sums, type_factors
from nanotwin_core.scattering.lattice_route import (
    LatticePairTable,
    build_pair_table,
    pair_table_from_counts,
    rehistogram,
)
from nanotwin_core.scattering.types import AtomType, PairHistograms
from nanotwin_core.subcell import HALF_NAMES

RESIDUES = np.array(list(itertools.product((0, 1), repeat=3)), dtype=np.int64)  # nu, also H
_MERGE_DECIMALS = 9
_WEIGHT_TOL = 1e-12


def class_label(h) -> str:
    """fundamental, X, M or R for a character H in {0, 1}^3."""
    return HALF_NAMES[int(np.sum(np.asarray(h) % 2))]


def character(h, nodes: np.ndarray) -> np.ndarray:
    """chi_H(n) = (-1)^(H . n) (+1 or -1) for integer node coordinates (N, 3)."""
    return 1 - 2 * ((np.asarray(nodes, dtype=np.int64) @ np.asarray(h, dtype=np.int64)) % 2)


def check_doubled(own: Ownership) -> None:
    """NanotwinError unless twice every node vector is a parent-lattice vector (order-2 classes)."""
    if np.any(own.class_of(2 * np.eye(3, dtype=np.int64)) != 0):
        raise NanotwinError(
            f"the {own.element} subcell is not doubled in the parent cell (a class of order > 2): the "
            "Bragg/diffuse split by R, M, X classes needs k = 1/2 superstructures")


def class_nodes(own: Ownership) -> np.ndarray:
    """Node coordinates (n_classes, 3) of the representative node of each class."""
    return np.rint(own.node_coords(own.class_offsets)).astype(np.int64)


def translation_residues(own: Ownership, t: int) -> np.ndarray:
    """Content (class) id at each residue nu for the domain displaced by class offset ``t``."""
    return own.class_of(RESIDUES - class_nodes(own)[t])


def class_content(contents: list[LatticeContent], residue_ids: np.ndarray, h) -> LatticeContent | None:
    """c_vH of the variant whose residues carry contents ``residue_ids`` (8,): signed amplitudes
    in the occupancy slot (weight x occupancy), coincident atoms merged; None when it vanishes."""
    weights = np.zeros(len(contents))
    np.add.at(weights, residue_ids, character(h, RESIDUES) / 8.0)
    return combine_contents([(w, contents[k]) for k, w in enumerate(weights) if abs(w) > _WEIGHT_TOL])


def combine_contents(parts: list[tuple[float, LatticeContent]]) -> LatticeContent | None:
    """sum_k w_k C_k as one content of signed amplitudes (``class_content``); None if empty."""
    merged: dict[tuple, list] = {}
    for w, c in parts:
        amp = w * np.asarray(c.occupancy, dtype=float)
        for frac, el, grp, a in zip(np.asarray(c.frac, float), c.elements, c.adp_groups, amp, strict=True):
            key = (str(el), str(grp), *np.round(frac, _MERGE_DECIMALS))
            if key in merged:
                merged[key][1] += a
            else:
                merged[key] = [frac, a]
    keep = [(k, v) for k, v in merged.items() if abs(v[1]) > _WEIGHT_TOL]
    if not keep:
        return None
    return LatticeContent(
        frac=np.array([v[0] for _, v in keep], dtype=float).reshape(-1, 3),
        elements=np.array([k[0] for k, _ in keep]),
        adp_groups=np.array([k[1] for k, _ in keep]),
        occupancy=np.array([v[1] for _, v in keep], dtype=float),
        exclusion=np.full(len(keep), -1, dtype=np.int64),
    )


EMPTY = LatticeContent(np.zeros((0, 3)), np.zeros(0, dtype="U4"), np.zeros(0, dtype="U16"), np.zeros(0),
                       np.zeros(0, dtype=np.int64))


def proportion(content: LatticeContent | None, base: LatticeContent | None) -> float | None:
    """a when ``content`` = a ``base`` atom by atom (both None: 0), else None."""
    if content is None or base is None:
        return 0.0 if content is None and base is not None else None
    if len(content) != len(base) or not np.allclose(content.frac, base.frac) or \
            not np.array_equal(content.elements, base.elements):
        return None
    ratio = content.occupancy / base.occupancy
    return float(ratio[0]) if np.allclose(ratio, ratio[0]) else None


def negated(content: LatticeContent) -> LatticeContent:
    """The same atoms with opposite amplitudes."""
    return LatticeContent(content.frac, content.elements, content.adp_groups, -content.occupancy,
                          content.exclusion)


def crystal_ownership(crystal: Crystal, structure, coherent_element: str = "Pb") -> Ownership:
    """The ownership of ``structure`` that ``crystal`` was built on (NanotwinError otherwise)."""
    lat = crystal.lattice
    if lat is None:
        raise NanotwinError("the Bragg/diffuse split needs a crystal built on the subcell "
                            "(not an XYZ import)")
    own = find_ownership(structure, coherent_element)
    same = (np.allclose(lat.node_basis_frac, own.node_basis_frac) and len(lat.contents) >= own.n_classes
            and all(len(a) == len(b) and np.allclose(a.frac, b.frac)
                    for a, b in zip(lat.contents, own.contents, strict=False)))
    if not same:
        raise NanotwinError(f"the crystal is not built on the {coherent_element} subcell of {structure.name} "
                            "(build it on the sublattice: lattice='sublattice' or with twins)")
    return own


def node_residues(crystal: Crystal, own: Ownership) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(nodes (N, 3), content id per node, residue contents (N, 8)): the content the domain of
    each node puts on the nodes of every residue nu. Content ids beyond the structure's classes
    belong to rotated orientations (``builder/domain_maps.py``: orientation o holds ids
    o |G| ... o |G| + |G| - 1, its node map P in ``crystal.info["orientations"]``); a node of
    content o |G| + k has the map n -> (n - t) P with t = n - rep(k) P."""
    nodes, ids = crystal.lattice.occupied_nodes()
    g = own.n_classes
    orientations = crystal.info.get("orientations") or [{"P": np.eye(3, dtype=int).tolist()}]
    orient, klass = ids // g, ids % g
    if np.any(orient >= len(orientations)):
        raise NanotwinError("the crystal has incoherent twin shifts (extra contents): its Pb sublattice is "
                            "not continuous, so no class decomposition")
    out = np.empty((len(nodes), len(RESIDUES)), dtype=np.int64)
    for o in np.unique(orient):
        p = np.asarray(orientations[o]["P"], dtype=np.int64)
        p_inv = np.rint(np.linalg.inv(p)).astype(np.int64)
        sel = orient == o
        t = nodes[sel] - class_nodes(own)[klass[sel]] @ p
        for j, nu in enumerate(RESIDUES):
            out[sel, j] = o * g + own.class_of((nu - t) @ p_inv)
    return nodes, ids, out


# ----------------------------------------------------------------------------- pair tables
def field_table(own: Ownership, nodes: np.ndarray, content_ids: np.ndarray,
                contents: list[LatticeContent]) -> LatticePairTable:
    """The pair table of nodes carrying the given (signed) contents."""
    lo = nodes.min(axis=0)
    cmap = np.full(tuple(int(x) for x in nodes.max(axis=0) - lo + 1), -1, dtype=np.int64)
    cmap[tuple((nodes - lo).T)] = content_ids
    desc = LatticeDescription(own.cell, own.node_basis_frac, contents, cmap, lo.astype(np.int64))
    return build_pair_table(desc)


def signed_table(own: Ownership, content: LatticeContent, u: np.ndarray, counts: np.ndarray,
                 n_nodes: float) -> LatticePairTable:
    """The pair table of one content on every node, with (expected, signed) node-pair counts
    ``counts`` at node offsets ``u`` (every offset, both signs: M(u) = M(-u); u = 0 is the nodes)."""
    u = np.asarray(u, dtype=np.int64).reshape(-1, 3)
    half = (u[:, 0] > 0) | ((u[:, 0] == 0) & ((u[:, 1] > 0) | ((u[:, 1] == 0) & (u[:, 2] > 0))))
    keep = half & (np.abs(counts) > 0)
    eu = np.vstack([np.zeros((1, 3), dtype=np.int64), u[keep]])
    ec = np.concatenate([[float(n_nodes)], np.asarray(counts, float)[keep]])
    zeros = np.zeros(len(ec), dtype=np.int64)
    return pair_table_from_counts(own.cell, own.node_basis_frac, [content], np.array([float(n_nodes)]),
                                  zeros, zeros, eu, ec)


def class_histograms(table: LatticePairTable, *, n_threads: int | None = None, cancel=None) -> PairHistograms:
    """Histograms of a class-field table with the coherent self terms at r = 0."""
    hist = rehistogram(table, n_threads=n_threads, cancel=cancel)
    if hist.counts is None:  # pragma: no cover - the default sampling is on a grid
        raise NanotwinError("class fields need sampled histograms")
    for a in range(len(hist.types)):
        hist.counts[hist.pair_index(a, a), 0] += 0.5 * float(table.type_counts[a])
    return hist


def class_intensity(hist: PairHistograms, q: np.ndarray, *, b_iso=None, radiation=None) -> np.ndarray:
    """Orientation-averaged |A_H(Q)|^2 of a class field (``class_histograms``)."""
    q = np.asarray(q, dtype=np.float64)
    return debye_from_sums(hist.types, hist.pairs, np.zeros(len(hist.types)), sinc_sums(hist, q), q,
                           b_iso=b_iso, radiation=radiation)


# ----------------------------------------------------------------------------- local terms
def local_intensity(contents: list[LatticeContent], node_counts: np.ndarray, q: np.ndarray, *,
                    cell: np.ndarray, b_iso=None, radiation=None) -> np.ndarray:
    """I_local(Q): per node of content k, sum_i (o_i - o_i^2 T_i^2) |f_i|^2 minus the pairs of
    atoms that exclude each other (split sites), times the number of such nodes."""
    q = np.asarray(q, dtype=np.float64)
    out = np.zeros(len(q))
    for c, n in zip(contents, np.asarray(node_counts, float), strict=True):
        if n == 0 or len(c) == 0:
            continue
        types = [AtomType(str(e), str(g), float(o)) for e, g, o in zip(c.elements, c.adp_groups, c.occupancy,
                                                                       strict=True)]
        f, dw = type_factors(types, q, b_iso=b_iso, radiation=radiation)
        occ = np.asarray(c.occupancy, float)[:, None]
        term = ((occ - occ**2 * dw**2) * np.abs(f) ** 2).sum(axis=0)
        pos = np.asarray(c.frac, float) @ np.asarray(cell, float)
        g = f * occ * dw
        ex = np.asarray(c.exclusion)
        for i, j in zip(*np.triu_indices(len(c), 1), strict=True):
            if ex[i] >= 0 and ex[i] == ex[j]:
                x = q * np.linalg.norm(pos[j] - pos[i])
                sinc = np.where(x == 0.0, 1.0, np.sin(x) / np.where(x == 0.0, 1.0, x))
                term -= 2.0 * (g[i] * np.conj(g[j])).real * sinc
        out += n * term
    return out
