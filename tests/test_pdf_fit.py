"""PDF refinements (refine/pdf_fit.py) and the .stru reader, against independent references."""

from __future__ import annotations

import math

import numpy as np
import pytest

from nanotwin_core.builder import build_crystal
from nanotwin_core.crystal import Crystal
from nanotwin_core.errors import InputFileError, NanotwinError
from nanotwin_core.io.data import PDFData, read_gr
from nanotwin_core.io.stru import read_stru
from nanotwin_core.io.xyz import read_xyz
from nanotwin_core.refine.pdf_fit import (
    PDFFitSettings,
    PDFModel,
    SizeMember,
    fit_pdf,
    fit_pdf_ranges,
    gaussian_sum,
    gaussian_sum_reference,
    model_from_crystal,
    sphere_ladder,
    structure_b,
)
from nanotwin_core.scattering import compute_histograms
from nanotwin_core.scattering.pdf import compute_pdf
from nanotwin_core.scattering.radiation import XRay
from nanotwin_core.structures.library import get_structure
from nanotwin_core.structures.structure import Cell, Site, Structure

U_PER_B = 1.0 / (8.0 * math.pi**2)


def _gauss(x: np.ndarray, s: float) -> np.ndarray:
    return np.exp(-0.5 * (x / s) ** 2) / (math.sqrt(2 * math.pi) * s)


# ----------------------------------------------------------------------------- .stru reader
def test_stru_c60_discus_layout(shared_data):
    st = read_stru(shared_data / "peer_reference/srreal/C60bucky.stru")
    assert st.layout == "discus" and not st.periodic
    assert st.crystal.n_atoms == 60 and set(st.crystal.elements) == {"C"}
    assert st.b_by_element() == {"C": pytest.approx(0.25)}
    d = np.linalg.norm(st.crystal.positions[:, None] - st.crystal.positions[None], axis=-1)
    nn = np.sort(d + 10 * np.eye(60), axis=1)[:, :3]
    assert 1.38 < nn.min() and nn.max() < 1.48  # C60 bonds 1.40-1.46 Å
    assert np.allclose(np.linalg.norm(st.crystal.positions, axis=1), 3.55, atol=0.02)  # radius


def test_stru_pdffit_layout(tmp_path):
    text = """title  Ni
format pdffit
scale  1.000000
sharp  0.000000,  0.000000,  1.000000,  0.000000
spcgr  Fm-3m
cell   3.523870,  3.523870,  3.523870, 90.000000, 90.000000, 90.000000
dcell  0.000000,  0.000000,  0.000000,  0.000000,  0.000000,  0.000000
ncell          1,         1,         1,         2
atoms
NI          0.00000000        0.00000000        0.00000000       1.0000
            0.00000000        0.00000000        0.00000000       0.0000
            0.00600000        0.00600000        0.00600000
            0.00000000        0.00000000        0.00000000
            0.00000000        0.00000000        0.00000000
            0.00000000        0.00000000        0.00000000
NI          0.00000000        0.50000000        0.50000000       0.5000
            0.00000000        0.00000000        0.00000000       0.0000
            0.00300000        0.00300000        0.00300000
            0.00000000        0.00000000        0.00000000
            0.00000000        0.00000000        0.00000000
            0.00000000        0.00000000        0.00000000
"""
    p = tmp_path / "ni.stru"
    p.write_text(text)
    st = read_stru(p)
    assert st.layout == "pdffit" and st.periodic and st.spacegroup == "Fm-3m"
    assert list(st.crystal.elements) == ["Ni", "Ni"]
    assert st.crystal.occupancy.tolist() == [1.0, 0.5]
    assert np.allclose(st.b_iso, [8 * math.pi**2 * 0.006, 8 * math.pi**2 * 0.003])
    assert np.allclose(st.crystal.positions[1], [0, 3.52387 / 2, 3.52387 / 2])
    assert st.records["ncell"] == [1, 1, 1, 2]


