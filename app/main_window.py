"""The main window: 3D viewer in the centre, model dock on the left, pattern panel at the bottom,
the refinement, PDF fit and teaching docks tabbed on the right (full height).

The window fits the screen it opens on (a 1280 x 720 projector as a 4K monitor: its size follows
the screen, docks have small minimum widths, every dock's content scrolls while its primary
controls stay in a header that never scrolls away). The refinement dock appears when data are
loaded, the PDF fit dock when a G(r) is; View > Reset layout brings the first layout back.

The window assembles menus, docks, the viewer and the status bar, starts jobs and shows their
results; it computes nothing itself. Opening files is ``file_open``, exports ``file_export``,
projects ``project_io`` (saved and opened in a worker) and refinements ``fit_controller``.
Dialogs go through ``ask_open_path``/``ask_save_path``/``notify``/``ask_discard`` so tests (and
the headless screenshot mode) can replace them.
"""

from __future__ import annotations

import sys
import traceback
from pathlib import Path

import numpy as np
from nanotwin_app import jobs
from nanotwin_app.data_import import DataImport
from nanotwin_app.docks.model_dock import ModelDock
from nanotwin_app.docks.pdf_dock import PDFDock
from nanotwin_app.docks.refine_dock import RefineDock
from nanotwin_app.docks.teaching_dock import TeachingDock
from nanotwin_app.export_dialogs import FigureDialog, PatternDialog
from nanotwin_app.file_export import FileExporter
from nanotwin_app.file_open import OPENABLE, FileOpener
from nanotwin_app.fit_controller import FitController
from nanotwin_app.help_viewer import HelpWindow
from nanotwin_app.import_dialog import ImportChoice, ImportDialog
from nanotwin_app.menus import build_menus
from nanotwin_app.pdf_controller import PDFController
from nanotwin_app.pdf_jobs import PDFProgress
from nanotwin_app.plots.panel_export import FigureChoice
from nanotwin_app.plots.pattern_panel import PatternPanel
from nanotwin_app.plots.plot_math import build_grid, scaled_to_data, scaling_q_range
from nanotwin_app.project_io import ProjectFiles
from nanotwin_app.series_window import SeriesWindow, workspace_model
from nanotwin_app.tasks import WARMUP_MESSAGE, CoreJob, JobRunner
from nanotwin_app.viewer3d.viewer_panel import ViewerPanel
from nanotwin_app.workspace import Workspace
from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtGui import QGuiApplication, QIcon
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from nanotwin_core import demos
from nanotwin_core.actions import estimate_atoms
from nanotwin_core.errors import NanotwinError
from nanotwin_core.geometry import q_from_two_theta
from nanotwin_core.reflections import pseudocubic_a_of_crystal

ICON = Path(__file__).parent / "resources" / "nanotwin.svg"
LAYOUT_VERSION = 2  # saved layouts of older versions are not restored (their docks differ)
PREFERRED_SIZE = (1500, 950)  # on screens with room for it; smaller screens get all they have
PATTERN_HEIGHT = 0.5  # share of the window's height the pattern panel starts with
SIDE_WIDTHS = (300, 360)  # start widths of the left (model) and right (refinement, ...) docks
LEFT_SHARE = 0.35  # the model dock starts as wide as its content, up to this share of the window
RIGHT_SHARE = 0.33  # the right docks start as wide as their content's minimum, up to this share


def initial_size(available_width: int, available_height: int) -> tuple[int, int]:
    """The window's first size on a screen with this much room (px, logical): PREFERRED_SIZE
    where it fits, else the whole room (a 1280 x 720 screen gets all of it)."""
    return min(PREFERRED_SIZE[0], available_width), min(PREFERRED_SIZE[1], available_height)

