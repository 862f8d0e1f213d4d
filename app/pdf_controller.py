"""G(r) files and their refinements in the window: open a ``.gr``, run the PDF dock's fit as a job
(``pdf_jobs.run_pdf_fit``: the core's ``actions.fit_pdf_model``), show live Rw and the result,
export the report. The G(r) and its last fit live in the workspace (``pdf_data``, ``pdf_fit``);
projects store them (``pdf_project``)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from nanotwin_app import pdf_jobs
from nanotwin_app.pdf_project import PDFFitRecord
from nanotwin_app.tasks import CoreJob
from PySide6.QtCore import QObject

from nanotwin_core.errors import NanotwinError
from nanotwin_core.io.atomic import atomic_write_text
from nanotwin_core.io.data import read_gr

if TYPE_CHECKING:
    from nanotwin_app.main_window import MainWindow


class PDFController(QObject):
    """Opens G(r) files and runs the PDF dock's fits for the window."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.workspace = window.workspace
        self.dock = window.pdf_dock_widget
        self.job: CoreJob | None = None
        self.dock.run_requested.connect(self.start)
        self.dock.stop_requested.connect(self.stop)
        self.dock.export_requested.connect(self.export_report_dialog)
        self.workspace.pdf_changed.connect(self._pdf_changed)

    def open_gr(self, path: str | Path) -> bool:
        """Read a G(r) file and show it in the PDF dock (False, with a message, if unreadable)."""
        try:
            data = read_gr(path)
        except (NanotwinError, OSError) as exc:
            self.window.notify("Import G(r)", str(exc), "warning")
            return False
        self.workspace.set_pdf(data, None)
        self.window.show_pdf_dock()
        self.window.statusBar().showMessage(f"Loaded {Path(path).name}: {len(data.r)} points of G(r)", 5000)
        return True

    def running(self) -> bool:
        return self.job is not None

    def start(self) -> CoreJob | None:
        """Refine the workspace's model against the G(r) in a job (None if it cannot start)."""
        ws, dock = self.workspace, self.dock
        if self.running() or ws.pdf_data is None:
            return None
        try:
            request = pdf_jobs.PDFFitRequest(ws.model.validate(), ws.pdf_data, dock.settings(), dock.ranges(),
                                             ws.structure_override(),
                                             f"nanotwin PDF fit of {Path(ws.pdf_data.path or 'G(r)').name}")
        except NanotwinError as exc:
            dock.status_label.setText(f"Cannot fit: {exc}")
            return None
        job = CoreJob(pdf_jobs.run_pdf_fit, request, name="PDF fit")
        self.job = job
        job.errored.connect(lambda exc: self._ended(f"Fit failed: {exc}"))
        job.aborted.connect(lambda: self._ended("Fit stopped."))
        job.finished.connect(lambda j=job: self._finished(j))
        dock.status_label.setText("Fitting…")
        self._update()
        return self.window.start_job(job, self._done)

    def stop(self) -> None:
        if self.job is not None:
            self.window.runner.cancel(self.job)

    def show_progress(self, report: pdf_jobs.PDFProgress) -> None:
        self.dock.status_label.setText(f"evaluation {report.evaluations}: Rw = {report.rw:.4f}")
        if report.r is not None and report.g_calc is not None:
            self.dock.show_running(report.r, report.g_calc)

    def _ended(self, message: str) -> None:
        """A fit that stopped or failed: the curves shown before it (no live curve left), the reason."""
        self._pdf_changed()
        self.dock.status_label.setText(message)

    def _done(self, done: pdf_jobs.PDFFitDone) -> None:
        record = PDFFitRecord(done.curves, {**done.summary, "seconds": done.seconds}, done.report)
        self.workspace.set_pdf(self.workspace.pdf_data, record)
        self.workspace.set_dirty(True)

    def _finished(self, job: CoreJob) -> None:
        if job is self.job:
            self.job = None
            self._update()

    def _pdf_changed(self) -> None:
        ws = self.workspace
        if ws.pdf_fit is not None:
            self.dock.show_result(ws.pdf_data, ws.pdf_fit)
        else:
            self.dock.show_data(ws.pdf_data)
        self._update()

    def _update(self) -> None:
        ws = self.workspace
        self.dock.set_running(self.running(), has_data=ws.pdf_data is not None,
                              has_fit=ws.pdf_fit is not None)

    def export_report_dialog(self) -> None:
        """Write the last G(r) fit as a Markdown report."""
        done, window = self.workspace.pdf_fit, self.window
        if done is None:
            return
        path = window.ask_save_path("Export PDF report", "Markdown (*.md)", "pdf_fit_report.md")
        if not path:
            return
        try:
            atomic_write_text(path, done.report)
        except OSError as exc:
            window.notify("Export report", str(exc), "warning")
            return
        window.remember_dir(path)
        window.statusBar().showMessage(f"Wrote {Path(path).name}", 5000)
