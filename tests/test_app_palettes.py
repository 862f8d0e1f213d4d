"""Colours of the 3D view without GL (issue #15): CIEDE2000 against the published test pairs, a
domain palette distinct for 60 domains, element colours readable on both backgrounds, variants in
fixed colours named by their shift, network detection, boundary planes cut to the clip slab, the
unit cell's edges and legends that wrap between entries only."""

from __future__ import annotations

import numpy as np
import pytest
from nanotwin_app.viewer3d import adapters, palettes
from nanotwin_app.viewer3d.image_export import legend_lines
from nanotwin_app.viewer3d.viewer_panel import legend_html

from nanotwin_core.crystal import Crystal

# Sharma, Wu and Dalal, Color Res. Appl. 30, 21 (2005), Table 1: pairs 1, 2, 7, 17, 25, 34
SHARMA_PAIRS = [
    ((50.0, 2.6772, -79.7751), (50.0, 0.0, -82.7485), 2.0425),
    ((50.0, 3.1571, -77.2803), (50.0, 0.0, -82.7485), 2.8615),
    ((50.0, 0.0, 0.0), (50.0, -1.0, 2.0), 2.3669),
    ((50.0, 2.5, 0.0), (73.0, 25.0, -18.0), 27.1492),
    ((60.2574, -34.0099, 36.2677), (60.4626, -34.1751, 39.4387), 1.2644),
    ((2.0776, 0.0795, -1.1350), (0.9033, -0.0636, -0.5514), 0.9082),
]
# the smallest CIEDE2000 between two of 60 domain colours (2.3 is a just-noticeable difference)
MIN_DOMAIN_DELTA_E = {"dark": 10.0, "light": 9.7}


def network_crystal(n_domains: int, n_variants: int = 4) -> Crystal:
    """A line of ``n_domains`` one-atom domains with variants cycling through ``n_variants``."""
    domain = np.arange(n_domains)
    shifts = [[0.0, 0.0, 0.0], [0.5, 0.0, 0.0], [0.0, 0.5, 0.0], [0.5, 0.5, 0.5]][:n_variants]
    return Crystal(positions=np.c_[domain * 4.0, np.zeros((n_domains, 2))], elements=np.full(n_domains, "Pb"),
                   domain=domain, variant=domain % n_variants, cell=np.eye(3) * 5.9,
                   info={"n_domains": n_domains, "n_variants": n_variants, "variant_shifts": shifts})


@pytest.mark.parametrize(("lab1", "lab2", "expected"), SHARMA_PAIRS)
def test_ciede2000_matches_the_published_pairs(lab1, lab2, expected):
    assert palettes.ciede2000(lab1, lab2) == pytest.approx(expected, abs=1e-4)
    assert palettes.ciede2000(lab2, lab1) == pytest.approx(expected, abs=1e-4)


def test_lab_round_trip_and_white():
    np.testing.assert_allclose(palettes.srgb_to_lab((1.0, 1.0, 1.0)), (100.0, 0.0, 0.0), atol=1e-3)
    rgb = np.random.default_rng(1).uniform(0.05, 0.95, (50, 3))
    np.testing.assert_allclose(palettes.lab_to_srgb(palettes.srgb_to_lab(rgb)), rgb, atol=1e-6)


@pytest.mark.parametrize("background", ["dark", "light"])
def test_sixty_domains_have_pairwise_distinct_colours(background):
    legend = adapters.colour_atoms(network_crystal(60), "domain", background).legend
    assert len(legend) == 60 and legend[10][0] == "domain 10"
    np.testing.assert_allclose([legend[0][1], legend[1][1]], palettes.VARIANT_COLOURS[:2])  # blue, orange
    lab = palettes.srgb_to_lab(np.array([rgb for _name, rgb in legend]))
    delta = palettes.ciede2000(lab[:, None, :], lab[None, :, :])
    np.fill_diagonal(delta, np.inf)
    assert delta.min() >= MIN_DOMAIN_DELTA_E[background]
    # and each stands out from the background
    assert palettes.ciede2000(lab, palettes.srgb_to_lab(palettes.BACKGROUNDS[background])).min() >= 16
    lab = palettes.srgb_to_lab(palettes.categorical(100, background))
    delta = palettes.ciede2000(lab[:, None, :], lab[None, :, :])
    np.fill_diagonal(delta, np.inf)
    assert delta.min() >= palettes.DOMAIN_DELTA_E  # 100 domains too


