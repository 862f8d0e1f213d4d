"""The model dock: structure, shape and sizes, twin laws, boundaries or domain size, seed.

It edits the workspace's ``ModelSettings`` and asks (by signal) for a build; the window runs
the build in a worker. Twin-law text is validated as typed with the core's parser.
"""

from __future__ import annotations

import re

from nanotwin_app.jobs import LIVE_ATOM_LIMIT
from nanotwin_app.workspace import ModelSettings, Workspace
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QValidator
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QRadioButton,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)
from superqt.utils import qthrottled

from nanotwin_core.builder.twin_laws import parse_twin_law
from nanotwin_core.errors import NanotwinError
from nanotwin_core.structures.library import get_structure, list_structures

_PARTIAL = re.compile(r"^[0-9./ ]*([<\[][-0-9 ,]*([>\]]\s*([({][-0-9 ,]*[)}]?)?)?)?$")
IMPORTED = "(imported CIF)"


def expand_twin_law(text: str, structure=None) -> list[str]:
    """Member strings of a twin law, expanded with ``structure``'s point group if given
    (NanotwinError if the text does not parse or no member exists)."""
    return [str(m) for m in parse_twin_law(text).members(structure)]


class TwinLawValidator(QValidator):
    """Acceptable when the core parses the law; Intermediate while it can still become one."""

    def validate(self, text: str, pos: int):  # noqa: D102 - Qt override
        if not text.strip():
            return QValidator.State.Intermediate, text, pos
        try:
            expand_twin_law(text)
        except NanotwinError:
            if _PARTIAL.match(text):
                return QValidator.State.Intermediate, text, pos
            return QValidator.State.Invalid, text, pos
        return QValidator.State.Acceptable, text, pos


