"""pymatgen Structure JSON reader: the real Materials Project file, symmetry finding, malformed files."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pytest

from nanotwin_core.errors import InputFileError
from nanotwin_core.structures.library import get_structure
from nanotwin_core.structures.pymatgen_json import read_pymatgen_json

MP_FILE = "structures/delta_CsPbI3_mp-540839_smact/mp-540839_CsPbI3_oxi.json"


def atoms(structure) -> tuple[np.ndarray, np.ndarray]:
    t = structure.expand()
    return t.frac, t.elements


def same_atom_sets(frac1, el1, frac2, el2, tol: float = 1e-4) -> bool:
    if len(frac1) != len(frac2) or sorted(el1) != sorted(el2):
        return False
    for f, e in zip(frac1, el1, strict=True):
        d = frac2[el2 == e] - f
        d -= np.round(d)
        if not np.any(np.all(np.abs(d) < tol, axis=1)):
            return False
    return True


def pb_i_distances(structure, n: int = 7) -> np.ndarray:
    """Distances (Å) from each Pb to its n nearest I (numpy, 3^3 periodic images)."""
    frac, el = atoms(structure)
    m = structure.cell.matrix
    shifts = np.array(list(itertools.product((-1, 0, 1), repeat=3))) @ m
    iodine = ((frac[el == "I"] @ m)[None] + shifts[:, None]).reshape(-1, 3)
    return np.array([np.sort(np.linalg.norm(iodine - p, axis=1))[:n] for p in frac[el == "Pb"] @ m])


def test_real_materials_project_file(shared_data: Path) -> None:
    path = shared_data / MP_FILE
    raw = json.loads(path.read_text())
    s = read_pymatgen_json(path)
    assert s.metadata["formula"] == "CsPbI3" and s.metadata["Z"] == 4
    assert s.composition() == {"Cs": 4.0, "Pb": 4.0, "I": 12.0}
    assert len(s.expand()) == 20 == len(raw["sites"])
    lat = raw["lattice"]
    assert (s.cell.a, s.cell.b, s.cell.c) == pytest.approx((lat["a"], lat["b"], lat["c"]), abs=1e-8)
    assert (s.cell.alpha, s.cell.beta, s.cell.gamma) == pytest.approx((90, 90, 90), abs=1e-8)
    # delta-CsPbI3: PbI6 octahedra (edge-sharing chains), Pb-I ~3.0-3.4 Å, the next I beyond 4 Å.
    # The file is DFT-PBE, about 2 % larger than experiment (data README): 3.09-3.43 Å here, and
    # 3.0-3.4 Å once scaled to the experimental cell volume (Trots & Myagkota 2008, 10.458 x 4.801 x
    # 17.776 Å^3)
    d = pb_i_distances(s)
    assert np.all((d[:, :6] > 3.0) & (d[:, :6] < 3.45)) and np.all(d[:, 6] > 4.0)
    scale = (10.458 * 4.801 * 17.776 / s.cell.volume) ** (1 / 3)
    assert np.all((scale * d[:, :6] > 3.0) & (scale * d[:, :6] < 3.4))
    # symmetry: space group 62 in the file's axes (a and b of Pnma swapped), 5 sites as the library
    lib = get_structure("CsPbI3-delta")
    assert s.space_group().number == 62
    assert len(s.sites) == len(lib.sites) == 5
    assert len(s.expand()) == len(lib.expand())
    # the P1 reading holds exactly the atoms of the file; the symmetrised one expands to them
    p1 = read_pymatgen_json(path, symmetrize=False)
    assert p1.spacegroup == "P 1" and len(p1.sites) == 20
    file_frac = np.array([site["abc"] for site in raw["sites"]])
    file_el = np.array([site["species"][0]["element"] for site in raw["sites"]])
    assert same_atom_sets(*atoms(p1), file_frac % 1.0, file_el, tol=1e-8)
    assert same_atom_sets(*atoms(s), file_frac % 1.0, file_el, tol=1e-4)
    # and they are the library's Pnma coordinates with a and b swapped (x, y, z) -> (y, x, -z), up to
    # an origin shift (the library: Materials Project mp-540839 standardised to Pnma)
    lf, le = atoms(lib)
    swapped = lf[:, [1, 0, 2]] * [1, 1, -1]
    assert any(same_atom_sets(swapped + np.array(shift), le, file_frac % 1.0, file_el, tol=2e-4)
               for shift in itertools.product((0, 0.25, 0.5, 0.75), repeat=3))


def structure_json(structure, path: Path, shift=(0.0, 0.0, 0.0), matrix_sign: float = 1.0) -> Path:
    """Write a Structure as pymatgen's as_dict() would (P1, oxidation states), for round trips."""
    frac, el = atoms(structure)
    m = structure.cell.matrix * matrix_sign
    sites = [{"species": [{"element": str(e), "oxidation_state": 1, "occu": 1.0}],
              "abc": list((f + shift) * matrix_sign), "label": str(e), "properties": {}}
             for f, e in zip(frac, el, strict=True)]
    data = {"@module": "pymatgen.core.structure", "@class": "Structure", "charge": 0,
            "lattice": {"matrix": m.tolist(), "pbc": [True] * 3}, "sites": sites, "properties": {}}
    path.write_text(json.dumps(data))
    return path


