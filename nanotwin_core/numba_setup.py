"""numba settings of the engine: the kernel cache folder, thread counts, safe parallel calls.

Every module that defines numba kernels imports this one first:

- Cache: unless the user chose one (``NUMBA_CACHE_DIR``), numba's on-disk cache goes to the user
  cache folder (platformdirs), set in ``numba.config`` (never in ``os.environ``: importing the
  package must not change the user's environment). An installed or bundled copy's package folder
  may be read-only; numba would then compile every kernel again at each start.
- Threads: numba's parallel kernels run on a threading layer. ``tbb`` and ``omp`` accept calls
  from several threads at once; ``workqueue`` (always available, chosen when neither of the
  others is installed, or by ``NUMBA_THREADING_LAYER=workqueue``) aborts the process when two
  threads enter parallel code together. ``call_parallel`` serialises parallel kernel calls with
  a lock on that layer only, so the window's workers can compute at the same time everywhere.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from importlib.util import find_spec
from typing import TypeVar

import numba
import platformdirs

from nanotwin_core.errors import NanotwinError

T = TypeVar("T")

#: threading layers that accept parallel calls from several Python threads at once
THREADSAFE_LAYERS = ("tbb", "omp")
# Parallel kernels that add up many terms (pair histograms, size-weighted sums) accumulate into
# this many partial sums, term e into slot e % REDUCTION_SLOTS, whatever the thread count: the
# sums (and so every pattern and fit) are the same to the last bit with 1 thread, 2 threads or a
# cluster's one-thread workers.
REDUCTION_SLOTS = 8

_PARALLEL_LOCK = threading.RLock()


def _set_cache_dir() -> None:
    if os.environ.get("NUMBA_CACHE_DIR") or numba.config.CACHE_DIR:
        return
    numba.config.CACHE_DIR = os.path.join(platformdirs.user_cache_dir("nanotwin"), "numba")


_set_cache_dir()


def _layer_loads(name: str) -> bool:
    """True if numba's ``name`` threading layer can be loaded here (tbb needs libtbb)."""
    if find_spec(f"numba.np.ufunc.{name}pool") is None:
        return False
    try:
        __import__(f"numba.np.ufunc.{name}pool")
    except ImportError:  # the extension exists but its library (libtbb, libgomp) is missing
        return False
    return True


def threading_layer() -> str:
    """The layer numba runs (or will run) parallel kernels on: "tbb", "omp" or "workqueue"."""
    try:
        return str(numba.threading_layer())
    except ValueError:  # no parallel kernel has run yet: predict numba's choice
        pass
    requested = str(numba.config.THREADING_LAYER).lower()
    candidates = {
        "safe": ["tbb"],
        "threadsafe": ["tbb", "omp"],
        "forksafe": ["tbb", "workqueue"] if sys.platform.startswith("linux") else ["tbb", "omp", "workqueue"],
    }.get(requested, [requested] if requested in ("tbb", "omp", "workqueue")
          else list(numba.config.THREADING_LAYER_PRIORITY))
    for name in candidates:
        if name == "workqueue" or _layer_loads(name):
            return name
    return "workqueue"  # numba will refuse to start parallel code; the lock costs nothing then


def parallel_guard() -> AbstractContextManager:
    """A lock on a layer that refuses concurrent parallel calls, else a no-op context."""
    return nullcontext() if threading_layer() in THREADSAFE_LAYERS else _PARALLEL_LOCK


def call_parallel(kernel: Callable[..., T], *args) -> T:
    """``kernel(*args)`` for a ``parallel=True`` kernel, safe from any Python thread."""
    with parallel_guard():
        return kernel(*args)


def thread_count(n_threads: int | None) -> int:
    """Threads for a kernel call: ``n_threads`` (>= 1, at most numba's limit) or numba's current
    setting when None."""
    limit = int(numba.config.NUMBA_NUM_THREADS)
    if n_threads is None:
        return max(1, min(limit, numba.get_num_threads()))
    if int(n_threads) < 1:
        raise NanotwinError(f"n_threads must be >= 1, got {n_threads}")
    return min(int(n_threads), limit)
