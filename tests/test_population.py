"""Size distributions, grids and Table 2 statistics (SCIENCE.md section 4)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, stats

from nanotwin_core.errors import NanotwinError
from nanotwin_core.population import (
    BivariateLogNormal,
    LogNormal,
    Mixture,
    SizeGrid,
    choose_grid,
    choose_grid_1d,
    grid_statistics,
    grid_statistics_1d,
    mixture_statistics,
    prism_statistics,
    prism_statistics_quadrature,
    prism_steps_nm,
    sphere_statistics,
    tail_fractions,
)

# Table 2 of Bertolotti et al. 2017: <D_ab>, s_ab, <L_c>, s_c (nm, relative)
TABLE2 = {"Cl": (5.34, 0.60, 7.62, 0.45), "Br": (8.19, 0.24, 9.79, 0.20), "I": (9.86, 0.21, 8.01, 0.21)}
DEQ = {"Cl": (6.52, 0.41), "Br": (9.85, 0.17), "I": (10.43, 0.16)}
DEQ_SQUARE = {"Cl": 7.06, "Br": 10.67, "I": 11.31}
CELL_BR = (8.207, 8.255, 11.759)


def test_lognormal_parametrisation() -> None:
    d = LogNormal(5.0, 0.3)
    ref = stats.lognorm(s=d.s, scale=math.exp(d.mu))  # independent reference
    assert ref.mean() == pytest.approx(5.0) and ref.std() / ref.mean() == pytest.approx(0.3)
    x = np.array([1.0, 4.0, 9.0])
    assert np.allclose(d.pdf(x), ref.pdf(x)) and np.allclose(d.cdf(x), ref.cdf(x))
    assert np.allclose(d.ppf([0.1, 0.99]), ref.ppf([0.1, 0.99]))
    assert d.moment(3) == pytest.approx(ref.moment(3))
    assert d.mass(np.array([40.0]), np.array([np.inf]))[0] == pytest.approx(ref.sf(40.0), rel=1e-8)
    with pytest.raises(NanotwinError):
        LogNormal(-1, 0.2)


@pytest.mark.parametrize("halide", ["Cl", "Br", "I"])
def test_table2_d_eq(halide: str) -> None:
    dist = BivariateLogNormal(*TABLE2[halide])
    st = prism_statistics(dist)
    assert round(st.d_eq, 2) == DEQ[halide][0]
    assert round(st.s_eq, 2) == DEQ[halide][1]
    assert st.d_ab == pytest.approx(TABLE2[halide][0]) and st.s_c == pytest.approx(TABLE2[halide][3])
    assert st.aspect == pytest.approx(TABLE2[halide][2] / TABLE2[halide][0])
    # independent route: trapezoid rule over (ln D_ab, ln L_c) of the D_eq moments
    mu1, s1, mu2, s2 = dist.log_params()
    u = np.linspace(-10, 10, 1601)
    uu, vv = np.meshgrid(u, u, indexing="ij")
    dens = stats.norm.pdf(uu) * stats.norm.pdf(vv)
    d_eq = (1.5 * np.exp(2 * (mu1 + s1 * uu) + mu2 + s2 * vv)) ** (1 / 3)
    m1 = integrate.trapezoid(integrate.trapezoid(d_eq * dens, u), u)
    m2 = integrate.trapezoid(integrate.trapezoid(d_eq**2 * dens, u), u)
    assert m1 == pytest.approx(st.d_eq, rel=1e-8)
    assert math.sqrt(m2 / m1**2 - 1) == pytest.approx(st.s_eq, rel=1e-7)
    # a square base of edge D_ab (V = D^2 L) gives the larger, wrong numbers
    sq = (6 / math.pi) ** (1 / 3) * st.d_eq / 1.5 ** (1 / 3)
    assert round(sq, 2) == DEQ_SQUARE[halide]


def test_quadrature_and_weightings_agree() -> None:
    for corr in (0.0, 0.6):
        dist = BivariateLogNormal(5.34, 0.6, 7.62, 0.45, rho=corr)
        for w in ("number", "volume", "mass"):
            a = prism_statistics(dist, w).as_dict()
            b = prism_statistics_quadrature(dist, w).as_dict()
            for k in a:
                if k != "weighting":
                    assert a[k] == pytest.approx(b[k], rel=1e-7), (corr, w, k)
    v = prism_statistics(BivariateLogNormal(*TABLE2["Br"]), "volume")
    n = prism_statistics(BivariateLogNormal(*TABLE2["Br"]), "number")
    assert v.d_ab == pytest.approx(n.d_ab_vol) and v.d_ab > n.d_ab


def test_tail_holds_14_percent_of_volume() -> None:
    dist = BivariateLogNormal(*TABLE2["Cl"])
    n_out, v_out = tail_fractions(dist, 0.99)
    assert n_out == pytest.approx(0.0199)  # "2 % of crystals"
    assert v_out == pytest.approx(0.137, abs=0.001)  # "~14 % of the scattering volume"
    # check by Monte Carlo sampling of the number distribution
    rng = np.random.default_rng(1)
    d = rng.lognormal(dist.ab.mu, dist.ab.s, 2_000_000)
    ll = rng.lognormal(dist.c.mu, dist.c.s, 2_000_000)
    tail = (d > np.quantile(d, 0.99)) | (ll > np.quantile(ll, 0.99))
    vol = d**2 * ll
    assert tail.mean() == pytest.approx(n_out, abs=5e-4)
    assert vol[tail].sum() / vol.sum() == pytest.approx(v_out, abs=0.01)


def test_grid_weights_are_cell_masses() -> None:
    dist = BivariateLogNormal(*TABLE2["Br"])
    sab, sc = prism_steps_nm(CELL_BR)
    assert sab == pytest.approx(math.sqrt(4 * 8.207 * 8.255 / math.pi) / 10)
    g = SizeGrid(sab, sc, 3, 20, 2, 15)
    w = g.weights(dist)
    # in-grid mass from the marginal CDFs, independently with scipy
    rd = stats.lognorm(s=dist.ab.s, scale=math.exp(dist.ab.mu))
    rl = stats.lognorm(s=dist.c.s, scale=math.exp(dist.c.mu))
    mass = (rd.cdf(20.5 * sab) - rd.cdf(2.5 * sab)) * (rl.cdf(15.5 * sc) - rl.cdf(1.5 * sc))
    assert w.sum() == pytest.approx(mass, rel=1e-12)
    assert w[2, 3] == pytest.approx(
        (rd.cdf(5.5 * sab) - rd.cdf(4.5 * sab)) * (rl.cdf(5.5 * sc) - rl.cdf(4.5 * sc))
    )
    # correlated: Gauss-Legendre cell masses against scipy's bivariate normal CDF
    dc = BivariateLogNormal(*TABLE2["Br"], rho=0.5)
    wc = g.weights(dc)
    mvn = stats.multivariate_normal(
        [dc.ab.mu, dc.c.mu], [[dc.ab.s**2, 0.5 * dc.ab.s * dc.c.s], [0.5 * dc.ab.s * dc.c.s, dc.c.s**2]]
    )
    ref = mvn.cdf(
        [math.log(20.5 * sab), math.log(15.5 * sc)], lower_limit=[math.log(2.5 * sab), math.log(1.5 * sc)]
    )
    assert wc.sum() == pytest.approx(ref, rel=1e-5)
    assert g.atoms().shape == g.shape and g.cells()[0, 0] == 9 * 2


@pytest.mark.parametrize("halide", ["Cl", "Br", "I"])
def test_choose_grid_cuts_by_intensity(halide: str) -> None:
    dist = BivariateLogNormal(*TABLE2[halide])
    ch = choose_grid(dist, CELL_BR, atoms_per_cell=20, tol=1e-3)
    g = ch.grid
    assert 0 <= ch.intensity_fraction_out < 1e-3
    # independent check: the intensity weight (number x n_ab^2 n_c) on a very wide grid
    wide = SizeGrid(g.step_ab, g.step_c, 1, 400, 1, 400)
    iw = wide.weights(dist) * wide.cells()
    inside = iw[g.nab_min - 1 : g.nab_max, g.nc_min - 1 : g.nc_max].sum()
    assert 1 - inside / iw.sum() == pytest.approx(ch.intensity_fraction_out, abs=1e-9)
    # cutting by number at the same level would leave far more intensity out
    nw = wide.weights(dist)
    assert ch.number_fraction_in == pytest.approx(
        nw[g.nab_min - 1 : g.nab_max, g.nc_min - 1 : g.nc_max].sum()
    )


def test_grid_statistics_converge() -> None:
    dist = BivariateLogNormal(*TABLE2["Br"])
    exact = prism_statistics(dist)
    errs = []
    for f in (1.0, 0.25, 0.0625):
        g = SizeGrid(0.93 * f, 1.18 * f, 1, int(40 / f), 1, int(40 / f))
        st = grid_statistics(g, g.weights(dist))
        errs.append(
            abs(st.d_eq / exact.d_eq - 1)
            + abs(st.s_eq / exact.s_eq - 1)
            + abs(st.d_ab_vol / exact.d_ab_vol - 1)
        )
    assert errs[0] > errs[1] > errs[2] and errs[2] < 1e-4
    # volume weighting on the grid too
    g = SizeGrid(0.05, 0.05, 1, 800, 1, 800)
    sv = grid_statistics(g, g.weights(dist), "volume")
    assert sv.d_ab == pytest.approx(prism_statistics(dist, "volume").d_ab, rel=1e-4)


def test_spheres_and_mixture() -> None:
    d = LogNormal(5.0, 0.2)
    ch = choose_grid_1d(d, 0.5934, atoms_per_unit=8, tol=1e-3)
    assert ch.intensity_fraction_out < 1e-3
    st = sphere_statistics(d)
    assert st.mean == pytest.approx(5.0) and st.mean_vol == pytest.approx(d.moment(4) / d.moment(3))
    from nanotwin_core.population import SizeGrid1D

    fine = SizeGrid1D(0.01, 1, 3000)
    sg = grid_statistics_1d(fine, fine.weights(d))
    assert sg.mean == pytest.approx(5.0, rel=1e-5) and sg.rel_sigma == pytest.approx(0.2, rel=1e-4)
    mix = Mixture()
    mix.add("twinned", BivariateLogNormal(*TABLE2["Br"]), 3.0)
    mix.add("untwinned", BivariateLogNormal(*TABLE2["Br"]), 1.0)
    assert np.allclose(mix.fractions, [0.75, 0.25])
    rows = mixture_statistics(mix, "volume")
    assert [r[0] for r in rows] == ["twinned", "untwinned"] and rows[0][1] == pytest.approx(0.75)


def test_population_pattern_weights_and_cache() -> None:
    from nanotwin_core.population import PopulationPattern

    q = np.linspace(1.0, 3.0, 201)
    calls: list[tuple[int, ...]] = []

    def crystal(point: tuple[int, ...]) -> np.ndarray:  # a toy whole-crystal pattern
        calls.append(point)
        n_ab, n_c = point
        return n_ab**2 * n_c * np.exp(-0.5 * ((q - 2.0) * n_ab) ** 2)

    g = SizeGrid(0.93, 1.18, 2, 14, 2, 12)
    pop = PopulationPattern(g, crystal, min_weight=0.0)
    d1 = BivariateLogNormal(*TABLE2["Br"])
    w = g.weights(d1)
    direct = (
        sum(w[i, j] * crystal((a, c)) for i, a in enumerate(g.n_ab) for j, c in enumerate(g.n_c)) / w.sum()
    )
    calls.clear()
    assert np.allclose(pop(d1), direct)
    n_first = len(calls)
    assert n_first == g.shape[0] * g.shape[1]
    pop(BivariateLogNormal(7.0, 0.3, 9.0, 0.25))  # new sizes re-weight cached crystals
    assert len(calls) == n_first
