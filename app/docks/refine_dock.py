"""The refinement dock: parameter table, what to refine, Run/Stop, Accept/Revert, correlations.

It edits a table of parameters (value, refine flag, bounds, esd, constraint: free, fixed or equal
to another parameter) and the fit options, and asks the window (by signal) to run or stop a fit;
the window runs it in a worker (``jobs.run_refinement``) and hands back live reports and the
result. The dock computes nothing: the preview of the parameters comes from ``jobs.preview_rows``
(names, start values and bounds as ``prepare_fit`` makes them, without the size database).
"""

from __future__ import annotations

import copy
import math

import numpy as np
from nanotwin_app import jobs
from nanotwin_app.workspace import FitRecord, ModelSettings, Workspace
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from nanotwin_core.errors import NanotwinError

COLUMNS = ("name", "value", "refine", "min", "max", "esd", "constraint")
CHOICES = ("scale", "background", "adp", "size", "expansion", "zero")
CHOICE_TIPS = {
    "scale": "scale factor (linear: solved in every evaluation)",
    "background": "Chebyshev background terms (linear)",
    "adp": "B (Å^2) per ADP group (Pb, Cs, X_ax, X_eq, ...)",
    "size": "size population: mean sizes (nm) and relative dispersions",
    "expansion": "isotropic expansion e: every distance times (1 + e)",
    "zero": "2θ zero shift (degrees; 2θ data only)",
}
NO_DATA_TIP = "Load data first (File > Import data… or drop a .xye file on the window)."


def _num(text: str) -> float | None:
    """A table cell as a number; '' or '-inf'/'inf' = None (no bound)."""
    t = text.strip()
    if not t or t.lower() in ("none", "inf", "-inf", "+inf"):
        return None
    return float(t)


def _fmt(value: float | None) -> str:
    return "" if value is None else f"{value:.6g}"


