"""Run core calls off the GUI thread with superqt's generator workers: progress, Cancel, results.

``CoreJob`` is a superqt ``GeneratorWorker`` around a call in the core's convention,
``fn(*args, progress=..., cancel=...)``, or around a generator function written the same way
(each of its yields is a progress report and a cancel point). Progress reaches the GUI thread
through the worker's ``yielded`` signal (fractions at most every ``PROGRESS_INTERVAL_S``);
``JobRunner.cancel`` calls ``worker.quit()``, which the core sees through ``cancel()`` and answers
by raising ``Cancelled``: the worker then emits ``aborted`` instead of ``returned``. Errors
arrive as exception objects on ``errored``. Jobs never touch widgets.

``JobRunner`` starts the window's jobs on its own thread pool of ``MAX_JOBS`` threads (two: the
warm-up beside a demo, a teaching update beside a fit). The core makes numba's parallel kernels
safe to call from several threads on every threading layer (``nanotwin_core.numba_setup``:
``workqueue``, which aborts the process on concurrent use, gets a lock; ``tbb``/``omp`` run
freely), so the window adds no lock of its own.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable

from PySide6.QtCore import QObject, QThreadPool, Signal
from superqt.utils import GeneratorWorker

from nanotwin_core.errors import Cancelled

WARMUP_MESSAGE = "Compiling numerical kernels (first start only)…"
PROGRESS_INTERVAL_S = 0.05  # numeric progress reaches the GUI thread at most this often
MAX_JOBS = 2  # jobs running at once (see the module docstring)


class CoreJob(GeneratorWorker):
    """One background computation: ``fn(*args, progress=, cancel=, **kwargs)`` in a worker.

    Signals (superqt): ``started``, ``yielded`` (a fraction in [0, 1], a message str or a report
    object), ``returned``, ``errored`` (the exception), ``aborted`` (cancelled), ``finished``.
    """

    def __init__(self, fn: Callable, *args, name: str = "", **kwargs) -> None:
        self.name = name or getattr(fn, "__name__", "job")
        self._last_sent = -1e9
        super().__init__(self._steps, fn, args, kwargs)

    def cancelled(self) -> bool:
        """True once the job was asked to stop (the core's ``cancel=`` callable)."""
        return self.abort_requested

    def report(self, value: object, message: str | None = None) -> None:
        """Progress callback handed to the core (``progress(fraction)``, ``progress(fraction,
        message)`` or ``progress(message)``): fractions and messages are sent at most every
        PROGRESS_INTERVAL_S (fewer queued cross-thread calls), report objects always."""
        if not isinstance(value, (int, float, str)):
            self.yielded.emit(value)
            return
        now = time.perf_counter()
        if now - self._last_sent < PROGRESS_INTERVAL_S:
            return
        self._last_sent = now
        self.yielded.emit(value)
        if message:
            self.yielded.emit(str(message))

    def _steps(self, fn: Callable, args: tuple, kwargs: dict):
        yield None  # a cancel point before any work
        callbacks = {"progress": self.report, "cancel": self.cancelled}
        try:
            if inspect.isgeneratorfunction(fn):
                result = yield from fn(*args, **callbacks, **kwargs)
            else:
                result = fn(*args, **callbacks, **kwargs)
        except Cancelled:
            if not self.abort_requested:
                raise
            result = None
        if self.abort_requested:
            yield None  # the worker sees its abort request here and emits ``aborted``
        return result


class JobRunner(QObject):
    """Starts jobs on a thread pool, keeps them until they finish, cancels them."""

    busy_changed = Signal(bool)

    def __init__(self, parent: QObject | None = None, max_threads: int | None = None) -> None:
        super().__init__(parent)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(max_threads or MAX_JOBS)
        self.running: set[CoreJob] = set()

    def start(self, job: CoreJob) -> CoreJob:
        """Queue ``job`` on the pool (it starts when a thread is free)."""
        was_busy = bool(self.running)
        self.running.add(job)
        job.finished.connect(lambda j=job: self._finished(j))
        self.pool.start(job)
        if not was_busy:
            self.busy_changed.emit(True)
        return job

    def is_running(self, job: CoreJob | None) -> bool:
        """True from ``start`` until the job's ``finished`` reached the GUI thread."""
        return job is not None and job in self.running

    def cancel(self, job: CoreJob | None) -> None:
        """Ask ``job`` to stop at its next cancel point (a job still waiting for a thread ends as
        soon as it gets one, without running)."""
        if job is not None and job in self.running:
            job.quit()

    def cancel_all(self) -> None:
        """Ask every job to stop."""
        for job in list(self.running):
            self.cancel(job)

    def shutdown(self, timeout_ms: int = 5000) -> bool:
        """Cancel everything and wait for the threads (True if they all stopped)."""
        self.cancel_all()
        return bool(self.pool.waitForDone(timeout_ms))

    def _finished(self, job: CoreJob) -> None:
        if job in self.running:
            self.running.discard(job)
            if not self.running:
                self.busy_changed.emit(False)

