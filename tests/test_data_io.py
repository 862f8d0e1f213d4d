"""Pattern and G(r) readers/writers on real files and on malformed files made here."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import require_data

from nanotwin_core.errors import InputFileError, NanotwinError
from nanotwin_core.io.data import (
    PatternData,
    q_from_tth,
    read_gr,
    read_pattern,
    tth_from_q,
    write_gr,
    write_pattern,
)

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture(scope="module")
def data_dir() -> Path:
    return require_data(SHARED_DATA)


# ---------------------------------------------------------------------------------------------
# real files
def test_synchrotron_xye(data_dir: Path) -> None:
    f = data_dir / "waxts_pbs_qd/synchrotron/PbS_synchr_wl0p49547592A_3p17nm.xye"
    d = read_pattern(f, wavelength=0.49547592)
    assert d.x.size == 33462 and d.sigma is not None and d.sigma_source == "file"
    assert d.x[0] == pytest.approx(0.2556) and d.x[-1] == pytest.approx(120.7368)
    assert d.x_kind == "tth"
    q = d.q()
    assert q[-1] == pytest.approx(4 * np.pi * np.sin(np.radians(120.7368 / 2)) / 0.49547592)
    assert 21.9 < q[-1] < 22.1  # README: Q up to 22.0
    r = d.restricted(1.0, 8.0)
    assert r.q().min() >= 1.0 and r.q().max() <= 8.0 and r.sigma is not None
    assert np.allclose(r.tth(), r.x)


def test_lab_xy_without_sigma(data_dir: Path) -> None:
    for f in sorted((data_dir / "waxts_pbs_qd/lab_CuKa1").glob("*.xy")):
        d = read_pattern(f, x_kind="tth", wavelength=1.5406)
        assert d.sigma is None and d.sigma_source == "poisson_estimate" and not d.sigma_is_absolute
        assert np.allclose(d.sigma_used, np.sqrt(np.maximum(d.y, 1)))
        assert np.all(np.diff(d.x) > 0) and d.x.size > 3000
    d = read_pattern(data_dir / "waxts_pbs_qd/lab_CuKa1/PbS_lab_wl1p5406_3p52nm.xy")
    assert d.header and d.header[0].startswith("#PbSOA")
    assert d.x[0] == 20.0 and d.x.size == 3501


def test_real_gr_files(data_dir: Path) -> None:
    files = sorted((data_dir / "pdf_nanoparticles").rglob("*.gr"))
    assert len(files) == 12
    for f in files:
        g = read_gr(f)
        assert g.r[0] == 0.0 and np.all(np.diff(g.r) > 0)
        assert np.all(np.isfinite(g.g))
    ni = read_gr(data_dir / "pdf_nanoparticles/ni_calibrant_pdfttp/Ni.gr")
    assert ni.r.size == 6001 and ni.r[-1] == pytest.approx(60.0)
    assert ni.qmax == 25.0 and ni.meta["composition"] == "Ni" and ni.meta["wavelength"] == "0.1836"
    cd = read_gr(data_dir / "pdf_nanoparticles/cdse_size_series_pdfttp/CdSe-1.gr")
    assert cd.qmax == 19.0 and cd.qmin == 1.0 and cd.r.size == 5001
    assert cd.g[1] == pytest.approx(7.178627345070223622e-04)
    plain = read_gr(data_dir / "pdf_nanoparticles/cdse_cluster/cdse.gr")
    assert plain.r.size == 5001 and plain.dg is None and plain.g[1] == pytest.approx(-5.70169e-05)
    au = read_gr(data_dir / "pdf_nanoparticles/metal_clusters_deepstruc/Au144pMBA.gr")
    assert au.qmax == 28.0 and au.r[-1] == pytest.approx(20.0)
    sub = au.restricted(1.5, 10.0)
    assert sub.r.min() >= 1.5 and sub.r.max() <= 10.0


# ---------------------------------------------------------------------------------------------
# small files made here
def _write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def test_header_hints_and_comments(tmp_path: Path) -> None:
    p = _write(
        tmp_path,
        "a.dat",
        "! made by hand\n# Q(1/A) I sigma\n# wavelength = 0.5\n1.0 10 1\n1.1 12 1\n1.2 9 1\n",
    )
    d = read_pattern(p)
    assert d.x_kind == "q" and d.wavelength == 0.5 and d.sigma is not None
    assert np.allclose(d.tth(), tth_from_q(d.x, 0.5))
    p2 = _write(tmp_path, "b.xy", "# 2theta intensity\n10 5\n10.5 6\n11 7\n")
    d2 = read_pattern(p2)
    assert d2.x_kind == "tth" and d2.wavelength is None
    with pytest.raises(NanotwinError, match="wavelength"):
        d2.q()


def test_fit2d_chi(tmp_path: Path) -> None:
    text = "my title\n2-Theta Angle (Degrees)\nIntensity\n       3\n 5.0 1.0\n 5.1 2.0\n 5.2 3.0\n"
    d = read_pattern(_write(tmp_path, "f.chi", text), wavelength=1.0)
    assert d.x_kind == "tth" and d.x.size == 3 and d.header[0] == "my title"
    textq = "title\nQ (nm^-1)\nIntensity\n 3\n 10.0 1.0\n 11.0 2.0\n 12.0 3.0\n"
    dq = read_pattern(_write(tmp_path, "g.chi", textq))
    assert dq.x_kind == "q" and np.allclose(dq.x, [1.0, 1.1, 1.2])  # 1/nm -> 1/Å
    bad = "title\n2-Theta\nIntensity\n 4\n 5.0 1.0\n 5.1 2.0\n 5.2 3.0\n"
    with pytest.raises(InputFileError, match="4 points"):
        read_pattern(_write(tmp_path, "h.chi", bad))
    # pyFAI style (# comments)
    pyfai = "# == pyFAI ==\n# Wavelength: 1e-10 m\n#  2th_deg  I\n 1.0 5\n 2.0 6\n"
    dp = read_pattern(_write(tmp_path, "p.chi", pyfai))
    assert dp.x_kind == "tth" and dp.wavelength == pytest.approx(1.0)


def test_decreasing_x_is_reversed(tmp_path: Path) -> None:
    d = read_pattern(_write(tmp_path, "d.xy", "3 1\n2 2\n1 3\n"), x_kind="q")
    assert list(d.x) == [1, 2, 3] and list(d.y) == [3, 2, 1]


@pytest.mark.parametrize(
    ("text", "line", "what"),
    [
        ("1 2\n2 abc\n3 4\n", 2, "non-numeric"),
        ("1 2\n2 3 4\n3 4\n", 2, "column"),
        ("1 2\n2 nan\n3 4\n", 2, "not finite"),
        ("1 2\n2 inf\n3 4\n", 2, "not finite"),
        ("1 2\n3 4\n2 5\n", 3, "not monotonic"),
        ("1 2\n1 3\n", 2, "not monotonic"),
        ("# only\n\n", None, "no numeric data"),
        ("", None, "no numeric data"),
        ("1 2 0\n2 3 1\n", 1, "sigma"),
        ("1\n2\n", 1, "column"),
    ],
)
def test_malformed_pattern(tmp_path: Path, text: str, line: int | None, what: str) -> None:
    p = _write(tmp_path, "bad_file.xye", text)
    with pytest.raises(InputFileError, match=what) as ei:
        read_pattern(p, x_kind="tth")
    msg = str(ei.value)
    assert "bad_file.xye" in msg
    if line is not None:
        assert f"line {line}" in msg and ei.value.line == line


def test_malformed_gr(tmp_path: Path) -> None:
    p = _write(tmp_path, "x.gr", "#### start data\n#S 1\n#L r G\n0 0\n0.01 0.1\n0.02 oops\n")
    with pytest.raises(InputFileError, match=r"x\.gr, line 6: non-numeric"):
        read_gr(p)
    with pytest.raises(InputFileError, match="cannot read"):
        read_gr(tmp_path / "missing.gr")


def test_round_trip(tmp_path: Path) -> None:
    x = np.linspace(1, 10, 50)
    y = np.exp(-x)
    s = 0.01 + 0 * x
    p = tmp_path / "out" / "pat.xye"
    write_pattern(p, x, y, s, header_lines=["Q (1/Å)", "wavelength = 0.56 Å"])
    d = read_pattern(p)
    assert d.x_kind == "q" and d.wavelength == pytest.approx(0.56)
    assert np.allclose(d.x, x, rtol=1e-9) and np.allclose(d.y, y, rtol=1e-9) and np.allclose(d.sigma, s)
    assert not list(p.parent.glob("*.tmp"))
    g = tmp_path / "g.gr"
    write_gr(g, x, np.sin(x), header_lines=["qmax = 20"])
    gd = read_gr(g)
    assert gd.qmax == 20 and np.allclose(gd.g, np.sin(x), atol=1e-9)
    with pytest.raises(NanotwinError):
        write_pattern(tmp_path / "nan.xy", x, y * np.nan)


def test_masks_and_conversions() -> None:
    x = np.linspace(10, 20, 11)
    d = PatternData(x, np.ones(11), wavelength=1.5406)
    e = d.excluded(12, 14)
    assert e.mask.sum() == 8 and d.mask.all()
    assert np.allclose(tth_from_q(q_from_tth(x, 1.5406), 1.5406), x)
    assert d.restricted_tth(11, 13).x.size == 3