@pytest.mark.parametrize(
    ("body", "line", "words"),
    [
        ("title x\ncell 1, 1, 1, 90, 90, 90\natoms\nC 0.0 zero 0.0 0.25\n", 4, "not a number"),
        ("title x\ncell 1, 1, 90, 90, 90\natoms\nC 0 0 0\n", 2, "cell needs"),
        ("title x\ncell 1, 1, 1, 90, 90, 90\natoms\nXq 0 0 0\n", 4, "unknown element"),
        ("title x\ncell 1, 1, 1, 90, 90, 90\natoms\nC 0 0\n", 4, "needs x y z"),
        ("title x\nbogus 3\ncell 1, 1, 1, 90, 90, 90\natoms\nC 0 0 0\n", 2, "unknown record"),
    ],
)
def test_stru_errors_name_file_and_line(tmp_path, body, line, words):
    p = tmp_path / "bad.stru"
    p.write_text(body)
    with pytest.raises(InputFileError) as exc:
        read_stru(p)
    assert exc.value.line == line and words in str(exc.value) and "bad.stru" in str(exc.value)


def test_stru_missing_atoms_and_file(tmp_path):
    p = tmp_path / "no_atoms.stru"
    p.write_text("title x\ncell 1, 1, 1, 90, 90, 90\n")
    with pytest.raises(InputFileError, match="no 'atoms'"):
        read_stru(p)
    with pytest.raises(InputFileError, match="cannot read"):
        read_stru(tmp_path / "absent.stru")


# ----------------------------------------------------------------------------- C60: DSE vs real space
def _real_space_reference(positions: np.ndarray, b: float, qmax: float, r: np.ndarray) -> np.ndarray:
    """sum_{i<j} 2/(N d) [g(r - d) - g(r + d)], sigma^2 = 2U, terminated at Qmax by a direct
    numerical sine transform (fine r and Q grids, midpoint rule), all in numpy."""
    n = len(positions)
    d = np.linalg.norm(positions[:, None] - positions[None], axis=-1)[np.triu_indices(n, 1)]
    s = math.sqrt(2 * b * U_PER_B)
    rf = np.arange(0.0025, 16.0, 0.005)
    g0 = np.zeros(rf.size)
    for dk in d:
        g0 += 2.0 / (n * dk) * (_gauss(rf - dk, s) - _gauss(rf + dk, s))
    q = np.arange(0.0025, qmax, 0.005)
    f = (np.sin(np.outer(q, rf)) @ g0) * 0.005
    return 2.0 / math.pi * (np.sin(np.outer(r, q)) @ f) * 0.005


def test_c60_dse_matches_real_space_sum(shared_data):
    st = read_stru(shared_data / "peer_reference/srreal/C60bucky.stru")
    hist = compute_histograms(st.crystal)
    r, g_dse = compute_pdf(hist, qmin=0.0, qmax=25.0, rmin=0.0, rmax=10.0, rstep=0.01, b_iso={"C": 0.25})
    ref = _real_space_reference(st.crystal.positions, 0.25, 25.0, r)
    scale = np.abs(ref).max()
    assert scale > 5  # the first C-C peak
    assert np.abs(g_dse - ref).max() <= 6e-4 * scale  # srreal's own Debye vs real-space bar
    assert np.abs(g_dse - ref).max() <= 1e-4 * scale  # nanotwin's own bar (default Q step)
    # the fit model (real-space Gaussians + DST termination) meets the same bar
    model = PDFModel([SizeMember(0.0, hist, 60)], qmin=0.0, qmax=25.0)
    g_fit = model(r, {"B_C": 0.25})
    assert np.abs(g_fit - ref).max() <= 6e-4 * scale


def test_gaussian_kernel_matches_numpy():
    rng = np.random.default_rng(3)
    d = rng.uniform(1.0, 9.0, 400)
    amp = rng.uniform(0.1, 2.0, 400)
    sigma = rng.uniform(0.02, 0.4, 400)
    sigma[::50] = 0.0  # skipped, as pairs whose width factor is <= 0
    r = np.arange(2048) * 0.01
    got = gaussian_sum(d, amp, sigma, 0.01, 2048)
    want = gaussian_sum_reference(d, amp, sigma, r)
    assert np.abs(got - want).max() <= 1e-7 * np.abs(want).max()


