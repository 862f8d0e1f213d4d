"""The model dock: structure, radiation, shape and sizes or a size population, twin laws,
boundaries or domain size, seeds.

It edits the workspace's core ``Model`` one field at a time (each widget writes only its own
field, and nothing is written while a model is being shown), so the fields it does not show
(tilt, ADPs, exclusions, mixture components, the coherent element, the instrument and fit
settings) are kept as they came; a line lists them. It asks (by signal) for a build; the window
runs it in a job. Twin-law text is validated as typed with the core's parser.
"""

from __future__ import annotations

from dataclasses import replace

from nanotwin_app.docks.model_inputs import (
    TwinLawValidator,
    expand_twin_law,
    format_seeds,
    hidden_parts,
    parse_seeds,
)
from nanotwin_app.jobs import LIVE_ATOM_LIMIT
from nanotwin_app.plots.panel_bar import WAVELENGTH_DECIMALS
from nanotwin_app.workspace import IMPORTED_PREFIX, Workspace
from PySide6.QtCore import Qt, Signal
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

from nanotwin_core.builder.shape_kinds import get_shape, shape_names
from nanotwin_core.errors import NanotwinError
from nanotwin_core.model import Model, PopulationSpec
from nanotwin_core.scattering.radiation import RADIATIONS, make_radiation
from nanotwin_core.structures.library import list_structures

SIZE_ATTRS = ("size_ab_nm", "size_c_nm", "size_nm")
DEFAULT_SIZE_NM = 6.0
DEFAULT_DISPERSION = 0.2
NO_WAVELENGTH = "none (the pattern panel's)"


