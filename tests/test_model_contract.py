"""The one Model: every option survives dicts, TOML and projects; old dicts still read; typed parts."""

from __future__ import annotations

import json

import numpy as np
import pytest

from nanotwin_core.actions import build_model_crystals, compute_pattern, estimate_atoms
from nanotwin_core.builder.shape_kinds import SHAPE_KINDS, get_shape
from nanotwin_core.errors import NanotwinError
from nanotwin_core.io.project import Project, open_project, save_project
from nanotwin_core.model import (
    ComponentSpec,
    FitSpec,
    Instrument,
    Model,
    PopulationSpec,
    read_model_toml,
    write_model_toml,
)
from nanotwin_core.scattering import compute_histograms, debye_intensity
from nanotwin_core.scattering.radiation import RADIATIONS, Neutron, XRay, make_radiation, radiation_from_dict


def full_model(tmp_path) -> Model:
    """A model that sets every option (a CIF-free one: the tilt needs a built-in name)."""
    return Model(
        structure="CsPbBr3-gamma", tilt=[8.0, 6.0], shape="prism",
        population=PopulationSpec(Dab=8.19, sab=0.24, Lc=9.79, sc=0.2, correlation=0.1),
        twins=["1/2<001>{110}"], domain_size_nm=3.0, seeds=[1, 2], coherent_element="Pb",
        allow_incoherent=True, adp={"Pb": 2.99, "X_ax": 1.7},
        radiation=XRay(wavelength=0.565468, anomalous=False), exclude=["Cs:Cs"],
        components=[ComponentSpec("twinned", 0.3, twins=["1/2<110>{110}"], domain_size_nm=2.0, seeds=[3]),
                    ComponentSpec("untwinned", 0.7, twins=[])],
        instrument=Instrument(polarization="sync:0.9", caglioti=(0.01, -0.002, 0.003), zero=0.02),
        fit=FitSpec(refine=["scale", "adp", "zero"], background_order=3, tth_range=(5.0, 40.0),
                    blank=str(tmp_path / "capillary.xye"), max_nfev=50),
    ).validate()


def test_every_option_survives_dict_json_toml_and_project(tmp_path) -> None:
    m = full_model(tmp_path)
    assert Model.from_dict(json.loads(json.dumps(m.to_dict()))) == m
    assert read_model_toml(write_model_toml(m, tmp_path / "m.toml")) == m
    save_project(Project(model=m.to_dict()), tmp_path / "p.h5")
    assert Model.from_dict(open_project(tmp_path / "p.h5").model) == m


def test_cif_and_neutron_models_round_trip(tmp_path) -> None:
    m = Model(structure=None, cif=str(tmp_path / "x.cif"), shape="sphere", size_nm=3.0,
              radiation=Neutron(wavelength=1.5)).validate()
    assert Model.from_dict(json.loads(json.dumps(m.to_dict()))) == m
    assert read_model_toml(write_model_toml(m, tmp_path / "n.toml")) == m


def test_earlier_model_dicts_read_unchanged() -> None:
    # what Model.to_dict wrote before radiation became an object (schema 1 and 2 projects)
    old = {"structure": "CsPbBr3-gamma", "shape": "prism", "size_ab_nm": 8.0, "size_c_nm": 9.0,
           "twins": [], "seeds": [0], "coherent_element": "Pb", "allow_incoherent": False, "adp": {},
           "radiation": "xray", "wavelength": 0.565468, "anomalous": True, "exclude": []}
    m = Model.from_dict(old)
    assert m.radiation == XRay(wavelength=0.565468) and m.instrument == Instrument() and m.fit == FitSpec()
    energy = Model.from_dict({**old, "wavelength": None, "energy_kev": 25.0, "anomalous": False})
    assert energy.radiation == XRay(energy_kev=25.0, anomalous=False)
    neutron = Model.from_dict({**old, "radiation": "neutron"})
    assert neutron.radiation == Neutron(wavelength=0.565468)
    assert Model.from_dict(m.to_dict()) == m


def test_bad_parts_are_refused_with_a_reason() -> None:
    with pytest.raises(NanotwinError, match="neutron"):
        make_radiation("electron")
    with pytest.raises(NanotwinError, match="disagree"):
        XRay(wavelength=0.5, energy_kev=30.0)
    with pytest.raises(NanotwinError, match="keV"):
        XRay(energy_kev=0.001)
    with pytest.raises(NanotwinError, match="unknown shape"):
        Model(shape="blob", size_nm=3).validate()
    with pytest.raises(NanotwinError, match="refine"):
        Model(size_nm=3, shape="sphere", fit=FitSpec(refine=["scael"])).validate()
    with pytest.raises(NanotwinError, match="polarization"):
        Model(size_nm=3, shape="sphere", instrument=Instrument(polarization="sideways")).validate()
    with pytest.raises(NanotwinError, match="tilt"):
        Model(structure="PbS-rocksalt", tilt=[5.0], shape="sphere", size_nm=2.0).load_structure()


def test_registries_know_their_members() -> None:
    assert {"xray", "neutron"} <= set(RADIATIONS)
    assert radiation_from_dict(XRay(energy_kev=22.0).to_dict()) == XRay(energy_kev=22.0)
    assert {"prism", "cuboid", "sphere"} <= set(SHAPE_KINDS)
    assert get_shape("prism").bivariate and not get_shape("sphere").bivariate
    assert get_shape("prism").population_keys == ("Dab", "sab", "Lc", "sc")


def test_compute_pattern_of_a_twinned_crystal_is_the_seed_average() -> None:
    """The entry point against the engine called by hand: seeds averaged, B from the model then
    the structure, anomalous terms at the beam energy."""
    model = Model(structure="CsPbBr3-gamma", shape="prism", size_ab_nm=2.5, size_c_nm=2.5,
                  twins=["1/2<001>{110}"], boundaries=1, seeds=[0, 1], adp={"Pb": 2.0},
                  radiation=XRay(wavelength=0.5)).validate()
    q = np.linspace(1.0, 3.0, 200)
    got = compute_pattern(model, q)
    structure = model.load_structure()
    b = {s.adp_group: s.b_iso for s in structure.sites} | {"Pb": 2.0}
    hists = [compute_histograms(c) for c in build_model_crystals(model)]
    ref = np.mean([debye_intensity(h, q, b_iso=b, radiation=XRay(wavelength=0.5)) for h in hists], axis=0)
    assert np.allclose(got.intensity, ref, rtol=1e-9)
    assert got.b_iso["Pb"] == 2.0 and got.info["seeds"] == 2


def test_estimate_atoms_uses_the_structure_not_cspbx3() -> None:
    """Defect 7: the estimate follows the structure's atom density (PbS has 8 atoms in 209 Å^3,
    CsPbX3 5 in ~200 Å^3) and the shape's volume."""
    for model in (Model(structure="PbS-rocksalt", shape="sphere", size_nm=4.0),
                  Model(structure="CsPbBr3-gamma", shape="prism", size_ab_nm=5.0, size_c_nm=6.0),
                  Model(structure="CsPbCl3-alpha", shape="cuboid", size_nm=4.0)):
        built = build_model_crystals(model.validate())[0].n_atoms
        assert abs(estimate_atoms(model) - built) < 0.12 * built, (model.structure, built)


def test_every_refine_name_has_a_parameter_provider() -> None:
    from nanotwin_core.model import REFINABLE
    from nanotwin_core.refine.parameter_providers import provider_keywords

    assert sorted(provider_keywords()) == sorted(REFINABLE)