def test_peak_width_conventions_on_a_dimer():
    """One pair: sigma^2 = (U1 + U2)(1 - delta1/d - delta2/d^2 + qbroad^2 d^2), Qdamp envelope."""
    dist = 2.5
    dimer = Crystal(np.array([[0, 0, 0], [0, 0, dist]], float), np.array(["Cu", "Cu"]))
    hist = compute_histograms(dimer, sampling="exact")
    model = PDFModel([SizeMember(0.0, hist, 2)], qmin=0.0, qmax=150.0, rstep=0.005)
    r = np.arange(1.5, 3.5, 0.005)
    b, delta2, qbroad, qdamp = 1.2, 2.0, 0.05, 0.1
    for values, factor in (
        ({"B_Cu": b}, 1.0),
        ({"B_Cu": b, "delta2": delta2}, 1 - delta2 / dist**2),
        ({"B_Cu": b, "qbroad": qbroad}, 1 + (qbroad * dist) ** 2),
        ({"B_Cu": b, "delta1": 0.5}, 1 - 0.5 / dist),
    ):
        s = math.sqrt(2 * b * U_PER_B * factor)
        want = _gauss(r - dist, s) / dist  # 2/(N d) with N = 2
        got = model(r, values)
        assert np.abs(got - want).max() <= 2e-3 * want.max(), values
    got = model(r, {"B_Cu": b, "qdamp": qdamp})
    want = _gauss(r - dist, math.sqrt(2 * b * U_PER_B)) / dist * np.exp(-0.5 * (qdamp * r) ** 2)
    assert np.abs(got - want).max() <= 2e-3 * want.max()
    # delta2 beyond d^2 removes the pair (pdffit2)
    assert np.abs(model(r, {"B_Cu": b, "delta2": 7.0})).max() < 1e-12


# ----------------------------------------------------------------------------- real CdSe data
def test_cdse_sphere_fit_matches_pdfgui(shared_data):
    data = read_gr(shared_data / "pdf_nanoparticles/cdse_cluster/cdse.gr")
    s = get_structure("CdSe-zincblende")
    model = PDFModel(sphere_ladder(s, 1.9, window=0.25), qmin=1.0, qmax=20.0)
    st = PDFFitSettings(rmin=1.49, rmax=20.0, qmin=1.0, qmax=20.0, qdamp=0.06, delta2=2.0,
                        refine=("scale", "adp", "expansion", "delta2", "size"))
    out = fit_pdf(data, model, st, start_b=structure_b(s))
    v = out.result.params.values()
    assert out.rw <= 0.2335  # PDFgui's published Rw 0.2135 + 0.02
    assert out.result.rwp == pytest.approx(out.rw)
    assert v["qdamp"] == 0.06 and out.result.params["qdamp"].esd is None  # held fixed
    # PDFgui's CdSe_AC.ddp3: a = 6.0504(39) Å, delta2 5.75, diameter 17(3) Å
    assert 6.0504 * (1 + v["expansion"]) == pytest.approx(6.0504, abs=0.04)
    assert 4.0 < v["delta2"] < 7.5
    assert 1.4 < v["D_nm"] < 2.3
    for name in ("B_Cd", "B_Se", "expansion", "delta2", "D_nm", "scale"):
        assert out.result.params[name].esd is not None and out.result.params[name].esd > 0


def test_cdse_xyz_cluster_fit(shared_data):
    data = read_gr(shared_data / "pdf_nanoparticles/cdse_cluster/cdse.gr")
    cluster = read_xyz(shared_data / "pdf_nanoparticles/cdse_cluster/cdse.xyz")
    assert cluster.n_atoms == 91
    model = model_from_crystal(cluster, qmin=1.0, qmax=20.0)
    st = PDFFitSettings(rmin=1.49, rmax=20.0, qmin=1.0, qmax=20.0, qdamp=0.06, delta2=2.0,
                        adp={"Cd": 2.2, "Se": 4.3}, refine=("scale", "adp", "expansion", "delta2"))
    out = fit_pdf(data, model, st)
    # measured here: Rw = 0.102 (the DiffPy-CMI example's model; qmin 1 as in that example)
    assert out.rw < 0.15
    assert abs(out.result.params["expansion"].value) < 0.02


# ----------------------------------------------------------------------------- simulated data
def _cu_sphere():
    cu = Structure("Cu-fcc", Cell(3.615, 3.615, 3.615), "F m -3 m", (Site("Cu", "Cu", (0, 0, 0), b_iso=0.6),))
    return build_crystal(cu, shape="sphere", size_nm=2.2, coherent_element="Cu")


TRUTH = {"B_Cu": 0.75, "expansion": 0.012, "scale": 0.8}


