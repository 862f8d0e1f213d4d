"""Entry point of the GUI: ``run_gui(args) -> exit code`` (called by ``nanotwin gui``).

A file given on the command line (``nanotwin gui FILE``, the desktop entry's ``nanotwin gui %f``)
or sent by the system (a drop on the application icon: a ``QFileOpenEvent``) is what the window
shows; the default demo runs only when nothing is opened.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from nanotwin_app.gui_gc import collect_in_gui_thread
from nanotwin_app.main_window import MainWindow
from PySide6.QtCore import QEvent, QEventLoop, QObject, QTimer
from PySide6.QtWidgets import QApplication

from nanotwin_core.demos import DEFAULT_DEMO, DEMOS
from nanotwin_core.figures import FIGURE_MARK

SCREENSHOT_TIMEOUT_S = 900
SETTLE_MS = 500  # let the window lay out and paint before the screenshot


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


class FileOpenEvents(QObject):
    """Opens the files the system sends (a drop on the dock icon, Finder's Open With) in the window."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.received: list[str] = []

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 - Qt override
        """Open a file of a ``QFileOpenEvent``; let every other event through."""
        if event.type() == QEvent.Type.FileOpen and event.file():
            self.received.append(event.file())
            self.window.cancel_computation()  # a default demo started before the file came
            self.window.open_file(event.file())
            return True
        return False


def run_gui(args, settings=None) -> int:
    """Open the window with ``args.file`` (else the demo); with ``args.screenshot`` save a PNG of
    the window once the file is shown or the demo finished, then exit.

    Returns the exit code: with ``--screenshot``, 0 when the file was opened or the demo finished
    and the PNG was written, 1 otherwise (the PNG is still written when possible); 2 for an
    unknown demo. ``settings`` (a QSettings) replaces the user's settings (tests).
    """
    file = getattr(args, "file", None)
    demo = getattr(args, "demo", None)
    shot = getattr(args, "screenshot", None)
    if demo is not None and demo not in DEMOS:
        print(f"nanotwin: unknown demo {demo!r}; known: {', '.join(DEMOS)}", file=sys.stderr)
        return 2
    if demo is None and not file:
        demo = DEFAULT_DEMO
    app = _application()
    window = MainWindow(settings, headless=bool(shot))
    events = FileOpenEvents(window)
    app.installEventFilter(events)
    window.show()
    try:
        with collect_in_gui_thread():  # never in a worker thread: Qt objects die in their own thread
            if not shot:
                if file:
                    QTimer.singleShot(0, lambda: window.open_file(file))
                if demo:
                    QTimer.singleShot(0, lambda: None if events.received else window.run_demo(demo))
                return int(app.exec())
            return _screenshot(window, file, demo, Path(shot))
    finally:
        app.removeEventFilter(events)


def save_window_png(window: MainWindow, path: Path) -> bool:
    """Save a PNG of the window atomically (temporary file, then rename), marked as nanotwin's own
    (so a later ``--screenshot`` may replace it without ``--force``); False when Qt cannot write."""
    image = window.grab().toImage()
    image.setText("Creator", FIGURE_MARK)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        if not image.save(str(tmp), "PNG"):
            return False
        os.replace(tmp, path)
        return True
    except OSError:
        return False
    finally:
        tmp.unlink(missing_ok=True)


def _screenshot(window: MainWindow, file: str | None, demo: str | None, shot: Path) -> int:
    """Show the file and/or run the demo, save a PNG of the window, close it; the exit code."""
    result = {"code": 1, "file_ok": not file, "demo_ok": not demo, "saved": False}
    loop = QEventLoop()  # a local loop: the application itself never quits (safe in tests)

    def save() -> None:
        if result["saved"]:
            return
        result["saved"] = True
        watchdog.stop()
        ok = save_window_png(window, shot)
        result["code"] = 0 if ok and result["file_ok"] and result["demo_ok"] else 1
        if not ok:
            print(f"nanotwin: could not write {shot}", file=sys.stderr)
        window.workspace.set_dirty(False)
        window.close()
        loop.quit()

    def run_demo() -> None:
        window.demo_finished.connect(lambda ok: done("demo", ok))
        window.run_demo(demo)

    def done(what: str, ok: bool) -> None:
        result[f"{what}_ok"] = ok
        if not ok:
            print(f"nanotwin: the {what} was not shown; the screenshot shows the window as it is",
                  file=sys.stderr)
        if what == "file" and demo:
            run_demo()  # after the file: opening a project stops a running computation
        else:
            QTimer.singleShot(SETTLE_MS, save)

    def open_file() -> None:
        window.projects.opened.connect(lambda *_a: done("file", True))
        window.projects.open_failed.connect(lambda *_a: done("file", False))
        started = window.open_file(file)
        if not started or not window.projects.busy():  # not a project, or refused at once
            done("file", started)

    if file:
        QTimer.singleShot(0, open_file)
    elif demo:
        QTimer.singleShot(0, run_demo)
    else:
        QTimer.singleShot(SETTLE_MS, save)
    watchdog = QTimer(window)
    watchdog.setSingleShot(True)
    watchdog.timeout.connect(save)
    watchdog.start(SCREENSHOT_TIMEOUT_S * 1000)
    loop.exec()
    watchdog.stop()
    return int(result["code"])
