"""Surface terminations (builder/terminations.py) and surface shells (builder/surface_shell.py).

References: the composition of CsX-terminated n x n x n cubes of PbX6 octahedra (Cs n^3+3n^2,
Pb n^3, X 3n^3+3n^2, the rule of the Hu group's relaxed cubes in ../shared/data), a cube built
here by hand from integer sites, the relaxed cubes themselves, and exact double sums.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from nanotwin_core.builder import build_crystal
from nanotwin_core.builder.surface_shell import atom_depths, layer_spacing
from nanotwin_core.builder.terminations import parse_termination
from nanotwin_core.cli import main
from nanotwin_core.errors import NanotwinError
from nanotwin_core.io.xyz import read_xyz
from nanotwin_core.scattering import compute_histograms, debye_intensity, lattice_route
from nanotwin_core.scattering.debye import exact_debye
from nanotwin_core.structures.library import get_structure


def pseudocubic_a(name: str) -> float:
    s = get_structure(name)
    per_cell = 4 if "gamma" in name else 1
    return (s.cell.volume / per_cell) ** (1 / 3)


def counts(crystal) -> tuple[int, int, int]:
    comp = crystal.composition()
    return int(round(comp.get("Cs", 0))), int(round(comp["Pb"])), int(round(comp["Br"]))


@pytest.mark.parametrize("name", ["CsPbBr3-alpha", "CsPbBr3-gamma"])
def test_cli_csx_cubes_have_the_charge_neutral_composition(tmp_path, name) -> None:
    a_p = pseudocubic_a(name)
    for n in range(2, 9):
        out = tmp_path / f"c{n}.xyz"
        assert main(["build", "--structure", name, "--shape", "cuboid", "--size", f"{n * a_p / 10:.4f}",
                     "--termination", "CsX", "--out", str(out)]) == 0
        assert counts(read_xyz(out)) == (n**3 + 3 * n**2, n**3, 3 * n**3 + 3 * n**2), n


@pytest.mark.parametrize("name", ["CsPbBr3-alpha", "CsPbBr3-gamma"])
def test_pbx2_and_stoichiometric_cubes(name) -> None:
    a_p = pseudocubic_a(name)
    for n in (2, 3, 5):
        size = n * a_p / 10
        assert counts(build_crystal(name, shape="cuboid", size_nm=size, termination="PbX2")) == \
            ((n - 1) ** 3, n**3, 3 * n**3 + 3 * n**2)
        assert counts(build_crystal(name, shape="cuboid", size_nm=size)) == (n**3, n**3, 3 * n**3)


def hand_built_csbr_cube(n: int) -> dict[str, set]:
    """Sites of a CsBr-terminated cube on the half-integer grid (units a_p/2), by hand: Pb on the
    even points 0..2n-2, Br between two Pb of complete octahedra, Cs in all (n+1)^3 cavities."""
    pb = {(2 * i, 2 * j, 2 * k) for i, j, k in itertools.product(range(n), repeat=3)}
    br = set()
    for i, j, k in itertools.product(range(-1, n), range(n), range(n)):
        br |= {(2 * i + 1, 2 * j, 2 * k), (2 * j, 2 * i + 1, 2 * k), (2 * j, 2 * k, 2 * i + 1)}
    cs = {(2 * i + 1, 2 * j + 1, 2 * k + 1) for i, j, k in itertools.product(range(-1, n), repeat=3)}
    return {"Pb": pb, "Br": br, "Cs": cs}


def grid_sites(crystal, a_p: float) -> dict[str, set]:
    origin = crystal.positions[crystal.elements == "Pb"].min(axis=0)
    half = (crystal.positions - origin) / (a_p / 2)
    assert np.abs(half - np.round(half)).max() < 1e-6
    out: dict[str, set] = {}
    for el, site in zip(crystal.elements, np.round(half).astype(int), strict=True):
        out.setdefault(str(el), set()).add(tuple(int(x) for x in site))
    return out


@pytest.mark.parametrize("n", [3, 4, 6])
def test_csx_cube_equals_a_hand_built_csbr_terminated_cube(n) -> None:
    a_p = pseudocubic_a("CsPbBr3-alpha")
    crystal = build_crystal("CsPbBr3-alpha", shape="cuboid", size_nm=n * a_p / 10, termination="CsX")
    built, hand = grid_sites(crystal, a_p), hand_built_csbr_cube(n)
    assert built["Pb"] == hand["Pb"] and built["Br"] == hand["Br"]
    assert built["Cs"] <= hand["Cs"]
    removed = hand["Cs"] - built["Cs"]
    assert len(removed) == 3 * n + 1  # charge neutrality: (n+1)^3 - (n^3 + 3n^2)
    lo, hi = -1, 2 * n - 1
    corners = set(itertools.product((lo, hi), repeat=3))
    assert corners <= removed  # the least coordinated (one Pb) go first
    on_edges = [s for s in removed - corners if sum(c in (lo, hi) for c in s) == 2]
    assert len(on_edges) == 3 * n + 1 - 8  # then edge sites (two Pb)
    # an independent Debye sum over the hand-built atoms gives the same pattern
    pos, els = [], []
    for el in ("Pb", "Br", "Cs"):
        sites = hand[el] - (removed if el == "Cs" else set())
        pos += [np.array(s) * a_p / 2 for s in sorted(sites)]
        els += [el] * len(sites)
    q = np.linspace(0.5, 4.0, 60)
    ours = debye_intensity(compute_histograms(crystal, sampling="exact"), q, b_iso={"Pb": 1.0, "Br": 2.0})
    from nanotwin_core.crystal import Crystal

    ref = exact_debye(Crystal(positions=np.array(pos), elements=np.array(els)), q,
                      b_iso={"Pb": 1.0, "Br": 2.0})
    assert np.max(np.abs(ours - ref)) < 1e-10 * ref.max()


@pytest.mark.parametrize(("file", "n"), [("124_cspbbr3_3.xyz", 3), ("144_cspbbr3_5.xyz", 5)])
def test_csx_cube_matches_the_relaxed_cubes_of_the_shared_data(shared_data, file, n) -> None:
    path = shared_data / "structures" / "cspbbr3_nanocubes_hu_group" / file
    lines = path.read_text().splitlines()
    rows = [line.split() for line in lines[2: 2 + int(lines[0])]]
    els = np.array([r[0] for r in rows])
    pos = np.array([[float(x) for x in r[1:4]] for r in rows])
    pb = pos[els == "Pb"]
    spacing = (pb.max(axis=0) - pb.min(axis=0)) / (n - 1)  # their relaxed, ~3 % smaller lattice
    half = 2 * (pos - pb.min(axis=0)) / spacing
    assert np.abs(half - np.round(half)).max() < 0.45  # every atom sits near one ideal site
    theirs: dict[str, set] = {}
    for el, site in zip(els, np.round(half).astype(int), strict=True):
        theirs.setdefault(str(el), set()).add(tuple(int(x) for x in site))
    a_p = pseudocubic_a("CsPbBr3-alpha")
    ours = grid_sites(build_crystal("CsPbBr3-alpha", shape="cuboid", size_nm=n * a_p / 10,
                                    termination="CsX"), a_p)
    assert ours["Pb"] == theirs["Pb"] and ours["Br"] == theirs["Br"]
    assert len(ours["Cs"]) == len(theirs["Cs"]) == n**3 + 3 * n**2
    cavities = hand_built_csbr_cube(n)["Cs"]
    assert ours["Cs"] <= cavities and theirs["Cs"] <= cavities
    corners = set(itertools.product((-1, 2 * n - 1), repeat=3))
    assert not (corners & ours["Cs"]) and not (corners & theirs["Cs"])


def test_pbs_rule_keeps_only_fully_coordinated_sulfur() -> None:
    crystal = build_crystal("PbS-rocksalt", shape="sphere", size_nm=3.0, termination="S:full")
    pb = crystal.positions[crystal.elements == "Pb"]
    s = crystal.positions[crystal.elements == "S"]
    d = np.linalg.norm(s[:, None, :] - pb[None, :, :], axis=2)
    assert np.all((d < 3.2).sum(axis=1) == 6)
    stoich = build_crystal("PbS-rocksalt", shape="sphere", size_nm=3.0)
    assert crystal.composition()["Pb"] == stoich.composition()["Pb"]
    assert crystal.composition()["S"] < stoich.composition()["S"]
    rich = build_crystal("PbS-rocksalt", shape="sphere", size_nm=3.0, termination="S:1")
    assert rich.composition()["S"] > stoich.composition()["S"]


@pytest.mark.parametrize("kwargs", [
    dict(structure="CsPbBr3-gamma", shape="cuboid", size_nm=2.4, termination="CsX", surface_shell_A=3.0),
    dict(structure="CsPbBr3-gamma", shape="prism", size_ab_nm=2.4, size_c_nm=2.4, termination="CsX",
         twins=["1/2<001>{110}"], boundaries=1, surface_layers=1),
    dict(structure="PbS-rocksalt", shape="sphere", size_nm=2.5, termination="S:full", surface_shell_A=3.0),
    dict(structure="CsPbBr3-alpha-split", shape="cuboid", size_nm=1.8, termination="CsX",
         surface_shell_A=2.0),
])
def test_lattice_route_stays_exact(kwargs) -> None:
    crystal = build_crystal(**kwargs)
    groups = sorted(set(crystal.adp_groups))
    b_iso = {g: 0.8 + 0.3 * i for i, g in enumerate(groups)}
    q = np.linspace(0.3, 6.0, 120)
    lattice = debye_intensity(compute_histograms(crystal, sampling="exact"), q, b_iso=b_iso)
    reference = exact_debye(crystal, q, b_iso=b_iso)
    assert np.max(np.abs(lattice - reference)) < 1e-11 * reference.max()


@pytest.mark.parametrize("direct_factor", [0.0, 1e9])  # every content pair by FFT / by direct counting
def test_occupancy_correlations_against_a_brute_force_count(monkeypatch, direct_factor) -> None:
    """Small contents (surface labels) are counted directly, large ones by FFT: both give
    C_kl(u) = #{(n, n'): n in k, n' in l, n' - n = u}, counted here pair by pair."""
    monkeypatch.setattr(lattice_route, "DIRECT_PAIRS_PER_GRID_POINT", direct_factor)
    cmap = np.random.default_rng(5).integers(-1, 4, size=(5, 4, 6))
    found = lattice_route.occupancy_correlations(cmap, 4)
    shape = np.array(cmap.shape)
    sites = {k: np.argwhere(cmap == k) for k in range(4)}
    assert sorted(found) == [(k, l) for k in range(4) for l in range(k, 4)]
    for (k, l), c in found.items():
        ref = np.zeros(2 * shape - 1, dtype=np.int64)
        for n in sites[k]:
            for m in sites[l]:
                ref[tuple(m - n + shape - 1)] += 1
        assert c.dtype == np.int64 and np.array_equal(c, ref), (k, l)