@pytest.mark.parametrize("background", ["dark", "light"])
def test_element_colours_are_jmol_made_readable(background):
    bg = palettes.srgb_to_lab(palettes.BACKGROUNDS[background])
    for element in ("Cs", "Pb", "Br", "Cl", "I", "Sn", "O"):
        rgb = palettes.element_colour(element, background)
        assert palettes.ciede2000(palettes.srgb_to_lab(rgb), bg) >= palettes.READABLE_DELTA_E - 0.5, element
    # readable colours stay as Jmol has them; Pb (dark grey 575961) is lightened on the dark background
    assert palettes.element_colour("Br", "dark") == pytest.approx(palettes.hex_rgb("A62929"))
    jmol_pb = palettes.hex_rgb("575961")
    if background == "dark":
        assert palettes.ciede2000(palettes.srgb_to_lab(jmol_pb), bg) < palettes.READABLE_DELTA_E
    assert palettes.element_colour("Pb", "light") == pytest.approx(jmol_pb)
    assert np.mean(palettes.element_colour("Pb", "dark")) > np.mean(jmol_pb)


def test_networks_are_coloured_by_variant_with_their_shifts():
    crystal = network_crystal(28)
    assert adapters.is_network(crystal)
    legend = adapters.colour_atoms(crystal, "variant").legend
    assert [name for name, _rgb in legend] == ["variant 0 (shift 0 0 0)", "variant 1 (shift 1/2 0 0)",
                                               "variant 2 (shift 0 1/2 0)", "variant 3 (shift 1/2 1/2 1/2)"]
    np.testing.assert_allclose([rgb for _name, rgb in legend], palettes.VARIANT_COLOURS)
    assert not adapters.is_network(network_crystal(2, 2))  # one boundary: colour by domain


def test_boundary_planes_are_cut_to_the_slab():
    square = np.array([[0, 0, 0], [10, 0, 0], [10, 10, 0], [0, 10, 0]], float)  # in the plane z = 0
    normal = np.array([1.0, 0.0, 0.0])
    cut = adapters.clip_polygon_to_slab(square, normal, centre=5.0, thickness=2.0)
    assert cut is not None and len(cut) == 4
    np.testing.assert_allclose(np.sort(np.unique(cut[:, 0])), [4.0, 6.0])
    assert adapters.clip_polygon_to_slab(square, normal, centre=20.0, thickness=2.0) is None
    # a plane parallel to the slab: kept whole inside it, dropped outside
    z = np.array([0.0, 0.0, 1.0])
    np.testing.assert_allclose(adapters.clip_polygon_to_slab(square, z, 0.5, 2.0), square)
    assert adapters.clipped_polygons([square], (z, 3.0, 2.0)) == []
    assert len(adapters.clipped_polygons([square], None)) == 1
    # a tilted plane: every kept vertex lies within the slab
    tilted = square @ np.array([[1, 0, 0], [0, 0.6, 0.8], [0, -0.8, 0.6]])
    kept = adapters.clip_polygon_to_slab(tilted, z, 4.0, 2.0)
    assert kept is not None and np.all(np.abs(kept @ z - 4.0) <= 1.0 + 1e-9)


def test_cell_edges_are_the_twelve_edges():
    cell = np.diag([5.0, 6.0, 7.0])
    edges = adapters.cell_edges(cell, np.array([1.0, 1.0, 1.0]))
    assert edges.shape == (24, 3)
    lengths = np.sort(np.linalg.norm(edges[1::2] - edges[::2], axis=1))
    np.testing.assert_allclose(lengths, [5.0] * 4 + [6.0] * 4 + [7.0] * 4)
    assert edges.min(axis=0) == pytest.approx([1, 1, 1]) and edges.max(axis=0) == pytest.approx([6, 7, 8])


def test_legends_wrap_between_entries_only():
    labels = ["domain 1", "domain 22", "domain 333", "variant 0 (shift 1/2 0 0)"]
    lines = legend_lines(labels, 30.0, lambda s: float(len(s)), swatch=2.0, gap=1.0)
    assert lines == [[0, 1], [2], [3]]  # the long entry alone on a line, never split
    assert sum(lines, []) == list(range(len(labels)))
    assert legend_lines([], 30.0, len, 1.0, 1.0) == []
    text = legend_html([(name, (0.0, 0.5, 1.0)) for name in labels], limit=3)
    entries = text.split(" &nbsp; ")
    assert len(entries) == 4 and all(" " not in e.replace("<span style=", "") for e in entries)
    assert entries[-1] == "…&nbsp;1&nbsp;more" and "#0080ff" in entries[0]
