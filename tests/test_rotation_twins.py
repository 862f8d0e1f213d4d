"""Rotation and reflection twins (issue 18, Build 2; docs/internals.md "Rotation twins"): the
builder's two-domain crystal against the same crystal built independently here (the bulk tiled
from the unit cell, half of it turned with scipy about the Pb of node 0, Pb snapped onto the near
node lattice, atoms owned by the nearest formula-unit centre), its pattern against the plain
numpy Debye double sum, and its Bragg parts against brute-force |F(G)|^2."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from nanotwin_core.bragg_diffuse import measure_crystal
from nanotwin_core.builder import build_crystal, find_ownership, parse_twin_law, select_nodes
from nanotwin_core.builder.rotation_laws import MISFIT_TOLERANCE, RotationLaw
from nanotwin_core.crystal import Crystal
from nanotwin_core.errors import NanotwinError
from nanotwin_core.population.ensemble import twin_network_model
from nanotwin_core.scattering import compute_histograms, debye_intensity, exact_debye
from nanotwin_core.scattering.radiation import Neutron
from nanotwin_core.structures.library import get_structure

SIZE_NM = 1.8  # a cuboid of 3 x 3 x 3 Pb: 135 atoms
WINDOW = (1.5, 2.12)  # 1/Å: the R, M, X points nearest its edges lie >= 0.08 1/Å outside


@pytest.fixture(scope="module")
def gamma():
    return get_structure("CsPbBr3-gamma")


def operation(law: str, cell: np.ndarray) -> np.ndarray:
    """The Cartesian 3x3 operation of a one-member law, from scipy (a reflection = -1 x a 2-fold)."""
    m = parse_twin_law(law)
    if m.kind == "m":
        g = np.linalg.inv(cell) @ np.array(m.plane, float)
        return -Rotation.from_rotvec(np.pi * g / np.linalg.norm(g)).as_matrix()
    axis = np.array(m.direction, float) @ cell
    return Rotation.from_rotvec(np.pi / 2 * axis / np.linalg.norm(axis)).as_matrix()


def independent_twin(structure, law: str, plane: np.ndarray, level: float) -> Crystal:
    """The two-domain cuboid built from the bulk without the builder's contents (module doc)."""
    own = find_ownership(structure)
    cell = structure.cell.matrix
    basis = own.node_basis
    origin = own.origin_frac @ cell
    nodes = np.asarray(select_nodes(structure, "cuboid", size_nm=SIZE_NM).nodes, dtype=np.int64)
    node_set = {tuple(n) for n in nodes}
    far_node = {tuple(n): bool((own.origin_frac + n @ own.node_basis_frac) @ plane > level) for n in nodes}
    table = structure.expand()
    span = np.abs(nodes).max() + 3
    shifts = np.array(list(itertools.product(range(-span, span + 1), repeat=3)), float)
    frac = (table.frac[None, :, :] + shifts[:, None, :]).reshape(-1, 3)
    tiled = {k: np.tile(getattr(table, k), len(shifts)) for k in ("elements", "adp_groups", "occupancy")}
    r = frac @ cell

    def owner(pos: np.ndarray) -> np.ndarray:  # nearest formula-unit centre, node + (b1+b2+b3)/4
        return np.rint((pos - origin) @ np.linalg.inv(basis) - 0.25).astype(np.int64)

    m = owner(r)
    near = np.array([tuple(x) in node_set and not far_node[tuple(x)] for x in m])
    rot = operation(law, cell)
    pb = origin + m @ basis
    target = np.rint((pb - origin) @ rot.T @ np.linalg.inv(basis)).astype(np.int64)  # the Pb snapped
    y = origin + target @ basis + (r - pb) @ rot.T
    m2 = owner(y)
    far = np.array([tuple(x) in node_set and far_node[tuple(x)] for x in m2])
    pos = np.concatenate([r[near], y[far]])
    pick = {k: np.concatenate([v[near], v[far]]) for k, v in tiled.items()}
    return Crystal(positions=pos, elements=pick["elements"], adp_groups=pick["adp_groups"],
                   occupancy=pick["occupancy"], cell=cell)


