"""Project files in the window: the workspace to and from a core ``Project``, saved and opened in
a worker with progress.

``project_of`` takes a snapshot of the workspace on the GUI thread (references to its arrays, no
copies, nothing written); ``write_project`` (worker) writes it atomically with the core's
``save_project`` (temporary file, then rename: a failed save keeps the old file). ``read_project``
(worker) reads a file and converts everything to workspace objects before the workspace is
touched, so a damaged project changes nothing; the GUI thread then shows it
(``Workspace.show_loaded``). Nothing is recomputed: the curves, histograms, crystal, size
databases and the refinement come from the file.
"""

from __future__ import annotations

import tempfile
import traceback
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from nanotwin_app.jobs import param_row
from nanotwin_app.pdf_project import (
    PDFFitRecord,
    is_pdf_entry,
    model_of_pdf_project,
    pdf_from_project,
    pdf_to_project,
)
from nanotwin_app.tasks import CoreJob, JobRunner
from nanotwin_app.workspace import FitRecord, Workspace, default_model
from PySide6.QtCore import QObject, Signal

from nanotwin_core.errors import NanotwinError
from nanotwin_core.io.data import PatternData
from nanotwin_core.io.project import (
    Project,
    crystal_from_cache,
    crystal_to_cache,
    histograms_from_cache,
    histograms_to_cache,
    open_project,
    save_project,
)
from nanotwin_core.model import Model
from nanotwin_core.refine.database_store import size_database_to_cache, size_databases_from_project
from nanotwin_core.refine.size_database import SizeDatabase
from nanotwin_core.structures.cif import read_cif, write_cif
from nanotwin_core.structures.files import read_structure_file

if TYPE_CHECKING:
    from nanotwin_app.main_window import MainWindow

PROJECT_SUFFIXES = {".h5", ".hdf5"}


# ================================================================================ workspace -> file
def project_of(ws: Workspace, fit_options: dict, wavelength: float | None) -> Project:
    """Everything open as a core ``Project`` (plain arrays and JSON; nothing pickled): the model
    as ``Model.to_dict()``, the data, the computed curves, histograms, crystal, size databases,
    the refinement, and the window's view state."""
    p = Project(model=ws.model.to_dict())
    labels = []
    for i, (label, (q, y)) in enumerate(ws.patterns.curves.items()):
        p.cache[f"curve_{i}"] = {"q": np.asarray(q, float), "y": np.asarray(y, float)}
        p.cache_meta[f"curve_{i}"] = {"kind": "curve", "label": label}
        labels.append(label)
    for i, (label, hist) in enumerate(ws.histograms.items()):
        arrays, meta = histograms_to_cache(hist)
        p.cache[f"hist_{i}"] = arrays
        p.cache_meta[f"hist_{i}"] = {**meta, "label": label}
    if ws.crystal is not None:
        p.cache["crystal"], p.cache_meta["crystal"] = crystal_to_cache(ws.crystal)
    stored = [db for db in ws.size_databases.values() if isinstance(db, SizeDatabase)]  # not pair tables
    for i, db in enumerate(stored):
        p.cache[f"sizedb_{i}"], p.cache_meta[f"sizedb_{i}"] = size_database_to_cache(db)
    if ws.data is not None:
        d = ws.data
        cols = {"x": d.x, "y": d.y, "mask": np.asarray(d.mask, np.int8)}
        if d.sigma is not None:
            cols["sigma"] = d.sigma
        p.data["observed"] = cols
        p.data_meta["observed"] = {"path": d.path, "x_kind": d.x_kind, "wavelength": d.wavelength,
                                   "sigma_source": d.sigma_source, "header": list(d.header),
                                   "notes": list(d.notes)}
    pdf_to_project(p, ws.pdf_data, ws.pdf_fit)
    if ws.fit is not None:
        f = ws.fit
        p.results["fit"] = {**f.summary, "status": f.status, "rows": f.rows, "rows_before": f.rows_before,
                            "cov_names": f.cov_names, "report": f.report}
        arrays = {"x": ws.data.x if ws.data is not None else np.arange(len(f.y_calc), dtype=float),
                  "y_calc": f.y_calc, "background": f.background, "mask": np.asarray(f.mask, np.int8)}
        arrays.update({f"pop_{name}": curve for name, curve in f.populations.items()})  # as ``fit_parts``
        if f.blank is not None:
            arrays["blank"] = f.blank
        if f.correlation is not None:
            arrays["correlation"] = np.asarray(f.correlation, float)
        p.cache["fit"] = arrays
        p.cache_meta["fit"] = {"kind": "fit"}
        p.history = [{"command": "gui fit", "status": f.status, "rwp": f.rwp, "gof": f.gof}]
    state = {
        "app": "nanotwin gui",
        "view": {"compare_untwinned": ws.compare_untwinned},
        "patterns": {"labels": labels, "caption": ws.patterns.caption, "title": ws.patterns.title},
        "a_p": ws.a_p, "wavelength": wavelength,
        "stats": {"n_pairs": ws.n_pairs, "seconds": ws.last_seconds},
        "fit_options": fit_options,
    }
    if ws.model.cif and ws.imported_structure is not None:
        state["imported_cif"] = cif_text(ws.imported_structure)
    p.state = state
    return p


