"""Where independent pieces of work run: here one after another, or as tasks on a Dask cluster.

A *mapper* runs ``fn(item, cancel=..., **shared)`` for every item and returns the results in the
items' order. ``SerialMapper`` loops in this process (the default: nanotwin as without a
cluster); ``DaskMapper`` submits one ``dask.distributed`` task per item:

- ``shared`` inputs (a structure, size databases, the model) are scattered to every worker once,
  not sent with each task;
- progress is reported as tasks finish (``progress(fraction, message)``); ``cancel()`` is polled
  every ``POLL_S``: on True the futures are cancelled, the running tasks see their ``cancel``
  callable turn True (a ``distributed.Event``) and stop, and ``Cancelled`` is raised once no
  worker runs one of them any more;
- a worker lost mid-run (killed, out of memory) costs nothing but time: the scheduler runs its
  tasks again elsewhere, and since every task is a pure function of its inputs the results are
  the same numbers (those of a serial run to ~1e-13 relative: numba's thread count changes the
  last bits of the lattice route's pair histograms, and a worker may have fewer threads).

``open_mapper(workers=N)`` starts a ``LocalCluster`` of N worker processes (one task at a time
each, numba threads per task = cores / N); ``open_mapper(scheduler="tcp://HOST:PORT")`` connects to a
running scheduler; neither gives the serial mapper. Dask is imported only when a cluster is used.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, Protocol

import numba

from nanotwin_core.errors import Cancelled, NanotwinError

#: numba threads of each task on a worker (set by ``open_mapper`` for its local workers; a
#: worker's NUMBA_NUM_THREADS cannot change once numba is loaded, and a local cluster's workers
#: are forked from a process that loaded it)
WORKER_THREADS_ENV = "NANOTWIN_WORKER_THREADS"
POLL_S = 0.05  # how often the client looks at finished tasks and at the caller's cancel()
TASK_CANCEL_POLL_S = 0.2  # how often a running task asks the scheduler whether it was cancelled
COOPERATIVE_STOP_S = 0.8  # cancelled tasks still running after this: their workers are restarted
CANCEL_GRACE_S = 10.0  # longest wait for cancelled tasks to leave the workers
#: modules a local cluster's fork server imports once, before it forks the workers
FORKSERVER_PRELOAD = ["distributed", "numpy", "scipy", "numba", "nanotwin_core.actions",
                      "nanotwin_core.series"]

Progress = Callable[[float, str], None]


class Mapper(Protocol):
    """Runs independent tasks (see the module docstring)."""

    distributed: bool
    n_workers: int

    def map(self, fn: Callable[..., Any], items: Sequence[Any], *, shared: Mapping[str, Any] | None = None,
            progress: Progress | None = None, cancel: Callable[[], bool] | None = None, label: str = "task",
            priorities: Sequence[float] | None = None) -> list[Any]:
        ...


class SerialMapper:
    """Every task in this process, in the items' order (what nanotwin does without a cluster)."""

    distributed = False
    n_workers = 1

    def map(self, fn: Callable[..., Any], items: Sequence[Any], *, shared: Mapping[str, Any] | None = None,
            progress: Progress | None = None, cancel: Callable[[], bool] | None = None, label: str = "task",
            priorities: Sequence[float] | None = None) -> list[Any]:
        """``[fn(item, cancel=cancel, **shared) for item in items]`` with progress and cancel
        between items (``priorities`` only order a cluster's work)."""
        out = []
        for i, item in enumerate(items):
            if cancel is not None and cancel():
                raise Cancelled(f"{label}s cancelled")
            out.append(fn(item, cancel=cancel, **dict(shared or {})))
            if progress is not None:
                progress((i + 1) / len(items), f"{label} {i + 1}/{len(items)}")
        return out


