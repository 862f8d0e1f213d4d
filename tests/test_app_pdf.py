"""G(r) in the window (offscreen): a .gr opens in the PDF dock and its fit through the dock's
widgets equals the core's ``actions.fit_pdf_model`` (the command line's PDF fit)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from app_helpers import open_and_wait, save_and_wait

from nanotwin_core.actions import fit_pdf_model, pdf_model_of
from nanotwin_core.io.data import read_gr, write_gr
from nanotwin_core.model import Model
from nanotwin_core.refine.pdf_fit import PDFFitSettings, make_parameters

MODEL = Model(structure="PbS-rocksalt", shape="sphere", size_nm=2.0)


@pytest.fixture
def window(headless_window):
    return headless_window


def simulated_gr(path):
    settings = PDFFitSettings(refine=("scale", "adp"))
    pdf_model, start_b = pdf_model_of(MODEL, refine=settings.refine, qmin=0.0, qmax=20.0)
    truth = make_parameters(pdf_model, settings, start_b).values()
    truth.update(B_Pb=0.9, B_S=1.6)
    r = np.arange(0.0, 15.0, 0.01)
    write_gr(path, r, 1.7 * pdf_model(r, truth), header_lines=["qmin = 0.0", "qmax = 20.0"])
    return path


def fit_in_dock(window, qtbot, path, *, ranges: str = "", rmin: float = 1.0, rmax: float = 20.0):
    """Open ``path``, refine scale and B through the dock's widgets, wait for the fit."""
    window.workspace.set_model(MODEL)
    assert window.open_file(path)
    dock = window.pdf_dock_widget
    for name, check in dock.refine_checks.items():
        check.setChecked(name in ("scale", "adp"))
    dock.rmin_spin.setValue(rmin)
    dock.rmax_spin.setValue(rmax)
    dock.ranges_edit.setText(ranges)
    dock.run_button.click()
    qtbot.waitUntil(lambda: not window.pdf_fits.running(), timeout=120_000)
    return window.workspace.pdf_fit


def test_gr_fit_through_the_dock_equals_the_core(window, qtbot, tmp_path):
    path = simulated_gr(tmp_path / "pbs.gr")
    done = fit_in_dock(window, qtbot, path, rmin=1.5, rmax=12.0)
    dock = window.pdf_dock_widget
    assert not window.pdf_dock.isHidden()
    assert "Qmax 20 1/Å (header)" in dock.data_label.text()
    assert done is not None
    values = {name: v["value"] for name, v in done.summary["parameters"].items()}
    ref = fit_pdf_model(MODEL, read_gr(path), PDFFitSettings(rmin=1.5, rmax=12.0, refine=("scale", "adp")))
    for name, value in ref.result.params.values().items():
        assert values[name] == pytest.approx(value, rel=1e-9), name
    assert values["B_Pb"] == pytest.approx(0.9, rel=1e-3)
    shown = {dock.table.item(i, 0).text(): dock.table.item(i, 1).text() for i in range(dock.table.rowCount())}
    assert set(shown) >= {"scale", "B_Pb", "B_S"}
    assert "Rw = " in dock.status_label.text()
    target = tmp_path / "pdf.md"
    window.ask_save_path = lambda *a, **k: str(target)
    dock.report_button.click()
    assert "Rw" in target.read_text()


def test_real_gr_header_is_shown(window, shared_data):
    path = shared_data / "pdf_nanoparticles" / "cdse_size_series_pdfttp" / "CdSe-1.gr"
    assert window.open_file(path)
    text = window.pdf_dock_widget.data_label.text()
    assert "CdSe-1.gr" in text and "Qmin 1, Qmax 19 1/Å (header)" in text


def test_gr_and_fit_survive_the_project(window, qtbot, tmp_path, headless_window_factory):
    rw = fit_in_dock(window, qtbot, simulated_gr(tmp_path / "pbs.gr")).rw
    assert save_and_wait(window, tmp_path / "p.h5", qtbot)
    other = headless_window_factory()
    assert open_and_wait(other, tmp_path / "p.h5", qtbot)
    ws = other.workspace
    np.testing.assert_array_equal(ws.pdf_data.g, window.workspace.pdf_data.g)
    assert ws.pdf_fit.rw == rw and not other.pdf_dock.isHidden()
    assert f"Rw = {rw:.4f}" in other.pdf_dock_widget.status_label.text()


