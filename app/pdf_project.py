"""A G(r) and its fit in projects: the window's own (data ``gr``, result ``pdf_fit``) and those
``nanotwin fit --data FILE.gr`` writes (data ``observed`` of kind ``pdf``, result ``fit``, curves
``fit_RMIN_RMAX``, model ``{"pdf": {structure, shape, size_nm}}``). No Qt."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from nanotwin_core.errors import NanotwinError
from nanotwin_core.io.data import PDFData
from nanotwin_core.io.project import Project
from nanotwin_core.model import Model

DATA_KEY = "gr"
RESULT_KEY = "pdf_fit"


@dataclass
class PDFFitRecord:
    """A G(r) fit shown in the window: per r range the fitted r and the calculated G there
    (``curves``), the ``--json`` summary (parameters, rw, qmin, qmax, messages, population of the
    first range; ``ranges``: every range's entry for a range-resolved fit) and its report."""

    curves: list[tuple[np.ndarray, np.ndarray]]
    summary: dict = field(default_factory=dict)
    report: str = ""

    @property
    def entries(self) -> list[dict]:
        """One summary entry per r range."""
        return list(self.summary.get("ranges") or [self.summary])

    @property
    def rw(self) -> float:
        """Rw of the first range."""
        return float(self.summary.get("rw", np.nan))


def is_pdf_entry(meta: dict) -> bool:
    """True for a data entry that holds a G(r)."""
    return meta.get("kind") == "pdf" or meta.get("x_kind") == "r"


def pdf_to_project(p: Project, data: PDFData | None, fit: PDFFitRecord | None) -> None:
    """Store the G(r) and its fit in ``p`` (plain arrays and JSON)."""
    if data is None:
        return
    dg = data.dg if data.dg is not None else np.ones_like(data.r)
    p.data[DATA_KEY] = {"x": data.r, "y": data.g, "sigma": dg}
    p.data_meta[DATA_KEY] = {"path": data.path, "x_kind": "r", "kind": "pdf", "header": list(data.header),
                             "meta": dict(data.meta),
                             "sigma_source": "file" if data.dg is not None else "unit_weights"}
    if fit is not None:
        p.results[RESULT_KEY] = {**fit.summary, "report": fit.report}
        for i, (r, g) in enumerate(fit.curves):
            p.cache[f"{RESULT_KEY}_{i}"] = {"r": np.asarray(r, float), "g_calc": np.asarray(g, float)}
            p.cache_meta[f"{RESULT_KEY}_{i}"] = {"kind": "pdf_fit"}


def pdf_from_project(p: Project) -> tuple[PDFData | None, PDFFitRecord | None]:
    """The G(r) of a project and its fit (None, None where it has none)."""
    name = next((k for k in p.data if is_pdf_entry(p.data_meta.get(k, {}))), None)
    if name is None:
        return None, None
    cols, meta = p.data[name], p.data_meta.get(name, {})
    dg = cols.get("sigma") if meta.get("sigma_source", "file") == "file" else None
    header_meta = {str(k): str(v) for k, v in (meta.get("meta") or {}).items()}
    data = PDFData(np.asarray(cols["x"], float), np.asarray(cols["y"], float),
                   None if dg is None else np.asarray(dg, float), meta.get("path"),
                   list(meta.get("header", [])), header_meta)
    keys = [k for k in p.cache if p.cache_meta.get(k, {}).get("kind") == "pdf_fit"]
    keys.sort(key=lambda k: float(np.min(p.cache[k]["r"])) if len(p.cache[k]["r"]) else 0.0)
    result = RESULT_KEY if RESULT_KEY in p.results else "fit"  # the window's, or nanotwin fit's
    if not keys or result not in p.results:
        return data, None
    summary = dict(p.results[result])
    report = str(summary.pop("report", ""))
    curves = [(np.asarray(p.cache[k]["r"], float), np.asarray(p.cache[k]["g_calc"], float)) for k in keys]
    return data, PDFFitRecord(curves, summary, report)


def model_of_pdf_project(model: dict) -> Model | None:
    """The model of a ``nanotwin fit --data FILE.gr`` project (its structure, shape and size), or
    None when it is not one (or names an XYZ file or a structure that is not built in)."""
    source = model.get("pdf") if isinstance(model, dict) else None
    if not isinstance(source, dict) or not source.get("structure"):
        return None
    shape = str(source.get("shape") or "sphere")
    size = source.get("size_nm")
    try:
        return Model(structure=str(source["structure"]), shape=shape,
                     size_nm=None if size is None else float(size)).validate()
    except (NanotwinError, ValueError, TypeError):
        return None
