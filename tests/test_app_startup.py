"""Starting the window: a file given on the command line (or sent by the system) is what it shows,
the default demo runs only when nothing is opened (#17 item 2), and the warm-up, a demo and the
teaching dock never abort the process under numba's ``workqueue`` layer (#11 defect 1)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from argparse import Namespace

import numpy as np
from app_helpers import fake_result, fake_window
from nanotwin_app import jobs, main
from nanotwin_app.main_window import MainWindow
from PySide6.QtCore import QSettings
from PySide6.QtGui import QFileOpenEvent
from PySide6.QtWidgets import QApplication

from nanotwin_core.io.project import Project, save_project

WORKQUEUE = {**os.environ, "NUMBA_THREADING_LAYER": "workqueue", "QT_QPA_PLATFORM": "offscreen"}


def pbs_project(path):
    """A project as ``nanotwin fit`` writes it: a PbS sphere model and its data."""
    q = np.linspace(1.0, 6.0, 300)
    y = 100 + 50 * np.sin(q) ** 2
    project = Project(
        model={"structure": "PbS-rocksalt", "shape": "sphere", "size_nm": 3.0, "seeds": [0]},
        data={"observed": {"x": q, "y": y, "sigma": np.sqrt(y)}},
        data_meta={"observed": {"path": "pbs.xye", "x_kind": "q", "wavelength": None,
                                "sigma_source": "file"}},
    )
    return save_project(project, path)


def test_gui_file_screenshot_shows_the_file_not_the_demo(qtbot, tmp_path, monkeypatch):
    """``nanotwin gui project.h5 --screenshot``: the model dock shows the project's structure; the
    default demo (CsPbBr3) does not run over it."""
    demos_run = []
    monkeypatch.setattr(jobs, "run_demo",
                        lambda name, progress=None, cancel=None: demos_run.append(name) or fake_result())
    windows = []

    class Recorded(MainWindow):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            windows.append(self)

    monkeypatch.setattr(main, "MainWindow", Recorded)
    project = pbs_project(tmp_path / "pbs.h5")
    shot = tmp_path / "window.png"
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    code = main.run_gui(Namespace(file=str(project), demo=None, screenshot=str(shot)), settings=settings)
    assert code == 0 and shot.stat().st_size > 10_000
    (w,) = windows
    assert demos_run == []
    dock = w.model_dock_widget
    assert dock.structure_combo.currentText() == "PbS-rocksalt"
    assert dock.shape_combo.currentText() == "sphere"
    assert w.workspace.project_path == project and w.workspace.data is not None
    w.deleteLater()


def test_file_sent_by_the_system_is_opened(qtbot, tmp_path, monkeypatch):
    """A drop on the application icon (macOS: a QFileOpenEvent) opens the file in the window."""
    window = fake_window(qtbot, tmp_path, monkeypatch)
    data = tmp_path / "dropped.xye"
    rows = "".join(f"{q:.3f} {10 + q:.3f} 0.1\n" for q in np.linspace(1, 5, 50))
    data.write_text("# axis: Q (1/A)\n" + rows)
    events = main.FileOpenEvents(window)
    app = QApplication.instance()
    app.installEventFilter(events)
    try:
        QApplication.sendEvent(app, QFileOpenEvent(str(data)))
    finally:
        app.removeEventFilter(events)
    assert events.received == [str(data)]
    assert window.workspace.data is not None and len(window.workspace.data) == 50
    window.runner.shutdown(2000)


def test_gui_demo_screenshot_under_workqueue_exits_0(tmp_path):
    """#11 defect 1, done-when: the screenshot mode warms the kernels up like a normal start while
    the demo computes; numba's workqueue layer must not abort the process."""
    shot = tmp_path / "w.png"
    run = subprocess.run([sys.executable, "-m", "nanotwin_core", "gui", "--demo", "cspbbr3-410k",
                          "--screenshot", str(shot)], env=WORKQUEUE, capture_output=True, text=True,
                         timeout=600, cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-2000:]
    assert shot.stat().st_size > 10_000


SCRIPT = """
import sys
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication
from nanotwin_app.main_window import MainWindow

app = QApplication(sys.argv[:1])
w = MainWindow(QSettings(sys.argv[1], QSettings.Format.IniFormat), use_gl=False, headless=True)
results = []
w.demo_finished.connect(results.append)
w.teaching_dock_widget.size_spin.setValue(3.0)  # a teaching update starts with the warm-up ...
w.run_demo("cspbbr3-298k")  # ... and a demo
while not (results and not w.teaching_dock_widget.busy() and not w.runner.running):
    app.processEvents()
print("demo shown" if results == [True] else "demo failed", w.teaching_dock_widget.last_result is not None)
w.workspace.set_dirty(False)
w.close()
"""


def test_warm_up_demo_and_teaching_together_under_workqueue(tmp_path):
    """#11 defect 1: the warm-up, a demo and a teaching update started together, two jobs at a
    time (the old window ran them in two pools at once: exit 134 under workqueue; now the core
    serialises parallel kernels on that layer)."""
    run = subprocess.run([sys.executable, "-c", textwrap.dedent(SCRIPT), str(tmp_path / "s.ini")],
                         env=WORKQUEUE, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.split() == ["demo", "shown", "True"]

