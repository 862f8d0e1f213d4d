"""The texts of the Help menu."""

from __future__ import annotations

from nanotwin_core._version import __version__

SHORTCUTS = [
    ("Ctrl+O", "Open a project (.h5)"),
    ("Ctrl+S", "Save the project (Ctrl+Shift+S: save as)"),
    ("Ctrl+B", "Build and compute the model"),
    ("Esc", "Cancel the running computation"),
    ("Ctrl+E", "Export the pattern (.xye / .csv)"),
    ("Ctrl+Shift+E", "Export a figure (PNG, SVG or PDF)"),
    ("Ctrl+I", "Import data / CIF / XYZ"),
    ("Ctrl+R", "Reset the 3D view"),
    ("Ctrl+N", "New (clear the workspace)"),
    ("Ctrl+Q", "Quit"),
    ("mouse", "3D: drag to rotate, wheel to zoom, Shift+drag to pan"),
    ("mouse", "plots: drag the yellow region to move the superstructure zoom"),
]

GUIDE = (
    "1. Pick a demo in the Demos menu, or set a model in the Model dock and press Build and compute.\n"
    "2. The 3D view colours atoms by twin domain or variant; untick elements (keep Pb) to see the "
    "coherent sublattice; clip a slab along a boundary normal or a Miller plane.\n"
    "3. The pattern panel overlays the calculated curves; tick rows mark the reflections of every "
    "phase of the model (R, M, X rows and the superstructure zoom for a superstructure such as "
    "gamma CsPbX3: drag the yellow region to move the zoom).\n"
    "4. File > Import data (or drop a file): the import dialog asks the x axis, wavelength, "
    "instrument, blank and fit range; Build then compares the model with the data on one scale. "
    "In the Refinement dock choose what to refine and press Run (Stop, then Accept or Revert; the "
    "sizes show number- and volume-weighted; the report exports as Markdown). A .gr file opens in "
    "the PDF fit dock.\n"
    "5. File > Save (Ctrl+S) writes a .h5 project with the model, data, curves and fit."
)


def shortcuts() -> str:
    """The keyboard shortcuts, one per line."""
    return "\n".join(f"{k:>14}   {v}" for k, v in SHORTCUTS)


def about() -> str:
    """Help > About."""
    return (f"nanotwin {__version__}\n\nBuild CsPbX3 nanocrystals with coherent twin boundaries, see them "
            "in 3D and compute their powder patterns by the Debye scattering equation.\n\n"
            "After Bertolotti et al., ACS Nano 2017, 11, 3819.")
