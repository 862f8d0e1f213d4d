"""The small-angle baseline of PDF models (-4 pi rho0 r gamma0(r)) and the sphere ladder that
moves to where the fitted size goes."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.distance import pdist

from nanotwin_core.actions import pdf_model_of
from nanotwin_core.builder import build_crystal
from nanotwin_core.io.data import read_gr
from nanotwin_core.model import Model
from nanotwin_core.refine.pdf import pdf_rw
from nanotwin_core.refine.pdf_fit import PDFFitSettings, fit_pdf
from nanotwin_core.refine.pdf_model import PDFModel, SizeMember
from nanotwin_core.refine.pdf_terms import pair_terms
from nanotwin_core.scattering import compute_histograms
from nanotwin_core.scattering.pdf import compute_pdf
from nanotwin_core.structures.structure import Cell, Site, Structure

PT = Structure("Pt-fcc", Cell(3.9231, 3.9231, 3.9231), "F m -3 m", (Site("Pt", "Pt", (0, 0, 0), b_iso=0.5),))


def test_baseline_is_the_smooth_part_of_the_pair_density() -> None:
    """A 3 nm Pt sphere: the pair distance density 4 pi r rho(r) from a numpy pair list, averaged
    over 4 Å windows, follows 4 pi rho0 r gamma0(r) of the sphere with the crystal's radius of
    gyration (within 8 % of its maximum: measured 6.4 %), and the baseline's radius of gyration is
    the crystal's."""
    crystal = build_crystal(PT, shape="sphere", size_nm=3.0, coherent_element="Pt")
    pos = np.asarray(crystal.positions)
    d = pdist(pos)
    n = len(pos)
    terms = pair_terms(compute_histograms(crystal))
    rg2 = float(np.mean(np.sum((pos - pos.mean(axis=0)) ** 2, axis=1)))
    assert terms.rg2 == pytest.approx(rg2, rel=1e-4)  # sum over pairs of d^2 / N^2 = Rg^2
    edges = np.arange(0.0, 36.0, 4.0)
    counts, _ = np.histogram(d, edges)
    centres = 0.5 * (edges[1:] + edges[:-1])
    # 4 pi r rho(r) = (2 / N) sum_{i<j} delta(r - d) / r, averaged over each window
    density = 2.0 * np.histogram(d, edges, weights=1.0 / d)[0] / n / np.diff(edges)
    base = np.array([terms.baseline(np.linspace(a, b, 201)).mean() for a, b in zip(edges[:-1], edges[1:],
                                                                                   strict=True)])
    inside = centres > 6.0  # beyond the first shells, where a 4 Å window averages them out
    assert np.max(np.abs(density[inside] - base[inside])) < 0.08 * base.max()  # a faceted lattice sphere
    assert counts.sum() == n * (n - 1) // 2


def _settings(qmin: float) -> PDFFitSettings:
    return PDFFitSettings(rmin=1.5, rmax=20.0, qmin=qmin, qmax=22.0, qdamp=0.03,
                          refine=("scale", "adp", "expansion", "delta2", "size"))


def test_qmin_of_the_header_no_longer_matters(shared_data) -> None:
    """Pt nanoparticles (JQ_S1): with Qmin 0.1 the model once kept its small-angle scattering and
    landed at Rw 0.63 with the size at the ladder's end (Qmin 1: 0.13); with the baseline both
    give Rw 0.10 and D = 2.97 nm, the ladder moved past its first end (2.52 nm)."""
    data = read_gr(shared_data / "pdf_nanoparticles/metal_clusters_deepstruc/JQ_S1.gr")
    model = Model(cif=None, structure="CsPbBr3-gamma", shape="sphere", size_nm=2.0, coherent_element="Pt")
    out = {}
    for qmin in (0.1, 1.0):
        pdf_model, start_b = pdf_model_of(model, refine=_settings(qmin).refine, qmin=qmin, qmax=22.0,
                                          structure=PT)
        out[qmin] = fit_pdf(data, pdf_model, _settings(qmin), start_b=start_b)
    assert out[0.1].rw < 0.12 and out[1.0].rw < 0.12
    assert abs(out[0.1].rw - out[1.0].rw) < 0.005
    sizes = [o.result.params["D_nm"] for o in out.values()]
    assert all(s.at_bound is None and s.esd > 0 for s in sizes)
    assert sizes[0].value == pytest.approx(sizes[1].value, rel=0.02)
    assert any("ladder moved" in m for m in out[0.1].result.messages)


def test_simulated_g_without_small_angle_equals_the_fit_model() -> None:
    """``compute_pdf(baseline=True)`` (the baseline's sine transform over the Q window, what
    ``simulate --pdf`` writes) equals the fits' model (the baseline terminated in real space) and,
    with the window from Q = 0, the pure G(r) minus 4 pi rho0 r gamma0(r) itself."""
    crystal = build_crystal(PT, shape="sphere", size_nm=2.0, coherent_element="Pt")
    hist = compute_histograms(crystal)
    b = {"Pt": 0.5}
    r, pure = compute_pdf(hist, qmin=0.0, qmax=30.0, rmax=25.0, b_iso=b)
    _, without = compute_pdf(hist, qmin=0.0, qmax=30.0, rmax=25.0, b_iso=b, baseline=True)
    base = pair_terms(hist).baseline(r)
    inside = (r > 1.0) & (r < 20.0)
    assert np.max(np.abs(pure - without - base)[inside]) < 2e-3 * base.max()
    # the fits' model of the same crystal (baseline terminated in real space), Qmin 1 as data
    _, data = compute_pdf(hist, qmin=1.0, qmax=22.0, rmax=25.0, b_iso=b, baseline=True)
    model = PDFModel([SizeMember(2.0, hist)], qmin=1.0, qmax=22.0, baseline=True)
    keep = r > 1.5
    assert pdf_rw(r[keep], data[keep], model(r[keep], {"B_Pt": 0.5})) < 5e-4  # measured 1e-4
    assert pdf_rw(r[keep], data[keep], PDFModel([SizeMember(2.0, hist)], qmin=1.0, qmax=22.0)(
        r[keep], {"B_Pt": 0.5})) > 2e-3  # without the baseline the model misses (4e-3 at Qmin 1)
