"""Defaults read from the data: peak survey, Scherrer sizes, fitted range, size-box growth.

References are independent of the code under test: the sphere's line profile by quadrature of
its characteristic function, patterns from the exact Debye sum, analytic halos and rises.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.integrate import quad
from scipy.optimize import brentq

from nanotwin_core.actions import compute_pattern, data_defaults, fit_model, with_defaults
from nanotwin_core.io.data import PatternData
from nanotwin_core.model import FitSpec, Model, PopulationSpec
from nanotwin_core.refine.auto_start import SN_LEVEL, first_strong_q, small_angle_end
from nanotwin_core.refine.peak_survey import (
    integral_breadth,
    line_fwhm_u,
    shape_ratio_of_lognormal_spheres,
    sphere_line,
    survey_peaks,
)
from nanotwin_core.reflections import reflections
from nanotwin_core.structures.files import resolve_structure

PBS = resolve_structure("PbS-rocksalt", None)
RNG = np.random.default_rng(11)


def _sphere_line(k: np.ndarray, diameter: float) -> np.ndarray:
    """Unit-area line of a sphere of ``diameter`` (Å) at K = Q / 2 pi (1/Å), by quadrature."""
    def one(kk: float) -> float:
        return 2 * quad(lambda x: (1 - 1.5 * x / diameter + 0.5 * (x / diameter) ** 3)
                        * math.cos(2 * math.pi * kk * x), 0, diameter, limit=200)[0]
    return np.array([one(float(v)) for v in k])


def test_sphere_line_shape_constants() -> None:
    """FWHM / integral breadth of one sphere's line (0.830) and its integral breadth 4/(3D)."""
    g = lambda x: 1 - 1.5 * x + 0.5 * x**3  # noqa: E731 - the unit sphere's characteristic function
    line = lambda k: 2 * quad(lambda x: g(x) * math.cos(2 * math.pi * k * x), 0, 1, limit=200)[0]  # noqa: E731
    height = line(0.0)
    assert 1 / height == pytest.approx(4 / 3)
    k_half = brentq(lambda k: line(k) - height / 2, 0.01, 2.0)
    assert shape_ratio_of_lognormal_spheres(0.0) == pytest.approx(2 * k_half * height, rel=2e-3)
    # broader distributions give more Lorentzian (cuspier) lines
    ratios = [shape_ratio_of_lognormal_spheres(s) for s in (0.1, 0.3, 0.5)]
    assert ratios[0] > ratios[1] > ratios[2] > 0.637
    assert integral_breadth(1.0, 0.0) == pytest.approx(math.sqrt(math.pi / math.log(2)) / 2)
    # the tabulated line of one size: unit area, whose 1/u^2 tails (u = K D) leave 3/(2 pi^2 u0)
    # outside |u| < u0; height <D>_vol / (2 pi) x 3/4 (beta = 4/3 in u)
    dq = np.linspace(-3, 3, 60001)
    line = sphere_line(dq, 40.0, 0.0)
    u0 = 3 * 40.0 / (2 * math.pi)
    assert np.trapezoid(line, dq) == pytest.approx(1 - 3 / (2 * math.pi**2 * u0), abs=1e-4)
    assert line[30000] == pytest.approx(40.0 / (2 * math.pi) * 0.75, rel=1e-3)
    k = np.array([0.01, 0.02, 0.03])
    assert sphere_line(2 * math.pi * k, 40.0, 0.0) == pytest.approx(_sphere_line(k, 40.0) / (2 * math.pi),
                                                                     rel=2e-3)
    # a dispersion that rounds to nothing (a survey fit ending at 6.8e-18) is one size, not 0/0
    assert sphere_line(dq[::1000], 40.0, 6.8e-18) == pytest.approx(sphere_line(dq[::1000], 40.0, 0.0))
    assert shape_ratio_of_lognormal_spheres(6.8e-18) == shape_ratio_of_lognormal_spheres(0.0)
    assert np.isfinite(line_fwhm_u(1e-17))


