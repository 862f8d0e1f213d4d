"""TOML model files: round trip and clear errors."""

from __future__ import annotations

import pytest

from nanotwin_core.errors import InputFileError, NanotwinError
from nanotwin_core.model import Model, PopulationSpec, read_model_toml, write_model_toml
from nanotwin_core.scattering.radiation import XRay

EXAMPLE = """
[structure]
name = "CsPbBr3-gamma"
[shape]
kind = "prism"
[population]
Dab = 8.19
sab = 0.24
Lc = 9.79
sc = 0.20
[twins]
laws = ["1/2<001>{110}"]
boundaries = 1
seeds = [1, 2]
[adp]
Pb = 2.99
X_ax = 1.721
[radiation]
wavelength = 0.565468
"""


def test_read_example(tmp_path) -> None:
    path = tmp_path / "m.toml"
    path.write_text(EXAMPLE)
    m = read_model_toml(path)
    assert m.structure == "CsPbBr3-gamma" and m.shape == "prism"
    assert m.population == PopulationSpec(Dab=8.19, sab=0.24, Lc=9.79, sc=0.20)
    assert m.twins == ["1/2<001>{110}"] and m.boundaries == 1 and m.seeds == [1, 2]
    assert m.adp == {"Pb": 2.99, "X_ax": 1.721}
    assert m.radiation == XRay(wavelength=0.565468)


def test_round_trip(tmp_path) -> None:
    m = Model(structure="CsPbCl3-gamma", shape="sphere", population=PopulationSpec(D=5.0, sD=0.2),
              twins=["1/2<110>{110}"], domain_size_nm=2.0, seeds=[3], adp={"Cl": 2.0},
              radiation=XRay(energy_kev=25.0), exclude=["Cs:Cs"]).validate()
    path = write_model_toml(m, tmp_path / "m.toml")
    assert read_model_toml(path) == m
    assert Model.from_dict(m.to_dict()) == m


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("[structure]\nname = \"x\"\n[shape]\nkind = \"prism\"\nsize_ab_nm = 5\nsize_c_nm = \n", "line"),
        ("[structur]\nname = \"x\"\n", "unknown section"),
        ("[structure]\nname = \"x\"\n[shape]\nkind = \"blob\"\nsize_nm = 3\n", "shape"),
        ("[structure]\nname = \"x\"\n[shape]\nkind = \"prism\"\nsize_ab_nm = -5\nsize_c_nm = 3\n", "> 0"),
        ("[structure]\nname = \"x\"\n[shape]\nkind = \"prism\"\n", "size_ab_nm"),
        ("[structure]\nname = \"x\"\n[shape]\nkind = \"prism\"\n[population]\nDab = \"big\"\n", "number"),
        ("[structure]\nname = \"x\"\n[shape]\nkind = \"prism\"\nsize_ab = 3\n", "unknown key"),
    ],
)
def test_errors_name_the_file(tmp_path, text, needle) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(InputFileError) as info:
        read_model_toml(path)
    assert "bad.toml" in str(info.value)
    assert needle in str(info.value)


def test_population_parse() -> None:
    assert PopulationSpec.parse("Dab=8.19,sab=0.24,Lc=9.79,sc=0.20").Lc == 9.79
    with pytest.raises(NanotwinError):
        PopulationSpec.parse("Dab=8.19,foo=1")
    with pytest.raises(NanotwinError):
        PopulationSpec(D=-1, sD=0.2).validate("sphere")


def test_the_readme_example_reads(tmp_path) -> None:
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    block = text.split("```toml\n", 1)[1].split("```", 1)[0]
    path = tmp_path / "readme.toml"
    path.write_text(block)
    m = read_model_toml(path)
    assert m.structure == "CsPbBr3-gamma" and m.population.Dab == 8.19
    assert len(m.twins) == 3 and m.seeds == [1, 2, 3, 4]
    assert m.components and m.components[0].name == "twinned"