class TaskCancel:
    """A task's ``cancel()`` on a worker: True once the client set the run's ``distributed.Event``
    (asked at most every ``TASK_CANCEL_POLL_S``, so polling it in a loop costs nothing)."""

    def __init__(self, event_name: str) -> None:
        self.event_name = event_name
        self._checked = 0.0
        self._set = False

    def __call__(self) -> bool:
        now = time.monotonic()
        if not self._set and now - self._checked >= TASK_CANCEL_POLL_S:
            from distributed import Event

            self._checked = now
            self._set = Event(self.event_name).is_set()
        return self._set


def run_task(fn: Callable[..., Any], item: Any, event_name: str, shared: Mapping[str, Any]) -> Any:
    """What a worker runs: ``fn(item, cancel=TaskCancel(event_name), **shared)``, with numba's
    threads for this task set from ``NANOTWIN_WORKER_THREADS`` where the worker has it."""
    threads = os.environ.get(WORKER_THREADS_ENV)
    if threads:
        numba.set_num_threads(max(1, min(int(threads), numba.config.NUMBA_NUM_THREADS)))
    return fn(item, cancel=TaskCancel(event_name), **shared)


class DaskMapper:
    """Tasks on a ``distributed.Client``'s cluster (see the module docstring)."""

    distributed = True

    def __init__(self, client) -> None:
        self._client = client  # a Client, or a Future of one (a local cluster still starting)

    @property
    def client(self):
        """The ``distributed.Client`` (waits for a local cluster that is still starting)."""
        if isinstance(self._client, Future):
            self._client = self._client.result()
        return self._client

    @property
    def n_workers(self) -> int:
        return max(1, len(self.client.scheduler_info(n_workers=-1)["workers"]))

    @property
    def address(self) -> str:
        return str(self.client.scheduler.address)

    def map(self, fn: Callable[..., Any], items: Sequence[Any], *, shared: Mapping[str, Any] | None = None,
            progress: Progress | None = None, cancel: Callable[[], bool] | None = None, label: str = "task",
            priorities: Sequence[float] | None = None) -> list[Any]:
        """One task per item; results in the items' order. A task's error is raised here (the
        other tasks are cancelled first); ``priorities``: larger runs earlier (e.g. the large
        crystals of a database build first, so no worker is left with one at the end)."""
        from distributed import Event

        items = list(items)
        if not items:
            return []
        run = uuid.uuid4().hex[:12]
        event_name = f"nanotwin-cancel-{run}"
        Event(event_name, client=self.client)  # created before any task asks for it
        # one scattered object holds every shared input: each worker receives it once
        [scattered] = self.client.scatter([dict(shared or {})], broadcast=True, hash=False)
        prio = list(priorities) if priorities is not None else [0.0] * len(items)
        # submitted in priority order with that priority: the scheduler starts them in that order
        order = sorted(range(len(items)), key=lambda i: -prio[i])
        futures = [self.client.submit(run_task, fn, items[i], event_name, scattered,
                                      key=f"nanotwin-{label}-{i}-{run}", priority=len(items) - k, pure=False)
                   for k, i in enumerate(order)]
        index = {f.key: i for f, i in zip(futures, order, strict=True)}
        results: list[Any] = [None] * len(items)
        pending = set(futures)
        try:
            while pending:
                for f in [f for f in pending if f.done()]:
                    pending.discard(f)
                    results[index[f.key]] = f.result()  # a task's error is raised here
                    if progress is not None:
                        done = len(items) - len(pending)
                        progress(done / len(items), f"{label} {done}/{len(items)}")
                if pending and cancel is not None and cancel():
                    raise Cancelled(f"{label}s cancelled")
                if pending:
                    time.sleep(POLL_S)
        except BaseException:
            self._stop(event_name, futures)
            raise
        finally:
            scattered.release()
        return results

    def _stop(self, event_name: str, futures: list) -> None:
        """Cancel the run's futures; its running tasks stop at their next cancel point. A task
        still running after ``COOPERATIVE_STOP_S`` is inside a step that cannot stop (one long
        numba kernel): its worker process is restarted by its nanny. Returns once no worker
        executes one of the run's tasks (at most ``CANCEL_GRACE_S``)."""
        from distributed import Event

        keys = {f.key for f in futures}
        Event(event_name, client=self.client).set()
        self.client.cancel(futures, force=True)
        busy = self._busy_with(keys)
        soft = time.monotonic() + COOPERATIVE_STOP_S
        while busy and time.monotonic() < soft:
            time.sleep(POLL_S)
            busy = self._busy_with(keys)
        if busy:
            threading.Thread(target=self.client.restart_workers, args=(busy,),
                             kwargs={"raise_for_error": False}, name="nanotwin-restart", daemon=True).start()
        hard = time.monotonic() + CANCEL_GRACE_S
        while busy and time.monotonic() < hard:
            time.sleep(POLL_S)
            busy = self._busy_with(keys)

    def _busy_with(self, keys: set) -> list[str]:
        """Addresses of the workers executing one of ``keys`` (a worker going away is not busy)."""
        running = self.client.run(_running_keys, on_error="ignore")
        return [addr for addr, now in running.items() if keys & set(now)]

    def busy_workers(self) -> list[str]:
        """Addresses of the workers executing any task now."""
        return [addr for addr, keys in self.client.run(_running_keys, on_error="ignore").items() if keys]


