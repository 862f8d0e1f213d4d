"""The core call a PDF (G(r)) fit job runs in the window: ``actions.fit_pdf_model`` with live
reports, plus its JSON summary and Markdown report as ``nanotwin fit --data FILE.gr`` writes
them. No Qt."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from nanotwin_core.actions import fit_pdf_model
from nanotwin_core.model import Model
from nanotwin_core.refine.pdf_fit import (
    PDFFitOutcome,
    PDFFitSettings,
    pdf_fit_json,
    pdf_markdown,
    realised_size,
)

REPORT_INTERVAL_S = 0.3  # live Rw is sent at most this often


@dataclass
class PDFFitRequest:
    """A G(r) fit: the workspace's model, the data, the dock's settings (built on the GUI thread)."""

    model: Model
    data: object  # nanotwin_core.io.data.PDFData
    settings: PDFFitSettings
    structure: object | None = None  # the model's structure when it came from a file
    title: str = "PDF fit"


@dataclass
class PDFProgress:
    """A live report: evaluations so far and Rw."""

    evaluations: int
    rw: float


@dataclass
class PDFFitDone:
    """A finished G(r) fit: the core's outcome, the ``--json`` summary, the report, the time."""

    outcome: PDFFitOutcome
    summary: dict
    report: str
    seconds: float


def run_pdf_fit(request: PDFFitRequest, progress: Callable | None = None,
                cancel: Callable | None = None) -> PDFFitDone:
    """Refine the model against the G(r); ``progress`` gets messages, then ``PDFProgress``."""
    t0 = time.perf_counter()
    state = {"n": 0, "last": -1e9}
    if progress:
        progress("building the PDF model…")

    def on_evaluation(_values: dict[str, float], rw: float) -> None:
        state["n"] += 1
        now = time.perf_counter()
        if progress is not None and now - state["last"] >= REPORT_INTERVAL_S:
            state["last"] = now
            progress(PDFProgress(state["n"], float(rw)))

    out = fit_pdf_model(request.model, request.data, request.settings, structure=request.structure,
                        callback=on_evaluation, cancel=cancel)
    s = request.settings
    summary = pdf_fit_json(out.result, out.rw, rmin=s.rmin, rmax=s.rmax, qmin=out.qmin, qmax=out.qmax,
                           size_nm=realised_size(out.model, out.result.params.values()))
    summary["data"] = {"path": str(request.data.path), "kind": "pdf"}
    summary["model"] = request.model.to_dict()
    report = pdf_markdown([summary], [out.result], title=request.title)
    return PDFFitDone(out, summary, report, time.perf_counter() - t0)
