"""The PDF dock: a measured G(r) (.gr) and its refinement with the model of the model dock, as
``nanotwin fit --data FILE.gr`` does it (the core's ``actions.fit_pdf_model``).

Widgets only: the r range, the Q window of the data's transform (from its header, editable),
start values of the PDFgui-style terms, what to refine, Run/Stop, Rw, the refined values with
esds and the G(r) plot (observed, calculated over the fitted range, difference below). The
``pdf_controller`` runs the jobs.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDoubleSpinBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from nanotwin_core.cli.options import parse_rranges
from nanotwin_core.errors import NanotwinError
from nanotwin_core.refine.pdf_fit import PDF_REFINABLE, PDFFitSettings
from nanotwin_core.refine.report import format_esd

RANGE_COLOURS = ("#d62728", "#1f77b4", "#ff7f0e", "#9467bd")
NO_DATA = "Open a G(r) file (.gr) with File > Import data or by dropping it on the window."
DEFAULT_REFINE = ("scale", "adp", "expansion", "delta2")  # as the command line


def _spin(lo: float, hi: float, value: float, decimals: int = 3,
          special: str | None = None) -> QDoubleSpinBox:
    spin = QDoubleSpinBox()
    spin.setRange(lo, hi)
    spin.setDecimals(decimals)
    spin.setValue(value)
    if special:
        spin.setSpecialValueText(special)
    return spin


def _value_text(v: dict | None) -> str:
    if v is None:
        return "–"
    return format_esd(v["value"], v.get("esd")) + (f" (at {v['at_bound']})" if v.get("at_bound") else "")


class PDFDock(QWidget):
    """G(r) data, fit settings, Run/Stop and the result; emits ``run_requested``, ``stop_requested``,
    ``export_requested``."""

    run_requested = Signal()
    stop_requested = Signal()
    export_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        outer = QVBoxLayout(self)
        self.data_label = QLabel(NO_DATA)
        self.data_label.setWordWrap(True)
        outer.addWidget(self.data_label)

        box = QGroupBox("Fit")
        form = QFormLayout(box)
        r_row = QHBoxLayout()
        self.rmin_spin, self.rmax_spin = _spin(0.0, 500.0, 1.0, 2), _spin(0.1, 500.0, 20.0, 2)
        r_row.addWidget(self.rmin_spin)
        r_row.addWidget(self.rmax_spin)
        r_row.addWidget(QLabel("Å"))
        form.addRow("r range", r_row)
        self.ranges_edit = QLineEdit()
        self.ranges_edit.setPlaceholderText("range-resolved: e.g. 1.5:26, 26:70 (empty: the r range)")
        self.ranges_edit.setToolTip("Several r ranges (Å): one independent refinement per range, as the "
                                    "paper's short- and long-range fits")
        form.addRow("r ranges", self.ranges_edit)
        q_row = QHBoxLayout()
        self.qmin_spin = _spin(0.0, 50.0, 0.0, 3, "header")
        self.qmax_spin = _spin(0.0, 100.0, 0.0, 3, "header")
        for spin in (self.qmin_spin, self.qmax_spin):
            spin.setToolTip("Q window of the data's transform (1/Å); 'header' = as the file states "
                            "(Qmin 0 where it states none)")
            q_row.addWidget(spin)
        q_row.addWidget(QLabel("1/Å"))
        form.addRow("Qmin, Qmax", q_row)
        self.qdamp_spin = _spin(0.0, 1.0, 0.0, 4)
        self.qbroad_spin = _spin(0.0, 1.0, 0.0, 4)
        self.delta2_spin = _spin(0.0, 50.0, 0.0, 3)
        self.spdiameter_spin = _spin(0.0, 1000.0, 0.0, 2, "none")
        form.addRow("Qdamp (1/Å)", self.qdamp_spin)
        form.addRow("Qbroad (1/Å)", self.qbroad_spin)
        form.addRow("delta2 (Å²)", self.delta2_spin)
        form.addRow("sp. diameter (Å)", self.spdiameter_spin)
        grid = QGridLayout()
        self.refine_checks: dict[str, QCheckBox] = {}
        for i, name in enumerate(PDF_REFINABLE):
            check = QCheckBox(name)
            check.setChecked(name in DEFAULT_REFINE)
            grid.addWidget(check, i // 3, i % 3)
            self.refine_checks[name] = check
        form.addRow("refine", grid)
        self.nfev_spin = QSpinBox()
        self.nfev_spin.setRange(1, 100_000)
        self.nfev_spin.setValue(200)
        form.addRow("evaluations", self.nfev_spin)
        outer.addWidget(box)

        buttons = QHBoxLayout()
        self.run_button = QPushButton("Run")
        self.stop_button = QPushButton("Stop")
        self.report_button = QPushButton("Export report…")
        for b in (self.run_button, self.stop_button, self.report_button):
            buttons.addWidget(b)
        outer.addLayout(buttons)
        self.status_label = QLabel("")
        self.status_label.setWordWrap(True)
        outer.addWidget(self.status_label)
        self.table = QTableWidget(0, 2)
        self.table.setHorizontalHeaderLabels(["parameter", "value(esd)"])
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setMinimumHeight(140)
        outer.addWidget(self.table)
        self.plot = pg.PlotWidget(background="w")
        self.running_curve: pg.PlotDataItem | None = None  # the running fit's live G(r)
        self.plot.setLabel("bottom", "r (Å)")
        self.plot.setLabel("left", "G(r) (1/Å²)")
        self.plot.addLegend(offset=(-5, 5))
        self.plot.setMinimumHeight(220)
        outer.addWidget(self.plot, 1)

        self.run_button.clicked.connect(self.run_requested.emit)
        self.stop_button.clicked.connect(self.stop_requested.emit)
        self.report_button.clicked.connect(self.export_requested.emit)
        self.set_running(False, has_data=False, has_fit=False)

    # ---------------------------------------------------------------- reading
    def settings(self) -> PDFFitSettings:
        """The fit settings shown (NanotwinError where they do not fit together)."""
        refine = tuple(n for n, c in self.refine_checks.items() if c.isChecked())
        if not refine:
            raise NanotwinError("choose at least one thing to refine")
        sp = self.spdiameter_spin.value()
        return PDFFitSettings(
            rmin=self.rmin_spin.value(), rmax=self.rmax_spin.value(),
            qmin=self.qmin_spin.value() or None, qmax=self.qmax_spin.value() or None,
            qdamp=self.qdamp_spin.value(), qbroad=self.qbroad_spin.value(), delta2=self.delta2_spin.value(),
            spdiameter=sp or None, refine=refine, max_nfev=self.nfev_spin.value(),
        ).check()

    def ranges(self) -> list[tuple[float, float]]:
        """The r ranges (Å) to fit: those typed for a range-resolved fit, else the r range."""
        text = self.ranges_edit.text().strip()
        if text:
            return parse_rranges([text])
        lo, hi = self.rmin_spin.value(), self.rmax_spin.value()
        if not hi > lo:
            raise NanotwinError(f"the r range {lo:g}-{hi:g} Å is empty")
        return [(lo, hi)]

    # ---------------------------------------------------------------- showing
    def show_data(self, data) -> None:
        """A G(r) just opened (None: none): its name, header Q window and points."""
        self.plot.clear()
        self.running_curve = None
        self.table.setRowCount(0)
        if data is None:
            self.data_label.setText(NO_DATA)
            return
        q = f"Qmin {data.qmin:g}, " if data.qmin is not None else ""
        q += f"Qmax {data.qmax:g} 1/Å (header)" if data.qmax is not None else "no Qmax in the header"
        sigma = "with dG" if data.dg is not None else "no dG (unit weights)"
        self.data_label.setText(f"<b>{Path(data.path or 'G(r)').name}</b>: {len(data.r)} points, r = "
                                f"{data.r.min():g}–{data.r.max():g} Å, {q}, {sigma}")
        self.plot.plot(data.r, data.g, pen=None, symbol="o", symbolSize=3, symbolBrush=(80, 80, 80),
                       symbolPen=None, name="observed")

    def show_running(self, r: np.ndarray, g_calc: np.ndarray) -> None:
        """The running fit's current G(r) over the range being fitted (replaced at every report;
        ``show_data`` or ``show_result`` clear it)."""
        if self.running_curve is None or self.running_curve.getViewBox() is None:
            pen = pg.mkPen(RANGE_COLOURS[0], width=1.5, style=Qt.PenStyle.DashLine)
            self.running_curve = self.plot.plot(pen=pen, name="calculated (running)")
        self.running_curve.setData(r, g_calc)

    def show_result(self, data, fit) -> None:
        """A fit (``pdf_project.PDFFitRecord``): the curves of every r range with the difference
        below, Rw and the refined values with esds (a column per range)."""
        self.show_data(data)
        diffs = [np.interp(r, data.r, data.g) - g for r, g in fit.curves]
        spread = max((float(np.max(np.abs(d))) for d in diffs if len(d)), default=1.0) or 1.0
        offset = float(np.min(data.g)) - 1.1 * spread
        for i, ((r, g), d) in enumerate(zip(fit.curves, diffs, strict=True)):
            label = "calculated" if len(fit.curves) == 1 else f"calculated {r.min():g}-{r.max():g} Å"
            self.plot.plot(r, g, pen=pg.mkPen(RANGE_COLOURS[i % len(RANGE_COLOURS)], width=1.5), name=label)
            self.plot.plot(r, d + offset, pen=pg.mkPen("#2a7a2a", width=1.2),
                           name="difference" if i == 0 else None)
        entries = fit.entries
        names = [n for n, v in entries[0].get("parameters", {}).items()
                 if v.get("refined") and not v.get("constraint")]
        self.table.setColumnCount(1 + len(entries))
        heads = ["value(esd)"] if len(entries) == 1 else [f"{e['rmin']:g}-{e['rmax']:g} Å" for e in entries]
        self.table.setHorizontalHeaderLabels(["parameter", *heads])
        rows = [[n, *(_value_text(e.get("parameters", {}).get(n)) for e in entries)] for n in names]
        sizes = [(e.get("population") or {}).get("D_eq_nm") for e in entries]
        if any(sizes):
            rows.append(["sphere diameter (nm)", *(f"{v:.3f}" if v else "–" for v in sizes)])
        rows.append(["Rw", *(f"{e.get('rw', float('nan')):.4f}" for e in entries)])
        self.table.setRowCount(len(rows))
        for i, row in enumerate(rows):
            for j, text in enumerate(row):
                item = QTableWidgetItem(text)
                if j:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(i, j, item)
        self.table.resizeColumnsToContents()
        s = fit.summary
        notes = "; ".join(s.get("messages", []))
        took = f", {s['seconds']:.1f} s" if s.get("seconds") is not None else ""
        rws = ", ".join(f"Rw = {e.get('rw', float('nan')):.4f} over r = {e['rmin']:g}–{e['rmax']:g} Å"
                        for e in entries)
        self.status_label.setText(f"{rws} (Qmin {s.get('qmin', 0):g}, Qmax {s.get('qmax', 0):g} 1/Å){took}"
                                  + (f". Notes: {notes}" if notes else ""))

    def set_running(self, running: bool, *, has_data: bool, has_fit: bool) -> None:
        """Enable the buttons for the state."""
        self.run_button.setEnabled(has_data and not running)
        self.stop_button.setEnabled(running)
        self.report_button.setEnabled(has_fit and not running)
        self.run_button.setToolTip("Refine the model of the model dock against the G(r)" if has_data
                                   else NO_DATA)
