"""Entry point of the GUI: ``run_gui(args) -> exit code`` (called by ``nanotwin gui``)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from PySide6.QtCore import QEventLoop, QTimer
from PySide6.QtWidgets import QApplication

SCREENSHOT_TIMEOUT_S = 900


def _application() -> QApplication:
    app = QApplication.instance()
    if app is None:
        if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")) and sys.platform.startswith(
            "linux"
        ):
            os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        app = QApplication(sys.argv[:1])
    app.setApplicationName("nanotwin")
    app.setOrganizationName("nanotwin")
    app.setApplicationDisplayName("nanotwin")
    return app


def run_gui(args, settings=None) -> int:
    """Open the window; with ``args.screenshot`` run the demo, save a PNG of the window, exit.

    Returns the exit code: with ``--screenshot``, 0 when the demo finished and the PNG was
    written, 1 otherwise (the PNG is still written when possible). ``settings`` (a QSettings)
    replaces the user's settings (tests).
    """
    from nanotwin_app.demos import default_demo, demo_entries
    from nanotwin_app.main_window import MainWindow

    app = _application()
    file = getattr(args, "file", None)
    demo = getattr(args, "demo", None)
    shot = getattr(args, "screenshot", None)
    names = [e.name for e in demo_entries()]
    if demo is not None and demo not in names:
        print(f"nanotwin: unknown demo {demo!r}; known: {', '.join(names)}", file=sys.stderr)
        return 2
    window = MainWindow(settings, headless=bool(shot), warm_up=not shot)
    window.show()
    if file:
        QTimer.singleShot(0, lambda: window.open_file(file))
    demo = demo or default_demo()
    if not shot:
        if demo:
            QTimer.singleShot(0, lambda: window.run_demo(demo))
        code = app.exec()
        return int(code)

    result = {"code": 1, "demo_ok": not demo, "saved": False}
    loop = QEventLoop()  # a local loop: the application itself never quits (safe in tests)

    def save() -> None:
        if result["saved"]:
            return
        result["saved"] = True
        watchdog.stop()
        Path(shot).parent.mkdir(parents=True, exist_ok=True)
        ok = window.grab().save(str(shot))
        result["code"] = 0 if ok and result["demo_ok"] else 1
        if not ok:
            print(f"nanotwin: could not write {shot}", file=sys.stderr)
        window.workspace.set_dirty(False)
        window.close()
        loop.quit()

    def finished(ok: bool) -> None:
        result["demo_ok"] = ok
        if not ok:
            print("nanotwin: the demo did not finish; the screenshot shows the window as it is",
                  file=sys.stderr)
        QTimer.singleShot(500, save)

    if demo:
        window.demo_finished.connect(finished)
        QTimer.singleShot(0, lambda: window.run_demo(demo))
    else:
        QTimer.singleShot(500, save)
    watchdog = QTimer(window)
    watchdog.setSingleShot(True)
    watchdog.timeout.connect(lambda: finished(False))
    watchdog.start(SCREENSHOT_TIMEOUT_S * 1000)
    loop.exec()
    watchdog.stop()
    return int(result["code"])