def test_atom_depths_of_a_box() -> None:
    grid = np.array(list(itertools.product(range(5), range(4), range(7))), dtype=float) * 1.5
    lo, hi = grid.min(axis=0), grid.max(axis=0)
    assert np.allclose(atom_depths(grid), np.minimum(grid - lo, hi - grid).min(axis=1), atol=1e-9)


def test_surface_shell_groups() -> None:
    a_p = pseudocubic_a("CsPbBr3-alpha")
    crystal = build_crystal("CsPbBr3-alpha", shape="cuboid", size_nm=5 * a_p / 10, termination="CsX",
                            surface_shell_A=1.0)
    pos = crystal.positions
    box_depth = np.minimum(pos - pos.min(axis=0), pos.max(axis=0) - pos).min(axis=1)
    surf = np.char.endswith(crystal.adp_groups.astype(str), "_surf")
    assert surf[box_depth < 1e-6].all() and not surf[box_depth > 2.0].any()
    assert set(crystal.adp_groups[surf]) == {"Cs_surf", "X_ax_surf"}  # no Pb in a CsX face
    assert crystal.info["surface_atoms"] == int(surf.sum())
    layered = build_crystal("CsPbBr3-alpha", shape="cuboid", size_nm=5 * a_p / 10, termination="CsX",
                            surface_layers=1)
    assert layered.info["surface_shell_A"] == pytest.approx(0.75 * a_p)
    assert "Pb_surf" in set(layered.adp_groups)  # the PbX2 plane under the CsX face
    assert "Pb" in set(layered.adp_groups)


