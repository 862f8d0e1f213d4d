"""S(Q), F(Q), G(r): normalisation, limits and peak positions."""

from __future__ import annotations

import numpy as np
import pytest
from test_dse_helpers import cspbbr3_gamma, prism

from nanotwin_core.crystal import Crystal
from nanotwin_core.errors import NanotwinError
from nanotwin_core.scattering import (
    compute_histograms,
    compute_pdf,
    debye_intensity,
    pdf_from_fq,
    pdf_from_intensity,
    total_scattering,
)


@pytest.fixture(scope="module")
def hist():
    return compute_histograms(prism(cspbbr3_gamma(), (3, 3, 2)))


def test_first_peak_is_pb_br_bond(hist) -> None:
    r, g = compute_pdf(hist, qmin=0.5, qmax=25.0, rmax=6.0, rstep=0.005, b_iso=0.3)
    sel = (r > 2.0) & (r < 3.6)
    r_peak = r[sel][np.argmax(g[sel])]
    crystal = prism(cspbbr3_gamma(), (3, 3, 2))
    pb = crystal.positions[crystal.elements == "Pb"]
    br = crystal.positions[crystal.elements == "Br"]
    d = np.sqrt(((pb[:, None] - br[None]) ** 2).sum(-1))
    bond = d[d < 3.5].mean()
    assert abs(r_peak - bond) < 0.03
    assert g[sel].max() > 3 * np.abs(g[r < 2.0]).max()  # nothing below the shortest bond


def test_s_tends_to_one_and_f_definition(hist) -> None:
    q = np.linspace(0.5, 40.0, 2000)
    s, f = total_scattering(hist, q, b_iso=2.0)
    assert np.allclose(f, q * (s - 1))
    assert np.max(np.abs(s[q > 35] - 1)) < 1e-3
    # composition given as a dict gives the same S(Q)
    i = debye_intensity(hist, q, b_iso=2.0)
    comp = {"Cs": 72.0, "Pb": 72.0, "Br": 216.0}
    r1, g1 = pdf_from_intensity(q, i, hist, rmax=10.0)
    r2, g2 = pdf_from_intensity(q, i, comp, rmax=10.0)
    assert np.allclose(g1, g2, rtol=1e-12, atol=1e-12)


def test_pair_of_atoms_sine_transform() -> None:
    """Two atoms at distance d: F(Q) = sin(Q d)/d * const, G peaks at d (Lorch or not)."""
    d = 2.5
    crystal = Crystal(positions=[[0, 0, 0], [0, 0, d]], elements=["Pb", "Pb"])
    h = compute_histograms(crystal, sampling="exact")
    q = np.arange(0.01, 30.0, 0.005)
    s, f = total_scattering(h, q)
    assert np.allclose(f, np.sin(q * d) / d, atol=1e-12)  # S - 1 = sinc for N = 2
    r = np.linspace(0.5, 5.0, 901)
    for lorch in (False, True):
        g = pdf_from_fq(q, f, r, qmax=30.0, lorch=lorch)
        assert abs(r[np.argmax(g)] - d) < 0.006
    g_damp = pdf_from_fq(q, f, r, qdamp=0.1)
    assert np.allclose(g_damp, pdf_from_fq(q, f, r) * np.exp(-0.5 * (0.1 * r) ** 2))


def test_lorch_reduces_ripples(hist) -> None:
    r, g = compute_pdf(hist, qmin=0.5, qmax=15.0, rmax=2.2, rstep=0.01)
    _, gl = compute_pdf(hist, qmin=0.5, qmax=15.0, rmax=2.2, rstep=0.01, lorch=True)
    low = r < 2.2
    assert np.abs(gl[low]).max() < np.abs(g[low]).max()


def test_pdf_errors(hist) -> None:
    with pytest.raises(NanotwinError):
        compute_pdf(hist, qmin=5.0, qmax=2.0)
    with pytest.raises(NanotwinError):
        compute_pdf(hist, rmax=-1.0)
