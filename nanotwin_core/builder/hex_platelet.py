"""Hexagonal platelets: a regular hexagon in the ab plane, a thickness along c (a registered shape).

Sizes follow the prisms' convention (SCIENCE.md section 4), so populations, size grids and atom
estimates are the prisms' too: ``size_ab_nm`` = D_ab, the diameter of the circle with the
hexagon's area (pi D^2 / 4 = (3 sqrt3 / 2) R^2, R the corner radius, inradius r = sqrt3 R / 2);
``size_c_nm`` = L_c = n_c c (whole cells along c, n_c >= 1).

Selection (whole formula units, so the stoichiometry is exact): every node of the coherent (Pb)
sublattice whose fractional c coordinate lies in [0, n_c) and whose distance, within the plane
normal to c, from a central node is within r along each of the three facet normals (at 0, 60 and
120 degrees from a; two facets are normal to a). Without a coherent sublattice, whole unit cells
whose centre lies in that prism.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from nanotwin_core.builder.ownership import FRAC_TOL, find_ownership
from nanotwin_core.builder.shape_kinds import ShapeKind, SizeParameter, cell_grid_units, register_shape
from nanotwin_core.builder.shapes import NodeSelection, cell_content, crystal_from_selection
from nanotwin_core.builder.sizes import DEFAULT_MAX_ATOMS, c_unit_nm, check_atoms, check_size
from nanotwin_core.crystal import Crystal, LatticeDescription, crystal_from_lattice
from nanotwin_core.errors import NanotwinError
from nanotwin_core.structures.structure import Structure

__all__ = ["HEX_PLATELET", "build_hex_platelet", "hexagon_radii_nm", "select_hex_platelet"]


def hexagon_radii_nm(d_ab_nm: float) -> tuple[float, float]:
    """(corner radius R, inradius r) in nm of the regular hexagon with the area of a circle of
    diameter ``d_ab_nm``."""
    corner = d_ab_nm * math.sqrt(math.pi / (6.0 * math.sqrt(3.0)))
    return corner, corner * math.sqrt(3.0) / 2.0


def _in_platelet(cell: np.ndarray, points_frac: np.ndarray, centre_frac: np.ndarray, inradius: float,
                 n_c: int) -> np.ndarray:
    """Mask of the fractional points inside the platelet (inradius in Å, n_c cells along c)."""
    c_hat = cell[2] / np.linalg.norm(cell[2])
    a_in = cell[0] - (cell[0] @ c_hat) * c_hat
    e1 = a_in / np.linalg.norm(a_in)
    e2 = np.cross(c_hat, e1)
    d = (points_frac - centre_frac) @ cell
    inside = np.ones(len(points_frac), dtype=bool)
    for angle in (0.0, math.pi / 3, 2 * math.pi / 3):
        normal = math.cos(angle) * e1 + math.sin(angle) * e2
        inside &= np.abs(d @ normal) <= inradius + 1e-6
    z = points_frac[:, 2]
    return inside & (z > -FRAC_TOL) & (z < n_c - FRAC_TOL)


def _candidates(cell: np.ndarray, basis_frac: np.ndarray, origin_frac: np.ndarray, corner: float,
                n_c: int) -> np.ndarray:
    """Integer lattice coordinates covering the platelet's bounding box (generously)."""
    span = corner / np.linalg.norm(cell[:2], axis=1) + 1.0
    corners = np.array([[x, y, z] for x in (-span[0], span[0]) for y in (-span[1], span[1])
                        for z in (0.0, n_c)])
    u = (corners - origin_frac) @ np.linalg.inv(basis_frac)
    lo, hi = np.floor(u.min(axis=0)) - 1, np.ceil(u.max(axis=0)) + 1
    axes = [np.arange(int(a), int(b) + 1) for a, b in zip(lo, hi, strict=True)]
    return np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 3)


def _counts(structure: Structure, size_ab_nm: float, size_c_nm: float) -> tuple[int, float, float]:
    d_ab = check_size(size_ab_nm, "size_ab_nm")
    l_c = check_size(size_c_nm, "size_c_nm")
    n_c = max(1, round(l_c / c_unit_nm(structure.cell.matrix)))
    corner, inradius = hexagon_radii_nm(d_ab)
    return n_c, corner * 10.0, inradius * 10.0


def _info(structure: Structure, n_units: int, unit_volume: float, n_c: int, size_ab_nm: float,
          size_c_nm: float) -> dict:
    l_c = n_c * c_unit_nm(structure.cell.matrix)
    area = n_units * unit_volume / (l_c * 10.0)  # Å^2 of one layer
    return {"shape": "hex_platelet", "structure": structure.name, "n_c": int(n_c),
            "D_ab_nm": math.sqrt(4.0 * area / math.pi) / 10.0, "L_c_nm": l_c,
            "requested_size_ab_nm": float(size_ab_nm), "requested_size_c_nm": float(size_c_nm)}


