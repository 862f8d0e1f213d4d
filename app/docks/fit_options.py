"""The fit and instrument settings of the workspace's model, as the refinement dock shows them.

What to refine (``model.fit.refine``), the Chebyshev background order, the fitted range in Q or
2θ, the blank, the largest number of model evaluations (``model.fit``), and the polarization,
Caglioti resolution, Lorentzian X, Y, K-α2 line and zero shift of 2θ data (``model.instrument``),
and the fibre texture (``model.texture``, ``texture_row``). Each widget writes only its own field,
and nothing is written while a model is being shown, so a model opened from ``nanotwin fit``
keeps every setting it came with.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from nanotwin_app.docks.instrument_rows import Kalpha2Row, lorentzian_edit, numbers_text, parse_numbers
from nanotwin_app.docks.path_row import PathRow
from nanotwin_app.docks.texture_row import TextureRow
from nanotwin_app.workspace import Workspace
from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from nanotwin_core.errors import NanotwinError
from nanotwin_core.io.data import PATTERN_FILTER
from nanotwin_core.model import REFINABLE
from nanotwin_core.scattering.polarization import polarization_fraction

REFINE_TIPS = {
    "scale": "scale factor (linear: solved in every evaluation)",
    "background": "Chebyshev background terms (linear)",
    "adp": "B (Å^2) per ADP group (Pb, Cs, X_ax, X_eq, ...)",
    "size": "size population: mean sizes (nm) and relative dispersions",
    "expansion": "isotropic expansion e: every distance times (1 + e)",
    "fractions": "number fractions of a mixture's components",
    "twin": "twin density as a mixture of twin states (fractions)",
    "twin_density": "mean twin-domain size domain_nm (nm) of the exact average over random networks: "
                    "a continuous parameter (needs twin laws and a start domain size)",
    "zero": "2θ zero shift (degrees; 2θ data only)",
    "cell": "cell a, b, c of a single crystal (re-histogrammed pair table)",
    "tilt": "octahedral tilts of a gamma CsPbX3 single crystal",
    "occupancy": "occupancy (0-1) per site group: the model's occupancy groups, else the surface groups "
                 "(*_surf) of non-Pb elements",
    "chain": "crystals per linear chain (stacked along c; small-angle structure factor)",
    "chain_gap": "gap (Å) between the stacked crystals of a chain",
    "ligand": "organic ligand shell: thickness (Å) and electron density (e/Å^3), a low-Q term",
    "texture": "March-Dollase ratio r of the fibre texture (the texture row below; 0.35-3)",
}
RANGE_UNITS = {"Q (1/Å)": "q_range", "2θ (°)": "tth_range"}
AUTO_ORDER = -1  # background spin value meaning "None: 4 when the background is refined"
REFINE_COLUMNS = 3  # check boxes per row: the dock fits a 1280 x 720 window without scrolling sideways


class FitOptions(QWidget):
    """Edits ``model.fit`` and ``model.instrument``; ``changed`` after each edit."""

    changed = Signal()

    def __init__(self, workspace: Workspace, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.workspace = workspace
        self._loading = False
        self._shown_caglioti = ""
        self._shown_lorentzian = ""
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)

        choices = QGroupBox("Refine")
        grid = QGridLayout(choices)
        self.choice_checks: dict[str, QCheckBox] = {}
        for i, name in enumerate(REFINABLE):
            check = QCheckBox(name)
            check.setToolTip(REFINE_TIPS.get(name, name))
            grid.addWidget(check, i // REFINE_COLUMNS, i % REFINE_COLUMNS)
            self.choice_checks[name] = check
            check.toggled.connect(self._refine_edited)
        outer.addWidget(choices)

        opts = QGroupBox("Fit and instrument")
        form = QFormLayout(opts)
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)  # narrow docks: field under label
        self.background_spin = QSpinBox()
        self.background_spin.setRange(AUTO_ORDER, 30)
        self.background_spin.setSpecialValueText("auto (4 when refined)")
        self.background_spin.setToolTip("Chebyshev background: terms 0..N over the fitted range")
        form.addRow("background order", self.background_spin)
        range_row = QHBoxLayout()
        self.range_unit = QComboBox()
        self.range_unit.addItems(list(RANGE_UNITS))
        self.qmin_spin = QDoubleSpinBox()
        self.qmax_spin = QDoubleSpinBox()
        for spin in (self.qmin_spin, self.qmax_spin):
            spin.setRange(0.0, 180.0)
            spin.setDecimals(3)
            spin.setSingleStep(0.1)
            spin.setSpecialValueText("all")
            spin.setToolTip("fitted range; 'all' = no limit")
            range_row.addWidget(spin)
        range_row.addWidget(self.range_unit)
        form.addRow("fitted range", range_row)
        self.polarization_combo = QComboBox()
        self.polarization_combo.setEditable(True)
        self.polarization_combo.addItems(["none", "lab", "sync"])
        self.polarization_combo.setToolTip("polarization factor for 2θ data: none, lab (unpolarized), "
                                           "sync (synchrotron, f = 0.95), sync:F or mono:2θ_M (a tube behind "
                                           "a monochromator at 2θ_M degrees)")
        form.addRow("polarization", self.polarization_combo)
        self.caglioti_edit = QLineEdit()
        self.caglioti_edit.setPlaceholderText("U, V, W (deg²); empty: none")
        self.caglioti_edit.setToolTip("Caglioti resolution of 2θ data: FWHM² = U tan²θ + V tanθ + W")
        form.addRow("Caglioti", self.caglioti_edit)
        self.lorentzian_edit = lorentzian_edit()
        form.addRow("Lorentzian", self.lorentzian_edit)
        self.kalpha2_row = Kalpha2Row()
        form.addRow("K-α2 line", self.kalpha2_row)
        self.zero_spin = QDoubleSpinBox()
        self.zero_spin.setRange(-0.5, 0.5)
        self.zero_spin.setDecimals(5)
        self.zero_spin.setSingleStep(0.001)
        self.zero_spin.setSuffix(" °")
        self.zero_spin.setToolTip("2θ zero shift (observed = true + zero); the start value when 'zero' is "
                                  "refined")
        form.addRow("zero shift", self.zero_spin)
        self.texture_row = TextureRow()
        form.addRow("texture", self.texture_row)
        self.blank_row = PathRow()
        self.blank_label, self.blank_button, self.blank_clear = (self.blank_row.label, self.blank_row.choose,
                                                                 self.blank_row.clear)
        form.addRow("blank", self.blank_row)
        self.max_nfev_spin = QSpinBox()
        self.max_nfev_spin.setRange(1, 100_000)
        self.max_nfev_spin.setToolTip("largest number of model evaluations")
        form.addRow("evaluations", self.max_nfev_spin)
        self.message_label = QLabel("")
        self.message_label.setWordWrap(True)
        form.addRow(self.message_label)
        outer.addWidget(opts)

        self.background_spin.valueChanged.connect(self._background_edited)
        for w in (self.qmin_spin, self.qmax_spin):
            w.valueChanged.connect(self._range_edited)
        self.range_unit.currentTextChanged.connect(self._range_edited)
        self.polarization_combo.currentTextChanged.connect(self._polarization_edited)
        self.caglioti_edit.editingFinished.connect(self._caglioti_edited)
        self.lorentzian_edit.editingFinished.connect(self._lorentzian_edited)
        self.kalpha2_row.edited.connect(self._kalpha2_edited)
        self.zero_spin.valueChanged.connect(self._zero_edited)
        self.blank_button.clicked.connect(self.choose_blank)
        self.blank_clear.clicked.connect(lambda: self.set_blank(None))
        self.max_nfev_spin.valueChanged.connect(self._max_nfev_edited)
        self.texture_row.edited.connect(self._texture_edited)
        self.texture_row.refused.connect(lambda text: self._refuse(NanotwinError(text)))
        workspace.model_changed.connect(self.load_model)
        self.load_model()

    # ---------------------------------------------------------------- showing the model
    def load_model(self) -> None:
        """Show the model's fit and instrument settings (nothing is written back)."""
        m = self.workspace.model
        fit, ins = m.fit, m.instrument
        self._loading = True
        try:
            for name, check in self.choice_checks.items():
                check.setChecked(name in fit.refine)
            order = fit.background_order
            self.background_spin.setValue(AUTO_ORDER if order is None else order)
            key = "tth_range" if fit.tth_range is not None else "q_range"
            self.range_unit.setCurrentText(next(u for u, k in RANGE_UNITS.items() if k == key))
            lo, hi = getattr(fit, key) or (0.0, 0.0)
            self.qmin_spin.setValue(lo)
            self.qmax_spin.setValue(hi if hi != float("inf") else 0.0)
            self.polarization_combo.setCurrentText(ins.polarization)
            cag = ins.caglioti
            self.caglioti_edit.setText("" if cag is None else ", ".join(f"{v:g}" for v in cag))
            self._shown_caglioti = self.caglioti_edit.text()
            self.lorentzian_edit.setText(numbers_text(ins.lorentzian))
            self._shown_lorentzian = self.lorentzian_edit.text()
            self.kalpha2_row.set_value(ins.kalpha2, ins.lambda2)
            self.zero_spin.setValue(ins.zero)
            self.blank_row.show_path(fit.blank)
            self.max_nfev_spin.setValue(fit.max_nfev)
            self.texture_row.show_texture(m.texture)
        finally:
            self._loading = False

    # ---------------------------------------------------------------- edits (one field each)
    def _edit(self, fit=None, instrument=None) -> None:
        if self._loading:
            return
        m = self.workspace.model
        self.workspace.set_model(replace(m, fit=fit if fit is not None else m.fit,
                                         instrument=instrument if instrument is not None else m.instrument))
        self.message_label.setText("")
        self.changed.emit()

    def _refuse(self, exc: NanotwinError) -> None:
        self.message_label.setText(f"<span style='color:#b00'>{exc}</span>")

    def _refine_edited(self, *_args) -> None:
        refine = [n for n, c in self.choice_checks.items() if c.isChecked()]
        self._edit(fit=replace(self.workspace.model.fit, refine=refine))

    def _background_edited(self, value: int) -> None:
        order = None if value == AUTO_ORDER else value
        self._edit(fit=replace(self.workspace.model.fit, background_order=order))

    def _range_edited(self, *_args) -> None:
        if self._loading:
            return
        lo, hi = self.qmin_spin.value(), self.qmax_spin.value()
        key = RANGE_UNITS[self.range_unit.currentText()]
        rng = None if lo <= 0 and hi <= 0 else (lo, hi if hi > 0 else float("inf"))
        if rng is not None and not rng[1] > rng[0]:
            self._refuse(NanotwinError(f"the fitted range {lo:g}-{hi:g} is empty"))
            return
        other = "tth_range" if key == "q_range" else "q_range"
        self._edit(fit=replace(self.workspace.model.fit, **{key: rng, other: None}))

    def _polarization_edited(self, text: str) -> None:
        if self._loading:
            return
        try:
            polarization_fraction(text)
        except NanotwinError as exc:
            self._refuse(exc)
            return
        self._edit(instrument=replace(self.workspace.model.instrument, polarization=text.strip()))

    def _caglioti_edited(self) -> None:
        if self._loading:
            return
        text = self.caglioti_edit.text().strip()
        if text == self._shown_caglioti.strip():
            return  # focus left without an edit: keep the model's exact values
        try:
            cag = tuple(float(v) for v in text.replace(";", ",").split(",")) if text else None
            instrument = replace(self.workspace.model.instrument, caglioti=cag).validate()
        except ValueError:
            self._refuse(NanotwinError(f"Caglioti needs three numbers U, V, W, got {text!r}"))
            return
        except NanotwinError as exc:
            self._refuse(exc)
            return
        if instrument != self.workspace.model.instrument:
            self._edit(instrument=instrument)

    def _lorentzian_edited(self) -> None:
        if self._loading or self.lorentzian_edit.text().strip() == self._shown_lorentzian.strip():
            return  # focus left without an edit: keep the model's exact values
        try:
            lor = parse_numbers(self.lorentzian_edit.text(), 2, "Lorentzian X, Y")
            instrument = replace(self.workspace.model.instrument, lorentzian=lor).validate()
        except NanotwinError as exc:
            self._refuse(exc)
            return
        self._shown_lorentzian = self.lorentzian_edit.text()
        self._edit(instrument=instrument)

    def _kalpha2_edited(self) -> None:
        try:
            ratio, lambda2 = self.kalpha2_row.value()
            instrument = replace(self.workspace.model.instrument, kalpha2=ratio, lambda2=lambda2).validate()
            data = self.workspace.data
            if data is not None and data.x_kind == "tth" and data.wavelength:
                instrument.kalpha2_wavelength(data.wavelength)  # a tube's K-alpha1, or lambda2 given
        except NanotwinError as exc:
            self._refuse(exc)
            return
        if instrument != self.workspace.model.instrument:
            self._edit(instrument=instrument)

    def _zero_edited(self, value: float) -> None:
        if self._loading or abs(value - self.workspace.model.instrument.zero) < 5e-6:
            return  # unchanged as shown: keep the model's exact value
        self._edit(instrument=replace(self.workspace.model.instrument, zero=float(value)))

    def _texture_edited(self, texture) -> None:
        if self._loading:
            return
        try:
            model = replace(self.workspace.model, texture=texture).validate()
        except NanotwinError as exc:
            self._refuse(exc)
            self.texture_row.show_texture(self.workspace.model.texture)
            return
        self.workspace.set_model(model)
        self.message_label.setText("")
        self.changed.emit()

    def _max_nfev_edited(self, value: int) -> None:
        self._edit(fit=replace(self.workspace.model.fit, max_nfev=value))

    def choose_blank(self) -> None:
        """Ask for a blank (solvent, capillary) pattern file."""
        path, _ = QFileDialog.getOpenFileName(self, "Blank pattern", "",
                                              PATTERN_FILTER)
        if path:
            self.set_blank(path)

    def set_blank(self, path: str | Path | None) -> None:
        """Use ``path`` as the fit's blank (None: no blank)."""
        blank = None if path is None else str(Path(path).resolve())
        self._edit(fit=replace(self.workspace.model.fit, blank=blank))
        self.load_model()
