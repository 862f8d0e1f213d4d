"""Python's cyclic garbage collection in the GUI thread only, while the window runs.

The automatic collector runs in whichever thread happens to allocate past its threshold: in a
worker thread it can destroy Qt objects that belong to the GUI thread (a window or dialog left in
a reference cycle), and Qt then crashes (a segmentation fault in pure Python code of the worker).
So the automatic collector is switched off and a timer in the GUI thread collects instead, with
the collector's own generation thresholds (the approach of pyqtgraph's ``GarbageCollector``; this
one gives the automatic collector back when the window closes).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

from PySide6.QtCore import QTimer

INTERVAL_MS = 500  # how often the GUI thread looks at the collector's counts


def collect_due() -> int | None:
    """Collect the oldest generation whose count passed its threshold (None: none did); returns
    the number of unreachable objects found."""
    counts, thresholds = gc.get_count(), gc.get_threshold()
    due = [g for g in range(3) if counts[g] > thresholds[g] and (g == 0 or counts[g - 1] > thresholds[g - 1])]
    return gc.collect(due[-1]) if due else None


@contextmanager
def collect_in_gui_thread(interval_ms: int = INTERVAL_MS) -> Iterator[QTimer]:
    """Within the block, garbage is collected only by a GUI-thread timer (start it from the GUI
    thread with a running or soon running event loop); afterwards a full collection, and the
    automatic collector as it was."""
    was_enabled = gc.isenabled()
    timer = QTimer()
    timer.setInterval(int(interval_ms))
    timer.timeout.connect(collect_due)
    gc.disable()
    timer.start()
    try:
        yield timer
    finally:
        timer.stop()
        gc.collect()
        if was_enabled:
            gc.enable()
