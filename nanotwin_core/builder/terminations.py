"""Surface terminations: which atom layers close a crystal's facets.

A crystal is built as a *core* of whole nodes of the coherent sublattice (Pb in CsPbX3, Pb in
PbS): its size is the core's (the edge of an n x n x n cube of PbX6 octahedra is n a_p, the
distance between its outer CsX planes when CsX-terminated). The termination decides which other
atoms close the facets, by one rule for any structure:

- every atom is counted against the coherent atoms of the core within its *first coordination
  shell* (the shell of nearest coherent neighbours the same site has in the bulk, cut in the
  middle of the gap to the second shell: 6 Pb around S in PbS, 2 Pb around X and 8 around Cs in
  a perovskite);
- ``ELEMENT:K`` keeps an atom of that element, of the core or of the one-node shell around it,
  when at least K of those neighbours are core atoms (``full``: all of them);
- elements the rule does not name keep the formula-unit convention: the atoms the core nodes
  own (``ownership.py``), so ``stoichiometric`` (no rule) is the builder's default;
- ``neutral:ELEMENT`` then removes atoms of that element, the least coordinated first (ties: the
  farthest from those already removed, then atom order), until the formal charges sum to zero.

Presets for perovskites ABX3 (B = the coherent element): ``CsX`` (alias ``AX``): X:1, A:1,
neutral:A -- complete BX6 octahedra, A in every cavity touching the core, charge balanced: an
n x n x n cube holds A n^3 + 3n^2, B n^3, X 3n^3 + 3n^2 (the 3n + 1 A removed are the corners
first, then edge sites spread apart); ``PbX2`` (alias ``BX2``): X:1, A:full -- complete
octahedra, A only in closed cavities: A (n - 1)^3, not charge balanced (ligands do that).
For rock salt PbS, ``S:full`` keeps only S with all six Pb (a Pb-terminated, S-poor surface)
and ``S:1`` every S bonded to a core Pb (S-rich).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from nanotwin_core.builder.ownership import Ownership
from nanotwin_core.builder.recontent import atom_nodes, rebuild_crystal
from nanotwin_core.builder.shapes import NodeSelection
from nanotwin_core.crystal import Crystal
from nanotwin_core.errors import NanotwinError
from nanotwin_core.structures.elements import element_of

__all__ = ["FORMAL_CHARGES", "STOICHIOMETRIC", "TerminationRule", "extended_selection", "parse_termination",
           "terminate", "termination_names"]

STOICHIOMETRIC = "stoichiometric"
FULL = -1  # K value meaning "all first-shell neighbours"

#: formal charges used by ``neutral:EL`` (common oxidation states)
FORMAL_CHARGES: dict[str, int] = {
    "H": 1, "Li": 1, "Na": 1, "K": 1, "Rb": 1, "Cs": 1, "Ag": 1, "Cu": 1, "Tl": 1,
    "Be": 2, "Mg": 2, "Ca": 2, "Sr": 2, "Ba": 2, "Zn": 2, "Cd": 2, "Hg": 2, "Pb": 2, "Sn": 2,
    "Ge": 2, "Mn": 2, "Fe": 2, "Co": 2, "Ni": 2, "Eu": 2,
    "Al": 3, "Ga": 3, "In": 3, "Bi": 3, "Sb": 3, "Y": 3, "La": 3, "Sc": 3,
    "Ti": 4, "Zr": 4, "Hf": 4, "Ce": 4,
    "F": -1, "Cl": -1, "Br": -1, "I": -1,
    "O": -2, "S": -2, "Se": -2, "Te": -2, "N": -3, "P": -3, "As": -3,
}


@dataclass(frozen=True)
class TerminationRule:
    """``min_neighbours`` {element: K (``FULL`` = all)}; ``neutral``: the element removed to
    balance the formal charges (None: no balancing); ``name``: how the user wrote it."""

    name: str
    min_neighbours: tuple[tuple[str, int], ...] = ()
    neutral: str | None = None

    @property
    def is_stoichiometric(self) -> bool:
        return not self.min_neighbours and self.neutral is None


def termination_names() -> tuple[str, ...]:
    """The preset names (``--termination``); any ``EL:K,...,neutral:EL`` rule is accepted too."""
    return (STOICHIOMETRIC, "CsX", "PbX2")


def _perovskite_roles(elements: set[str], coherent: str) -> tuple[list[str], list[str]]:
    """(A cations, X anions) of an ABX3 structure with B = ``coherent``."""
    anions = sorted(e for e in elements if FORMAL_CHARGES.get(e, 0) < 0)
    cations = sorted(e for e in elements if e != coherent and FORMAL_CHARGES.get(e, 0) > 0)
    if not anions or not cations:
        raise NanotwinError(f"the perovskite terminations (CsX, PbX2) need A cations and X anions besides "
                            f"{coherent}; this structure has {', '.join(sorted(elements))}")
    return cations, anions


def parse_termination(text: str | None, elements: set[str] | None = None,
                      coherent_element: str = "Pb") -> TerminationRule:
    """A termination by preset name (``stoichiometric``, ``CsX``/``AX``, ``PbX2``/``BX2``) or rule
    ``EL:K,...[,neutral:EL]`` (K a whole number >= 1 or ``full``); ``elements`` (the structure's)
    resolves the presets and checks the rule's names."""
    name = (text or STOICHIOMETRIC).strip()
    key = name.lower()
    if key in ("", STOICHIOMETRIC, "none"):
        return TerminationRule(STOICHIOMETRIC)
    if key in ("csx", "ax", "pbx2", "bx2"):
        if elements is None:
            return TerminationRule(name)
        cations, anions = _perovskite_roles(elements, coherent_element)
        if key in ("csx", "ax"):
            if len(cations) != 1:
                raise NanotwinError(f"termination {name}: one A cation expected, found {', '.join(cations)}")
            return TerminationRule(name, tuple((e, 1) for e in [*anions, *cations]), cations[0])
        return TerminationRule(name, (*((e, 1) for e in anions), *((e, FULL) for e in cations)))
    mins: dict[str, int] = {}
    neutral = None
    for item in name.split(","):
        el, sep, value = (part.strip() for part in item.partition(":"))
        if not sep or not el or not value:
            raise NanotwinError(f"termination rule items look like EL:K, EL:full or neutral:EL, got {item!r} "
                                f"(presets: {', '.join(termination_names())})")
        if el.lower() == "neutral":
            neutral = element_of(value)
            continue
        if value.lower() == "full":
            mins[element_of(el)] = FULL
        elif value.isdigit() and int(value) >= 1:
            mins[element_of(el)] = int(value)
        else:
            raise NanotwinError(f"termination {item!r}: K must be a whole number >= 1 or 'full'")
    if elements is not None:
        unknown = sorted({*mins, *([neutral] if neutral else [])} - set(elements))
        if unknown:
            raise NanotwinError(f"termination names {', '.join(unknown)}, not in the structure "
                                f"({', '.join(sorted(elements))})")
        if coherent_element in mins:
            raise NanotwinError(f"termination: {coherent_element} is the coherent element; its atoms are the "
                                "core's nodes (the size), not a terminating layer")
        if neutral is not None and neutral not in FORMAL_CHARGES:
            raise NanotwinError(f"termination neutral:{neutral}: no formal charge known for {neutral}")
    return TerminationRule(name, tuple(sorted(mins.items())), neutral)


def extended_selection(sel: NodeSelection) -> NodeSelection:
    """The selection plus every node within one step (26-neighbourhood in node coordinates)."""
    steps = np.array(list(itertools.product((-1, 0, 1), repeat=3)), dtype=np.int64)
    nodes = np.unique((sel.nodes[:, None, :] + steps[None, :, :]).reshape(-1, 3), axis=0)
    return NodeSelection(sel.ownership, nodes, dict(sel.info))


def _first_shell(own: Ownership, frac: np.ndarray) -> tuple[float, int]:
    """(cutoff Å, neighbour count) of the first shell of coherent atoms around a site at ``frac``
    (relative to its node, parent fractional units) in the bulk: cut in the middle (geometric)
    of the largest gap among the 16 nearest."""
    span = np.arange(-3, 4)
    grid = np.array(list(itertools.product(span, span, span)), dtype=float)
    nodes = own.origin_frac + grid @ own.node_basis_frac
    d = np.sort(np.linalg.norm((nodes - frac) @ own.cell, axis=1))[:16]
    d = np.maximum(d, 1e-6)
    k = int(np.argmax(d[1:] / d[:-1]))
    return float(np.sqrt(d[k] * d[k + 1])), k + 1


def _site_shells(crystal: Crystal, own: Ownership, atom_content: np.ndarray, atom_local: np.ndarray):
    """Per atom: first-shell cutoff (Å) and neighbour count, computed once per content site."""
    contents = crystal.lattice.contents
    width = max(len(c) for c in contents)
    sites, inverse = np.unique(atom_content * width + atom_local, return_inverse=True)
    cache: dict[tuple, tuple[float, int]] = {}
    shells = []
    for site in sites:
        frac = contents[int(site // width)].frac[int(site % width)]
        key = tuple(np.round(frac - own.origin_frac, 6))
        if key not in cache:
            cache[key] = _first_shell(own, frac)
        shells.append(cache[key])
    cutoff, full = (np.array(v) for v in zip(*shells, strict=True))
    return cutoff[inverse], full[inverse].astype(np.int64)


def _rows_in(rows: np.ndarray, table: np.ndarray) -> np.ndarray:
    """For every integer row of ``rows`` (n, 3): is it a row of ``table``."""
    lo = np.minimum(rows.min(axis=0), table.min(axis=0))
    span = np.maximum(rows.max(axis=0), table.max(axis=0)) - lo + 1

    def code(a: np.ndarray) -> np.ndarray:
        a = a - lo
        return (a[:, 0] * span[1] + a[:, 1]) * span[2] + a[:, 2]

    return np.isin(code(rows), code(table))


def _cluster_centres(crystal: Crystal) -> np.ndarray:
    """Positions with every split-site (exclusion) cluster replaced by its centre."""
    pos = crystal.positions.copy()
    ex = crystal.exclusion
    members = np.nonzero(ex >= 0)[0]
    if len(members):
        labels, inverse = np.unique(ex[members], return_inverse=True)
        centres = np.zeros((len(labels), 3))
        np.add.at(centres, inverse, pos[members])
        centres /= np.bincount(inverse)[:, None]
        pos[members] = centres[inverse]
    return pos


def terminate(crystal: Crystal, core_nodes: np.ndarray, own: Ownership, rule: TerminationRule) -> Crystal:
    """Apply ``rule`` to a crystal built on ``extended_selection`` of a core (module doc).

    ``core_nodes`` are the integer node coordinates of the core; every node of ``crystal``
    outside them is shell. ``info`` gains ``termination`` and ``termination_removed`` (atoms
    removed to balance the charges).
    """
    nodes, ids, atom_node, atom_local = atom_nodes(crystal)
    node_core = _rows_in(nodes, np.asarray(core_nodes, dtype=np.int64).reshape(-1, 3))
    atom_core = node_core[atom_node]
    elements = np.array([element_of(str(e)) for e in crystal.elements])
    is_coherent = elements == own.element
    keep = atom_core.copy()  # the formula-unit convention for every element the rule leaves alone
    rule_min = dict(rule.min_neighbours)
    if rule_min or rule.neutral:
        cutoff, full = _site_shells(crystal, own, ids[atom_node], atom_local)
        core_pos = crystal.positions[is_coherent & atom_core]
        tree = cKDTree(core_pos)
        probe = _cluster_centres(crystal)
        counted = ~is_coherent
        coordination = np.zeros(crystal.n_atoms, dtype=np.int64)
        coordination[counted] = tree.query_ball_point(probe[counted], cutoff[counted], return_length=True)
        for el, k_min in rule_min.items():
            sel = elements == el
            need = full[sel] if k_min == FULL else k_min
            keep[sel] = coordination[sel] >= need
    removed = 0
    if rule.neutral is not None:
        removed = _balance(crystal, elements, keep, coordination, rule.neutral)
    info = dict(crystal.info)
    info.update(termination=rule.name, termination_removed=int(removed))
    out = rebuild_crystal(crystal, keep, info=info)
    comp = out.composition()
    out.info["composition"] = {el: float(v) for el, v in sorted(comp.items())}
    return out


def _balance(crystal: Crystal, elements: np.ndarray, keep: np.ndarray, coordination: np.ndarray,
             neutral: str) -> int:
    """Remove atoms of ``neutral`` from ``keep`` (in place) until the formal charge is zero."""
    missing = sorted({e for e in elements[keep]} - set(FORMAL_CHARGES))
    if missing:
        raise NanotwinError(f"termination neutral:{neutral}: no formal charge known for {', '.join(missing)}")
    charges = np.array([FORMAL_CHARGES[e] for e in elements])
    total = float(np.sum(charges[keep] * crystal.occupancy[keep]))
    q = FORMAL_CHARGES[neutral]
    n_remove = total / q
    if abs(n_remove) < 1e-9:
        return 0
    if n_remove < 0 or abs(n_remove - round(n_remove)) > 1e-6:
        raise NanotwinError(f"termination neutral:{neutral}: the crystal's formal charge is {total:+g}; "
                            f"removing whole {neutral} atoms ({q:+d} each) cannot make it neutral")
    n_remove = int(round(n_remove))
    cand = np.nonzero(keep & (elements == neutral))[0]
    if len(cand) < n_remove:
        raise NanotwinError(f"termination neutral:{neutral}: {n_remove} {neutral} would have to go, "
                            f"only {len(cand)} are there")
    pos = crystal.positions
    gone: list[int] = []
    dist = np.full(len(cand), np.inf)
    alive = np.ones(len(cand), dtype=bool)
    for _ in range(n_remove):
        coord = np.where(alive, coordination[cand], np.iinfo(np.int64).max)
        tier = alive & (coord == coord.min())
        score = np.where(tier, dist, -1.0)
        j = int(np.argmax(score))  # farthest from the removed ones; first in atom order on ties
        alive[j] = False
        gone.append(int(cand[j]))
        dist = np.minimum(dist, np.linalg.norm(pos[cand] - pos[cand[j]], axis=1))
    keep[np.array(gone, dtype=np.int64)] = False
    return n_remove
