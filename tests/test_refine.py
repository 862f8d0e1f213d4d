"""Variable projection, esds, instrument function, background, reports, cancel, PDF helpers."""

from __future__ import annotations

import json
import math
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import require_data
from numpy.polynomial import chebyshev
from scipy import optimize

from nanotwin_core.errors import Cancelled, NanotwinError
from nanotwin_core.io.data import PatternData, PDFData, read_pattern
from nanotwin_core.refine import (
    InstrumentProfile,
    ParameterSet,
    Refinement,
    blank_on_grid,
    caglioti_fwhm,
    capillary_transmission,
    chebyshev_basis,
    convolution_matrix,
    fit,
    format_esd,
    markdown_report,
    pdf_rw,
    polarization,
    pseudo_voigt,
    range_resolved,
    result_json,
    solve_linear,
    tch_fwhm_eta,
)
from nanotwin_core.refine.instrument import _cell_widths, kalpha2_positions

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"

# ---------------------------------------------------------------------------------------------
# a synthetic problem: two Gaussian peaks (positions, common width nonlinear), scales >= 0,
# cubic Chebyshev background
X = np.linspace(10, 60, 1001)
CHEB = chebyshev_basis(X, 3)
TRUE_NL = {"p1": 25.0, "p2": 40.0, "w": 0.8}
TRUE_LIN = np.array([800.0, 500.0, 200.0, -40.0, 15.0, 5.0])
LIN = ["s1", "s2", "b0", "b1", "b2", "b3"]
NONNEG = [True, True, False, False, False, False]
ALL = ["p1", "p2", "w", *LIN]


def _peaks(p1: float, p2: float, w: float) -> np.ndarray:
    return np.column_stack([np.exp(-0.5 * ((X - p1) / w) ** 2), np.exp(-0.5 * ((X - p2) / w) ** 2)])


def basis(v: dict[str, float]) -> np.ndarray:
    return np.column_stack([_peaks(v["p1"], v["p2"], v["w"]), CHEB])


def truth() -> np.ndarray:
    return basis(TRUE_NL) @ TRUE_LIN


def start_params() -> ParameterSet:
    ps = ParameterSet()
    ps.add("p1", 24.7, True, 20, 30)
    ps.add("p2", 40.3, True, 35, 45)
    ps.add("w", 1.0, True, 0.1, 3)
    return ps