def write_project(project: Project, path: str | Path, progress: Callable | None = None,
                  cancel: Callable | None = None) -> Path:
    """Write a project atomically (a worker job; ``cancel`` is not polled: a save runs to its end)."""
    if progress:
        progress(f"Saving {Path(path).name}…")
    return save_project(project, path)


def cif_text(structure) -> str:
    """A structure as CIF text (kept inside projects: no file needed to reopen them)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = write_cif(structure, Path(tmp) / "structure.cif")
        return Path(path).read_text(encoding="utf-8")


def structure_from_cif_text(text: str):
    """The structure of :func:`cif_text`."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "structure.cif"
        path.write_text(text, encoding="utf-8")
        return read_cif(path)


# ================================================================================ file -> workspace
@dataclass
class LoadedProject:
    """A project converted to workspace objects (built completely before the workspace changes)."""

    model: Model
    imported_structure: object | None
    compare_untwinned: bool
    crystal: object | None
    data: PatternData | None
    curves: dict
    caption: str
    title: str
    histograms: dict
    a_p: float | None
    wavelength: float | None
    n_pairs: int | None
    seconds: float | None
    fit: FitRecord | None
    fit_options: dict
    size_databases: dict
    schema_version: int
    pdf_data: object | None = None  # a G(r) (PDFData)
    pdf_fit: PDFFitRecord | None = None

    @classmethod
    def from_project(cls, p: Project, folder: Path | None = None) -> LoadedProject:
        """Convert; NanotwinError (naming what is wrong) for a damaged or incomplete project.
        ``folder``: where the project file is (a relative CIF path of the model is looked up there
        too)."""
        state = p.state or {}
        try:
            model = model_of_pdf_project(p.model)  # a nanotwin fit project of a G(r)
            if model is None:
                model = default_model() if "pdf" in p.model else Model.from_dict(p.model).validate()
            pdf_data, pdf_fit = pdf_from_project(p)
            imported = _imported_structure(model, state, folder)
            if imported is not None and not model.cif:  # an earlier window's project: the CIF only inside
                model = replace(model, structure=None, cif=f"{imported.name}.cif")
            data = _data_from_project(p)
            curves, hists, crystal = {}, {}, None
            for key in sorted(p.cache, key=_cache_order):
                meta = p.cache_meta.get(key, {})
                kind = meta.get("kind")
                if kind == "curve":
                    curves[str(meta["label"])] = (np.asarray(p.cache[key]["q"], float),
                                                  np.asarray(p.cache[key]["y"], float))
                elif kind == "pair_histograms":
                    hists[str(meta.get("label", key))] = histograms_from_cache(p.cache[key], meta)
                elif kind == "crystal":
                    crystal = crystal_from_cache(p.cache[key], meta)
            fit = _fit_from_project(p, data)
            stats = state.get("stats", {})
            patterns = state.get("patterns", {})
            view = state.get("view") or state.get("settings") or {}  # "settings": projects before 0.2
            return cls(
                model=model, imported_structure=imported,
                compare_untwinned=bool(view.get("compare_untwinned", True)), crystal=crystal, data=data,
                curves=curves, caption=str(patterns.get("caption", "")), title=str(patterns.get("title", "")),
                histograms=hists, a_p=state.get("a_p"), wavelength=state.get("wavelength"),
                n_pairs=stats.get("n_pairs"), seconds=stats.get("seconds"), fit=fit,
                fit_options=dict(state.get("fit_options", {})), size_databases=size_databases_from_project(p),
                schema_version=p.schema_version, pdf_data=pdf_data, pdf_fit=pdf_fit,
            )
        except NanotwinError:
            raise
        except (KeyError, ValueError, TypeError, IndexError, AttributeError, OSError) as exc:
            raise NanotwinError(
                f"the project is damaged or incomplete: {type(exc).__name__}: {exc}") from None


