"""Nanocrystal builder: shapes, sizes, ownership of atoms by the Pb sublattice, validation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.spatial import cKDTree

from nanotwin_core.builder import (
    build_crystal,
    build_cuboid,
    build_prism,
    build_sphere,
    find_ownership,
    prism_series,
    size_series,
)
from nanotwin_core.crystal import crystal_from_lattice
from nanotwin_core.errors import NanotwinError
from nanotwin_core.structures.structure import Cell, Site, Structure


def gamma_cspbbr3() -> Structure:
    """gamma-CsPbBr3 (Pbnm) from the built-in library."""
    from nanotwin_core.structures.library import get_structure

    return get_structure("CsPbBr3-gamma")


def split_cubic_supercell() -> Structure:
    """CsPbBr3 alpha, split halides (4 x 25 % around each X), as a P1 2 x 1 x 1 supercell."""
    a = 5.87
    y = 0.5 / a  # 0.5 Å off the Pb-X-Pb line, in units of the short axes
    sites = [
        Site("Pb1", "Pb", (0.0, 0.0, 0.0)),
        Site("Pb2", "Pb", (0.5, 0.0, 0.0)),
        Site("Cs1", "Cs", (0.25, 0.5, 0.5)),
        Site("Cs2", "Cs", (0.75, 0.5, 0.5)),
    ]
    centres = [
        (0.25, 0.0, 0.0),
        (0.75, 0.0, 0.0),
        (0.0, 0.5, 0.0),
        (0.5, 0.5, 0.0),
        (0.0, 0.0, 0.5),
        (0.5, 0.0, 0.5),
    ]
    n = 0
    for cx, cy, cz in centres:
        if cx in (0.25, 0.75):  # bond along a: displace along b and c
            disp = [(0, y, 0), (0, -y, 0), (0, 0, y), (0, 0, -y)]
        elif cy == 0.5:  # along b: displace along a (half units) and c
            disp = [(y / 2, 0, 0), (-y / 2, 0, 0), (0, 0, y), (0, 0, -y)]
        else:  # along c
            disp = [(y / 2, 0, 0), (-y / 2, 0, 0), (0, y, 0), (0, -y, 0)]
        for d in disp:
            n += 1
            sites.append(
                Site(f"Br{n}", "Br", (cx + d[0], cy + d[1], cz + d[2]), occupancy=0.25, exclusion="X")
            )
    return Structure("CsPbBr3-alpha-split-2x1x1", Cell(2 * a, a, a), "P 1", sites)


@pytest.fixture(scope="module")
def gamma() -> Structure:
    return gamma_cspbbr3()


def _cell_ab_unit(structure: Structure) -> float:
    c = structure.cell
    return math.sqrt(4 * c.a * c.b / math.pi) / 10


# ----------------------------------------------------------------------------- prisms
def test_prism_is_stoichiometric_and_octahedral(gamma) -> None:
    crystal = build_crystal(gamma, shape="prism", size_ab_nm=8, size_c_nm=10)
    info = crystal.info
    n_ab, n_c = info["n_ab"], info["n_c"]
    assert n_ab == round(8 / _cell_ab_unit(gamma)) and n_c == round(100 / gamma.cell.c)
    assert info["D_ab_nm"] == pytest.approx(n_ab * _cell_ab_unit(gamma), rel=1e-12)
    assert info["L_c_nm"] == pytest.approx(n_c * gamma.cell.c / 10, rel=1e-12)
    comp = crystal.composition()
    n_pb = comp["Pb"]
    assert n_pb == 4 * n_ab * n_ab * n_c
    assert comp == {"Cs": n_pb, "Pb": n_pb, "Br": 3 * n_pb}
    assert crystal.n_atoms == 20 * n_ab * n_ab * n_c
    # every Pb away from the surface has six Br at 2.8-3.2 Å and none closer
    pos = crystal.positions
    pb, br = pos[crystal.elements == "Pb"], pos[crystal.elements == "Br"]
    lo, hi = pos.min(axis=0), pos.max(axis=0)
    inner = np.all((pb > lo + 4.0) & (pb < hi - 4.0), axis=1)
    assert inner.sum() > 100
    tree = cKDTree(br)
    assert all(len(ix) == 6 for ix in tree.query_ball_point(pb[inner], 3.2))
    assert all(len(ix) == 0 for ix in tree.query_ball_point(pb, 2.8))
    # the lattice description reproduces the atoms (whole cells, identity node basis)
    lat = crystal.lattice
    assert lat is not None and np.allclose(lat.node_basis_frac, np.eye(3))
    assert len(lat.contents) == 1 and lat.content_map.shape == (n_ab, n_ab, n_c)
    again = crystal_from_lattice(lat)
    np.testing.assert_allclose(again.positions, crystal.positions, atol=1e-12)


def test_cell_and_sublattice_routes_hold_the_same_pb_and_formula(gamma) -> None:
    a = build_prism(gamma, 4, 5, lattice="cell")
    b = build_prism(gamma, 4, 5, lattice="sublattice")
    assert a.composition() == b.composition()
    pa = np.sort(a.positions[a.elements == "Pb"].round(9), axis=0)
    pb = np.sort(b.positions[b.elements == "Pb"].round(9), axis=0)
    np.testing.assert_allclose(pa, pb, atol=1e-9)
    assert b.lattice is not None and len(b.lattice.contents) == 4
    assert b.info["lattice"] == "sublattice" and a.info["lattice"] == "cell"


def test_prism_series_reports_realised_sizes(gamma) -> None:
    crystals = list(prism_series(gamma, [2, 3], [1, 2]))
    assert [(c.info["n_ab"], c.info["n_c"]) for c in crystals] == [(2, 1), (2, 2), (3, 1), (3, 2)]
    for c in crystals:
        assert c.info["D_ab_nm"] == pytest.approx(c.info["n_ab"] * _cell_ab_unit(gamma))
        assert c.info["L_c_nm"] == pytest.approx(c.info["n_c"] * gamma.cell.c / 10)
        assert c.n_atoms == 20 * c.info["n_ab"] ** 2 * c.info["n_c"]
    # requested sizes round to whole cells; duplicates are built once
    sizes = list(size_series(gamma, [1.9, 2.0, 2.8], [2.4]))
    assert [(c.info["n_ab"], c.info["n_c"]) for c in sizes] == [(2, 2), (3, 2)]


def test_size_rounds_to_at_least_one_cell(gamma) -> None:
    c = build_crystal(gamma, size_ab_nm=0.01, size_c_nm=0.01)
    assert c.info["n_ab"] == 1 and c.info["n_c"] == 1 and c.n_atoms == 20


# ----------------------------------------------------------------------------- cuboid, sphere
def test_cuboid_has_pseudocubic_facets_and_whole_formula_units(gamma) -> None:
    c = build_cuboid(gamma, 4.0)
    n = c.info["n_pc"]
    ap = np.linalg.norm(find_ownership(gamma).node_basis, axis=1) / 10
    assert n == [round(4.0 / x) for x in ap]
    assert c.n_atoms == 5 * int(np.prod(n))
    comp = c.composition()
    assert comp["Cs"] == comp["Pb"] and comp["Br"] == 3 * comp["Pb"]
    assert c.info["edges_nm"] == pytest.approx(list(np.array(n) * ap))
    # Pb fill a cube in pseudocubic coordinates: along (a+b), (a-b), c the Pb layers number n
    pb = c.positions[c.elements == "Pb"]
    own = find_ownership(gamma)
    u = (pb @ np.linalg.inv(c.cell) - own.origin_frac) @ np.linalg.inv(own.node_basis_frac)
    assert np.allclose(u, np.round(u), atol=1e-9)
    assert [len(np.unique(np.round(u[:, i]))) for i in range(3)] == n
    # the cuboid is equally sized along a+b and c (pseudocubic), unlike a prism of cells
    ext = np.ptp(pb @ (own.node_basis / np.linalg.norm(own.node_basis, axis=1)[:, None]).T, axis=0)
    assert np.ptp(ext) < 1.0


def test_sphere_selects_formula_units_inside_the_diameter(gamma) -> None:
    d_nm = 5.0
    c = build_sphere(gamma, d_nm)
    comp = c.composition()
    assert comp["Cs"] == comp["Pb"] and comp["Br"] == 3 * comp["Pb"]
    pb = c.positions[c.elements == "Pb"]
    own = find_ownership(gamma)
    centre = own.origin_frac @ c.cell
    r = np.linalg.norm(pb - centre, axis=1)
    assert r.max() <= d_nm * 5 + 1e-9
    expected = math.pi / 6 * (d_nm * 10) ** 3 / own.node_volume
    assert abs(comp["Pb"] / expected - 1) < 0.1
    assert c.info["D_eq_nm"] == pytest.approx((6 * comp["Pb"] * own.node_volume / math.pi) ** (1 / 3) / 10)
    assert c.lattice is not None and c.lattice.n_nodes == comp["Pb"]


def test_cuboid_and_sphere_without_a_sublattice_use_whole_cells(gamma) -> None:
    c = build_cuboid(gamma, 2.0, coherent_element=None)
    assert c.info["lattice"] == "cell" and c.n_atoms == 20 * int(np.prod(c.info["n_cells"]))
    s = build_sphere(gamma, 3.0, coherent_element="Cs")  # Cs is no Bravais lattice in Pbnm
    assert s.info["lattice"] == "cell" and s.n_atoms == 20 * s.info["n_cells"]


# ----------------------------------------------------------------------------- ownership
def test_pbnm_pb_ownership(gamma) -> None:
    own = find_ownership(gamma, "Pb")
    assert own.n_classes == 4
    basis = sorted(tuple(np.round(np.abs(v), 9)) for v in own.node_basis_frac)
    assert basis == [(0.0, 0.0, 0.5), (0.5, 0.5, 0.0), (0.5, 0.5, 0.0)]
    assert abs(abs(np.linalg.det(own.node_basis_frac)) - 0.25) < 1e-12
    for content in own.contents:
        assert sorted(content.elements) == ["Br", "Br", "Br", "Cs", "Pb"]
        assert content.elements[0] == "Pb"
        u = own.node_coords(content.frac - content.frac[0])
        # pseudocubic ownership: the X at +b1/2, +b2/2, +b3/2 and the Cs near +(b1+b2+b3)/2
        x = sorted(tuple(int(v) for v in row) for row in np.round(u[content.elements == "Br"] * 2))
        assert x == [(0, 0, 1), (0, 1, 0), (1, 0, 0)]
        assert np.allclose(u[content.elements == "Cs"], 0.5, atol=0.1)
    with pytest.raises(NanotwinError, match="Bravais"):
        find_ownership(gamma, "Cs")
    with pytest.raises(NanotwinError, match="no I atoms"):
        find_ownership(gamma, "I")


def test_split_sites_are_owned_as_whole_clusters() -> None:
    s = split_cubic_supercell()
    own = find_ownership(s, "Pb")
    assert own.n_classes == 2
    for content in own.contents:
        br = content.elements == "Br"
        assert br.sum() == 12 and np.all(content.exclusion[br] >= 0)
        assert sorted(np.bincount(content.exclusion[br])) == [4, 4, 4]
        assert content.occupancy[br].sum() == pytest.approx(3.0)
        # members of a cluster stay within 1 Å of each other
        for e in np.unique(content.exclusion[br]):
            p = content.frac[content.exclusion == e] @ own.cell
            assert np.ptp(p, axis=0).max() < 1.1
    c = build_prism(s, n_ab=2, n_c=2, lattice="sublattice")
    assert c.composition()["Br"] == pytest.approx(3 * c.composition()["Pb"])
    ids, counts = np.unique(c.exclusion[c.exclusion >= 0], return_counts=True)
    assert np.all(counts == 4) and len(ids) == 3 * c.composition()["Pb"]


# ----------------------------------------------------------------------------- validation
@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        (dict(size_ab_nm=-4, size_c_nm=4), "must be > 0"),
        (dict(size_ab_nm=4, size_c_nm=0), "must be > 0"),
        (dict(size_ab_nm=float("nan"), size_c_nm=4), "must be > 0"),
        (dict(size_ab_nm="abc", size_c_nm=4), "not a number"),
        (dict(size_ab_nm=400, size_c_nm=400), "max_atoms"),
        (dict(size_ab_nm=4), "size_ab_nm and size_c_nm"),
        (dict(shape="cuboid"), "size_nm"),
        (dict(shape="sphere", size_nm=-1), "must be > 0"),
        (dict(shape="sphere", size_nm=200), "atoms"),
        (dict(shape="cuboid", size_nm=150), "atoms"),
        (dict(shape="pyramid", size_nm=3), "unknown shape"),
        (dict(size_ab_nm=4, size_c_nm=4, boundaries=2), "twin laws"),
    ],
)
def test_bad_requests_raise_nanotwin_error(gamma, kwargs, needle) -> None:
    with pytest.raises(NanotwinError, match=needle):
        build_crystal(gamma, **kwargs)


def test_atom_limit_is_named_and_can_be_raised(gamma) -> None:
    with pytest.raises(NanotwinError) as err:
        build_crystal(gamma, size_ab_nm=4, size_c_nm=4, max_atoms=500)
    assert "500 atoms" in str(err.value) and "max_atoms" in str(err.value)
    c = build_crystal(gamma, size_ab_nm=4, size_c_nm=4, max_atoms=10_000)
    assert c.n_atoms <= 10_000