def noisy(seed: int, sigma_from_data: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Poisson counts; sigma = sqrt(max(y, 1)) or the true sqrt(expectation).

    Weights 1/y from the data bias a flat background low by about one count (Neyman's chi^2),
    which is ~2 esd of b0 here: the recovery test uses the true variance.
    """
    mu = truth()
    y = np.random.default_rng(seed).poisson(mu).astype(float)
    return y, (np.sqrt(np.maximum(y, 1.0)) if sigma_from_data else np.sqrt(mu))


def test_varpro_matches_brute_force() -> None:
    y, s = noisy(0)
    r = fit(basis, start_params(), y, s, LIN, NONNEG)
    assert r.success and r.n_params == 9 and r.n_points == X.size

    def res(p: np.ndarray) -> np.ndarray:  # every parameter nonlinear, written independently
        model = np.column_stack([_peaks(*p[:3]), CHEB]) @ p[3:]
        return (y - model) / s

    p0 = np.r_[24.7, 40.3, 1.0, 700, 600, 150, 0, 0, 0]
    b = optimize.least_squares(res, p0, x_scale="jac", ftol=1e-15, xtol=1e-15, gtol=1e-15, method="lm")
    got = np.array([r.values[n] for n in ALL])
    assert np.allclose(got, b.x, rtol=1e-6, atol=0)
    # esds against the brute-force Jacobian's covariance
    cov = np.linalg.inv(b.jac.T @ b.jac) * (2 * b.cost) / (y.size - 9)
    esd = np.array([r.esds[n] for n in ALL])
    assert np.allclose(esd, np.sqrt(np.diag(cov)), rtol=1e-3)
    chi2 = float(np.sum(((y - r.y_calc) / s) ** 2))
    assert r.chi2 == pytest.approx(chi2)
    assert r.rwp == pytest.approx(math.sqrt(chi2 / np.sum((y / s) ** 2)))
    assert r.rexp == pytest.approx(math.sqrt((y.size - 9) / np.sum((y / s) ** 2)))
    assert r.gof == pytest.approx(r.rwp / r.rexp)
    assert r.correlation is not None and np.allclose(np.diag(r.correlation), 1.0)


def _monte_carlo(base: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    est, esds = [], []
    for seed in range(n):
        y, s = noisy(base + seed, sigma_from_data=False)
        r = fit(basis, start_params(), y, s, LIN, NONNEG)
        est.append([r.values[k] for k in ALL])
        esds.append([r.esds[k] for k in ALL])
        assert 0.8 < r.gof < 1.2
    return np.array(est), np.array(esds)


def test_recovery_and_esd_scatter() -> None:
    # 20 realisations (the scatter of a 20-sample std is itself ~16 %: factor 1.5 is ~2.5 sigma)
    est, esd = _monte_carlo(200, 20)
    truth_v = np.array([*TRUE_NL.values(), *TRUE_LIN])
    z = np.abs(est - truth_v) / esd
    assert np.mean(z < 3) >= 0.98 and np.all(z < 4), z.max()
    ratio = est.std(axis=0, ddof=1) / esd.mean(axis=0)
    assert np.all((ratio > 1 / 1.5) & (ratio < 1.5)), ratio


@pytest.mark.slow
def test_esd_scatter_400() -> None:
    # measured: scatter/esd 0.96-1.03 for all 9 parameters, |bias| < 0.07 esd
    est, esd = _monte_carlo(1000, 400)
    ratio = est.std(axis=0, ddof=1) / esd.mean(axis=0)
    assert np.all(np.abs(ratio - 1) < 0.1), ratio
    truth_v = np.array([*TRUE_NL.values(), *TRUE_LIN])
    assert np.all(np.abs(est.mean(axis=0) - truth_v) < 0.2 * esd.mean(axis=0))


def test_doubling_sigma() -> None:
    y, s = noisy(7)
    r1 = fit(basis, start_params(), y, s, LIN, NONNEG)
    r2 = fit(basis, start_params(), y, 2 * s, LIN, NONNEG)
    for n in ALL:
        assert r2.esds[n] == pytest.approx(r1.esds[n], rel=0.1)
    assert r2.gof == pytest.approx(r1.gof / 2, rel=1e-6)
    assert r2.rwp == pytest.approx(r1.rwp, rel=1e-6)


def test_bounds_constraints_fixed_linear() -> None:
    y, s = noisy(3)

    def basis3(v: dict[str, float]) -> np.ndarray:  # a third peak, negative in the data
        third = np.exp(-0.5 * ((X - 50.0) / v["w"]) ** 2)
        return np.column_stack([basis(v), third])

    ps = start_params()
    ps.add("p2b", 40.0, True, 35, 45)
    ps.constrain("p2", "p2b")  # p2 follows p2b
    ps.add("b3", 5.0)  # linear term held at its value
    ps["w"].max = 0.7  # the true width (0.8) is outside: w sticks at the bound
    ps["w"].value = 0.6
    r = fit(basis3, ps, y - 60.0 * np.exp(-0.5 * ((X - 50.0) / 0.8) ** 2), s, [*LIN, "s3"], [*NONNEG, True])
    assert r.params["w"].at_bound == "max" and r.params["w"].esd is None
    assert r.params["p2"].value == r.params["p2b"].value and r.params["p2"].esd == r.params["p2b"].esd
    assert r.params["b3"].value == 5.0 and not r.params["b3"].is_free
    s3 = r.params["s3"]
    assert s3.value == 0.0 and s3.at_bound == "min" and s3.esd is None  # a dip: scale pinned at 0
    # P counts every refined parameter: p1, p2b, w, s1, s2, b0, b1, b2, s3
    assert r.n_params == 9
    md = markdown_report(r, "test")
    assert "at max bound" in md and "= p2b" in md and "fixed" in md
    js = result_json(r, populations=[{"name": "a", "Dab_nm": 8.19, "Lc_nm": 9.79, "D_eq_nm": 9.85}])
    json.dumps(js)
    assert set(js) >= {
        "gof",
        "rwp",
        "rexp",
        "n_points",
        "n_params",
        "sigma_source",
        "parameters",
        "population",
    }
    assert js["parameters"]["w"]["refined"] is True and js["parameters"]["b3"]["refined"] is False
    assert js["population"]["mean_D_nm"] == 8.19


def test_solve_linear_nonneg() -> None:
    rng = np.random.default_rng(0)
    a = rng.random((50, 3))
    y = a @ np.array([1.0, -0.5, 2.0])
    c = solve_linear(a, y, np.ones(50), [True, True, False])
    ref = optimize.lsq_linear(a, y, bounds=([0, 0, -np.inf], np.inf), method="bvls").x
    assert np.allclose(c, ref, atol=1e-10) and c[1] == 0.0
    c2 = solve_linear(a, y, np.ones(50), [False] * 3)
    assert np.allclose(c2, [1.0, -0.5, 2.0])


def test_global_start_grid() -> None:
    y, s = noisy(5)
    ps = start_params()
    ps["p1"].value = 21.0  # far away: a local fit alone would not find the peak
    ref = Refinement(basis, ps, y, s, LIN, NONNEG)
    best = ref.global_start({"p1": np.arange(20.5, 30, 0.5)})
    assert abs(best["p1"] - 25.0) <= 0.5
    r = ref.run()
    assert r.values["p1"] == pytest.approx(25.0, abs=0.05)


def test_callback_and_cancel() -> None:
    y, s = noisy(1)
    seen: list[float] = []
    fit(basis, start_params(), y, s, LIN, NONNEG, callback=lambda v, rwp: seen.append(rwp))
    assert len(seen) >= 2 and seen[-1] <= seen[0]

    def slow(v: dict[str, float]) -> np.ndarray:
        time.sleep(0.02)
        return basis(v)

    stop = threading.Event()
    timer = threading.Timer(0.3, stop.set)
    t0 = time.monotonic()
    timer.start()
    with pytest.raises(Cancelled):
        fit(slow, start_params(), y, s, LIN, NONNEG, cancel=stop, max_nfev=100000)
    assert time.monotonic() - t0 < 1.3
    timer.cancel()
    with pytest.raises(Cancelled):  # a plain callable works too
        fit(basis, start_params(), y, s, LIN, NONNEG, cancel=lambda: True)


def test_bad_model_shape() -> None:
    y, s = noisy(1)
    with pytest.raises(NanotwinError, match="shape"):
        fit(lambda v: basis(v)[:, :3], start_params(), y, s, LIN, NONNEG)


# ---------------------------------------------------------------------------------------------
def test_format_esd() -> None:
    assert format_esd(2.987, 0.034) == "2.99(3)"
    assert format_esd(2.9876, 0.0153) == "2.988(15)"
    assert format_esd(12.3456, 0.19) == "12.35(19)"
    assert format_esd(12.3456, 0.2) == "12.3(2)"
    assert format_esd(1234.5, 23) == "1230(20)"
    assert format_esd(1234.5, 1.5) == "1234.5(15)"
    assert format_esd(0.5, 0.0999) == "0.50(10)"
    assert format_esd(3.0, None) == "3"


# ---------------------------------------------------------------------------------------------
# instrument
def test_polarization_limits() -> None:
    t = np.linspace(0, 150, 31)
    assert np.allclose(polarization(t, 1.0), 1.0)
    assert np.allclose(polarization(t, 0.5), (1 + np.cos(np.radians(t)) ** 2) / 2)
    assert polarization(np.array([90.0]), 0.95)[0] == pytest.approx(0.95)


def test_caglioti_and_tch() -> None:
    t = np.array([20.0, 60.0])
    tan = np.tan(np.radians(t / 2))
    assert np.allclose(caglioti_fwhm(t, 0.02, -0.01, 0.005) ** 2, 0.02 * tan**2 - 0.01 * tan + 0.005)
    f, eta = tch_fwhm_eta(np.array([0.1, 0.1, 0.0]), np.array([0.0, 0.1, 0.1]))
    assert f[0] == pytest.approx(0.1) and eta[0] == pytest.approx(0.0, abs=1e-12)
    assert f[2] == pytest.approx(0.1) and eta[2] == pytest.approx(1.0, abs=1e-3)
    assert 0.1 < f[1] < 0.2 and 0 < eta[1] < 1
    dx = np.linspace(-50, 50, 200001)
    assert np.trapezoid(pseudo_voigt(dx, 0.3, 0.0), dx) == pytest.approx(1.0, rel=1e-9)
    assert np.max(pseudo_voigt(dx, 0.3, 0.0)) == pytest.approx(
        2 * pseudo_voigt(np.array([0.15]), 0.3, 0.0)[0], rel=1e-4
    )


def _nonuniform_grid() -> np.ndarray:
    rng = np.random.default_rng(2)
    x = np.cumsum(0.004 + 0.016 * rng.random(3000)) + 10.0
    return x[x < 40]


def test_convolution_conserves_area_and_matches_brute_force() -> None:
    x = _nonuniform_grid()
    dx = _cell_widths(x)
    y = np.exp(-0.5 * ((x - 28.0) / 0.01) ** 2) + 0.5 * np.exp(-0.5 * ((x - 20.0) / 0.02) ** 2)
    ip = InstrumentProfile(u=0.02, v=-0.01, w=0.01, eta=0.3, cutoff=20)
    out = ip.matrix(x) @ y
    assert np.sum(out * dx) == pytest.approx(np.sum(y * dx), rel=1e-10)
    # brute force: every source point spread with the untruncated profile, dense O(n^2)
    fwhm, eta = ip.fwhm_eta(x)
    brute = np.zeros_like(x)
    for j in np.flatnonzero(y > 1e-12):
        brute += pseudo_voigt(x - x[j], fwhm[j], eta[j]) * y[j] * dx[j]
    wide = convolution_matrix(x, fwhm, eta, cutoff=200) @ y
    assert np.max(np.abs(wide - brute)) < 2e-3 * brute.max()
    assert np.max(np.abs(out - brute)) < 1e-2 * brute.max()


def test_kalpha2_and_zero() -> None:
    x = np.arange(20, 60, 0.002)
    dx = _cell_widths(x)
    lam1, lam2 = 1.540593, 1.54439
    q0 = 4 * np.pi * np.sin(np.radians(40.0) / 2) / lam1

    def model(t: np.ndarray) -> np.ndarray:  # a sharp line at fixed Q
        q = 4 * np.pi * np.sin(np.radians(t) / 2) / lam1
        return np.exp(-0.5 * ((q - q0) / 2e-4) ** 2)

    ip = InstrumentProfile(w=0.0004, eta=0.0, kalpha2=True, zero=0.05)
    t_true = ip.model_grid(x)
    out = ip.apply(x, model(t_true))
    area1 = np.sum(model(t_true) * dx)
    assert np.sum(out * dx) == pytest.approx(1.5 * area1, rel=2e-3)
    tth2 = 2 * np.degrees(np.arcsin(q0 * lam2 / (4 * np.pi)))
    win = (x > tth2 + 0.02) & (x < tth2 + 0.2)
    peak2 = x[win][np.argmax(out[win])]
    assert peak2 == pytest.approx(tth2 + 0.05, abs=0.004)
    peak1 = x[np.argmax(out)]
    assert peak1 == pytest.approx(40.05, abs=0.004)
    t1, jac = kalpha2_positions(np.array([tth2]), lam1, lam2)
    assert t1[0] == pytest.approx(40.0, abs=1e-9) and 0.99 < jac[0] < 1.0


def test_capillary_transmission() -> None:
    t = np.array([0.0, 45.0, 90.0, 135.0, 180.0])
    exact = capillary_transmission(t, 0.5)
    # Monte Carlo of the same integral as an independent check
    rng = np.random.default_rng(0)
    pts = rng.uniform(-1, 1, (400000, 2))
    pts = pts[np.sum(pts**2, axis=1) < 1]
    lin = pts[:, 0] + np.sqrt(1 - pts[:, 1] ** 2)
    for k, tt in enumerate(np.radians(t)):
        d = np.array([math.cos(tt), math.sin(tt)])
        pd = pts @ d
        lout = -pd + np.sqrt(pd**2 - (np.sum(pts**2, axis=1) - 1))
        assert exact[k] == pytest.approx(np.mean(np.exp(-0.5 * (lin + lout))), rel=2e-3)
    assert np.all(np.diff(exact) > 0)  # back-scattering is absorbed least
    for mur in (0.1, 0.5, 1.0):  # Hewat (1979) approximation within 2 % for muR <= 1
        assert np.allclose(capillary_transmission(t, mur, "hewat"), capillary_transmission(t, mur), rtol=0.02)
    # first order at 2theta = 0: A = 1 - (16 / 3 pi) muR (mean chord length through a disk)
    slope = (1 - capillary_transmission(np.array([0.0]), 1e-4)[0]) / 1e-4
    assert slope == pytest.approx(16 / (3 * math.pi), rel=1e-3)
    assert np.all(capillary_transmission(t, 0.0) == 1.0)


# ---------------------------------------------------------------------------------------------
# background
def test_chebyshev_basis() -> None:
    x = np.linspace(5, 25, 41)
    b = chebyshev_basis(x, 4)
    t = (x - 15) / 10
    for k in range(5):
        assert np.allclose(b[:, k], chebyshev.chebval(t, [0] * k + [1]))
    assert np.allclose(b[:, 2], 2 * t**2 - 1)


def test_blank_on_grid(tmp_path: Path) -> None:
    blank = PatternData(np.linspace(1, 10, 91), np.linspace(1, 10, 91) ** 2, x_kind="tth", wavelength=1.0)
    x = np.linspace(2, 9, 15)
    assert np.allclose(blank_on_grid(blank, x, "tth"), x**2, atol=0.01)
    with pytest.raises(NanotwinError, match="covers"):
        blank_on_grid(blank, np.linspace(0.5, 9, 5), "tth")
    q = np.linspace(0.3, 0.8, 5)  # Q data against a 2theta blank: goes through Q
    tth = 2 * np.degrees(np.arcsin(q / (4 * np.pi)))
    assert np.allclose(blank_on_grid(blank, q, "q"), tth**2, rtol=1e-3)


def test_blank_real_solvent() -> None:
    syn = require_data(SHARED_DATA) / "waxts_pbs_qd/synchrotron"
    data = read_pattern(syn / "PbS_synchr_wl0p564162A_5p03nm_toluene.xye", wavelength=0.564162).restricted(
        1.0, 6.0
    )
    blank = read_pattern(syn / "solvent_Toluene.xye", wavelength=0.564162)
    b = blank_on_grid(blank, data.x, "tth", 0.564162)
    # scale + quadratic background + blank fitted linearly: positive blank scale
    a = np.column_stack([b, chebyshev_basis(data.x, 2)])
    c = solve_linear(a, data.y, 1 / data.sigma, [True, False, False, False])
    assert c[0] > 0
    r = fit(
        lambda v: a,
        ParameterSet(),
        data.y,
        data.sigma,
        ["blank", "c0", "c1", "c2"],
        [True, False, False, False],
    )
    assert r.params["blank"].esd is not None and r.values["blank"] == pytest.approx(c[0], rel=1e-9)


# ---------------------------------------------------------------------------------------------
# PDF
def test_pdf_rw_and_range_resolved() -> None:
    r = np.arange(0.0, 40.0, 0.01)
    g = np.sin(2.5 * r) * np.exp(-r / 15.0)
    g2 = np.where(r < 20, g, 0.8 * np.sin(2.45 * r) * np.exp(-r / 15.0))
    assert pdf_rw(r, g, g) == 0.0
    assert pdf_rw(r, g, 0 * g, 1, 20) == pytest.approx(1.0)
    sel = (r >= 1) & (r <= 20)
    d = g[sel] - 0.9 * g[sel]
    assert pdf_rw(r, g, 0.9 * g, 1, 20) == pytest.approx(math.sqrt(np.sum(d * d) / np.sum(g[sel] ** 2)))
    data = PDFData(r, g2)

    def make_basis(rr: np.ndarray):  # the model callable receives the range's r points
        return lambda v: (np.sin(v["k"] * rr) * np.exp(-rr / 15.0))[:, None]

    def make_params() -> ParameterSet:
        ps = ParameterSet()
        ps.add("k", 2.48, True, 2.3, 2.6)
        return ps

    fits = range_resolved(data, [(1.5, 19.99), (20.0, 39.0)], make_basis, make_params, ["scale"])
    assert fits[0].result.values["k"] == pytest.approx(2.5, abs=1e-6)
    assert fits[1].result.values["k"] == pytest.approx(2.45, abs=1e-6)
    assert fits[1].result.values["scale"] == pytest.approx(0.8, rel=1e-6)
    assert fits[0].rw < 1e-6 and fits[0].result.sigma_source == "unit_weights"


def test_size_refinement_through_population_pattern() -> None:
    """A 1D log-normal population of toy crystals: <D> and sD refined, scale and background linear."""
    from nanotwin_core.population import LogNormal, PopulationPattern, SizeGrid1D, choose_grid_1d

    q = np.linspace(1.0, 4.0, 600)

    def crystal(point: tuple[int, ...]) -> np.ndarray:  # peak width ~ 2 pi / size, area ~ atoms
        d = point[0] * 0.5
        return point[0] ** 3 * d * np.exp(-0.5 * ((q - 2.5) * d / 2.0) ** 2)

    true = LogNormal(5.0, 0.25)
    grid = choose_grid_1d(LogNormal(5.0, 0.4), 0.5, tol=1e-4).grid
    assert isinstance(grid, SizeGrid1D)
    pop = PopulationPattern(grid, crystal)
    bg = chebyshev_basis(q, 1)
    y_true = 1e-3 * pop(true) + bg @ np.array([50.0, 5.0])
    y = np.random.default_rng(4).poisson(y_true).astype(float)
    ps = ParameterSet()
    ps.add("D_nm", 4.0, True, 2.0, 8.0)
    ps.add("sD", 0.35, True, 0.05, 0.6)

    def basis_fn(v: dict[str, float]) -> np.ndarray:
        return np.column_stack([pop(LogNormal(v["D_nm"], v["sD"])), bg])

    r = fit(basis_fn, ps, y, np.sqrt(y_true), ["scale", "bg0", "bg1"], [True, False, False])
    assert abs(r.values["D_nm"] - 5.0) < 3 * r.esds["D_nm"]
    assert abs(r.values["sD"] - 0.25) < 3 * r.esds["sD"]
    assert 0.85 < r.gof < 1.15


def test_population_markdown_lists_every_population_with_esds():
    from nanotwin_core.refine.report import population_markdown

    pops = [{"name": "twinned", "fraction": 0.25, "mean_D_nm": 5.123, "sD": 0.2, "weighting": "number",
             "esd": {"mean_D_nm": 0.041, "fraction": 0.02}},
            {"name": "untwinned", "fraction": 0.75, "Dab_nm": 8.2, "Lc_nm": 9.8, "weighting": "volume",
             "esd": {}}]
    text = population_markdown(pops)
    lines = text.strip().splitlines()
    assert lines[0] == "## Size population" and lines[2] == "| population | quantity | value |"
    assert "| twinned | mean_D_nm | 5.12(4) |" in lines and "| twinned | fraction | 0.25(2) |" in lines
    assert "| untwinned | Lc_nm | 9.8 |" in lines and "| untwinned | weighting | volume |" in lines
    assert not any("D_eq_nm" in line for line in lines)  # absent quantities are not listed
