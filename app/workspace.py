"""The open project: model settings, core objects (crystal, patterns, data) and change signals.

The workspace holds core objects only (no widgets, no colours). Widgets edit it and listen to
its signals; jobs' results are stored here by the window. ``project_io`` converts it to and from
a core ``Project`` (HDF5 file).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QObject, Signal

if TYPE_CHECKING:
    from nanotwin_app.project_io import LoadedProject


@dataclass(frozen=True)
class ModelSettings:
    """What the model dock edits: one nanocrystal model (lengths in nm)."""

    structure: str = "CsPbBr3-gamma"
    shape: str = "prism"
    size_ab_nm: float = 6.0
    size_c_nm: float = 6.0
    size_nm: float = 6.0
    twins: tuple[str, ...] = ()
    boundaries: int | None = 1
    domain_size_nm: float | None = None
    seed: int = 0
    compare_untwinned: bool = True

    def with_(self, **changes) -> ModelSettings:
        """A copy with ``changes`` applied."""
        return replace(self, **changes)


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
    grid (``y_calc``, ``background``; ``mask`` = fitted points). ``rows_before`` is the table
    before the fit (Revert restores it). ``summary`` is the ``nanotwin fit --json`` dict.
    """

    rows: list[dict]
    summary: dict
    y_calc: np.ndarray
    background: np.ndarray
    mask: np.ndarray
    report: str = ""
    status: str = "pending"
    rows_before: list[dict] = field(default_factory=list)
    cov_names: list[str] = field(default_factory=list)
    correlation: np.ndarray | None = None

    @property
    def rwp(self) -> float:
        return float(self.summary.get("rwp", np.nan))

    @property
    def gof(self) -> float:
        return float(self.summary.get("gof", np.nan))


class Workspace(QObject):
    """Everything the user has open, with signals saying what changed."""

    settings_changed = Signal()
    structure_changed = Signal()
    crystal_changed = Signal()
    patterns_changed = Signal()
    data_changed = Signal()
    dirty_changed = Signal(bool)
    stats_changed = Signal()
    fit_changed = Signal()
    project_loaded = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.settings = ModelSettings()
        self.imported_structure = None  # a core Structure read from a CIF, or None
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
        self.fit_options: dict = {}  # the refinement dock's choices (see RefineDock.options)
        self.project_path: Path | None = None
        self.loading = False  # True while a project is being shown (listeners: do not write back)
        # per-size Debye sums of the fits, by fingerprint: saved in the project, reused by fits
        self.size_databases: dict = {}

    # ---------------------------------------------------------------- edits
    def set_settings(self, settings: ModelSettings) -> None:
        """Replace the model settings."""
        if settings != self.settings:
            self.settings = settings
            self.settings_changed.emit()

    def set_imported_structure(self, structure) -> None:
        """Use a structure read from a file (a CIF) instead of a built-in one."""
        self.imported_structure = structure
        self.structure_changed.emit()

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

    def accept_fit(self) -> None:
        """Keep the pending refinement: its values become the table's start values."""
        if self.fit is not None and self.fit.status == "pending":
            self.fit.status = "accepted"
            self.fit_previous = None
            self.fit_changed.emit()
            self.set_dirty(True)

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
        self.settings = ModelSettings()
        self.imported_structure = None
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
        self.project_path = None
        self.settings_changed.emit()
        self.set_dirty(False)

    # ---------------------------------------------------------------- projects
    def show_loaded(self, loaded: LoadedProject, path: str | Path | None = None) -> None:
        """Show a project read by ``project_io.read_project`` (converted and checked already)."""
        self.loading = True
        try:
            self.settings = loaded.settings
            self.imported_structure = loaded.imported_structure
            self.histograms = loaded.histograms
            self.a_p = loaded.a_p
            self.wavelength = loaded.wavelength
            self.fit_options = loaded.fit_options
            self.size_databases = loaded.size_databases
            self.fit_previous = None
            self.settings_changed.emit()
            if loaded.imported_structure is not None:
                self.structure_changed.emit()
                self.settings = loaded.settings  # the dock's import handler may have reset the label
                self.settings_changed.emit()
            self.set_crystal(loaded.crystal)
            self.set_data(loaded.data)
            self.set_patterns(loaded.curves, caption=loaded.caption, title=loaded.title)
            self.set_stats(loaded.n_pairs, loaded.seconds)
            self.set_fit(loaded.fit)
            self.project_path = Path(path) if path is not None else None
        finally:
            self.loading = False
        self.project_loaded.emit()
        self.set_dirty(False)
