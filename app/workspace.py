"""The open project: model settings, core objects (crystal, patterns, data) and change signals.

The workspace holds core objects only (no widgets, no colours). Widgets edit it and listen to
its signals; workers' results are stored here by the window. ``to_project`` / ``load_project``
convert it to and from a core ``Project`` (HDF5 file): the settings, the data, the computed
curves, pair histograms and crystal, and the refinement (table, result, curves), so a reopened
project shows the same state without recomputing anything.
"""

from __future__ import annotations

import copy
import tempfile
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Signal

from nanotwin_core.errors import NanotwinError


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
    def fit_model_dict(self) -> dict:
        """The settings as a core ``Model.to_dict()`` (what ``nanotwin fit`` projects store)."""
        s = self.settings
        d: dict = {"structure": s.structure, "shape": s.shape, "seeds": [int(s.seed)], "twins": list(s.twins)}
        if s.shape == "prism":
            d.update(size_ab_nm=s.size_ab_nm, size_c_nm=s.size_c_nm)
        else:
            d["size_nm"] = s.size_nm
        if s.twins:
            if s.domain_size_nm is not None:
                d["domain_size_nm"] = s.domain_size_nm
            elif s.boundaries is not None:
                d["boundaries"] = int(s.boundaries)
        return d

    def to_project(self):
        """Everything open as a core ``Project`` (plain arrays and JSON; nothing pickled)."""
        from nanotwin_core.io.project import Project, crystal_to_cache, histograms_to_cache
        from nanotwin_core.refine.database_store import size_database_to_cache

        p = Project(model=self.fit_model_dict())
        labels = []
        for i, (label, (q, y)) in enumerate(self.patterns.curves.items()):
            p.cache[f"curve_{i}"] = {"q": np.asarray(q, float), "y": np.asarray(y, float)}
            p.cache_meta[f"curve_{i}"] = {"kind": "curve", "label": label}
            labels.append(label)
        for i, (label, hist) in enumerate(self.histograms.items()):
            arrays, meta = histograms_to_cache(hist)
            p.cache[f"hist_{i}"] = arrays
            p.cache_meta[f"hist_{i}"] = {**meta, "label": label}
        if self.crystal is not None:
            p.cache["crystal"], p.cache_meta["crystal"] = crystal_to_cache(self.crystal)
        stored = [db for db in list(self.size_databases.values()) if hasattr(db, "to_arrays")]
        for i, db in enumerate(stored):
            p.cache[f"sizedb_{i}"], p.cache_meta[f"sizedb_{i}"] = size_database_to_cache(db)
        if self.data is not None:
            d = self.data
            cols = {"x": d.x, "y": d.y, "mask": np.asarray(d.mask, np.int8)}
            if d.sigma is not None:
                cols["sigma"] = d.sigma
            p.data["observed"] = cols
            p.data_meta["observed"] = {"path": d.path, "x_kind": d.x_kind, "wavelength": d.wavelength,
                                       "sigma_source": d.sigma_source, "header": list(d.header),
                                       "notes": list(d.notes)}
        if self.fit is not None:
            f = self.fit
            p.results["fit"] = {**f.summary, "status": f.status, "rows": f.rows, "rows_before": f.rows_before,
                                "cov_names": f.cov_names, "report": f.report}
            arrays = {"x": self.data.x if self.data is not None else np.arange(len(f.y_calc), dtype=float),
                      "y_calc": f.y_calc, "background": f.background, "mask": np.asarray(f.mask, np.int8)}
            if f.correlation is not None:
                arrays["correlation"] = np.asarray(f.correlation, float)
            p.cache["fit"] = arrays
            p.cache_meta["fit"] = {"kind": "fit"}
        state = {
            "app": "nanotwin gui",
            "settings": {**asdict(self.settings), "twins": list(self.settings.twins)},
            "patterns": {"labels": labels, "caption": self.patterns.caption, "title": self.patterns.title},
            "a_p": self.a_p, "wavelength": self.wavelength,
            "stats": {"n_pairs": self.n_pairs, "seconds": self.last_seconds},
            "fit_options": self.fit_options,
        }
        if self.imported_structure is not None:
            state["imported_cif"] = _cif_text(self.imported_structure)
        p.state = state
        if self.fit is not None:
            f = self.fit
            p.history = [{"command": "gui fit", "status": f.status, "rwp": f.rwp, "gof": f.gof}]
        return p

    def load_project(self, project, path: str | Path | None = None) -> None:
        """Show a core ``Project``: everything is checked first, so a bad project changes nothing.

        Projects written by ``nanotwin fit`` (schema 1, no GUI state) open too: the model becomes
        the dock settings, the fitted curve and the result the refinement.
        """
        loaded = _LoadedProject.from_project(project)  # raises before anything changes
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


def _cif_text(structure) -> str:
    from nanotwin_core.structures.cif import write_cif

    with tempfile.TemporaryDirectory() as tmp:
        path = write_cif(structure, Path(tmp) / "structure.cif")
        return Path(path).read_text(encoding="utf-8")


