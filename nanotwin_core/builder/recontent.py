"""Per-atom edits of a lattice crystal that keep its lattice description (and the lattice route).

Terminations drop atoms, surface shells relabel them; both decide atom by atom, while the
engine counts pairs node by node. ``rebuild_crystal`` turns per-atom decisions into new node
contents: nodes whose atoms get the same decisions share one content, so a cube with a
labelled surface has a few dozen contents (core, faces, edges, corners per node class) and the
lattice route stays exact and fast. Atom order follows ``crystal_from_lattice``'s contract, so
the kept atoms keep their relative order.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from nanotwin_core.crystal import Crystal, LatticeContent, LatticeDescription, crystal_from_lattice
from nanotwin_core.errors import NanotwinError

__all__ = ["atom_nodes", "rebuild_crystal", "scale_occupancy"]


def atom_nodes(crystal: Crystal) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(nodes (n, 3), content ids (n,), node index of every atom (N,), local index of every atom
    in its node's content (N,)) of a crystal made by ``crystal_from_lattice``."""
    desc = crystal.lattice
    if desc is None:
        raise NanotwinError("this crystal has no lattice description (an imported atom list): "
                            "terminations and surface shells need a crystal made by the builder")
    nodes, ids = desc.occupied_nodes()
    sizes = np.array([len(c) for c in desc.contents], dtype=np.int64)
    counts = sizes[ids]
    if int(counts.sum()) != crystal.n_atoms:
        raise NanotwinError("crystal atoms do not match its lattice description")
    atom_node = np.repeat(np.arange(len(nodes)), counts)
    starts = np.concatenate([[0], np.cumsum(counts)])
    atom_local = np.arange(crystal.n_atoms) - starts[atom_node]
    return nodes, ids, atom_node, atom_local


def rebuild_crystal(crystal: Crystal, keep: np.ndarray | None = None, *, adp_groups: np.ndarray | None = None,
                    occupancy: np.ndarray | None = None, info: dict | None = None) -> Crystal:
    """The crystal with only the atoms where ``keep`` is True, with new ADP groups / occupancies
    per atom where given (arrays over the crystal's atoms), as a new lattice description.

    Nodes left without atoms become empty; domain and variant ids are kept per node.
    """
    n = crystal.n_atoms
    keep = np.ones(n, dtype=bool) if keep is None else np.asarray(keep, dtype=bool)
    groups = crystal.adp_groups if adp_groups is None else np.asarray(adp_groups, dtype="U16")
    occ = crystal.occupancy if occupancy is None else np.asarray(occupancy, dtype=float)
    if keep.shape != (n,) or groups.shape != (n,) or occ.shape != (n,):
        raise NanotwinError("per-atom arrays must have one entry per atom")
    desc = crystal.lattice
    nodes, ids, atom_node, atom_local = atom_nodes(crystal)
    group_names, group_code = np.unique(groups, return_inverse=True)
    occ_values, occ_code = np.unique(occ, return_inverse=True)
    first_atom = np.searchsorted(atom_node, np.arange(len(nodes)))
    new_ids = np.full(len(nodes), -1, dtype=np.int64)
    contents: list[LatticeContent] = []
    for k, content in enumerate(desc.contents):
        sel = np.nonzero(ids == k)[0]
        m = len(content)
        if len(sel) == 0 or m == 0:
            continue
        atoms = first_atom[sel][:, None] + np.arange(m)[None, :]  # (nodes, m) atom indices
        key = np.concatenate([keep[atoms], group_code[atoms], occ_code[atoms]], axis=1).astype(np.int64)
        rows, inverse = np.unique(key, axis=0, return_inverse=True)
        inverse = np.asarray(inverse).reshape(-1)
        for r, row in enumerate(rows):
            mask = row[:m].astype(bool)
            if not mask.any():
                continue
            new_ids[sel[inverse == r]] = len(contents)
            contents.append(LatticeContent(
                frac=content.frac[mask].copy(), elements=content.elements[mask].copy(),
                adp_groups=group_names[row[m:2 * m]][mask].astype("U16"),
                occupancy=occ_values[row[2 * m:]][mask].astype(float),
                exclusion=content.exclusion[mask].copy()))
    cmap = np.full(desc.content_map.shape, -1, dtype=np.int64)
    local = tuple((nodes - np.asarray(desc.map_origin, dtype=np.int64)).T)
    cmap[local] = new_ids
    dmap = np.zeros(cmap.shape, dtype=np.int32)
    vmap = np.zeros(cmap.shape, dtype=np.int32)
    dmap[local] = crystal.domain[first_atom]
    vmap[local] = crystal.variant[first_atom]
    new_desc = LatticeDescription(cell=np.asarray(desc.cell, dtype=float).copy(),
                                  node_basis_frac=np.asarray(desc.node_basis_frac, dtype=float).copy(),
                                  contents=contents, content_map=cmap,
                                  map_origin=np.asarray(desc.map_origin, dtype=np.int64).copy())
    out = crystal_from_lattice(new_desc, domain_map=dmap, variant_map=vmap,
                               info=dict(crystal.info if info is None else info))
    out.info["n_atoms"] = out.n_atoms
    return out


def scale_occupancy(crystal: Crystal, factors: Mapping[str, float]) -> Crystal:
    """The crystal with every atom's occupancy times the factor of its ADP/occupancy group, else
    of its element (1 where neither is named): what a refined ``occ_<group>`` means, as atoms."""
    scale = np.ones(crystal.n_atoms)
    named = np.zeros(crystal.n_atoms, dtype=bool)
    for key in ("adp_groups", "elements"):
        labels = getattr(crystal, key)
        for name, value in factors.items():
            hit = (labels == name) & ~named
            scale[hit] = float(value)
            named |= hit
    occupancy = crystal.occupancy * scale
    if crystal.lattice is None:
        return Crystal(positions=crystal.positions.copy(), elements=crystal.elements.copy(),
                       adp_groups=crystal.adp_groups.copy(), occupancy=occupancy,
                       exclusion=crystal.exclusion.copy(), domain=crystal.domain.copy(),
                       variant=crystal.variant.copy(), cell=crystal.cell, info=dict(crystal.info))
    return rebuild_crystal(crystal, occupancy=occupancy)
