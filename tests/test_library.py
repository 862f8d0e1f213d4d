"""Built-in structures checked against independent geometry (bond lengths, angles, symmetry)."""

from __future__ import annotations

import numpy as np
import pytest

from nanotwin_core.errors import NanotwinError
from nanotwin_core.structures.library import get_structure, list_structures, structure_table

PEROVSKITES = [n for n in list_structures() if n.startswith("CsPb") and "delta" not in n]
# literature Pb-X bond ranges (Å) of the orthorhombic phases at RT
GAMMA_BONDS = {"Cl": (2.82, 2.92), "Br": (2.95, 3.03), "I": (3.10, 3.25)}


def neighbours(structure, centre: str, other: str, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Distances (Å) and vectors from every `centre` atom to its n nearest `other` atoms."""
    t = structure.expand()
    m = structure.cell.matrix
    pos = t.frac @ m
    shifts = np.array([[i, j, k] for i in (-1, 0, 1) for j in (-1, 0, 1) for k in (-1, 0, 1)]) @ m
    others = (pos[t.elements == other][None] + shifts[:, None]).reshape(-1, 3)
    occ = np.tile(t.occupancy[t.elements == other], len(shifts))
    out_d, out_v = [], []
    for c in pos[t.elements == centre]:
        v = others - c
        d = np.linalg.norm(v, axis=1)
        order = np.argsort(d)
        order = order[d[order] > 1e-6][:n]  # never the atom itself
        out_d.append(d[order])
        out_v.append(v[order])
        assert np.all(occ[order] == occ[order][0])
    return np.array(out_d), np.array(out_v)


def halide(name: str) -> str:
    return name[4:].split("3")[0]


def test_names_and_table() -> None:
    names = list_structures()
    for x in ("Cl", "Br", "I"):
        for phase in ("alpha", "alpha-split", "beta", "gamma"):
            assert f"CsPb{x}3-{phase}" in names
    assert {"CsPbI3-delta", "CsPbBr3-gamma-410K"} <= set(names)
    rows = structure_table()
    assert all(r["source"] for r in rows)
    assert get_structure("cspbbr3-GAMMA").name == "CsPbBr3-gamma"
    with pytest.raises(NanotwinError, match="CsPbBr3-gamma"):
        get_structure("CsPbBr3-epsilon")


@pytest.mark.parametrize("name", PEROVSKITES)
def test_space_group_and_composition(name: str) -> None:
    s = get_structure(name)
    number = s.space_group().number
    phase = name.split("-", 1)[1]
    expected = {"alpha": 221, "alpha-split": 221, "beta": 127, "gamma": 62, "gamma-410K": 62}[phase]
    assert number == expected
    comp = s.composition()
    x = halide(name)
    assert comp["Cs"] == pytest.approx(comp["Pb"])
    assert comp[x] == pytest.approx(3 * comp["Pb"])


@pytest.mark.parametrize("name", [n for n in PEROVSKITES if "split" not in n])
def test_octahedra(name: str) -> None:
    s = get_structure(name)
    x = halide(name)
    d, _ = neighbours(s, "Pb", x, 7)
    six = d[:, :6]
    assert np.all(d[:, 6] > six.max() + 1.0), "Pb must be six-coordinated"
    if "alpha" in name:
        assert np.allclose(six, s.cell.a / 2, atol=1e-9)
    elif "gamma" in name and "410K" not in name:
        lo, hi = GAMMA_BONDS[x]
        assert lo <= six.min() and six.max() <= hi, (six.min(), six.max())
    # Pb-X-Pb angles: 180 in alpha, tilted (150-175) in gamma
    dpb, vpb = neighbours(s, "Pb", "Pb", 6)
    assert np.allclose(dpb, dpb[0, 0], rtol=0.03)  # pseudocubic Pb sublattice
    _, vx = neighbours(s, "Pb", x, 6)
    angles = []
    for xv in vx[0]:
        # the Pb on the other side of this X: nearest Pb neighbour vector closest to 2 xv
        other = vpb[0][np.argmin(np.linalg.norm(vpb[0] - 2 * xv, axis=1))]
        a, b = -xv, other - xv
        angles.append(np.degrees(np.arccos(a @ b / np.linalg.norm(a) / np.linalg.norm(b))))
    angles = np.array(angles)
    if "alpha" in name:
        assert np.allclose(angles, 180.0, atol=1e-6)
    elif "gamma" in name:
        assert np.all((angles > 145) & (angles < 175)), angles


@pytest.mark.parametrize("x", ["Cl", "Br", "I"])
def test_split_sites_form_exclusion_clusters(x: str) -> None:
    s = get_structure(f"CsPb{x}3-alpha-split")
    t = s.expand()
    sel = t.elements == x
    ids, counts = np.unique(t.exclusion[sel], return_counts=True)
    assert len(ids) == 3 and np.all(counts == 4) and np.all(ids >= 0)
    for i in ids:
        members = t.frac[sel][t.exclusion[sel] == i] @ s.cell.matrix
        centre = members.mean(axis=0)
        # each member 0.5 Å off the ideal site, perpendicular to the Pb-X-Pb line
        assert np.allclose(np.linalg.norm(members - centre, axis=1), 0.5, atol=1e-9)
        assert t.occupancy[sel][t.exclusion[sel] == i].sum() == pytest.approx(1.0)


def test_delta_is_edge_sharing() -> None:
    s = get_structure("CsPbI3-delta")
    d, _ = neighbours(s, "Pb", "I", 7)
    assert np.all(d[:, 5] < 3.5) and np.all(d[:, 6] > 4.0)
    dpb, _ = neighbours(s, "Pb", "Pb", 1)
    # edge-sharing chains: Pb-Pb across a shared edge ~4.5-4.8 Å, much shorter than a_p ~ 6.3
    assert np.all(dpb[:, 0] < 5.0)


def test_delta_matches_materials_project_file(shared_data) -> None:
    import json

    path = shared_data / "structures/delta_CsPbI3_mp-540839_smact/mp-540839_CsPbI3_oxi.json"
    doc = json.loads(path.read_text())
    lat = np.array(doc["lattice"]["matrix"])
    pos = np.array([site["abc"] for site in doc["sites"]]) @ lat
    els = np.array([site["species"][0]["element"] for site in doc["sites"]])
    shifts = np.array([[i, j, k] for i in (-1, 0, 1) for j in (-1, 0, 1) for k in (-1, 0, 1)]) @ lat
    pb, i_img = pos[els == "Pb"], (pos[els == "I"][None] + shifts[:, None]).reshape(-1, 3)
    mp = np.sort(np.sort(np.linalg.norm(pb[:, None] - i_img[None], axis=2), axis=1)[:, :6].ravel())
    ours = np.sort(neighbours(get_structure("CsPbI3-delta"), "Pb", "I", 6)[0].ravel())
    # same coordination, distances scaled by the DFT-vs-experiment cell difference (~2 %)
    assert np.allclose(ours / mp, np.median(ours / mp), atol=0.01)
    assert 0.96 < np.median(ours / mp) < 1.0


def test_gamma_410k_is_expanded() -> None:
    rt, ht = get_structure("CsPbBr3-gamma"), get_structure("CsPbBr3-gamma-410K")
    assert ht.cell.volume / rt.cell.volume == pytest.approx(1.01)