def _structure_from_cif_text(text: str):
    from nanotwin_core.structures.cif import read_cif

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "structure.cif"
        path.write_text(text, encoding="utf-8")
        return read_cif(path)


_SETTINGS_FIELDS = set(ModelSettings.__dataclass_fields__)


@dataclass
class _LoadedProject:
    """A project converted to workspace objects (built completely before the workspace changes)."""

    settings: ModelSettings
    imported_structure: object | None
    crystal: object | None
    data: object | None
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

    @classmethod
    def from_project(cls, p) -> _LoadedProject:
        from nanotwin_core.io.data import PatternData
        from nanotwin_core.io.project import crystal_from_cache, histograms_from_cache
        from nanotwin_core.refine.database_store import size_databases_from_project

        state = p.state or {}
        try:
            if "settings" in state:
                raw = {k: v for k, v in state["settings"].items() if k in _SETTINGS_FIELDS}
                raw["twins"] = tuple(raw.get("twins", ()))
                settings = ModelSettings(**raw)
            else:
                settings = _settings_from_model(p.model)
            imported = (_structure_from_cif_text(state["imported_cif"]) if state.get("imported_cif")
                        else None)
            data = None
            if p.data:
                name = "observed" if "observed" in p.data else next(iter(p.data))
                cols, meta = p.data[name], p.data_meta.get(name, {})
                mask = cols.get("mask")
                data = PatternData(
                    cols["x"], cols["y"],
                    cols.get("sigma") if meta.get("sigma_source", "file") == "file" else None,
                    x_kind=meta.get("x_kind", "tth"), wavelength=meta.get("wavelength"),
                    path=meta.get("path"),
                    mask=None if mask is None else np.asarray(mask, bool),
                    header=list(meta.get("header", [])), notes=list(meta.get("notes", [])),
                )
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
            return cls(
                settings=settings, imported_structure=imported, crystal=crystal, data=data, curves=curves,
                caption=str(patterns.get("caption", "")), title=str(patterns.get("title", "")),
                histograms=hists, a_p=state.get("a_p"), wavelength=state.get("wavelength"),
                n_pairs=stats.get("n_pairs"), seconds=stats.get("seconds"), fit=fit,
                fit_options=dict(state.get("fit_options", {})), size_databases=size_databases_from_project(p),
            )
        except NanotwinError:
            raise
        except (KeyError, ValueError, TypeError, IndexError, AttributeError, OSError) as exc:
            raise NanotwinError(
                f"the project is damaged or incomplete: {type(exc).__name__}: {exc}") from None


def _cache_order(key: str) -> tuple[str, int]:
    stem, _, num = key.rpartition("_")
    return (stem, int(num)) if num.isdigit() else (key, -1)


def _settings_from_model(model: dict) -> ModelSettings:
    """Dock settings from a core ``Model.to_dict()`` (a ``nanotwin fit`` project)."""
    m = dict(model or {})
    base = ModelSettings()
    pop = m.get("population") or {}
    seeds = m.get("seeds") or [0]
    return ModelSettings(
        structure=str(m.get("structure") or base.structure),
        shape=str(m.get("shape", base.shape)),
        size_ab_nm=float(m.get("size_ab_nm") or pop.get("Dab") or base.size_ab_nm),
        size_c_nm=float(m.get("size_c_nm") or pop.get("Lc") or base.size_c_nm),
        size_nm=float(m.get("size_nm") or pop.get("D") or base.size_nm),
        twins=tuple(m.get("twins") or ()),
        boundaries=m.get("boundaries", None if m.get("domain_size_nm") else 1),
        domain_size_nm=m.get("domain_size_nm"),
        seed=int(seeds[0]),
    )


def _fit_from_project(p, data) -> FitRecord | None:
    """The refinement of a project (GUI or ``nanotwin fit``), or None."""
    if "fit" not in p.results or "fit" not in p.cache:
        return None
    summary = dict(p.results["fit"])
    arrays = p.cache["fit"]
    extra = {k: summary.pop(k) for k in ("status", "rows", "rows_before", "cov_names", "report")
             if k in summary}
    rows = extra.get("rows")
    if rows is None:  # a nanotwin fit project: rows from the parameters dict
        from nanotwin_app.jobs import param_row

        rows = [param_row(name, v["value"], v.get("refined", False), None, None, esd=v.get("esd"),
                          constraint=v.get("constraint"), at_bound=v.get("at_bound"))
                for name, v in summary.get("parameters", {}).items()]
    y_calc = np.asarray(arrays["y_calc"], float)
    if data is not None and len(y_calc) != len(data.x):
        raise NanotwinError("the fitted curve and the data have different lengths")
    corr = arrays.get("correlation")
    return FitRecord(
        rows=rows, summary=summary, y_calc=y_calc,
        background=np.asarray(arrays.get("background", np.zeros_like(y_calc)), float),
        mask=np.asarray(arrays.get("mask", np.ones(len(y_calc))), bool), report=str(extra.get("report", "")),
        status=str(extra.get("status", "accepted")), rows_before=list(extra.get("rows_before", [])),
        cov_names=list(extra.get("cov_names", [])),
        correlation=None if corr is None else np.asarray(corr, float),
    )
