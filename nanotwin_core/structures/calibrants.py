"""Line-position and line-shape standards for calibrating a 2theta diffractometer.

Certified lattice parameters at 22.5 °C (NIST certificates): Si SRM 640f a = 5.431144 Å (SRM 640e:
5.431179 Å), LaB6 SRM 660c a = 4.156826 Å, CeO2 SRM 674b a = 5.411651 Å. The calibrant fit frees
every reflection's intensity, so only the cell and the allowed reflections matter; atom
parameters are the textbook ones (LaB6 B at x = 0.1996, ICSD 40947).
"""

from __future__ import annotations

from pathlib import Path

from nanotwin_core.errors import NanotwinError
from nanotwin_core.structures.structure import Cell, Site, Structure

__all__ = ["CALIBRANTS", "calibrant_structure", "calibrant_names"]

#: name -> (space group, a in Å, sites, certificate)
CALIBRANTS: dict[str, tuple[str, float, tuple[Site, ...], str]] = {
    "Si": ("F d -3 m", 5.431144, (Site("Si", "Si", (0.0, 0.0, 0.0), b_iso=0.47),),
           "NIST SRM 640f, a = 5.431144 Å at 22.5 °C"),
    "LaB6": ("P m -3 m", 4.156826, (Site("La", "La", (0.0, 0.0, 0.0), b_iso=0.25),
                                    Site("B", "B", (0.1996, 0.5, 0.5), b_iso=0.35)),
             "NIST SRM 660c, a = 4.156826 Å at 22.5 °C"),
    "CeO2": ("F m -3 m", 5.411651, (Site("Ce", "Ce", (0.0, 0.0, 0.0), b_iso=0.25),
                                    Site("O", "O", (0.25, 0.25, 0.25), b_iso=0.55)),
             "NIST SRM 674b, a = 5.411651 Å at 22.5 °C"),
}


def calibrant_names() -> list[str]:
    """The built-in calibrants."""
    return list(CALIBRANTS)


def calibrant_structure(name_or_cif: str, *, a: float | None = None) -> Structure:
    """A built-in calibrant by name (case-insensitive; ``a`` overrides the certified cell, Å) or
    any structure from a CIF file."""
    folded = {k.lower(): k for k in CALIBRANTS}
    key = folded.get(str(name_or_cif).lower())
    if key is not None:
        spacegroup, cell_a, sites, source = CALIBRANTS[key]
        if a is not None:
            if not a > 0:
                raise NanotwinError(f"calibrant lattice parameter must be > 0 Å, got {a}")
            cell_a = float(a)
        return Structure(f"{key}-calibrant", Cell(cell_a, cell_a, cell_a), spacegroup, sites, source=source)
    if Path(name_or_cif).suffix.lower() == ".cif":
        from nanotwin_core.structures.cif import read_cif

        structure = read_cif(name_or_cif)
        if a is not None:
            raise NanotwinError("--cell is for the built-in calibrants; a CIF gives its own cell")
        return structure
    raise NanotwinError(f"unknown calibrant {name_or_cif!r}: {', '.join(CALIBRANTS)} or a .cif file")
