"""File > Export: the pattern (.xye/.csv), the crystal (XYZ), the structure (CIF), a figure of the
pattern panel (PNG/SVG/PDF) and the 3D view (PNG).

Each export asks for a path through the window's replaceable dialog, writes with the core's
or the panel's writer (atomic where the writer is) and reports one line; a failure names the
file and changes nothing in the workspace (exports never mark the project saved).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from nanotwin_app.plots.panel_export import export_figure, export_table
from PySide6.QtCore import QObject

from nanotwin_core.errors import NanotwinError
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
        """File > Export pattern: one .xye per curve, or one .csv table."""
        window = self.window
        if not self.workspace.patterns.curves:
            window.notify("Export pattern", "There is no calculated pattern yet.")
            return
        path = window.ask_save_path("Export pattern", "Pattern (*.xye);;CSV table (*.csv)", "pattern.xye")
        if not path:
            return
        try:
            written = export_table(window.pattern_panel, path)
        except (ValueError, OSError) as exc:
            window.notify("Export pattern", str(exc), "warning")
            return
        self._done(path, [p.name for p in written])

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
        """File > Export figure: the pattern panel as PNG (as on screen, plus the 3D view where GL
        exists) or as SVG/PDF (redrawn with matplotlib)."""
        window = self.window
        path = window.ask_save_path("Export figure", "PNG image (*.png);;SVG (*.svg);;PDF (*.pdf)",
                                    "pattern.png")
        if not path:
            return
        path = Path(path)
        if path.suffix.lower() not in (".png", ".svg", ".pdf"):
            path = path.with_suffix(".png")
        try:
            export_figure(window.pattern_panel, path)
        except (ValueError, OSError) as exc:
            window.notify("Export figure", f"Could not write {path.name}: {exc}", "warning")
            return
        written = [path.name]
        view_path = path.with_name(path.stem + "_3d.png")
        if path.suffix.lower() == ".png" and self.workspace.crystal is not None \
                and window.viewer.export_png(str(view_path)):
            written.append(view_path.name)
        self._done(path, written)

    def view_dialog(self) -> None:
        """File > Export 3D view: render the 3D view to a PNG file."""
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
