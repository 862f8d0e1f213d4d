"""Extended XYZ files (INTERFACES.md): the writer used by ``nanotwin build`` and a tolerant reader.

Written layout::

    N
    Properties=species:S:1:pos:R:3:domain:I:1:variant:I:1:occupancy:R:1:adp_group:S:1:exclusion:I:1 \
Lattice="ax ay az bx by bz cx cy cz" pbc="F F F" shape="prism" ...
    Pb  x y z  domain variant occupancy adp_group exclusion
    ...

Positions in Å with 10 decimals (round trip to 1e-10 Å). ``Lattice`` (the parent cell, not a
periodic box) is written when the crystal has a cell, with ``pbc="F F F"`` so that ASE and OVITO
treat the crystal as finite. Scalar ``info`` values (and lists of scalars, as quoted strings)
follow as key=value pairs; nested values (boundary polygons) are not written.

The reader accepts these files, extended XYZ from ASE/OVITO (any Properties; known columns are
mapped: species/element/symbols, pos/positions, domain, variant, occupancy/occ, adp_group,
exclusion) and plain XYZ (element x y z [ignored columns]). It returns a ``Crystal`` with
``lattice=None`` (the all-pairs route). Problems raise ``InputFileError`` naming the file, the
line and the problem.
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path

import gemmi
import numpy as np

from nanotwin_core.crystal import Crystal
from nanotwin_core.errors import InputFileError
from nanotwin_core.io.atomic import atomic_write_text

PROPERTIES = "species:S:1:pos:R:3:domain:I:1:variant:I:1:occupancy:R:1:adp_group:S:1:exclusion:I:1"

_KEY_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_PAIR_RE = re.compile(r'([A-Za-z_][A-Za-z0-9_\-]*)(?:=("(?:[^"\\]|\\.)*"|\{[^}]*\}|\S+))?')
_ALIASES = {
    "species": "species", "element": "species", "elements": "species", "symbols": "species",
    "symbol": "species", "type_name": "species",
    "pos": "pos", "positions": "pos", "position": "pos",
    "domain": "domain", "variant": "variant",
    "occupancy": "occupancy", "occ": "occupancy",
    "adp_group": "adp_group", "adp_groups": "adp_group", "adp": "adp_group",
    "exclusion": "exclusion",
}


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _info_value(value) -> str | None:
    if isinstance(value, bool):
        return "T" if value else "F"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return repr(float(value)) if math.isfinite(value) else None
    if isinstance(value, str):
        return _quote(value.replace("\n", " "))
    if isinstance(value, (list, tuple)) and value and all(
            isinstance(v, (str, int, float, np.integer, np.floating)) and not isinstance(v, bool)
            for v in value):
        if all(isinstance(v, str) for v in value):
            return _quote("; ".join(value))
        if any(isinstance(v, str) for v in value):
            return None
        return _quote(" ".join(repr(float(v)) if isinstance(v, (float, np.floating)) else str(int(v))
                               for v in value))
    return None


def _comment_line(crystal: Crystal) -> str:
    parts = [f"Properties={PROPERTIES}"]
    if crystal.cell is not None:
        cell = np.asarray(crystal.cell, dtype=float).reshape(9)
        parts.append('Lattice="' + " ".join(f"{x:.10f}" for x in cell) + '"')
        parts.append('pbc="F F F"')
    for key, value in crystal.info.items():
        if not _KEY_RE.match(str(key)) or key in ("Properties", "Lattice", "pbc"):
            continue
        text = _info_value(value)
        if text is not None:
            parts.append(f"{key}={text}")
    return " ".join(parts)


def write_xyz(crystal: Crystal, path: str | os.PathLike) -> Path:
    """Write ``crystal`` as extended XYZ (atomic: a temporary file is renamed over ``path``).

    Positions in Å. Returns the path written.
    """
    path = Path(path)
    adp = np.char.replace(crystal.adp_groups.astype(str), " ", "_")
    adp = np.where(adp == "", crystal.elements, adp)
    n = crystal.n_atoms
    table = np.empty((n, 9), dtype=object)
    table[:, 0] = crystal.elements.astype(str)
    table[:, 1:4] = crystal.positions.tolist() if n else np.empty((0, 3))
    table[:, 4] = crystal.domain.tolist()
    table[:, 5] = crystal.variant.tolist()
    table[:, 6] = crystal.occupancy.tolist()
    table[:, 7] = adp.tolist()
    table[:, 8] = crystal.exclusion.tolist()
    row = "%s %.10f %.10f %.10f %d %d %.10g %s %d\n"
    chunks = [f"{n}\n{_comment_line(crystal)}\n"]
    step = 100_000
    for start in range(0, n, step):  # one C-level formatting call per chunk
        block = table[start:start + step]
        chunks.append((row * len(block)) % tuple(block.ravel().tolist()))
    text = "".join(chunks)
    atomic_write_text(path, text)
    return path


def _parse_comment(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for m in _PAIR_RE.finditer(text):
        key, value = m.group(1), m.group(2)
        if value is None:
            out[key] = "T"
            continue
        if value.startswith('"') and value.endswith('"') and len(value) >= 2:
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        elif value.startswith("{") and value.endswith("}"):
            value = value[1:-1]
        out[key] = value
    return out


def _convert(value: str):
    if value in ("T", "True", "true"):
        return True
    if value in ("F", "False", "false"):
        return False
    try:
        return int(value)
    except ValueError:
        pass
    try:
        return float(value)
    except ValueError:
        return value


_SYMBOL_CACHE: dict[str, str | None] = {}


def element_symbol(token: str) -> str | None:
    """Normalised element symbol of a token ("Pb", "PB", "Br1", "Pb2+", "82"), or None."""
    if token in _SYMBOL_CACHE:
        return _SYMBOL_CACHE[token]
    result: str | None = None
    if token.isdigit():
        z = int(token)
        if 0 < z <= 118:
            result = gemmi.Element(z).name
    else:
        m = re.match(r"^([A-Za-z]{1,2})([0-9]*[+-]?[0-9]*)$", token)
        if m:
            letters = m.group(1)
            for cand in (letters[:2], letters[:1]) if len(letters) == 2 else (letters,):
                sym = cand[0].upper() + cand[1:].lower()
                if len(cand) == len(letters) and gemmi.Element(sym).atomic_number > 0:
                    result = sym
                    break
    _SYMBOL_CACHE[token] = result
    return result


def read_xyz(path: str | os.PathLike) -> Crystal:
    """Read an (extended) XYZ file; the first frame only. Positions in Å.

    Raises
    ------
    InputFileError
        Missing file, bad atom count, short line, non-numeric coordinate, unknown element.
    """
    path = Path(path)
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            lines = fh.read().splitlines()
    except OSError as exc:
        raise InputFileError(path, f"cannot read the file ({exc.strerror or exc})") from None
    if not lines or not lines[0].strip():
        raise InputFileError(path, "empty file: the first line must be the number of atoms", line=1)
    try:
        n = int(lines[0].split()[0])
    except ValueError:
        raise InputFileError(path, f"the first line must be the number of atoms, got {lines[0].strip()!r}",
                             line=1) from None
    if n < 0:
        raise InputFileError(path, f"negative atom count {n}", line=1)
    comment = lines[1] if len(lines) > 1 else ""
    kv = _parse_comment(comment) if "=" in comment else {}

    # column layout: list of (name, type, start, ncols)
    layout: dict[str, tuple[str, int, int]] = {}
    ncols_total = 4
    if "Properties" in kv:
        fields = kv["Properties"].split(":")
        if len(fields) % 3:
            raise InputFileError(path, f"malformed Properties={kv['Properties']!r}", line=2)
        col = 0
        for j in range(0, len(fields), 3):
            name, typ, cnt = fields[j], fields[j + 1].upper(), fields[j + 2]
            try:
                cnt_i = int(cnt)
            except ValueError:
                raise InputFileError(path, f"malformed Properties entry {name}:{typ}:{cnt}", line=2) from None
            key = _ALIASES.get(name.lower())
            if key is not None and key not in layout:
                layout[key] = (typ, col, cnt_i)
            col += cnt_i
        ncols_total = col
        if "species" not in layout or "pos" not in layout or layout["pos"][2] != 3:
            raise InputFileError(path, "Properties must name a species column and a 3-column pos", line=2)
    else:
        layout = {"species": ("S", 0, 1), "pos": ("R", 1, 3)}

    if len(lines) - 2 < n:
        raise InputFileError(path, f"the file declares {n} atoms but holds only {max(len(lines) - 2, 0)} "
                             "atom lines", line=len(lines) + 1)
    fast = _read_atoms_fast(lines[2:2 + n], n, ncols_total, layout)
    if fast is not None:
        positions, elements, extra = fast
    else:  # line by line, to name the first bad line
        positions = np.empty((n, 3))
        elements = np.empty(n, dtype="U4")
        extra: dict[str, list] = {k: [] for k in ("domain", "variant", "occupancy", "adp_group", "exclusion")
                                  if k in layout}
        s_col = layout["species"][1]
        p_col = layout["pos"][1]
        for i in range(n):
            lineno = i + 3
            parts = lines[i + 2].split()
            if len(parts) < ncols_total:
                raise InputFileError(path, f"short line: expected {ncols_total} columns, got {len(parts)}",
                                     line=lineno)
            el = element_symbol(parts[s_col])
            if el is None:
                raise InputFileError(path, f"unknown element symbol {parts[s_col]!r}", line=lineno)
            elements[i] = el
            try:
                positions[i] = [float(parts[p_col]), float(parts[p_col + 1]), float(parts[p_col + 2])]
            except ValueError:
                bad = next(t for t in parts[p_col:p_col + 3] if not _is_float(t))
                raise InputFileError(path, f"non-numeric coordinate {bad!r}", line=lineno) from None
            if not np.all(np.isfinite(positions[i])):
                raise InputFileError(path, "non-finite coordinate", line=lineno)
            for key, values in extra.items():
                token = parts[layout[key][1]]
                try:
                    if key in ("domain", "variant", "exclusion"):
                        values.append(int(token))
                    elif key == "occupancy":
                        values.append(float(token))
                    else:
                        values.append(token)
                except ValueError:
                    raise InputFileError(path, f"bad {key} value {token!r}", line=lineno) from None
    cell = None
    if "Lattice" in kv:
        try:
            cell = np.array([float(x) for x in kv["Lattice"].split()]).reshape(3, 3)
        except ValueError:
            raise InputFileError(path, f"Lattice must hold 9 numbers: {kv['Lattice']!r}", line=2) from None
    info = {k: _convert(v) for k, v in kv.items() if k not in ("Properties", "Lattice", "pbc")}
    info["source_file"] = str(path)
    occ = np.array(extra["occupancy"]) if "occupancy" in extra else None
    if occ is not None and (np.any(occ < 0) or np.any(occ > 1)):
        bad = int(np.nonzero((occ < 0) | (occ > 1))[0][0])
        raise InputFileError(path, f"occupancy {occ[bad]} outside [0, 1]", line=bad + 3)
    return Crystal(
        positions=positions,
        elements=elements,
        adp_groups=np.array(extra["adp_group"], dtype="U16") if "adp_group" in extra else None,
        occupancy=occ,
        exclusion=np.array(extra["exclusion"]) if "exclusion" in extra else None,
        domain=np.array(extra["domain"]) if "domain" in extra else None,
        variant=np.array(extra["variant"]) if "variant" in extra else None,
        cell=cell,
        lattice=None,
        info=info,
    )


def _read_atoms_fast(atom_lines: list[str], n: int, ncols: int, layout: dict):
    """Vectorised parse of well-formed atom lines; None if anything is off (then parse slowly)."""
    if n == 0:
        return None
    tokens = " ".join(atom_lines).split()
    if len(tokens) != n * ncols:
        return None
    if any(len(line.split()) != ncols for line in atom_lines):
        return None
    table = np.array(tokens, dtype=object).reshape(n, ncols)
    try:
        p = layout["pos"][1]
        positions = np.array(table[:, p:p + 3], dtype=float)
        symbols = table[:, layout["species"][1]]
        uniq, inv = np.unique(symbols.astype(str), return_inverse=True)
        mapped = [element_symbol(str(u)) for u in uniq]
        if any(m is None for m in mapped) or not np.all(np.isfinite(positions)):
            return None
        elements = np.array(mapped, dtype="U4")[inv]
        extra: dict[str, list] = {}
        for key in ("domain", "variant", "occupancy", "adp_group", "exclusion"):
            if key in layout:
                col = table[:, layout[key][1]]
                if key == "occupancy":
                    extra[key] = list(np.array(col, dtype=float))
                elif key == "adp_group":
                    extra[key] = list(col.astype(str))
                else:
                    extra[key] = list(np.array(col.astype(str), dtype=np.int64))
    except (ValueError, TypeError):
        return None
    return positions, elements, extra


def _is_float(token: str) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True
