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
