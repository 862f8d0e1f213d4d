"""The open project: the core ``Model``, core objects (crystal, patterns, data) and change signals.

The workspace holds core objects only (no widgets, no colours). ``model`` is the one description
of what the window computes and fits (``nanotwin_core.model.Model``): the model dock and the
refinement dock edit it field by field (``set_model(dataclasses.replace(model, ...))``), so every
field they do not show is kept as it came (from a project, a demo or ``nanotwin fit``). Jobs'
results are stored here by the window. ``project_io`` converts it to and from a core
``Project`` (HDF5 file).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QObject, Signal

from nanotwin_core.errors import NanotwinError
from nanotwin_core.model import Model
from nanotwin_core.refined_model import refined_model
from nanotwin_core.structures.structure import Structure

if TYPE_CHECKING:
    from nanotwin_app.project_io import LoadedProject


def default_model() -> Model:
    """The model a new workspace starts with: a 6 x 6 nm CsPbBr3-gamma prism."""
    return Model(structure="CsPbBr3-gamma", shape="prism", size_ab_nm=6.0, size_c_nm=6.0)


@dataclass
class PatternSet:
    """Calculated patterns ``label -> (Q, I)`` and what they show."""

    curves: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    caption: str = ""
    title: str = ""


@dataclass
class FitRecord:
    """A refinement shown in the window: its table, result summary and curves.

    ``status``: "pending" (just finished: Accept or Revert) or "accepted". Curves are on the data
    grid (``y_calc``, ``background``; ``mask`` = fitted points; ``populations`` and ``blank``:
    the other parts of the core's ``fit_parts``, each population by name and the scaled blank).
    ``rows_before`` is the table before the fit (Revert restores it). ``summary`` is the
    ``nanotwin fit --json`` dict.
    """

    rows: list[dict]
    summary: dict
    y_calc: np.ndarray
    background: np.ndarray
    mask: np.ndarray
    populations: dict[str, np.ndarray] = field(default_factory=dict)
    blank: np.ndarray | None = None
    report: str = ""
    status: str = "pending"
    rows_before: list[dict] = field(default_factory=list)
    cov_names: list[str] = field(default_factory=list)
    correlation: np.ndarray | None = None

    def part_curves(self) -> dict[str, np.ndarray]:
        """The parts the pattern panel draws besides the total and the background: each
        population of a mixture, and the blank."""
        pops = self.populations
        out = {} if len(pops) < 2 else {f"population {k}": v for k, v in pops.items()}
        if self.blank is not None:
            out["blank"] = self.blank
        return out

    @property
    def rwp(self) -> float:
        return float(self.summary.get("rwp", np.nan))

    @property
    def gof(self) -> float:
        return float(self.summary.get("gof", np.nan))


IMPORTED_PREFIX = "(imported)"


class Workspace(QObject):
    """Everything the user has open, with signals saying what changed."""

    model_changed = Signal()
    structure_changed = Signal()
    crystal_changed = Signal()
    patterns_changed = Signal()
    data_changed = Signal()
    dirty_changed = Signal(bool)
    stats_changed = Signal()
    fit_changed = Signal()
    pdf_changed = Signal()  # the G(r) data or its fit
    project_loaded = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.model = default_model()
        # the Structure of ``model.cif`` as read (or as kept inside a project): used instead of
        # the file, which may be gone or elsewhere on this machine
        self.imported_structure: Structure | None = None
        self.compare_untwinned = True  # builds of a twinned model also show it untwinned
        self.crystal = None
        self.patterns = PatternSet()
        self.data = None  # nanotwin_core.io.data.PatternData
        self.dirty = False
        self.revision = 0  # counts changes (set_dirty(True)): a save keeps "clean" only if none came
        self.n_pairs: int | None = None
        self.last_seconds: float | None = None
        self.histograms: dict = {}  # label -> PairHistograms of the computed curves
        self.a_p: float | None = None  # pseudocubic cell (Å) of the tick rows
        self.wavelength: float | None = None  # Å, of the pattern panel's 2theta axis
        self.fit: FitRecord | None = None  # the refinement shown
        self.fit_previous: FitRecord | None = None  # what Revert goes back to
        self.fit_options: dict = {}  # the refinement table (see RefineDock.options)
        self.pdf_data = None  # nanotwin_core.io.data.PDFData: a measured G(r)
        self.pdf_fit = None  # pdf_project.PDFFitRecord: its last fit
        self.project_path: Path | None = None
        self.loading = False  # True while a project is being shown (listeners: do not write back)
        # per-size Debye sums of the fits, by fingerprint: saved in the project, reused by fits
        self.size_databases: dict = {}

    # ---------------------------------------------------------------- edits
    def set_model(self, model: Model) -> None:
        """Replace the model (a changed one marks the work unsaved)."""
        if model != self.model:
            self.model = model
            self.model_changed.emit()
            self.set_dirty(True)

    def set_imported_structure(self, structure: Structure, path: str | Path) -> None:
        """Use a structure read from a file (CIF or pymatgen JSON): the model's ``cif`` becomes
        ``path`` (its built-in name and tilt are dropped)."""
        self.imported_structure = structure
        self.structure_changed.emit()
        self.set_model(replace(self.model, structure=None, cif=str(path), tilt=None))

    def structure(self) -> Structure:
        """The model's Structure: the imported one for a CIF model, else the built-in (with tilt)."""
        if self.model.cif and self.imported_structure is not None:
            return self.imported_structure
        return self.model.load_structure()

    def structure_override(self) -> Structure | None:
        """What to pass as ``structure=`` to the core's entry points (None: the model's own)."""
        return self.imported_structure if self.model.cif else None

    def phases(self) -> list[tuple[str, Structure]]:
        """(name, Structure) of every phase of the model: its structure, then each mixture
        component with a structure of its own (NanotwinError where one cannot be read)."""
        return self.model.phases(self.structure())

    def structure_label(self) -> str:
        """The model's structure as the docks name it."""
        m = self.model
        if m.cif:
            name = self.imported_structure.name if self.imported_structure is not None else Path(m.cif).stem
            return f"{IMPORTED_PREFIX} {name}"
        return str(m.structure)

    def set_crystal(self, crystal) -> None:
        """Replace the current crystal (a core ``Crystal`` or None)."""
        self.crystal = crystal
        self.crystal_changed.emit()

    def set_patterns(self, curves: dict, caption: str = "", title: str = "") -> None:
        """Replace the calculated patterns (label -> (Q, I))."""
        self.patterns = PatternSet(dict(curves), caption, title)
        self.patterns_changed.emit()

    def set_data(self, data) -> None:
        """Replace the measured pattern (a core ``PatternData`` or None)."""
        self.data = data
        self.data_changed.emit()

    def set_stats(self, n_pairs: int | None, seconds: float | None) -> None:
        """Record the pair count and duration of the last computation."""
        self.n_pairs, self.last_seconds = n_pairs, seconds
        self.stats_changed.emit()

    def set_histograms(self, histograms: dict) -> None:
        """Keep the pair histograms of the computed curves (label -> PairHistograms)."""
        self.histograms = dict(histograms)

    def set_fit(self, record: FitRecord | None, *, keep_previous: bool = False) -> None:
        """Show a refinement (None: none); ``keep_previous`` remembers the shown one for Revert."""
        if keep_previous:
            self.fit_previous = self.fit
        self.fit = record
        self.fit_changed.emit()

    def set_pdf(self, data, fit=None) -> None:
        """Show a measured G(r) (None: none) and its fit (None: none yet)."""
        self.pdf_data, self.pdf_fit = data, fit
        self.pdf_changed.emit()

    def accept_fit(self) -> list[str]:
        """Keep the pending refinement: its values become the table's start values and the model's
        (ADPs, sizes, domain size, zero shift, tilt: ``refined_model``). Returns notes on refined
        values the model has no field for."""
        if self.fit is None or self.fit.status != "pending":
            return []
        self.fit.status = "accepted"
        self.fit_previous = None
        values = {r["name"]: r["value"] for r in self.fit.rows if not r.get("linear")}
        self.fit_changed.emit()
        try:
            model, notes = refined_model(self.model, values)
        except NanotwinError as exc:  # e.g. the model was edited since the fit into one that cannot hold them
            return [f"the model was not updated ({exc})"]
        self.set_model(model)
        self.set_dirty(True)
        return notes

    def revert_fit(self) -> list[dict] | None:
        """Drop the pending refinement; returns the table as it was before it (None if none)."""
        if self.fit is None or self.fit.status != "pending":
            return None
        rows = copy.deepcopy(self.fit.rows_before)
        self.fit = self.fit_previous
        self.fit_previous = None
        self.fit_changed.emit()
        return rows

    def set_dirty(self, dirty: bool) -> None:
        """Mark whether there is something the user would lose on close."""
        if dirty:
            self.revision += 1
        if dirty != self.dirty:
            self.dirty = dirty
            self.dirty_changed.emit(dirty)

    def clear(self) -> None:
        """Start afresh (File > New)."""
        self.model = default_model()
        self.imported_structure = None
        self.compare_untwinned = True
        self.set_crystal(None)
        self.set_patterns({})
        self.set_data(None)
        self.set_stats(None, None)
        self.histograms = {}
        self.a_p = None
        self.fit_options = {}
        self.fit_previous = None
        self.size_databases = {}
        self.set_fit(None)
        self.set_pdf(None)
        self.project_path = None
        self.model_changed.emit()
        self.set_dirty(False)

    # ---------------------------------------------------------------- projects
    def show_loaded(self, loaded: LoadedProject, path: str | Path | None = None) -> None:
        """Show a project read by ``project_io.read_project`` (converted and checked already)."""
        self.loading = True
        try:
            self.model = loaded.model
            self.imported_structure = loaded.imported_structure
            self.compare_untwinned = loaded.compare_untwinned
            self.histograms = loaded.histograms
            self.a_p = loaded.a_p
            self.wavelength = loaded.wavelength
            self.fit_options = loaded.fit_options
            self.size_databases = loaded.size_databases
            self.fit_previous = None
            self.structure_changed.emit()
            self.model_changed.emit()
            self.set_crystal(loaded.crystal)
            self.set_data(loaded.data)
            self.set_patterns(loaded.curves, caption=loaded.caption, title=loaded.title)
            self.set_stats(loaded.n_pairs, loaded.seconds)
            self.set_fit(loaded.fit)
            self.set_pdf(loaded.pdf_data, loaded.pdf_fit)
            self.project_path = Path(path) if path is not None else None
        finally:
            self.loading = False
        self.project_loaded.emit()
        self.set_dirty(False)
