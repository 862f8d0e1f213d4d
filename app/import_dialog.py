"""File > Import data: the dialog that asks, as GSAS-II does, what a pattern file is before it is
loaded: x axis (2θ, Q, d), wavelength or energy at full precision, instrument (polarization,
Caglioti U, V, W, zero shift, Lorentzian X, Y, K-α2 line), an optional blank and the fit range.
The polarization nobody chose follows the wavelength (``lab_sources.source_polarization``, as
``nanotwin fit``): lab (f = 0.5) for a tube line, else sync; the line under it says why.

The proposal comes from the core (``io.import_guess.guess_import``: each choice with its
reason) and from what was chosen last time in the same folder (``ImportChoice`` as QSettings
JSON). A 2θ file without a wavelength keeps a red warning and a disabled OK until one is given.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

from nanotwin_app.docks.instrument_rows import Kalpha2Row, lorentzian_edit, numbers_text, parse_numbers
from nanotwin_app.docks.path_row import PathRow
from nanotwin_app.instrument_sources import InstrumentSources
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from nanotwin_core.errors import NanotwinError
from nanotwin_core.io.data import PATTERN_FILTER
from nanotwin_core.io.import_guess import X_KINDS, ImportGuess, wavelength_from_energy
from nanotwin_core.io.vendor_formats import declared_kalpha2
from nanotwin_core.model import Instrument
from nanotwin_core.scattering.lab_sources import source_polarization
from nanotwin_core.scattering.polarization import polarization_fraction

POLARIZATIONS = ("none", "lab", "sync")
REMEMBERED_POLARIZATION = "polarization as last imported from this folder"
NO_WAVELENGTH = ("No wavelength: the file states none. Give the wavelength (or the energy) of the "
                 "measurement: 2θ cannot be put on the Q axis of the model without it.")


@dataclass
class ImportChoice:
    """What the user confirmed about a data file (plain values; stored per folder as JSON).

    ``fit_range``: (min, max) in the data's x unit after import (2θ degrees for 2θ data, Q in
    1/Å for Q and d data); None = the whole pattern.
    """

    x_kind: str = "tth"
    wavelength: float | None = None
    wavelength_reason: str = ""
    polarization: str = "sync"
    caglioti: tuple[float, float, float] | None = None
    zero: float = 0.0
    blank: str | None = None
    fit_range: tuple[float, float] | None = None
    lorentzian: tuple[float, float] | None = None  # X, Y (deg) of a TCH profile; None: pV 0.5
    kalpha2: float | None = None  # I(Kα2)/I(Kα1) of a tube's doublet; None: one wavelength
    lambda2: float | None = None  # Kα2 wavelength (Å); None: the tube's
    polarization_reason: str = ""  # why this polarization (the source's default, or remembered)

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> ImportChoice | None:
        """The choice stored by ``to_json`` (None for anything else)."""
        try:
            d = json.loads(text)
            choice = cls(**d)
        except (TypeError, ValueError):
            return None
        choice.caglioti = tuple(choice.caglioti) if choice.caglioti else None
        choice.fit_range = tuple(choice.fit_range) if choice.fit_range else None
        choice.lorentzian = tuple(choice.lorentzian) if choice.lorentzian else None
        return choice

    def instrument(self) -> Instrument:
        """The model's instrument for this data (polarization only applies to 2θ)."""
        tth = self.x_kind == "tth"
        if not tth:
            return Instrument(polarization="none").validate()
        ins = Instrument(polarization=self.polarization, caglioti=self.caglioti, zero=self.zero,
                         lorentzian=self.lorentzian, kalpha2=self.kalpha2, lambda2=self.lambda2).validate()
        if self.wavelength:
            ins.kalpha2_wavelength(self.wavelength)  # a doublet needs lambda2 or a tube's K-alpha1
        return ins


