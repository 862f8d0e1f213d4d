"""The main window: 3D viewer in the centre, model dock on the left, pattern panel at the bottom.

The window wires widgets to the workspace and starts workers; it computes nothing itself.
Dialogs go through ``ask_open_path``/``ask_save_path``/``notify``/``ask_discard`` so tests (and
the headless screenshot mode) can replace them.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from nanotwin_app import jobs
from nanotwin_app.demos import demo_entries
from nanotwin_app.docks.model_dock import ModelDock
from nanotwin_app.plots.pattern_panel import PatternPanel
from nanotwin_app.plots.ticks import pseudocubic_a_of_crystal
from nanotwin_app.viewer3d.viewer_panel import ViewerPanel
from nanotwin_app.workers import WARMUP_MESSAGE, Task, TaskRunner
from nanotwin_app.workspace import Workspace
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

DATA_SUFFIXES = {".xye", ".xy", ".dat", ".chi"}
OPENABLE = DATA_SUFFIXES | {".cif", ".xyz"}
MAX_RECENT = 8
ICON = Path(__file__).parent / "resources" / "nanotwin.svg"
GUIDE_URL = "https://github.com/nanotwin/nanotwin#readme"

SHORTCUTS = [
    ("Ctrl+B", "Build and compute the model"),
    ("Esc", "Cancel the running computation"),
    ("Ctrl+E", "Export the pattern (.xye / .csv)"),
    ("Ctrl+Shift+E", "Export a figure (PNG)"),
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
        self.open_project_action = self._action(
            f, "Open project…", None, "Ctrl+O",
            tip="not yet: projects arrive with the refinement release", enabled=False,
        )
        f.addSeparator()
        self._action(f, "Import data (.xye/.xy/.dat/.chi)…", self.import_data_dialog, "Ctrl+I")
        self._action(f, "Import CIF…", self.import_cif_dialog)
        self._action(f, "Import XYZ…", self.import_xyz_dialog)
        f.addSeparator()
        self._action(f, "Export pattern (.xye/.csv)…", self.export_pattern_dialog, "Ctrl+E")
        self._action(f, "Export XYZ…", self.export_xyz_dialog)
        self._action(f, "Export figure (PNG)…", self.export_figure_dialog, "Ctrl+Shift+E")
        f.addSeparator()
        self.recent_menu = f.addMenu("Recent files")
        f.addSeparator()
        self._action(f, "&Quit", self.close, "Ctrl+Q")

        v = mb.addMenu("&View")
        v.addAction(self.model_dock.toggleViewAction())
        v.addAction(self.pattern_dock.toggleViewAction())
        self._action(v, "Reset 3D view", self.viewer.reset_view, "Ctrl+R")

        m = mb.addMenu("&Model")
        self._action(m, "Build and compute", lambda: self.model_dock_widget.request_build(False), "Ctrl+B")
        self._action(m, "Cancel computation", self.cancel_computation, "Esc")
        self._action(m, "Refinement (not yet)", None,
                     tip="not yet: refinement arrives with the refinement release", enabled=False)

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
        self.setWindowTitle("nanotwin[*]")
        self.model_dock_widget.build_requested.connect(self.build_model)
        self.model_dock_widget.cancel_requested.connect(self.cancel_computation)
        self.runner.busy_changed.connect(self._busy_changed)
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

    def ask_discard(self) -> bool:
        """True when the user agrees to lose the unsaved model and patterns (headless: nobody to ask)."""
        if self.headless:
            return True
        answer = QMessageBox.question(
            self, "Unsaved results",
            "The model and patterns you computed are not exported. Close anyway?",
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
        return self._start(task, lambda res: self._show_result(res, dirty=False, demo=True))

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
        if isinstance(value, str):
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
        self.pattern_panel.set_patterns(p.curves, caption=p.caption)

    def _data_changed(self) -> None:
        data = self.workspace.data
        if data is None:
            self.pattern_panel.set_data(None)
            return
        try:
            q = data.q()
        except ValueError:
            q = jobs_q_from_tth(data.x, self.pattern_panel.wavelength)
            self.statusBar().showMessage(
                f"{Path(data.path or 'data').name}: no wavelength in the file, using "
                f"{self.pattern_panel.wavelength} Å", 8000)
        self.pattern_panel.set_data(q, data.y, label=Path(data.path or "data").name)

    def _stats_changed(self) -> None:
        ws = self.workspace
        self.pairs_label.setText(f"pairs: {ws.n_pairs:,}" if ws.n_pairs else "pairs: –")
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
        elif suffix == ".cif":
            ok = self.import_cif(path)
        elif suffix == ".xyz":
            ok = self.import_xyz(path)
        elif suffix == ".h5":
            self.notify("Open project", "Opening projects is not supported yet: projects arrive with "
                        "the refinement release.")
            return False
        else:
            self.notify("Open", f"nanotwin cannot open {path.suffix or 'this'} files (yet): "
                        "use .xye/.xy/.dat/.chi data, .cif or .xyz.")
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
        self.workspace.set_data(data)
        self.statusBar().showMessage(f"Loaded {Path(path).name}: {len(data)} points", 5000)
        return True

    def import_cif(self, path: str | Path) -> bool:
        """Read a structure from a CIF and select it in the model dock."""
        reader = _core_function(("nanotwin_core.structures.cif", "read_cif"),
                                ("nanotwin_core.structures.cif", "structure_from_cif"),
                                ("nanotwin_core.structures", "read_cif"))
        if reader is None:
            self.notify("Import CIF", "Importing CIF files is not available in this version yet.")
            return False
        try:
            structure = reader(path)
        except (ValueError, OSError, RuntimeError) as exc:
            self.notify("Import CIF", str(exc), "warning")
            return False
        self.workspace.set_imported_structure(structure)
        self.statusBar().showMessage(f"Imported {getattr(structure, 'name', path)}", 5000)
        return True

    def import_xyz(self, path: str | Path) -> bool:
        """Read an (extended) XYZ crystal and show it."""
        reader = _core_function(("nanotwin_core.io.xyz", "read_xyz"))
        if reader is None:
            self.notify("Import XYZ", "Importing XYZ files is not available in this version yet.")
            return False
        try:
            crystal = reader(path)
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
        path = self.ask_open_path("Import CIF", "CIF (*.cif);;All files (*)")
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
        self.workspace.set_dirty(False)
        self._remember_dir(path)
        self.statusBar().showMessage("Wrote " + ", ".join(p.name for p in written), 6000)

    def export_xyz_dialog(self) -> None:
        """File > Export XYZ."""
        if self.workspace.crystal is None:
            self.notify("Export XYZ", "There is no crystal yet.")
            return
        writer = _core_function(("nanotwin_core.io.xyz", "write_xyz"))
        if writer is None:
            self.notify("Export XYZ", "Writing XYZ files from the window is not available in this version "
                        "yet (use `nanotwin build MODEL --out FILE.xyz`).")
            return
        path = self.ask_save_path("Export XYZ", "Extended XYZ (*.xyz)", "crystal.xyz")
        if path:
            try:
                writer(self.workspace.crystal, path)
            except (ValueError, OSError, TypeError) as exc:
                self.notify("Export XYZ", str(exc), "warning")
                return
            self._remember_dir(path)
            self.statusBar().showMessage(f"Wrote {Path(path).name}", 5000)

    def export_figure_dialog(self) -> None:
        """File > Export figure: the pattern panel and (where GL exists) the 3D view, as PNG."""
        path = self.ask_save_path("Export figure", "PNG image (*.png)", "pattern.png")
        if not path:
            return
        path = Path(path)
        if path.suffix.lower() != ".png":
            path = path.with_suffix(".png")
        self.pattern_panel.export_png(path)
        written = [path.name]
        view_path = path.with_name(path.stem + "_3d.png")
        if self.workspace.crystal is not None and self.viewer.export_png(str(view_path)):
            written.append(view_path.name)
        self._remember_dir(path)
        self.statusBar().showMessage("Wrote " + ", ".join(written), 6000)

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
        self.recent_menu.clear()
        files = self.recent_files()
        for p in files:
            act = self.recent_menu.addAction(Path(p).name)
            act.setToolTip(p)
            act.triggered.connect(lambda _c=False, p=p: self.open_file(p))
        if not files:
            act = self.recent_menu.addAction("(none)")
            act.setEnabled(False)

    # ================================================================ misc actions
    def new_workspace(self) -> None:
        """File > New: clear the workspace (asks first if something is unsaved)."""
        if self.workspace.dirty and not self.ask_discard():
            return
        self.cancel_computation()
        self.workspace.clear()
        self.pattern_panel.set_pseudocubic(None)

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
            "4. Drop .xye data onto the window to overlay it. Refinement is not in this version yet.",
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
        if self.viewer.canvas is not None:
            self.viewer.canvas.close()
        event.accept()


def jobs_q_from_tth(tth: np.ndarray, wavelength: float) -> np.ndarray:
    """Q (1/Å) from 2theta (degrees)."""
    return 4 * np.pi * np.sin(np.radians(np.asarray(tth, float)) / 2) / wavelength


def _dropped_paths(mime) -> list[Path]:
    if mime is None or not mime.hasUrls():
        return []
    out = []
    for url in mime.urls():
        if url.isLocalFile():
            p = Path(url.toLocalFile())
            if p.suffix.lower() in OPENABLE | {".h5"}:
                out.append(p)
    return out


def _core_function(*candidates: tuple[str, str]):
    """The first importable ``module.function`` of ``candidates`` (None if none exists yet)."""
    import importlib

    for module, name in candidates:
        try:
            mod = importlib.import_module(module)
        except ImportError:
            continue
        fn = getattr(mod, name, None)
        if callable(fn):
            return fn
    return None
