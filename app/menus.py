"""The window's menus: File, View, Model, Demos, Help (actions call the window and its parts)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from nanotwin_app import help_texts
from PySide6.QtGui import QAction, QKeySequence

from nanotwin_core import demos
from nanotwin_core.io.data import PATTERN_SUFFIXES

if TYPE_CHECKING:
    from nanotwin_app.main_window import MainWindow


def add_action(window: MainWindow, menu, text: str, slot=None, shortcut: str | None = None,
               tip: str = "") -> QAction:
    """A menu entry calling ``slot()``, with an optional shortcut and tooltip."""
    act = QAction(text, window)
    if shortcut:
        act.setShortcut(QKeySequence(shortcut))
    if tip:
        act.setToolTip(tip)
        act.setStatusTip(tip)
    if slot is not None:
        act.triggered.connect(lambda _checked=False: slot())
    menu.addAction(act)
    return act


def build_menus(window: MainWindow) -> None:
    """Fill the window's menu bar; keeps the actions tests and other parts use on the window
    (``new_action``, ``open_project_action``, ``save_action``, ``save_as_action``, ``recent_menu``,
    ``demo_actions``)."""
    mb = window.menuBar()
    f = mb.addMenu("&File")
    f.setToolTipsVisible(True)
    window.new_action = add_action(window, f, "&New", window.new_workspace, "Ctrl+N")
    pr = window.projects
    window.open_project_action = add_action(
        window, f, "Open project…", pr.open_dialog, "Ctrl+O",
        tip="Open a nanotwin project (.h5): model, data, curves and fit as saved")
    window.save_action = add_action(window, f, "&Save project", pr.save, "Ctrl+S",
                                    tip="Save the project (.h5)")
    window.save_as_action = add_action(window, f, "Save project as…", pr.save_as, "Ctrl+Shift+S")
    f.addSeparator()
    files = window.files
    add_action(window, f, "Import data (patterns .xye/.xrdml/.ras/.fxye…, G(r) .gr)…", lambda: files.dialog(
        "Import data", f"Patterns and G(r) ({' '.join('*' + s for s in PATTERN_SUFFIXES)} *.gr);;"
        "All files (*)"), "Ctrl+I",
        tip="A powder pattern (the import dialog asks what it is) or a G(r) for the PDF fit dock")
    add_action(window, f, "Import CIF…", lambda: files.dialog(
        "Import CIF", "Structures (*.cif *.json);;All files (*)"))
    add_action(window, f, "Import XYZ…", lambda: files.dialog(
        "Import XYZ", "Extended XYZ (*.xyz);;All files (*)"))
    add_action(window, f, "Import series…", window.open_series_window,
               tip="Refine the model against many patterns (a temperature or time series), here or on "
                   "a Dask cluster")
    f.addSeparator()
    ex = window.exports
    add_action(window, f, "Export pattern (table or .xye per curve)…", ex.pattern_dialog, "Ctrl+E",
               tip="The chosen curves (observed, sigma, calculated, parts, background, difference) as one "
                   "table with named columns or one .xye file per curve")
    add_action(window, f, "Export XYZ…", ex.xyz_dialog)
    add_action(window, f, "Export CIF…", ex.cif_dialog,
               tip="Write the current model's structure (built-in or imported) as CIF")
    add_action(window, f, "Export figure (PDF/SVG/PNG/TIFF)…", ex.figure_dialog, "Ctrl+Shift+E",
               tip="A figure of the pattern for a paper: choose curves, size (mm or px), DPI, font size, "
                   "difference and tick rows; drawn with matplotlib")
    add_action(window, f, "Export 3D view (PNG)…", ex.view_dialog, tip="Render the 3D view to a PNG image")
    window.viewer.export_requested.connect(ex.view_dialog)
    f.addSeparator()
    window.recent_menu = f.addMenu("Recent files")
    files.build_recent_menu(window.recent_menu)
    f.addSeparator()
    add_action(window, f, "&Quit", window.close, "Ctrl+Q")

    v = mb.addMenu("&View")
    for dock in (window.model_dock, window.pattern_dock, window.refine_dock, window.pdf_dock,
                 window.teaching_dock):
        v.addAction(dock.toggleViewAction())
    v.addSeparator()
    add_action(window, v, "Reset layout", window.reset_layout,
               tip="Every dock back where it started, sized for the window")
    add_action(window, v, "Reset 3D view", window.viewer.reset_view, "Ctrl+R")

    m = mb.addMenu("&Model")
    add_action(window, m, "Build and compute", lambda: window.model_dock_widget.request_build(False),
               "Ctrl+B")
    add_action(window, m, "Cancel computation", window.cancel_computation, "Esc")
    add_action(window, m, "Refinement", window.show_refinement, "Ctrl+Shift+R",
               tip="Show the refinement dock (load data first)")

    d = mb.addMenu("&Demos")
    d.setToolTipsVisible(True)
    window.demo_actions = {}
    for demo in demos.DEMOS.values():
        window.demo_actions[demo.name] = add_action(
            window, d, demo.title, lambda n=demo.name: window.run_demo(n), tip=demo.caption)

    h = mb.addMenu("&Help")
    add_action(window, h, "User guide", lambda: window.show_help("guide"), "F1",
               tip="The user guide with its pictures (docs/guide.md)")
    add_action(window, h, "Tutorial", lambda: window.show_help("tutorial"),
               tip="The tutorial that redoes the paper's figures (docs/tutorial.md)")
    add_action(window, h, "Keyboard shortcuts",
               lambda: window.notify("Keyboard shortcuts", help_texts.shortcuts()))
    add_action(window, h, "About nanotwin", lambda: window.notify("About nanotwin", help_texts.about()))
