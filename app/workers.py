"""Run core calls off the GUI thread, with progress and Cancel; results come back as signals.

A ``Task`` wraps a function ``fn(*args, progress=..., cancel=...)`` (the core's convention) or
a generator function (every ``yield`` is a progress report and a cancel point). Cancel sets a
flag that the core polls through ``cancel()``; the core then raises ``Cancelled``. Tasks never
touch widgets: the window connects to their signals (queued into the GUI thread).
"""

from __future__ import annotations

import inspect
import threading
import time
import traceback
from collections.abc import Callable

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

WARMUP_MESSAGE = "Compiling numerical kernels (first start only)…"
PROGRESS_INTERVAL_S = 0.05  # numeric progress reaches the GUI thread at most this often


class Task(QObject):
    """One background computation with progress, cancel and result signals."""

    started = Signal()
    progressed = Signal(object)  # a fraction in [0, 1] or a message str
    returned = Signal(object)
    errored = Signal(str)
    cancelled = Signal()
    finished = Signal()

    def __init__(self, fn: Callable, *args, name: str = "", pass_callbacks: bool = True, **kwargs) -> None:
        super().__init__()
        self.fn, self.args, self.kwargs = fn, args, kwargs
        self.name = name or getattr(fn, "__name__", "task")
        self.pass_callbacks = pass_callbacks
        self._cancel = threading.Event()
        self.done = threading.Event()
        self.seconds: float | None = None
        self._last_fraction = -1e9

    def is_cancelled(self) -> bool:
        """True once cancel() was called (the core's ``cancel=`` callable)."""
        return self._cancel.is_set()

    def cancel(self) -> None:
        """Ask the computation to stop at its next cancel point."""
        self._cancel.set()

    def report(self, value: object) -> None:
        """Progress callback handed to the core; fractions are sent at most every
        PROGRESS_INTERVAL_S (fewer queued cross-thread calls), messages and reports always."""
        if isinstance(value, (int, float)):
            now = time.perf_counter()
            if now - self._last_fraction < PROGRESS_INTERVAL_S:
                return
            self._last_fraction = now
        self.progressed.emit(value)

    def run(self) -> None:
        """Run in the calling thread (the pool calls this)."""
        from nanotwin_core.errors import Cancelled, NanotwinError

        self.started.emit()
        t0 = time.perf_counter()
        try:
            kwargs = dict(self.kwargs)
            if self.pass_callbacks:
                kwargs.update(progress=self.report, cancel=self.is_cancelled)
            if inspect.isgeneratorfunction(self.fn):
                result = None
                gen = self.fn(*self.args, **kwargs)
                try:
                    while True:
                        value = next(gen)
                        if self.is_cancelled():
                            gen.close()
                            raise Cancelled(f"{self.name} cancelled")
                        if value is not None:
                            self.report(value)
                except StopIteration as stop:
                    result = stop.value
            else:
                result = self.fn(*self.args, **kwargs)
            if self.is_cancelled():
                raise Cancelled(f"{self.name} cancelled")
        except Cancelled:
            self.seconds = time.perf_counter() - t0
            self.cancelled.emit()
        except Exception as exc:  # noqa: BLE001 - every failure goes back to the GUI as a message
            self.seconds = time.perf_counter() - t0
            if not isinstance(exc, NanotwinError):
                traceback.print_exc()
            self.errored.emit(f"{type(exc).__name__}: {exc}" if not str(exc) else str(exc))
        else:
            self.seconds = time.perf_counter() - t0
            self.returned.emit(result)
        finally:
            self.done.set()
            self.finished.emit()


class _Runnable(QRunnable):
    def __init__(self, task: Task) -> None:
        super().__init__()
        self.task = task
        self.setAutoDelete(True)

    def run(self) -> None:
        self.task.run()


class TaskRunner(QObject):
    """Starts tasks on a thread pool and keeps them alive until they finish."""

    busy_changed = Signal(bool)

    def __init__(self, parent: QObject | None = None, max_threads: int = 2) -> None:
        super().__init__(parent)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(max_threads)
        self.running: set[Task] = set()

    def start(self, task: Task) -> Task:
        """Start ``task`` in the pool."""
        was_busy = bool(self.running)
        self.running.add(task)
        task.finished.connect(lambda t=task: self._finished(t))
        self.pool.start(_Runnable(task))
        if not was_busy:
            self.busy_changed.emit(True)
        return task

    def _finished(self, task: Task) -> None:
        self.running.discard(task)
        if not self.running:
            self.busy_changed.emit(False)

    def cancel_all(self) -> None:
        """Ask every running task to stop."""
        for task in list(self.running):
            task.cancel()

    def shutdown(self, timeout_ms: int = 5000) -> bool:
        """Cancel everything and wait for the threads (True if they all stopped)."""
        self.cancel_all()
        return bool(self.pool.waitForDone(timeout_ms))