def _running_keys(dask_worker) -> list:
    """The keys a worker's threads are executing (``client.run`` passes the worker)."""
    return list(dask_worker.active_threads.values())


def worker_threads(n_workers: int) -> int:
    """numba threads per local worker: the cores shared out, at least one."""
    return max(1, (os.cpu_count() or 1) // max(1, n_workers))


def local_cluster(workers: int, threads: int | None = None):
    """A LocalCluster of ``workers`` processes on this machine only (one task at a time each, with
    ``threads`` numba threads; None: the cores shared out): no dashboard, the scheduler's small
    HTTP server on any free port (two runs at once must not fight over Dask's 8787). Where the
    platform has it, workers are forked from a server process that imported nanotwin once
    (seconds less per worker than a fresh interpreter each)."""
    import dask
    from distributed import LocalCluster
    from distributed.utils import get_mp_context

    method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
    with dask.config.set({"distributed.worker.multiprocessing-method": method}):
        if method == "forkserver":
            get_mp_context().set_forkserver_preload(FORKSERVER_PRELOAD)
        return LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                            dashboard_address=None, scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
                            silence_logs=logging.ERROR,
                            env={WORKER_THREADS_ENV: str(threads or worker_threads(workers))})


@contextmanager
def open_mapper(workers: int | None = None, scheduler: str | None = None) -> Iterator[Mapper]:
    """The serial mapper, a ``LocalCluster`` of ``workers`` processes, or the cluster of the
    scheduler at ``scheduler`` ("tcp://HOST:PORT"); closed (the local cluster stopped) on exit."""
    if workers is not None and scheduler:
        raise NanotwinError("--workers starts a local cluster, --scheduler uses a running one: give one")
    if workers is None and not scheduler:
        yield SerialMapper()
        return
    if workers is not None and workers < 1:
        raise NanotwinError(f"--workers must be >= 1, got {workers}")
    try:
        from distributed import Client
    except ImportError as exc:  # dask[distributed] is a dependency; a broken install says so
        raise NanotwinError(f"--workers/--scheduler need dask.distributed ({exc})") from None

    if scheduler:
        try:
            client = Client(scheduler, timeout="10s")
        except (OSError, TimeoutError) as exc:
            raise NanotwinError(f"--scheduler {scheduler}: cannot connect ({exc})") from None
        try:
            yield DaskMapper(client)
        finally:
            client.close()
        return
    # the local cluster starts in the background while the caller reads its inputs and imports
    # the engine; its first task waits for it
    pool = ThreadPoolExecutor(1, thread_name_prefix="nanotwin-cluster")
    starting = pool.submit(lambda: Client(local_cluster(workers)))
    pool.shutdown(wait=False)
    try:
        yield DaskMapper(starting)
    finally:
        if starting.exception() is None:  # (a failed start was raised to the caller already)
            client = starting.result()
            cluster = client.cluster
            client.close()
            cluster.close()