def _simulated(seed: int = 5) -> PDFData:
    """G(r) of the expanded crystal by the Q-space Debye route (compute_pdf), scaled, with noise."""
    c = _cu_sphere()
    expanded = Crystal(c.positions * (1 + TRUTH["expansion"]), c.elements)  # all-pairs histograms
    hist = compute_histograms(expanded)
    r, g = compute_pdf(hist, qmin=1.0, qmax=22.0, qstep=0.002, rmin=0.0, rmax=25.0, rstep=0.01,
                       b_iso={"Cu": TRUTH["B_Cu"]}, radiation=XRay(anomalous=False))
    g = TRUTH["scale"] * g
    sig = np.full(r.size, 0.01 * np.abs(g).max())
    noisy = g + np.random.default_rng(seed).normal(0.0, sig)
    return PDFData(r, noisy, sig, meta={"qmin": "1.0", "qmax": "22.0"})


def _check_truth(res, n_esd: float = 3.0) -> None:
    for name, true in TRUTH.items():
        p = res.params[name]
        assert p.esd is not None and p.esd > 0
        assert abs(p.value - true) <= n_esd * p.esd, (name, p.value, p.esd, true)


def test_simulated_fit_recovers_truth():
    data = _simulated()
    model = model_from_crystal(_cu_sphere(), qmin=1.0, qmax=22.0)
    st = PDFFitSettings(rmin=1.5, rmax=20.0, refine=("scale", "adp", "expansion"), adp={"Cu": 0.4})
    out = fit_pdf(data, model, st)
    assert (out.qmin, out.qmax) == (1.0, 22.0)  # from the header
    _check_truth(out.result)
    assert out.result.sigma_source == "file"
    assert out.result.gof == pytest.approx(1.0, abs=0.1)  # the noise is what sigma says


def test_range_resolved_gives_independent_fits():
    data = _simulated(seed=7)
    model = model_from_crystal(_cu_sphere(), qmin=1.0, qmax=22.0)
    st = PDFFitSettings(refine=("scale", "adp", "expansion"), adp={"Cu": 0.4})
    curves = []
    fits = fit_pdf_ranges(data, model, st, [(1.5, 10.0), (10.0, 20.0)],
                          curve_callback=lambda r, g: curves.append((r, g.copy())))
    assert [(f.rmin, f.rmax) for f in fits] == [(1.5, 10.0), (10.0, 20.0)]
    # the live curve follows each range; the last one of a range is its fitted curve
    ends = [i for i in range(len(curves)) if i + 1 == len(curves) or curves[i + 1][0] is not curves[i][0]]
    assert len(ends) == 2
    for i, f in zip(ends, fits, strict=True):
        assert curves[i][0].min() >= f.rmin and curves[i][0].max() <= f.rmax
        np.testing.assert_allclose(curves[i][1], f.result.y_calc, rtol=0, atol=1e-12)
    assert fits[0].result.params is not fits[1].result.params
    assert fits[0].result.n_points == 851 and fits[1].result.n_points == 1001
    for f in fits:
        _check_truth(f.result)
        assert f.rw == pytest.approx(f.result.rwp)
    # each range alone gives the same answer: nothing is shared between the ranges
    alone = fit_pdf(data, model, PDFFitSettings(rmin=10.0, rmax=20.0, refine=st.refine, adp={"Cu": 0.4}))
    assert alone.result.params["B_Cu"].value == pytest.approx(fits[1].result.params["B_Cu"].value, rel=1e-5)
    assert fits[0].result.params["B_Cu"].value != pytest.approx(fits[1].result.params["B_Cu"].value, rel=1e-6)


def test_settings_errors():
    with pytest.raises(NanotwinError, match="cannot refine"):
        PDFFitSettings(refine=("scale", "background")).check()
    with pytest.raises(NanotwinError, match="rmin < rmax"):
        PDFFitSettings(rmin=5, rmax=2).check()
    data = PDFData(np.arange(0, 10, 0.01), np.zeros(1000))
    model = model_from_crystal(_cu_sphere(), qmin=1.0, qmax=22.0)
    with pytest.raises(NanotwinError, match="no Qmax"):
        from nanotwin_core.refine.pdf_fit import window_from_data

        window_from_data(data, PDFFitSettings())
    with pytest.raises(NanotwinError, match="sphere ladder"):
        fit_pdf(data, model, PDFFitSettings(refine=("scale", "size")))
