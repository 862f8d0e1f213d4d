"""App logic without Qt widgets or GL: viewer adapters, tick rows, axis conversions."""

from __future__ import annotations

import numpy as np
import pytest
from nanotwin_app.plots.plot_math import axis_to_q, q_to_axis, scale_intensity
from nanotwin_app.plots.ticks import pseudocubic_ticks
from nanotwin_app.viewer3d import adapters

from nanotwin_core.crystal import LatticeContent, LatticeDescription, crystal_from_lattice
from nanotwin_core.reflections import pseudocubic_a


def two_domain_crystal(n: int = 4):
    """A cubic CsPbBr3 block of n^3 cells, split into two domains at z = n/2 cells."""
    a = 5.9
    content = LatticeContent(
        frac=np.array([[0, 0, 0], [0.5, 0.5, 0.5], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]], float),
        elements=np.array(["Cs", "Pb", "Br", "Br", "Br"]),
        adp_groups=np.array(["Cs", "Pb", "X_ax", "X_eq", "X_eq"]),
        occupancy=np.ones(5),
        exclusion=np.full(5, -1),
    )
    cmap = np.zeros((n, n, n), dtype=np.int64)
    lat = LatticeDescription(
        cell=np.eye(3) * a, node_basis_frac=np.eye(3), contents=[content], content_map=cmap
    )
    dom = np.zeros_like(cmap, dtype=np.int32)
    dom[:, :, n // 2:] = 1
    z = n // 2 * a - 0.1
    info = {"boundaries": [[[0, 0, z], [n * a, 0, z], [n * a, n * a, z], [0, n * a, z]]]}
    return crystal_from_lattice(lat, domain_map=dom, variant_map=dom, info=info)


def test_colour_by_domain_and_element_differ():
    c = two_domain_crystal()
    dom = adapters.colour_atoms(c, "domain")
    el = adapters.colour_atoms(c, "element")
    assert dom.rgba.shape == (c.n_atoms, 4) and dom.rgba.dtype == np.float32
    assert len(dom.legend) == 2 and len(el.legend) == 3
    # two domains -> two colours, split exactly by the domain ids
    assert not np.allclose(dom.rgba[c.domain == 0][0], dom.rgba[c.domain == 1][0])
    assert np.allclose(dom.rgba[c.domain == 0], dom.rgba[c.domain == 0][0])
    assert not np.allclose(dom.rgba, el.rgba)
    assert len(adapters.colour_atoms(c, "adp group").legend) == 4
    with pytest.raises(ValueError):
        adapters.colour_atoms(c, "nonsense")


def test_sizes_follow_ionic_radii():
    sizes = adapters.atom_sizes(np.array(["Pb", "Br", "Cs", "Xx"]), scale=1.0)
    radii = adapters.IONIC_RADII
    assert sizes[0] == pytest.approx(2 * radii["Pb"])
    assert sizes[1] == pytest.approx(2 * radii["Br"])
    assert sizes[3] == pytest.approx(2 * adapters.DEFAULT_RADIUS)


def test_element_mask_keeps_pb_sublattice():
    c = two_domain_crystal()
    mask = adapters.element_mask(c.elements, {"Cs", "Br"})
    assert set(c.elements[mask]) == {"Pb"}
    assert mask.sum() == 64


def test_clip_slab_and_miller_normal():
    c = two_domain_crystal()
    n = adapters.miller_normal(c.cell, (0, 0, 1))
    assert np.allclose(n, [0, 0, 1])
    lo, hi = adapters.projection_range(c.positions, n)
    mask = adapters.clip_mask(c.positions, n, centre=lo, thickness=1.0)
    assert 0 < mask.sum() < c.n_atoms
    assert np.all(np.abs(c.positions[mask, 2] - lo) <= 0.5)
    n110 = adapters.miller_normal(np.diag([5.0, 5.0, 7.0]), (1, 1, 0))
    assert np.allclose(n110, [np.sqrt(0.5), np.sqrt(0.5), 0])
    # a non-orthogonal cell: the normal is h a* + k b* + l c*, perpendicular to a and b for (001)
    cell = np.array([[5.0, 0, 0], [1.0, 5.0, 0], [0.5, 0.3, 6.0]])
    n001 = adapters.miller_normal(cell, (0, 0, 1))
    assert abs(n001 @ cell[0]) < 1e-12 and abs(n001 @ cell[1]) < 1e-12


@pytest.mark.parametrize(("text", "hkl"), [("1 1 0", (1, 1, 0)), ("1,-1,0", (1, -1, 0)),
                                            ("110", (1, 1, 0)), ("1-10", (1, -1, 0)), ("(0 0 1)", (0, 0, 1))])
def test_parse_hkl(text, hkl):
    assert adapters.parse_hkl(text) == hkl


@pytest.mark.parametrize("text", ["", "0 0 0", "1 1", "a b c"])
def test_parse_hkl_rejects(text):
    with pytest.raises(ValueError):
        adapters.parse_hkl(text)


def test_boundary_polygons_triangulate():
    c = two_domain_crystal()
    polys = adapters.boundary_polygons(c)
    verts, faces = adapters.triangulate(polys)
    assert verts.shape == (4, 3) and faces.shape == (2, 3)
    normals = adapters.boundary_normals(c)
    assert len(normals) == 1 and np.allclose(np.abs(normals[0][1]), [0, 0, 1])
    assert adapters.triangulate([])[0].shape == (0, 3)


def test_pseudocubic_ticks_classes():
    a_p = 5.87
    ticks = pseudocubic_ticks(a_p, q_max=3.0)
    first = {t.klass: t for t in reversed(ticks)}
    assert first["X"].q == pytest.approx(np.pi / a_p)  # (1/2 0 0)
    assert first["M"].q == pytest.approx(np.pi * np.sqrt(2) / a_p)  # (1/2 1/2 0)
    assert first["R"].q == pytest.approx(np.pi * np.sqrt(3) / a_p)  # (1/2 1/2 1/2)
    assert first["fundamental"].q == pytest.approx(2 * np.pi / a_p)  # (1 0 0)
    assert first["R"].hkl == "1/2 1/2 1/2"
    # the strong R reflection of CsPbBr3 near 1.79 1/Å: (3/2 1/2 1/2)
    r = [t for t in ticks if t.klass == "R" and 1.7 < t.q < 1.85]
    assert r and r[0].hkl == "3/2 1/2 1/2"
    assert pseudocubic_a(np.diag([8.2, 8.3, 11.8]), 4) == pytest.approx((8.2 * 8.3 * 11.8 / 4) ** (1 / 3))


def test_axis_conversions_round_trip():
    q = np.linspace(0.5, 6, 20)
    for axis in ("Q", "2theta", "d"):
        x = q_to_axis(q, axis, 0.565)
        assert np.allclose(axis_to_q(x, axis, 0.565), q)
    assert np.isnan(q_to_axis(np.array([30.0]), "2theta", 1.54))[0]
    y = np.array([0.0, 1.0, 100.0])
    assert np.allclose(scale_intensity(y, "sqrt"), [0, 1, 10])
    assert scale_intensity(y, "log")[2] == pytest.approx(2.0)
    assert np.all(np.isfinite(scale_intensity(y, "log")))


def test_colour_by_orientation_splits_rotation_twins_only():
    from nanotwin_core.builder import build_crystal

    cuboid = {"shape": "cuboid", "size_nm": 1.8, "positions": [0.5]}
    turned = build_crystal("CsPbBr3-gamma", twins=["R90[110](001)"], **cuboid)
    col = adapters.colour_atoms(turned, "orientation")
    assert [label for label, _ in col.legend] == ["orientation 0: c along (0.00, 0.00, 1.00)",
                                                  "orientation 1: c along (0.71, -0.71, 0.00)"]
    assert np.array_equal(col.rgba[:, 0] == col.rgba[0, 0], turned.domain == turned.domain[0])
    shifted = build_crystal("CsPbBr3-gamma", twins=["1/2[001](110)"], **cuboid)
    assert len(adapters.colour_atoms(shifted, "orientation").legend) == 1