def initial_choice(guess: ImportGuess, remembered: ImportChoice | None,
                   instrument: Instrument) -> ImportChoice:
    """The dialog's proposal: the file's own statements first (axis, wavelength, a K-alpha
    doublet), then what was chosen last time in
    its folder, then the model's resolution and zero with the polarization of the source (lab for
    a tube's wavelength, else sync: ``source_polarization``, as ``nanotwin fit``)."""
    base = remembered or ImportChoice(caglioti=instrument.caglioti, zero=instrument.zero,
                                      lorentzian=instrument.lorentzian)
    x_kind = guess.x_kind if guess.certain or remembered is None else remembered.x_kind
    if guess.wavelength is not None:
        wavelength, reason = guess.wavelength, guess.wavelength_reason
    elif remembered is not None and remembered.wavelength is not None:
        wavelength, reason = remembered.wavelength, "as last imported from this folder (the file states none)"
    else:
        wavelength, reason = None, guess.wavelength_reason
    if remembered is not None:
        polarization, why = remembered.polarization, REMEMBERED_POLARIZATION
    else:
        polarization, why = source_polarization(wavelength)
    blank = base.blank if base.blank and Path(base.blank).exists() else None
    fit_range = base.fit_range if remembered is not None and remembered.x_kind == x_kind else None
    kalpha2, lambda2 = base.kalpha2, base.lambda2
    doublet = declared_kalpha2(guess.header)
    if doublet is not None and x_kind == "tth":  # the file's own statement comes first
        kalpha2, lambda2 = doublet
    return ImportChoice(x_kind, wavelength, reason, polarization, base.caglioti, base.zero, blank,
                        fit_range, base.lorentzian, kalpha2, lambda2, why)


def _number_text(value: float | None) -> str:
    return "" if value is None else repr(float(value))


