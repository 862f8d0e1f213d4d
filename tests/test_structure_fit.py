"""Cell (a, b, c) and tilt-angle refinement by re-histogramming stored pair tables.

Truth everywhere: the changed crystal built from scratch (``build_crystal`` of a structure with
the changed cell, or of ``tilted_gamma`` at the true angles) and its own histograms
(``compute_histograms``) and Debye sum, never the re-histogram path under test.
"""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from nanotwin_core.builder import build_crystal
from nanotwin_core.builder.shape_kinds import get_shape
from nanotwin_core.errors import NanotwinError
from nanotwin_core.io.data import PatternData
from nanotwin_core.model import Model, PopulationSpec
from nanotwin_core.refine.dse_fit import FitSettings, prepare_fit
from nanotwin_core.refine.structure_fit import build_structure_database
from nanotwin_core.scattering import compute_histograms, debye_intensity
from nanotwin_core.scattering.radiation import XRay
from nanotwin_core.structures.library import get_structure
from nanotwin_core.structures.structure import Cell
from nanotwin_core.structures.tilt import library_tilts, tilted_gamma

B_TRUE = {"Pb": 2.99, "Cs": 8.9, "X_ax": 1.72, "X_eq": 2.85}
ENERGY = 21.9  # keV
N_AB, N_C = 4, 3  # cells: a ~3.7 x 3.5 nm CsPbBr3 prism
Q = np.arange(0.8, 8.0, 0.003)


def _scaled_cell(structure, fa: float, fb: float, fc: float):
    c = structure.cell
    return dataclasses.replace(structure, cell=Cell(c.a * fa, c.b * fb, c.c * fc, c.alpha, c.beta, c.gamma))


def _prism(structure, twins=(), boundaries=None):
    """The N_AB x N_AB x N_C prism of ``structure`` built from scratch."""
    (u_ab, u_c), _ = get_shape("prism").grid_units(structure)
    crystal = build_crystal(structure, shape="prism", size_ab_nm=N_AB * u_ab, size_c_nm=N_C * u_c,
                            twins=twins, boundaries=boundaries)
    assert (crystal.info["n_ab"], crystal.info["n_c"]) == (N_AB, N_C)
    return crystal


def _noisy(crystal, seed: int) -> PatternData:
    i_q = debye_intensity(compute_histograms(crystal), Q, b_iso=B_TRUE, radiation=XRay(energy_kev=ENERGY))
    i_q *= 1e5 / i_q.max()
    y = np.random.default_rng(seed).poisson(i_q).astype(float)
    return PatternData(Q, y, np.sqrt(np.maximum(y, 1)), x_kind="q", path="simulated.xye")


def _settings(*refine: str) -> FitSettings:
    return FitSettings(refine=refine, background_order=None)


def _model(structure, **kw) -> Model:
    (u_ab, u_c), _ = get_shape("prism").grid_units(structure)
    return Model(structure=structure.name, shape="prism", size_ab_nm=N_AB * u_ab, size_c_nm=N_C * u_c,
                 radiation=XRay(energy_kev=ENERGY), adp=dict(B_TRUE), **kw)


@pytest.fixture(scope="module")
def cell_data():
    """CsPbBr3-gamma with a +1 %, c -0.7 %: its pattern with Poisson noise (peak 1e5 counts)."""
    s0 = get_structure("CsPbBr3-gamma")
    true = _scaled_cell(s0, 1.01, 1.0, 0.993)
    return s0, true, _noisy(_prism(true), seed=3)


