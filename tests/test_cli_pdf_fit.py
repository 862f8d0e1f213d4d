"""``nanotwin fit --data FILE.gr``: PDF fits from the command line."""

from __future__ import annotations

import json

import numpy as np
import pytest

from nanotwin_core.builder import build_crystal
from nanotwin_core.cli import main
from nanotwin_core.io.data import write_gr
from nanotwin_core.io.project import open_project
from nanotwin_core.io.xyz import write_xyz
from nanotwin_core.scattering import compute_histograms
from nanotwin_core.scattering.pdf import compute_pdf
from nanotwin_core.scattering.radiation import XRay
from nanotwin_core.structures.structure import Cell, Site, Structure


@pytest.fixture(scope="module")
def cu_files(tmp_path_factory):
    """A Cu sphere as XYZ and its G(r) (B = 0.7 Å^2, scale 0.5, 2 % expansion) with a Qmax header,
    without the small-angle scattering (as measured G(r))."""
    d = tmp_path_factory.mktemp("pdfcli")
    cu = Structure("Cu-fcc", Cell(3.615, 3.615, 3.615), "F m -3 m", (Site("Cu", "Cu", (0, 0, 0)),))
    c = build_crystal(cu, shape="sphere", size_nm=2.0, coherent_element="Cu")
    write_xyz(c, d / "cu.xyz")
    c.positions = c.positions * 1.02
    hist = compute_histograms(c.without_lattice())
    # measured G(r) lack the particle's small-angle scattering (pdf_fit module doc): baseline=True
    r, g = compute_pdf(hist, qmin=1.0, qmax=20.0, qstep=0.002, rmin=0.0, rmax=22.0, rstep=0.01,
                       b_iso={"Cu": 0.7}, radiation=XRay(anomalous=False), baseline=True)
    write_gr(d / "cu.gr", r, 0.5 * g, header_lines=["qmin = 1.0", "qmax = 20.0"])
    return d


def test_cli_pdf_fit_range_resolved(cu_files, tmp_path, capsys):
    out, js, md = tmp_path / "fit.h5", tmp_path / "fit.json", tmp_path / "fit.md"
    rc = main(["fit", "--data", str(cu_files / "cu.gr"), "--xyz", str(cu_files / "cu.xyz"),
               "--refine", "scale,adp,expansion", "--adp", "Cu=0.3", "--rrange", "1.5:10,10:20",
               "--out", str(out), "--json", str(js), "--report", str(md), "--quiet"])
    assert rc == 0
    text = capsys.readouterr().out
    assert "r = 1.5-10 Å" in text and "r = 10-20 Å" in text
    summary = json.loads(js.read_text())
    for key in ("gof", "rwp", "rexp", "n_points", "n_params", "sigma_source", "parameters", "rw"):
        assert key in summary
    assert summary["rw"] == summary["rwp"]
    assert (summary["qmin"], summary["qmax"]) == (1.0, 20.0)  # from the header
    assert [(e["rmin"], e["rmax"]) for e in summary["ranges"]] == [(1.5, 10.0), (10.0, 20.0)]
    for e in summary["ranges"]:
        assert e["rw"] < 1e-3  # noiseless data of the same atoms
        assert e["parameters"]["B_Cu"]["value"] == pytest.approx(0.7, rel=0.01)
        assert e["parameters"]["expansion"]["value"] == pytest.approx(0.02, abs=2e-4)
        assert e["parameters"]["scale"]["value"] == pytest.approx(0.5, rel=0.01)
        assert e["parameters"]["expansion"]["esd"] > 0
    report = md.read_text()
    assert "## r = 1.5-10 Å" in report and "## r = 10-20 Å" in report and "B_Cu" in report
    proj = open_project(out)
    assert proj.results["fit"]["rw"] == summary["rw"]
    assert np.allclose(proj.data["observed"]["x"][:3], [0.0, 0.01, 0.02])
    assert set(proj.cache) == {"fit_1.5_10", "fit_10_20"}


def test_cli_pdf_fit_errors(cu_files, tmp_path, capsys):
    base = ["fit", "--data", str(cu_files / "cu.gr"), "--xyz", str(cu_files / "cu.xyz"),
            "--out", str(tmp_path / "x.h5")]
    assert main(base + ["--refine", "scale,background"]) == 2
    assert "cannot refine background" in capsys.readouterr().err
    assert main(base + ["--rrange", "5:2"]) == 2
    assert "--rrange" in capsys.readouterr().err
    assert main(base + ["--refine", "scale,size"]) == 2
    assert "sphere ladder" in capsys.readouterr().err


def test_cli_cdse_sphere_fit(shared_data, tmp_path, capsys):
    js = tmp_path / "cdse.json"
    rc = main(["fit", "--data", str(shared_data / "pdf_nanoparticles/cdse_cluster/cdse.gr"),
               "--structure", "CdSe-zincblende", "--shape", "sphere", "--size", "1.9",
               "--refine", "scale,adp,expansion,delta2,size", "--rrange", "1.49:20", "--qmin", "1",
               "--qmax", "20", "--qdamp", "0.06", "--delta2", "2", "--out", str(tmp_path / "c.h5"),
               "--json", str(js), "--quiet"])
    assert rc == 0
    summary = json.loads(js.read_text())
    assert summary["rw"] <= 0.2335
    assert summary["parameters"]["qdamp"] == {"value": 0.06, "esd": None, "refined": False}
    assert 1.4 < summary["population"]["D_eq_nm"] < 2.3
