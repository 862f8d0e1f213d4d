"""House rules: the core never imports Qt; the app's job and adapter modules import no widgets."""

from __future__ import annotations

import subprocess
import sys


def _imported(code: str) -> set[str]:
    out = subprocess.run([sys.executable, "-c", code + "\nimport sys; print(' '.join(sys.modules))"],
                         capture_output=True, text=True, check=True)
    return set(out.stdout.split())


def test_core_and_app_logic_import_no_qt():
    mods = _imported(
        "import nanotwin_core, nanotwin_core.crystal, nanotwin_core.demos, nanotwin_core.cli\n"
        "import nanotwin_core.teaching, nanotwin_app.jobs\n"
        "import nanotwin_app.viewer3d.adapters, nanotwin_app.plots.ticks, nanotwin_app.plots.plot_math"
    )
    assert not any(m.startswith(("PySide6", "vispy", "pyqtgraph")) for m in mods)
