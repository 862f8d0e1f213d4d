"""The texts of the Help menu."""

from __future__ import annotations

from nanotwin_core._version import __version__

SHORTCUTS = [
    ("Ctrl+O", "Open a project (.h5)"),
    ("Ctrl+S", "Save the project (Ctrl+Shift+S: save as)"),
    ("Ctrl+B", "Build and compute the model"),
    ("Esc", "Cancel the running computation"),
    ("Ctrl+E", "Export the pattern (a table, or .xye per curve)"),
    ("Ctrl+Shift+E", "Export a figure for a paper (PDF, SVG, PNG or TIFF)"),
    ("F1", "The user guide (Help > Tutorial: the tutorial)"),
    ("Ctrl+I", "Import data / CIF / XYZ"),
    ("Ctrl+R", "Reset the 3D view"),
    ("Ctrl+N", "New (clear the workspace)"),
    ("Ctrl+Q", "Quit"),
    ("mouse", "3D: drag to rotate, wheel to zoom, Shift+drag to pan"),
    ("mouse", "plots: drag the yellow region to move the superstructure zoom"),
]

def shortcuts() -> str:
    """The keyboard shortcuts, one per line."""
    return "\n".join(f"{k:>14}   {v}" for k, v in SHORTCUTS)


def about() -> str:
    """Help > About."""
    return (f"nanotwin {__version__}\n\nBuild CsPbX3 nanocrystals with coherent twin boundaries, see them "
            "in 3D and compute their powder patterns by the Debye scattering equation.\n\n"
            "After Bertolotti et al., ACS Nano 2017, 11, 3819.")
