"""Debye sum: fast transforms vs direct sums, limits, Bragg positions, reuse, partials, 2theta."""

from __future__ import annotations

import numpy as np
import pytest
from test_dse_helpers import cspbbr3_gamma, prism, prism_nm

from nanotwin_core.crystal import Crystal
from nanotwin_core.errors import NanotwinError
from nanotwin_core.scattering import (
    compute_histograms,
    debye_intensity,
    exact_debye,
    intensity_2theta,
    polarization_factor,
    powder_pattern,
    q_from_two_theta,
    sinc_sums,
)
from nanotwin_core.scattering.form_factors import xray_form_factor
from nanotwin_core.scattering.radiation import Neutron, XRay
from nanotwin_core.structures.structure import Cell, Site, Structure


@pytest.fixture(scope="module")
def hist4nm():
    return compute_histograms(prism_nm(cspbbr3_gamma(), 4.0))


def test_czt_matches_direct_uniform(hist4nm) -> None:
    q = np.linspace(0.5, 30.0, 1500)
    fast = sinc_sums(hist4nm, q, method="czt")
    direct = sinc_sums(hist4nm, q, method="direct")
    assert np.max(np.abs(fast - direct)) < 1e-10 * np.max(np.abs(direct))


def test_czt_interpolated_nonuniform(hist4nm) -> None:
    """2theta grids: CZT on a fine uniform grid + quintic spline; error < 1e-6 relative."""
    tth = np.arange(2.0, 120.0, 0.037)
    q = q_from_two_theta(tth, 0.5654)
    fast = debye_intensity(hist4nm, q, method="czt")
    direct = debye_intensity(hist4nm, q, method="direct")
    assert np.max(np.abs(fast - direct) / direct) < 1e-6


def test_expansion_spline_vs_direct(hist4nm) -> None:
    q = np.linspace(0.5, 20.0, 1500)
    for e in (0.01, -0.02):
        fast = debye_intensity(hist4nm, q, expansion=e)
        direct = debye_intensity(hist4nm, q, expansion=e, method="direct")
        assert np.max(np.abs(fast - direct) / direct) < 1e-6
        s_e = sinc_sums(hist4nm, q, expansion=e, method="direct")
        assert np.allclose(s_e, sinc_sums(hist4nm, q * (1 + e), method="direct"), rtol=1e-12, atol=0)
    with pytest.raises(NanotwinError):
        debye_intensity(hist4nm, q, expansion=-1.5)


def test_auto_uses_cache_for_b_changes(hist4nm) -> None:
    q = np.linspace(0.5, 20.0, 5000)
    i1 = debye_intensity(hist4nm, q, b_iso={"Pb": 1.0})
    n_cached = len(hist4nm.cache)
    i2 = debye_intensity(hist4nm, q, b_iso={"Pb": 2.0, "X_eq": 1.0}, radiation=XRay(energy_kev=22.0))
    assert len(hist4nm.cache) == n_cached  # the distance sums were reused
    assert not np.allclose(i1, i2)


def test_limits_small_and_high_q() -> None:
    crystal = prism(cspbbr3_gamma(), (2, 2, 2))
    hist = compute_histograms(crystal)
    q0 = np.array([0.0, 1e-6])
    f = {el: xray_form_factor(el, q0) for el in ("Cs", "Pb", "Br")}
    total_f = sum(f[el] for el in crystal.elements)
    i0 = debye_intensity(hist, q0, b_iso=2.0)
    assert np.allclose(i0, np.abs(total_f) ** 2, rtol=1e-8)
    # high Q with B > 0: only the self terms remain
    qh = np.linspace(40.0, 45.0, 20)
    self_terms = sum(np.abs(xray_form_factor(el, qh)) ** 2 for el in crystal.elements)
    ih = debye_intensity(hist, qh, b_iso=3.0)
    assert np.allclose(ih, self_terms, rtol=1e-6)


def test_partial_occupancy_limit() -> None:
    rng = np.random.default_rng(2)
    pos = rng.uniform(-5, 5, (40, 3))
    occ = np.where(np.arange(40) % 3 == 0, 0.5, 1.0)
    crystal = Crystal(positions=pos, elements=np.array(["Pb"] * 20 + ["Br"] * 20), occupancy=occ)
    q = np.array([0.0])
    f = np.array([xray_form_factor(str(e), q)[0] for e in crystal.elements])
    expected = np.abs((occ * f).sum()) ** 2 + ((occ - occ**2) * np.abs(f) ** 2).sum()
    assert debye_intensity(compute_histograms(crystal), q)[0] == pytest.approx(expected, rel=1e-10)
    assert exact_debye(crystal, q)[0] == pytest.approx(expected, rel=1e-10)


def test_bragg_peaks_at_d_spacings() -> None:
    """A 7 nm simple-cubic Pb cluster: peaks at Q = 2 pi sqrt(h^2 + k^2 + l^2) / a."""
    a = 3.5
    s = Structure("sc Pb", Cell(a, a, a), "P m -3 m", (Site("Pb", "Pb", (0, 0, 0)),))
    crystal = prism(s, (20, 20, 20))
    q = np.linspace(1.0, 6.0, 20001)
    i = debye_intensity(compute_histograms(crystal), q, b_iso=0.5)
    width = 2 * np.pi / (20 * a)  # Scherrer-like width of the peaks
    for hkl2 in (1, 2, 3, 4, 5, 6, 8):
        qc = 2 * np.pi * np.sqrt(hkl2) / a
        win = np.abs(q - qc) < 0.4 * width
        q_peak = q[win][np.argmax(i[win])]
        assert abs(q_peak - qc) < 0.05 * width, hkl2
        assert i[win].max() > 3 * np.median(i[(q > qc - 2 * width) & (q < qc + 2 * width)])