def test_a_command_line_pdf_project_opens(window, qtbot, tmp_path, shared_data):
    from nanotwin_core.cli.main import main as cli_main

    out = tmp_path / "cdse.h5"
    assert cli_main(["fit", "--data", str(shared_data / "pdf_nanoparticles" / "cdse_cluster" / "cdse.gr"),
                     "--structure", "CdSe-zincblende", "--shape", "sphere", "--size", "1.9",
                     "--refine", "scale,adp,delta2", "--rrange", "1.5:12", "--qmin", "1", "--qmax", "20",
                     "--qdamp", "0.06", "--out", str(out), "--json", str(tmp_path / "c.json"),
                     "--quiet"]) == 0
    assert open_and_wait(window, out, qtbot)
    ws = window.workspace
    assert (ws.model.structure, ws.model.shape, ws.model.size_nm) == ("CdSe-zincblende", "sphere", 1.9)
    assert ws.data is None and len(ws.pdf_data.r) == 5001
    assert ws.pdf_fit.rw == pytest.approx(json.loads((tmp_path / "c.json").read_text())["rw"])
    assert "B_Cd" in {window.pdf_dock_widget.table.item(i, 0).text()
                      for i in range(window.pdf_dock_widget.table.rowCount())}


def test_range_resolved_fit_in_the_dock(window, qtbot, tmp_path, headless_window_factory):
    from nanotwin_core.actions import fit_pdf_model_ranges

    path = simulated_gr(tmp_path / "pbs.gr")
    fit = fit_in_dock(window, qtbot, path, ranges="1.5:6, 6:12")
    dock = window.pdf_dock_widget
    settings = PDFFitSettings(refine=("scale", "adp"))
    _m, ref, _qmin, _qmax = fit_pdf_model_ranges(MODEL, read_gr(path), settings, [(1.5, 6.0), (6.0, 12.0)])
    assert [(e["rmin"], e["rmax"]) for e in fit.entries] == [(1.5, 6.0), (6.0, 12.0)]
    for entry, f in zip(fit.entries, ref, strict=True):
        assert entry["rw"] == pytest.approx(f.rw, rel=1e-9, abs=1e-12)
    assert len(fit.curves) == 2 and dock.table.columnCount() == 3
    assert save_and_wait(window, tmp_path / "ranges.h5", qtbot)
    other = headless_window_factory()
    assert open_and_wait(other, tmp_path / "ranges.h5", qtbot)
    assert [len(r) for r, _g in other.workspace.pdf_fit.curves] == [len(r) for r, _g in fit.curves]


def test_live_curve_during_a_fit(window, qtbot, tmp_path):
    """The running fit draws its current G(r); the last live curve is the fitted one, and the
    result replaces it (issue 15 follow-up: the PDF dock had only a live Rw)."""
    from nanotwin_app import pdf_jobs

    path = simulated_gr(tmp_path / "pbs.gr")
    reports = []
    request = pdf_jobs.PDFFitRequest(MODEL, read_gr(path), PDFFitSettings(rmin=1.5, rmax=12.0,
                                                                          refine=("scale", "adp")),
                                     [(1.5, 12.0)])
    real_interval, pdf_jobs.REPORT_INTERVAL_S = pdf_jobs.REPORT_INTERVAL_S, 0.0
    try:
        done = pdf_jobs.run_pdf_fit(request, progress=reports.append)
    finally:
        pdf_jobs.REPORT_INTERVAL_S = real_interval
    live = [rep for rep in reports if isinstance(rep, pdf_jobs.PDFProgress)]
    assert len(live) >= 3 and all(rep.r is not None for rep in live)
    r_fit, g_fit = done.curves[0]
    np.testing.assert_array_equal(live[-1].r, r_fit)
    np.testing.assert_allclose(live[-1].g_calc, g_fit, rtol=0, atol=1e-12 * np.max(np.abs(g_fit)))
    assert not np.allclose(live[0].g_calc, g_fit, rtol=1e-3)  # the first report is the start model

    dock = window.pdf_dock_widget
    window.workspace.set_model(MODEL)
    assert window.open_file(path)
    window.pdf_fits.show_progress(live[0])
    assert dock.running_curve is not None
    x, y = dock.running_curve.getData()
    np.testing.assert_array_equal(x, live[0].r)
    window.pdf_fits._ended("Fit stopped.")  # a stopped fit leaves no live curve behind
    assert dock.running_curve is None and dock.status_label.text() == "Fit stopped."
