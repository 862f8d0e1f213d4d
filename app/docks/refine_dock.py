"""The refinement dock: fit settings, parameter table, Set up/Run/Stop, Accept/Revert, correlations.

The fit and instrument settings are the model's (``fit_options.FitOptions`` edits ``model.fit``
and ``model.instrument``). The table lists the parameters of the fit as the core sets it up
(``Set up`` or the first ``Run`` builds the size database: the names, start values and bounds
come from ``prepare_model_fit``, never from a copy of its rules); the user edits values, refine
flags, bounds and constraints (free, fixed or equal to another parameter). The dock asks the
window (by signal) to set up, run or stop a fit; ``fit_controller`` runs the jobs and hands back
live reports and the result. A table field the user changed survives a new set-up as long as
the start value it was changed from is the same (``jobs.merge_rows``).

The status line, Set up/Run/Stop/Accept/Revert, Rwp/GoF and the notes on the shown fit form
``header``, a widget the window puts above the dock's scrolling content, so they never scroll
away on a small screen.
"""

from __future__ import annotations

import copy

import numpy as np
from nanotwin_app import jobs
from nanotwin_app.docks.fit_options import FitOptions
from nanotwin_app.docks.mixture_box import MixtureBox
from nanotwin_app.docks.size_view import SizeView
from nanotwin_app.flow_layout import FlowLayout
from nanotwin_app.workspace import FitRecord, Workspace
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from nanotwin_core.errors import NanotwinError

COLUMNS = ("name", "value", "refine", "min", "max", "esd", "constraint")
NOTES_LINES = 4  # the notes in the header take at most this many lines (tooltip: all of them)
NO_DATA_TIP = "Load data first (File > Import data… or drop a .xye file on the window)."
STALE_TIP = ("The model or the fit settings changed since the table was set up: Run sets the fit up "
             "again (your edits of start values that did not change are kept).")


def _num(text: str) -> float | None:
    """A table cell as a number; '' or '-inf'/'inf' = None (no bound)."""
    t = text.strip()
    if not t or t.lower() in ("none", "inf", "-inf", "+inf"):
        return None
    return float(t)


def _fmt(value: float | None) -> str:
    return "" if value is None else f"{value:.6g}"


def fit_notes(fit: FitRecord) -> list[str]:
    """What the core said about a fit: its diagnostics (errors first: the numbers are then not a
    result), its messages, and the parameters that ended at a bound: shown with the fit until
    another one."""
    found = fit.summary.get("diagnostics", [])
    notes = [("FAILED: " if d.get("severity") == "error" else "") + str(d.get("message", ""))
             for d in sorted(found, key=lambda d: d.get("severity") != "error")]
    notes += [str(m) for m in fit.summary.get("messages", [])]
    notes += [f"{r['name']} ended at its {r['at_bound']} bound" for r in fit.rows if r.get("at_bound")]
    return notes


