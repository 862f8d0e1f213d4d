"""Extended XYZ: writer (INTERFACES.md layout, atomic), reader (ours, ASE, OVITO, plain), errors."""

from __future__ import annotations

import re

import numpy as np
import pytest

from nanotwin_core.builder import build_crystal, build_prism
from nanotwin_core.crystal import Crystal
from nanotwin_core.errors import InputFileError
from nanotwin_core.io.xyz import PROPERTIES, read_xyz, write_xyz
from nanotwin_core.structures.structure import Cell, Site, Structure


def gamma_cspbbr3() -> Structure:
    """gamma-CsPbBr3 (Pbnm) from the built-in library."""
    from nanotwin_core.structures.library import get_structure

    return get_structure("CsPbBr3-gamma")


def split_cubic() -> Structure:
    """alpha-CsPbBr3 with split halides (4 x 25 %), one formula unit per cell."""
    a, y = 5.87, 0.5 / 5.87
    sites = [Site("Pb", "Pb", (0, 0, 0)), Site("Cs", "Cs", (0.5, 0.5, 0.5))]
    for n, (cx, cy, cz, disp) in enumerate([
        (0.5, 0, 0, [(0, y, 0), (0, -y, 0), (0, 0, y), (0, 0, -y)]),
        (0, 0.5, 0, [(y, 0, 0), (-y, 0, 0), (0, 0, y), (0, 0, -y)]),
        (0, 0, 0.5, [(y, 0, 0), (-y, 0, 0), (0, y, 0), (0, -y, 0)]),
    ]):
        for m, d in enumerate(disp):
            sites.append(Site(f"X{n}{m}", "Br", (cx + d[0], cy + d[1], cz + d[2]), occupancy=0.25,
                              adp_group="X", exclusion="X"))
    return Structure("CsPbBr3-alpha-split-P1", Cell(a, a, a), "P 1", sites)


@pytest.fixture(scope="module")
def twinned() -> Crystal:
    return build_crystal(gamma_cspbbr3(), size_ab_nm=9, size_c_nm=10,
                         twins=["1/2<110>{110}", "1/2<110>{001}"], domain_size_nm=3, seed=1)


def test_layout_and_round_trip(tmp_path, twinned) -> None:
    path = write_xyz(twinned, tmp_path / "nc.xyz")
    lines = path.read_text().splitlines()
    assert int(lines[0]) == twinned.n_atoms == len(lines) - 2
    assert lines[1].startswith(f"Properties={PROPERTIES} Lattice=\"")
    assert 'pbc="F F F"' in lines[1] and 'shape="prism"' in lines[1] and "seed=1" in lines[1]
    assert len(lines[2].split()) == 9
    back = read_xyz(path)
    assert back.lattice is None
    np.testing.assert_array_equal(back.elements, twinned.elements)
    assert np.abs(back.positions - twinned.positions).max() < 1e-8
    for name in ("domain", "variant", "occupancy", "adp_groups", "exclusion"):
        np.testing.assert_array_equal(getattr(back, name), getattr(twinned, name))
    np.testing.assert_allclose(back.cell, twinned.cell)
    for key in ("shape", "n_ab", "n_c", "D_ab_nm", "L_c_nm", "seed", "n_variants", "n_domains"):
        assert back.info[key] == twinned.info[key]
    assert back.info["twins"] == "1/2<110>{110}; 1/2<110>{001}"
    assert not [p for p in tmp_path.iterdir() if p.name != "nc.xyz"]  # no temporary file left


def test_ase_reads_species_positions_and_domains(tmp_path, twinned) -> None:
    ase_io = pytest.importorskip("ase.io")
    path = write_xyz(twinned, tmp_path / "nc.xyz")
    atoms = ase_io.read(path, format="extxyz")
    assert atoms.get_chemical_symbols() == list(twinned.elements)
    np.testing.assert_allclose(atoms.get_positions(), twinned.positions, atol=1e-8)
    np.testing.assert_array_equal(atoms.arrays["domain"], twinned.domain)
    np.testing.assert_array_equal(atoms.arrays["variant"], twinned.variant)
    assert len(np.unique(atoms.arrays["domain"])) == twinned.info["n_domains"] > 2
    assert not atoms.pbc.any()
    np.testing.assert_allclose(np.array(atoms.cell), twinned.cell)


def test_split_sites_round_trip(tmp_path) -> None:
    c = build_prism(split_cubic(), n_ab=2, n_c=2)
    assert (c.exclusion >= 0).sum() == 12 * 8
    back = read_xyz(write_xyz(c, tmp_path / "split.xyz"))
    np.testing.assert_array_equal(back.exclusion, c.exclusion)
    np.testing.assert_allclose(back.occupancy, c.occupancy)
    assert back.composition() == pytest.approx(c.composition())