def test_layer_spacing() -> None:
    a = 5.934
    fcc = np.array([[0, a / 2, a / 2], [a / 2, 0, a / 2], [a / 2, a / 2, 0]])
    assert layer_spacing(fcc) == pytest.approx(a / np.sqrt(3))
    assert layer_spacing(np.eye(3) * 5.87) == pytest.approx(5.87)


@pytest.mark.parametrize(("text", "needle"), [
    ("Br:0", "whole number >= 1"),
    ("Xx:1", "not in the structure"),
    ("Pb:1", "coherent element"),
    ("Br", "EL:K"),
])
def test_bad_rules_are_refused(text, needle) -> None:
    with pytest.raises(NanotwinError, match=needle):
        parse_termination(text, {"Cs", "Pb", "Br"}, "Pb")


def test_impossible_balance_is_refused() -> None:
    with pytest.raises(NanotwinError, match="cannot make it neutral"):
        build_crystal("PbS-rocksalt", shape="sphere", size_nm=2.0, termination="S:1,neutral:Pb")
    with pytest.raises(NanotwinError, match="A cations"):
        build_crystal("PbS-rocksalt", shape="sphere", size_nm=2.0, termination="CsX")


def test_population_grids_follow_the_termination() -> None:
    from nanotwin_core.builder.shape_kinds import get_shape
    from nanotwin_core.refine.size_database import build_size_database

    structure = get_structure("CsPbBr3-alpha")
    (unit,), _ = get_shape("cuboid").grid_units(structure)
    db = build_size_database(structure, "cuboid", [(2,), (3,), (4,)], (unit,), (1.0, 3.0),
                             crystal_options={"termination": "CsX"})
    per_element: dict[str, np.ndarray] = {}
    for t, column in zip(db.types, db.self_sums.T, strict=True):
        per_element[t.base_element] = per_element.get(t.base_element, 0) + column
    n = np.array([2, 3, 4])
    assert np.array_equal(per_element["Cs"], n**3 + 3 * n**2)
    assert np.array_equal(per_element["Br"], 3 * n**3 + 3 * n**2)


def test_cli_build_with_occupancy_and_shell(tmp_path) -> None:
    out = tmp_path / "s.xyz"
    assert main(["build", "--structure", "PbS-rocksalt", "--shape", "sphere", "--size", "2.5",
                 "--surface-shell", "3", "--occupancy", "S_surf=0.5", "--out", str(out)]) == 0
    crystal = read_xyz(out)
    surf_s = crystal.adp_groups == "S_surf"
    assert surf_s.any() and np.all(crystal.occupancy[surf_s] == 0.5)
    assert np.all(crystal.occupancy[crystal.adp_groups == "S"] == 1.0)


def test_tilt_refinement_refuses_a_termination() -> None:
    from nanotwin_core.refine.structure_fit import build_structure_database

    with pytest.raises(NanotwinError, match="not with a termination"):
        build_structure_database("tilt", get_structure("CsPbBr3-gamma"), "cuboid", (3,), (0.59,),
                                 crystal_options={"termination": "CsX"})
