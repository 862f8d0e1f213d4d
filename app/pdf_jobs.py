"""The core call a PDF (G(r)) fit job runs in the window: ``actions.fit_pdf_model`` with live
reports, plus its JSON summary and Markdown report as ``nanotwin fit --data FILE.gr`` writes
them. No Qt."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from nanotwin_core.actions import fit_pdf_model, fit_pdf_model_ranges
from nanotwin_core.model import Model
from nanotwin_core.refine.pdf_fit import (
    PDFFitSettings,
    pdf_fit_json,
    pdf_markdown,
    realised_size,
)

REPORT_INTERVAL_S = 0.3  # live Rw is sent at most this often


@dataclass
class PDFFitRequest:
    """A G(r) fit: the workspace's model, the data, the dock's settings and r ranges (several:
    a range-resolved fit, one refinement per range), built on the GUI thread."""

    model: Model
    data: object  # nanotwin_core.io.data.PDFData
    settings: PDFFitSettings
    ranges: list[tuple[float, float]]
    structure: object | None = None  # the model's structure when it came from a file
    title: str = "PDF fit"


@dataclass
class PDFProgress:
    """A live report: evaluations so far, Rw and the current calculated G(r) over the r (Å) of
    the range being fitted (None before the first evaluation)."""

    evaluations: int
    rw: float
    r: np.ndarray | None = None
    g_calc: np.ndarray | None = None


@dataclass
class PDFFitDone:
    """A finished G(r) fit: per range the fitted r and calculated G, the ``--json`` summary (as
    ``nanotwin fit --data FILE.gr``: the first range's entry, ``ranges`` for several), the report,
    the time."""

    curves: list[tuple[np.ndarray, np.ndarray]]
    summary: dict
    report: str
    seconds: float


def run_pdf_fit(request: PDFFitRequest, progress: Callable | None = None,
                cancel: Callable | None = None) -> PDFFitDone:
    """Refine the model against the G(r) over each r range; ``progress`` gets a message, then
    ``PDFProgress`` reports."""
    t0 = time.perf_counter()
    state: dict = {"n": 0, "last": -1e9, "curve": (None, None)}
    if progress:
        progress("building the PDF model…")

    def on_curve(r: np.ndarray, g_calc: np.ndarray) -> None:
        state["curve"] = (r, g_calc)

    def on_evaluation(_values: dict[str, float], rw: float) -> None:
        state["n"] += 1
        now = time.perf_counter()
        if progress is not None and now - state["last"] >= REPORT_INTERVAL_S:
            state["last"] = now
            r, g = state["curve"]
            progress(PDFProgress(state["n"], float(rw), None if r is None else r.copy(),
                                 None if g is None else np.array(g, float)))

    data, settings = request.data, request.settings
    if len(request.ranges) == 1:
        lo, hi = request.ranges[0]
        out = fit_pdf_model(request.model, data, replace(settings, rmin=lo, rmax=hi),
                            structure=request.structure, callback=on_evaluation, cancel=cancel,
                            curve_callback=on_curve)
        pdf_model, qmin, qmax = out.model, out.qmin, out.qmax
        fits = [(lo, hi, out.result, out.rw)]
    else:
        pdf_model, range_fits, qmin, qmax = fit_pdf_model_ranges(
            request.model, data, settings, request.ranges, structure=request.structure,
            callback=on_evaluation, cancel=cancel, curve_callback=on_curve)
        fits = [(f.rmin, f.rmax, f.result, f.rw) for f in range_fits]
    entries, curves = [], []
    for lo, hi, res, rw in fits:
        entries.append(pdf_fit_json(res, rw, rmin=lo, rmax=hi, qmin=qmin, qmax=qmax,
                                    size_nm=realised_size(pdf_model, res.params.values())))
        curves.append((data.r[(data.r >= lo) & (data.r <= hi)], np.asarray(res.y_calc, float)))
    summary = dict(entries[0])
    if len(entries) > 1:
        summary["ranges"] = entries
    summary["data"] = {"path": str(data.path), "kind": "pdf"}
    summary["model"] = request.model.to_dict()
    report = pdf_markdown(entries, [f[2] for f in fits], title=request.title)
    return PDFFitDone(curves, summary, report, time.perf_counter() - t0)
