"""Garbage collection happens in the GUI thread only while the window runs (app/gui_gc.py): a
worker thread that allocates past the collector's thresholds triggers no collection, and the
GUI thread's timer collects the cycles it left."""

from __future__ import annotations

import gc
import threading

from nanotwin_app.gui_gc import collect_in_gui_thread


class Node:
    def __init__(self) -> None:
        self.me = self  # a reference cycle: only the cyclic collector frees it


def test_no_collection_in_a_worker_thread(qtbot):
    seen: list[str] = []

    def record(phase, _info):
        if phase == "start":
            seen.append(threading.current_thread().name)

    def churn():
        for _ in range(50_000):
            Node()

    gc.callbacks.append(record)
    try:
        # the suite's autouse fixture already holds the collector off for window tests: nest one
        with collect_in_gui_thread(interval_ms=10):
            worker = threading.Thread(target=churn, name="worker")
            worker.start()
            worker.join()
            assert seen == []  # 50,000 cycles, no automatic collection in the worker
            qtbot.waitUntil(lambda: "MainThread" in seen, timeout=5000)
        assert set(seen) == {"MainThread"}
    finally:
        gc.callbacks.remove(record)


def test_the_collector_comes_back(qtbot):
    gc.enable()
    with collect_in_gui_thread():
        assert not gc.isenabled()
    assert gc.isenabled()
