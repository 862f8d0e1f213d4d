"""Opening files in the window: which reader a file's suffix calls, the Import dialogs, and the
Recent files list.

Data (.xye/.xy/.dat/.chi, instruments' .xrdml/.ras/.fxye/.gsa…: through the import dialog of
``data_import``; .gr G(r): the PDF dock), structures (CIF, pymatgen JSON) and XYZ crystals
are small and read on the GUI thread; projects (.h5) are read in a worker by
``project_io.ProjectFiles``. A file that cannot be read gives one message and changes nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from nanotwin_app.project_io import PROJECT_SUFFIXES
from PySide6.QtCore import QObject
from PySide6.QtGui import QAction

from nanotwin_core.io.data import PATTERN_SUFFIXES
from nanotwin_core.io.xyz import read_xyz
from nanotwin_core.structures.files import STRUCTURE_SUFFIXES, read_structure_file

if TYPE_CHECKING:
    from nanotwin_app.main_window import MainWindow

DATA_SUFFIXES = set(PATTERN_SUFFIXES)
PDF_SUFFIXES = {".gr"}
XYZ_SUFFIXES = {".xyz"}
OPENABLE = DATA_SUFFIXES | PDF_SUFFIXES | set(STRUCTURE_SUFFIXES) | XYZ_SUFFIXES | PROJECT_SUFFIXES
MAX_RECENT = 8


class FileOpener(QObject):
    """Opens files for the window by their suffix and keeps File > Recent files."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.workspace = window.workspace
        self.recent_actions: list[QAction] = []
        self.recent_none: QAction | None = None
        window.projects.opened.connect(lambda path, _loaded: self.remember(path))

    def open_file(self, path: str | Path) -> bool:
        """Open a project, data, structure or XYZ file by its suffix (False, with a message, if it
        cannot be read; a project is read in a worker and reports through ``ProjectFiles``)."""
        path = Path(path)
        suffix = path.suffix.lower()
        window = self.window
        if not path.exists():
            window.notify("Open", f"{path} does not exist.", "warning")
            return False
        if suffix in PROJECT_SUFFIXES:
            return window.projects.open(path)
        if suffix in DATA_SUFFIXES:
            ok = self.load_data(path)
        elif suffix in PDF_SUFFIXES:
            ok = window.pdf_fits.open_gr(path)
        elif suffix in STRUCTURE_SUFFIXES:
            ok = self.import_structure(path)
        elif suffix in XYZ_SUFFIXES:
            ok = self.import_xyz(path)
        else:
            window.notify("Open", f"nanotwin cannot open {path.suffix or 'this'} files: use .h5 projects, "
                          f"{'/'.join(PATTERN_SUFFIXES)} data, "
                          ".gr G(r), .cif or pymatgen .json structures, or .xyz "
                          "crystals.")
            return False
        if ok:
            self.remember(path)
        return ok

    def load_data(self, path: str | Path) -> bool:
        """Import a measured pattern (``data_import``: the import dialog) and overlay it on the
        calculated curves."""
        return self.window.data_import.import_file(path)

    def import_structure(self, path: str | Path) -> bool:
        """Read a structure from a CIF (or a pymatgen .json) and select it in the model dock."""
        try:
            structure = read_structure_file(path)
        except (ValueError, OSError) as exc:
            self.window.notify("Import structure", str(exc), "warning")
            return False
        self.workspace.set_imported_structure(structure, Path(path).resolve())
        self.window.statusBar().showMessage(f"Imported {structure.name}", 5000)
        return True

    def import_xyz(self, path: str | Path) -> bool:
        """Read an (extended) XYZ crystal and show it."""
        try:
            crystal = read_xyz(path)
        except (ValueError, OSError) as exc:
            self.window.notify("Import XYZ", str(exc), "warning")
            return False
        self.workspace.set_crystal(crystal)
        return True

    def dialog(self, caption: str, filters: str) -> None:
        """Ask for a file and open it."""
        path = self.window.ask_open_path(caption, filters)
        if path:
            self.open_file(path)

    # ---------------------------------------------------------------- recent files
    def remember(self, path: str | Path) -> None:
        """Put ``path`` first in File > Recent files and start the next dialog in its folder."""
        settings = self.window.qsettings
        path = str(Path(path).resolve())
        recent = [p for p in self.recent_files() if p != path]
        settings.setValue("recent_files", [path, *recent][:MAX_RECENT])
        self.window.remember_dir(path)
        self.show_recent()

    def recent_files(self) -> list[str]:
        """Recently opened files, newest first."""
        value = self.window.qsettings.value("recent_files", [])
        if isinstance(value, str):
            value = [value]
        return [str(v) for v in (value or [])]

    def build_recent_menu(self, menu) -> None:
        """Fill File > Recent files; its actions are reused, never deleted (one may be the sender)."""
        for _ in range(MAX_RECENT):
            act = menu.addAction("")
            act.triggered.connect(lambda _c=False, a=act: self._open_recent(a))
            self.recent_actions.append(act)
        self.recent_none = menu.addAction("(none)")
        self.recent_none.setEnabled(False)
        self.show_recent()

    def show_recent(self) -> None:
        """Show the recent files in the menu."""
        files = self.recent_files()
        for i, act in enumerate(self.recent_actions):
            if i < len(files):
                act.setText(Path(files[i]).name)
                act.setToolTip(files[i])
                act.setData(files[i])
            act.setVisible(i < len(files))
        if self.recent_none is not None:
            self.recent_none.setVisible(not files)

    def _open_recent(self, act: QAction) -> None:
        path = act.data()
        if act.isVisible() and path:
            self.open_file(str(path))
