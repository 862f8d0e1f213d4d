"""Instrument fields shared by the import dialog and the refinement dock's fit options: the
Lorentzian X, Y of a TCH profile and a lab tube's K-alpha2 line (``model_parts.Instrument``
``lorentzian``, ``kalpha2``, ``lambda2``)."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QCheckBox, QDoubleSpinBox, QHBoxLayout, QLineEdit, QWidget

from nanotwin_core.errors import NanotwinError
from nanotwin_core.scattering.lab_sources import KALPHA2_RATIO

LORENTZIAN_HINT = "X, Y (°): FWHM X/cos θ + Y tan θ; empty: pseudo-Voigt 0.5"


def numbers_text(values) -> str:
    """'a, b, c' at full precision; '' for None."""
    return "" if values is None else ", ".join(repr(float(v)) for v in values)


def parse_numbers(text: str, count: int, what: str) -> tuple[float, ...] | None:
    """``count`` numbers from 'a, b' (or 'a; b'); None when empty; NanotwinError naming ``what``."""
    text = text.strip()
    if not text:
        return None
    try:
        values = tuple(float(v) for v in text.replace(";", ",").split(","))
    except ValueError:
        raise NanotwinError(f"{what} needs {count} numbers, got {text!r}") from None
    if len(values) != count:
        raise NanotwinError(f"{what} needs {count} numbers, got {text!r}")
    return values


def lorentzian_edit() -> QLineEdit:
    """The line edit of the Lorentzian X, Y."""
    edit = QLineEdit()
    edit.setPlaceholderText(LORENTZIAN_HINT)
    edit.setToolTip("Lorentzian FWHM X / cos θ + Y tan θ (degrees; GSAS-II's X, Y / 100), combined with "
                    "the Gaussian Caglioti FWHM as Thompson-Cox-Hastings; needs the Caglioti U, V, W")
    return edit


class Kalpha2Row(QWidget):
    """[x] K-α2, the ratio I(Kα2)/I(Kα1) and λ2 (Å; empty: the tube's); ``edited`` on a change
    by the user (not by ``set_value``)."""

    edited = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        self.check = QCheckBox("on")
        self.check.setToolTip("a lab tube's K-alpha2 line beside K-alpha1 (the data's wavelength)")
        self.ratio_spin = QDoubleSpinBox()
        self.ratio_spin.setRange(0.01, 1.0)
        self.ratio_spin.setDecimals(3)
        self.ratio_spin.setSingleStep(0.01)
        self.ratio_spin.setValue(KALPHA2_RATIO)
        self.ratio_spin.setToolTip("I(Kα2)/I(Kα1): the ratio of the two lines' areas")
        self.lambda2_edit = QLineEdit()
        self.lambda2_edit.setPlaceholderText("λ2 Å: the tube's")
        self.lambda2_edit.setToolTip("K-alpha2 wavelength (Å); empty: the tube's (Cu 1.54439; Mo, Ag, Co, "
                                     "Cr, Fe from the data's K-alpha1)")
        row.addWidget(self.check)
        row.addWidget(self.ratio_spin)
        row.addWidget(self.lambda2_edit, 1)
        self._setting = False
        self.check.toggled.connect(self._changed)
        self.ratio_spin.valueChanged.connect(self._changed)
        self.lambda2_edit.editingFinished.connect(self._changed)
        self._enable()

    def value(self) -> tuple[float | None, float | None]:
        """(ratio, lambda2 in Å or None); (None, None) when off; NanotwinError for a bad λ2."""
        if not self.check.isChecked():
            return None, None
        text = self.lambda2_edit.text().strip()
        try:
            lambda2 = float(text) if text else None
        except ValueError:
            raise NanotwinError(f"K-α2 wavelength {text!r} is not a number") from None
        return float(self.ratio_spin.value()), lambda2

    def set_value(self, ratio: float | None, lambda2: float | None) -> None:
        """Show a doublet (ratio None: off) without emitting ``edited``."""
        self._setting = True
        try:
            self.check.setChecked(ratio is not None)
            self.ratio_spin.setValue(KALPHA2_RATIO if ratio is None else ratio)
            self.lambda2_edit.setText("" if lambda2 is None else repr(float(lambda2)))
        finally:
            self._setting = False
        self._enable()

    def _enable(self) -> None:
        on = self.check.isChecked()
        self.ratio_spin.setEnabled(on)
        self.lambda2_edit.setEnabled(on)

    def _changed(self, *_args) -> None:
        self._enable()
        if not self._setting:
            self.edited.emit()