class ImportDialog(QDialog):
    """Confirm how a pattern file is read (see the module doc); ``choice()`` after exec."""

    def __init__(self, guess: ImportGuess, choice: ImportChoice, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.guess = guess
        self.setWindowTitle(f"Import {Path(guess.path).name}")
        self.setMinimumWidth(560)
        self._syncing = False
        # the user's (or the folder's) polarization stays; the source's follows the wavelength
        self.polarization_chosen = choice.polarization_reason == REMEMBERED_POLARIZATION
        outer = QVBoxLayout(self)
        lo, hi = guess.x_range
        sigma = "with σ" if guess.has_sigma else "no σ column (Poisson estimate √I)"
        name = Path(guess.path).name
        summary = QLabel(f"<b>{name}</b>: {guess.n_points} points, x = {lo:g}–{hi:g}, {sigma}")
        summary.setWordWrap(True)
        outer.addWidget(summary)

        axis = QGroupBox("x axis and wavelength")
        form = QFormLayout(axis)
        self.x_combo = QComboBox()
        for key, label in X_KINDS.items():
            self.x_combo.addItem(label, key)
        self.x_combo.setCurrentIndex(self.x_combo.findData(choice.x_kind))
        form.addRow("first column", self.x_combo)
        self.x_reason = QLabel(guess.x_reason)
        self.x_reason.setWordWrap(True)
        if not guess.certain:
            self.x_reason.setStyleSheet("color: #a05000")
        form.addRow("", self.x_reason)
        wl_row = QHBoxLayout()
        self.wavelength_edit = QLineEdit(_number_text(choice.wavelength))
        self.wavelength_edit.setPlaceholderText("Å, e.g. 0.49547592")
        self.energy_edit = QLineEdit()
        self.energy_edit.setPlaceholderText("keV")
        wl_row.addWidget(self.wavelength_edit, 2)
        wl_row.addWidget(QLabel("Å   or energy"))
        wl_row.addWidget(self.energy_edit, 1)
        wl_row.addWidget(QLabel("keV"))
        form.addRow("wavelength", wl_row)
        self.wavelength_reason = QLabel(choice.wavelength_reason)
        self.wavelength_reason.setWordWrap(True)
        form.addRow("", self.wavelength_reason)
        self.warning_label = QLabel(NO_WAVELENGTH)
        self.warning_label.setWordWrap(True)
        self.warning_label.setStyleSheet("color: #b00000; font-weight: bold")
        form.addRow(self.warning_label)
        outer.addWidget(axis)

        ins = QGroupBox("Instrument (2θ data)")
        iform = QFormLayout(ins)
        self.polarization_combo = QComboBox()
        self.polarization_combo.setEditable(True)
        self.polarization_combo.addItems(list(POLARIZATIONS))
        self.polarization_combo.setCurrentText(choice.polarization)
        self.polarization_combo.setToolTip("none, lab (unpolarized, (1 + cos² 2θ)/2), sync (f = 0.95), "
                                           "sync:F or mono:2θ_M (a tube behind a monochromator)")
        iform.addRow("polarization", self.polarization_combo)
        self.polarization_reason = QLabel(choice.polarization_reason)
        self.polarization_reason.setWordWrap(True)
        iform.addRow("", self.polarization_reason)
        self.caglioti_edit = QLineEdit(numbers_text(choice.caglioti))
        self.caglioti_edit.setPlaceholderText("U, V, W (deg²) from a calibrant fit; empty: no resolution")
        iform.addRow("Caglioti profile", self.caglioti_edit)
        self.zero_spin = QDoubleSpinBox()
        self.zero_spin.setRange(-0.5, 0.5)  # as Instrument.validate
        self.zero_spin.setDecimals(5)
        self.zero_spin.setSingleStep(0.001)
        self.zero_spin.setValue(choice.zero)
        self.zero_spin.setSuffix(" °")
        iform.addRow("zero shift", self.zero_spin)
        self.lorentzian_edit = lorentzian_edit()
        self.lorentzian_edit.setText(numbers_text(choice.lorentzian))
        iform.addRow("Lorentzian", self.lorentzian_edit)
        self.kalpha2_row = Kalpha2Row()
        self.kalpha2_row.set_value(choice.kalpha2, choice.lambda2)
        iform.addRow("K-α2 line", self.kalpha2_row)
        self.sources = InstrumentSources(str(Path(guess.path).parent))
        iform.addRow("", self.sources)
        self.instrument_source = QLabel("")
        self.instrument_source.setWordWrap(True)
        iform.addRow("", self.instrument_source)
        self.instrument_box = ins
        outer.addWidget(ins)

        fit = QGroupBox("Fit")
        fform = QFormLayout(fit)
        self.blank_row = PathRow(choice.blank)
        self.blank_path = choice.blank
        self.blank_button, self.blank_clear = self.blank_row.choose, self.blank_row.clear
        fform.addRow("blank / solvent", self.blank_row)
        range_row = QHBoxLayout()
        self.range_min = QDoubleSpinBox()
        self.range_max = QDoubleSpinBox()
        for spin in (self.range_min, self.range_max):
            spin.setRange(0.0, 1000.0)
            spin.setDecimals(4)
            spin.setSpecialValueText("all")
            range_row.addWidget(spin)
        if choice.fit_range is not None:
            self.range_min.setValue(choice.fit_range[0])
            self.range_max.setValue(choice.fit_range[1] if math.isfinite(choice.fit_range[1]) else 0.0)
        self.range_unit = QLabel()
        range_row.addWidget(self.range_unit)
        fform.addRow("fit range", range_row)
        outer.addWidget(fit)

        self.message_label = QLabel("")
        self.message_label.setWordWrap(True)
        self.message_label.setStyleSheet("color: #b00000")
        outer.addWidget(self.message_label)
        if guess.warnings:
            warn = QLabel("\n".join(guess.warnings))
            warn.setWordWrap(True)
            warn.setStyleSheet("color: #a05000")
            outer.addWidget(warn)
        ok, cancel = QDialogButtonBox.StandardButton.Ok, QDialogButtonBox.StandardButton.Cancel
        self.buttons = QDialogButtonBox(ok | cancel)
        self.ok_button = self.buttons.button(ok)
        self.ok_button.setText("Import")
        outer.addWidget(self.buttons)

        self.x_combo.currentIndexChanged.connect(self._update)
        self.wavelength_edit.textEdited.connect(self._wavelength_typed)
        self.energy_edit.textEdited.connect(self._energy_typed)
        self.blank_button.clicked.connect(self._choose_blank)
        self.blank_clear.clicked.connect(lambda: self.set_blank(None))
        self.sources.chosen.connect(self.set_instrument)
        self.sources.failed.connect(self.message_label.setText)
        self.sources.calibrant_button.clicked.connect(self._from_calibrant)
        self.buttons.accepted.connect(self._accept)
        self.buttons.rejected.connect(self.reject)
        self.polarization_combo.textActivated.connect(self._polarization_chosen_here)
        self.polarization_combo.lineEdit().textEdited.connect(self._polarization_chosen_here)
        self._wavelength_typed(self.wavelength_edit.text(), keep_reason=True)

    # ---------------------------------------------------------------- reading the widgets
    @property
    def x_kind(self) -> str:
        return str(self.x_combo.currentData())

    def wavelength(self) -> float | None:
        """The wavelength typed (Å), None when empty; NanotwinError when it is not a number > 0."""
        text = self.wavelength_edit.text().strip()
        if not text:
            return None
        try:
            value = float(text)
        except ValueError:
            raise NanotwinError(f"wavelength {text!r} is not a number") from None
        if not value > 0:
            raise NanotwinError(f"the wavelength must be > 0 Å, got {text}")
        return value

    def choice(self) -> ImportChoice:
        """The confirmed choice; NanotwinError naming the field that is wrong."""
        wavelength = self.wavelength()
        if self.x_kind == "tth" and wavelength is None:
            raise NanotwinError("2θ data need a wavelength")
        pol = self.polarization_combo.currentText().strip()
        polarization_fraction(pol)
        caglioti = parse_numbers(self.caglioti_edit.text(), 3, "Caglioti U, V, W")
        lorentzian = parse_numbers(self.lorentzian_edit.text(), 2, "Lorentzian X, Y")
        kalpha2, lambda2 = self.kalpha2_row.value()
        lo, hi = self.range_min.value(), self.range_max.value()
        fit_range = None if lo <= 0 and hi <= 0 else (lo, hi if hi > 0 else math.inf)
        if fit_range is not None and not fit_range[1] > fit_range[0]:
            raise NanotwinError(f"the fit range {lo:g}-{hi:g} is empty")
        choice = ImportChoice(self.x_kind, wavelength, self.wavelength_reason.text(), pol, caglioti,
                              self.zero_spin.value(), self.blank_path, fit_range, lorentzian, kalpha2,
                              lambda2, self.polarization_reason.text())
        choice.instrument()  # checks the Caglioti, Lorentzian and K-alpha2 terms
        return choice

    # ---------------------------------------------------------------- reactions
    def _wavelength_typed(self, text: str, keep_reason: bool = False) -> None:
        if self._syncing:
            return
        self._syncing = True
        try:
            value = self.wavelength()
            self.energy_edit.setText("" if value is None else f"{wavelength_from_energy(value):.6f}")
        except NanotwinError:
            self.energy_edit.setText("")
        finally:
            self._syncing = False
        if not keep_reason:
            self.wavelength_reason.setText("given here")
        self._source_polarization()
        self._update()

    def _energy_typed(self, text: str) -> None:
        if self._syncing:
            return
        self._syncing = True
        try:
            value = float(text)
            self.wavelength_edit.setText(repr(wavelength_from_energy(value)) if value > 0 else "")
        except ValueError:
            self.wavelength_edit.setText("")
        finally:
            self._syncing = False
        self.wavelength_reason.setText("from the energy given here")
        self._source_polarization()
        self._update()

    def _source_polarization(self) -> None:
        """The polarization nobody chose follows the wavelength: lab for a tube line, else sync."""
        if self.polarization_chosen:
            return
        try:
            wavelength = self.wavelength()
        except NanotwinError:
            wavelength = None
        polarization, why = source_polarization(wavelength)
        self.polarization_combo.setCurrentText(polarization)
        self.polarization_reason.setText(why)

    def _polarization_chosen_here(self, *_args) -> None:
        self.polarization_chosen = True
        self.polarization_reason.setText("polarization chosen here")

    def _update(self, *_args) -> None:
        tth = self.x_kind == "tth"
        try:
            missing = tth and self.wavelength() is None
            self.message_label.setText("")
        except NanotwinError as exc:
            missing = tth
            self.message_label.setText(str(exc))
        self.warning_label.setVisible(missing)
        self.ok_button.setEnabled(not missing)
        self.instrument_box.setEnabled(tth)
        self.range_unit.setText("2θ (°)" if tth else "Q (1/Å)")

    def set_instrument(self, instrument: Instrument, source: str) -> None:
        """Fill polarization, Caglioti, Lorentzian, K-α2 and zero from ``instrument`` (a file's or
        a calibrant fit's); ``source`` says where it came from (shown under the fields)."""
        self.polarization_combo.setCurrentText(instrument.polarization)
        self.polarization_chosen = True
        self.polarization_reason.setText(f"polarization {source}")
        self.caglioti_edit.setText(numbers_text(instrument.caglioti))
        self.lorentzian_edit.setText(numbers_text(instrument.lorentzian))
        self.kalpha2_row.set_value(instrument.kalpha2, instrument.lambda2)
        self.zero_spin.setValue(instrument.zero)
        self.instrument_source.setText(f"Instrument {source}")
        self.message_label.setText("")

    def _from_calibrant(self) -> None:
        try:
            wavelength = self.wavelength()
        except NanotwinError:
            wavelength = None
        try:
            kalpha2 = self.kalpha2_row.value()
        except NanotwinError as exc:
            self.message_label.setText(str(exc))
            return
        self.sources.run_calibrant(wavelength, self.polarization_combo.currentText().strip(), kalpha2)

    def _choose_blank(self) -> None:
        folder = str(Path(self.guess.path).parent)
        path, _ = QFileDialog.getOpenFileName(self, "Blank or solvent pattern", folder,
                                              PATTERN_FILTER)
        if path:
            self.set_blank(path)

    def set_blank(self, path: str | None) -> None:
        """Use ``path`` as the blank (None: none)."""
        self.blank_path = None if path is None else str(Path(path).resolve())
        self.blank_row.show_path(self.blank_path)

    def _accept(self) -> None:
        try:
            self.choice()
        except NanotwinError as exc:
            self.message_label.setText(str(exc))
            return
        self.accept()
