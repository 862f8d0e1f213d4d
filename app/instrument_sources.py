"""Where the import dialog's instrument comes from besides typing: an instrument file (GSAS-II
.instprm or nanotwin .toml) or a calibrant fit run here.

``InstrumentSources`` is the row of the two buttons; it emits ``chosen(instrument, text)`` with a
``nanotwin_core.model_parts.Instrument`` and a line saying where it came from (with esds for a
calibrant). ``CalibrantDialog`` asks for the calibrant's pattern, its standard and wavelength,
runs ``refine.calibrant.calibrate_pattern_file`` in a worker (``tasks.CoreJob``: progress, Cancel)
and shows the result; "Use" accepts it.
"""

from __future__ import annotations

from pathlib import Path

from nanotwin_app.tasks import CoreJob, JobRunner
from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from nanotwin_core.errors import NanotwinError
from nanotwin_core.io.data import PATTERN_FILTER
from nanotwin_core.io.instrument_file import read_instrument_file
from nanotwin_core.refine.calibrant import CalibrantResult, calibrate_pattern_file
from nanotwin_core.structures.calibrants import calibrant_names

INSTRUMENT_FILTER = "Instrument files (*.instprm *.toml);;All files (*)"


def esd_text(result: CalibrantResult) -> str:
    """'U = 0.0040(2), ...' style line of a calibrant fit, with Rwp."""
    parts = [f"{name} = {value:.6g} ± {result.esd.get(name, float('nan')):.2g}"
             for name, value in result.values().items()]
    return f"{result.calibrant} calibrant, Rwp {result.rwp:.4f}: " + ", ".join(parts)


