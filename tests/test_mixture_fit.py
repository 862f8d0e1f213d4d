"""Mixtures of populations: twinned vs untwinned by GoF, fractions, twin states, esds vs scatter."""

from __future__ import annotations

import numpy as np
import pytest

from nanotwin_core.builder import build_crystal
from nanotwin_core.builder.shape_kinds import get_shape
from nanotwin_core.errors import NanotwinError
from nanotwin_core.io.data import PatternData
from nanotwin_core.model import ComponentSpec, Model, PopulationSpec, read_model_toml, write_model_toml
from nanotwin_core.population.distributions import LogNormal
from nanotwin_core.refine.dse_fit import (
    FitSettings,
    mixture_summary,
    population_summary,
    prepare_fit,
    twin_states,
)
from nanotwin_core.refine.size_database import build_size_database
from nanotwin_core.scattering import compute_histograms, debye_intensity
from nanotwin_core.structures.library import get_structure

LAWS = ["1/2<110>{110}", "1/2<110>{001}", "1/2<001>{110}"]
EDGE_NM = 5.5
B_TRUE = {"Pb": 1.5, "Cs": 2.5, "X_ax": 2.0, "X_eq": 2.0}
Q = np.arange(1.0, 6.0, 0.004)


@pytest.fixture(scope="module")
def gamma():
    """Noise-free patterns of one 5.5 nm CsPbBr3-gamma prism: twinned (mixed-coset network,
    domain size 2 nm, seeds 1-8 averaged) and untwinned, electrons^2 per crystal on ``Q``."""
    s = get_structure("CsPbBr3-gamma")
    units, _ = get_shape("prism").grid_units(s)
    n = [(round(EDGE_NM / units[0]), round(EDGE_NM / units[1]))]
    tw = build_size_database(s, "prism", n, units, (0.9, 6.1), twins=tuple(LAWS), domain_size_nm=2.0,
                             seeds=tuple(range(1, 9)))
    un = build_size_database(s, "prism", n, units, (0.9, 6.1))
    return s, tw.intensity(np.ones(1), Q, b_iso=B_TRUE), un.intensity(np.ones(1), Q, b_iso=B_TRUE)


def _noisy(curve: np.ndarray, seed: int, peak: float = 2e5) -> PatternData:
    truth = curve * peak / curve.max() + 500.0
    y = np.random.default_rng(seed).poisson(truth).astype(float)
    return PatternData(Q, y, np.sqrt(np.maximum(y, 1)), x_kind="q", path="simulated.xye")


def _gamma_model(**kw) -> Model:
    return Model(structure="CsPbBr3-gamma", shape="prism", size_ab_nm=EDGE_NM, size_c_nm=EDGE_NM, **kw)


def test_twinned_model_beats_untwinned_by_gof(gamma) -> None:
    """Truth twinned (seeds 1-8); models twinned (same laws, seeds 9-16) and untwinned, both refining
    scale, background and B per ADP group. Measured: GoF 3.05(3) vs 19.01(3), gap 15.96 +- 0.02."""
    s, i_tw, _ = gamma
    settings = FitSettings(refine=("scale", "background", "adp"), background_order=3)
    d0 = _noisy(i_tw, 0)
    twinned = prepare_fit(_gamma_model(twins=LAWS, domain_size_nm=2.0, seeds=list(range(9, 17))), d0,
                          settings, structure=s)
    untwinned = prepare_fit(_gamma_model(), d0, settings, structure=s)
    gofs = []
    for k in range(10):
        data = _noisy(i_tw, 100 + k)
        rt, ru = twinned.with_data(data).run(), untwinned.with_data(data).run()
        assert rt.n_params == ru.n_params
        gofs.append((rt.gof, ru.gof))
    g = np.array(gofs)
    gap = g[:, 1] - g[:, 0]
    assert gap.mean() > 3 * gap.std(ddof=1), g
    assert np.all(gap > 0)


def test_mixture_recovers_known_fraction(gamma) -> None:
    """30 % twinned / 70 % untwinned crystals (number); the twinned component uses the truth's seeds
    (no model error). Measured: 0.3029(15) on draw 200."""
    s, i_tw, i_un = gamma
    data = _noisy(0.3 * i_tw + 0.7 * i_un, 200)
    model = _gamma_model(components=[
        ComponentSpec("twinned", 0.5, twins=LAWS, domain_size_nm=2.0, seeds=list(range(1, 9))),
        ComponentSpec("untwinned", 0.5, twins=[]),
    ])
    problem = prepare_fit(model, data, FitSettings(refine=("scale", "background", "adp", "fractions"),
                                                   background_order=3), structure=s)
    result = problem.run()
    mix = mixture_summary(problem, result)
    x, e = mix["number_fractions"][0], mix["esd"]["number_fractions"][0]
    assert e is not None and 0 < e < 0.02
    assert abs(x - 0.3) < 3 * e, (x, e)
    assert sum(mix["number_fractions"]) == pytest.approx(1.0)
    # same sizes and composition: mass fractions equal number fractions
    assert mix["mass_fractions"][0] == pytest.approx(x, rel=1e-6)
    pops = population_summary(problem, result)
    assert [p["name"] for p in pops] == ["twinned", "untwinned"]
    assert pops[0]["fraction"] == pytest.approx(x) and pops[0]["esd"]["fraction"] == pytest.approx(e)
    assert 0.8 < result.gof < 1.3
    # without --refine fractions: one common scale, fractions fixed at the model's 50/50
    fixed = prepare_fit(model, data, FitSettings(refine=("scale", "background", "adp"), background_order=3),
                        structure=s)
    rf = fixed.run()
    assert "scale" in rf.linear_names and rf.gof > result.gof
    assert mixture_summary(fixed, rf)["esd"]["number_fractions"] == [None, None]


