"""Refinable occupancies per site group (refine/occupancy.py) through the lattice route, the
all-pairs route and the size databases, the refined composition, and the model fields.

References: exact double sums over atoms whose occupancies are set one by one, and a synthetic
PbS population (S occupancy 0.85 on a 3 Å surface shell, Poisson noise).
"""

from __future__ import annotations

import numpy as np
import pytest

from nanotwin_core.actions import prepare_model_fit
from nanotwin_core.builder import build_crystal
from nanotwin_core.builder.shape_kinds import get_shape
from nanotwin_core.crystal import Crystal
from nanotwin_core.io.data import PatternData
from nanotwin_core.model import FitSpec, Model, PopulationSpec, read_model_toml, write_model_toml
from nanotwin_core.refine.occupancy import composition_summary
from nanotwin_core.refine.size_database import build_size_database
from nanotwin_core.scattering import compute_histograms, debye_intensity
from nanotwin_core.scattering.debye import exact_debye
from nanotwin_core.scattering.radiation import XRay
from nanotwin_core.structures.library import get_structure

FACTORS = {"S_surf": 0.85, "Pb": 0.95}  # Pb also reaches Pb_surf (its core group)
B = {"Pb": 1.28, "S": 1.25, "S_surf": 2.0}


def with_atom_occupancy(crystal: Crystal) -> Crystal:
    """The same atoms with the factors of FACTORS applied one by one (independent of the code)."""
    occ = crystal.occupancy.copy()
    groups = crystal.adp_groups.astype(str)
    occ[groups == "S_surf"] *= 0.85
    occ[np.isin(groups, ["Pb", "Pb_surf"])] *= 0.95
    return Crystal(positions=crystal.positions, elements=crystal.elements, adp_groups=crystal.adp_groups,
                   occupancy=occ, exclusion=crystal.exclusion)


@pytest.mark.parametrize("route", ["lattice", "all_pairs"])
def test_occupancy_factors_equal_atom_occupancies(route) -> None:
    crystal = build_crystal("PbS-rocksalt", shape="sphere", size_nm=2.2, surface_shell_A=3.0)
    if route == "all_pairs":
        crystal = crystal.without_lattice()
    q = np.linspace(0.2, 8.0, 150)
    radiation = XRay(wavelength=0.4955)
    ours = debye_intensity(compute_histograms(crystal, sampling="exact", route=route), q, b_iso=B,
                           radiation=radiation, occupancy=FACTORS)
    reference = exact_debye(with_atom_occupancy(crystal), q, b_iso=B, radiation=radiation)
    assert np.max(np.abs(ours - reference)) < 1e-11 * reference.max()
    plain = debye_intensity(compute_histograms(crystal, sampling="exact", route=route), q, b_iso=B,
                            radiation=radiation)
    assert np.max(np.abs(plain - ours)) > 1e-3 * reference.max()  # the factors do something


def test_size_database_reweights_without_rebuilding(monkeypatch) -> None:
    kw = dict(surface_shell_A=3.0)
    structure = get_structure("PbS-rocksalt")
    (unit,), _ = get_shape("sphere").grid_units(structure)
    db = build_size_database(structure, "sphere", [(4,), (6,)], (unit,), (0.5, 6.0), crystal_options=kw)

    def no_rebuild(*_a, **_k):
        raise AssertionError("a crystal was rebuilt")

    monkeypatch.setattr("nanotwin_core.refine.size_database.build_crystal", no_rebuild)
    q = np.linspace(1.0, 5.0, 80)
    w = np.array([0.3, 0.7])
    ours = db.intensity(w, q, b_iso=B, occupancy=FACTORS)
    monkeypatch.undo()
    ref = sum(wi * exact_debye(with_atom_occupancy(build_crystal("PbS-rocksalt", shape="sphere",
                                                                 size_nm=n * unit, **kw)), q, b_iso=B)
              for wi, n in zip(w, (4, 6), strict=True))
    assert np.max(np.abs(ours - ref)) < 2e-4 * ref.max()  # sampled distances and the Q spline


def synthetic_problem():
    """A PbS sphere population with a 3 Å surface shell, B of the shell tied to the core's."""
    q = np.arange(1.0, 8.0, 0.02)
    model = Model(structure="PbS-rocksalt", shape="sphere", population=PopulationSpec(D=1.8, sD=0.12),
                  surface_shell_A=3.0, radiation=XRay(wavelength=0.4955), adp={"Pb": 1.0, "S": 1.0},
                  fit=FitSpec(refine=["scale", "background", "adp", "size", "occupancy"], background_order=1,
                              constraints={"B_S_surf": "=B_S", "B_Pb_surf": "=B_Pb"}))
    grid = PatternData(x=q, y=np.ones(len(q)), sigma=np.ones(len(q)), x_kind="q")
    problem = prepare_model_fit(model, grid)
    truth = {p.name: p.value for p in problem.params}
    truth.update(D_nm=1.7, sD=0.10, occ_S_surf=0.85, B_Pb=1.28, B_S=1.25, B_Pb_surf=1.28, B_S_surf=1.25)
    column = problem.basis(truth)[:, 0]
    y = np.random.default_rng(3).poisson(column / column.max() * 1e5 + 300).astype(float)
    return problem.with_data(PatternData(x=q, y=y, sigma=np.sqrt(y), x_kind="q")), truth


