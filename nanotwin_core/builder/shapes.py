"""Nanocrystal shapes: prisms of whole unit cells, pseudocubic cuboids and spheres.

Every crystal carries a ``LatticeDescription`` (docs/internals.md):

- ``lattice="cell"``: nodes are whole unit cells (node basis = identity, one content = the
  symmetry-expanded cell). Only prisms (and the fallbacks below) use it.
- ``lattice="sublattice"``: nodes are the coherent (Pb) sublattice; each node carries one formula
  unit (its Pb and the atoms it owns, see ``ownership``); the content of node n is its class
  (coset of the parent lattice). Twins need this representation.

Selection conventions (whole formula units, so the stoichiometry is exact):

- prism: n_ab x n_ab x n_c cells. Cell route: whole cells. Sublattice route: every node whose
  Pb lies in the box [0, n_ab) x [0, n_ab) x [0, n_c) (fractional), i.e. the Pb of those cells,
  each with its formula unit.
- cuboid: n1 x n2 x n3 nodes along the reduced node-basis vectors, n_i = nearest whole number
  of edge / |b_i| (>= 1). For perovskites the reduced Pb basis is the pseudocubic one (Pbnm:
  (a+b)/2, (a-b)/2, c/2), so the facets are pseudocubic {100}.
- sphere: every formula unit whose node (Pb) lies within D/2 of a central node.
- A structure without a Bravais sublattice of ``coherent_element`` falls back to whole unit
  cells: cuboid n_i = round(edge / |a_i|) cells, sphere = cells whose centre lies within D/2.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np

from nanotwin_core.builder.ownership import FRAC_TOL, Ownership, find_ownership
from nanotwin_core.builder.sizes import (
    DEFAULT_MAX_ATOMS,
    check_atoms,
    check_count,
    check_size,
    prism_counts,
    prism_sizes,
)
from nanotwin_core.crystal import Crystal, LatticeContent, LatticeDescription, crystal_from_lattice
from nanotwin_core.errors import NanotwinError
from nanotwin_core.structures.structure import Structure


@dataclass
class NodeSelection:
    """Nodes of a crystal on the coherent sublattice (before twinning).

    ``nodes``: (N, 3) integer node coordinates; ``info``: shape and realised sizes.
    """

    ownership: Ownership
    nodes: np.ndarray
    info: dict = field(default_factory=dict)

    def node_frac(self) -> np.ndarray:
        """Fractional positions of the node atoms (N, 3)."""
        return self.ownership.origin_frac + self.nodes @ self.ownership.node_basis_frac


def cell_content(structure: Structure) -> LatticeContent:
    """The symmetry-expanded unit cell as one lattice content."""
    t = structure.expand()
    return LatticeContent(
        frac=t.frac.copy(), elements=t.elements.copy(), adp_groups=t.adp_groups.copy(),
        occupancy=t.occupancy.copy(), exclusion=t.exclusion.copy(),
    )


def description_from_nodes(own: Ownership, nodes: np.ndarray, content_ids: np.ndarray | None = None,
                           contents: list[LatticeContent] | None = None) -> LatticeDescription:
    """A sublattice ``LatticeDescription`` holding ``nodes`` (content = class unless given)."""
    nodes = np.asarray(nodes, dtype=np.int64).reshape(-1, 3)
    if content_ids is None:
        content_ids = own.class_of(nodes)
    lo = nodes.min(axis=0)
    shape = tuple(int(x) for x in nodes.max(axis=0) - lo + 1)
    cmap = np.full(shape, -1, dtype=np.int64)
    cmap[tuple((nodes - lo).T)] = content_ids
    return LatticeDescription(
        cell=own.cell.copy(), node_basis_frac=own.node_basis_frac.copy(),
        contents=list(contents if contents is not None else own.contents),
        content_map=cmap, map_origin=lo.astype(np.int64),
    )


def _grid(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    axes = [np.arange(int(a), int(b) + 1) for a, b in zip(lo, hi, strict=True)]
    return np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 3)


def prism_nodes(own: Ownership, n_ab: int, n_c: int) -> np.ndarray:
    """Integer node coordinates of the nodes whose atom lies in [0,n_ab)^2 x [0,n_c) (fractional)."""
    hi = np.array([n_ab, n_ab, n_c], dtype=float)
    corners = np.array([[x, y, z] for x in (0, hi[0]) for y in (0, hi[1]) for z in (0, hi[2])])
    u = own.node_coords(corners - own.origin_frac)
    cand = _grid(np.floor(u.min(axis=0)) - 1, np.ceil(u.max(axis=0)) + 1)
    f = own.origin_frac + cand @ own.node_basis_frac
    ok = np.all((f > -FRAC_TOL) & (f < hi - FRAC_TOL), axis=1)
    return cand[ok]


def _resolve_ownership(structure: Structure, coherent_element: str | None) -> Ownership | None:
    if coherent_element is None:
        return None
    try:
        return find_ownership(structure, coherent_element)
    except NanotwinError:
        return None


def select_prism(structure: Structure, size_ab_nm: float | None = None, size_c_nm: float | None = None,
                 *, n_ab: int | None = None, n_c: int | None = None, coherent_element: str = "Pb",
                 max_atoms: int = DEFAULT_MAX_ATOMS, ownership: Ownership | None = None) -> NodeSelection:
    """The sublattice nodes of a prism (see ``build_prism``); NanotwinError without a sublattice.

    ``ownership``: the structure's ``find_ownership`` result, when the caller has it already.
    """
    n_ab, n_c, info = _prism_counts_info(structure, size_ab_nm, size_c_nm, n_ab, n_c, max_atoms)
    own = ownership or find_ownership(structure, coherent_element)
    info.update(lattice="sublattice", coherent_element=coherent_element)
    return NodeSelection(own, prism_nodes(own, n_ab, n_c), info)


def _prism_counts_info(structure, size_ab_nm, size_c_nm, n_ab, n_c, max_atoms):
    cell = structure.cell.matrix
    if n_ab is None or n_c is None:
        if size_ab_nm is None or size_c_nm is None:
            raise NanotwinError("a prism needs size_ab_nm and size_c_nm (nm) or n_ab and n_c (cells)")
        n_ab, n_c = prism_counts(cell, size_ab_nm, size_c_nm)
    else:
        n_ab, n_c = check_count(n_ab, "n_ab"), check_count(n_c, "n_c")
    n_cell = len(structure.expand())
    check_atoms(float(n_ab) ** 2 * n_c * n_cell, max_atoms,
                f"a prism of {n_ab} x {n_ab} x {n_c} cells")
    d_ab, l_c = prism_sizes(cell, n_ab, n_c)
    info = {"shape": "prism", "structure": structure.name, "n_ab": int(n_ab), "n_c": int(n_c),
            "D_ab_nm": d_ab, "L_c_nm": l_c}
    if size_ab_nm is not None and size_c_nm is not None:
        info.update(requested_size_ab_nm=float(size_ab_nm), requested_size_c_nm=float(size_c_nm))
    return n_ab, n_c, info


def build_prism(structure: Structure, size_ab_nm: float | None = None, size_c_nm: float | None = None,
                *, n_ab: int | None = None, n_c: int | None = None, lattice: str = "cell",
                coherent_element: str = "Pb", max_atoms: int = DEFAULT_MAX_ATOMS) -> Crystal:
    """A prism of n_ab x n_ab x n_c unit cells (DebUsSy's bivariate growth).

    Parameters
    ----------
    structure : the crystal structure.
    size_ab_nm, size_c_nm : requested D_ab and L_c (nm); the nearest whole numbers of cells
        (>= 1) are used, with D_ab = n_ab sqrt(4ab/pi), L_c = n_c c. Or give ``n_ab``, ``n_c``.
    lattice : "cell" (nodes = whole cells) or "sublattice" (nodes = the coherent sublattice).
    coherent_element : the sublattice element for ``lattice="sublattice"``.
    max_atoms : refuse (NanotwinError) crystals estimated above this many atoms.

    Returns
    -------
    Crystal with ``info`` = shape, structure, n_ab, n_c, D_ab_nm, L_c_nm, lattice, n_atoms.
    """
    if lattice not in ("cell", "sublattice"):
        raise NanotwinError(f"lattice must be 'cell' or 'sublattice', got {lattice!r}")
    if lattice == "sublattice":
        sel = select_prism(structure, size_ab_nm, size_c_nm, n_ab=n_ab, n_c=n_c,
                           coherent_element=coherent_element, max_atoms=max_atoms)
        return crystal_from_selection(sel)
    n_ab, n_c, info = _prism_counts_info(structure, size_ab_nm, size_c_nm, n_ab, n_c, max_atoms)
    desc = LatticeDescription(
        cell=structure.cell.matrix, node_basis_frac=np.eye(3), contents=[cell_content(structure)],
        content_map=np.zeros((n_ab, n_ab, n_c), dtype=np.int64),
    )
    info["lattice"] = "cell"
    crystal = crystal_from_lattice(desc, info=info)
    crystal.info["n_atoms"] = crystal.n_atoms
    return crystal


def crystal_from_selection(sel: NodeSelection) -> Crystal:
    """The untwinned crystal of a node selection."""
    crystal = crystal_from_lattice(description_from_nodes(sel.ownership, sel.nodes), info=sel.info)
    crystal.info["n_atoms"] = crystal.n_atoms
    return crystal


def select_cuboid(structure: Structure, size_nm: float, *, coherent_element: str = "Pb",
                  max_atoms: int = DEFAULT_MAX_ATOMS, ownership: Ownership | None = None) -> NodeSelection:
    """The sublattice nodes of a pseudocubic cuboid (see ``build_cuboid``; ``ownership`` as for
    ``select_prism``)."""
    edge = check_size(size_nm, "size_nm")
    own = ownership or find_ownership(structure, coherent_element)
    lengths = np.linalg.norm(own.node_basis, axis=1) / 10.0
    n = np.maximum(1, np.round(edge / lengths)).astype(int)
    check_atoms(float(np.prod(n.astype(float))) * own.atoms_per_node, max_atoms,
                f"a cuboid of {n[0]} x {n[1]} x {n[2]} formula units")
    nodes = _grid(np.zeros(3), n - 1)
    edges = n * lengths
    info = {"shape": "cuboid", "structure": structure.name, "requested_size_nm": edge,
            "size_nm": float(np.prod(edges) ** (1 / 3)), "edges_nm": [float(x) for x in edges],
            "n_pc": [int(x) for x in n], "lattice": "sublattice", "coherent_element": coherent_element}
    return NodeSelection(own, nodes, info)


def select_sphere(structure: Structure, size_nm: float, *, coherent_element: str = "Pb",
                  max_atoms: int = DEFAULT_MAX_ATOMS, ownership: Ownership | None = None) -> NodeSelection:
    """The sublattice nodes of a sphere (see ``build_sphere``; ``ownership`` as for ``select_prism``)."""
    diameter = check_size(size_nm, "size_nm")
    own = ownership or find_ownership(structure, coherent_element)
    radius = diameter * 5.0  # Å
    est = math.pi / 6 * (diameter * 10) ** 3 / own.node_volume
    check_atoms(est * own.atoms_per_node, max_atoms, f"a sphere of {diameter:g} nm")
    bc = own.node_basis
    span = np.ceil(radius * np.linalg.norm(np.linalg.inv(bc), axis=0)) + 1
    cand = _grid(-span, span)
    r = np.linalg.norm(cand @ bc, axis=1)
    nodes = cand[r <= radius + 1e-9]
    if len(nodes) == 0:  # pragma: no cover - the central node is always inside
        nodes = np.zeros((1, 3), dtype=np.int64)
    d_eq = (6 * len(nodes) * own.node_volume / math.pi) ** (1 / 3) / 10.0
    info = {"shape": "sphere", "structure": structure.name, "size_nm": diameter, "D_eq_nm": d_eq,
            "n_nodes": len(nodes), "lattice": "sublattice", "coherent_element": coherent_element}
    return NodeSelection(own, nodes, info)


def _cell_fallback(structure: Structure, shape: str, size_nm: float, max_atoms: int) -> Crystal:
    """Cuboid or sphere of whole unit cells (no coherent sublattice)."""
    size = check_size(size_nm, "size_nm")
    cell = structure.cell.matrix
    content = cell_content(structure)
    lengths = np.linalg.norm(cell, axis=1) / 10.0
    if shape == "cuboid":
        n = np.maximum(1, np.round(size / lengths)).astype(int)
        check_atoms(float(np.prod(n.astype(float))) * len(content), max_atoms,
                    f"a cuboid of {n[0]} x {n[1]} x {n[2]} cells")
        cmap = np.zeros(tuple(n), dtype=np.int64)
        edges = n * lengths
        info = {"shape": "cuboid", "structure": structure.name, "requested_size_nm": size,
                "size_nm": float(np.prod(edges) ** (1 / 3)), "edges_nm": [float(x) for x in edges],
                "n_cells": [int(x) for x in n], "lattice": "cell"}
        origin = np.zeros(3, dtype=np.int64)
    else:
        vol = abs(np.linalg.det(cell))
        check_atoms(math.pi / 6 * (size * 10) ** 3 / vol * len(content), max_atoms,
                    f"a sphere of {size:g} nm")
        radius = size * 5.0
        span = np.ceil(radius * np.linalg.norm(np.linalg.inv(cell), axis=0)) + 1
        cand = _grid(-span, span)
        ok = np.linalg.norm(cand @ cell, axis=1) <= radius + 1e-9
        origin = (-span).astype(np.int64)
        cmap = np.full(tuple((2 * span + 1).astype(int)), -1, dtype=np.int64)
        cmap[tuple((cand[ok] - origin).T)] = 0
        n_cells = int(ok.sum())
        info = {"shape": "sphere", "structure": structure.name, "size_nm": size,
                "D_eq_nm": (6 * n_cells * vol / math.pi) ** (1 / 3) / 10.0, "n_cells": n_cells,
                "lattice": "cell"}
    desc = LatticeDescription(cell=cell, node_basis_frac=np.eye(3), contents=[content],
                              content_map=cmap, map_origin=origin)
    crystal = crystal_from_lattice(desc, info=info)
    crystal.info["n_atoms"] = crystal.n_atoms
    return crystal


def build_cuboid(structure: Structure, size_nm: float, *, coherent_element: str | None = "Pb",
                 max_atoms: int = DEFAULT_MAX_ATOMS) -> Crystal:
    """A cuboid with pseudocubic {100} facets, edge ``size_nm`` (nm), of whole formula units.

    The edge along each reduced node-basis vector b_i is the nearest whole number (>= 1) of
    |b_i|; ``info["edges_nm"]`` gives the realised edges and ``info["size_nm"]`` their geometric
    mean. Without a coherent sublattice: whole unit cells along a, b, c.
    """
    own = _resolve_ownership(structure, coherent_element)
    if own is None:
        return _cell_fallback(structure, "cuboid", size_nm, max_atoms)
    return crystal_from_selection(select_cuboid(structure, size_nm, coherent_element=coherent_element,
                                                max_atoms=max_atoms))


def build_sphere(structure: Structure, size_nm: float, *, coherent_element: str | None = "Pb",
                 max_atoms: int = DEFAULT_MAX_ATOMS) -> Crystal:
    """A sphere of diameter ``size_nm`` (nm): whole formula units whose node lies within D/2.

    ``info["D_eq_nm"]`` is the realised equal-volume diameter (nodes x volume per node).
    Without a coherent sublattice: whole unit cells whose centre lies within D/2.
    """
    own = _resolve_ownership(structure, coherent_element)
    if own is None:
        return _cell_fallback(structure, "sphere", size_nm, max_atoms)
    return crystal_from_selection(select_sphere(structure, size_nm, coherent_element=coherent_element,
                                                max_atoms=max_atoms))


def prism_series(structure: Structure, n_ab_values: Iterable[int], n_c_values: Iterable[int], *,
                 lattice: str = "cell", coherent_element: str = "Pb",
                 max_atoms: int = DEFAULT_MAX_ATOMS) -> Iterator[Crystal]:
    """Prisms for every (n_ab, n_c) of the grid, in row order; each carries its realised sizes.

    Crystals are built lazily (one at a time); ``info["D_ab_nm"]``, ``info["L_c_nm"]`` give the
    sizes in nm.
    """
    n_c_list = list(n_c_values)
    for n_ab in n_ab_values:
        for n_c in n_c_list:
            yield build_prism(structure, n_ab=n_ab, n_c=n_c, lattice=lattice,
                              coherent_element=coherent_element, max_atoms=max_atoms)


def size_series(structure: Structure, sizes_ab_nm: Iterable[float], sizes_c_nm: Iterable[float],
                **kwargs) -> Iterator[Crystal]:
    """Prisms for a grid of requested sizes (nm), each rounded to whole cells (duplicates skipped)."""
    cell = structure.cell.matrix
    seen: set[tuple[int, int]] = set()
    c_list = list(sizes_c_nm)
    for d in sizes_ab_nm:
        for lc in c_list:
            key = prism_counts(cell, d, lc)
            if key in seen:
                continue
            seen.add(key)
            yield build_prism(structure, n_ab=key[0], n_c=key[1], **kwargs)