def test_overwrites_atomically(tmp_path, twinned) -> None:
    path = tmp_path / "nc.xyz"
    path.write_text("old\n")
    write_xyz(twinned, path)
    assert read_xyz(path).n_atoms == twinned.n_atoms
    assert sorted(p.name for p in tmp_path.iterdir()) == ["nc.xyz"]


def test_plain_xyz_and_symbol_forms(tmp_path) -> None:
    path = tmp_path / "plain.xyz"
    path.write_text("4\nsome cluster, energy=-3\nPb 0 0 0\nBR 2.9 0 0 extra 7\n55 0 3 0\nCs1 1e-1 2 3.5\n")
    c = read_xyz(path)
    assert list(c.elements) == ["Pb", "Br", "Cs", "Cs"]
    np.testing.assert_allclose(c.positions[3], [0.1, 2, 3.5])
    assert c.cell is None and np.all(c.domain == 0) and np.all(c.exclusion == -1)
    assert np.all(c.occupancy == 1)


def test_ase_written_extxyz_with_other_columns(tmp_path) -> None:
    pytest.importorskip("ase")
    from ase import Atoms
    from ase.io import write

    atoms = Atoms("CsPbBr3", positions=np.arange(15.0).reshape(5, 3) / 3, cell=[6, 6, 6], pbc=False)
    atoms.arrays["charge"] = np.array([1.0, 2, -1, -1, -1])
    atoms.arrays["domain"] = np.array([0, 0, 1, 1, 2])
    atoms.info["comment"] = "from ase"
    path = tmp_path / "ase.xyz"
    write(path, atoms, format="extxyz")
    c = read_xyz(path)
    assert list(c.elements) == ["Cs", "Pb", "Br", "Br", "Br"]
    np.testing.assert_allclose(c.positions, atoms.positions, atol=1e-8)
    np.testing.assert_array_equal(c.domain, [0, 0, 1, 1, 2])
    assert c.info["comment"] == "from ase"


def test_ovito_style_header(tmp_path) -> None:
    path = tmp_path / "ovito.xyz"
    path.write_text(
        '2\nLattice="10 0 0 0 10 0 0 0 10" Origin="0 0 0" Properties=id:I:1:species:S:1:pos:R:3:c_pe:R:1\n'
        "1 Pb 0.5 0.5 0.5 -1.2\n2 Br 3.5 0.5 0.5 0.3\n"
    )
    c = read_xyz(path)
    assert list(c.elements) == ["Pb", "Br"]
    np.testing.assert_allclose(c.positions[1], [3.5, 0.5, 0.5])


@pytest.mark.parametrize(
    ("text", "line", "needle"),
    [
        ("abc\n\nPb 0 0 0\n", 1, "number of atoms"),
        ("", 1, "empty"),
        ("3\n\nPb 0 0 0\nBr 1 1 1\n", 5, "declares 3 atoms"),
        ("2\n\nPb 0 0 0\nBr 1 x 1\n", 4, "non-numeric coordinate 'x'"),
        ("2\n\nPb 0 0 0\nXx 1 1 1\n", 4, "unknown element symbol 'Xx'"),
        ("2\n\nPb 0 0 0\nBr 1 1\n", 4, "short line"),
        ("1\nProperties=species:S:1:pos:R:3:occupancy:R:1\nPb 0 0 0 1.5\n", 3, "occupancy"),
        ("1\nProperties=species:S:1\nPb 0 0 0\n", 2, "pos"),
    ],
)
def test_bad_files_name_file_line_and_problem(tmp_path, text, line, needle) -> None:
    path = tmp_path / "bad.xyz"
    path.write_text(text)
    with pytest.raises(InputFileError) as err:
        read_xyz(path)
    msg = str(err.value)
    assert str(path) in msg and needle in msg and err.value.line == line, msg


def test_missing_file(tmp_path) -> None:
    with pytest.raises(InputFileError, match="does-not-exist.xyz"):
        read_xyz(tmp_path / "does-not-exist.xyz")


def test_shared_nanocube_and_cluster_files_read(shared_data) -> None:
    cubes = sorted((shared_data / "structures" / "cspbbr3_nanocubes_hu_group").glob("*.xyz"))
    assert cubes
    for path in cubes:
        c = read_xyz(path)
        count, formula = path.read_text().splitlines()[:2]  # e.g. "189", "Cs54 Pb27 Br108"
        assert c.n_atoms == int(count)
        tokens = [re.match(r"([A-Z][a-z]?)(\d+)$", t).groups() for t in formula.split()]
        expected = {el: float(n) for el, n in tokens}
        assert c.composition() == expected
        assert np.ptp(c.positions, axis=0).min() > 5.0
    cdse = read_xyz(shared_data / "pdf_nanoparticles" / "cdse_cluster" / "cdse.xyz")
    assert set(cdse.composition()) == {"Cd", "Se"} and cdse.n_atoms == 91
