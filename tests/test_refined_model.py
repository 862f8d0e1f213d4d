"""A fit's refined values carried back into the Model (``refined_model``): each field, and the
refined model simulated again gives the fitted curve."""

from __future__ import annotations

import numpy as np

from nanotwin_core.actions import compute_pattern, fit_model, fit_parts
from nanotwin_core.io.data import PatternData
from nanotwin_core.model import ComponentSpec, FitSpec, Instrument, Model
from nanotwin_core.model_parts import PopulationSpec
from nanotwin_core.refined_model import refined_model


def test_each_refined_value_lands_in_its_field_and_the_start_model_is_kept() -> None:
    start = Model(structure="PbS-rocksalt", shape="sphere", population=PopulationSpec(D=3.0, sD=0.2),
                  adp={"Pb": 1.0}, instrument=Instrument(polarization="sync", zero=0.0),
                  components=[ComponentSpec("pbs", 0.7),
                              ComponentSpec("small", 0.3, population=PopulationSpec(D=1.5, sD=0.1))])
    values = {"B_Pb": 2.5, "B_S": 3.0, "D_nm": 4.1, "sD": 0.15, "D_nm_small": 1.8, "sD_small": 0.12,
              "zero": 0.012, "a_A": 5.95, "expansion": 0.0, "scale": 7.0, "bkg_0": 1.0, "occ_S_surf": 0.8,
              "chain_beads": 4.5, "ligand_shell_A": 12.0, "ligand_density": 0.3}
    new, notes = refined_model(start, values)
    assert new.adp == {"Pb": 2.5, "S": 3.0}
    assert (new.population.D, new.population.sD) == (4.1, 0.15)
    small = new.components[1].population
    assert (small.D, small.sD) == (1.8, 0.12)
    assert new.instrument.zero == 0.012
    assert new.occupancy == {"S_surf": 0.8} and (new.chain_beads, new.ligand_shell_A) == (4.5, 12.0)
    assert len(notes) == 1 and "cell a" in notes[0] and "5.95" in notes[0]
    # the start model is untouched
    assert start.adp == {"Pb": 1.0} and start.population.D == 3.0 and start.components[1].population.D == 1.5
    assert start.instrument.zero == 0.0


def test_prism_sizes_tilt_and_per_law_domain_sizes() -> None:
    laws = ["1/2<110>{110}", "1/2<001>{110}"]
    start = Model(structure="CsPbBr3-gamma", tilt=[8.0, 6.0],
                  population=PopulationSpec(Dab=8.0, sab=0.2, Lc=6.0, sc=0.2), twins=laws,
                  domain_size_nm={laws[0]: 3.0, laws[1]: 6.0}, ensemble=True)
    new, notes = refined_model(start, {"Dab_nm": 9.0, "sab": 0.25, "Lc_nm": 5.0, "sc": 0.3, "domain_nm": 4.5,
                                       "tilt_c_deg": 7.5})
    assert not notes
    pop = new.population
    assert (pop.Dab, pop.sab, pop.Lc, pop.sc) == (9.0, 0.25, 5.0, 0.3)
    assert new.tilt == [8.0, 7.5]
    # twin_density's convention: the first law's size is the shared one, the laws keep their ratio
    sizes = dict(new.domain_size_nm)
    assert np.isclose(sizes[laws[0]], 4.5) and np.isclose(sizes[laws[1]], 9.0)
    one_size = refined_model(Model(structure="CsPbBr3-gamma", size_ab_nm=6.0, size_c_nm=6.0, twins=laws[:1],
                                   domain_size_nm=3.0), {"domain_nm": 2.5})[0]
    assert one_size.domain_size_nm == 2.5


def test_the_refined_model_simulates_the_fitted_curve() -> None:
    """Independent check: the refined model, simulated from scratch, is the fit's model part (up
    to the refined scale)."""
    q = np.arange(1.5, 4.5, 0.01)
    truth = Model(structure="PbS-rocksalt", shape="sphere", population=PopulationSpec(D=2.6, sD=0.15),
                  adp={"Pb": 1.3, "S": 1.8})
    y = 1e4 * compute_pattern(truth, q).intensity / compute_pattern(truth, q).intensity.max() + 50.0
    data = PatternData(q, y, np.sqrt(y), x_kind="q", path="pbs.xye")
    start = Model(structure="PbS-rocksalt", shape="sphere", population=PopulationSpec(D=2.3, sD=0.2),
                  adp={"Pb": 1.0, "S": 1.0},
                  fit=FitSpec(refine=["scale", "adp", "size", "background"], background_order=1))
    problem, result = fit_model(start, data)
    values = {p.name: p.value for p in result.params}
    new, _notes = refined_model(start, values)
    model_part = fit_parts(problem, values).populations["model"]
    again = compute_pattern(new, q).intensity
    ratio = model_part / again
    assert np.ptp(ratio) < 1e-3 * np.mean(ratio)
    assert abs(new.population.D - 2.6) < 0.05 and abs(new.adp["S"] - 1.8) < 0.3
