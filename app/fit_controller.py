"""Refinements in the window: set up, start, live reports, stop, result, curves, report export.

The refinement dock edits the model's fit settings and the parameter table and asks (by signal)
to set up, run or stop; this controller builds the fit request on the GUI thread (the workspace's
model, the data, the table), runs ``jobs.set_up_fit`` / ``jobs.run_refinement`` (the core's
``prepare_model_fit``, ``problem.run`` and ``fit_parts``) as jobs of the window's runner, shows
the live reports and stores the result in the workspace (Accept / Revert are the dock's). The size
databases a fit builds are kept in the workspace (and its project), so the next set-up or run of
the same model and data rebuilds nothing.
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

from nanotwin_core.actions import with_defaults
from nanotwin_core.errors import NanotwinError
from nanotwin_core.figures import size_distribution_figure
from nanotwin_core.io.atomic import atomic_write_text
from nanotwin_core.population.table import population_header

if TYPE_CHECKING:
    from nanotwin_app.main_window import MainWindow


class FitController(QObject):
    """Runs the refinement dock's set-ups and fits for the window."""

    curves_changed = Signal()  # the fit curves to show changed (live report, result, end)

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.workspace = window.workspace
        self.dock = window.refine_dock_widget
        self.job: CoreJob | None = None
        self.live: jobs.FitProgress | None = None
        self._rows_before: list[dict] = []
        self.dock.setup_requested.connect(self.set_up)
        self.dock.defaults_requested.connect(self.defaults_from_data)
        self.dock.run_requested.connect(self.start)
        self.dock.stop_requested.connect(self.stop)
        self.dock.export_requested.connect(self.export_report_dialog)
        self.dock.show_fit_toggled.connect(lambda _on: self.curves_changed.emit())

    def forget(self) -> None:
        """Drop the live report (new project, File > New)."""
        self.live = None

    def running(self) -> bool:
        """True from Set up or Run until the job's result and end reached the window (GUI thread)."""
        return self.job is not None

    def fit_data(self):
        """The loaded data; 2theta data without a wavelength get the model's, else the panel's."""
        data = self.workspace.data
        if data.x_kind == "tth" and not data.wavelength:
            model_wl = self.workspace.model.radiation.beam_wavelength
            return dataclasses.replace(data, wavelength=model_wl or self.window.pattern_panel.wavelength)
        return data

    def request(self) -> jobs.FitRequest | None:
        """The fit of the workspace's model against its data (None, with a message, if there is none)."""
        ws, dock, window = self.workspace, self.dock, self.window
        if ws.data is None:
            window.notify("Refinement", "Load data first (File > Import data…).")
            return None
        try:
            rows = dock.rows()
            data = self.fit_data()
            model = ws.model.validate()
        except NanotwinError as exc:
            dock.show_message(f"Cannot fit: {exc}")
            window.notify("Refinement", str(exc), "warning")
            return None
        return jobs.FitRequest(model=model, data=data, rows=rows, defaults=dict(dock.defaults),
                               structure=ws.structure_override(), databases=dict(ws.size_databases),
                               title=f"nanotwin fit of {Path(data.path or 'data').name}")

    def set_up(self) -> CoreJob | None:
        """Set the fit up in a job and show its parameters (None if it cannot start)."""
        if self.running():
            return None
        request = self.request()
        if request is None:
            return None
        job = CoreJob(jobs.set_up_fit, request, name="fit set-up")
        self._begin(job, "Setting the fit up…")
        return self.window.start_job(job, self._set_up_done)

    def defaults_from_data(self) -> CoreJob | None:
        """Choose the fitted range and the start population from the data's peaks in a job
        (``actions.data_defaults``, as ``nanotwin fit --population auto`` without ``--range``);
        the model takes them and the dock says why (None if it cannot start)."""
        if self.running():
            return None
        request = self.request()
        if request is None:
            return None
        job = CoreJob(jobs.defaults_from_data, request, name="defaults from the data")
        self._begin(job, "Reading the fitted range and the start sizes from the data…")
        return self.window.start_job(job, lambda defaults, model=request.model: self._defaults_done(model,
                                                                                                   defaults))

    def _defaults_done(self, model, defaults) -> None:
        self.workspace.set_model(with_defaults(model, defaults))
        q_lo, q_hi = defaults.q_range
        self.dock.show_message(f"From the data: Q {q_lo:.4g}-{q_hi:.4g} 1/Å"
                               + ("" if defaults.population is None
                                  else f", start {population_header(defaults.population)} nm")
                               + ". " + " ".join(defaults.reasons) + " Set up or Run to fit.")

    def _set_up_done(self, setup: jobs.FitSetup) -> None:
        self.workspace.size_databases = setup.databases
        self.dock.show_setup(setup)

    def start(self) -> CoreJob | None:
        """Refine the model against the loaded data in a job (None if it cannot start)."""
        if self.running():
            return None
        request = self.request()
        if request is None:
            return None
        self._rows_before = self.dock.snapshot()
        self.live = None
        job = CoreJob(jobs.run_refinement, request, name="refinement")
        job.aborted.connect(lambda: self.dock.show_message("Fit stopped: the table is unchanged."))
        self._begin(job, "Refining…")
        return self.window.start_job(job, self._done)

    def _begin(self, job: CoreJob, message: str) -> None:
        self.job = job
        self.dock.set_running(True)
        job.errored.connect(lambda exc: self.dock.show_message(f"Fit failed: {exc}"))
        job.finished.connect(lambda j=job: self._finished(j))
        self.window.statusBar().showMessage(message)

    def stop(self) -> None:
        """Stop the running set-up or refinement (at its next cancel point or model evaluation)."""
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
        # keep (and save with the project) only the size databases of the shown fit: they are large
        prob = outcome.problem
        used = {db.info.get("key") for db in [prob.database, *(c.database for c in prob.components)]}
        ws.size_databases = {k: v for k, v in outcome.databases.items() if k in used}
        self.live = None
        parts = outcome.parts
        record = FitRecord(
            rows=outcome.rows, summary=outcome.summary, y_calc=parts.total, background=parts.background,
            mask=parts.mask, populations=parts.populations, blank=parts.blank, report=outcome.report,
            status="pending", rows_before=self._rows_before,
            cov_names=list(res.cov_names), correlation=None if res.correlation is None else res.correlation,
        )
        self.dock.show_defaults(outcome.defaults)
        self.dock.show_fit_check.setChecked(True)
        ws.set_fit(record, keep_previous=True)
        ws.set_dirty(True)
        if res.failed:  # the numbers are not a result: say so first, with the reason
            self.window.statusBar().showMessage(f"Fit FAILED: {res.status.removeprefix('failed: ')}", 15000)
            self.dock.show_message(f"The fit FAILED after {outcome.seconds:.1f} s ({res.nfev} evaluations): "
                                   "its values are not a result (see the notes above the table); Revert, "
                                   "change the start or what is refined, and run again.")
            return
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
        """The calculated curve and its parts for the shown (or running) fit on the data's Q."""
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
        out = {"fit: calculated": (q[m], fit.y_calc[m]), "fit: background": (q[m], fit.background[m])}
        out.update({f"fit: {label}": (q[m], curve[m]) for label, curve in fit.part_curves().items()})
        return out
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
        path = Path(path)
        try:
            figure = size_distribution_figure(fit.summary.get("populations", []),
                                              path.with_name(path.stem + "_sizes.png"))
            text = fit.report + (f"\n![Size distributions, number- and volume-weighted]({figure.name})\n"
                                 if figure is not None else "")
            atomic_write_text(path, text)
        except (OSError, NanotwinError) as exc:
            window.notify("Export report", str(exc), "warning")
            return
        window.remember_dir(path)
        window.statusBar().showMessage(f"Wrote {path.name}", 5000)
