"""Lab data in the window (issue 12), driven through the widgets: the import dialog proposes the
polarization of the source (lab for a tube's wavelength, as ``nanotwin fit``) and says why; an
instrument file's K-alpha2 line and Lorentzian X, Y fill the dialog; the refinement dock edits
the Lorentzian X, Y and K-alpha2 of the model; and the window at 1280 x 720 with the refinement
dock open scrolls no dock sideways."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from app_helpers import write_q_xye
from nanotwin_app import instrument_sources
from nanotwin_app.import_dialog import ImportDialog, initial_choice
from PySide6.QtCore import QPoint
from test_app_layout import shown_without_scrolling

from nanotwin_core.errors import NanotwinError
from nanotwin_core.io.import_guess import guess_import
from nanotwin_core.io.instrument_file import write_instprm
from nanotwin_core.model import Instrument


def tth_file(path, header: str = ""):
    tth = np.linspace(20.0, 80.0, 300)
    path.write_text(header + "".join(f"{t:.4f} {100 + t:.4f}\n" for t in tth))
    return path


def dialog_for(qtbot, path, remembered=None) -> ImportDialog:
    guess = guess_import(path)
    dialog = ImportDialog(guess, initial_choice(guess, remembered, Instrument()))
    qtbot.addWidget(dialog)
    return dialog


def test_import_proposes_the_polarization_of_the_source(qtbot, tmp_path):
    dialog = dialog_for(qtbot, tth_file(tmp_path / "PbS_lab_wl1p5406_5nm.xy"))
    assert dialog.polarization_combo.currentText() == "lab"
    assert "Cu K-alpha1" in dialog.polarization_reason.text()
    dialog.wavelength_edit.clear()
    qtbot.keyClicks(dialog.wavelength_edit, "0.564162")  # a synchrotron: the proposal follows
    assert dialog.polarization_combo.currentText() == "sync"
    assert "no tube line" in dialog.polarization_reason.text()
    dialog.polarization_combo.textActivated.emit("none")  # the user's choice stays
    dialog.polarization_combo.setCurrentText("none")
    dialog.wavelength_edit.clear()
    qtbot.keyClicks(dialog.wavelength_edit, "0.7093")
    choice = dialog.choice()
    assert (choice.polarization, choice.wavelength) == ("none", 0.7093)
    assert choice.instrument() == Instrument(polarization="none")
    remembered = replace(choice, polarization="sync:0.9")
    again = dialog_for(qtbot, tth_file(tmp_path / "PbS_lab_wl1p5406_7nm.xy"), remembered)
    assert again.polarization_combo.currentText() == "sync:0.9"  # the folder's last answer
    assert "last imported" in again.polarization_reason.text()


def test_instrument_file_with_kalpha2_fills_the_dialog(qtbot, tmp_path, monkeypatch):
    dialog = dialog_for(qtbot, tth_file(tmp_path / "scan_wl1p5406.xy"))
    ins = Instrument("lab", (0.004, -0.0015, 0.0012), 0.01, (0.02, 0.005), kalpha2=0.48).validate()
    path = write_instprm(tmp_path / "cu.instprm", ins, 1.5406)
    monkeypatch.setattr(instrument_sources.QFileDialog, "getOpenFileName", lambda *a, **k: (str(path), ""))
    dialog.sources.file_button.click()
    assert dialog.kalpha2_row.check.isChecked() and dialog.kalpha2_row.ratio_spin.value() == 0.48
    assert dialog.lorentzian_edit.text() == "0.02, 0.005"
    got = dialog.choice().instrument()
    assert (got.kalpha2, got.lambda2, got.lorentzian) == (0.48, 1.54439, (0.02, 0.005))
    dialog.kalpha2_row.lambda2_edit.setText("")
    dialog.wavelength_edit.setText("0.5654")  # a doublet needs a tube's K-alpha1 or its lambda2
    with pytest.raises(NanotwinError, match="not a tube.s K-alpha1"):
        dialog.choice()


def test_fit_options_edit_lorentzian_and_kalpha2(fake_main_window, qtbot, tmp_path):
    window = fake_main_window
    ws = window.workspace
    options = window.refine_dock_widget.fit_options
    ws.set_model(replace(ws.model, instrument=Instrument("lab", (0.004, -0.0015, 0.0012))))
    options.lorentzian_edit.setText("0.02, 0.005")
    options.lorentzian_edit.editingFinished.emit()
    assert ws.model.instrument.lorentzian == (0.02, 0.005)
    options.kalpha2_row.check.click()
    assert (ws.model.instrument.kalpha2, ws.model.instrument.lambda2) == (0.5, None)
    options.kalpha2_row.ratio_spin.setValue(0.45)
    options.kalpha2_row.lambda2_edit.setText("1.5444")
    options.kalpha2_row.lambda2_edit.editingFinished.emit()
    assert (ws.model.instrument.kalpha2, ws.model.instrument.lambda2) == (0.45, 1.5444)
    options.lorentzian_edit.setText("0.02")
    options.lorentzian_edit.editingFinished.emit()
    assert "2 numbers" in options.message_label.text() and ws.model.instrument.lorentzian == (0.02, 0.005)
    ws.set_model(replace(ws.model, instrument=Instrument("lab", (0.004, -0.0015, 0.0012), kalpha2=0.3)))
    assert options.kalpha2_row.check.isChecked() and options.kalpha2_row.ratio_spin.value() == 0.3
    assert options.lorentzian_edit.text() == ""  # shown as the model has it
    assert ws.model.instrument.kalpha2 == 0.3  # shown, not rewritten


@pytest.mark.parametrize("model", ["demo", "population"])
def test_docks_do_not_scroll_sideways_at_1280x720(fake_main_window, qtbot, tmp_path, model):
    window = fake_main_window
    with qtbot.waitSignal(window.demo_finished, timeout=5000):
        window.run_demo("cspbbr3-298k")
    assert window.files.load_data(write_q_xye(tmp_path / "data.xye"))
    if model == "population":  # the guide's PbS spheres: a wider model dock (the population row)
        dock = window.model_dock_widget
        dock.structure_combo.setCurrentText("PbS-rocksalt")
        dock.shape_combo.setCurrentText("sphere")
        dock.population_check.setChecked(True)
    window.show()
    window.resize(1280, 720)
    qtbot.wait(30)
    window.size_docks()
    qtbot.wait(80)
    window.refine_dock.raise_()
    qtbot.wait(30)
    assert (window.width(), window.height()) == (1280, 720)
    for name, scroll in window.dock_scrolls.items():
        if scroll.isVisible():
            assert not scroll.horizontalScrollBar().isVisible(), f"{name} scrolls sideways"
    refine, options = window.refine_dock_widget, window.refine_dock_widget.fit_options
    for name, widget in {"Build": window.model_dock_widget.build_button, "Set up": refine.setup_button,
                         "Run": refine.run_button, "Stop": refine.stop_button, "Accept": refine.accept_button,
                         "Revert": refine.revert_button, "Rwp/GoF": refine.figures_label}.items():
        assert shown_without_scrolling(widget, window), name
    scroll = window.dock_scrolls["refine_dock"]
    below = {"Lorentzian": options.lorentzian_edit, "K-alpha2": options.kalpha2_row,
             "From the data": refine.defaults_button, "Export report": refine.report_button}
    for name, widget in below.items():
        scroll.ensureWidgetVisible(widget)
        qtbot.wait(10)
        assert shown_without_scrolling(widget, window), name  # reachable by scrolling down only
        right_edge = widget.mapTo(scroll.viewport(), QPoint(widget.width(), 0)).x()
        assert right_edge <= scroll.viewport().width(), name
    assert window.viewer.width() >= 400  # the 3D view keeps a usable width
    assert window.grab().save(str(tmp_path / "window_1280x720_refinement.png"))
