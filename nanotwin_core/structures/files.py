"""Read a structure file of any supported kind, chosen by its suffix."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from nanotwin_core.errors import NanotwinError
from nanotwin_core.structures.cif import read_cif
from nanotwin_core.structures.library import get_structure
from nanotwin_core.structures.pymatgen_json import read_pymatgen_json
from nanotwin_core.structures.structure import Structure
from nanotwin_core.structures.tilt import tilted_gamma

__all__ = ["read_structure_file", "resolve_structure", "STRUCTURE_SUFFIXES"]

STRUCTURE_SUFFIXES = (".cif", ".json")


def read_structure_file(path: str | Path) -> Structure:
    """A CIF (gemmi) or a pymatgen ``Structure.as_dict()`` JSON (Materials Project export)."""
    if Path(path).suffix.lower() == ".json":
        return read_pymatgen_json(path)
    return read_cif(path)


def resolve_structure(name: str | None = None, cif: str | Path | None = None,
                      tilt: Sequence[float] | None = None) -> Structure:
    """The structure of a model: a CIF / pymatgen JSON file, a built-in name, or a built-in
    CsPbX3 name with ``tilt`` = [AB] or [AB, C] (degrees, the tilt model's gamma structure)."""
    if cif:
        if tilt:
            raise NanotwinError("tilt makes a gamma structure from a built-in CsPbX3 name; not with a CIF")
        return read_structure_file(cif)
    if not name:
        raise NanotwinError("give a structure: a built-in name (see `nanotwin structures`) or a CIF file")
    if not tilt:
        return get_structure(name)
    match = re.fullmatch(r"CsPb(Cl|Br|I)3(-.*)?", name)
    if match is None:
        raise NanotwinError(f"tilt needs a CsPbX3 structure (X = Cl, Br, I), not {name!r}")
    angles = list(tilt)
    if len(angles) not in (1, 2):
        raise NanotwinError(f"tilt must be [AB] or [AB, C] in degrees, got {list(tilt)!r}")
    return tilted_gamma(match.group(1), float(angles[0]), float(angles[1]) if len(angles) == 2 else None)
