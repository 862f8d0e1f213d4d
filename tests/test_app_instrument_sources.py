"""The import dialog's instrument from a file or a calibrant fit (offscreen, driven through the
widgets; the calibrant fit runs in a worker with progress and Cancel)."""

from __future__ import annotations

import numpy as np
import pytest
from nanotwin_app import instrument_sources
from nanotwin_app.import_dialog import ImportDialog, initial_choice
from nanotwin_app.instrument_sources import CalibrantDialog
from PySide6.QtWidgets import QDialog

from nanotwin_core.io.data import write_pattern
from nanotwin_core.io.import_guess import guess_import
from nanotwin_core.io.instrument_file import write_instprm
from nanotwin_core.model import Instrument
from nanotwin_core.refine.calibrant_pattern import calibrant_pattern
from nanotwin_core.structures.calibrants import calibrant_structure

TRUE = Instrument("sync", (0.004, -0.0015, 0.0012), 0.0123)


def dialog_for(qtbot, tmp_path) -> ImportDialog:
    path = tmp_path / "sample_wl1p0A.xye"
    tth = np.linspace(5.0, 40.0, 200)
    path.write_text("# wavelength = 1.0 A\n" + "\n".join(f"{t:.4f} {100 + t:.4f} 3.0" for t in tth) + "\n")
    guess = guess_import(path)
    dialog = ImportDialog(guess, initial_choice(guess, None, Instrument()))
    qtbot.addWidget(dialog)
    return dialog


@pytest.fixture(scope="module")
def si_pattern(tmp_path_factory):
    x = np.arange(15, 75, 0.01)
    y = calibrant_pattern(calibrant_structure("Si"), x, 1.0, TRUE.validate(), rng=np.random.default_rng(7))
    path = tmp_path_factory.mktemp("si") / "si.xye"
    write_pattern(path, x, y, header_lines=["wavelength = 1.0", "columns: 2theta I"])
    return path


def test_from_file_fills_the_instrument(qtbot, tmp_path, monkeypatch):
    dialog = dialog_for(qtbot, tmp_path)
    ins = Instrument("lab", (0.0123, -0.0031, 0.00142), 0.0071, (0.004, 0.0015)).validate()
    path = write_instprm(tmp_path / "lab.instprm", ins, 1.0)
    monkeypatch.setattr(instrument_sources.QFileDialog, "getOpenFileName", lambda *a, **k: (str(path), ""))
    dialog.sources.file_button.click()
    assert "from lab.instprm" in dialog.instrument_source.text()
    got = dialog.choice().instrument()
    assert got.polarization == "lab" and got.zero == pytest.approx(0.0071, abs=1e-5)
    assert got.caglioti == pytest.approx(ins.caglioti, rel=1e-12)
    assert got.lorentzian == pytest.approx(ins.lorentzian, rel=1e-12)
    bad = tmp_path / "bad.instprm"
    bad.write_text("Type:PXC\nU:1\n")
    monkeypatch.setattr(instrument_sources.QFileDialog, "getOpenFileName", lambda *a, **k: (str(bad), ""))
    dialog.sources.file_button.click()
    assert "bad.instprm" in dialog.message_label.text() and "missing" in dialog.message_label.text()


def test_from_a_calibrant_runs_in_a_worker_and_fills_values_with_esds(qtbot, tmp_path, monkeypatch,
                                                                      si_pattern):
    dialog = dialog_for(qtbot, tmp_path)
    fits = []

    def drive(self):  # the calibrant dialog, driven as a user would
        fits.append(self)
        assert self.wavelength_edit.text() == "1.0"  # the import dialog's wavelength
        self.path_edit.setText(str(si_pattern))
        self.standard_combo.setCurrentText("Si")
        self.fit_button.click()
        qtbot.waitUntil(lambda: self.use_button.isEnabled(), timeout=60_000)
        assert self.progress.value() == 100 and "GoF" in self.status.text()
        self.use_button.click()
        return QDialog.DialogCode.Accepted.value

    monkeypatch.setattr(CalibrantDialog, "exec", drive)
    dialog.sources.calibrant_button.click()
    result = fits[0].fitted
    got = dialog.choice().instrument()
    assert got.caglioti == pytest.approx(result.instrument.caglioti, rel=1e-12)
    for name, value in (("U", 0.004), ("V", -0.0015), ("W", 0.0012), ("zero", 0.0123)):
        assert abs(result.values()[name] - value) < 3 * result.esd[name]
    assert got.zero == pytest.approx(result.instrument.zero, abs=1e-5)  # the spin box keeps 5 decimals
    assert "Si calibrant" in dialog.instrument_source.text() and "±" in dialog.instrument_source.text()


def test_calibrant_fit_cancel_and_wrong_standard(qtbot, si_pattern):
    dialog = CalibrantDialog(str(si_pattern.parent), 1.0, "sync")
    qtbot.addWidget(dialog)
    dialog.path_edit.setText(str(si_pattern))
    dialog.standard_combo.setCurrentText("LaB6")
    dialog.fit_button.click()
    qtbot.waitUntil(lambda: not dialog.running(), timeout=60_000)
    assert "failed" in dialog.status.text() and "LaB6" in dialog.status.text()
    assert not dialog.use_button.isEnabled() and dialog.fitted is None
    dialog.standard_combo.setCurrentText("Si")
    dialog.fit_button.click()
    dialog.cancel_button.click()  # while running: stops the fit, the dialog stays
    qtbot.waitUntil(lambda: not dialog.running(), timeout=60_000)
    assert "cancelled" in dialog.status.text() and dialog.fitted is None and dialog.fit_button.isEnabled()


def test_lorentzian_without_caglioti_is_refused_with_a_message(qtbot, tmp_path):
    dialog = dialog_for(qtbot, tmp_path)
    dialog.caglioti_edit.setText("")
    dialog.lorentzian_edit.setText("0.01, 0.002")
    dialog.buttons.accepted.emit()
    assert "caglioti" in dialog.message_label.text() and dialog.result() != QDialog.DialogCode.Accepted.value
