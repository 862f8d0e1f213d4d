"""Refinements in the window: start, live reports, stop, result, curves, report export.

The refinement dock edits the table and options and asks (by signal) to run or stop; this
controller builds the fit request on the GUI thread, runs ``jobs.run_refinement`` as a job of the
window's runner, shows its live reports and stores the result in the workspace (Accept / Revert
are the dock's). The prepared problem (its size database) is kept for the next run on the same
model and data.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from nanotwin_app import jobs
from nanotwin_app.tasks import CoreJob
from nanotwin_app.workspace import FitRecord
from PySide6.QtCore import QObject, Signal

from nanotwin_core.errors import NanotwinError

if TYPE_CHECKING:
    from nanotwin_app.main_window import MainWindow


class FitController(QObject):
    """Runs the refinement dock's fits for the window."""

    curves_changed = Signal()  # the fit curves to show changed (live report, result, end)

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.workspace = window.workspace
        self.dock = window.refine_dock_widget
        self.cache: tuple[str, object] | None = None  # (fit_key, prepared problem) for reuse
        self.job: CoreJob | None = None
        self.live: jobs.FitProgress | None = None
        self._rows_before: list[dict] = []
        self.dock.run_requested.connect(self.start)
        self.dock.stop_requested.connect(self.stop)
        self.dock.export_requested.connect(self.export_report_dialog)
        self.dock.show_fit_toggled.connect(lambda _on: self.curves_changed.emit())
        self.workspace.data_changed.connect(self.forget)

    def forget(self) -> None:
        """Drop the prepared problem and the live report (new data, new project, File > New)."""
        self.cache = None
        self.live = None

    def running(self) -> bool:
        """True from Run until the job's result and end reached the window (GUI thread)."""
        return self.job is not None

    def fit_data(self):
        """The loaded data, with the panel's wavelength where 2theta data have none."""
        data = self.workspace.data
        if data.x_kind == "tth" and not data.wavelength:
            return dataclasses.replace(data, wavelength=self.window.pattern_panel.wavelength)
        return data

    def start(self) -> CoreJob | None:
        """Refine the dock's model against the loaded data in a job (None if it cannot start)."""
        ws, dock, window = self.workspace, self.dock, self.window
        if ws.data is None:
            window.notify("Refinement", "Load data first (File > Import data…).")
            return None
        if self.running():
            return None
        try:
            rows = dock.rows()
            data = self.fit_data()
            settings = dock.fit_settings()
            model = dock.fit_model(wavelength=data.wavelength if data.x_kind == "tth" else None, rows=rows)
        except NanotwinError as exc:
            dock.show_message(f"Cannot fit: {exc}")
            window.notify("Refinement", str(exc), "warning")
            return None
        structure = dock.structure()
        key = jobs.fit_key(model, settings, ws.data, structure)
        problem = self.cache[1] if self.cache is not None and self.cache[0] == key else None
        request = jobs.FitRequest(model=model, data=data, settings=settings, rows=rows, structure=structure,
                                  problem=problem, key=key, databases=ws.size_databases,
                                  title=f"nanotwin fit of {Path(data.path or 'data').name}")
        self._rows_before = dock.snapshot()
        self.live = None
        job = CoreJob(jobs.run_refinement, request, name="refinement")
        self.job = job
        dock.set_running(True)
        job.aborted.connect(lambda: dock.show_message("Fit stopped: the table is unchanged."))
        job.errored.connect(lambda exc: dock.show_message(f"Fit failed: {exc}"))
        job.finished.connect(lambda j=job: self._finished(j))
        window.statusBar().showMessage("Refining…" if problem is not None else "Building the size database…")
        return window.start_job(job, self._done)

    def stop(self) -> None:
        """Stop the running refinement (it stops at its next model evaluation)."""
        if self.job is not None:
            self.window.runner.cancel(self.job)
            self.window.statusBar().showMessage("Stopping the fit…", 3000)

    def show_progress(self, report: jobs.FitProgress) -> None:
        """A live report of the running fit: Rwp, GoF and the current curve."""
        self.live = report
        self.dock.show_progress(report)
        self.curves_changed.emit()

    def _done(self, outcome: jobs.FitOutcome) -> None:
        res = outcome.result
        ws = self.workspace
        self.cache = (outcome.key, outcome.problem)
        # keep (and save with the project) only the size databases of the shown fit: they are large
        prob = outcome.problem
        used = {db.info.get("key") for db in [prob.database, *(c.database for c in prob.components)]}
        ws.size_databases = {k: v for k, v in ws.size_databases.items() if k in used}
        self.live = None
        record = FitRecord(
            rows=outcome.rows, summary=outcome.summary, y_calc=outcome.y_calc, background=outcome.background,
            mask=outcome.mask, report=outcome.report, status="pending", rows_before=self._rows_before,
            cov_names=list(res.cov_names), correlation=None if res.correlation is None else res.correlation,
        )
        self.dock.show_fit_check.setChecked(True)
        ws.set_fit(record, keep_previous=True)
        ws.set_dirty(True)
        self.window.statusBar().showMessage(
            f"Fit done: Rwp = {100 * res.rwp:.3f} %, GoF = {res.gof:.3f}", 8000)
        notes = "; ".join(res.messages)
        self.dock.show_message(
            f"Fit done in {outcome.seconds:.1f} s ({res.nfev} evaluations): Accept or Revert."
            + (f" Notes: {notes}" if notes else ""))

    def _finished(self, job: CoreJob) -> None:
        if job is self.job:
            self.job = None
            self.live = None
            self.dock.set_running(False)
            self.curves_changed.emit()

    def curves(self, q: np.ndarray) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """The calculated and background curves of the shown (or running) fit on the data's Q."""
        ws = self.workspace
        if ws.data is None or not self.dock.show_fit_check.isChecked():
            return {}
        if self.live is not None:
            m = self.live.mask
            if len(self.live.y_calc) == len(q):
                return {"fit: calculated (running)": (q[m], self.live.y_calc[m])}
        fit = ws.fit
        if fit is None or len(fit.y_calc) != len(q):
            return {}
        m = fit.mask
        return {"fit: calculated": (q[m], fit.y_calc[m]), "fit: background": (q[m], fit.background[m])}

    def caption(self) -> str:
        """One line on the shown fit's figures of merit."""
        fit = self.workspace.fit
        if self.live is not None:
            return f"fit running: Rwp = {100 * self.live.rwp:.3f} %, GoF = {self.live.gof:.3f}"
        if fit is None:
            return ""
        return f"fit ({fit.status}): Rwp = {100 * fit.rwp:.3f} %, GoF = {fit.gof:.3f}"

    def export_report_dialog(self) -> None:
        """Write the shown fit as a Markdown report."""
        fit, window = self.workspace.fit, self.window
        if fit is None:
            window.notify("Export report", "There is no fit yet.")
            return
        path = window.ask_save_path("Export report", "Markdown (*.md)", "fit_report.md")
        if not path:
            return
        try:
            Path(path).write_text(fit.report, encoding="utf-8")
        except OSError as exc:
            window.notify("Export report", str(exc), "warning")
            return
        window.remember_dir(path)
        window.statusBar().showMessage(f"Wrote {Path(path).name}", 5000)