class RefineDock(QWidget):
    """Refinement controls; emits ``setup_requested``, ``run_requested``, ``stop_requested``,
    ``export_requested``."""

    setup_requested = Signal()
    defaults_requested = Signal()
    run_requested = Signal()
    stop_requested = Signal()
    export_requested = Signal()
    show_fit_toggled = Signal(bool)

    def __init__(self, workspace: Workspace, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.workspace = workspace
        self.defaults: dict[str, dict] = {}  # the rows the table was set up with, by name
        self._loading = False
        self.running = False
        outer = QVBoxLayout(self)
        self.header = QWidget()
        head = QVBoxLayout(self.header)
        head.setContentsMargins(6, 4, 6, 4)

        self.status_label = QLabel(NO_DATA_TIP)
        self.status_label.setWordWrap(True)
        head.addWidget(self.status_label)
        self.fit_options = FitOptions(workspace)
        outer.addWidget(self.fit_options)
        self.mixture_box = MixtureBox(workspace)
        outer.addWidget(self.mixture_box)
        self.choice_checks = self.fit_options.choice_checks

        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.setMinimumHeight(220)
        outer.addWidget(self.table, 1)

        buttons = QHBoxLayout()
        self.setup_button = QPushButton("Set up")
        self.setup_button.setToolTip("Build the fit (its size database) and list its parameters, "
                                     "to edit start values, bounds and constraints before Run")
        self.run_button = QPushButton("Run")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setEnabled(False)
        self.accept_button = QPushButton("Accept")
        self.revert_button = QPushButton("Revert")
        self.accept_button.setToolTip("Keep the refined values as the new start values")
        self.revert_button.setToolTip("Drop the last fit: back to the values before it")
        for b in (self.setup_button, self.run_button, self.stop_button, self.accept_button,
                  self.revert_button):
            b.setMinimumWidth(40)
            buttons.addWidget(b)
        head.addLayout(buttons)
        self.figures_label = QLabel("Rwp: –   GoF: –")
        self.figures_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.figures_label.setStyleSheet("font-weight: bold")
        head.addWidget(self.figures_label)
        self.notes_label = QLabel("")  # what the core says about the shown fit: stays with the fit
        self.notes_label.setWordWrap(True)
        self.notes_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.notes_label.setStyleSheet("background: #fff3c4; color: #7a3b00; padding: 3px")
        self.notes_label.setVisible(False)
        self.notes_label.setMaximumHeight(self.notes_label.fontMetrics().lineSpacing() * NOTES_LINES + 8)
        head.addWidget(self.notes_label)
        row = FlowLayout()  # wraps in a narrow dock (1280 x 720) instead of scrolling sideways
        self.show_fit_check = QCheckBox("show the fit in the pattern panel")
        self.show_fit_check.setChecked(True)
        row.addWidget(self.show_fit_check)
        self.defaults_button = QPushButton("From the data")
        self.defaults_button.setToolTip("Choose the fitted range and the start population from the data's "
                                        "peaks (as nanotwin fit --population auto without --range); the "
                                        "reasons are shown, and the model keeps them")
        row.addWidget(self.defaults_button)
        self.report_button = QPushButton("Export report…")
        self.report_button.setToolTip("Write the last fit as a Markdown report")
        row.addWidget(self.report_button)
        outer.addLayout(row)

        self.sizes_box = QGroupBox("Sizes: number- and volume-weighted")
        sl = QVBoxLayout(self.sizes_box)
        self.size_view = SizeView()
        sl.addWidget(self.size_view)
        outer.addWidget(self.sizes_box)

        corr_box = QGroupBox("Correlation matrix (refined parameters)")
        cl = QVBoxLayout(corr_box)
        self.corr_table = QTableWidget(0, 0)
        self.corr_table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.corr_table.setMinimumHeight(140)
        cl.addWidget(self.corr_table)
        outer.addWidget(corr_box, 1)

        self.setup_button.clicked.connect(self.setup_requested.emit)
        self.defaults_button.clicked.connect(self.defaults_requested.emit)
        self.run_button.clicked.connect(self.run_requested.emit)
        self.stop_button.clicked.connect(self.stop_requested.emit)
        self.accept_button.clicked.connect(self.accept)
        self.revert_button.clicked.connect(self.revert)
        self.report_button.clicked.connect(self.export_requested.emit)
        self.show_fit_check.toggled.connect(self.show_fit_toggled.emit)
        workspace.model_changed.connect(self._model_changed)
        workspace.data_changed.connect(self._update_run_state)
        workspace.fit_changed.connect(self._fit_changed)
        workspace.project_loaded.connect(self.load_options)
        self._fit_changed()

    # ---------------------------------------------------------------- options
    def options(self) -> dict:
        """The table and the rows it was set up with, as plain JSON values (stored in projects)."""
        return {"rows": self.rows(strict=False), "defaults": list(self.defaults.values())}

    def load_options(self) -> None:
        """Show the workspace's stored table (after a project was opened)."""
        o = self.workspace.fit_options
        self.defaults = {r["name"]: r for r in o.get("defaults", [])}
        rows = o.get("rows") or []
        self.set_rows(rows)
        self._update_run_state()
        self._store_options()

    def _store_options(self, *_args) -> None:
        if not self._loading and not self.workspace.loading:
            self.workspace.fit_options = self.options()

    def _model_changed(self) -> None:
        if self.workspace.loading or not self.table.rowCount():
            return
        self.status_label.setText(STALE_TIP)

    def show_setup(self, setup: jobs.FitSetup) -> None:
        """Show the rows of a fit just set up (user edits kept, see ``jobs.merge_rows``)."""
        self.set_rows(setup.rows)
        self.defaults = {r["name"]: r for r in setup.rows}
        notes = "; ".join(setup.messages)
        self.status_label.setText("Set up: edit start values, bounds and constraints, then Run."
                                  + (f" Notes: {notes}" if notes else ""))
        self._store_options()

    def show_defaults(self, rows: list[dict]) -> None:
        """Remember the set-up rows (start values) of the fit that just ran."""
        self.defaults = {r["name"]: r for r in rows}
        self._store_options()

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
                name.setToolTip("linear: solved in every evaluation unless held" if r.get("linear") else "")
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

    # ---------------------------------------------------------------- running
    def _update_run_state(self) -> None:
        has_data = self.workspace.data is not None
        self.run_button.setEnabled(has_data and not self.running)
        self.setup_button.setEnabled(has_data and not self.running)
        self.defaults_button.setEnabled(has_data and not self.running)
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
            failed = str(fit.summary.get("status", "ok")).startswith("failed")
            self.figures_label.setText(f"Rwp = {100 * fit.rwp:.3f} %   GoF = {fit.gof:.3f}{note}   "
                                       + ("[FIT FAILED: not a result]" if failed else f"[{fit.status}]"))
            self.figures_label.setStyleSheet("font-weight: bold" + ("; color: #b00020" if failed else ""))
        else:
            self.figures_label.setText("Rwp: –   GoF: –")
            self.figures_label.setStyleSheet("font-weight: bold")
        notes = fit_notes(fit) if fit is not None else []
        self.notes_label.setText("\n".join(f"• {n}" for n in notes))
        self.notes_label.setToolTip("\n".join(notes))
        self.notes_label.setVisible(bool(notes))
        self.show_correlation(fit)
        populations = fit.summary.get("populations", []) if fit is not None else []
        self.size_view.show_populations(populations)
        self.sizes_box.setVisible(bool(populations))
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
        notes = self.workspace.accept_fit()
        self.status_label.setText("Fit accepted: its values are the new start values and the model's."
                                  + (f" Notes: {'; '.join(notes)}" if notes else ""))

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
