"""File > Import data (offscreen): the import dialog driven through its widgets, the per-folder
memory, what the import sets in the model, and one wavelength for data and model (a wavelength
change moves 2theta data on the Q axis)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import test_vendor_formats as vendor
from app_helpers import fake_result
from nanotwin_app import jobs
from nanotwin_app.import_dialog import ImportChoice, ImportDialog, initial_choice

from nanotwin_core.geometry import q_from_two_theta
from nanotwin_core.io.import_guess import guess_import
from nanotwin_core.model import Instrument

TTH = np.linspace(5.0, 40.0, 200)


def write_tth(path, header=()):
    lines = [*header, *(f"{t:.4f} {100 + 50 * np.sin(t):.4f} 3.0" for t in TTH)]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def window(headless_window, monkeypatch):
    monkeypatch.setattr(jobs, "build_and_compute", lambda *a, progress=None, cancel=None, **k: fake_result())
    return headless_window


def data_x(window):
    return window.pattern_panel.data_curve.getData()[0]


def test_dialog_asks_for_a_missing_wavelength(qtbot, tmp_path):
    guess = guess_import(write_tth(tmp_path / "plain.xye"))
    dialog = ImportDialog(guess, initial_choice(guess, None, Instrument()))
    qtbot.addWidget(dialog)
    assert dialog.x_kind == "tth"
    assert not dialog.warning_label.isHidden() and not dialog.ok_button.isEnabled()
    qtbot.keyClicks(dialog.energy_edit, "25")
    assert dialog.wavelength() == pytest.approx(12.398419843320026 / 25, rel=1e-15)
    assert dialog.warning_label.isHidden() and dialog.ok_button.isEnabled()
    assert dialog.wavelength_reason.text() == "from the energy given here"
    dialog.wavelength_edit.clear()
    qtbot.keyClicks(dialog.wavelength_edit, "0.49547592")
    assert dialog.energy_edit.text() == f"{12.398419843320026 / 0.49547592:.6f}"
    choice = dialog.choice()
    assert (choice.x_kind, choice.wavelength, choice.polarization) == ("tth", 0.49547592, "sync")
    dialog.wavelength_edit.clear()
    dialog.wavelength_edit.textEdited.emit("")
    assert not dialog.ok_button.isEnabled()
    dialog.x_combo.setCurrentIndex(dialog.x_combo.findData("q"))  # Q data need no wavelength
    assert dialog.warning_label.isHidden() and dialog.ok_button.isEnabled()
    assert not dialog.instrument_box.isEnabled()
    assert dialog.choice().instrument() == Instrument(polarization="none")


def test_dialog_shows_the_file_name_wavelength_at_full_precision(qtbot, tmp_path):
    guess = guess_import(write_tth(tmp_path / "PbS_wl0p49547592A_3nm.xye"))
    dialog = ImportDialog(guess, initial_choice(guess, None, Instrument()))
    qtbot.addWidget(dialog)
    assert dialog.wavelength_edit.text() == "0.49547592"
    assert "file name" in dialog.wavelength_reason.text()
    assert dialog.ok_button.isEnabled()


def test_a_wavelength_change_moves_the_data(window, tmp_path):
    path = write_tth(tmp_path / "scan.xye", ["# wavelength = 0.7093 A", "# 2theta I sigma"])
    assert window.files.load_data(path)
    assert window.workspace.data.wavelength == 0.7093
    assert window.pattern_panel.wavelength == pytest.approx(0.7093)
    assert window.workspace.model.radiation.beam_wavelength == 0.7093
    np.testing.assert_allclose(data_x(window), q_from_two_theta(window.workspace.data.x, 0.7093), rtol=1e-9)
    window.pattern_panel.wavelength_spin.setValue(0.5)  # the user's edit
    np.testing.assert_allclose(data_x(window), q_from_two_theta(window.workspace.data.x, 0.5), rtol=1e-9)
    assert window.workspace.data.wavelength == 0.5
    assert window.workspace.model.radiation.beam_wavelength == 0.5
    assert window.fits.fit_data().wavelength == 0.5  # the fit sees the same Q
    dock = window.model_dock_widget  # the model dock's wavelength moves them too
    dock.wavelength_spin.setValue(0.6)
    assert window.pattern_panel.wavelength == pytest.approx(0.6)
    np.testing.assert_allclose(data_x(window), q_from_two_theta(window.workspace.data.x, 0.6), rtol=1e-9)


def test_no_wavelength_warning_stays_until_answered(window, qtbot, tmp_path):
    assert window.files.load_data(write_tth(tmp_path / "plain.xye"))
    notice = window.pattern_panel.notice_label
    assert not notice.isHidden() and "no wavelength" in notice.text()
    window.statusBar().showMessage("something else")
    with qtbot.waitSignal(window.runner.busy_changed, timeout=5000, check_params_cb=lambda b: not b):
        window.model_dock_widget.build_button.click()
    assert not notice.isHidden()  # a build and other messages leave it
    wl = window.pattern_panel.wavelength
    np.testing.assert_allclose(data_x(window), q_from_two_theta(window.workspace.data.x, wl))
    window.pattern_panel.wavelength_spin.setValue(0.62)
    assert notice.isHidden()


def test_import_sets_the_model_and_is_remembered_per_folder(window, tmp_path, monkeypatch):
    folder = tmp_path / "beamtime"
    folder.mkdir()
    blank = write_tth(folder / "solvent.xye", ["# wavelength = 0.5 A"])
    asked = []

    def answer(guess, proposal):
        asked.append(proposal)
        return replace(proposal, wavelength=proposal.wavelength or 0.5, polarization="lab",
                       caglioti=(0.001, -0.0005, 0.002), zero=0.01, blank=str(blank), fit_range=(8.0, 35.0))

    monkeypatch.setattr(window, "ask_import", answer)
    assert window.files.load_data(write_tth(folder / "first.xye"))
    model = window.workspace.model
    assert model.instrument == Instrument(polarization="lab", caglioti=(0.001, -0.0005, 0.002), zero=0.01)
    assert (model.fit.tth_range, model.fit.q_range, model.fit.blank) == ((8.0, 35.0), None, str(blank))
    assert window.workspace.data.wavelength == 0.5
    monkeypatch.setattr(window, "ask_import", lambda guess, proposal: asked.append(proposal) or proposal)
    assert window.files.load_data(write_tth(folder / "second.xye"))
    second = asked[-1]
    assert (second.wavelength, second.polarization, second.caglioti, second.zero) == (
        0.5, "lab", (0.001, -0.0005, 0.002), 0.01)
    assert "last imported from this folder" in second.wavelength_reason
    assert (second.blank, second.fit_range) == (str(blank), (8.0, 35.0))
    other = tmp_path / "elsewhere"
    other.mkdir()
    assert window.files.load_data(write_tth(other / "third.xye"))
    assert asked[-1].wavelength is None  # another folder: nothing remembered, the model's instrument
    assert (asked[-1].caglioti, asked[-1].blank, asked[-1].fit_range) == ((0.001, -0.0005, 0.002), None, None)
    assert asked[-1].polarization == "sync"  # the source's: no wavelength tells a tube (as nanotwin fit)


def test_cancelled_import_changes_nothing(window, tmp_path, monkeypatch):
    monkeypatch.setattr(window, "ask_import", lambda guess, proposal: None)
    assert not window.files.load_data(write_tth(tmp_path / "scan.xye"))
    assert window.workspace.data is None


def test_choice_round_trips_through_settings_json():
    choice = ImportChoice("q", 0.49547592, "x", "none", (1.0, 2.0, 3.0), 0.0, None, (1.0, float("inf")))
    assert ImportChoice.from_json(choice.to_json()) == choice
    assert ImportChoice.from_json("not json") is None


def test_zero_shift_in_the_fit_options(window):
    options = window.refine_dock_widget.fit_options
    options.zero_spin.setValue(0.0123)
    assert window.workspace.model.instrument.zero == pytest.approx(0.0123)
    ws = window.workspace
    ws.set_model(replace(ws.model, instrument=Instrument(polarization="lab", zero=-0.004)))
    assert options.zero_spin.value() == pytest.approx(-0.004)
    assert ws.model.instrument == Instrument(polarization="lab", zero=-0.004)  # shown, not rewritten


def test_a_demo_does_not_move_loaded_data(window, qtbot, tmp_path, monkeypatch):
    from app_helpers import fake_result

    monkeypatch.setattr(jobs, "run_demo", lambda name, progress=None, cancel=None: fake_result())
    assert window.files.load_data(write_tth(tmp_path / "scan.xye", ["# wavelength = 0.7093 A"]))
    with qtbot.waitSignal(window.demo_finished, timeout=5000):
        window.run_demo("cspbbr3-298k")  # the demo's model has its own wavelength, 0.565468 Å
    assert window.workspace.data.wavelength == 0.7093
    assert window.workspace.model.radiation.beam_wavelength == 0.7093
    assert window.pattern_panel.wavelength == pytest.approx(0.7093)


def test_model_dock_shows_the_wavelength_at_full_precision(window, tmp_path):
    assert window.files.load_data(write_tth(tmp_path / "PbS_wl0p49547592A.xye"))
    spin = window.model_dock_widget.wavelength_spin
    assert spin.value() == pytest.approx(0.49547592, abs=1e-12)
    assert "0.49547592" in spin.text()
    assert window.workspace.model.radiation.beam_wavelength == 0.49547592


def test_an_instrument_file_opens_through_the_import_dialog(window, tmp_path, monkeypatch):
    """A PANalytical .xrdml opens from File > Open like any pattern: the dialog is proposed 2θ
    and the file's K-alpha1 wavelength, and the data arrive as written."""
    asked = []
    monkeypatch.setattr(window, "ask_import",
                        lambda guess, proposal: asked.append((guess, proposal)) or proposal)
    assert window.open_file(vendor.xrdml(tmp_path / "lab.xrdml"))
    guess, proposal = asked[-1]
    assert (guess.x_kind, guess.certain) == ("tth", True)
    assert proposal.wavelength == pytest.approx(1.540598, abs=1e-9)
    np.testing.assert_allclose(window.workspace.data.y, vendor.COUNTS)
    np.testing.assert_allclose(window.workspace.data.x, vendor.TTH)
    assert proposal.kalpha2 is None  # "K-Alpha 1": one line
    assert window.open_file(vendor.xrdml(tmp_path / "doublet.xrdml", intended="K-Alpha"))
    assert (asked[-1][1].kalpha2, asked[-1][1].lambda2) == (0.5, pytest.approx(1.544426))
