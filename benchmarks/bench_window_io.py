"""How long the window's GUI thread stalls while a project is saved and opened (prints a table).

    QT_QPA_PLATFORM=offscreen python3 benchmarks/bench_window_io.py [N_CURVES]

A window gets a workspace with N_CURVES (default 60) calculated curves of 200,000 points
(about 190 MB of arrays, like a session with many size-database sums), then File > Save and
File > Open run as the window runs them (a job of ``ProjectFiles``). A 5 ms timer on the GUI
thread records the longest gap between its ticks: that is how long the window could not
repaint or react. For comparison, the same ``save_project`` / ``open_project`` calls timed on
their own.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from nanotwin_app.main_window import MainWindow
from nanotwin_app.project_io import project_of
from PySide6.QtCore import QElapsedTimer, QSettings, QTimer
from PySide6.QtWidgets import QApplication

from nanotwin_core.io.project import open_project, save_project


def longest_stall(app: QApplication, busy) -> tuple[float, float]:
    """(seconds until ``busy()`` is False, longest gap in s between 5 ms timer ticks meanwhile)."""
    clock = QElapsedTimer()
    clock.start()
    last = [0]
    worst = [0]

    def tick() -> None:
        now = clock.elapsed()
        worst[0] = max(worst[0], now - last[0])
        last[0] = now

    timer = QTimer()
    timer.timeout.connect(tick)
    timer.start(5)
    while busy():
        app.processEvents()
        time.sleep(0.001)
    timer.stop()
    return clock.elapsed() / 1e3, worst[0] / 1e3


def main() -> None:
    n_curves = int(sys.argv[1]) if len(sys.argv) > 1 else 60
    app = QApplication.instance() or QApplication(sys.argv[:1])
    with tempfile.TemporaryDirectory() as tmp:
        w = MainWindow(QSettings(str(Path(tmp) / "s.ini"), QSettings.Format.IniFormat), use_gl=False,
                       warm_up=False, headless=True)
        q = np.linspace(0.5, 6.0, 200_000)
        rng = np.random.default_rng(0)
        w.workspace.set_patterns({f"curve {i}": (q, rng.random(q.size)) for i in range(n_curves)})
        path = Path(tmp) / "big.h5"
        t0 = time.perf_counter()
        w.projects.save_to(path)
        returned = time.perf_counter() - t0
        save_s, save_gap = longest_stall(app, w.projects.busy)
        size_mb = path.stat().st_size / 1e6
        t0 = time.perf_counter()
        w.projects.open(path)
        open_s, open_gap = longest_stall(app, w.projects.busy)
        t0 = time.perf_counter()
        save_project(project_of(w.workspace, {}, None), Path(tmp) / "direct.h5")
        direct_save = time.perf_counter() - t0
        t0 = time.perf_counter()
        open_project(Path(tmp) / "direct.h5")
        direct_open = time.perf_counter() - t0
        w.workspace.set_dirty(False)
        w.close()
    print(f"project: {n_curves} curves x 200,000 points, {size_mb:.0f} MB on disk")
    print(f"{'':28s}{'total s':>10s}{'GUI stall s':>13s}")
    print(f"{'save (window, job)':28s}{save_s:10.2f}{max(save_gap, returned):13.3f}")
    print(f"{'open (window, job)':28s}{open_s:10.2f}{open_gap:13.3f}")
    print(f"{'save_project on GUI thread':28s}{direct_save:10.2f}{direct_save:13.3f}")
    print(f"{'open_project on GUI thread':28s}{direct_open:10.2f}{direct_open:13.3f}")


if __name__ == "__main__":
    main()
