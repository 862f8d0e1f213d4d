"""File > Export: the pattern (one table or one .xye per curve), the crystal (XYZ), the structure
(CIF), a figure of the pattern panel for a paper (PDF/SVG/PNG/TIFF, drawn with matplotlib) and
the 3D view (PNG, rendered offscreen at 1-4 times the view's size, with its legend).

Each export asks for a path through the window's replaceable dialog, writes with the core's
or the panel's writer (atomic where the writer is) and reports one line; a failure names the
file and changes nothing in the workspace (exports never mark the project saved).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from nanotwin_app.plots.panel_export import export_curves, export_figure
from PySide6.QtCore import QObject

from nanotwin_core.errors import NanotwinError
from nanotwin_core.figures import FORMATS
from nanotwin_core.io.xyz import write_xyz
from nanotwin_core.structures.cif import write_cif

if TYPE_CHECKING:
    from nanotwin_app.main_window import MainWindow


class FileExporter(QObject):
    """The window's File > Export actions."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.workspace = window.workspace

    def _done(self, path: str | Path, written: list[str]) -> None:
        self.window.remember_dir(path)
        self.window.statusBar().showMessage("Wrote " + ", ".join(written), 6000)

    def pattern_dialog(self) -> None:
        """File > Export pattern: the chosen curves as one table (.csv) or one .xye per curve."""
        window = self.window
        panel = window.pattern_panel
        if not panel.items:
            window.notify("Export pattern", "There is no pattern yet.")
            return
        asked = window.ask_pattern_choice(panel)
        if asked is None:
            return
        keys, suffix = asked
        filters = "CSV table (*.csv);;Text table (*.txt)" if suffix == "csv" else "Patterns (*.xye)"
        path = window.ask_save_path("Export pattern", filters, f"pattern.{suffix}")
        if not path:
            return
        try:
            written = export_curves(panel, path, keys, model=self.model_text())
        except (ValueError, OSError, NanotwinError) as exc:
            window.notify("Export pattern", str(exc), "warning")
            return
        self._done(path, [p.name for p in written])

    def model_text(self) -> str:
        """The model for export headers: structure, shape and sizes of the workspace's model."""
        m = self.workspace.model
        sizes = ", ".join(f"{k} {v:g}" for k, v in m.sizes().items() if v is not None)
        twins = f", twins {' '.join(m.twins)}" if m.twins else ""
        return f"{self.workspace.structure_label()} {m.shape} ({sizes}){twins}"

    def xyz_dialog(self) -> None:
        """File > Export XYZ: the shown crystal as extended XYZ."""
        window = self.window
        if self.workspace.crystal is None:
            window.notify("Export XYZ", "There is no crystal yet.")
            return
        path = window.ask_save_path("Export XYZ", "Extended XYZ (*.xyz)", "crystal.xyz")
        if not path:
            return
        try:
            write_xyz(self.workspace.crystal, path)
        except (ValueError, OSError) as exc:
            window.notify("Export XYZ", str(exc), "warning")
            return
        self._done(path, [Path(path).name])

    def cif_dialog(self) -> None:
        """File > Export CIF: the current structure (the parent cell, not the crystal)."""
        window = self.window
        try:
            structure = self.workspace.structure()
        except NanotwinError as exc:
            window.notify("Export CIF", str(exc), "warning")
            return
        safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in structure.name) or "structure"
        path = window.ask_save_path("Export CIF", "CIF (*.cif)", f"{safe}.cif")
        if not path:
            return
        path = Path(path)
        if path.suffix.lower() != ".cif":
            path = path.with_suffix(".cif")
        try:
            write_cif(structure, path)
        except (NanotwinError, OSError, ValueError) as exc:
            window.notify("Export CIF", f"Could not write {path.name}: {exc}", "warning")
            return
        self._done(path, [f"{path.name} ({structure.name})"])

    def figure_dialog(self) -> None:
        """File > Export figure: the chosen curves for a paper (size, DPI, font size, format,
        difference, ticks, zoom), drawn with matplotlib."""
        window = self.window
        panel = window.pattern_panel
        if not panel.items:
            window.notify("Export figure", "There is no pattern to draw yet.")
            return
        asked = window.ask_figure_choice(panel)
        if asked is None:
            return
        choice, suffix = asked
        filters = {"pdf": "PDF (*.pdf)", "svg": "SVG (*.svg)", "png": "PNG image (*.png)",
                   "tif": "TIFF image (*.tif *.tiff)"}[suffix]
        path = window.ask_save_path("Export figure", filters, f"pattern.{suffix}")
        if not path:
            return
        path = Path(path)
        if path.suffix.lower().lstrip(".") not in FORMATS:
            path = path.with_suffix(f".{suffix}")
        try:
            export_figure(panel, path, choice)
        except (ValueError, OSError, NanotwinError) as exc:
            window.notify("Export figure", f"Could not write {path.name}: {exc}", "warning")
            return
        self._done(path, [path.name])

    def view_dialog(self) -> None:
        """File > Export 3D view: render the 3D view offscreen (at the scale chosen beside the
        view's "Export…") with its legend to a PNG file."""
        window = self.window
        if window.viewer.canvas is None:
            window.notify("Export 3D view", "The 3D view is not available here (no OpenGL).")
            return
        if self.workspace.crystal is None:
            window.notify("Export 3D view", "There is no crystal yet.")
            return
        path = window.ask_save_path("Export 3D view", "PNG image (*.png)", "view3d.png")
        if not path:
            return
        path = Path(path)
        if path.suffix.lower() != ".png":
            path = path.with_suffix(".png")
        try:
            window.viewer.export_png(str(path))
        except (OSError, RuntimeError) as exc:
            window.notify("Export 3D view", f"Could not write {path.name}: {exc}", "warning")
            return
        self._done(path, [path.name])
