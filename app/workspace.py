"""The open project: model settings, core objects (crystal, patterns, data) and change signals.

The workspace holds core objects only (no widgets, no colours). Widgets edit it and listen to
its signals; workers' results are stored here by the window.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
from PySide6.QtCore import QObject, Signal


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


class Workspace(QObject):
    """Everything the user has open, with signals saying what changed."""

    settings_changed = Signal()
    structure_changed = Signal()
    crystal_changed = Signal()
    patterns_changed = Signal()
    data_changed = Signal()
    dirty_changed = Signal(bool)
    stats_changed = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.settings = ModelSettings()
        self.imported_structure = None  # a core Structure read from a CIF, or None
        self.crystal = None
        self.patterns = PatternSet()
        self.data = None  # nanotwin_core.io.data.PatternData
        self.dirty = False
        self.n_pairs: int | None = None
        self.last_seconds: float | None = None

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

    def set_dirty(self, dirty: bool) -> None:
        """Mark whether there is something the user would lose on close."""
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
        self.settings_changed.emit()
        self.set_dirty(False)