class ModelDock(QWidget):
    """Edits the workspace's model; emits ``build_requested(live)`` to ask for a build."""

    build_requested = Signal(bool)
    cancel_requested = Signal()
    refine_requested = Signal()

    def __init__(self, workspace: Workspace, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.workspace = workspace
        self._loading = False
        self._imported_cif: str | None = None  # the CIF path the "(imported)" entry stands for
        outer = QVBoxLayout(self)

        form = QFormLayout()
        self.structure_combo = QComboBox()
        self.structure_combo.addItems(list_structures())
        form.addRow("Structure", self.structure_combo)
        rad = QHBoxLayout()
        self.radiation_combo = QComboBox()
        self.radiation_combo.addItems(list(RADIATIONS))
        self.wavelength_spin = QDoubleSpinBox()
        self.wavelength_spin.setRange(0.0, 20.0)
        self.wavelength_spin.setDecimals(WAVELENGTH_DECIMALS)
        self.wavelength_spin.setSingleStep(0.01)
        self.wavelength_spin.setSpecialValueText(NO_WAVELENGTH)
        self.wavelength_spin.setSuffix(" Å")
        self.wavelength_spin.setToolTip("Beam wavelength (Å): X-ray f', f'' are taken at its energy")
        self.anomalous_check = QCheckBox("f', f''")
        self.anomalous_check.setToolTip("anomalous dispersion (X-rays)")
        rad.addWidget(self.radiation_combo)
        rad.addWidget(self.wavelength_spin, 1)
        rad.addWidget(self.anomalous_check)
        form.addRow("Radiation", rad)
        self.shape_combo = QComboBox()
        self.shape_combo.addItems(list(shape_names()))
        form.addRow("Shape", self.shape_combo)
        self.size_spins: dict[str, QDoubleSpinBox] = {}
        self.size_labels: dict[str, QLabel] = {}
        for attr in SIZE_ATTRS:
            self.size_spins[attr] = self._nm_spin(DEFAULT_SIZE_NM)
            self.size_labels[attr] = QLabel(attr)
            form.addRow(self.size_labels[attr], self.size_spins[attr])
        self.size_ab, self.size_c, self.size = (self.size_spins[a] for a in SIZE_ATTRS)
        pop_row = QHBoxLayout()
        self.population_check = QCheckBox("log-normal population, σ/⟨D⟩")
        self.population_check.setToolTip("A number-based log-normal size population of this shape: "
                                          "the sizes above are its means")
        pop_row.addWidget(self.population_check)
        self.dispersion_spins = []
        for _ in range(2):
            spin = QDoubleSpinBox()
            spin.setRange(0.01, 2.0)
            spin.setSingleStep(0.05)
            spin.setDecimals(3)
            spin.setValue(DEFAULT_DISPERSION)
            pop_row.addWidget(spin)
            self.dispersion_spins.append(spin)
        form.addRow(pop_row)
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
        self.count_spin.setRange(0, 50)
        self.count_spin.setValue(1)
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
        seed_row.addWidget(QLabel("seeds"))
        self.seeds_edit = QLineEdit("0")
        self.seeds_edit.setToolTip("Seeds of the random boundary network: 0, 1-4 or 1,2,5 "
                                   "(patterns average over them; the 3D view shows the first)")
        seed_row.addWidget(self.seeds_edit)
        seed_row.addStretch(1)
        tl.addLayout(seed_row)
        self.ensemble_check = QCheckBox("ensemble average (pattern); one realisation (3D view)")
        self.ensemble_check.setToolTip(
            "With a domain size: the pattern is the exact average over every random network of that "
            "domain size (no seeds, no realisation noise); the 3D view shows one realisation (the "
            "first seed). Off: the pattern averages the seeds' realisations.")
        tl.addWidget(self.ensemble_check)
        self.compare_check = QCheckBox("compare with untwinned")
        self.compare_check.setChecked(True)
        tl.addWidget(self.compare_check)
        outer.addWidget(twins)

        self.hidden_label = QLabel("")
        self.hidden_label.setWordWrap(True)
        self.hidden_label.setStyleSheet("color: gray")
        outer.addWidget(self.hidden_label)

        self.footer = QWidget()  # the window keeps it under the scrolling form: never scrolled away
        buttons = QHBoxLayout(self.footer)
        buttons.setContentsMargins(6, 4, 6, 4)
        self.build_button = QPushButton("Build and compute")
        self.build_button.setDefault(True)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        buttons.addWidget(self.build_button, 1)
        buttons.addWidget(self.cancel_button)

        teach = QGroupBox("Teaching: domain size")
        te = QVBoxLayout(teach)
        self.live_check = QCheckBox("live updates")
        self.live_check.setToolTip("Rebuild and recompute while the slider moves "
                                   "(one thread, last request wins)")
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

        self.structure_combo.currentTextChanged.connect(self._structure_chosen)
        self.radiation_combo.currentTextChanged.connect(self._radiation_edited)
        self.wavelength_spin.valueChanged.connect(self._radiation_edited)
        self.anomalous_check.toggled.connect(self._radiation_edited)
        self.shape_combo.currentTextChanged.connect(self._shape_chosen)
        for attr, spin in self.size_spins.items():
            spin.valueChanged.connect(lambda value, a=attr: self._size_edited(a, value))
        self.population_check.toggled.connect(self._population_toggled)
        for spin in self.dispersion_spins:
            spin.valueChanged.connect(self._dispersion_edited)
        self.add_button.clicked.connect(self.add_twin_from_edit)
        self.twin_edit.returnPressed.connect(self.add_twin_from_edit)
        self.twin_edit.textChanged.connect(self._show_members)
        self.remove_button.clicked.connect(self.remove_selected_twin)
        self.twin_list.currentTextChanged.connect(self._show_members)
        self.by_count.toggled.connect(self._density_edited)
        self.count_spin.valueChanged.connect(self._density_edited)
        self.domain_spin.valueChanged.connect(self._density_edited)
        self.seeds_edit.editingFinished.connect(self._seeds_edited)
        self.ensemble_check.toggled.connect(self._ensemble_toggled)
        self.compare_check.toggled.connect(self._compare_toggled)
        self.build_button.clicked.connect(lambda: self.request_build(live=False))
        self.cancel_button.clicked.connect(self.cancel_requested.emit)
        self.domain_slider.valueChanged.connect(self._slider_moved)
        workspace.model_changed.connect(self.load_model)
        workspace.structure_changed.connect(self.load_model)
        self._throttled_live = qthrottled(self._emit_live, timeout=400, leading=False)
        self.load_model()
        self._slider_moved(self.domain_slider.value())

    @staticmethod
    def _nm_spin(value: float) -> QDoubleSpinBox:
        spin = QDoubleSpinBox()
        spin.setRange(0.3, 200.0)
        spin.setDecimals(2)
        spin.setSingleStep(0.5)
        spin.setValue(value)
        return spin

    # ---------------------------------------------------------------- showing the model
    def load_model(self) -> None:
        """Show the workspace's model (nothing is written back)."""
        ws = self.workspace
        m = ws.model
        self._loading = True
        try:
            if m.cif:
                self._imported_cif = m.cif
            label = ws.structure_label()
            if self.structure_combo.findText(label) < 0:
                self.structure_combo.addItem(label)
            self.structure_combo.setCurrentText(label)
            rad = m.radiation
            self.radiation_combo.setCurrentText(rad.kind)
            self.wavelength_spin.setValue(rad.beam_wavelength or 0.0)
            self.anomalous_check.setEnabled(hasattr(rad, "anomalous"))
            self.anomalous_check.setChecked(bool(getattr(rad, "anomalous", False)))
            if self.shape_combo.findText(m.shape) < 0:
                self.shape_combo.addItem(m.shape)
            self.shape_combo.setCurrentText(m.shape)
            kind = get_shape(m.shape)
            means = self._population_means(m)
            for attr, spin in self.size_spins.items():
                value = means.get(attr) if m.population is not None else getattr(m, attr)
                if value is not None:
                    spin.setValue(value)
            self.population_check.setChecked(m.population is not None)
            if m.population is not None:
                for spin, key in zip(self.dispersion_spins, self._dispersion_keys(m.shape), strict=False):
                    spin.setValue(getattr(m.population, key))
            self.twin_list.clear()
            self.twin_list.addItems(list(m.twins))
            if m.domain_size_nm is not None:
                self.by_size.setChecked(True)
                sizes = m.domain_size_nm
                self.domain_spin.setValue(next(iter(sizes.values())) if isinstance(sizes, dict) else sizes)
            else:
                self.by_count.setChecked(True)
                self.count_spin.setValue(m.boundaries if m.boundaries is not None else 1)
            self.seeds_edit.setText(format_seeds(list(m.seeds)))
            self.ensemble_check.setChecked(bool(m.ensemble))
            self.ensemble_check.setEnabled(m.domain_size_nm is not None)
            self.compare_check.setChecked(ws.compare_untwinned)
            hidden = hidden_parts(m)
            self.hidden_label.setText("Also in the model (kept as they are): " + "; ".join(hidden) + "."
                                      if hidden else "")
            self._show_shape(kind)
        finally:
            self._loading = False

    def _show_shape(self, kind) -> None:
        labels = {p.attr: f"{p.label} ({p.unit})" for p in kind.sizes}
        for attr in SIZE_ATTRS:
            on = attr in labels
            self.size_spins[attr].setEnabled(on)
            self.size_labels[attr].setText(labels.get(attr, attr.replace("_nm", " (nm)")))
            self.size_spins[attr].setToolTip(next((p.description for p in kind.sizes if p.attr == attr), ""))
        population = self.population_check.isChecked()
        for spin, key in zip(self.dispersion_spins, (*self._dispersion_keys(kind.name), None), strict=False):
            spin.setVisible(key is not None)
            spin.setEnabled(population and key is not None)
            spin.setToolTip(f"{key}: relative dispersion σ/mean" if key else "")

    @staticmethod
    def _dispersion_keys(shape: str) -> tuple[str, ...]:
        """The population's dispersion keys: ("sab", "sc") or ("sD",)."""
        return tuple(k for k in get_shape(shape).population_keys if k.startswith("s"))

    @staticmethod
    def _mean_keys(shape: str) -> dict[str, str]:
        """Size attribute -> the population's mean key (size_ab_nm -> Dab, ...)."""
        kind = get_shape(shape)
        means = [k for k in kind.population_keys if not k.startswith("s")]
        return dict(zip(kind.size_attrs, means, strict=True))

    def _population_means(self, m: Model) -> dict[str, float]:
        if m.population is None:
            return {}
        return {attr: getattr(m.population, key) for attr, key in self._mean_keys(m.shape).items()}

    # ---------------------------------------------------------------- edits (one field each)
    def _edit(self, **changes) -> None:
        if not self._loading:
            self.workspace.set_model(replace(self.workspace.model, **changes))

    def _structure_chosen(self, text: str) -> None:
        if self._loading or not text:
            return
        if text.startswith(IMPORTED_PREFIX):
            self._edit(structure=None, cif=self._imported_cif, tilt=None)
        else:
            self._edit(structure=text, cif=None)

    def _radiation_edited(self, *_args) -> None:
        if self._loading:
            return
        kind = self.radiation_combo.currentText()
        old = self.workspace.model.radiation
        same_kind = old.kind == kind
        params = {k: v for k, v in old.to_dict().items() if k != "kind"} if same_kind else {}
        wavelength = self.wavelength_spin.value()
        shown = old.beam_wavelength or 0.0
        if not (same_kind and abs(shown - wavelength) < 5e-9):  # the user set a wavelength
            params.pop("energy_kev", None)  # the dock shows a wavelength: it replaces an energy
            params["wavelength"] = wavelength if wavelength > 0 else None
        if same_kind and "anomalous" in params:
            params["anomalous"] = self.anomalous_check.isChecked()
        try:
            radiation = make_radiation(kind, **{k: v for k, v in params.items() if v is not None})
        except NanotwinError as exc:
            self.hidden_label.setText(f"<span style='color:#b00'>{exc}</span>")
            return
        if radiation != old:
            self._edit(radiation=radiation)

    def _shape_chosen(self, shape: str) -> None:
        if self._loading or not shape:
            return
        kind = get_shape(shape)
        m = self.workspace.model
        changes: dict = {"shape": shape}
        if m.population is not None:
            means = {key: self.size_spins[attr].value() for attr, key in self._mean_keys(shape).items()}
            disp = dict(zip(self._dispersion_keys(shape), (s.value() for s in self.dispersion_spins),
                            strict=False))
            changes["population"] = PopulationSpec(**means, **disp, correlation=m.population.correlation)
        else:  # the new shape's sizes from the spins; sizes it does not have are dropped
            changes.update({a: self.size_spins[a].value() if a in kind.size_attrs else None
                            for a in SIZE_ATTRS})
        self._show_shape(kind)
        self._edit(**changes)

    def _size_edited(self, attr: str, value: float) -> None:
        m = self.workspace.model
        if self._loading or attr not in get_shape(m.shape).size_attrs:
            return
        if m.population is not None:
            self._edit(population=replace(m.population, **{self._mean_keys(m.shape)[attr]: value}))
        else:
            self._edit(**{attr: value})

    def _population_toggled(self, on: bool) -> None:
        self._show_shape(get_shape(self.shape_combo.currentText()))
        if self._loading:
            return
        m = self.workspace.model
        kind = get_shape(m.shape)
        if on and m.population is None:
            means = {key: self.size_spins[attr].value() for attr, key in self._mean_keys(m.shape).items()}
            disp = dict(zip(self._dispersion_keys(m.shape), (s.value() for s in self.dispersion_spins),
                            strict=False))
            self._edit(population=PopulationSpec(**means, **disp), **{a: None for a in kind.size_attrs})
        elif not on and m.population is not None:
            self._edit(population=None, **{a: self.size_spins[a].value() for a in kind.size_attrs})

    def _dispersion_edited(self, *_args) -> None:
        m = self.workspace.model
        if self._loading or m.population is None:
            return
        disp = dict(zip(self._dispersion_keys(m.shape), (s.value() for s in self.dispersion_spins),
                        strict=False))
        self._edit(population=replace(m.population, **disp))

    def _density_edited(self, *_args) -> None:
        if self._loading or not self.workspace.model.twins:
            return
        if self.by_count.isChecked():
            self._edit(boundaries=self.count_spin.value(), domain_size_nm=None, ensemble=False)
        else:
            self._edit(boundaries=None, domain_size_nm=self.domain_spin.value())

    def _ensemble_toggled(self, on: bool) -> None:
        if not self._loading and self.workspace.model.domain_size_nm is not None:
            self._edit(ensemble=bool(on))

    def _seeds_edited(self) -> None:
        if self._loading:
            return
        try:
            seeds = parse_seeds(self.seeds_edit.text())
        except NanotwinError as exc:
            self.seeds_edit.setToolTip(str(exc))
            self.seeds_edit.setText(format_seeds(list(self.workspace.model.seeds)))
            return
        if seeds != list(self.workspace.model.seeds):
            self._edit(seeds=seeds)

    def _compare_toggled(self, on: bool) -> None:
        if not self._loading:
            self.workspace.compare_untwinned = on

    # ---------------------------------------------------------------- twins
    def _set_twins(self, twins: list[str]) -> None:
        m = self.workspace.model
        if not twins:
            self._edit(twins=[], boundaries=None, domain_size_nm=None, ensemble=False)
        elif isinstance(m.domain_size_nm, dict):  # per-law sizes name the old laws: one size for all
            self._edit(twins=twins, domain_size_nm=self.domain_spin.value())
        elif m.boundaries is None and m.domain_size_nm is None:
            if self.by_size.isChecked():
                self._edit(twins=twins, domain_size_nm=self.domain_spin.value())
            else:
                self._edit(twins=twins, boundaries=self.count_spin.value())
        else:
            self._edit(twins=twins)

    def add_twin_from_edit(self) -> bool:
        """Add the typed twin law to the model (False, with a message, if it does not parse)."""
        text = self.twin_edit.text().strip()
        try:
            members = expand_twin_law(text, self._structure())
        except NanotwinError as exc:
            self.members_label.setText(f"<span style='color:#b00'>{exc}</span>")
            return False
        self.twin_edit.clear()
        self._set_twins([*self.workspace.model.twins, text])
        self.members_label.setText(f"{text}: {len(members)} member(s): " + ", ".join(members))
        return True

    def remove_selected_twin(self) -> None:
        """Remove the selected (else the last) twin law."""
        row = self.twin_list.currentRow()
        twins = list(self.workspace.model.twins)
        if row < 0:
            row = len(twins) - 1
        if 0 <= row < len(twins):
            del twins[row]
            self._set_twins(twins)

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
        """The model's structure for expanding twin laws."""
        return self.workspace.structure()

    # ---------------------------------------------------------------- build
    def request_build(self, live: bool = False) -> None:
        """Ask the window for a build of the model."""
        self.build_requested.emit(live)

    def set_busy(self, busy: bool) -> None:
        """Reflect a running computation in the buttons."""
        self.cancel_button.setEnabled(busy)

    def _slider_moved(self, value: int) -> None:
        nm = value / 10.0
        self.slider_label.setText(f"mean domain size {nm:.1f} nm")
        if self.live_check.isChecked():
            self.by_size.setChecked(True)
            self.domain_spin.setValue(nm)
            self._density_edited()
            self._throttled_live()

    def _emit_live(self) -> None:
        self.request_build(live=True)
