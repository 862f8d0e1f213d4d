"""Read a structure file of any supported kind, chosen by its suffix."""

from __future__ import annotations

from pathlib import Path

from nanotwin_core.structures.structure import Structure

__all__ = ["read_structure_file", "STRUCTURE_SUFFIXES"]

STRUCTURE_SUFFIXES = (".cif", ".json")


def read_structure_file(path: str | Path) -> Structure:
    """A CIF (gemmi) or a pymatgen ``Structure.as_dict()`` JSON (Materials Project export)."""
    if Path(path).suffix.lower() == ".json":
        from nanotwin_core.structures.pymatgen_json import read_pymatgen_json

        return read_pymatgen_json(path)
    from nanotwin_core.structures.cif import read_cif

    return read_cif(path)
