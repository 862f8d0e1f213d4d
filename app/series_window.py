"""File > Import series: one model refined against many patterns, in a window of its own.

The window lists the pattern files (Add files…, Add list… for a series list), runs
``nanotwin_core.series.run_series`` in a worker thread (here, on a local Dask cluster of N
processes, or on a scheduler's cluster) with progress and Cancel, and shows a table of the fits
(value(esd) per parameter), a parameter-versus-series-value plot whose points (or table rows)
show that file's observed and fitted pattern, and saves the series project or the CSV table.

The model and its fit settings are the window's (the model dock and the refinement dock edit
them) at the time of Run (``model_source``).
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QThread, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from nanotwin_core.distributed import open_mapper
from nanotwin_core.errors import Cancelled, NanotwinError
from nanotwin_core.io.atomic import atomic_write_text
from nanotwin_core.io.data import PATTERN_FILTER
from nanotwin_core.io.project import save_project
from nanotwin_core.model import Model
from nanotwin_core.refine.report import format_esd
from nanotwin_core.series import (
    MODES,
    ReadOptions,
    SeriesItem,
    SeriesResult,
    natural_key,
    read_series_list,
    run_series,
    series_from_patterns,
)
from nanotwin_core.series_output import quantity, quantity_names, series_csv, series_project, series_xy

ModelSource = Callable[[], tuple[Model, object]]


class SeriesRunner(QThread):
    """``job(progress, cancel) -> SeriesResult`` off the GUI thread; signals carry the outcome."""

    progressed = Signal(float, str)
    succeeded = Signal(object)
    failed = Signal(str)
    stopped = Signal()

    def __init__(self, job: Callable[..., SeriesResult], parent=None) -> None:
        super().__init__(parent)
        self.job = job
        self._cancel = threading.Event()

    def cancel(self) -> None:
        """Ask the series to stop (its fits and cluster tasks poll this)."""
        self._cancel.set()

    def run(self) -> None:  # noqa: D102 - QThread's entry point
        try:
            result = self.job(lambda f, text="": self.progressed.emit(float(f), str(text)),
                              self._cancel.is_set)
        except Cancelled:
            self.stopped.emit()
        except (NanotwinError, OSError) as exc:
            self.failed.emit(str(exc))
        else:
            self.succeeded.emit(result)


class SeriesWindow(QWidget):
    """The series window (see the module docstring)."""

    finished = Signal()  # a run ended (result, error or cancel), in the GUI thread

    def __init__(self, model_source: ModelSource, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.setWindowTitle("nanotwin: data series")
        self.model_source = model_source
        self.items: list[SeriesItem] = []
        self.result: SeriesResult | None = None
        self.model: Model | None = None
        self.runner: SeriesRunner | None = None
        self._build()
        self.resize(1200, 760)

    # ------------------------------------------------------------------ layout
    def _build(self) -> None:
        self.file_list = QListWidget()
        self.file_list.setMaximumHeight(110)
        add = QPushButton("Add files…")
        add.clicked.connect(self._ask_files)
        add_list = QPushButton("Add list…")
        add_list.setToolTip("A text file: one pattern file and an optional series value per line")
        add_list.clicked.connect(self._ask_list)
        clear = QPushButton("Clear")
        clear.clicked.connect(lambda: self.set_items([]))
        self.mode_combo = QComboBox()
        self.mode_combo.addItems(MODES)
        self.mode_combo.setToolTip("sequential: each fit starts from the previous result; independent: all "
                                   "from the model (parallel on a cluster)")
        self.value_edit = QLineEdit()
        self.value_edit.setPlaceholderText(r"value: REGEX (e.g. T(\d+)K) or header:KEY")
        self.wavelength_spin = QDoubleSpinBox(decimals=5, minimum=0.0, maximum=20.0, singleStep=0.01)
        self.wavelength_spin.setSpecialValueText("from files")
        self.wavelength_spin.setSuffix(" Å")
        self.workers_spin = QSpinBox(minimum=0, maximum=256)
        self.workers_spin.setSpecialValueText("here")
        self.workers_spin.setPrefix("workers ")
        self.workers_spin.setToolTip("0: fit here; N: a local Dask cluster of N processes")
        self.scheduler_edit = QLineEdit()
        self.scheduler_edit.setPlaceholderText("or scheduler tcp://HOST:PORT")
        self.run_button = QPushButton("Run")
        self.run_button.clicked.connect(self.start)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.status = QLabel("Add the series' pattern files, then Run (with the refinement dock's model and "
                             "settings).")
        self.status.setWordWrap(True)

        top = QHBoxLayout()
        for w in (add, add_list, clear, self.mode_combo, self.value_edit, self.wavelength_spin,
                  self.workers_spin, self.scheduler_edit, self.run_button, self.cancel_button):
            top.addWidget(w)

        self.table = QTableWidget(0, 0)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.itemSelectionChanged.connect(self._row_selected)
        self.param_combo = QComboBox()
        self.param_combo.currentTextChanged.connect(lambda _t: self.draw_parameter())
        self.value_plot = pg.PlotWidget()
        self.value_plot.showGrid(x=True, y=True, alpha=0.3)
        self.scatter = pg.ScatterPlotItem(size=9, brush=pg.mkBrush(40, 90, 200), hoverable=True)
        self.scatter.sigClicked.connect(lambda _item, points, _ev: self.show_fit(int(points[0].data())))
        self.errors = pg.ErrorBarItem(beam=0.0)
        self.value_plot.addItem(self.errors)
        self.value_plot.addItem(self.scatter)
        self.pattern_plot = pg.PlotWidget()
        self.pattern_plot.addLegend()
        self.obs_curve = self.pattern_plot.plot(pen=None, symbol="o", symbolSize=3, name="observed")
        self.calc_curve = self.pattern_plot.plot(pen=pg.mkPen((220, 50, 40), width=1.5), name="fit")
        save = QPushButton("Save project…")
        save.clicked.connect(self._ask_save_project)
        export = QPushButton("Export table (CSV)…")
        export.clicked.connect(self._ask_export_table)
        self.save_buttons = (save, export)
        for b in self.save_buttons:
            b.setEnabled(False)

        right = QWidget()
        rl = QVBoxLayout(right)
        row = QHBoxLayout()
        row.addWidget(QLabel("parameter"))
        row.addWidget(self.param_combo, 1)
        row.addWidget(save)
        row.addWidget(export)
        rl.addLayout(row)
        rl.addWidget(self.value_plot, 1)
        rl.addWidget(self.pattern_plot, 1)
        split = QSplitter()
        split.addWidget(self.table)
        split.addWidget(right)
        split.setSizes([560, 640])
        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addWidget(self.file_list)
        lay.addWidget(self.progress)
        lay.addWidget(self.status)
        lay.addWidget(split, 1)

    # ------------------------------------------------------------------ files
    def set_items(self, items: list[SeriesItem]) -> None:
        """The files of the series (in order)."""
        self.items = list(items)
        self.file_list.clear()
        for item in self.items:
            value = "" if item.value is None else f"   ({item.value:g})"
            self.file_list.addItem(f"{item.path}{value}")

    def add_files(self, paths: list[str]) -> None:
        """Add pattern files (natural order among those added)."""
        self.set_items(self.items + series_from_patterns(sorted(paths, key=_natural)))

    def _ask_files(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self, "Series: pattern files", "", PATTERN_FILTER)
        if paths:
            self.add_files(paths)

    def _ask_list(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Series list", "", "Text (*.txt *.lst);;All files (*)")
        if path:
            try:
                self.set_items(self.items + read_series_list(path))
            except NanotwinError as exc:
                self.status.setText(str(exc))

    # ------------------------------------------------------------------ running
    def running(self) -> bool:
        return self.runner is not None

    def start(self) -> SeriesRunner | None:
        """Run the series in a worker thread (None when it cannot start; the status says why)."""
        if self.running():
            return None
        if not self.items:
            self.status.setText("No files: Add files… or Add list… first.")
            return None
        try:
            model, structure = self.model_source()
        except NanotwinError as exc:
            self.status.setText(f"Cannot run: {exc}")
            return None
        mode = self.mode_combo.currentText()
        spec = self.value_edit.text().strip() or None
        wavelength = self.wavelength_spin.value() or None
        workers = self.workers_spin.value() or None
        scheduler = self.scheduler_edit.text().strip() or None
        items = list(self.items)

        def job(progress, cancel) -> SeriesResult:
            with open_mapper(workers, scheduler) as mapper:
                return run_series(model, items, mode=mode, read=ReadOptions(wavelength=wavelength),
                                  value_spec=spec, mapper=mapper, progress=progress, cancel=cancel,
                                  structure=structure)

        self.model = model
        runner = SeriesRunner(job, self)
        runner.progressed.connect(self._progress)
        runner.succeeded.connect(self.set_result)
        runner.failed.connect(lambda msg: self.status.setText(f"Series failed: {msg}"))
        runner.stopped.connect(lambda: self.status.setText("Series cancelled: nothing changed."))
        runner.finished.connect(self._runner_done)
        self.runner = runner
        self.run_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.progress.setValue(0)
        self.status.setText(f"Fitting {len(items)} files ({mode})…")
        runner.start()
        return runner

    def cancel(self) -> None:
        """Stop the running series (fits stop at their next evaluation, cluster tasks are cancelled)."""
        if self.runner is not None:
            self.runner.cancel()
            self.status.setText("Cancelling…")

    def _progress(self, fraction: float, text: str) -> None:
        self.progress.setValue(int(round(1000 * min(max(fraction, 0.0), 1.0))))
        if text:
            self.status.setText(text)

    def _runner_done(self) -> None:
        self.runner = None
        self.run_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        self.finished.emit()

    # ------------------------------------------------------------------ results
    def set_result(self, result: SeriesResult) -> None:
        """Show a series: table, parameter plot, the first good fit's pattern."""
        self.result = result
        names = quantity_names(result)
        header = ["file", "value", "status", *names]
        self.table.clear()
        self.table.setColumnCount(len(header))
        self.table.setHorizontalHeaderLabels(header)
        self.table.setRowCount(len(result.fits))
        for r, fit in enumerate(result.fits):
            cells = [Path(fit.path).name, "" if fit.value is None else f"{fit.value:g}", fit.status]
            for name in names:
                v, e = quantity(fit, name)
                cells.append("" if v is None else format_esd(v, e))
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if c == 2 and not fit.ok:
                    item.setForeground(Qt.GlobalColor.red)
                self.table.setItem(r, c, item)
        self.table.resizeColumnsToContents()
        current = self.param_combo.currentText()
        self.param_combo.blockSignals(True)
        self.param_combo.clear()
        self.param_combo.addItems(names)
        preferred = current if current in names else next((n for n in names if n.endswith("_nm")), names[0])
        self.param_combo.setCurrentText(preferred)
        self.param_combo.blockSignals(False)
        self.draw_parameter()
        n_ok = sum(f.ok for f in result.fits)
        failed = [Path(f.path).name for f in result.fits if not f.ok]
        note = f"; failed: {', '.join(failed)}" if failed else ""
        self.status.setText(f"{n_ok}/{len(result.fits)} fits ({result.mode}, {result.n_workers} worker(s)) "
                            f"in {result.seconds:.1f} s{note}")
        for b in self.save_buttons:
            b.setEnabled(True)
        first = next((i for i, f in enumerate(result.fits) if f.ok), None)
        if first is not None:
            self.show_fit(first)

    def draw_parameter(self) -> None:
        """The chosen column against the series value (esd bars); a point's data is its fit index."""
        name = self.param_combo.currentText()
        if self.result is None or not name:
            return
        x, y, e, idx = series_xy(self.result, name)
        self.scatter.setData(x=x, y=y, data=idx)
        self.errors.setData(x=x, y=y, height=2 * np.where(np.isfinite(e), e, 0.0))
        use_value = any(f.value is not None for f in self.result.fits)
        label = (self.result.value_spec or "series value") if use_value else "file"
        self.value_plot.setLabel("bottom", label)
        self.value_plot.setLabel("left", name)

    def show_fit(self, index: int) -> None:
        """The observed and fitted pattern of fit ``index`` (also selects its table row)."""
        if self.result is None or not 0 <= index < len(self.result.fits):
            return
        fit = self.result.fits[index]
        if self.table.currentRow() != index:
            self.table.blockSignals(True)
            self.table.selectRow(index)
            self.table.blockSignals(False)
        if not fit.ok:
            self.obs_curve.setData([], [])
            self.calc_curve.setData([], [])
            self.pattern_plot.setTitle(f"{Path(fit.path).name}: {fit.status}")
            return
        self.obs_curve.setData(fit.observed["x"], fit.observed["y"])
        mask = np.asarray(fit.curves.get("mask", np.ones(len(fit.curves["x"]))), bool)
        self.calc_curve.setData(np.asarray(fit.curves["x"])[mask], np.asarray(fit.curves["y_calc"])[mask])
        axis = "2θ (degrees)" if fit.observed_meta.get("x_kind") == "tth" else "Q (1/Å)"
        self.pattern_plot.setLabel("bottom", axis)
        value = "" if fit.value is None else f" ({fit.value:g})"
        self.pattern_plot.setTitle(f"{Path(fit.path).name}{value}: Rwp {100 * fit.summary['rwp']:.2f} %")

    def _row_selected(self) -> None:
        rows = {i.row() for i in self.table.selectedIndexes()}
        if len(rows) == 1:
            self.show_fit(rows.pop())

    # ------------------------------------------------------------------ saving
    def save_project_to(self, path: str | Path) -> Path:
        """The series project (every fit, the size databases) written atomically."""
        if self.result is None or self.model is None:
            raise NanotwinError("no series to save: Run first")
        return save_project(series_project(self.result, self.model.to_dict()), path)

    def export_table_to(self, path: str | Path) -> Path:
        """The parameter table as CSV (one row per file)."""
        if self.result is None:
            raise NanotwinError("no series to export: Run first")
        return atomic_write_text(path, series_csv(self.result))

    def _ask_save_project(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save series project", "series.h5", "Projects (*.h5)")
        if path:
            self.save_project_to(path)
            self.status.setText(f"Saved {path}")

    def _ask_export_table(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export series table", "series.csv", "CSV (*.csv)")
        if path:
            self.export_table_to(path)
            self.status.setText(f"Wrote {path}")

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        """Closing stops a running series first (its thread must not outlive the window)."""
        if self.runner is not None:
            self.runner.cancel()
            self.runner.wait(15000)
        super().closeEvent(event)


def _natural(path: str) -> list:
    return natural_key(Path(path).name)


def workspace_model(workspace) -> tuple[Model, object]:
    """(a copy of the window's Model with its fit and instrument settings, the imported structure
    or None): what a series fits."""
    return copy.deepcopy(workspace.model).validate(), workspace.structure_override()