def read_project(path: str | Path, progress: Callable | None = None,
                 cancel: Callable | None = None) -> LoadedProject:
    """Read and convert a project file (a worker job)."""
    if progress:
        progress(f"Reading {Path(path).name}…")
    return LoadedProject.from_project(open_project(path), Path(path).parent)


def _imported_structure(model: Model, state: dict, folder: Path | None):
    """The structure of a CIF model: kept inside the project, else read from the model's file, a
    relative path from here or from the project's folder (None for a built-in structure)."""
    if state.get("imported_cif"):
        return structure_from_cif_text(state["imported_cif"])
    if not model.cif:
        return None
    path = Path(model.cif)
    if not path.is_absolute() and not path.exists() and folder is not None and (folder / path).exists():
        path = folder / path
    return read_structure_file(path)


def _data_from_project(p: Project) -> PatternData | None:
    patterns = [k for k in p.data if not is_pdf_entry(p.data_meta.get(k, {}))]
    if not patterns:
        return None
    name = "observed" if "observed" in patterns else patterns[0]
    cols, meta = p.data[name], p.data_meta.get(name, {})
    mask = cols.get("mask")
    return PatternData(
        cols["x"], cols["y"],
        cols.get("sigma") if meta.get("sigma_source", "file") == "file" else None,
        x_kind=meta.get("x_kind", "tth"), wavelength=meta.get("wavelength"), path=meta.get("path"),
        mask=None if mask is None else np.asarray(mask, bool),
        header=list(meta.get("header", [])), notes=list(meta.get("notes", [])),
    )


def _cache_order(key: str) -> tuple[str, int]:
    stem, _, num = key.rpartition("_")
    return (stem, int(num)) if num.isdigit() else (key, -1)


def _fit_from_project(p: Project, data: PatternData | None) -> FitRecord | None:
    """The refinement of a project (the window's or ``nanotwin fit``'s), or None."""
    if "fit" not in p.results or "fit" not in p.cache:
        return None
    summary = dict(p.results["fit"])
    arrays = p.cache["fit"]
    extra = {k: summary.pop(k) for k in ("status", "rows", "rows_before", "cov_names", "report")
             if k in summary}
    rows = extra.get("rows")
    if rows is None:  # a nanotwin fit project: rows from the parameters dict
        rows = [param_row(name, v["value"], v.get("refined", False), None, None, esd=v.get("esd"),
                          constraint=v.get("constraint"), at_bound=v.get("at_bound"))
                for name, v in summary.get("parameters", {}).items()]
    y_calc = np.asarray(arrays["y_calc"], float)
    if data is not None and len(y_calc) != len(data.x):
        raise NanotwinError("the fitted curve and the data have different lengths")
    corr = arrays.get("correlation")
    blank = arrays.get("blank")
    return FitRecord(
        rows=rows, summary=summary, y_calc=y_calc,
        background=np.asarray(arrays.get("background", np.zeros_like(y_calc)), float),
        mask=np.asarray(arrays.get("mask", np.ones(len(y_calc))), bool),
        populations={k[4:]: np.asarray(v, float) for k, v in arrays.items() if k.startswith("pop_")},
        blank=None if blank is None else np.asarray(blank, float), report=str(extra.get("report", "")),
        status=str(extra.get("status", "accepted")), rows_before=list(extra.get("rows_before", [])),
        cov_names=list(extra.get("cov_names", [])),
        correlation=None if corr is None else np.asarray(corr, float),
    )


# ================================================================================ the window's side
IO_BUSY = "A project is being saved or opened: try again when it is done"