def test_cell_refinement_recovers_a_b_c(cell_data) -> None:
    s0, true, data = cell_data
    problem = prepare_fit(_model(s0), data, _settings("scale", "adp", "cell"))
    p = {x.name: x for x in problem.params}
    assert (p["a_A"].value, p["b_A"].value, p["c_A"].value) == (s0.cell.a, s0.cell.b, s0.cell.c)
    assert p["a_A"].min == pytest.approx(0.97 * s0.cell.a) and p["a_A"].max == pytest.approx(1.03 * s0.cell.a)
    result = problem.run()
    p = {x.name: x for x in result.params}
    for name, truth in (("a_A", true.cell.a), ("b_A", true.cell.b), ("c_A", true.cell.c)):
        prm = p[name]
        assert prm.esd is not None and prm.esd > 0
        assert abs(prm.value - truth) < 3 * prm.esd, (name, prm.value, truth, prm.esd)
        assert abs(prm.value - truth) / truth < 1e-3, (name, prm.value, truth)
    assert 0.9 < result.gof < 1.2
    # the realised sizes follow the refined cell
    d_ab, l_c = problem.database.sizes_nm[0]
    assert l_c == pytest.approx(N_C * p["c_A"].value / 10, rel=1e-4)


def test_tilt_refinement_recovers_angles() -> None:
    true = tilted_gamma("Br", 8.0, 10.0)
    data = _noisy(_prism(true), seed=5)
    s0 = get_structure("CsPbBr3-gamma")
    problem = prepare_fit(_model(s0), data, _settings("scale", "adp", "tilt"))
    p = {x.name: x for x in problem.params}
    start = library_tilts("Br")
    assert (p["tilt_ab_deg"].value, p["tilt_c_deg"].value) == pytest.approx(start)
    assert start == pytest.approx((9.51, 11.77), abs=0.01)
    assert any("tilt model" in m for m in problem.messages)
    result = problem.run()
    p = {x.name: x for x in result.params}
    for name, truth in (("tilt_ab_deg", 8.0), ("tilt_c_deg", 10.0)):
        prm = p[name]
        assert prm.esd is not None and prm.esd > 0
        assert abs(prm.value - truth) < 3 * prm.esd, (name, prm.value, prm.esd)
        assert abs(prm.value - truth) < 0.3, (name, prm.value)
    assert 0.9 < result.gof < 1.2