@pytest.mark.parametrize("shift", [(0.0, 0.0, 0.0), (0.1, 0.2, 0.3)])
def test_symmetry_of_the_gamma_structure_is_found(tmp_path: Path, shift) -> None:
    lib = get_structure("CsPbBr3-gamma")
    s = read_pymatgen_json(structure_json(lib, tmp_path / "g.json", shift=shift))
    assert s.spacegroup == "P b n m" and len(s.sites) == 4
    frac, el = atoms(s)
    lf, le = atoms(lib)
    # an arbitrary origin is moved onto the inversion centre: the library's atoms, up to a lattice
    # translation of the tilt pattern's own symmetry (inversion centres sit at 0 and 1/2)
    assert any(same_atom_sets(frac, el, lf + np.array(t), le, tol=1e-6)
               for t in itertools.product((0, 0.5), repeat=3))


def test_left_handed_axes_and_mixed_sites(tmp_path: Path) -> None:
    lib = get_structure("CsPbBr3-gamma")
    s = read_pymatgen_json(structure_json(lib, tmp_path / "l.json", matrix_sign=-1.0))
    assert np.linalg.det(s.cell.matrix) > 0 and s.space_group().number == 62
    path = tmp_path / "mixed.json"
    data = {"@class": "Structure", "lattice": {"a": 5.9, "b": 5.9, "c": 5.9, "alpha": 90, "beta": 90,
                                                "gamma": 90},
            "sites": [{"species": [{"element": "Pb", "occu": 1}], "abc": [0, 0, 0]},
                      {"species": [{"element": "Cs", "occu": 1}], "abc": [0.5, 0.5, 0.5]},
                      *({"species": [{"element": "Br", "occu": 0.5}, {"element": "I", "occu": 0.5}],
                         "xyz": list(np.array(v) * 5.9)} for v in np.eye(3) / 2)]}
    path.write_text(json.dumps(data))
    s = read_pymatgen_json(path)
    assert s.space_group().number == 221 and s.composition() == pytest.approx({"Pb": 1, "Cs": 1, "Br": 1.5,
                                                                              "I": 1.5})
    t = s.expand()
    mixed = t.exclusion[t.elements == "Br"]
    assert np.all(mixed >= 0)  # Br and I on one site are alternatives, never paired
    for ex in mixed:
        assert sorted(t.elements[t.exclusion == ex]) == ["Br", "I"]


@pytest.mark.parametrize(("text", "problem"), [
    ('{"lattice": {"matrix": [[1, 0, 0], [0, 1, 0]', "not valid JSON"),
    ("[1, 2, 3]", "JSON object"),
    ('{"@class": "Molecule", "sites": []}', "not a Structure"),
    ('{"sites": []}', "no 'lattice'"),
    ('{"lattice": {"matrix": [[1, 0, 0], [0, 1, 0], [0, 0, "x"]]}, "sites": []}', "3x3"),
    ('{"lattice": {"matrix": [[1, 0, 0], [0, 1, 0], [1, 1, 0]]}, "sites": []}', "degenerate"),
    ('{"lattice": {"matrix": [[5, 0, 0], [0, 5, 0], [0, 0, 5]]}, "sites": []}', "no 'sites'"),
    ('{"lattice": {"matrix": [[5, 0, 0], [0, 5, 0], [0, 0, 5]]}, "sites": [{"species": '
     '[{"element": "Xx", "occu": 1}], "abc": [0, 0, 0]}]}', "unknown element"),
    ('{"lattice": {"matrix": [[5, 0, 0], [0, 5, 0], [0, 0, 5]]}, "sites": [{"species": '
     '[{"element": "Pb", "occu": 1}], "abc": [0, 0]}]}', "three"),
    ('{"lattice": {"matrix": [[5, 0, 0], [0, 5, 0], [0, 0, 5]]}, "sites": [{"species": '
     '[{"element": "Pb", "occu": 0.7}, {"element": "Sn", "occu": 0.7}], "abc": [0, 0, 0]}]}', "add up"),
    ('{"lattice": {"matrix": [[5, 0, 0], [0, 5, 0], [0, 0, 5]]}, "sites": [{"abc": [0, 0, 0]}]}',
     "no 'species'"),
])
def test_malformed_files_name_the_file_and_the_problem(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "broken_structure.json"
    path.write_text(text)
    with pytest.raises(InputFileError, match=problem) as info:
        read_pymatgen_json(path)
    assert "broken_structure.json" in str(info.value)
    with pytest.raises(InputFileError, match="no such file"):
        read_pymatgen_json(tmp_path / "absent.json")