def sorted_atoms(crystal: Crystal) -> tuple[np.ndarray, np.ndarray]:
    key = np.lexsort((*np.round(crystal.positions, 6).T[::-1], crystal.adp_groups, crystal.elements))
    return crystal.elements[key].astype(str), crystal.positions[key]


@pytest.mark.parametrize("law", ["R90[110](001)", "R90[001](110)", "m(110)"])
def test_rotation_twin_equals_the_independent_construction(gamma, law) -> None:
    twinned = build_crystal(gamma, shape="cuboid", size_nm=SIZE_NM, twins=[law], positions=[0.5])
    untwinned = build_crystal(gamma, shape="cuboid", size_nm=SIZE_NM)
    assert twinned.info["n_domains"] == 2 and 0 < twinned.info["rotation_misfit"] < MISFIT_TOLERANCE
    assert sorted(twinned.elements.tolist()) == sorted(untwinned.elements.tolist())  # composition, Pb count
    b = twinned.info["boundary_planes"][0]
    ref = independent_twin(gamma, law, np.array(b["plane"], float), b["level"])
    el_t, pos_t = sorted_atoms(twinned.without_lattice())
    el_r, pos_r = sorted_atoms(ref)
    assert el_t.tolist() == el_r.tolist()
    assert np.max(np.abs(pos_t - pos_r)) < 1e-9
    q = np.linspace(0.5, 4.0, 120)
    b_iso = {"Cs": 2.0, "Pb": 1.0, "X_ax": 2.5, "X_eq": 2.5}
    mine = debye_intensity(compute_histograms(twinned, sampling="exact"), q, b_iso=b_iso)
    plain = exact_debye(ref, q, b_iso=b_iso)
    assert np.max(np.abs(mine - plain) / plain) < 1e-8
    # the lattice route (sampled histograms, what patterns use) holds the rotated contents
    sampled = debye_intensity(compute_histograms(twinned), q, b_iso=b_iso)
    assert np.max(np.abs(sampled - plain)) / plain.max() < 1e-4


def test_r90_domains_have_perpendicular_c_axes(gamma) -> None:
    twinned = build_crystal(gamma, shape="cuboid", size_nm=SIZE_NM, twins=["R90<110>{001}"], boundaries=1)
    axes = [np.array(o["c_axis"]) for o in twinned.info["orientations"]]
    assert len(axes) == 2 and abs(axes[0] @ axes[1]) < 0.01  # 90° up to the orthorhombic strain
    assert sorted(set(twinned.info["variant_orientations"])) == [0, 1]


def test_laws_parse_expand_and_refuse(gamma) -> None:
    law = parse_twin_law("R90<110>{001}")
    assert isinstance(law, RotationLaw) and law.label == "R90<110>{001}"
    members = law.members(gamma)
    assert [m.label for m in members] == ["R90[110](001)", "R90[1-10](001)", "R90[-110](001)",
                                          "R90[-1-10](001)"]
    assert [m.label for m in parse_twin_law("m{110}").members(gamma)] == ["m(110)", "m(1-10)"]
    for bad, words in [("R90{001}", "axis"), ("R90[110](110)", "does not lie"), ("m<110>{001}", "plane only"),
                       ("R90[100](010)", "onto itself")]:
        with pytest.raises(NanotwinError, match=words):
            build_crystal(gamma, shape="cuboid", size_nm=SIZE_NM, twins=[bad])
    with pytest.raises(NanotwinError, match="misses the near one"):  # delta-like strain: not pseudocubic
        build_crystal(stretched(gamma), shape="cuboid", size_nm=SIZE_NM, twins=["R90[110](001)"])
    with pytest.raises(NanotwinError, match="translation twins only"):
        twin_network_model(find_ownership(gamma), ["R90<110>{001}"], gamma)


def stretched(structure):
    """The structure with c stretched by 10 % (the rotated Pb lattice misses the near one)."""
    from dataclasses import replace

    cell = structure.cell
    return replace(structure, cell=replace(cell, c=cell.c * 1.1))


def structure_factors(crystal: Crystal, g: np.ndarray) -> np.ndarray:
    """Brute force F(G) = sum_j o_j Z_j exp(i G . r_j) over the atoms (G in 1/Å, rows)."""
    b = {e: float(Neutron().form_factor(e, np.zeros(1))[0].real) for e in np.unique(crystal.elements)}
    z = np.array([b[e] for e in crystal.elements], float) * crystal.occupancy
    return np.exp(1j * crystal.positions @ g.T).T @ z