class RefineDock(QWidget):
    """Refinement controls; emits ``run_requested``, ``stop_requested``, ``export_requested``."""

    run_requested = Signal()
    stop_requested = Signal()
    export_requested = Signal()
    show_fit_toggled = Signal(bool)

    def __init__(self, workspace: Workspace, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.workspace = workspace
        self._defaults: dict[str, float] = {}
        self._loading = False
        self.running = False
        outer = QVBoxLayout(self)

        self.status_label = QLabel(NO_DATA_TIP)
        self.status_label.setWordWrap(True)
        outer.addWidget(self.status_label)

        opts = QGroupBox("Model and fit options")
        form = QFormLayout(opts)
        pop_row = QHBoxLayout()
        self.population_check = QCheckBox("log-normal size population")
        self.population_check.setToolTip("Fit a number-based log-normal population of the model dock's "
                                         "shape; the model's sizes are the start means")
        self.population_check.setChecked(True)
        self.dispersion_spin = QDoubleSpinBox()
        self.dispersion_spin.setRange(0.03, 0.9)
        self.dispersion_spin.setSingleStep(0.05)
        self.dispersion_spin.setValue(0.2)
        self.dispersion_spin.setToolTip("start relative dispersion sigma/<D> of the sizes")
        pop_row.addWidget(self.population_check)
        pop_row.addWidget(QLabel("σ/⟨D⟩"))
        pop_row.addWidget(self.dispersion_spin)
        form.addRow(pop_row)
        self.background_spin = QSpinBox()
        self.background_spin.setRange(0, 12)
        self.background_spin.setValue(3)
        self.background_spin.setToolTip("Chebyshev background: terms 0..N over the fitted range")
        form.addRow("background order", self.background_spin)
        range_row = QHBoxLayout()
        self.qmin_spin = QDoubleSpinBox()
        self.qmax_spin = QDoubleSpinBox()
        for spin in (self.qmin_spin, self.qmax_spin):
            spin.setRange(0.0, 50.0)
            spin.setDecimals(3)
            spin.setSingleStep(0.1)
            spin.setSpecialValueText("all")
            spin.setToolTip("fitted Q range (1/Å); 'all' = no limit")
            range_row.addWidget(spin)
        form.addRow("Q range (1/Å)", range_row)
        self.polarization_combo = QComboBox()
        self.polarization_combo.addItems(["none", "lab", "sync"])
        self.polarization_combo.setToolTip("polarization factor for 2θ data: none, lab (unpolarized), "
                                           "sync (synchrotron, vertical scattering plane)")
        form.addRow("polarization", self.polarization_combo)
        outer.addWidget(opts)

        choices = QGroupBox("Refine")
        grid = QGridLayout(choices)
        self.choice_checks: dict[str, QCheckBox] = {}
        for i, name in enumerate(CHOICES):
            check = QCheckBox(name)
            check.setToolTip(CHOICE_TIPS[name])
            check.setChecked(name in ("scale", "background", "adp", "size"))
            grid.addWidget(check, i // 3, i % 3)
            self.choice_checks[name] = check
        outer.addWidget(choices)

        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.setMinimumHeight(220)
        outer.addWidget(self.table, 1)

        buttons = QHBoxLayout()
        self.run_button = QPushButton("Run")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setEnabled(False)
        self.accept_button = QPushButton("Accept")
        self.revert_button = QPushButton("Revert")
        self.accept_button.setToolTip("Keep the refined values as the new start values")
        self.revert_button.setToolTip("Drop the last fit: back to the values before it")
        for b in (self.run_button, self.stop_button, self.accept_button, self.revert_button):
            buttons.addWidget(b)
        outer.addLayout(buttons)
        self.figures_label = QLabel("Rwp: –   GoF: –")
        self.figures_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        outer.addWidget(self.figures_label)
        row = QHBoxLayout()
        self.show_fit_check = QCheckBox("show the fit in the pattern panel")
        self.show_fit_check.setChecked(True)
        row.addWidget(self.show_fit_check, 1)
        self.report_button = QPushButton("Export report…")
        self.report_button.setToolTip("Write the last fit as a Markdown report")
        row.addWidget(self.report_button)
        outer.addLayout(row)

        corr_box = QGroupBox("Correlation matrix (refined parameters)")
        cl = QVBoxLayout(corr_box)
        self.corr_table = QTableWidget(0, 0)
        self.corr_table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.corr_table.setMinimumHeight(140)
        cl.addWidget(self.corr_table)
        outer.addWidget(corr_box, 1)

        self.run_button.clicked.connect(self.run_requested.emit)
        self.stop_button.clicked.connect(self.stop_requested.emit)
        self.accept_button.clicked.connect(self.accept)
        self.revert_button.clicked.connect(self.revert)
        self.report_button.clicked.connect(self.export_requested.emit)
        self.show_fit_check.toggled.connect(self.show_fit_toggled.emit)
        for name, check in self.choice_checks.items():
            check.toggled.connect(lambda on, n=name: self._choice_toggled(n, on))
        self.population_check.toggled.connect(self._population_toggled)
        self.dispersion_spin.valueChanged.connect(self.refresh_preview)
        self.background_spin.valueChanged.connect(self.refresh_preview)
        for w in (self.qmin_spin, self.qmax_spin):
            w.valueChanged.connect(self._store_options)
        self.polarization_combo.currentTextChanged.connect(self._store_options)
        workspace.settings_changed.connect(self.refresh_preview)
        workspace.structure_changed.connect(self.refresh_preview)
        workspace.data_changed.connect(self.refresh_preview)
        workspace.fit_changed.connect(self._fit_changed)
        workspace.project_loaded.connect(self.load_options)
        self.refresh_preview()
        self._fit_changed()

    # ---------------------------------------------------------------- options
    def options(self) -> dict:
        """The dock's choices as plain JSON values (stored in projects)."""
        return {
            "population": self.population_check.isChecked(),
            "dispersion": self.dispersion_spin.value(),
            "background_order": self.background_spin.value(),
            "q_min": self.qmin_spin.value(), "q_max": self.qmax_spin.value(),
            "polarization": self.polarization_combo.currentText(),
            "refine": [n for n, c in self.choice_checks.items() if c.isChecked()],
            "rows": self.rows(strict=False),
        }

    def load_options(self) -> None:
        """Show the workspace's stored options (after a project was opened)."""
        o = self.workspace.fit_options
        if not o:
            self.refresh_preview()
            return
        self._loading = True
        try:
            self.population_check.setChecked(bool(o.get("population", True)))
            self.dispersion_spin.setValue(float(o.get("dispersion", 0.2)))
            self.background_spin.setValue(int(o.get("background_order", 3)))
            self.qmin_spin.setValue(float(o.get("q_min", 0.0)))
            self.qmax_spin.setValue(float(o.get("q_max", 0.0)))
            self.polarization_combo.setCurrentText(str(o.get("polarization", "none")))
            for n, c in self.choice_checks.items():
                c.setChecked(n in o.get("refine", []))
        finally:
            self._loading = False
        self.refresh_preview()
        rows = o.get("rows")
        if rows:
            self.set_rows(rows)
        self._store_options()

    def _store_options(self, *_args) -> None:
        if not self._loading and not self.workspace.loading:
            self.workspace.fit_options = self.options()

    def fit_settings(self):
        """The core ``FitSettings`` of the dock's choices."""
        from nanotwin_core.refine.dse_fit import FitSettings

        lo, hi = self.qmin_spin.value(), self.qmax_spin.value()
        q_range = None
        if lo > 0 or hi > 0:
            q_range = (lo, hi if hi > 0 else math.inf)
            if q_range[0] >= q_range[1]:
                raise NanotwinError(f"the Q range {lo:g}-{hi:g} 1/Å is empty")
        pol = self.polarization_combo.currentText()
        refine = tuple(n for n, c in self.choice_checks.items() if c.isChecked() and c.isEnabled())
        return FitSettings(refine=refine, background_order=self.background_spin.value(), q_range=q_range,
                           polarization=None if pol == "none" else pol)

    def fit_model(self, settings: ModelSettings | None = None, wavelength: float | None = None,
                  rows: list[dict] | None = None):
        """The core ``Model`` to fit: the model dock's crystal, the table's sizes and B as start values."""
        from nanotwin_core.model import Model, PopulationSpec
        from nanotwin_core.scattering.radiation import XRay

        s = settings or self.workspace.settings
        values = {r["name"]: r["value"] for r in (rows if rows is not None else self.rows(strict=False))}
        disp = self.dispersion_spin.value()
        population = None
        if self.population_check.isChecked():
            if s.shape == "prism":
                population = PopulationSpec(
                    Dab=values.get("Dab_nm", s.size_ab_nm), sab=values.get("sab", disp),
                    Lc=values.get("Lc_nm", s.size_c_nm), sc=values.get("sc", disp))
            else:
                population = PopulationSpec(D=values.get("D_nm", s.size_nm), sD=values.get("sD", disp))
        imported = s.structure.startswith("(imported")
        twins = list(s.twins)
        model = Model(
            structure=(getattr(self.workspace.imported_structure, "name", None) or "imported") if imported
            else s.structure,
            shape=s.shape,
            size_ab_nm=s.size_ab_nm if s.shape == "prism" else None,
            size_c_nm=s.size_c_nm if s.shape == "prism" else None,
            size_nm=None if s.shape == "prism" else s.size_nm,
            population=population, twins=twins,
            boundaries=(s.boundaries if s.domain_size_nm is None else None) if twins else None,
            domain_size_nm=s.domain_size_nm if twins else None, seeds=[int(s.seed)],
            adp={k[2:]: v for k, v in values.items() if k.startswith("B_")},
            radiation=XRay(wavelength=wavelength),
        )
        return model.validate()

    def structure(self):
        """The imported structure (None: the model's built-in one by name)."""
        if self.workspace.settings.structure.startswith("(imported"):
            return self.workspace.imported_structure
        return None

    # ---------------------------------------------------------------- table
    def rows(self, strict: bool = True) -> list[dict]:
        """The table as row dicts; ``strict``: a cell that is not a number raises NanotwinError."""
        out = []
        for i in range(self.table.rowCount()):
            base = self.table.item(i, 0).data(Qt.ItemDataRole.UserRole) or {}
            row = dict(base)
            row["name"] = self.table.item(i, 0).text()
            for col in ("value", "min", "max"):
                text = self.table.item(i, COLUMNS.index(col)).text()
                if base.get(col) is not None and text == _fmt(base[col]):
                    row[col] = base[col]  # unedited: keep the full precision of the shown number
                    continue
                try:
                    v = _num(text)
                except ValueError:
                    if strict:
                        raise NanotwinError(f"{row['name']}: {col} {text!r} is not a number") from None
                    v = base.get(col)
                if col == "value":
                    if v is None:
                        if strict:
                            raise NanotwinError(f"{row['name']}: give a value")
                        v = base.get("value", 0.0)
                row[col] = v
            row["refine"] = self.table.item(i, 2).checkState() == Qt.CheckState.Checked
            combo = self.table.cellWidget(i, 6)
            text = combo.currentText() if combo is not None else "free"
            row["constraint"] = None if text == "free" else ("fixed" if text == "fixed" else "=" + text[2:])
            out.append(row)
        return out

    def set_rows(self, rows: list[dict]) -> None:
        """Show parameter rows (see ``jobs.param_row``)."""
        self._loading = True
        try:
            self.table.setRowCount(0)
            self.table.setRowCount(len(rows))
            nonlinear = [r["name"] for r in rows if not r.get("linear")]
            for i, r in enumerate(rows):
                name = QTableWidgetItem(r["name"])
                name.setFlags(name.flags() & ~Qt.ItemFlag.ItemIsEditable)
                name.setData(Qt.ItemDataRole.UserRole, dict(r))
                name.setToolTip(f"{r.get('category', '')}" + (" (linear)" if r.get("linear") else ""))
                self.table.setItem(i, 0, name)
                self.table.setItem(i, 1, QTableWidgetItem(_fmt(r["value"])))
                check = QTableWidgetItem()
                check.setFlags(Qt.ItemFlag.ItemIsUserCheckable | Qt.ItemFlag.ItemIsEnabled)
                check.setCheckState(Qt.CheckState.Checked if r.get("refine") else Qt.CheckState.Unchecked)
                self.table.setItem(i, 2, check)
                self.table.setItem(i, 3, QTableWidgetItem(_fmt(r.get("min"))))
                self.table.setItem(i, 4, QTableWidgetItem(_fmt(r.get("max"))))
                esd_text = _fmt(r.get("esd"))
                if r.get("at_bound"):
                    esd_text = f"at {r['at_bound']}"
                esd = QTableWidgetItem(esd_text)
                esd.setFlags(esd.flags() & ~Qt.ItemFlag.ItemIsEditable)
                self.table.setItem(i, 5, esd)
                combo = QComboBox()
                combo.addItems(["free", "fixed"])
                if not r.get("linear"):
                    combo.addItems([f"= {n}" for n in nonlinear if n != r["name"]])
                c = r.get("constraint")
                combo.setCurrentText("free" if not c else ("fixed" if c == "fixed" else f"= {c[1:]}"))
                self.table.setCellWidget(i, 6, combo)
        finally:
            self._loading = False

    def refresh_preview(self, *_args) -> None:
        """Rebuild the table from the model and data; rows whose default did not change keep their
        values, flags and bounds (user edits and accepted fits survive)."""
        data = self.workspace.data
        self._update_run_state()
        if self._loading:
            return
        try:
            model = self.fit_model(rows=[])
            rows = jobs.preview_rows(model, self.fit_settings(), data.x_kind if data is not None else "q",
                                     self.structure())
        except NanotwinError as exc:  # a model the core refuses: say so, keep the table
            self.status_label.setText(f"Cannot set up the fit: {exc}")
            return
        old = {r["name"]: r for r in self.rows(strict=False)}
        merged = []
        for r in rows:
            prev = old.get(r["name"])
            if prev is not None and self._defaults.get(r["name"]) == r["value"]:
                r = {**r, **{k: prev[k] for k in ("value", "refine", "min", "max", "esd", "constraint",
                                                  "at_bound") if k in prev}}
            merged.append(r)
        self._defaults = {r["name"]: r["value"] for r in rows}
        self.set_rows(merged)
        self._update_run_state()
        self._store_options()

    def _population_toggled(self, on: bool) -> None:
        self.choice_checks["size"].setEnabled(on)
        self.dispersion_spin.setEnabled(on)
        self.refresh_preview()

    def _choice_toggled(self, choice: str, on: bool) -> None:
        for i in range(self.table.rowCount()):
            base = self.table.item(i, 0).data(Qt.ItemDataRole.UserRole) or {}
            if base.get("category") == choice:
                self.table.item(i, 2).setCheckState(Qt.CheckState.Checked if on else Qt.CheckState.Unchecked)
        self._store_options()

    # ---------------------------------------------------------------- running
    def _update_run_state(self) -> None:
        has_data = self.workspace.data is not None
        self.run_button.setEnabled(has_data and not self.running)
        self.run_button.setToolTip("Refine the checked parameters against the loaded data" if has_data
                                   else NO_DATA_TIP)
        self.stop_button.setEnabled(self.running)
        pending = self.workspace.fit is not None and self.workspace.fit.status == "pending"
        self.accept_button.setEnabled(pending and not self.running)
        self.revert_button.setEnabled(pending and not self.running)
        self.report_button.setEnabled(self.workspace.fit is not None and not self.running)
        if not has_data:
            self.status_label.setText(NO_DATA_TIP)
        elif not self.running and self.status_label.text() == NO_DATA_TIP:
            self.status_label.setText("Ready: choose what to refine and press Run.")

    def set_running(self, running: bool) -> None:
        """Reflect a running fit in the buttons."""
        self.running = running
        self.table.setEnabled(not running)
        if running:
            self.status_label.setText("Fitting…")
        self._update_run_state()

    def show_progress(self, report: jobs.FitProgress) -> None:
        """Show a live report: Rwp, GoF and the iteration."""
        self.figures_label.setText(f"iteration {report.iteration}:  Rwp = {100 * report.rwp:.3f} %   "
                                   f"GoF = {report.gof:.3f}")

    def show_message(self, text: str) -> None:
        """A one-line status (fit failed, stopped, ...)."""
        self.status_label.setText(text)

    # ---------------------------------------------------------------- results
    def _fit_changed(self) -> None:
        fit = self.workspace.fit
        if fit is not None:
            self.set_rows(fit.rows)
            note = "" if fit.summary.get("sigma_source", "file") == "file" else "  (sigma estimated)"
            self.figures_label.setText(f"Rwp = {100 * fit.rwp:.3f} %   GoF = {fit.gof:.3f}{note}   "
                                       f"[{fit.status}]")
        else:
            self.figures_label.setText("Rwp: –   GoF: –")
        self.show_correlation(fit)
        self._update_run_state()
        self._store_options()

    def show_correlation(self, fit: FitRecord | None) -> None:
        """Fill the correlation table (|r| shaded: red positive, blue negative)."""
        names = fit.cov_names if fit is not None and fit.correlation is not None else []
        self.corr_table.clear()
        self.corr_table.setRowCount(len(names))
        self.corr_table.setColumnCount(len(names))
        self.corr_table.setHorizontalHeaderLabels(names)
        self.corr_table.setVerticalHeaderLabels(names)
        if not names:
            return
        corr = np.asarray(fit.correlation)
        for i in range(len(names)):
            for j in range(len(names)):
                r = float(corr[i, j])
                item = QTableWidgetItem(f"{r:+.2f}")
                a = int(200 * min(abs(r), 1.0))
                colour = QColor(255, 255 - a, 255 - a) if r >= 0 else QColor(255 - a, 255 - a, 255)
                item.setBackground(QBrush(colour))
                item.setToolTip(f"r({names[i]}, {names[j]}) = {r:+.4f}")
                self.corr_table.setItem(i, j, item)
        self.corr_table.resizeColumnsToContents()

    def accept(self) -> None:
        """Accept the last fit."""
        self.workspace.accept_fit()
        self.status_label.setText("Fit accepted: its values are the new start values.")

    def revert(self) -> None:
        """Revert the last fit: the table as it was before it."""
        before = self.workspace.revert_fit()
        if before is not None:
            self.set_rows(before)
            self._store_options()
            self.status_label.setText("Fit reverted.")

    def snapshot(self) -> list[dict]:
        """A copy of the table (kept as the fit's ``rows_before``)."""
        return copy.deepcopy(self.rows(strict=False))