def test_synthetic_pbs_recovers_surface_occupancy_and_shows_b_inflation_when_fixed() -> None:
    problem, truth = synthetic_problem()
    fixed = problem.with_data(problem.data)
    result = problem.run()
    fitted = {p.name: p for p in result.params}
    for name in ("occ_S_surf", "B_S", "B_Pb", "D_nm", "sD"):
        p = fitted[name]
        assert p.esd and abs(p.value - truth[name]) < 3 * p.esd, (name, p.value, p.esd)
    assert result.gof < 1.2
    comp = composition_summary(problem, result)
    assert comp["formula"].startswith("Pb1.00S0.")
    s = comp["elements"]["S"]
    assert 0.8 < s["value"] < 1.0 and 0 < s["esd"] < 0.01
    # occupancy held at 1: the fit pushes the missing surface S into B(S), as on real PbS data
    # (B(S) 2.9-4.6 Å^2 against 1.25 in the literature); measured here: B(S) = 3.3(1) Å^2
    fixed.params["occ_S_surf"].refine = False
    fixed.params["occ_S_surf"].value = 1.0
    inflated = {p.name: p for p in fixed.run().params}
    assert inflated["B_S"].value > truth["B_S"] + 1.0
    assert inflated["B_S"].value - truth["B_S"] > 10 * inflated["B_S"].esd


def test_model_surface_fields_round_trip(tmp_path) -> None:
    model = Model(structure="CsPbBr3-gamma", shape="cuboid", size_nm=5.0, termination="CsX",
                  surface_layers=1, occupancy={"Cs_surf": 0.7}, chain_beads=6.0, ligand_shell_A=15.0,
                  ligand_density=0.33,
                  fit=FitSpec(refine=["scale", "occupancy", "chain"], constraints={"B_Cs_surf": "=B_Cs"}))
    model.validate()
    assert Model.from_dict(model.to_dict()) == model
    path = write_model_toml(model, tmp_path / "m.toml")
    text = path.read_text()
    assert "[surface]" in text and "[occupancy]" in text and "[small_angle]" in text
    assert read_model_toml(path) == model
    plain = Model(structure="PbS-rocksalt", shape="sphere", size_nm=3.0)
    assert not {"termination", "occupancy", "chain_beads"} & set(plain.to_dict())  # old dicts unchanged


@pytest.mark.parametrize(("kwargs", "needle"), [
    (dict(surface_shell_A=3.0, surface_layers=1), "not both"),
    (dict(occupancy={"S": 1.2}), r"\[0, 1\]"),
    (dict(chain_beads=0.5), ">= 1"),
    (dict(ligand_shell_A=10.0), "both"),
    (dict(termination="S:x"), "whole number"),
])
def test_model_refuses_bad_surface_fields(kwargs, needle) -> None:
    from nanotwin_core.errors import NanotwinError

    with pytest.raises(NanotwinError, match=needle):
        Model(structure="PbS-rocksalt", shape="sphere", size_nm=3.0, **kwargs).validate()


def test_cli_fit_reports_the_composition(tmp_path) -> None:
    import json

    from nanotwin_core.cli import main

    data = tmp_path / "d.xye"
    (unit,), _ = get_shape("sphere").grid_units(get_structure("PbS-rocksalt"))
    size = f"{6 * unit:.12f}"  # a whole number of grid steps: the fit's crystal is the same sphere
    assert main(["simulate", "--structure", "PbS-rocksalt", "--shape", "sphere", "--size", size,
                 "--surface-shell", "3", "--occupancy", "S_surf=0.8", "--adp", "Pb=1,S=1", "--q", "1:8:0.02",
                 "--out", str(data), "--quiet"]) == 0
    out = tmp_path / "f.json"
    assert main(["fit", "--data", str(data), "--structure", "PbS-rocksalt", "--shape", "sphere",
                 "--size", size, "--surface-shell", "3", "--adp", "Pb=1,S=1", "--refine", "scale,occupancy",
                 "--out", str(tmp_path / "f.h5"), "--json", str(out), "--report", str(tmp_path / "f.md"),
                 "--quiet"]) == 0
    result = json.loads(out.read_text())
    assert result["parameters"]["occ_S_surf"]["value"] == pytest.approx(0.8, abs=1e-4)
    crystal = build_crystal("PbS-rocksalt", shape="sphere", size_nm=float(size), surface_shell_A=3.0)
    groups = crystal.adp_groups.astype(str)
    expected = (np.sum(groups == "S") + 0.8 * np.sum(groups == "S_surf")) / np.sum(crystal.elements == "Pb")
    assert result["composition"]["elements"]["S"]["value"] == pytest.approx(expected, rel=1e-4)
    assert result["composition"]["formula"].startswith("Pb1.00S")
    assert "## Composition" in (tmp_path / "f.md").read_text()
