"""The refinement dock's mixture editor: the model's components (``model.components``), as the
command line's ``--twin-states`` and ``[[component]]`` tables give them.

- Twin states: the model's twin laws at several mean domain sizes plus the untwinned crystal
  (the core's ``refine.dse_fit.twin_states``); refine their fractions with "twin".
- Another phase: a second structure beside the model's own (each a component with its number
  fraction); refine them with "fractions".
Each edit replaces ``model.components`` and nothing else.
"""

from __future__ import annotations

from dataclasses import replace

from nanotwin_app.docks.model_inputs import parse_seeds
from nanotwin_app.workspace import Workspace
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QWidget,
)

from nanotwin_core.errors import NanotwinError
from nanotwin_core.model import ComponentSpec
from nanotwin_core.refine.dse_fit import twin_states
from nanotwin_core.structures.library import list_structures


def parse_sizes(text: str) -> list[float]:
    """"6, 3, 2" -> [6.0, 3.0, 2.0] domain sizes (nm > 0; NanotwinError otherwise)."""
    try:
        sizes = [float(v) for v in text.replace(";", ",").split(",") if v.strip()]
    except ValueError:
        raise NanotwinError(f"domain sizes look like 6, 3, 2 (nm); got {text!r}") from None
    if not sizes or min(sizes) <= 0:
        raise NanotwinError(f"domain sizes look like 6, 3, 2 (nm > 0); got {text!r}")
    return sizes


def component_name(structure: str) -> str:
    """A component name from a structure name (letters, digits, _ and -)."""
    return "".join(c if c.isalnum() or c in "_-" else "_" for c in structure)


class MixtureBox(QGroupBox):
    """Edits ``model.components``: twin states or a second phase; a line lists what is set."""

    def __init__(self, workspace: Workspace, parent: QWidget | None = None) -> None:
        super().__init__("Mixture: twin states or phases", parent)
        self.workspace = workspace
        form = QFormLayout(self)
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)  # narrow docks: field under label
        states = QHBoxLayout()
        self.sizes_edit = QLineEdit("6, 3, 2")
        self.sizes_edit.setToolTip("mean twin-domain sizes (nm) of the twinned states")
        self.seeds_edit = QLineEdit("1-4")
        self.seeds_edit.setToolTip("builder seeds each twinned state averages")
        self.states_button = QPushButton("Set twin states")
        self.states_button.setToolTip("The model's twin laws at these domain sizes plus the untwinned "
                                      "crystal; refine their fractions with 'twin'")
        states.addWidget(self.sizes_edit, 2)
        states.addWidget(QLabel("seeds"))
        states.addWidget(self.seeds_edit, 1)
        states.addWidget(self.states_button)
        form.addRow("domain sizes (nm)", states)
        phase = QHBoxLayout()
        self.phase_combo = QComboBox()
        self.phase_combo.addItems(list_structures())
        self.fraction_spin = QDoubleSpinBox()
        self.fraction_spin.setRange(0.001, 0.999)
        self.fraction_spin.setDecimals(3)
        self.fraction_spin.setValue(0.2)
        self.fraction_spin.setToolTip("start number fraction of the added phase")
        self.phase_button = QPushButton("Add phase")
        self.phase_button.setToolTip("A second phase beside the model's own; refine with 'fractions'")
        phase.addWidget(self.phase_combo, 2)
        phase.addWidget(self.fraction_spin)
        phase.addWidget(self.phase_button)
        form.addRow("other phase", phase)
        row = QHBoxLayout()
        self.components_label = QLabel()
        self.components_label.setWordWrap(True)
        self.clear_button = QPushButton("Clear")
        row.addWidget(self.components_label, 1)
        row.addWidget(self.clear_button)
        form.addRow(row)
        self.message_label = QLabel("")
        self.message_label.setWordWrap(True)
        self.message_label.setStyleSheet("color: #b00000")
        form.addRow(self.message_label)
        self.states_button.clicked.connect(self.set_twin_states)
        self.phase_button.clicked.connect(self.add_phase)
        self.clear_button.clicked.connect(lambda: self._set([]))
        workspace.model_changed.connect(self.show_components)
        self.show_components()

    def show_components(self) -> None:
        comps = self.workspace.model.components
        self.components_label.setText(
            "components: " + ", ".join(f"{c.name} ({c.fraction:g})" for c in comps) if comps
            else "no mixture: one population")
        self.clear_button.setEnabled(bool(comps))

    def _set(self, components: list[ComponentSpec]) -> bool:
        model = self.workspace.model
        try:
            new = replace(model, components=components).validate()
        except NanotwinError as exc:
            self.message_label.setText(str(exc))
            return False
        self.message_label.setText("")
        self.workspace.set_model(new)
        return True

    def set_twin_states(self) -> bool:
        """Twin states of the model's laws at the typed domain sizes, plus the untwinned crystal."""
        model = self.workspace.model
        try:
            if not model.twins:
                raise NanotwinError("twin states need the model's twin laws (model dock)")
            states = twin_states(model.twins, parse_sizes(self.sizes_edit.text()),
                                 parse_seeds(self.seeds_edit.text()))
        except NanotwinError as exc:
            self.message_label.setText(str(exc))
            return False
        return self._set(states)

    def add_phase(self) -> bool:
        """The chosen structure as another component beside the model's own (added first)."""
        model = self.workspace.model
        name = self.phase_combo.currentText()
        f = self.fraction_spin.value()
        comps = list(model.components)
        if not comps:
            own = model.structure or "main"
            comps = [ComponentSpec(component_name(own), 1.0 - f)]
        if any(c.name == component_name(name) for c in comps):
            self.message_label.setText(f"{name} is a component already")
            return False
        return self._set([*comps, ComponentSpec(component_name(name), f, structure=name, twins=[])])
