"""Helpers shared by the DSE tests: small test crystals built by hand (not by the builder).

CsPbBr3-gamma (Pbnm, c long) from SCIENCE.md section 7: Materials Project Pnma coordinates
transformed with (x, y, z)_Pbnm = (z, x, y)_Pnma, in the Stoumpos 2013 cell.
"""

from __future__ import annotations

import numpy as np

from nanotwin_core.crystal import Crystal, LatticeContent, LatticeDescription, crystal_from_lattice
from nanotwin_core.structures.structure import Cell, Site, Structure


def cspbbr3_gamma(b_iso: float = 0.0) -> Structure:
    """Gamma CsPbBr3, Pbnm, a = 8.207, b = 8.255, c = 11.759 Å (20 atoms per cell)."""
    sites = (
        Site("Cs1", "Cs", (0.01945, 0.06016, 0.75), b_iso=b_iso),
        Site("Pb1", "Pb", (0.5, 0.0, 0.0), b_iso=b_iso),
        Site("Br1", "Br", (0.80279, 0.20102, 0.03170), b_iso=b_iso, adp_group="X_eq"),
        Site("Br2", "Br", (0.44033, 0.00626, 0.25), b_iso=b_iso, adp_group="X_ax"),
    )
    return Structure(
        "CsPbBr3-gamma (test)",
        Cell(8.207, 8.255, 11.759),
        "P b n m",
        sites,
        source="SCIENCE.md section 7 (Materials Project, Stoumpos 2013 cell)",
    )


def content_of(structure: Structure) -> LatticeContent:
    t = structure.expand()
    return LatticeContent(
        frac=t.frac,
        elements=t.elements,
        adp_groups=t.adp_groups,
        occupancy=t.occupancy,
        exclusion=t.exclusion,
    )


def prism(structure: Structure, n: tuple[int, int, int]) -> Crystal:
    """A prism of n1 x n2 x n3 whole cells with its lattice description."""
    lat = LatticeDescription(
        cell=structure.cell.matrix,
        node_basis_frac=np.eye(3),
        contents=[content_of(structure)],
        content_map=np.zeros(n, dtype=np.int64),
    )
    return crystal_from_lattice(lat)


def prism_nm(structure: Structure, size_nm: float) -> Crystal:
    """A prism of whole cells, n = round(size / cell edge) per axis."""
    c = structure.cell
    n = tuple(max(1, round(size_nm * 10.0 / x)) for x in (c.a, c.b, c.c))
    return prism(structure, n)


def multi_content(structure: Structure, n: tuple[int, int, int], seed: int = 0) -> Crystal:
    """A twinned-like crystal: several contents (the cell content translated) and empty nodes."""
    base = content_of(structure)
    shifts = [np.zeros(3), np.array([0.5, 0.5, 0.0]), np.array([0.0, 0.0, 0.5])]
    contents = [
        LatticeContent(
            frac=base.frac + s,
            elements=base.elements,
            adp_groups=base.adp_groups,
            occupancy=base.occupancy,
            exclusion=base.exclusion,
        )
        for s in shifts
    ]
    rng = np.random.default_rng(seed)
    cmap = rng.integers(-1, len(contents), size=n)
    cmap[0, 0, 0] = 0
    lat = LatticeDescription(
        cell=structure.cell.matrix,
        node_basis_frac=np.eye(3),
        contents=contents,
        content_map=cmap,
        map_origin=np.array([2, -1, 3]),
    )
    return crystal_from_lattice(lat)


def split_cubic(n: tuple[int, int, int], y: float = 0.08) -> Crystal:
    """Cubic CsPbBr3 with the halide split over four 25 % sites (exclusion groups)."""
    sites = (
        Site("Pb1", "Pb", (0.0, 0.0, 0.0)),
        Site("Cs1", "Cs", (0.5, 0.5, 0.5)),
        Site("Br1", "Br", (0.5, y, 0.0), occupancy=0.25, exclusion="X"),
    )
    s = Structure("split cubic", Cell(5.87, 5.87, 5.87), "P m -3 m", sites)
    return prism(s, n)


def test_helper_structure_bonds() -> None:
    """The hand-made gamma cell has 20 atoms and Pb-Br bonds of 2.97-3.02 Å."""
    s = cspbbr3_gamma()
    t = s.expand()
    assert len(t) == 20
    cr = prism(s, (3, 3, 3))
    pb = cr.positions[cr.elements == "Pb"]
    br = cr.positions[cr.elements == "Br"]
    d = np.sqrt(((pb[:, None] - br[None]) ** 2).sum(-1))
    bonds = d[d < 3.5]
    assert bonds.min() > 2.95 and bonds.max() < 3.05


def test_helper_split_cubic_exclusion() -> None:
    cr = split_cubic((2, 2, 2))
    assert (cr.exclusion >= 0).sum() == 8 * 3 * 4
