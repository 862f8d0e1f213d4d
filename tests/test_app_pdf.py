"""G(r) in the window (offscreen): a .gr opens in the PDF dock and its fit through the dock's
widgets equals the core's ``actions.fit_pdf_model`` (the command line's PDF fit)."""

from __future__ import annotations

import numpy as np
import pytest

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


def test_gr_fit_through_the_dock_equals_the_core(window, qtbot, tmp_path):
    path = simulated_gr(tmp_path / "pbs.gr")
    window.workspace.set_model(MODEL)
    assert window.open_file(path)
    dock = window.pdf_dock_widget
    assert not window.pdf_dock.isHidden()
    assert "Qmax 20 1/Å (header)" in dock.data_label.text()
    for name, check in dock.refine_checks.items():
        check.setChecked(name in ("scale", "adp"))
    dock.rmin_spin.setValue(1.5)
    dock.rmax_spin.setValue(12.0)
    dock.run_button.click()
    qtbot.waitUntil(lambda: not window.pdf_fits.running(), timeout=120_000)
    done = window.workspace.pdf_fit
    assert done is not None
    values = done.outcome.result.params.values()
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