def select_hex_platelet(structure: Structure, size_ab_nm: float, size_c_nm: float, *,
                        coherent_element: str = "Pb", max_atoms: int = DEFAULT_MAX_ATOMS) -> NodeSelection:
    """The coherent-sublattice nodes of a hexagonal platelet (module doc); twins cut these."""
    n_c, corner, inradius = _counts(structure, size_ab_nm, size_c_nm)
    own = find_ownership(structure, coherent_element)
    cell = own.cell
    area = 3.0 * math.sqrt(3.0) / 2.0 * corner**2
    check_atoms(area * n_c * np.linalg.norm(cell[2]) / own.node_volume * own.atoms_per_node, max_atoms,
                f"a hexagonal platelet of {size_ab_nm:g} x {size_c_nm:g} nm")
    cand = _candidates(cell, own.node_basis_frac, own.origin_frac, corner, n_c)
    frac = own.origin_frac + cand @ own.node_basis_frac
    nodes = cand[_in_platelet(cell, frac, own.origin_frac, inradius, n_c)]
    if not len(nodes):
        raise NanotwinError(f"a hexagonal platelet of {size_ab_nm:g} nm holds no {coherent_element} node; "
                            "make it larger")
    info = _info(structure, len(nodes), own.node_volume, n_c, size_ab_nm, size_c_nm)
    info.update(lattice="sublattice", coherent_element=coherent_element)
    return NodeSelection(own, nodes, info)


def build_hex_platelet(structure: Structure, size_ab_nm: float, size_c_nm: float, *,
                       coherent_element: str | None = "Pb", max_atoms: int = DEFAULT_MAX_ATOMS) -> Crystal:
    """An untwinned hexagonal platelet (module doc); whole unit cells without a coherent sublattice."""
    try:
        own = find_ownership(structure, coherent_element) if coherent_element else None
    except NanotwinError:  # no coherent sublattice: whole unit cells
        own = None
    if own is not None:
        sel = select_hex_platelet(structure, size_ab_nm, size_c_nm, coherent_element=coherent_element,
                                  max_atoms=max_atoms)
        return crystal_from_selection(sel)
    n_c, corner, inradius = _counts(structure, size_ab_nm, size_c_nm)
    cell = structure.cell.matrix
    content = cell_content(structure)
    area = 3.0 * math.sqrt(3.0) / 2.0 * corner**2
    check_atoms(area * n_c * np.linalg.norm(cell[2]) / structure.cell.volume * len(content), max_atoms,
                f"a hexagonal platelet of {size_ab_nm:g} x {size_c_nm:g} nm")
    half = np.full(3, 0.5)
    cand = _candidates(cell, np.eye(3), half, corner, n_c)
    cells = cand[_in_platelet(cell, cand + half, half, inradius, n_c)]
    if not len(cells):
        raise NanotwinError(f"a hexagonal platelet of {size_ab_nm:g} nm holds no whole cell; make it larger")
    lo = cells.min(axis=0)
    cmap = np.full(tuple(cells.max(axis=0) - lo + 1), -1, dtype=np.int64)
    cmap[tuple((cells - lo).T)] = 0
    desc = LatticeDescription(cell=cell, node_basis_frac=np.eye(3), contents=[content], content_map=cmap,
                              map_origin=lo.astype(np.int64))
    info = _info(structure, len(cells), structure.cell.volume, n_c, size_ab_nm, size_c_nm)
    info["lattice"] = "cell"
    crystal = crystal_from_lattice(desc, info=info)
    crystal.info["n_atoms"] = crystal.n_atoms
    return crystal


def _volume_nm3(structure: Structure, sizes: Mapping[str, float]) -> float:
    n_c = max(1, round(sizes["size_c_nm"] / c_unit_nm(structure.cell.matrix)))
    return math.pi / 4.0 * sizes["size_ab_nm"] ** 2 * n_c * c_unit_nm(structure.cell.matrix)


def _extent_nm(structure: Structure, sizes: Mapping[str, float]) -> float:
    corner, _ = hexagon_radii_nm(sizes["size_ab_nm"])
    return math.hypot(2.0 * corner, sizes["size_c_nm"])


HEX_PLATELET = register_shape(ShapeKind(
    name="hex_platelet",
    description="regular hexagon in the ab plane (two facets normal to a), thickness along c",
    sizes=(SizeParameter("size_ab_nm", "D_ab", "nm", "diameter of the circle with the hexagon's area"),
           SizeParameter("size_c_nm", "L_c", "nm", "thickness along c (whole cells)")),
    select=lambda s, sizes, **kw: select_hex_platelet(s, sizes["size_ab_nm"], sizes["size_c_nm"], **kw),
    build=lambda s, sizes, lattice=None, **kw: build_hex_platelet(
        s, sizes["size_ab_nm"], sizes["size_c_nm"], **kw),
    grid_units=cell_grid_units,
    volume_nm3=_volume_nm3,
    extent_nm=_extent_nm,
))