def test_rotation_twin_bragg_is_the_brute_force_structure_factor(gamma) -> None:
    """Bragg part per class name = sum over the half-integer pseudocubic points G of the class in
    the window of |F(G)|^2, twinned over untwinned (the rotated domain's X and M land on points
    that are no reciprocal points of the near parent cell). 8 x 8 x 8 nodes: each domain has an
    even number of layers, so no class leaks into another's points (the cross term); the rest
    of the difference is the window cutting peak tails."""
    size = {"shape": "cuboid", "size_nm": 4.7}
    twinned = build_crystal(gamma, twins=["R90[110](001)"], positions=[0.5], **size)
    untwinned = build_crystal(gamma, twins=["R90[110](001)"], boundaries=0, **size)
    assert len(untwinned.elements) == len(twinned.elements) == 8**3 * 5
    m = measure_crystal(twinned, gamma, window=WINDOW, radiation=Neutron())
    bragg = m.relative("bragg")
    own = find_ownership(gamma)
    recip = 2 * np.pi * np.linalg.inv(own.node_basis).T  # node reciprocal basis (rows), 1/Å
    half = np.stack(np.meshgrid(*[np.arange(-12, 13)] * 3, indexing="ij"), -1).reshape(-1, 3)
    g = (half / 2.0) @ recip
    q = np.linalg.norm(g, axis=1)
    keep = (q > WINDOW[0]) & (q < WINDOW[1])
    half, g = half[keep], g[keep]
    name = np.array(["fundamental", "X", "M", "R"])[np.sum(half % 2, axis=1)]
    f_t, f_u = abs(structure_factors(twinned, g)) ** 2, abs(structure_factors(untwinned, g)) ** 2
    for c in ("R", "M", "X"):
        ratio = f_t[name == c].sum() / f_u[name == c].sum()
        assert ratio == pytest.approx(bragg[c], abs=3e-3), c
    assert 0.2 < bragg["M"] < 0.8  # the two orientations' M points differ: each keeps its own
    # the class fields of both orientations add up to the whole pattern; the rest is one class's
    # tails under another's, 0.1-0.3 % as for translation twins (each R, M, X class: 6-10 %)
    assert abs(m.cross) < 5e-3 * m.total


def test_mixed_network_keeps_octahedra_and_its_pattern(gamma) -> None:
    """Translation and rotation boundaries in one random network: one formula unit per Pb, every
    interior Pb octahedrally coordinated by 6 Br across every boundary, no atoms on top of each
    other, and the lattice-route pattern equal to the plain double sum over its atoms."""
    from scipy.spatial import cKDTree

    laws = ("R90<110>{001}", "R90<001>{110}", "1/2<001>{110}")
    mixed = build_crystal(gamma, size_ab_nm=3, size_c_nm=3, twins=laws, domain_size_nm=1.2, seed=3)
    assert len(mixed.info["orientations"]) > 2 and mixed.info["n_domains"] > 4
    els, counts = np.unique(mixed.elements, return_counts=True)
    assert dict(zip(els.tolist(), (counts / counts[els == "Pb"]).tolist(), strict=True)) == \
        {"Br": 3.0, "Cs": 1.0, "Pb": 1.0}
    pb = mixed.positions[mixed.elements == "Pb"]
    interior = np.array([len(x) for x in cKDTree(pb).query_ball_point(pb, 6.3)]) == 7  # 6 Pb neighbours
    br = cKDTree(mixed.positions[mixed.elements == "Br"])
    assert interior.sum() > 20
    assert all(len(x) == 6 for x in br.query_ball_point(pb[interior], 3.4))
    assert cKDTree(mixed.positions).query(mixed.positions, k=2)[0][:, 1].min() > 2.5
    q = np.linspace(0.5, 3.0, 60)
    mine = debye_intensity(compute_histograms(mixed, sampling="exact"), q)
    plain = exact_debye(mixed.without_lattice(), q)
    assert np.max(np.abs(mine - plain) / plain) < 1e-8
