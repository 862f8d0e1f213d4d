"""The fit options' texture row: a March-Dollase fibre texture (``model.texture``) on or off, its
axis hkl and ratio r. Whether r is refined is the "texture" box of the Refine group."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QCheckBox, QDoubleSpinBox, QHBoxLayout, QLineEdit, QWidget

from nanotwin_core.errors import NanotwinError
from nanotwin_core.model_parts import DEFAULT_TEXTURE_RATIO, TextureSpec
from nanotwin_core.scattering.texture import RATIO_LIMITS


class TextureRow(QWidget):
    """[x] axis [110] r [0.800]; ``edited(TextureSpec | None)`` after a user's edit, ``refused(str)``
    for an axis that does not parse."""

    edited = Signal(object)
    refused = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._loading = False
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        self.enabled_check = QCheckBox("on")
        self.enabled_check.setToolTip("March-Dollase fibre texture (Bragg-Brentano, symmetric reflection): "
                                      "the (hkl) planes lie in the sample surface")
        self.axis_edit = QLineEdit("110")
        self.axis_edit.setMaximumWidth(70)
        self.axis_edit.setToolTip("texture axis: the plane normal hkl, e.g. 110 or 1,1,0")
        self.ratio_spin = QDoubleSpinBox()
        self.ratio_spin.setRange(*RATIO_LIMITS)
        self.ratio_spin.setDecimals(3)
        self.ratio_spin.setSingleStep(0.05)
        self.ratio_spin.setPrefix("r = ")
        self.ratio_spin.setValue(DEFAULT_TEXTURE_RATIO)
        self.ratio_spin.setToolTip("March-Dollase ratio: 1 random, < 1 the hkl peaks enhanced, > 1 weakened; "
                                   "the start value when 'texture' is refined (not 1: a stationary point)")
        for w in (self.enabled_check, self.axis_edit, self.ratio_spin):
            row.addWidget(w)
        row.addStretch(1)
        self.enabled_check.toggled.connect(self._changed)
        self.axis_edit.editingFinished.connect(self._changed)
        self.ratio_spin.valueChanged.connect(self._changed)
        self.show_texture(None)

    def show_texture(self, texture: TextureSpec | None) -> None:
        """Show ``texture`` (None: off, the inputs keep their last values); emits nothing."""
        self._loading = True
        try:
            self.enabled_check.setChecked(texture is not None)
            if texture is not None:
                self.axis_edit.setText(texture.label)
                self.ratio_spin.setValue(texture.ratio)
            self.axis_edit.setEnabled(texture is not None)
            self.ratio_spin.setEnabled(texture is not None)
        finally:
            self._loading = False

    def texture(self) -> TextureSpec | None:
        """The texture the row shows (None when off); NanotwinError for an axis that does not parse."""
        if not self.enabled_check.isChecked():
            return None
        return TextureSpec.parse(f"{self.axis_edit.text().strip()}:{self.ratio_spin.value():.6g}")

    def _changed(self, *_args) -> None:
        if self._loading:
            return
        on = self.enabled_check.isChecked()
        self.axis_edit.setEnabled(on)
        self.ratio_spin.setEnabled(on)
        try:
            texture = self.texture()
        except NanotwinError as exc:
            self.refused.emit(str(exc))
            return
        self.edited.emit(texture)
