"""The main window: 3D viewer in the centre, model dock on the left, pattern panel at the bottom.

The window wires widgets to the workspace and starts workers; it computes nothing itself.
Dialogs go through ``ask_open_path``/``ask_save_path``/``notify``/``ask_discard`` so tests (and
the headless screenshot mode) can replace them. The refinement dock (``_build_refine_dock`` and
the "refinement" section) and project files (the "projects" section) are kept in their own
methods.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from nanotwin_app import jobs
from nanotwin_app.demos import demo_entries
from nanotwin_app.docks.model_dock import ModelDock
from nanotwin_app.docks.refine_dock import RefineDock
from nanotwin_app.plots.pattern_panel import PatternPanel
from nanotwin_app.plots.ticks import pseudocubic_a_of_crystal
from nanotwin_app.viewer3d.viewer_panel import ViewerPanel
from nanotwin_app.workers import WARMUP_MESSAGE, Task, TaskRunner
from nanotwin_app.workspace import FitRecord, Workspace
from PySide6.QtCore import QSettings, Qt, QUrl, Signal
from PySide6.QtGui import QAction, QDesktopServices, QIcon, QKeySequence
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QScrollArea,
)

from nanotwin_core.errors import NanotwinError
from nanotwin_core.geometry import q_from_two_theta

DATA_SUFFIXES = {".xye", ".xy", ".dat", ".chi"}
PROJECT_SUFFIXES = {".h5", ".hdf5"}
STRUCTURE_SUFFIXES = {".cif", ".json"}  # CIF, pymatgen / Materials Project structure JSON
OPENABLE = DATA_SUFFIXES | STRUCTURE_SUFFIXES | {".xyz"} | PROJECT_SUFFIXES
MAX_RECENT = 8
ICON = Path(__file__).parent / "resources" / "nanotwin.svg"
GUIDE_URL = "https://github.com/nanotwin/nanotwin#readme"

SHORTCUTS = [
    ("Ctrl+O", "Open a project (.h5)"),
    ("Ctrl+S", "Save the project (Ctrl+Shift+S: save as)"),
    ("Ctrl+B", "Build and compute the model"),
    ("Esc", "Cancel the running computation"),
    ("Ctrl+E", "Export the pattern (.xye / .csv)"),
    ("Ctrl+Shift+E", "Export a figure (PNG, SVG or PDF)"),
    ("Ctrl+I", "Import data / CIF / XYZ"),
    ("Ctrl+R", "Reset the 3D view"),
    ("Ctrl+N", "New (clear the workspace)"),
    ("Ctrl+Q", "Quit"),
    ("mouse", "3D: drag to rotate, wheel to zoom, Shift+drag to pan"),
    ("mouse", "plots: drag the yellow region to move the superstructure zoom"),
]


class MainWindow(QMainWindow):
    """nanotwin's workbench window."""

    demo_finished = Signal(bool)  # True when a demo's results are shown

    def __init__(self, settings: QSettings | None = None, *, use_gl: bool | None = None,
                 warm_up: bool = True, headless: bool = False) -> None:
        super().__init__()
        self.qsettings = settings if settings is not None else QSettings("nanotwin", "nanotwin")
        self.headless = headless
        self.workspace = Workspace(self)
        self.runner = TaskRunner(self)
        self.current_task: Task | None = None
        self._pending_live = False
        self.setWindowTitle("nanotwin")
        if ICON.exists():
            self.setWindowIcon(QIcon(str(ICON)))
        self.setAcceptDrops(True)
        self.setDockNestingEnabled(True)

        self.viewer = ViewerPanel(self, use_gl=use_gl)
        self.setCentralWidget(self.viewer)  # never in a floatable dock (vispy #1759)

        self.model_dock_widget = ModelDock(self.workspace)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.model_dock_widget)
        scroll.setMinimumWidth(360)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.model_dock = QDockWidget("Model", self)
        self.model_dock.setObjectName("model_dock")
        self.model_dock.setWidget(scroll)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.model_dock)

        self.pattern_panel = PatternPanel()
        self.pattern_dock = QDockWidget("Pattern", self)
        self.pattern_dock.setObjectName("pattern_dock")
        self.pattern_dock.setWidget(self.pattern_panel)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.pattern_dock)
        self._build_refine_dock()
        self._build_teaching_dock()

        self._build_status_bar()
        self._build_menus()
        self._connect()
        self.resize(1500, 950)
        self.resizeDocks([self.pattern_dock], [360], Qt.Orientation.Vertical)
        self.resizeDocks([self.model_dock], [330], Qt.Orientation.Horizontal)
        self._restore_state()
        if warm_up:
            self.start_warm_up()

    # ================================================================ construction
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

    def _action(self, menu, text: str, slot=None, shortcut: str | None = None, tip: str = "",
                enabled: bool = True) -> QAction:
        act = QAction(text, self)
        if shortcut:
            act.setShortcut(QKeySequence(shortcut))
        if tip:
            act.setToolTip(tip)
            act.setStatusTip(tip)
        if slot is not None:
            act.triggered.connect(lambda _checked=False: slot())
        act.setEnabled(enabled)
        menu.addAction(act)
        return act

    def _build_menus(self) -> None:
        mb = self.menuBar()
        f = mb.addMenu("&File")
        f.setToolTipsVisible(True)
        self.new_action = self._action(f, "&New", self.new_workspace, "Ctrl+N")
        self._build_project_menu(f)
        f.addSeparator()
        self._action(f, "Import data (.xye/.xy/.dat/.chi)…", self.import_data_dialog, "Ctrl+I")
        self._action(f, "Import CIF…", self.import_cif_dialog)
        self._action(f, "Import XYZ…", self.import_xyz_dialog)
        f.addSeparator()
        self._action(f, "Export pattern (.xye/.csv)…", self.export_pattern_dialog, "Ctrl+E")
        self._action(f, "Export XYZ…", self.export_xyz_dialog)
        self._action(f, "Export CIF…", self.export_cif_dialog,
                     tip="Write the current model's structure (built-in or imported) as CIF")
        self._action(f, "Export figure (PNG/SVG/PDF)…", self.export_figure_dialog, "Ctrl+Shift+E",
                     tip="The pattern panel: PNG as on screen, SVG or PDF redrawn with matplotlib")
        self._action(f, "Export 3D view (PNG)…", self.export_view_dialog,
                     tip="Render the 3D view to a PNG image")
        self.viewer.export_requested.connect(self.export_view_dialog)
        f.addSeparator()
        self.recent_menu = f.addMenu("Recent files")
        f.addSeparator()
        self._action(f, "&Quit", self.close, "Ctrl+Q")

        v = mb.addMenu("&View")
        v.addAction(self.model_dock.toggleViewAction())
        v.addAction(self.pattern_dock.toggleViewAction())
        v.addAction(self.refine_dock.toggleViewAction())
        v.addAction(self.teaching_dock.toggleViewAction())
        self._action(v, "Reset 3D view", self.viewer.reset_view, "Ctrl+R")

        m = mb.addMenu("&Model")
        self._action(m, "Build and compute", lambda: self.model_dock_widget.request_build(False), "Ctrl+B")
        self._action(m, "Cancel computation", self.cancel_computation, "Esc")
        self._action(m, "Refinement", self.show_refinement, "Ctrl+Shift+R",
                     tip="Show the refinement dock (load data first)")

        d = mb.addMenu("&Demos")
        d.setToolTipsVisible(True)
        self.demo_actions: dict[str, QAction] = {}
        entries = demo_entries()
        for entry in entries:
            self.demo_actions[entry.name] = self._action(
                d, entry.title, lambda n=entry.name: self.run_demo(n), tip=entry.caption
            )
        if not entries:
            self._action(d, "(no demos in this version yet)", None, enabled=False)

        h = mb.addMenu("&Help")
        self._action(h, "Guide", self.show_guide, "F1")
        self._action(h, "Keyboard shortcuts", self.show_shortcuts)
        self._action(h, "About nanotwin", self.show_about)
        self._rebuild_recent_menu()

    def _connect(self) -> None:
        ws = self.workspace
        ws.crystal_changed.connect(self._crystal_changed)
        ws.patterns_changed.connect(self._patterns_changed)
        ws.data_changed.connect(self._data_changed)
        ws.stats_changed.connect(self._stats_changed)
        ws.dirty_changed.connect(lambda d: self.setWindowModified(d))
        ws.fit_changed.connect(self._patterns_changed)
        self._update_title()
        self.model_dock_widget.build_requested.connect(self.build_model)
        self.model_dock_widget.cancel_requested.connect(self.cancel_computation)
        self.model_dock_widget.refine_requested.connect(self.show_refinement)
        self.runner.busy_changed.connect(self._busy_changed)
        self.viewer.status.connect(lambda text: self.statusBar().showMessage(text, 4000))
        self.pattern_panel.message.connect(lambda text: self.statusBar().showMessage(text, 4000))
        self._connect_refine_dock()

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

    def _remember_dir(self, path: str | Path) -> None:
        self.qsettings.setValue("last_dir", str(Path(path).parent))

    # ================================================================ computations
    def start_warm_up(self) -> Task:
        """Compile the numba kernels in the background (first start only takes long)."""
        task = Task(jobs.warm_up, name="warm-up")
        self.statusBar().showMessage(WARMUP_MESSAGE)
        task.returned.connect(lambda msg: self.statusBar().showMessage(str(msg), 5000))
        task.errored.connect(lambda msg: self.statusBar().showMessage(f"Kernels not warmed: {msg}", 8000))
        self.warm_up_task = task
        return self.runner.start(task)

    def _start(self, task: Task, on_result) -> Task:
        if self.current_task is not None:
            self.current_task.cancel()
        self.current_task = task
        task.progressed.connect(self._progress)
        task.returned.connect(on_result)
        task.errored.connect(lambda msg, t=task: self._task_failed(t, msg))
        task.cancelled.connect(lambda t=task: self._task_cancelled(t))
        task.finished.connect(lambda t=task: self._task_finished(t))
        self.progress.setRange(0, 0)
        self.progress.setVisible(True)
        self.cancel_button.setVisible(True)
        self.model_dock_widget.set_busy(True)
        return self.runner.start(task)

    def run_demo(self, name: str) -> Task:
        """Compute a core demo in a worker and show its comparison and caption."""
        self.statusBar().showMessage(f"Running demo {name}…")
        task = Task(jobs.run_demo, name, name=f"demo {name}")
        task.errored.connect(lambda _m: self.demo_finished.emit(False))
        task.cancelled.connect(lambda: self.demo_finished.emit(False))
        return self._start(task, lambda res: self._show_demo(name, res))

    def _show_demo(self, name: str, res: jobs.ComputeResult) -> None:
        """Show a demo's result and put the model of its 3D view in the model dock, so that
        Build recomputes what the 3D view shows."""
        from nanotwin_core.demos import get_demo

        spec = jobs.demo_view_model(get_demo(name))
        ws = self.workspace
        ws.set_settings(ws.settings.with_(
            structure=spec.structure, shape="prism", size_ab_nm=spec.size_ab_nm, size_c_nm=spec.size_c_nm,
            twins=tuple(spec.twins), boundaries=spec.boundaries if spec.boundaries is not None else 1,
            domain_size_nm=spec.domain_size_nm, seed=spec.seeds[0]))
        self._show_result(res, dirty=False, demo=True)

    def build_model(self, live: bool = False) -> Task | None:
        """Build the dock's model and compute its pattern in a worker (live: one thread)."""
        settings = self.workspace.settings
        structure = self.workspace.imported_structure if settings.structure.startswith("(imported") else None
        if live:
            estimate = self._estimate_atoms(settings)
            if estimate > jobs.LIVE_ATOM_LIMIT:
                self.statusBar().showMessage(
                    f"~{estimate:,.0f} atoms: live updates stop at ~{jobs.LIVE_ATOM_LIMIT:,}; "
                    "use Build and compute", 6000)
                return None
            if self.current_task is not None and not self.current_task.done.is_set():
                self._pending_live = True  # last request wins: rerun when this one stops
                self.current_task.cancel()
                return None
        task = Task(jobs.build_and_compute, settings, structure, n_threads=1 if live else None,
                    wavelength=self.pattern_panel.wavelength, name="build")
        return self._start(task, lambda res: self._show_result(res, dirty=True))

    @staticmethod
    def _estimate_atoms(settings) -> float:
        if settings.shape == "prism":
            vol = np.pi / 4 * settings.size_ab_nm**2 * settings.size_c_nm
        elif settings.shape == "sphere":
            vol = np.pi / 6 * settings.size_nm**3
        else:
            vol = settings.size_nm**3
        return vol * 1000.0 / 5.9**3 * 5  # 5 atoms per pseudocubic cell of ~5.9 Å

    def cancel_computation(self) -> None:
        """Cancel the running build or demo."""
        self._pending_live = False
        if self.current_task is not None:
            self.current_task.cancel()
            self.statusBar().showMessage("Cancelling…", 3000)

    def _progress(self, value: object) -> None:
        if isinstance(value, jobs.FitProgress):
            self._fit_progress(value)
        elif isinstance(value, str):
            self.statusBar().showMessage(value)
        else:
            self.progress.setRange(0, 100)
            self.progress.setValue(int(100 * float(value)))

    def _show_result(self, res: jobs.ComputeResult, *, dirty: bool, demo: bool = False) -> None:
        ws = self.workspace
        self.pattern_panel.wavelength_spin.setValue(res.wavelength)
        ws.set_crystal(res.crystal)
        a_p = res.a_p or pseudocubic_a_of_crystal(res.crystal)
        self.pattern_panel.set_pseudocubic(a_p)
        ws.a_p = a_p
        ws.set_histograms(res.histograms)
        if ws.fit is not None:
            self.refine_dock_widget.show_fit_check.setChecked(False)  # show the new model's curves
        ws.set_patterns(res.curves, caption=res.caption, title=res.title)
        ws.set_stats(res.n_pairs, res.seconds)
        ws.set_dirty(dirty)
        self.statusBar().showMessage(f"Done in {res.seconds:.1f} s", 5000)
        if demo:
            self.demo_finished.emit(True)

    def _task_failed(self, task: Task, message: str) -> None:
        self.notify("Computation failed", message, "warning")

    def _task_cancelled(self, task: Task) -> None:
        self.statusBar().showMessage("Cancelled", 3000)

    def _task_finished(self, task: Task) -> None:
        if task is self.current_task:
            self.current_task = None
            self.progress.setVisible(False)
            self.cancel_button.setVisible(False)
            self.model_dock_widget.set_busy(False)
            if self._pending_live:
                self._pending_live = False
                self.build_model(live=True)

    def _busy_changed(self, busy: bool) -> None:
        if not busy:
            self.progress.setVisible(False)

    # ================================================================ workspace -> widgets
    def _crystal_changed(self) -> None:
        crystal = self.workspace.crystal
        self.viewer.set_crystal(crystal)
        self.atoms_label.setText(f"atoms: {crystal.n_atoms:,}" if crystal is not None else "atoms: –")

    def _patterns_changed(self) -> None:
        p = self.workspace.patterns
        fit_curves = self._fit_curves()
        if fit_curves:
            self.pattern_panel.set_patterns(fit_curves, caption=self._fit_caption())
        else:
            self.pattern_panel.set_patterns(p.curves, caption=p.caption)

    def _data_changed(self) -> None:
        data = self.workspace.data
        if data is None:
            self.pattern_panel.set_data(None)
            return
        if data.x_kind == "tth" and not data.wavelength:
            self.statusBar().showMessage(
                f"{Path(data.path or 'data').name}: no wavelength in the file, using "
                f"{self.pattern_panel.wavelength} Å", 8000)
        self.pattern_panel.set_data(self._data_q(), data.y, label=Path(data.path or "data").name,
                                    sigma=data.sigma_used)
        self._fit_cache = None

    def _data_q(self) -> np.ndarray:
        """Q (1/Å) of the loaded data (2theta without a wavelength: the panel's wavelength)."""
        data = self.workspace.data
        try:
            return data.q()
        except ValueError:
            return jobs_q_from_tth(data.x, self.pattern_panel.wavelength)

    def _stats_changed(self) -> None:
        ws = self.workspace
        pairs = ws.n_pairs
        self.pairs_label.setText(f"pairs: {int(round(pairs)):,}" if pairs is not None else "pairs: –")
        self.time_label.setText(
            f"last computation: {ws.last_seconds:.1f} s"
            if ws.last_seconds is not None
            else "last computation: –"
        )

    # ================================================================ files
    def open_file(self, path: str | Path) -> bool:
        """Open a data, CIF or XYZ file by its suffix (a message for anything else)."""
        path = Path(path)
        suffix = path.suffix.lower()
        if not path.exists():
            self.notify("Open", f"{path} does not exist.", "warning")
            return False
        if suffix in DATA_SUFFIXES:
            ok = self.load_data(path)
        elif suffix in STRUCTURE_SUFFIXES:
            ok = self.import_cif(path)
        elif suffix == ".xyz":
            ok = self.import_xyz(path)
        elif suffix in PROJECT_SUFFIXES:
            ok = self.open_project(path)
        else:
            self.notify("Open", f"nanotwin cannot open {path.suffix or 'this'} files (yet): "
                        "use .h5 projects, .xye/.xy/.dat/.chi data, .cif or .xyz.")
            return False
        if ok:
            self.add_recent(path)
            self._remember_dir(path)
        return ok

    def load_data(self, path: str | Path) -> bool:
        """Read a measured pattern and overlay it on the calculated curves."""
        from nanotwin_core.io.data import read_pattern

        try:
            data = read_pattern(path)
        except (ValueError, OSError) as exc:
            self.notify("Import data", str(exc), "warning")
            return False
        if self.workspace.fit is not None:  # a fit belongs to the data it was made on
            self.workspace.fit_previous = None
            self.workspace.set_fit(None)
        self.workspace.set_data(data)
        self.statusBar().showMessage(f"Loaded {Path(path).name}: {len(data)} points", 5000)
        return True

    def import_cif(self, path: str | Path) -> bool:
        """Read a structure from a CIF (or a pymatgen .json) and select it in the model dock."""
        from nanotwin_core.structures.files import read_structure_file

        try:
            structure = read_structure_file(path)
        except (ValueError, OSError, RuntimeError) as exc:
            self.notify("Import CIF", str(exc), "warning")
            return False
        self.workspace.set_imported_structure(structure)
        self.statusBar().showMessage(f"Imported {getattr(structure, 'name', path)}", 5000)
        return True

    def import_xyz(self, path: str | Path) -> bool:
        """Read an (extended) XYZ crystal and show it."""
        from nanotwin_core.io.xyz import read_xyz

        try:
            crystal = read_xyz(path)
        except (ValueError, OSError) as exc:
            self.notify("Import XYZ", str(exc), "warning")
            return False
        self.workspace.set_crystal(crystal)
        return True

    def import_data_dialog(self) -> None:
        """File > Import data."""
        path = self.ask_open_path("Import data", "Patterns (*.xye *.xy *.dat *.chi);;All files (*)")
        if path:
            self.open_file(path)

    def import_cif_dialog(self) -> None:
        """File > Import CIF."""
        path = self.ask_open_path("Import CIF", "Structures (*.cif *.json);;All files (*)")
        if path:
            self.open_file(path)

    def import_xyz_dialog(self) -> None:
        """File > Import XYZ."""
        path = self.ask_open_path("Import XYZ", "Extended XYZ (*.xyz);;All files (*)")
        if path:
            self.open_file(path)

    def export_pattern_dialog(self) -> None:
        """File > Export pattern."""
        if not self.workspace.patterns.curves:
            self.notify("Export pattern", "There is no calculated pattern yet.")
            return
        path = self.ask_save_path("Export pattern", "Pattern (*.xye);;CSV table (*.csv)", "pattern.xye")
        if not path:
            return
        try:
            written = self.pattern_panel.export_table(path)
        except (ValueError, OSError) as exc:
            self.notify("Export pattern", str(exc), "warning")
            return
        self._remember_dir(path)
        self.statusBar().showMessage("Wrote " + ", ".join(p.name for p in written), 6000)

    def export_xyz_dialog(self) -> None:
        """File > Export XYZ."""
        if self.workspace.crystal is None:
            self.notify("Export XYZ", "There is no crystal yet.")
            return
        from nanotwin_core.io.xyz import write_xyz

        path = self.ask_save_path("Export XYZ", "Extended XYZ (*.xyz)", "crystal.xyz")
        if path:
            try:
                write_xyz(self.workspace.crystal, path)
            except (ValueError, OSError, TypeError) as exc:
                self.notify("Export XYZ", str(exc), "warning")
                return
            self._remember_dir(path)
            self.statusBar().showMessage(f"Wrote {Path(path).name}", 5000)

    def export_figure_dialog(self) -> None:
        """File > Export figure: the pattern panel as PNG (as on screen, plus the 3D view where GL
        exists) or as SVG/PDF (redrawn with matplotlib)."""
        path = self.ask_save_path("Export figure", "PNG image (*.png);;SVG (*.svg);;PDF (*.pdf)",
                                  "pattern.png")
        if not path:
            return
        path = Path(path)
        if path.suffix.lower() not in (".png", ".svg", ".pdf"):
            path = path.with_suffix(".png")
        try:
            self.pattern_panel.export_figure(path)
        except (ValueError, OSError) as exc:
            self.notify("Export figure", f"Could not write {path.name}: {exc}", "warning")
            return
        written = [path.name]
        view_path = path.with_name(path.stem + "_3d.png")
        if path.suffix.lower() == ".png" and self.workspace.crystal is not None \
                and self.viewer.export_png(str(view_path)):
            written.append(view_path.name)
        self._remember_dir(path)
        self.statusBar().showMessage("Wrote " + ", ".join(written), 6000)

    def export_view_dialog(self) -> None:
        """File > Export 3D view: render the 3D view to a PNG file."""
        if self.viewer.canvas is None:
            self.notify("Export 3D view", "The 3D view is not available here (no OpenGL).")
            return
        if self.workspace.crystal is None:
            self.notify("Export 3D view", "There is no crystal yet.")
            return
        path = self.ask_save_path("Export 3D view", "PNG image (*.png)", "view3d.png")
        if not path:
            return
        path = Path(path)
        if path.suffix.lower() != ".png":
            path = path.with_suffix(".png")
        try:
            self.viewer.export_png(str(path))
        except (OSError, RuntimeError) as exc:
            self.notify("Export 3D view", f"Could not write {path.name}: {exc}", "warning")
            return
        self._remember_dir(path)
        self.statusBar().showMessage(f"Wrote {path.name}", 5000)

    def current_structure(self):
        """The core Structure of the model dock: the imported one, or the built-in by name."""
        ws = self.workspace
        if ws.settings.structure.startswith("(imported"):
            if ws.imported_structure is None:
                raise NanotwinError("the imported structure is gone: import the CIF again")
            return ws.imported_structure
        from nanotwin_core.structures.library import get_structure

        return get_structure(ws.settings.structure)

    def export_cif_dialog(self) -> None:
        """File > Export CIF: write the current structure (the parent cell, not the crystal)."""
        from nanotwin_core.structures.cif import write_cif

        try:
            structure = self.current_structure()
        except (NanotwinError, KeyError) as exc:
            self.notify("Export CIF", str(exc), "warning")
            return
        safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in structure.name) or "structure"
        path = self.ask_save_path("Export CIF", "CIF (*.cif)", f"{safe}.cif")
        if not path:
            return
        path = Path(path)
        if path.suffix.lower() != ".cif":
            path = path.with_suffix(".cif")
        try:
            write_cif(structure, path)
        except (NanotwinError, OSError, ValueError) as exc:
            self.notify("Export CIF", f"Could not write {path.name}: {exc}", "warning")
            return
        self._remember_dir(path)
        self.statusBar().showMessage(f"Wrote {path.name} ({structure.name})", 5000)

    def add_recent(self, path: str | Path) -> None:
        """Put ``path`` first in File > Recent files."""
        path = str(Path(path).resolve())
        recent = [p for p in self.recent_files() if p != path]
        self.qsettings.setValue("recent_files", [path, *recent][:MAX_RECENT])
        self._rebuild_recent_menu()

    def recent_files(self) -> list[str]:
        """Recently opened files, newest first."""
        value = self.qsettings.value("recent_files", [])
        if isinstance(value, str):
            value = [value]
        return [str(v) for v in (value or [])]

    def _rebuild_recent_menu(self) -> None:
        """Show the recent files; the actions are reused, never deleted (one may be the sender)."""
        if not hasattr(self, "_recent_actions"):
            self._recent_actions: list[QAction] = []
            for _ in range(MAX_RECENT):
                act = self.recent_menu.addAction("")
                act.triggered.connect(lambda _c=False, a=act: self._open_recent(a))
                self._recent_actions.append(act)
            self._recent_none = self.recent_menu.addAction("(none)")
            self._recent_none.setEnabled(False)
        files = self.recent_files()
        for i, act in enumerate(self._recent_actions):
            if i < len(files):
                act.setText(Path(files[i]).name)
                act.setToolTip(files[i])
                act.setData(files[i])
            act.setVisible(i < len(files))
        self._recent_none.setVisible(not files)

    def _open_recent(self, act: QAction) -> None:
        path = act.data()
        if act.isVisible() and path:
            self.open_file(str(path))

    # ================================================================ projects
    def _build_project_menu(self, menu) -> None:
        self.open_project_action = self._action(
            menu, "Open project…", self.open_project_dialog, "Ctrl+O",
            tip="Open a nanotwin project (.h5): model, data, curves and fit as saved",
        )
        self.save_action = self._action(menu, "&Save project", self.save_project, "Ctrl+S",
                                        tip="Save the project (.h5)")
        self.save_as_action = self._action(menu, "Save project as…", self.save_project_as, "Ctrl+Shift+S")

    def _update_title(self) -> None:
        path = self.workspace.project_path
        self.setWindowTitle(f"nanotwin – {path.name}[*]" if path is not None else "nanotwin[*]")
        self.setWindowModified(self.workspace.dirty)

    def open_project_dialog(self) -> None:
        """File > Open project."""
        path = self.ask_open_path("Open project", "nanotwin projects (*.h5 *.hdf5);;All files (*)")
        if path:
            self.open_file(path)

    def open_project(self, path: str | Path) -> bool:
        """Show a saved project (nothing is recomputed); a damaged file changes nothing."""
        from nanotwin_core.io.project import open_project

        if self.workspace.dirty and not self.ask_discard():
            return False
        try:
            project = open_project(path)
        except (NanotwinError, OSError) as exc:
            self.notify("Open project", f"Cannot open the project: {exc}\n\nNothing was changed.", "warning")
            return False
        if self.current_task is not None:
            self.cancel_computation()
        ws = self.workspace
        try:
            ws.load_project(project, path)
        except NanotwinError as exc:
            self.notify("Open project", f"Cannot open {Path(path).name}: {exc}\n\nNothing was changed.",
                        "warning")
            return False
        self._fit_cache = None
        self._live_fit = None
        if ws.wavelength:
            self.pattern_panel.wavelength_spin.setValue(float(ws.wavelength))
        self.pattern_panel.set_pseudocubic(ws.a_p)
        self._data_changed()
        self._patterns_changed()
        self._update_title()
        note = "" if project.schema_version >= 2 else " (an older project: no window state)"
        self.statusBar().showMessage(f"Opened {Path(path).name}{note}", 5000)
        return True

    def save_project(self) -> bool:
        """File > Save: write the project to its file (asks for one the first time)."""
        if self.workspace.project_path is None:
            return self.save_project_as()
        return self.save_project_to(self.workspace.project_path)

    def save_project_as(self) -> bool:
        """File > Save project as."""
        path = self.ask_save_path("Save project", "nanotwin project (*.h5)", "project.h5")
        if not path:
            return False
        path = Path(path)
        if path.suffix.lower() not in PROJECT_SUFFIXES:
            path = path.with_suffix(".h5")
        return self.save_project_to(path)

    def save_project_to(self, path: str | Path) -> bool:
        """Write everything open to ``path`` (atomically: a failed save keeps the old file)."""
        from nanotwin_core.io.project import save_project

        ws = self.workspace
        ws.wavelength = self.pattern_panel.wavelength
        ws.fit_options = self.refine_dock_widget.options()
        try:
            save_project(ws.to_project(), path)
        except (NanotwinError, OSError, TypeError, ValueError) as exc:
            self.notify("Save project", f"Could not save {Path(path).name}: {exc}", "warning")
            return False
        ws.project_path = Path(path)
        ws.set_dirty(False)
        self.add_recent(path)
        self._remember_dir(path)
        self._update_title()
        self.statusBar().showMessage(f"Saved {Path(path).name}", 5000)
        return True

    # ================================================================ refinement
    def _build_refine_dock(self) -> None:
        self._fit_cache: tuple[str, object] | None = None  # (fit_key, prepared problem) for reuse
        self._fit_task: Task | None = None
        self._live_fit: jobs.FitProgress | None = None
        self._rows_before: list[dict] = []
        self.refine_dock_widget = RefineDock(self.workspace)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.refine_dock_widget)
        scroll.setMinimumWidth(420)
        self.refine_dock = QDockWidget("Refinement", self)
        self.refine_dock.setObjectName("refine_dock")
        self.refine_dock.setWidget(scroll)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.refine_dock)

    def _connect_refine_dock(self) -> None:
        dock = self.refine_dock_widget
        dock.run_requested.connect(self.start_fit)
        dock.stop_requested.connect(self.stop_fit)
        dock.export_requested.connect(self.export_report_dialog)
        dock.show_fit_toggled.connect(lambda _on: self._patterns_changed())

    def show_refinement(self) -> None:
        """Model > Refinement: show and raise the refinement dock."""
        self.refine_dock.show()
        self.refine_dock.raise_()

    def _fit_data(self):
        """The loaded data, with the panel's wavelength where 2theta data have none."""
        import dataclasses

        data = self.workspace.data
        if data.x_kind == "tth" and not data.wavelength:
            return dataclasses.replace(data, wavelength=self.pattern_panel.wavelength)
        return data

    def fit_running(self) -> bool:
        """True from Run until the worker's result and end reached the window (GUI thread)."""
        return self._fit_task is not None

    def start_fit(self) -> Task | None:
        """Refine the dock's model against the loaded data in a worker (None if it cannot start)."""
        ws, dock = self.workspace, self.refine_dock_widget
        if ws.data is None:
            self.notify("Refinement", "Load data first (File > Import data…).")
            return None
        if self.fit_running():
            return None
        try:
            rows = dock.rows()
            data = self._fit_data()
            settings = dock.fit_settings()
            model = dock.fit_model(wavelength=data.wavelength if data.x_kind == "tth" else None, rows=rows)
        except NanotwinError as exc:
            dock.show_message(f"Cannot fit: {exc}")
            self.notify("Refinement", str(exc), "warning")
            return None
        structure = dock.structure()
        key = jobs.fit_key(model, settings, ws.data, structure)
        problem = self._fit_cache[1] if self._fit_cache is not None and self._fit_cache[0] == key else None
        request = jobs.FitRequest(model=model, data=data, settings=settings, rows=rows, structure=structure,
                                  problem=problem, key=key, databases=ws.size_databases,
                                  title=f"nanotwin fit of {Path(data.path or 'data').name}")
        self._rows_before = dock.snapshot()
        self._live_fit = None
        task = Task(jobs.run_refinement, request, name="refinement")
        self._fit_task = task
        dock.set_running(True)
        task.cancelled.connect(lambda: dock.show_message("Fit stopped: the table is unchanged."))
        task.errored.connect(lambda msg: dock.show_message(f"Fit failed: {msg}"))
        task.finished.connect(lambda t=task: self._fit_finished(t))
        self.statusBar().showMessage("Refining…" if problem is not None else "Building the size database…")
        return self._start(task, self._fit_done)

    def stop_fit(self) -> None:
        """Stop the running refinement (it stops at its next model evaluation)."""
        if self._fit_task is not None:
            self._fit_task.cancel()
            self.statusBar().showMessage("Stopping the fit…", 3000)

    def _fit_progress(self, report: jobs.FitProgress) -> None:
        self._live_fit = report
        self.refine_dock_widget.show_progress(report)
        self._patterns_changed()

    def _fit_done(self, outcome: jobs.FitOutcome) -> None:
        res = outcome.result
        self._fit_cache = (outcome.key, outcome.problem)
        # keep (and save with the project) only the size databases of the shown fit: they are large
        prob = outcome.problem
        used = {db.info.get("key") for db in [prob.database, *(c.database for c in prob.components)]}
        self.workspace.size_databases = {k: v for k, v in self.workspace.size_databases.items() if k in used}
        self._live_fit = None
        record = FitRecord(
            rows=outcome.rows, summary=outcome.summary, y_calc=outcome.y_calc, background=outcome.background,
            mask=outcome.mask, report=outcome.report, status="pending", rows_before=self._rows_before,
            cov_names=list(res.cov_names), correlation=None if res.correlation is None else res.correlation,
        )
        self.refine_dock_widget.show_fit_check.setChecked(True)
        self.workspace.set_fit(record, keep_previous=True)
        self.workspace.set_dirty(True)
        self.statusBar().showMessage(f"Fit done: Rwp = {100 * res.rwp:.3f} %, GoF = {res.gof:.3f}", 8000)
        notes = "; ".join(res.messages)
        self.refine_dock_widget.show_message(
            f"Fit done in {outcome.seconds:.1f} s ({res.nfev} evaluations): Accept or Revert."
            + (f" Notes: {notes}" if notes else ""))

    def _fit_finished(self, task: Task) -> None:
        if task is self._fit_task:
            self._fit_task = None
            self._live_fit = None
            self.refine_dock_widget.set_running(False)
            self._patterns_changed()

    def _fit_curves(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """The calculated and background curves of the shown (or running) fit on the data's Q."""
        ws = self.workspace
        if ws.data is None or not self.refine_dock_widget.show_fit_check.isChecked():
            return {}
        q = self._data_q()
        if self._live_fit is not None:
            m = self._live_fit.mask
            if len(self._live_fit.y_calc) == len(q):
                return {"fit: calculated (running)": (q[m], self._live_fit.y_calc[m])}
        fit = ws.fit
        if fit is None or len(fit.y_calc) != len(q):
            return {}
        m = fit.mask
        return {"fit: calculated": (q[m], fit.y_calc[m]), "fit: background": (q[m], fit.background[m])}

    def _fit_caption(self) -> str:
        fit = self.workspace.fit
        if self._live_fit is not None:
            return f"fit running: Rwp = {100 * self._live_fit.rwp:.3f} %, GoF = {self._live_fit.gof:.3f}"
        if fit is None:
            return ""
        return f"fit ({fit.status}): Rwp = {100 * fit.rwp:.3f} %, GoF = {fit.gof:.3f}"

    def export_report_dialog(self) -> None:
        """Write the shown fit as a Markdown report."""
        fit = self.workspace.fit
        if fit is None:
            self.notify("Export report", "There is no fit yet.")
            return
        path = self.ask_save_path("Export report", "Markdown (*.md)", "fit_report.md")
        if not path:
            return
        try:
            Path(path).write_text(fit.report, encoding="utf-8")
        except OSError as exc:
            self.notify("Export report", str(exc), "warning")
            return
        self._remember_dir(path)
        self.statusBar().showMessage(f"Wrote {Path(path).name}", 5000)

    # ================================================================ teaching
    def _build_teaching_dock(self) -> None:
        """The Teaching dock (live tilt and twin-density sliders), hidden until View > Teaching."""
        from nanotwin_app.docks.teaching_dock import TeachingDock

        self.teaching_dock_widget = TeachingDock(self.workspace, self.pattern_panel)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.teaching_dock_widget)
        scroll.setMinimumWidth(360)
        self.teaching_dock = QDockWidget("Teaching", self)
        self.teaching_dock.setObjectName("teaching_dock")
        self.teaching_dock.setWidget(scroll)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.teaching_dock)
        self.teaching_dock.hide()

    # ================================================================ misc actions
    def new_workspace(self) -> None:
        """File > New: clear the workspace (asks first if something is unsaved)."""
        if self.workspace.dirty and not self.ask_discard():
            return
        self.cancel_computation()
        self.workspace.clear()
        self._fit_cache = None
        self.pattern_panel.set_pseudocubic(None)
        self._update_title()

    def show_about(self) -> None:
        """Help > About."""
        from nanotwin_core._version import __version__

        self.notify("About nanotwin",
                    f"nanotwin {__version__}\n\nBuild CsPbX3 nanocrystals with coherent twin boundaries, "
                    "see them in 3D and compute their powder patterns by the Debye scattering equation.\n\n"
                    "After Bertolotti et al., ACS Nano 2017, 11, 3819.")

    def show_shortcuts(self) -> None:
        """Help > Keyboard shortcuts."""
        self.notify("Keyboard shortcuts", "\n".join(f"{k:>14}   {v}" for k, v in SHORTCUTS))

    def show_guide(self) -> None:
        """Help > Guide: a short in-window guide (and the online README when a browser exists)."""
        self.notify(
            "Guide",
            "1. Pick a demo in the Demos menu, or set a model in the Model dock and press "
            "Build and compute.\n"
            "2. The 3D view colours atoms by twin domain or variant; untick elements (keep Pb) to see the "
            "coherent sublattice; clip a slab along a boundary normal or a Miller plane.\n"
            "3. The pattern panel overlays the calculated curves; drag the yellow region to move the "
            "superstructure zoom (1.5-2.2 1/Å); ticks mark fundamentals and R, M, X reflections.\n"
            "4. Drop .xye data onto the window to overlay it; in the Refinement dock choose what to refine "
            "and press Run (Stop, then Accept or Revert; the report exports as Markdown).\n"
            "5. File > Save (Ctrl+S) writes a .h5 project with the model, data, curves and fit.",
        )

    def open_online_guide(self) -> None:
        """Open the README in a browser."""
        QDesktopServices.openUrl(QUrl(GUIDE_URL))

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
        geom = self.qsettings.value("window/geometry")
        state = self.qsettings.value("window/state")
        if geom is not None:
            self.restoreGeometry(geom)
        if state is not None:
            self.restoreState(state)

    def save_state(self) -> None:
        """Store geometry and dock layout."""
        self.qsettings.setValue("window/geometry", self.saveGeometry())
        self.qsettings.setValue("window/state", self.saveState())
        self.qsettings.sync()

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt override
        """Ask about unsaved results (only if any), save the layout, stop the workers."""
        if self.workspace.dirty and not self.ask_discard():
            event.ignore()
            return
        self.save_state()
        self.runner.shutdown(3000)
        self.teaching_dock_widget.shutdown(3000)
        if self.viewer.canvas is not None:
            self.viewer.canvas.close()
        event.accept()


#: Q (1/Å) from 2theta (degrees): the core's one copy of the formula
jobs_q_from_tth = q_from_two_theta


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