class MainWindow(QMainWindow):
    """nanotwin's workbench window."""

    demo_finished = Signal(bool)  # True when a demo's results are shown

    def __init__(self, settings: QSettings | None = None, *, use_gl: bool | None = None,
                 warm_up: bool = True, headless: bool = False) -> None:
        super().__init__()
        self.qsettings = settings if settings is not None else QSettings("nanotwin", "nanotwin")
        self.headless = headless
        self.workspace = Workspace(self)
        self.runner = JobRunner(self)
        self.series_window: SeriesWindow | None = None
        self.help_window: HelpWindow | None = None
        self.current_job: CoreJob | None = None
        self.warm_up_job: CoreJob | None = None
        self._pending_live = False
        self._close_after_save = False
        self._phases_key: list = []
        self.setWindowTitle("nanotwin")
        if ICON.exists():
            self.setWindowIcon(QIcon(str(ICON)))
        self.setAcceptDrops(True)
        self.setDockNestingEnabled(True)

        self.viewer = ViewerPanel(self, use_gl=use_gl)
        self.dock_scrolls: dict[str, QScrollArea] = {}  # each dock's scroll area by its object name
        self.setCentralWidget(self.viewer)  # never in a floatable dock (vispy #1759)
        self.setCorner(Qt.Corner.BottomRightCorner, Qt.DockWidgetArea.RightDockWidgetArea)
        self.model_dock_widget = ModelDock(self.workspace)
        self.model_dock = self._dock("Model", "model_dock", self.model_dock_widget, 260,
                                     Qt.DockWidgetArea.LeftDockWidgetArea,
                                     footer=self.model_dock_widget.footer)
        self.pattern_panel = PatternPanel()
        self.pattern_dock = QDockWidget("Pattern", self)
        self.pattern_dock.setObjectName("pattern_dock")
        self.pattern_dock.setWidget(self.pattern_panel)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.pattern_dock)
        self.refine_dock_widget = RefineDock(self.workspace)
        right = Qt.DockWidgetArea.RightDockWidgetArea
        self.refine_dock = self._dock("Refinement", "refine_dock", self.refine_dock_widget, 300, right,
                                      header=self.refine_dock_widget.header)
        self.teaching_dock_widget = TeachingDock(self.workspace, self.pattern_panel, self.runner)
        self.teaching_dock = self._dock("Teaching", "teaching_dock", self.teaching_dock_widget, 300,
                                        Qt.DockWidgetArea.RightDockWidgetArea)
        self.pdf_dock_widget = PDFDock()
        self.pdf_dock = self._dock("PDF fit", "pdf_dock", self.pdf_dock_widget, 300,
                                   Qt.DockWidgetArea.RightDockWidgetArea)
        self.tabifyDockWidget(self.refine_dock, self.pdf_dock)
        self.tabifyDockWidget(self.pdf_dock, self.teaching_dock)
        for dock in (self.refine_dock, self.pdf_dock, self.teaching_dock):
            dock.hide()  # refinement: when data are loaded; PDF fit: a G(r); teaching: View > Teaching
            dock.toggleViewAction().triggered.connect(lambda on, d=dock: d.raise_() if on else None)

        self.projects = ProjectFiles(self)
        self.data_import = DataImport(self)
        self.files = FileOpener(self)
        self.exports = FileExporter(self)
        self.fits = FitController(self)
        self.pdf_fits = PDFController(self)
        self._build_status_bar()
        build_menus(self)
        self._connect()
        self.show_phases()
        self._default_state = self.saveState(LAYOUT_VERSION)
        self._sized_on_show = False
        self.fit_to_screen()
        self._restore_state()
        if warm_up:
            self.start_warm_up()

    # ================================================================ construction
    def _dock(self, title: str, name: str, widget: QWidget, min_width: int, area,
              header: QWidget | None = None, footer: QWidget | None = None) -> QDockWidget:
        """A dock whose ``widget`` scrolls between an optional ``header`` and ``footer`` that never
        scroll away (the dock's primary controls)."""
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(widget)
        scroll.setMinimumWidth(min_width)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)  # narrow screens
        self.dock_scrolls[name] = scroll
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        if header is None and footer is None:
            dock.setWidget(scroll)
        else:
            box = QWidget()
            column = QVBoxLayout(box)
            column.setContentsMargins(0, 0, 0, 0)
            column.setSpacing(0)
            for part, stretch in ((header, 0), (scroll, 1), (footer, 0)):
                if part is not None:
                    column.addWidget(part, stretch)
            dock.setWidget(box)
        self.addDockWidget(area, dock)
        return dock

    def fit_to_screen(self) -> None:
        """Size the window for the screen it is on and give the docks their first sizes."""
        screen = self.screen() or QGuiApplication.primaryScreen()
        room = screen.availableGeometry() if screen is not None else None
        width, height = initial_size(room.width(), room.height()) if room is not None else PREFERRED_SIZE
        self.resize(width, height)
        self.size_docks()

    def size_docks(self) -> None:
        """The first sizes of the docks for the window's size (pattern panel half the height)."""
        self.resizeDocks([self.pattern_dock], [int(PATTERN_HEIGHT * self.height())], Qt.Orientation.Vertical)
        self.resizeDocks([self.model_dock], [self.model_dock_width()], Qt.Orientation.Horizontal)
        right = [d for d in (self.refine_dock, self.pdf_dock, self.teaching_dock) if not d.isHidden()]
        if right:
            width = max(self.scrolled_width(d.objectName(), minimum=True) for d in right)
            width = max(SIDE_WIDTHS[1], min(width, int(RIGHT_SHARE * self.width())))
            self.resizeDocks(right[:1], [width], Qt.Orientation.Horizontal)

    def scrolled_width(self, name: str, *, minimum: bool = False) -> int:
        """The width (px) of dock ``name`` that shows its content without a horizontal scroll bar:
        the content's size hint (``minimum``: its minimum size hint), a vertical bar and frames."""
        scroll = self.dock_scrolls[name]
        content = scroll.widget()
        hint = content.minimumSizeHint() if minimum else content.sizeHint()
        return hint.width() + scroll.verticalScrollBar().sizeHint().width() + 2 * scroll.frameWidth()

    def model_dock_width(self) -> int:
        """The model dock's start width (px): its content's without a horizontal scroll bar where
        LEFT_SHARE of the window holds it, at least SIDE_WIDTHS[0]."""
        return max(SIDE_WIDTHS[0], min(self.scrolled_width("model_dock"), int(LEFT_SHARE * self.width())))

    def showEvent(self, event) -> None:  # noqa: N802 - Qt override
        """The first time shown: the docks' first sizes (resizeDocks before a show does not hold),
        unless the last session's layout was restored."""
        super().showEvent(event)
        if not self._sized_on_show:
            self._sized_on_show = True
            if self.qsettings.value(f"window/state_v{LAYOUT_VERSION}") is None:
                self.size_docks()

    def reset_layout(self) -> None:
        """View > Reset layout: every dock back where it started (the data's docks open when
        data are loaded), sized for the window."""
        self.restoreState(self._default_state, LAYOUT_VERSION)
        for dock in (self.model_dock, self.pattern_dock):
            dock.setFloating(False)
            dock.show()
        if self.workspace.data is not None:
            self.show_refinement()
        if self.workspace.pdf_data is not None:
            self.show_pdf_dock()
        self.size_docks()

    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        self.atoms_label = QLabel("atoms: –")
        self.pairs_label = QLabel("pairs: –")
        self.time_label = QLabel("last computation: –")
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(160)
        self.progress.setVisible(False)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setVisible(False)
        self.cancel_button.clicked.connect(self.cancel_computation)
        for w in (self.atoms_label, self.pairs_label, self.time_label, self.progress, self.cancel_button):
            bar.addPermanentWidget(w)

    def _connect(self) -> None:
        ws = self.workspace
        ws.crystal_changed.connect(self._crystal_changed)
        ws.model_changed.connect(self._model_changed)
        ws.patterns_changed.connect(self._patterns_changed)
        ws.data_changed.connect(self._data_changed)
        ws.stats_changed.connect(self._stats_changed)
        ws.dirty_changed.connect(lambda d: self.setWindowModified(d))
        ws.fit_changed.connect(self._patterns_changed)
        self.update_title()
        self.model_dock_widget.build_requested.connect(self.build_model)
        self.model_dock_widget.cancel_requested.connect(self.cancel_computation)
        self.model_dock_widget.refine_requested.connect(self.show_refinement)
        self.runner.busy_changed.connect(self._busy_changed)
        self.projects.runner.busy_changed.connect(self._busy_changed)
        self.projects.save_failed.connect(self._save_failed)
        self.fits.curves_changed.connect(self._patterns_changed)
        self.viewer.status.connect(lambda text: self.statusBar().showMessage(text, 4000))
        self.pattern_panel.message.connect(lambda text: self.statusBar().showMessage(text, 4000))

    # ================================================================ dialogs (replaceable)
    def ask_open_path(self, caption: str, filters: str) -> str | None:
        """A file to open, or None."""
        path, _ = QFileDialog.getOpenFileName(self, caption, self._last_dir(), filters)
        return path or None

    def ask_save_path(self, caption: str, filters: str, suggested: str = "") -> str | None:
        """A file to write, or None."""
        start = str(Path(self._last_dir()) / suggested) if suggested else self._last_dir()
        path, _ = QFileDialog.getSaveFileName(self, caption, start, filters)
        return path or None

    def notify(self, title: str, text: str, level: str = "info") -> None:
        """Tell the user something (a message box; stderr + status bar when headless)."""
        self.statusBar().showMessage(text.split("\n")[0], 8000)
        if self.headless:
            print(f"nanotwin: {title}: {text}", file=sys.stderr)
            return
        box = {"info": QMessageBox.information, "warning": QMessageBox.warning,
               "error": QMessageBox.critical}[level]
        box(self, title, text)

    def ask_import(self, guess, proposal: ImportChoice) -> ImportChoice | None:
        """How to read a data file (the import dialog; headless: the proposal), None to cancel."""
        if self.headless:
            return proposal
        dialog = ImportDialog(guess, proposal, self)
        return dialog.choice() if dialog.exec() == ImportDialog.DialogCode.Accepted else None

    def ask_figure_choice(self, panel) -> tuple[FigureChoice, str] | None:
        """What File > Export figure draws and its format (the dialog; headless: the visible
        curves as a PDF of two journal columns), None to cancel."""
        dialog = FigureDialog(panel, self)
        if not self.headless and dialog.exec() != FigureDialog.DialogCode.Accepted:
            return None
        return dialog.choice(), dialog.suffix()

    def ask_pattern_choice(self, panel) -> tuple[list[str], str] | None:
        """Which curves File > Export pattern writes and how ("csv": one table, "xye": one file
        per curve; headless: the visible curves as one table), None to cancel."""
        dialog = PatternDialog(panel, self)
        if not self.headless and dialog.exec() != PatternDialog.DialogCode.Accepted:
            return None
        return dialog.keys(), dialog.suffix()

    def ask_keep_data(self, demo: str) -> str | None:
        """Whether loaded data stay when a demo runs: "keep", "close" or None to cancel the demo
        (headless: "keep", said in the status bar)."""
        if self.headless:
            return "keep"
        box = QMessageBox(QMessageBox.Icon.Question, "Data loaded",
                          f"Data are loaded. Keep them beside the demo “{demo}” (its curves are scaled to "
                          "them) or close them (a fit of them is closed too)?", parent=self)
        keep = box.addButton("Keep the data", QMessageBox.ButtonRole.AcceptRole)
        close = box.addButton("Close the data", QMessageBox.ButtonRole.DestructiveRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(keep)
        box.exec()
        return {id(keep): "keep", id(close): "close"}.get(id(box.clickedButton()))

    def close_data(self) -> None:
        """Close the loaded pattern or G(r) and their fits (the model stays)."""
        ws = self.workspace
        self.cancel_computation()
        self.fits.forget()
        ws.fit_previous = None
        ws.set_fit(None)
        ws.set_data(None)
        ws.set_pdf(None)
        ws.set_dirty(True)

    def ask_discard(self) -> bool:
        """True when the user agrees to lose the unsaved model and patterns (headless: nobody to ask)."""
        if self.headless:
            return True
        answer = QMessageBox.question(
            self, "Unsaved results",
            "The model, patterns or fit you computed are not saved. Discard them?",
            QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel,
        )
        return answer == QMessageBox.StandardButton.Discard

    def _last_dir(self) -> str:
        return str(self.qsettings.value("last_dir", str(Path.home())))

    def remember_dir(self, path: str | Path) -> None:
        """Start the next file dialog in ``path``'s folder."""
        self.qsettings.setValue("last_dir", str(Path(path).parent))

    # ================================================================ jobs
    def start_warm_up(self) -> CoreJob:
        """Compile the numba kernels in the background (first start only takes long)."""
        job = CoreJob(jobs.warm_up, name="warm-up")
        self.statusBar().showMessage(WARMUP_MESSAGE)
        job.returned.connect(lambda msg: self.statusBar().showMessage(str(msg), 5000))
        job.errored.connect(lambda exc: self._job_failed(exc, "Kernels not warmed"))
        self.warm_up_job = job
        return self.runner.start(job)

    def start_job(self, job: CoreJob, on_result) -> CoreJob:
        """Run a computation the user waits for (build, demo, fit): progress bar and Cancel in the
        status bar; a new one cancels the one before."""
        self.runner.cancel(self.current_job)
        self.current_job = job
        job.yielded.connect(self._progress)
        job.returned.connect(on_result)
        job.errored.connect(lambda exc: self._job_failed(exc, "Computation failed"))
        job.aborted.connect(lambda: self.statusBar().showMessage("Cancelled", 3000))
        job.finished.connect(lambda j=job: self._job_finished(j))
        self.progress.setRange(0, 0)
        self.progress.setVisible(True)
        self.cancel_button.setVisible(True)
        self.model_dock_widget.set_busy(True)
        return self.runner.start(job)

    def run_demo(self, name: str) -> CoreJob | None:
        """Compute a core demo in a worker and show its comparison and caption. Loaded data are
        the user's: asked first whether they stay beside the demo or are closed (None: cancelled)."""
        if self.workspace.data is not None or self.workspace.pdf_data is not None:
            answer = self.ask_keep_data(name)
            if answer is None:
                return None
            if answer == "close":
                self.close_data()
            else:
                self.statusBar().showMessage("The loaded data stay: the demo's curves are scaled to them",
                                             6000)
        self.statusBar().showMessage(f"Running demo {name}…")
        job = CoreJob(jobs.run_demo, name, name=f"demo {name}")
        job.errored.connect(lambda _exc: self.demo_finished.emit(False))
        job.aborted.connect(lambda: self.demo_finished.emit(False))
        return self.start_job(job, lambda res: self._show_demo(name, res))

    def _show_demo(self, name: str, res: jobs.ComputeResult) -> None:
        """Show a demo's result and put the model of its 3D view in the model dock, so that
        Build recomputes what the 3D view shows."""
        demo = demos.get_demo(name)
        ws = self.workspace
        ws.imported_structure = None
        ws.set_model(self.data_import.keep_data_wavelength(jobs.demo_view_model(demo).to_model(demo.wavelength)))
        self._show_result(res, dirty=False)
        self.demo_finished.emit(True)

    def build_model(self, live: bool = False) -> CoreJob | None:
        """Build the model and compute its pattern in a job (live: one thread, small crystals)."""
        ws = self.workspace
        try:
            model = ws.model.validate()
            structure = ws.structure_override()
            if live:
                estimate = estimate_atoms(model, structure)
        except NanotwinError as exc:
            self.notify("Build", str(exc), "warning")
            return None
        if live:
            if estimate > jobs.LIVE_ATOM_LIMIT:
                self.statusBar().showMessage(
                    f"~{estimate:,.0f} atoms: live updates stop at ~{jobs.LIVE_ATOM_LIMIT:,}; "
                    "use Build and compute", 6000)
                return None
            if self.runner.is_running(self.current_job):
                self._pending_live = True  # last request wins: rerun when this one stops
                self.runner.cancel(self.current_job)
                return None
        job = CoreJob(jobs.build_and_compute, model, structure, n_threads=1 if live else None,
                      grid=build_grid(self.fits.fit_data(), self.scaling_range()) if ws.data else None,
                      wavelength=self.pattern_panel.wavelength,
                      compare_untwinned=ws.compare_untwinned, name="build")
        return self.start_job(job, lambda res: self._show_result(res, dirty=True))

    def cancel_computation(self) -> None:
        """Cancel the running build, demo or fit."""
        self._pending_live = False
        if self.runner.is_running(self.current_job):
            self.runner.cancel(self.current_job)
            self.statusBar().showMessage("Cancelling…", 3000)

    def _progress(self, value: object) -> None:
        if isinstance(value, jobs.FitProgress):
            self.fits.show_progress(value)
        elif isinstance(value, PDFProgress):
            self.pdf_fits.show_progress(value)
        elif isinstance(value, str):
            self.statusBar().showMessage(value)
        elif isinstance(value, (int, float)):
            self.progress.setRange(0, 100)
            self.progress.setValue(int(100 * float(value)))

    def _show_result(self, res: jobs.ComputeResult, *, dirty: bool) -> None:
        ws = self.workspace
        if ws.data is None or ws.data.x_kind != "tth":  # 2theta data keep their wavelength
            self.pattern_panel.set_wavelength(res.wavelength)
        ws.set_crystal(res.crystal)
        ws.a_p = res.a_p or pseudocubic_a_of_crystal(res.crystal)
        self.show_phases()
        ws.set_histograms(res.histograms)
        if ws.fit is not None:
            self.refine_dock_widget.show_fit_check.setChecked(False)  # show the new model's curves
        ws.set_patterns(res.curves, caption=res.caption, title=res.title)
        ws.set_stats(res.n_pairs, res.seconds)
        ws.set_dirty(dirty)
        self.statusBar().showMessage(f"Done in {res.seconds:.1f} s", 5000)

    def _job_failed(self, exc: Exception, title: str) -> None:
        if not isinstance(exc, NanotwinError):  # a bug, not a user error: keep its traceback
            traceback.print_exception(exc)
        self.notify(title, str(exc) or type(exc).__name__, "warning")

    def _job_finished(self, job: CoreJob) -> None:
        if job is self.current_job:
            self.current_job = None
            self.cancel_button.setVisible(False)
            self.model_dock_widget.set_busy(False)
            if self._pending_live:
                self._pending_live = False
                self.build_model(live=True)
        self._busy_changed()

    def _busy_changed(self, *_args) -> None:
        busy_io = self.projects.busy()
        self.progress.setVisible(self.runner.is_running(self.current_job) or busy_io)
        if busy_io:
            self.progress.setRange(0, 0)
        elif self._close_after_save:  # the save (or open) the close waited for has ended
            self._close_after_save = False
            self.close()

    # ================================================================ workspace -> widgets
    def show_phases(self) -> None:
        """Tick rows for every phase of the model (none, with a message, where a structure cannot
        be read)."""
        try:
            phases = self.workspace.phases()
        except NanotwinError as exc:
            self.statusBar().showMessage(f"No hkl ticks: {exc}", 8000)
            phases = []
        self._phases_key = [(n, s) for n, s in phases]
        self.pattern_panel.set_phases(phases)

    def _model_changed(self) -> None:
        ws = self.workspace
        if ws.loading:
            return
        try:
            phases = ws.phases()
        except NanotwinError:
            phases = []
        if phases != self._phases_key:  # only a change of structure redraws the ticks
            self.show_phases()

    def _crystal_changed(self) -> None:
        crystal = self.workspace.crystal
        self.viewer.set_crystal(crystal)
        self.atoms_label.setText(f"atoms: {crystal.n_atoms:,}" if crystal is not None else "atoms: –")

    def refresh_plots(self) -> None:
        """Redraw the data and the curves."""
        self._data_changed()
        self._patterns_changed()

    def _patterns_changed(self) -> None:
        p = self.workspace.patterns
        fit_curves = self.fits.curves(self.data_q()) if self.workspace.data is not None else {}
        if fit_curves:
            self.pattern_panel.set_patterns(fit_curves, caption=self.fits.caption())
        elif self.workspace.data is not None and p.curves:  # model and data on one scale
            data = self.workspace.data
            curves, note = scaled_to_data(p.curves, self.data_q(), data.y, data.sigma_used,
                                          self.scaling_range())
            self.pattern_panel.set_patterns(curves, caption=" ".join(t for t in (p.caption, note) if t))
        else:
            self.pattern_panel.set_patterns(p.curves, caption=p.caption)

    def scaling_range(self) -> tuple[float, float] | None:
        """The Q range (1/Å) over which builds meet the loaded data: the fit range, else the
        wide-angle part of the structure's pattern (None where the structure cannot be read)."""
        try:
            return scaling_q_range(self.workspace.model.fit, self.fits.fit_data(), self.workspace.structure())
        except NanotwinError:
            return None

    def _data_changed(self) -> None:
        data = self.workspace.data
        if data is None:
            self.pattern_panel.set_data(None)
            return
        if self.refine_dock.isHidden():  # data to fit: the refinement dock comes up
            self.show_refinement()
        self.pattern_panel.set_data(self.data_q(), data.y, label=Path(data.path or "data").name,
                                    sigma=data.sigma_used)

    def data_q(self) -> np.ndarray:
        """Q (1/Å) of the loaded data (2theta without a wavelength: the panel's wavelength)."""
        data = self.workspace.data
        if data.x_kind == "tth" and not data.wavelength:
            return q_from_two_theta(data.x, self.pattern_panel.wavelength)
        return data.q()

    def _stats_changed(self) -> None:
        ws = self.workspace
        pairs = ws.n_pairs
        self.pairs_label.setText(f"pairs: {int(round(pairs)):,}" if pairs is not None else "pairs: –")
        self.time_label.setText(f"last computation: {ws.last_seconds:.1f} s" if ws.last_seconds is not None
                                else "last computation: –")

    # ================================================================ files and projects
    def open_file(self, path: str | Path) -> bool:
        """Open a project, data, structure or XYZ file (see ``FileOpener.open_file``)."""
        return self.files.open_file(path)

    def recent_files(self) -> list[str]:
        """Recently opened files, newest first."""
        return self.files.recent_files()

    def update_title(self) -> None:
        """The project's name in the title bar, with the unsaved-changes mark."""
        path = self.workspace.project_path
        self.setWindowTitle(f"nanotwin – {path.name}[*]" if path is not None else "nanotwin[*]")
        self.setWindowModified(self.workspace.dirty)

    def _save_failed(self, *_args) -> None:
        self._close_after_save = False  # the user must see that nothing was saved

    # ================================================================ docks
    def open_series_window(self) -> SeriesWindow:
        """File > Import series: the series window (its own files, runs and plots)."""
        if self.series_window is None:
            self.series_window = SeriesWindow(lambda: workspace_model(self.workspace), self)
        self.series_window.show()
        self.series_window.raise_()
        return self.series_window

    def show_help(self, name: str) -> HelpWindow | None:
        """Help > User guide / Tutorial: the document in the help window (one, reused)."""
        if self.help_window is None:
            self.help_window = HelpWindow(self)
        try:
            self.help_window.show_document(name)
        except NanotwinError as exc:
            self.notify("Help", str(exc), "warning")
            return None
        self.help_window.show()
        self.help_window.raise_()
        return self.help_window

    def show_pdf_dock(self) -> None:
        """Show and raise the PDF fit dock."""
        self.pdf_dock.show()
        self.pdf_dock.raise_()

    def show_refinement(self) -> None:
        """Model > Refinement: show and raise the refinement dock."""
        self.refine_dock.show()
        self.refine_dock.raise_()

    # ================================================================ misc actions
    def new_workspace(self) -> None:
        """File > New: clear the workspace (asks first if something is unsaved)."""
        if self.workspace.dirty and not self.ask_discard():
            return
        self.cancel_computation()
        self.workspace.clear()
        self.fits.forget()
        self.show_phases()
        self.update_title()

    # ================================================================ drag and drop
    def dragEnterEvent(self, event) -> None:  # noqa: N802 - Qt override
        """Accept drops of openable files."""
        if _dropped_paths(event.mimeData()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event) -> None:  # noqa: N802 - Qt override
        """Open every dropped file."""
        paths = _dropped_paths(event.mimeData())
        for p in paths:
            self.open_file(p)
        if paths:
            event.acceptProposedAction()

    # ================================================================ state
    def _restore_state(self) -> None:
        """The geometry and dock layout of the last session (of this LAYOUT_VERSION), kept on
        the screen that is there now."""
        geom = self.qsettings.value(f"window/geometry_v{LAYOUT_VERSION}")
        state = self.qsettings.value(f"window/state_v{LAYOUT_VERSION}")
        if geom is not None:
            self.restoreGeometry(geom)
            screen = self.screen()
            if screen is not None and not screen.availableGeometry().contains(self.frameGeometry()):
                self.fit_to_screen()  # saved on a larger screen: fit this one
        if state is not None:
            self.restoreState(state, LAYOUT_VERSION)

    def save_state(self) -> None:
        """Store geometry and dock layout."""
        self.qsettings.setValue(f"window/geometry_v{LAYOUT_VERSION}", self.saveGeometry())
        self.qsettings.setValue(f"window/state_v{LAYOUT_VERSION}", self.saveState(LAYOUT_VERSION))
        self.qsettings.sync()

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt override
        """Let a running save end, ask about unsaved results (only if any), save the layout, stop
        the jobs."""
        if self.projects.busy():
            self._close_after_save = True  # closes when the save reports
            self.statusBar().showMessage("Closing when the project is written…")
            event.ignore()
            return
        if self.workspace.dirty and not self.ask_discard():
            event.ignore()
            return
        self.save_state()
        self.teaching_dock_widget.shutdown()
        self.runner.shutdown(3000)
        if self.viewer.canvas is not None:
            self.viewer.canvas.close()
        event.accept()


def _dropped_paths(mime) -> list[Path]:
    if mime is None or not mime.hasUrls():
        return []
    out = []
    for url in mime.urls():
        if url.isLocalFile():
            p = Path(url.toLocalFile())
            if p.suffix.lower() in OPENABLE:
                out.append(p)
    return out
