"""Shared helpers of the window tests (not a test module)."""

from __future__ import annotations

import gc


def dispose(w, qtbot) -> None:
    """Stop the workers and delete the window now (not whenever the garbage collector runs,
    which could be in the middle of a later test); windows are not given to qtbot.addWidget,
    whose own teardown would touch the deleted window."""
    w.runner.shutdown(3000)
    w.workspace.set_dirty(False)
    w.close()
    w.deleteLater()
    qtbot.wait(20)
    gc.collect()


def fake_result(q=None):
    """A quick ComputeResult (two curves, a two-domain crystal) standing in for real computations."""
    import numpy as np
    from nanotwin_app import jobs
    from test_app_adapters import two_domain_crystal

    q = np.linspace(0.5, 6.0, 800) if q is None else q
    return jobs.ComputeResult(
        crystal=two_domain_crystal(3),
        curves={"untwinned": (q, 1 + np.sin(3 * q) ** 2), "twinned": (q, 1 + np.cos(3 * q) ** 2)},
        caption="a caption", title="fake", n_pairs=1234, seconds=0.01, a_p=5.9,
    )


def real_window(tmp_path):
    """A headless window (no GL, no warm-up) computing for real; the caller disposes of it."""
    from nanotwin_app.main_window import MainWindow
    from PySide6.QtCore import QSettings

    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    return MainWindow(settings, use_gl=False, warm_up=False, headless=True)


def fake_window(qtbot, tmp_path, monkeypatch):
    """A headless window (no GL) whose demos and builds return ``fake_result()`` at once."""
    from nanotwin_app import jobs
    from nanotwin_app.main_window import MainWindow
    from PySide6.QtCore import QSettings

    monkeypatch.setattr(jobs, "run_demo", lambda name, progress=None, cancel=None: fake_result())
    monkeypatch.setattr(jobs, "build_and_compute", lambda *a, progress=None, cancel=None, **k: fake_result())
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    w = MainWindow(settings, use_gl=False, warm_up=False, headless=True)
    qtbot.addWidget(w)
    return w


def save_and_wait(window, path, qtbot, timeout: int = 30_000) -> bool:
    """Save the window's project to ``path`` (a job) and wait for its end; True when written."""
    outcome = []
    window.projects.saved.connect(lambda _p: outcome.append(True))
    window.projects.save_failed.connect(lambda _p, _m: outcome.append(False))
    if not window.projects.save_to(path):
        return False
    qtbot.waitUntil(lambda: bool(outcome) and not window.projects.busy(), timeout=timeout)
    return outcome[-1]


def open_and_wait(window, path, qtbot, timeout: int = 30_000) -> bool:
    """Open ``path`` in the window (a project is read in a job) and wait; True when shown."""
    outcome = []
    window.projects.opened.connect(lambda _p, _l: outcome.append(True))
    window.projects.open_failed.connect(lambda _p, _m: outcome.append(False))
    if not window.open_file(path):
        return False
    if not window.projects.busy() and not outcome:  # not a project: opened at once
        return True
    qtbot.waitUntil(lambda: bool(outcome) and not window.projects.busy(), timeout=timeout)
    return outcome[-1]


def write_q_xye(path, q=None):
    """A small measured pattern on Q (header: axis and wavelength; 10 + sin Q with sigma 0.1)."""
    import numpy as np

    q = np.linspace(0.5, 6.0, 800) if q is None else q
    lines = ["# axis: Q (1/A)", "# wavelength = 0.5654", *(f"{v:.4f} {10 + np.sin(v):.5f} 0.1" for v in q)]
    path.write_text("\n".join(lines) + "\n")
    return path
