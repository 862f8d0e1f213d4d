"""DSE population fits: known parameters recovered from simulated noisy patterns, cancel."""

from __future__ import annotations

import time

import numpy as np
import pytest

from nanotwin_core.builder import build_crystal
from nanotwin_core.builder.shape_kinds import get_shape
from nanotwin_core.errors import Cancelled
from nanotwin_core.io.data import PatternData
from nanotwin_core.model import Model, PopulationSpec
from nanotwin_core.population.distributions import LogNormal
from nanotwin_core.refine.dse_fit import FitSettings, population_summary, prepare_fit
from nanotwin_core.scattering import compute_histograms, debye_intensity
from nanotwin_core.structures.library import get_structure

TRUE_D, TRUE_SD = 3.0, 0.15
TRUE_B = {"Pb": 1.3, "S": 0.9}


@pytest.fixture(scope="module")
def simulated():
    """PbS spheres drawn from a log-normal; truth by the all-pairs route (not the fit's lattice
    route) on another Q grid than the fit's database, with Poisson noise."""
    s = get_structure("PbS-rocksalt")
    (unit,), _ = get_shape("sphere").grid_units(s)
    dist = LogNormal(TRUE_D, TRUE_SD)
    n = np.arange(1, 40)
    w = dist.mass((n - 0.5) * unit, (n + 0.5) * unit)
    keep = w * n**3 > 1e-7 * (w * n**3).max()
    q = np.arange(1.0, 9.0, 0.0037)
    truth = np.zeros_like(q)
    for ni, wi in zip(n[keep], w[keep], strict=True):
        c = build_crystal(s, shape="sphere", size_nm=ni * unit).without_lattice()
        truth += wi * debye_intensity(compute_histograms(c, route="all_pairs"), q, b_iso=TRUE_B)
    truth *= 2e5 / truth.max()
    truth += 300.0
    rng = np.random.default_rng(7)
    y = rng.poisson(truth).astype(float)
    return s, PatternData(q, y, np.sqrt(np.maximum(y, 1)), x_kind="q", path="simulated.xye")


def test_population_fit_recovers_sizes_and_adps(simulated) -> None:
    s, data = simulated
    model = Model(structure="PbS-rocksalt", shape="sphere", population=PopulationSpec(D=2.7, sD=0.22))
    settings = FitSettings(refine=("scale", "background", "adp", "size"), background_order=2)
    problem = prepare_fit(model, data, settings, structure=s)
    result = problem.run()
    p = {x.name: x for x in result.params}
    assert abs(p["D_nm"].value - TRUE_D) / TRUE_D < 0.03
    for el, b in TRUE_B.items():
        assert abs(p[f"B_{el}"].value - b) < 3 * p[f"B_{el}"].esd, (el, p[f"B_{el}"].value, p[f"B_{el}"].esd)
    assert 0.8 < result.gof < 1.5
    pop = population_summary(problem, result)[0]
    assert pop["mean_D_nm"] == pytest.approx(p["D_nm"].value)
    assert pop["grid"]["intensity_fraction_out"] < 1e-3


def test_fit_cancel_stops_promptly(simulated) -> None:
    s, data = simulated
    model = Model(structure="PbS-rocksalt", shape="sphere", population=PopulationSpec(D=2.7, sD=0.22))
    problem = prepare_fit(model, data, FitSettings(background_order=2), structure=s)
    state = {"t": None}

    def cancel() -> bool:
        if state["t"] is None:
            state["t"] = time.perf_counter()
        return time.perf_counter() - state["t"] > 0.02  # the fit itself now takes ~0.1-0.3 s

    with pytest.raises(Cancelled):
        problem.run(cancel=cancel)
    assert time.perf_counter() - state["t"] < 1.2