class CalibrantDialog(QDialog):
    """Fit the instrument to a calibrant pattern; ``fitted`` (a ``CalibrantResult``) once a fit
    succeeded, None before or after a failed or cancelled one."""

    def __init__(self, folder: str, wavelength: float | None, polarization: str,
                 parent: QWidget | None = None, kalpha2: tuple[float | None, float | None] = (None, None)
                 ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Instrument from a calibrant")
        self.setMinimumWidth(520)
        self.folder = folder
        self.polarization = polarization
        self.kalpha2, self.lambda2 = kalpha2  # the import dialog's K-alpha2 line: both lines per peak
        self.fitted: CalibrantResult | None = None
        self.job: CoreJob | None = None
        self.runner = JobRunner(self, max_threads=1)
        outer = QVBoxLayout(self)
        form = QFormLayout()
        row = QHBoxLayout()
        self.path_edit = QLineEdit()
        self.path_edit.setPlaceholderText("2θ pattern of the standard")
        self.path_button = QPushButton("Choose…")
        row.addWidget(self.path_edit, 1)
        row.addWidget(self.path_button)
        form.addRow("pattern", row)
        std = QHBoxLayout()
        self.standard_combo = QComboBox()
        self.standard_combo.setEditable(True)
        self.standard_combo.addItems(calibrant_names())
        self.standard_combo.setToolTip("Si (SRM 640f), LaB6 (SRM 660c), CeO2 (SRM 674b) or a CIF file")
        self.cif_button = QPushButton("CIF…")
        std.addWidget(self.standard_combo, 1)
        std.addWidget(self.cif_button)
        form.addRow("standard", std)
        self.wavelength_edit = QLineEdit("" if wavelength is None else repr(float(wavelength)))
        self.wavelength_edit.setPlaceholderText("Å; empty: the file's header")
        form.addRow("wavelength (Å)", self.wavelength_edit)
        self.lorentzian_check = QCheckBox("also fit Lorentzian X, Y (TCH profile)")
        form.addRow("", self.lorentzian_check)
        outer.addLayout(form)
        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        outer.addWidget(self.progress)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        outer.addWidget(self.status)
        buttons = QDialogButtonBox()
        self.fit_button = buttons.addButton("Fit", QDialogButtonBox.ButtonRole.ActionRole)
        self.use_button = buttons.addButton("Use", QDialogButtonBox.ButtonRole.AcceptRole)
        self.cancel_button = buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.use_button.setEnabled(False)
        outer.addWidget(buttons)
        self.path_button.clicked.connect(self._choose_pattern)
        self.cif_button.clicked.connect(self._choose_cif)
        self.fit_button.clicked.connect(self.start_fit)
        self.use_button.clicked.connect(self.accept)
        self.cancel_button.clicked.connect(self._cancel)

    def _choose_pattern(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Calibrant pattern", self.folder, PATTERN_FILTER)
        if path:
            self.path_edit.setText(path)

    def _choose_cif(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Calibrant structure", self.folder, "CIF (*.cif)")
        if path:
            self.standard_combo.setEditText(path)

    def running(self) -> bool:
        return self.runner.is_running(self.job)

    def start_fit(self) -> None:
        """Start the calibrant fit in a worker (the fields checked first)."""
        path = self.path_edit.text().strip()
        text = self.wavelength_edit.text().strip()
        try:
            if not path:
                raise NanotwinError("choose the calibrant's pattern file")
            wavelength = float(text) if text else None
            if wavelength is not None and not wavelength > 0:
                raise NanotwinError(f"the wavelength must be > 0 Å, got {text}")
        except ValueError:
            self.status.setText(f"the wavelength {text!r} is not a number")
            return
        self.fitted = None
        self.use_button.setEnabled(False)
        self.fit_button.setEnabled(False)
        self.progress.setValue(0)
        self.status.setText("fitting…")
        job = CoreJob(calibrate_pattern_file, path, self.standard_combo.currentText().strip(), wavelength,
                      lorentzian=self.lorentzian_check.isChecked(), polarization=self.polarization,
                      kalpha2=self.kalpha2, lambda2=self.lambda2,
                      name="calibrant fit")
        job.yielded.connect(self._progress)
        job.returned.connect(self._done)
        job.errored.connect(lambda exc: self._stopped(f"Calibrant fit failed: {exc}"))
        job.aborted.connect(lambda: self._stopped("Calibrant fit cancelled: nothing changed."))
        self.job = self.runner.start(job)

    def _progress(self, value: object) -> None:
        if isinstance(value, (int, float)):
            self.progress.setValue(int(round(100 * float(value))))
        elif isinstance(value, str):
            self.status.setText(value)

    def _done(self, result: CalibrantResult) -> None:
        self.fitted = result
        self.progress.setValue(100)
        self.status.setText("\n".join(result.lines() + [f"note: {m}" for m in result.messages]))
        self.use_button.setEnabled(True)
        self.fit_button.setEnabled(True)

    def _stopped(self, message: str) -> None:
        self.status.setText(message)
        self.fit_button.setEnabled(True)

    def _cancel(self) -> None:
        """Cancel stops a running fit (the dialog stays); otherwise it closes the dialog."""
        if self.running():
            self.runner.cancel(self.job)
        else:
            self.reject()

    def done(self, code: int) -> None:  # noqa: D102 - closing also stops a running fit
        if self.running():
            self.runner.shutdown()
        super().done(code)


class InstrumentSources(QWidget):
    """"From file…" and "From a calibrant…" buttons; ``chosen(Instrument, text)`` when one gave an
    instrument, ``failed(message)`` when a file could not be read."""

    chosen = Signal(object, str)
    failed = Signal(str)

    def __init__(self, folder: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.folder = folder
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        self.file_button = QPushButton("From file…")
        self.file_button.setToolTip("GSAS-II .instprm or nanotwin .toml [instrument] "
                                    "(e.g. from nanotwin calibrate)")
        self.calibrant_button = QPushButton("From a calibrant…")
        self.calibrant_button.setToolTip("fit U, V, W and the zero shift to a pattern of Si, LaB6, CeO2 "
                                         "or a CIF")
        row.addWidget(self.file_button)
        row.addWidget(self.calibrant_button)
        row.addStretch(1)
        self.file_button.clicked.connect(self.choose_file)

    def choose_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Instrument file", self.folder, INSTRUMENT_FILTER)
        if path:
            self.load_file(path)

    def load_file(self, path: str) -> None:
        """Read an instrument file and emit it (``failed`` with the one-line error otherwise)."""
        try:
            got = read_instrument_file(path)
        except NanotwinError as exc:
            self.failed.emit(str(exc))
            return
        notes = "".join(f"; {note}" for note in got.notes)
        self.chosen.emit(got.instrument, f"from {Path(path).name}{notes}")

    def run_calibrant(self, wavelength: float | None, polarization: str,
                      kalpha2: tuple[float | None, float | None] = (None, None)) -> None:
        """Open the calibrant dialog (``kalpha2``: ratio and lambda2 of a K-alpha2 line, fitted
        with it); emit its instrument when the user chose "Use"."""
        dialog = CalibrantDialog(self.folder, wavelength, polarization, self, kalpha2)
        if dialog.exec() and dialog.fitted is not None:
            self.chosen.emit(dialog.fitted.instrument, esd_text(dialog.fitted))