def _rel_diff(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


@pytest.mark.parametrize("mode, twins", [("cell", ()), ("cell", ("1/2<001>{110}",)), ("tilt", ()),
                                         ("tilt", ("1/2<110>{110}",))])
def test_rehistogram_equals_a_rebuilt_crystal(mode, twins) -> None:
    s0 = get_structure("CsPbBr3-gamma")
    boundaries = 1 if twins else None
    if mode == "cell":
        start = s0
        values = {"a_A": s0.cell.a * 1.01, "b_A": s0.cell.b * 0.996, "c_A": s0.cell.c * 0.993}
        changed = _scaled_cell(s0, 1.01, 0.996, 0.993)
    else:
        start = tilted_gamma("Br", 9.51, 11.77)
        values = {"tilt_ab_deg": 8.0, "tilt_c_deg": 10.0}
        changed = tilted_gamma("Br", 8.0, 10.0)
    (u_ab, u_c), _ = get_shape("prism").grid_units(start)
    db = build_structure_database(mode, start, "prism", (N_AB, N_C), (u_ab, u_c), twins=twins,
                                  boundaries=boundaries)
    if mode == "tilt":
        assert db.start_values() == pytest.approx({"tilt_ab_deg": 9.51, "tilt_c_deg": 11.77})
    rebuilt = _prism(changed, twins=twins, boundaries=boundaries)
    assert (rebuilt.lattice.node_basis_frac == db.lattices[0].node_basis_frac).all()
    ref = compute_histograms(rebuilt)
    hist = db.histograms(values)
    assert [t for t in hist.types] == [t for t in ref.types]
    m = min(hist.counts.shape[1], ref.counts.shape[1])
    for tail in (hist.counts[:, m:], ref.counts[:, m:]):
        assert np.abs(tail).max(initial=0) < 1e-9
    assert _rel_diff(hist.counts[:, :m], ref.counts[:, :m]) < 1e-9
    i_ref = debye_intensity(ref, Q, b_iso=B_TRUE, radiation=XRay(energy_kev=ENERGY))
    db.update(values)
    i_db = db.intensity(np.ones(1), Q, b_iso=B_TRUE, radiation=XRay(energy_kev=ENERGY))
    assert _rel_diff(i_db, i_ref) < 1e-9
    # and the change is real: the start crystal's pattern differs by far more
    i_start = debye_intensity(compute_histograms(_prism(start, twins, boundaries)), Q, b_iso=B_TRUE,
                              radiation=XRay(energy_kev=ENERGY))
    assert _rel_diff(i_start, i_ref) > 1e-2


def test_b_changes_reuse_the_histograms(cell_data) -> None:
    s0, _true, data = cell_data
    problem = prepare_fit(_model(s0), data, _settings("scale", "adp", "cell"))
    values = {p.name: p.value for p in problem.params}
    db = problem.database
    first = problem.basis(values)[:, 0]
    n = db.n_evaluations
    hotter = problem.basis({**values, "B_Pb": 5.0})[:, 0]
    assert db.n_evaluations == n  # B only: same histograms
    assert not np.allclose(first, hotter)
    wider = problem.basis({**values, "a_A": values["a_A"] * 1.005})[:, 0]
    assert db.n_evaluations == n + 1
    assert not np.allclose(first, wider)


def test_refusals_say_why(cell_data) -> None:
    s0, _true, data = cell_data
    pop = Model(structure="CsPbBr3-gamma", shape="prism",
                population=PopulationSpec(Dab=4, sab=0.2, Lc=4, sc=0.2))
    with pytest.raises(NanotwinError, match="needs a single crystal.*population has one pair table per size"):
        prepare_fit(pop, data, FitSettings(refine=("scale", "cell")))
    with pytest.raises(NanotwinError, match="tilt model fixes the cell"):
        prepare_fit(_model(s0), data, FitSettings(refine=("scale", "cell", "tilt")))
    with pytest.raises(NanotwinError, match="fully correlated"):
        prepare_fit(_model(s0), data, FitSettings(refine=("scale", "cell", "expansion")))
    from nanotwin_core.model import ComponentSpec

    mix = _model(s0, twins=["1/2<001>{110}"], boundaries=1,
                 components=[ComponentSpec("a", 0.5), ComponentSpec("b", 0.5, twins=[])])
    with pytest.raises(NanotwinError, match="not a mixture"):
        prepare_fit(mix, data, FitSettings(refine=("scale", "tilt")))
    pbs = Model(structure="PbS-rocksalt", shape="sphere", size_nm=2.0)
    with pytest.raises(NanotwinError, match="needs a gamma CsPbX3 structure"):
        prepare_fit(pbs, data, FitSettings(refine=("scale", "tilt")))


def test_cli_fit_lists_cell_parameters_with_esds(cell_data, tmp_path) -> None:
    from nanotwin_core.cli import main

    s0, true, data = cell_data
    path = tmp_path / "cell.xye"
    np.savetxt(path, np.column_stack([data.x, data.y, data.sigma]), header="x = Q (1/A)")
    (u_ab, u_c), _ = get_shape("prism").grid_units(s0)
    out = tmp_path / "fit.json"
    assert main(["fit", "--data", str(path), "--x", "q", "--energy", str(ENERGY), "--structure", s0.name,
                 "--shape", "prism", "--size-ab", str(N_AB * u_ab), "--size-c", str(N_C * u_c),
                 "--adp", ",".join(f"{k}={v}" for k, v in B_TRUE.items()), "--refine", "scale,adp,cell",
                 "--out", str(tmp_path / "fit.h5"), "--json", str(out), "--report", str(tmp_path / "r.md"),
                 "--quiet"]) == 0
    got = json.loads(out.read_text())["parameters"]
    for name, truth in (("a_A", true.cell.a), ("b_A", true.cell.b), ("c_A", true.cell.c)):
        assert got[name]["refined"] is True and got[name]["esd"] > 0
        assert abs(got[name]["value"] - truth) < 3 * got[name]["esd"]
    assert "a_A" in (tmp_path / "r.md").read_text()
    pop_args = ["fit", "--data", str(path), "--x", "q", "--structure", s0.name, "--population",
                "Dab=4,sab=0.2,Lc=4,sc=0.2", "--refine", "scale,cell", "--out", str(tmp_path / "p.h5")]
    assert main(pop_args) == 2
