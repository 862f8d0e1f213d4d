"""CIF import and export (gemmi).

``read_cif`` takes the first data block with a cell and atom sites: space group from the
Hermann-Mauguin symbol, the Hall symbol or the number; occupancies; B from ``_atom_site_B_iso``
or 8 pi^2 U from ``_atom_site_U_iso``; the element from ``_atom_site_type_symbol`` (or the label).
Sites with occupancy < 1 whose symmetry images lie within 1.6 Å of each other are taken as
alternative (split) positions when ``split_sites=True`` (never paired in the Debye sum).
``write_cif`` writes a CIF that gemmi and read_cif read back (atomic write).
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path

import gemmi

from nanotwin_core.errors import InputFileError, NanotwinError
from nanotwin_core.structures.structure import Cell, Site, Structure

_EIGHT_PI2 = 8 * math.pi**2


def _number(text: str | None) -> float | None:
    """CIF number without its esd: '5.934(1)' -> 5.934; '?' or '.' -> None."""
    if text is None:
        return None
    text = text.strip()
    if text in ("?", "."):
        return None
    try:
        return float(re.sub(r"\(\d+\)$", "", text))
    except ValueError:
        return None


def _element(type_symbol: str | None, label: str) -> str:
    raw = type_symbol or label
    letters = re.match(r"[A-Za-z]{1,2}", raw)
    if not letters:
        raise NanotwinError(f"cannot tell the element of site {label!r}")
    sym = letters.group(0)
    for candidate in (sym[:2], sym[:1]):
        el = gemmi.Element(candidate.capitalize())
        if el.atomic_number > 0:
            return el.name
    raise NanotwinError(f"unknown element {raw!r} at site {label!r}")


def read_cif(path: str | Path, *, split_sites: bool = False, block: str | None = None) -> Structure:
    """Read a crystal structure from a CIF file (errors name the file and the problem)."""
    path = Path(path)
    if not path.is_file():
        raise InputFileError(path, "no such file")
    try:
        doc = gemmi.cif.read(str(path))
    except (RuntimeError, ValueError) as exc:
        msg = str(exc)
        line = re.search(r":(\d+)", msg)
        raise InputFileError(
            path, f"not a readable CIF: {msg}", line=int(line.group(1)) if line else None
        ) from None
    blocks = [b for b in doc if block is None or b.name == block]
    for b in blocks:
        if b.find_value("_cell_length_a") is not None and b.find_loop("_atom_site_fract_x"):
            return _structure_from_block(path, b, split_sites)
    if block is not None:
        raise InputFileError(path, f"no data block named {block!r} with a cell and atom sites")
    raise InputFileError(
        path, "no data block with a cell (_cell_length_a) and atom sites (_atom_site_fract_x)"
    )


def _structure_from_block(path: Path, b: gemmi.cif.Block, split_sites: bool) -> Structure:
    try:
        lengths = [_number(b.find_value(f"_cell_length_{x}")) for x in "abc"]
        angles = [_number(b.find_value(f"_cell_angle_{x}")) or 90.0 for x in ("alpha", "beta", "gamma")]
        if any(v is None for v in lengths):
            raise NanotwinError("missing cell length (_cell_length_a/b/c)")
        cell = Cell(*lengths, *angles)
    except ValueError as exc:
        raise InputFileError(path, f"bad cell: {exc}") from None

    sg = None
    for tag in ("_space_group_name_H-M_alt", "_symmetry_space_group_name_H-M"):
        value = b.find_value(tag)
        if value and value not in ("?", "."):
            sg = gemmi.find_spacegroup_by_name(gemmi.cif.as_string(value))
            if sg is not None:
                break
    if sg is None:
        for tag in ("_space_group_name_Hall", "_symmetry_space_group_name_Hall"):
            value = b.find_value(tag)
            if value and value not in ("?", "."):
                try:
                    sg = gemmi.find_spacegroup_by_ops(gemmi.symops_from_hall(gemmi.cif.as_string(value)))
                except (RuntimeError, ValueError):
                    sg = None
                if sg is not None:
                    break
    if sg is None:
        for tag in ("_space_group_IT_number", "_symmetry_Int_Tables_number"):
            value = b.find_value(tag)
            if value and value not in ("?", "."):
                sg = gemmi.find_spacegroup_by_number(int(_number(value) or 0))
                if sg is not None:
                    break
    if sg is None:
        raise InputFileError(path, "no recognisable space group (H-M symbol, Hall symbol or number)")

    table = b.find("_atom_site_", ["label", "fract_x", "fract_y", "fract_z", "?type_symbol",
                                   "?occupancy", "?U_iso_or_equiv", "?B_iso_or_equiv"])
    if len(table) == 0:
        raise InputFileError(path, "no atom sites")
    sites = []
    for row in table:
        label = gemmi.cif.as_string(row[0])
        try:
            frac = tuple(_number(row[i]) for i in (1, 2, 3))
            if any(v is None for v in frac):
                raise NanotwinError(f"site {label}: missing fractional coordinate")
            element = _element(gemmi.cif.as_string(row[4]) if row.has(4) else None, label)
            occ = _number(row[5]) if row.has(5) else None
            u = _number(row[6]) if row.has(6) else None
            bval = _number(row[7]) if row.has(7) else None
            b_iso = bval if bval is not None else (u * _EIGHT_PI2 if u is not None else 1.0)
            occupancy = 1.0 if occ is None else occ
            sites.append(Site(label, element, frac, occupancy=occupancy, b_iso=b_iso,
                              exclusion="split" if split_sites and occupancy < 1 else None))
        except ValueError as exc:
            raise InputFileError(path, str(exc)) from None
    name = b.name or path.stem
    try:
        return Structure(name, cell, sg.hm, tuple(sites), source=f"CIF {path.name}")
    except ValueError as exc:
        raise InputFileError(path, str(exc)) from None


def write_cif(structure: Structure, path: str | Path) -> Path:
    """Write ``structure`` as CIF (temporary file, then rename)."""
    path = Path(path)
    c = structure.cell
    sg = structure.space_group()
    lines = [
        f"data_{re.sub(r'[^A-Za-z0-9_-]', '_', structure.name)}",
        f"# written by nanotwin; source: {structure.source or 'unknown'}",
        f"_cell_length_a {c.a:.6f}",
        f"_cell_length_b {c.b:.6f}",
        f"_cell_length_c {c.c:.6f}",
        f"_cell_angle_alpha {c.alpha:.6f}",
        f"_cell_angle_beta {c.beta:.6f}",
        f"_cell_angle_gamma {c.gamma:.6f}",
        f"_space_group_name_H-M_alt '{sg.hm}'",
        f"_space_group_IT_number {sg.number}",
        "loop_",
        "_space_group_symop_operation_xyz",
        *(f"'{op.triplet()}'" for op in sg.operations()),
        "loop_",
        "_atom_site_label",
        "_atom_site_type_symbol",
        "_atom_site_fract_x",
        "_atom_site_fract_y",
        "_atom_site_fract_z",
        "_atom_site_occupancy",
        "_atom_site_B_iso_or_equiv",
    ]
    for s in structure.sites:
        x, y, z = s.frac
        lines.append(f"{s.label} {s.element} {x:.8f} {y:.8f} {z:.8f} {s.occupancy:.6f} {s.b_iso:.6f}")
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_text("\n".join(lines) + "\n")
    os.replace(tmp, path)
    return path