def test_survey_reads_the_diameter_of_sphere_lines() -> None:
    """Lines of a 40 Å sphere (by quadrature) at the PbS reflections, random areas, a sloping
    background and noise: the survey's Scherrer diameter (4/3 x 2 pi / beta) is within 3 %."""
    diameter = 40.0
    q = np.linspace(1.2, 7.0, 2400)
    families = [r.q for r in reflections(PBS, 7.5, classify=False)]
    k_grid = np.linspace(0, 0.6, 150)
    line = _sphere_line(k_grid, diameter)
    y = 200 + 30 * (q - 3)
    for qq in families:
        profile = np.interp(np.abs(q - qq) / (2 * np.pi), k_grid, line, right=0) / (2 * np.pi)
        y = y + RNG.uniform(300, 1000) * profile
    sigma = np.sqrt(y) * 0.05
    y = y + RNG.normal(0, 1, q.size) * sigma
    survey = survey_peaks(q, y, sigma, PBS)
    d_scherrer = 4 / 3 * survey.column_length
    assert d_scherrer == pytest.approx(diameter, rel=0.03)
    assert abs(survey.expansion) < 2e-3
    assert survey.dispersion < 0.1  # one size


def _debye_pattern(q: np.ndarray, size_nm: float = 3.0, b: float = 3.0) -> np.ndarray:
    model = Model(structure="PbS-rocksalt", shape="sphere", size_nm=size_nm, adp={"Pb": b, "S": b})
    return compute_pattern(model, q).intensity


def test_range_starts_above_the_rise_and_halo_and_ends_in_the_noise() -> None:
    """Exact Debye pattern of a 3 nm sphere (B = 3 Å^2), plus a small-angle rise, a ligand-like
    halo under the first peak's low side and a flat background; sigma sqrt(I)."""
    q = np.linspace(0.15, 14.0, 4000)
    model_part = _debye_pattern(q)
    model_part = 400 * model_part / model_part[q > 1.5].max()
    y = model_part + 3000 * np.exp(-q / 0.12) + 150 * np.exp(-0.5 * ((q - 1.4) / 0.18) ** 2) + 50
    sigma = np.sqrt(y)
    data = PatternData(x=q, y=y + RNG.normal(0, 1, q.size) * sigma, sigma=sigma, x_kind="q")
    q_first = first_strong_q(PBS, 14.0)
    q_dip, _ = small_angle_end(q, data.y, q_first)
    assert 0.4 < q_dip < 1.2
    model = Model(structure="PbS-rocksalt", shape="sphere", population=PopulationSpec(D=1.0, sD=0.2))
    defaults = data_defaults(model, data)
    lo, hi = defaults.q_range
    assert q_first - 0.7 * defaults.survey.fwhm < lo < q_first  # the half maximum, above the halo
    # the end: the peaks (noiseless part minus its smooth trend) stand clearly above the noise
    # of data smoothed over a quarter breadth below it, and are lost in it beyond
    trend = np.convolve(model_part, np.ones(101) / 101, mode="same")
    n_fine = defaults.survey.breadth / 4 / (q[1] - q[0])
    ratio = np.abs(model_part - trend) / (sigma / np.sqrt(n_fine))
    assert ratio[(q > lo) & (q < hi - 1.0)].max() > 3 * SN_LEVEL
    assert ratio[(q > hi + 1.0) & (q < 13.5)].max() < SN_LEVEL
    assert defaults.volume_mean_nm == pytest.approx(3.0, rel=0.06)  # one 3 nm sphere
    assert any("half maximum" in r for r in defaults.reasons)
    fitted = with_defaults(model, defaults)
    assert fitted.population is not None and fitted.fit.q_range == defaults.q_range


def test_size_box_moves_where_the_fit_leaves_it() -> None:
    """A population pattern of D = 2.4 nm, sD = 0.2 fitted from D = 1.6 nm: the box (+-25 %)
    stops the first fit at 2.0 nm; the box moves, and the fit ends at the truth."""
    q = np.linspace(1.5, 8.0, 1300)
    truth = Model(structure="PbS-rocksalt", shape="sphere", population=PopulationSpec(D=2.4, sD=0.2),
                  adp={"Pb": 1.5, "S": 1.5})
    y = compute_pattern(truth, q).intensity
    y = 1000 * y / y.max() + 20
    sigma = np.full(q.size, 1.0)
    data = PatternData(x=q, y=y + RNG.normal(0, 1, q.size), sigma=sigma, x_kind="q")
    start = Model(structure="PbS-rocksalt", shape="sphere", population=PopulationSpec(D=1.6, sD=0.2),
                  fit=FitSpec(refine=["scale", "background", "size"], background_order=1))
    problem, result = fit_model(start, data)
    assert any("size box moved" in m for m in result.messages)
    assert result.params["D_nm"].value == pytest.approx(2.4, rel=0.02)
    assert result.params["D_nm"].at_bound is None and result.status == "ok"
    _, stuck = fit_model(start, data, grow=False)
    assert stuck.params["D_nm"].at_bound == "max"
    assert any(d.code == "at_limit" for d in stuck.diagnostics)
