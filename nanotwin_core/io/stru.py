"""Reader for PDFgui / PDFfit2 structure files (``.stru``), in both of their layouts.

- PDFfit layout (a ``format pdffit`` line): header records (``title``, ``scale``, ``sharp``,
  ``spcgr``, ``cell a, b, c, alpha, beta, gamma``, ``dcell``, ``ncell``), then ``atoms`` and six
  lines per atom: ``EL x y z occ``, their esds, ``u11 u22 u33`` (Å^2), esds, ``u12 u13 u23``, esds.
- DISCUS layout (no ``format`` line): ``title``, ``spcgr``, ``cell``, ``ncell``, then ``atoms``
  and one line per atom: ``EL x y z B`` (B in Å^2, optional).

Coordinates are fractional in the given cell; every atom is listed (no symmetry expansion, as
PDFfit uses them). A cell of 1 x 1 x 1 Å with right angles (diffpy's default) means Cartesian Å
and a non-periodic molecule. Values are read as numbers only: no code is evaluated.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from nanotwin_core.crystal import Crystal
from nanotwin_core.errors import InputFileError
from nanotwin_core.io.xyz import element_symbol
from nanotwin_core.structures.structure import Cell

__all__ = ["StruFile", "read_stru"]


@dataclass
class StruFile:
    """The content of a .stru file.

    crystal : the atoms (positions in Å, elements, occupancy); ``adp_groups`` = elements.
    b_iso : (N,) isotropic B per atom in Å^2 (8 pi^2 (u11 + u22 + u33) / 3 for the PDFfit layout).
    cell : the cell (Å, degrees); periodic : False for diffpy's default 1 Å cell (a molecule).
    title, spacegroup, layout ("pdffit" or "discus"), records : other header values (numbers).
    """

    crystal: Crystal
    b_iso: np.ndarray
    cell: Cell
    periodic: bool
    title: str = ""
    spacegroup: str = "P1"
    layout: str = "pdffit"
    records: dict[str, list[float]] = field(default_factory=dict)

    def b_by_element(self) -> dict[str, float]:
        """Mean B (Å^2) per element."""
        els = self.crystal.elements
        return {str(e): float(np.mean(self.b_iso[els == e])) for e in np.unique(els)}


def _numbers(path: Path, text: str, line: int, what: str) -> list[float]:
    parts = [p for p in re.split(r"[\s,]+", text.strip()) if p]
    out = []
    for p in parts:
        try:
            v = float(p)
        except ValueError:
            raise InputFileError(path, f"{what}: not a number: {p!r}", line) from None
        if not math.isfinite(v):
            raise InputFileError(path, f"{what}: value is not finite: {p!r}", line)
        out.append(v)
    return out


def read_stru(path: str | os.PathLike) -> StruFile:
    """Read a PDFgui/PDFfit2 ``.stru`` file (PDFfit or DISCUS layout).

    Raises
    ------
    InputFileError
        Missing file, no ``cell`` or ``atoms`` record, a non-numeric value, an unknown element,
        a short atom record; the message names the file and the line.
    """
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError as exc:
        raise InputFileError(path, f"cannot read the file ({exc.strerror or exc})") from None
    layout = "discus"
    title, spacegroup = "", "P1"
    records: dict[str, list[float]] = {}
    cell_values: list[float] | None = None
    atoms_at = None
    for i, raw in enumerate(lines):
        s = raw.strip()
        if not s or s.startswith("#"):
            continue
        key, _, rest = s.partition(" ")
        key = key.lower()
        lineno = i + 1
        if key == "format":
            fmt = rest.strip().lower()
            if fmt != "pdffit":
                raise InputFileError(path, f"unknown format {rest.strip()!r} (expected pdffit)", lineno)
            layout = "pdffit"
        elif key == "title":
            title = rest.strip()
        elif key == "spcgr":
            spacegroup = rest.strip() or "P1"
        elif key == "cell":
            cell_values = _numbers(path, rest, lineno, "cell")
            if len(cell_values) != 6:
                raise InputFileError(path, f"cell needs a, b, c, alpha, beta, gamma, got {len(cell_values)} "
                                           "numbers", lineno)
            if min(cell_values[:3]) <= 0 or not all(0 < a < 180 for a in cell_values[3:]):
                raise InputFileError(path, "cell lengths must be > 0 Å and angles within (0, 180) degrees",
                                     lineno)
        elif key in ("scale", "sharp", "dcell", "ncell", "shape"):
            if key == "shape":
                continue  # e.g. "shape sphere, 40.0": kept out of the numeric records
            records[key] = _numbers(path, rest, lineno, key)
        elif key == "atoms":
            atoms_at = i + 1
            break
        else:
            raise InputFileError(path, f"unknown record {key!r}", lineno)
    if cell_values is None:
        raise InputFileError(path, "no 'cell' record before 'atoms'")
    if atoms_at is None:
        raise InputFileError(path, "no 'atoms' record")
    body = [(j + 1, lines[j]) for j in range(atoms_at, len(lines)) if lines[j].strip()]
    els: list[str] = []
    xyz: list[list[float]] = []
    occ: list[float] = []
    bvals: list[float] = []
    step = 6 if layout == "pdffit" else 1
    if layout == "pdffit" and len(body) % 6:
        raise InputFileError(path, f"PDFfit atoms come in 6-line records; {len(body)} lines after 'atoms'",
                             body[-1][0])
    for k in range(0, len(body), step):
        lineno, text = body[k]
        words = text.split()
        sym = element_symbol(re.sub(r"[^A-Za-z0-9+-]", "", words[0]))
        if sym is None:
            raise InputFileError(path, f"unknown element {words[0]!r}", lineno)
        vals = _numbers(path, " ".join(words[1:]), lineno, "atom")
        if len(vals) < 3:
            raise InputFileError(path, f"atom {words[0]} needs x y z, got {len(vals)} numbers", lineno)
        if layout == "pdffit":
            o = vals[3] if len(vals) > 3 else 1.0
            u_line, u_text = body[k + 2]
            u = _numbers(path, u_text, u_line, "u11 u22 u33")
            if len(u) != 3:
                raise InputFileError(path, f"expected u11 u22 u33, got {len(u)} numbers", u_line)
            b = 8.0 * math.pi**2 * sum(u) / 3.0
        else:
            o = 1.0
            b = vals[3] if len(vals) > 3 else 0.0
        if not 0.0 <= o <= 1.0:
            raise InputFileError(path, f"occupancy {o} outside [0, 1]", lineno)
        if b < 0:
            raise InputFileError(path, f"negative B/U of atom {words[0]}", lineno)
        els.append(sym)
        xyz.append(vals[:3])
        occ.append(o)
        bvals.append(b)
    if not els:
        raise InputFileError(path, "no atoms after 'atoms'", atoms_at)
    cell = Cell(*cell_values)
    periodic = not (np.allclose(cell_values[:3], 1.0) and np.allclose(cell_values[3:], 90.0))
    positions = np.asarray(xyz, float) @ cell.matrix
    crystal = Crystal(positions, np.array(els), occupancy=np.array(occ),
                      info={"source": str(path), "title": title, "format": f"stru/{layout}"})
    return StruFile(crystal, np.array(bvals), cell, periodic, title, spacegroup, layout, records)