class ProjectFiles(QObject):
    """File > Open project / Save project for the window: read and write in jobs of its own runner
    (file I/O only, no numba kernels: it never waits behind a computation)."""

    saved = Signal(object)  # Path
    save_failed = Signal(object, str)  # Path, message
    opened = Signal(object, object)  # Path, LoadedProject (shown)
    open_failed = Signal(object, str)  # Path, message

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.workspace = window.workspace
        self.runner = JobRunner(self, max_threads=1)
        self.job: CoreJob | None = None

    def busy(self) -> bool:
        """True while a save or an open runs."""
        return self.runner.is_running(self.job)

    # ---------------------------------------------------------------- open
    def open_dialog(self) -> None:
        """File > Open project."""
        self.window.files.dialog("Open project", "nanotwin projects (*.h5 *.hdf5);;All files (*)")

    def open(self, path: str | Path) -> bool:
        """Read a saved project in a job, then show it (nothing is recomputed; a damaged file
        changes nothing). False when the user keeps unsaved work or a project is being saved."""
        window = self.window
        if self.workspace.dirty and not window.ask_discard():
            return False
        if self.busy():
            window.statusBar().showMessage(IO_BUSY, 5000)
            return False
        path = Path(path)
        job = CoreJob(read_project, path, name=f"open {path.name}")
        job.returned.connect(lambda loaded: self._opened(path, loaded))
        job.errored.connect(lambda exc: self._open_failed(path, exc))
        self._start(job)
        window.statusBar().showMessage(f"Opening {path.name}…")
        return True

    def _opened(self, path: Path, loaded: LoadedProject) -> None:
        window = self.window
        window.cancel_computation()
        window.fits.forget()
        ws = self.workspace
        ws.show_loaded(loaded, path)
        if ws.wavelength:
            window.pattern_panel.set_wavelength(float(ws.wavelength))
        window.show_phases()
        if ws.pdf_data is not None:
            window.show_pdf_dock()
        window.refresh_plots()  # Q of 2theta data may depend on the wavelength just restored
        window.update_title()
        note = "" if loaded.schema_version >= 2 else " (an older project: no window state)"
        window.statusBar().showMessage(f"Opened {path.name}{note}", 5000)
        self.opened.emit(path, loaded)

    def _open_failed(self, path: Path, exc: Exception) -> None:
        message = _message(exc)
        self.window.notify("Open project", f"Cannot open {path.name}: {message}\n\nNothing was changed.",
                           "warning")
        self.open_failed.emit(path, message)

    # ---------------------------------------------------------------- save
    def save(self) -> bool:
        """File > Save: write the project to its file (asks for one the first time)."""
        if self.workspace.project_path is None:
            return self.save_as()
        return self.save_to(self.workspace.project_path)

    def save_as(self) -> bool:
        """File > Save project as."""
        path = self.window.ask_save_path("Save project", "nanotwin project (*.h5)", "project.h5")
        if not path:
            return False
        path = Path(path)
        if path.suffix.lower() not in PROJECT_SUFFIXES:
            path = path.with_suffix(".h5")
        return self.save_to(path)

    def save_to(self, path: str | Path) -> bool:
        """Write everything open to ``path`` in a job (atomically: a failed save keeps the old file).
        False when a save or open is already running."""
        window, ws = self.window, self.workspace
        if self.busy():
            window.statusBar().showMessage(IO_BUSY, 5000)
            return False
        path = Path(path)
        ws.wavelength = window.pattern_panel.wavelength
        ws.fit_options = window.refine_dock_widget.options()
        project = project_of(ws, ws.fit_options, ws.wavelength)
        revision = ws.revision
        job = CoreJob(write_project, project, path, name=f"save {path.name}")
        job.returned.connect(lambda _p: self._saved(path, revision))
        job.errored.connect(lambda exc: self._save_failed(path, exc))
        self._start(job)
        window.statusBar().showMessage(f"Saving {path.name}…")
        return True

    def _saved(self, path: Path, revision: int) -> None:
        ws, window = self.workspace, self.window
        ws.project_path = path
        if ws.revision == revision:  # nothing changed while it was written
            ws.set_dirty(False)
        window.files.remember(path)
        window.update_title()
        window.statusBar().showMessage(f"Saved {path.name}", 5000)
        self.saved.emit(path)

    def _save_failed(self, path: Path, exc: Exception) -> None:
        message = _message(exc)
        self.window.notify("Save project", f"Could not save {path.name}: {message}", "warning")
        self.save_failed.emit(path, message)

    def _start(self, job: CoreJob) -> None:
        self.job = job
        self.runner.start(job)


def _message(exc: Exception) -> str:
    """One line for the user; the traceback too where the exception is a bug, not bad input."""
    if not isinstance(exc, (NanotwinError, OSError)):
        traceback.print_exception(exc)
    return str(exc) or type(exc).__name__
