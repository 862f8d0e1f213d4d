"""The dialogs of File > Export figure and File > Export pattern: which curves, and for a figure
its size (mm or px, with presets for a journal column or a slide), DPI, font size, format, the
difference curve offset or in its own panel, tick rows, zoom panel and legend."""

from __future__ import annotations

from nanotwin_app.plots.panel_export import FigureChoice
from nanotwin_app.plots.pattern_panel import DATA_KEY, DIFF_KEY, DIFF_LABEL, PatternPanel
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from nanotwin_core.figures import FigureLayout

OK_CANCEL = QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
FORMATS = {"PDF (vector)": "pdf", "SVG (vector)": "svg", "PNG": "png", "TIFF": "tif"}
PRESETS = {  # name -> (width, height, unit)
    "one journal column (85 × 65 mm)": (85.0, 65.0, "mm"),
    "two journal columns (170 × 100 mm)": (170.0, 100.0, "mm"),
    "slide (1920 × 1080 px)": (1920.0, 1080.0, "px"),
    "custom": None,
}


class CurveChecklist(QListWidget):
    """The panel's curves with a tick each (the visible ones ticked), names elided in the middle."""

    def __init__(self, panel: PatternPanel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        for key in panel.curve_keys():
            text = {DATA_KEY: f"observed: {panel.data[2]}" if panel.data else DATA_KEY,
                    DIFF_KEY: DIFF_LABEL}.get(key, key)
            item = QListWidgetItem(panel.curve_icon(panel.items[key][0]), text)
            item.setData(Qt.ItemDataRole.UserRole, key)
            item.setToolTip(text)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            shown = panel.is_curve_visible(key)
            item.setCheckState(Qt.CheckState.Checked if shown else Qt.CheckState.Unchecked)
            self.addItem(item)

    def keys(self) -> list[str]:
        """The ticked curves' keys."""
        return [self.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.count())
                if self.item(i).checkState() == Qt.CheckState.Checked]

    def set_keys(self, keys: list[str]) -> None:
        """Tick exactly ``keys``."""
        for i in range(self.count()):
            item = self.item(i)
            on = item.data(Qt.ItemDataRole.UserRole) in keys
            item.setCheckState(Qt.CheckState.Checked if on else Qt.CheckState.Unchecked)