def test_partials_add_up(hist4nm) -> None:
    q = np.linspace(0.5, 12.0, 800)
    total = debye_intensity(hist4nm, q, b_iso=1.0, radiation=XRay(energy_kev=25.0))
    parts = [
        debye_intensity(hist4nm, q, b_iso=1.0, radiation=XRay(energy_kev=25.0), pair=p)
        for p in [("Cs", "Cs"), ("Pb", "Pb"), ("Br", "Br"), ("Cs", "Pb"), ("Cs", "Br"), ("Pb", "Br")]
    ]
    assert np.allclose(sum(parts), total, rtol=1e-12)
    with pytest.raises(NanotwinError):
        debye_intensity(hist4nm, q, pair=("Pb", "I"))


def test_partial_matches_exact_debye_partial() -> None:
    crystal = prism(cspbbr3_gamma(), (1, 1, 2))
    q = np.linspace(0.5, 10.0, 50)
    hist = compute_histograms(crystal, sampling="exact")
    for pair in [("Pb", "Br"), ("Br", "Br")]:
        assert np.allclose(
            debye_intensity(hist, q, pair=pair, b_iso={"Pb": 1.0}),
            exact_debye(crystal, q, pair=pair, b_iso={"Pb": 1.0}),
            rtol=1e-10,
        )


def test_anomalous_and_b_groups_against_double_sum() -> None:
    crystal = prism(cspbbr3_gamma(), (1, 1, 1))
    q = np.linspace(0.5, 15.0, 60)
    b = {"Pb": 1.2, "X_ax": 3.0, "Br": 2.0, "Cs": 2.5}  # X_eq falls back to the element (Br)
    for rad in (XRay(energy_kev=22.0), XRay(energy_kev=14.0, anomalous=False), Neutron(), "neutron"):
        ref = exact_debye(crystal, q, b_iso=b, radiation=rad)
        got = debye_intensity(compute_histograms(crystal, sampling="exact"), q, b_iso=b, radiation=rad)
        assert np.allclose(got, ref, rtol=1e-10)


def test_polarization_and_2theta(hist4nm) -> None:
    tth = np.array([10.0, 45.0, 90.0, 135.0])
    assert np.allclose(polarization_factor(tth, "none"), 1.0)
    c2 = np.cos(np.radians(tth)) ** 2
    assert np.allclose(polarization_factor(tth, "lab"), (1 + c2) / 2)
    assert np.allclose(polarization_factor(tth, "sync"), 0.95 + 0.05 * c2)
    assert np.allclose(polarization_factor(tth, "sync:0.9"), 0.9 + 0.1 * c2)
    with pytest.raises(NanotwinError):
        polarization_factor(tth, "sync:2")
    wl = 0.5654
    tth = np.linspace(3, 100, 700)
    i = intensity_2theta(hist4nm, tth, wl, polarization="lab", b_iso=1.0)
    q = 4 * np.pi * np.sin(np.radians(tth / 2)) / wl
    ref = debye_intensity(hist4nm, q, b_iso=1.0, radiation=XRay(energy_kev=12.398419843320026 / wl),
                          method="direct")
    assert np.allclose(i, ref * (1 + np.cos(np.radians(tth)) ** 2) / 2, rtol=1e-6)


def test_powder_pattern_one_call() -> None:
    crystal = prism(cspbbr3_gamma(), (2, 2, 1))
    q = np.linspace(1, 5, 100)
    assert np.allclose(
        powder_pattern(crystal, q, route="all_pairs", b_iso=1.0),
        debye_intensity(compute_histograms(crystal), q, b_iso=1.0),
        rtol=1e-6,
    )


def test_debye_waller_against_an_independent_double_sum() -> None:
    """B per ADP group (element fallback) and anomalous terms against a plain loop written here
    from the tables (xraydb f0 at s = Q/4pi, Chantler f', f''), sharing none of the engine's type
    grouping or factor code: I = sum_i |f_i|^2 + sum_{i != j} Re(f_i f_j*) T_i T_j sinc(Q r_ij),
    T_i = exp(-B_i s^2)."""
    import xraydb

    crystal = prism(cspbbr3_gamma(), (1, 1, 1))
    q = np.linspace(0.3, 12.0, 80)
    s = q / (4 * np.pi)
    energy = 22.0
    b_by_group = {"Pb": 1.2, "X_ax": 3.0, "Cs": 2.5}
    b_by_element = {"Br": 2.0}  # X_eq has no group entry: its element's B applies
    f_el, t_at = {}, []
    for el, group in zip(crystal.elements, crystal.adp_groups, strict=True):
        el, group = str(el), str(group)
        if el not in f_el:
            fp = xraydb.f1_chantler(el, energy * 1000.0)
            fpp = xraydb.f2_chantler(el, energy * 1000.0)
            f_el[el] = xraydb.f0(el, s) + fp + 1j * fpp
        b = b_by_group.get(group, b_by_element.get(el, 0.0))
        t_at.append(np.exp(-b * s * s))
    f = np.array([f_el[str(el)] for el in crystal.elements])
    g = f * np.array(t_at)
    ref = np.sum(np.abs(f) ** 2, axis=0)
    pos = crystal.positions
    for i in range(len(pos)):
        r = np.linalg.norm(pos - pos[i], axis=1)
        for j in np.flatnonzero(np.arange(len(pos)) != i):
            ref = ref + (g[i] * np.conj(g[j])).real * np.sinc(q * r[j] / np.pi)
    b = {**b_by_group, **b_by_element}
    got = debye_intensity(compute_histograms(crystal, sampling="exact"), q, b_iso=b,
                          radiation=XRay(energy_kev=energy))
    assert np.allclose(got, ref, rtol=1e-10)