class ModelDock(QWidget):
    """Edits the model settings; emits ``build_requested(live)`` to ask for a build."""

    build_requested = Signal(bool)
    cancel_requested = Signal()
    refine_requested = Signal()

    def __init__(self, workspace: Workspace, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.workspace = workspace
        outer = QVBoxLayout(self)

        form = QFormLayout()
        self.structure_combo = QComboBox()
        self.structure_combo.addItems(list_structures())
        form.addRow("Structure", self.structure_combo)
        self.shape_combo = QComboBox()
        self.shape_combo.addItems(["prism", "cuboid", "sphere"])
        form.addRow("Shape", self.shape_combo)
        self.size_ab = self._nm_spin(6.0)
        self.size_ab.setToolTip("Prism: D_ab, the nearest whole number of cells is built")
        form.addRow("D_ab (nm)", self.size_ab)
        self.size_c = self._nm_spin(6.0)
        form.addRow("L_c (nm)", self.size_c)
        self.size = self._nm_spin(6.0)
        form.addRow("Size (nm)", self.size)
        outer.addLayout(form)

        twins = QGroupBox("Twin laws  k<uvw>{hkl}")
        tl = QVBoxLayout(twins)
        self.twin_list = QListWidget()
        self.twin_list.setMaximumHeight(80)
        tl.addWidget(self.twin_list)
        row = QHBoxLayout()
        self.twin_edit = QLineEdit()
        self.twin_edit.setPlaceholderText("1/2<001>{110}")
        self.twin_edit.setValidator(TwinLawValidator(self.twin_edit))
        row.addWidget(self.twin_edit, 1)
        self.add_button = QPushButton("Add")
        self.remove_button = QPushButton("Remove")
        row.addWidget(self.add_button)
        row.addWidget(self.remove_button)
        tl.addLayout(row)
        self.members_label = QLabel("")
        self.members_label.setWordWrap(True)
        self.members_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        tl.addWidget(self.members_label)
        density = QHBoxLayout()
        self.by_count = QRadioButton("boundaries")
        self.by_size = QRadioButton("domain size (nm)")
        self.by_count.setChecked(True)
        group = QButtonGroup(self)
        group.addButton(self.by_count)
        group.addButton(self.by_size)
        self.count_spin = QSpinBox()
        self.count_spin.setRange(1, 50)
        self.domain_spin = self._nm_spin(3.0)
        self.domain_spin.setRange(0.6, 50.0)
        density.addWidget(self.by_count)
        density.addWidget(self.count_spin)
        density.addStretch(1)
        tl.addLayout(density)
        density2 = QHBoxLayout()
        density2.addWidget(self.by_size)
        density2.addWidget(self.domain_spin)
        density2.addStretch(1)
        tl.addLayout(density2)
        seed_row = QHBoxLayout()
        seed_row.addWidget(QLabel("seed"))
        self.seed_spin = QSpinBox()
        self.seed_spin.setRange(0, 2**31 - 1)
        seed_row.addWidget(self.seed_spin)
        seed_row.addStretch(1)
        tl.addLayout(seed_row)
        self.compare_check = QCheckBox("compare with untwinned")
        self.compare_check.setChecked(True)
        tl.addWidget(self.compare_check)
        outer.addWidget(twins)

        buttons = QHBoxLayout()
        self.build_button = QPushButton("Build and compute")
        self.build_button.setDefault(True)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        buttons.addWidget(self.build_button, 1)
        buttons.addWidget(self.cancel_button)
        outer.addLayout(buttons)

        teach = QGroupBox("Teaching: domain size")
        te = QVBoxLayout(teach)
        self.live_check = QCheckBox("live updates")
        self.live_check.setToolTip(
            "Rebuild and recompute while the slider moves (one thread, last request wins)"
        )
        te.addWidget(self.live_check)
        self.domain_slider = QSlider(Qt.Orientation.Horizontal)
        self.domain_slider.setRange(10, 120)  # tenths of nm
        self.domain_slider.setValue(30)
        te.addWidget(self.domain_slider)
        self.slider_label = QLabel()
        te.addWidget(self.slider_label)
        self.live_label = QLabel(f"live updates for crystals up to ~{LIVE_ATOM_LIMIT:,} atoms")
        self.live_label.setStyleSheet("color: gray")
        te.addWidget(self.live_label)
        outer.addWidget(teach)

        refine = QPushButton("Refinement…")
        refine.setToolTip("Show the refinement dock (fits need loaded data)")
        refine.clicked.connect(self.refine_requested.emit)
        outer.addWidget(refine)
        outer.addStretch(1)

        self.shape_combo.currentTextChanged.connect(self._shape_changed)
        self.add_button.clicked.connect(self.add_twin_from_edit)
        self.twin_edit.returnPressed.connect(self.add_twin_from_edit)
        self.twin_edit.textChanged.connect(self._show_members)
        self.remove_button.clicked.connect(self.remove_selected_twin)
        self.twin_list.currentTextChanged.connect(self._show_members)
        self.build_button.clicked.connect(lambda: self.request_build(live=False))
        self.cancel_button.clicked.connect(self.cancel_requested.emit)
        self.domain_slider.valueChanged.connect(self._slider_moved)
        for w in (self.size_ab, self.size_c, self.size, self.domain_spin):
            w.valueChanged.connect(self._store)
        for w in (self.count_spin, self.seed_spin):
            w.valueChanged.connect(self._store)
        self.structure_combo.currentTextChanged.connect(self._store)
        self.by_count.toggled.connect(self._store)
        self.compare_check.toggled.connect(self._store)
        workspace.settings_changed.connect(self.load_settings)
        workspace.structure_changed.connect(self._structure_imported)
        self._loading = False
        self._throttled_live = qthrottled(self._emit_live, timeout=400, leading=False)
        self.load_settings()
        self._slider_moved(self.domain_slider.value())

    @staticmethod
    def _nm_spin(value: float) -> QDoubleSpinBox:
        spin = QDoubleSpinBox()
        spin.setRange(1.0, 60.0)
        spin.setDecimals(2)
        spin.setSingleStep(0.5)
        spin.setValue(value)
        return spin

    # ---------------------------------------------------------------- settings
    def settings(self) -> ModelSettings:
        """The settings shown in the dock."""
        twins = tuple(self.twin_list.item(i).text() for i in range(self.twin_list.count()))
        return ModelSettings(
            structure=self.structure_combo.currentText(),
            shape=self.shape_combo.currentText(),
            size_ab_nm=self.size_ab.value(),
            size_c_nm=self.size_c.value(),
            size_nm=self.size.value(),
            twins=twins,
            boundaries=self.count_spin.value() if self.by_count.isChecked() else None,
            domain_size_nm=self.domain_spin.value() if self.by_size.isChecked() else None,
            seed=self.seed_spin.value(),
            compare_untwinned=self.compare_check.isChecked(),
        )

    def load_settings(self) -> None:
        """Show the workspace's settings."""
        s = self.workspace.settings
        self._loading = True
        try:
            if self.structure_combo.findText(s.structure) < 0:
                self.structure_combo.addItem(s.structure)
            self.structure_combo.setCurrentText(s.structure)
            self.shape_combo.setCurrentText(s.shape)
            self.size_ab.setValue(s.size_ab_nm)
            self.size_c.setValue(s.size_c_nm)
            self.size.setValue(s.size_nm)
            self.twin_list.clear()
            self.twin_list.addItems(list(s.twins))
            if s.domain_size_nm is not None:
                self.by_size.setChecked(True)
                self.domain_spin.setValue(s.domain_size_nm)
            else:
                self.by_count.setChecked(True)
                self.count_spin.setValue(s.boundaries or 1)
            self.seed_spin.setValue(s.seed)
            self.compare_check.setChecked(s.compare_untwinned)
        finally:
            self._loading = False
        self._shape_changed(s.shape)

    def _store(self, *_args) -> None:
        if not self._loading:
            self.workspace.set_settings(self.settings())

    def _structure_imported(self) -> None:
        st = self.workspace.imported_structure
        if st is None:
            return
        label = f"{IMPORTED} {getattr(st, 'name', '')}".strip()
        if self.structure_combo.findText(label) < 0:
            self.structure_combo.addItem(label)
        self.structure_combo.setCurrentText(label)

    # ---------------------------------------------------------------- twins
    def add_twin_from_edit(self) -> bool:
        """Add the typed twin law to the list (False, with a message, if it does not parse)."""
        text = self.twin_edit.text().strip()
        try:
            members = expand_twin_law(text, self._structure())
        except NanotwinError as exc:
            self.members_label.setText(f"<span style='color:#b00'>{exc}</span>")
            return False
        self.twin_list.addItem(text)
        self.twin_edit.clear()
        self.members_label.setText(f"{text}: {len(members)} member(s): " + ", ".join(members))
        self._store()
        return True

    def remove_selected_twin(self) -> None:
        """Remove the selected (else the last) twin law."""
        row = self.twin_list.currentRow()
        if row < 0:
            row = self.twin_list.count() - 1
        if row >= 0:
            self.twin_list.takeItem(row)
            self._store()

    def _show_members(self, text: str) -> None:
        if not text.strip():
            return
        try:
            members = expand_twin_law(text, self._structure())
        except NanotwinError:
            self.members_label.setText("…")
            return
        self.members_label.setText(f"{text}: {len(members)} member(s): " + ", ".join(members))

    def _structure(self):
        """The selected structure for expanding twin laws."""
        if self.structure_combo.currentText().startswith(IMPORTED):
            return self.workspace.imported_structure
        return get_structure(self.structure_combo.currentText())

    # ---------------------------------------------------------------- build
    def request_build(self, live: bool = False) -> None:
        """Store the settings and ask the window for a build."""
        self.workspace.set_settings(self.settings())
        self.build_requested.emit(live)

    def set_busy(self, busy: bool) -> None:
        """Reflect a running computation in the buttons."""
        self.cancel_button.setEnabled(busy)

    def _shape_changed(self, shape: str) -> None:
        prism = shape == "prism"
        self.size_ab.setEnabled(prism)
        self.size_c.setEnabled(prism)
        self.size.setEnabled(not prism)
        self._store()

    def _slider_moved(self, value: int) -> None:
        nm = value / 10.0
        self.slider_label.setText(f"mean domain size {nm:.1f} nm")
        if self.live_check.isChecked():
            self._loading = True
            self.by_size.setChecked(True)
            self.domain_spin.setValue(nm)
            self._loading = False
            self._throttled_live()

    def _emit_live(self) -> None:
        self.request_build(live=True)
