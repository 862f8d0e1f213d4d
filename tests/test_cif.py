"""CIF import/export: round trip of every built-in structure, real CIFs, clear errors."""

from __future__ import annotations

import numpy as np
import pytest

from nanotwin_core.errors import InputFileError
from nanotwin_core.structures.cif import read_cif, write_cif
from nanotwin_core.structures.library import get_structure, list_structures


def sorted_atoms(structure) -> np.ndarray:
    t = structure.expand()
    frac = t.frac - np.floor(t.frac + 1e-9)
    keys = np.array([f"{e}" for e in t.elements])
    rows = np.column_stack([np.round(frac, 6), t.occupancy])
    order = np.lexsort((*rows.T[::-1], keys))
    return np.column_stack([rows[order], np.unique(keys, return_inverse=True)[1][order]])


@pytest.mark.parametrize("name", list_structures())
def test_round_trip(tmp_path, name: str) -> None:
    s = get_structure(name)
    back = read_cif(write_cif(s, tmp_path / "s.cif"), split_sites="split" in name)
    assert back.space_group().number == s.space_group().number
    np.testing.assert_allclose(back.cell.as_tuple(), s.cell.as_tuple(), atol=1e-6)
    np.testing.assert_allclose(sorted_atoms(back), sorted_atoms(s), atol=2e-6)
    assert [x.b_iso for x in back.sites] == pytest.approx([x.b_iso for x in s.sites])
    if "split" in name:
        assert set(back.expand().exclusion) == set(s.expand().exclusion)


@pytest.mark.parametrize(
    ("rel", "number", "composition"),
    [
        ("pdf_nanoparticles/cdse_size_series_pdfttp/CdSe-Zincblende.cif", 216, {"Cd": 4, "Se": 4}),
        ("pdf_nanoparticles/cdse_size_series_pdfttp/CdSe-Wurtzite.cif", 186, {"Cd": 2, "Se": 2}),
        ("pdf_nanoparticles/ni_calibrant_pdfttp/Ni.cif", 225, {"Ni": 4}),
        ("peer_reference/debyecalculator_co2o/AntiFluorite_Co2O.cif", 1, {"Co": 8, "O": 4}),
    ],
)
def test_real_cifs(shared_data, rel, number, composition) -> None:
    s = read_cif(shared_data / rel)
    assert s.space_group().number == number
    assert s.composition() == pytest.approx(composition)


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("data_x\n_cell_length_a 5\n", "no data block"),
        ("this is not a cif ' at all\n", "bad.cif"),
        ("data_x\n_cell_length_a 5\n_cell_length_b 5\n_cell_length_c 5\n"
         "_symmetry_space_group_name_H-M 'Q 9'\n"
         "loop_\n_atom_site_label\n_atom_site_fract_x\n_atom_site_fract_y\n_atom_site_fract_z\nA 0 0 0\n",
         "space group"),
        ("data_x\n_cell_length_a 5\n_cell_length_b 5\n_cell_length_c 5\n_space_group_IT_number 221\n"
         "loop_\n_atom_site_label\n_atom_site_fract_x\n_atom_site_fract_y\n_atom_site_fract_z\nQq1 0 0 0\n",
         "element"),
    ],
)
def test_errors_name_the_file(tmp_path, text, needle) -> None:
    path = tmp_path / "bad.cif"
    path.write_text(text)
    with pytest.raises(InputFileError) as info:
        read_cif(path)
    assert "bad.cif" in str(info.value) and needle in str(info.value)