class CurvesDialog(QDialog):
    """An export dialog: a title, the panel's curves to tick, then the subclass' options, then
    Export…/Cancel (``finish``)."""

    def __init__(self, title: str, panel: PatternPanel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.column = QVBoxLayout(self)
        self.column.addWidget(QLabel("Curves"))
        self.curves = CurveChecklist(panel)
        self.curves.setMinimumHeight(110)
        self.column.addWidget(self.curves, 1)

    def finish(self) -> None:
        """Add the Export…/Cancel buttons under the options."""
        buttons = QDialogButtonBox(OK_CANCEL)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Export…")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self.column.addWidget(buttons)

    def keys(self) -> list[str]:
        """The ticked curves."""
        return self.curves.keys()


class FigureDialog(CurvesDialog):
    """File > Export figure: what to draw and how large; ``choice()`` and ``suffix()`` after OK."""

    def __init__(self, panel: PatternPanel, parent: QWidget | None = None) -> None:
        super().__init__("Export figure", panel, parent)
        layout = self.column
        form = QFormLayout()
        self.preset_combo = QComboBox()
        self.preset_combo.addItems(list(PRESETS))
        form.addRow("Size", self.preset_combo)
        size_row = QHBoxLayout()
        self.width_spin, self.height_spin = QDoubleSpinBox(), QDoubleSpinBox()
        for spin in (self.width_spin, self.height_spin):
            spin.setRange(10, 10000)
            spin.setDecimals(1)
            size_row.addWidget(spin)
        self.unit_combo = QComboBox()
        self.unit_combo.addItems(["mm", "px"])
        size_row.addWidget(self.unit_combo)
        form.addRow("Width × height", size_row)
        self.dpi_spin = QSpinBox()
        self.dpi_spin.setRange(50, 2400)
        self.dpi_spin.setValue(300)
        self.dpi_spin.setSuffix(" dpi")
        self.dpi_spin.setToolTip("Pixels per inch of PNG and TIFF (journals ask 300-600 dpi)")
        form.addRow("Resolution", self.dpi_spin)
        self.font_spin = QDoubleSpinBox()
        self.font_spin.setRange(4, 36)
        self.font_spin.setValue(8)
        self.font_spin.setSuffix(" pt")
        form.addRow("Font size", self.font_spin)
        self.format_combo = QComboBox()
        self.format_combo.addItems(list(FORMATS))
        form.addRow("Format", self.format_combo)
        layout.addLayout(form)
        self.offset_check = QCheckBox("difference offset below the pattern (else in a panel of its own)")
        self.offset_check.setChecked(True)
        self.ticks_check = QCheckBox("hkl tick rows of every phase")
        self.ticks_check.setChecked(panel.ticks_check.isChecked())
        self.zoom_check = QCheckBox("zoom panel")
        self.zoom_check.setChecked(panel.zoom_plot.isVisible())
        self.zoom_check.setEnabled(panel.zoom_plot.isVisible())
        self.legend_check = QCheckBox("legend")
        self.legend_check.setChecked(True)
        for check in (self.offset_check, self.ticks_check, self.zoom_check, self.legend_check):
            layout.addWidget(check)
        self.finish()
        self.preset_combo.currentTextChanged.connect(self._preset)
        for w in (self.width_spin, self.height_spin):
            w.valueChanged.connect(self._custom)
        self.unit_combo.currentTextChanged.connect(self._custom)
        self.preset_combo.setCurrentIndex(1)
        self._preset(self.preset_combo.currentText())

    def _preset(self, name: str) -> None:
        size = PRESETS.get(name)
        if size is None:
            return
        for w in (self.width_spin, self.height_spin, self.unit_combo):
            w.blockSignals(True)
        self.width_spin.setValue(size[0])
        self.height_spin.setValue(size[1])
        self.unit_combo.setCurrentText(size[2])
        for w in (self.width_spin, self.height_spin, self.unit_combo):
            w.blockSignals(False)

    def _custom(self, *_args) -> None:
        self.preset_combo.blockSignals(True)
        self.preset_combo.setCurrentText("custom")
        self.preset_combo.blockSignals(False)

    def layout_choice(self) -> FigureLayout:
        """Size, DPI, font size and legend as set."""
        return FigureLayout(width=self.width_spin.value(), height=self.height_spin.value(),
                            unit=self.unit_combo.currentText(), dpi=self.dpi_spin.value(),
                            font_pt=self.font_spin.value(), legend=self.legend_check.isChecked())

    def choice(self) -> FigureChoice:
        """Everything the figure needs but its file name."""
        return FigureChoice(keys=self.keys(), offset_difference=self.offset_check.isChecked(),
                            ticks=self.ticks_check.isChecked(), zoom=self.zoom_check.isChecked(),
                            layout=self.layout_choice())

    def suffix(self) -> str:
        """The chosen format's file suffix ("pdf", "svg", "png" or "tif")."""
        return FORMATS[self.format_combo.currentText()]


class PatternDialog(CurvesDialog):
    """File > Export pattern: which curves, one table or one file per curve."""

    def __init__(self, panel: PatternPanel, parent: QWidget | None = None) -> None:
        super().__init__("Export pattern", panel, parent)
        self.table_radio = QRadioButton("one table (.csv): x, observed, sigma, every curve, difference")
        self.files_radio = QRadioButton("one .xye file per curve, named after it")
        self.table_radio.setChecked(True)
        group = QButtonGroup(self)
        for radio in (self.table_radio, self.files_radio):
            group.addButton(radio)
            self.column.addWidget(radio)
        self.finish()

    def suffix(self) -> str:
        """"csv" for one table, "xye" for one file per curve."""
        return "csv" if self.table_radio.isChecked() else "xye"