def test_twin_states_report_mean_domain_size(gamma) -> None:
    """--refine twin: states of 6, 3, 2 nm domains + untwinned. Truth: 2 nm domains averaged over
    seeds 1-8; the states average seeds 9-16 (other boundary networks, as real crystals are)."""
    s, i_tw, i_un = gamma
    data = _noisy(0.6 * i_tw + 0.4 * i_un, 300)
    states = twin_states(LAWS, (6.0, 3.0, 2.0), range(9, 17))
    assert [c.name for c in states] == ["d6nm", "d3nm", "d2nm", "untwinned"]
    problem = prepare_fit(_gamma_model(components=states), data,
                          FitSettings(refine=("scale", "background", "adp", "twin"), background_order=3),
                          structure=s)
    result = problem.run()
    mix = mixture_summary(problem, result)
    # Measured (the gap-model networks of issue 13): twinned fraction 0.63, mean domain size
    # 2.83(5) nm, GoF 1.20; number fractions d6nm 0.08, d3nm 0.21, d2nm 0.34, untwinned 0.37
    # (with the earlier Poisson networks: 0.681(6), 2.48(9) nm). The esds are statistical: other
    # network realisations than the truth's (an honest model error) shift the fraction and the
    # domain size by up to 0.8 nm, far beyond them. The fit still puts most twinned crystals in
    # the 2 nm state; --refine twin_density with --ensemble has no such realisation error.
    fractions = dict(zip(mix["names"], mix["number_fractions"], strict=True))
    assert max(("d6nm", "d3nm", "d2nm"), key=fractions.get) == "d2nm"
    assert mix["twinned_fraction"] == pytest.approx(0.6, abs=0.12)
    d, e = mix["mean_domain_size_nm"], mix["esd"]["mean_domain_size_nm"]
    # states stuck at 0 carry no esd (at a bound): the esd may then be 0
    assert e is not None and e >= 0
    assert 1.7 < d < 3.0, (d, e)
    assert result.gof < 2.5
    assert any("mean twin-domain size" in m for m in result.messages)


def test_components_toml_round_trip(tmp_path) -> None:
    m = _gamma_model(components=[
        ComponentSpec("tw", 0.3, twins=LAWS, domain_size_nm=2.0, seeds=[1, 2]),
        ComponentSpec("un", 0.7, twins=[], population=PopulationSpec(Dab=5.0, sab=0.2, Lc=5.0, sc=0.2)),
    ]).validate()
    path = write_model_toml(m, tmp_path / "mix.toml")
    assert "[[component]]" in path.read_text()
    assert read_model_toml(path) == m
    assert Model.from_dict(m.to_dict()) == m
    with pytest.raises(NanotwinError):
        _gamma_model(components=[ComponentSpec("a"), ComponentSpec("a")]).validate()


def test_refine_names_accepted() -> None:
    assert FitSettings(refine=("scale", "fractions")).fractions_refined
    assert FitSettings(refine=("scale", "twin")).fractions_refined
    assert not FitSettings().fractions_refined


# ---------------------------------------------------------------- esds against scatter (PbS)
TRUE_D, TRUE_SD = 3.0, 0.15
TRUE_B = {"Pb": 1.3, "S": 0.9}


@pytest.fixture(scope="module")
def pbs():
    """Noise-free PbS sphere population of tests/test_dse_fit.py (all-pairs route) and a prepared fit."""
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
    truth = truth * 2e5 / truth.max() + 300.0

    def draw(seed: int, sigma_factor: float = 1.0) -> PatternData:
        y = np.random.default_rng(seed).poisson(truth).astype(float)
        return PatternData(q, y, sigma_factor * np.sqrt(np.maximum(y, 1)), x_kind="q", path="sim.xye")

    model = Model(structure="PbS-rocksalt", shape="sphere", population=PopulationSpec(D=2.7, sD=0.22))
    settings = FitSettings(refine=("scale", "background", "adp", "size"), background_order=2)
    return prepare_fit(model, draw(7), settings, structure=s), draw


def test_doubling_sigma_keeps_esds_halves_gof(pbs) -> None:
    problem, draw = pbs
    r1 = problem.with_data(draw(7)).run()
    r2 = problem.with_data(draw(7, 2.0)).run()
    assert r2.gof == pytest.approx(r1.gof / 2, rel=1e-3)
    for name in ("D_nm", "sD", "B_Pb", "B_S"):
        e1, e2 = r1.esds[name], r2.esds[name]
        assert abs(e2 / e1 - 1) < 0.1, (name, e1, e2)


def test_esds_match_scatter_of_noise_realisations(pbs) -> None:
    """20 Poisson draws: std of D_nm, B_Pb, B_S over the draws vs the mean esd, within 1.5x.
    Measured ratios: D_nm 0.81, sD 0.83, B_Pb 0.73, B_S 1.00 (about 2 s, not marked slow)."""
    problem, draw = pbs
    vals, esds = {n: [] for n in ("D_nm", "B_Pb", "B_S")}, {n: [] for n in ("D_nm", "B_Pb", "B_S")}
    for k in range(20):
        r = problem.with_data(draw(1000 + k)).run()
        for n in vals:
            vals[n].append(r.values[n])
            esds[n].append(r.esds[n])
    for n in vals:
        ratio = np.std(vals[n], ddof=1) / np.mean(esds[n])
        assert 1 / 1.5 < ratio < 1.5, (n, ratio)
