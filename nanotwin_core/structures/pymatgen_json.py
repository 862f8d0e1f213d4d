"""Read a pymatgen ``Structure.as_dict()`` JSON file (e.g. a Materials Project export), without pymatgen.

The file holds ``lattice`` (``matrix``: rows a, b, c in Å) and ``sites`` (each with ``species``:
a list of ``{"element", "occu", "oxidation_state"?}`` and ``abc``: fractional coordinates, or
``xyz``: Cartesian Å). Oxidation states are dropped (the form factors are those of neutral
atoms); a site shared by several species becomes one site per species, alternatives of each
other (an exclusion group: never paired in the Debye sum).

Symmetry: with ``symmetrize=True`` (default) spglib finds the operations that map the structure
onto itself (in the file's own axes and origin); they are handed to
``gemmi.find_spacegroup_by_ops`` for the space group's name in that setting (so a non-standard
setting such as P m n b is kept), trying the origin on an inversion centre when the file's origin
is not the tabulated one. The asymmetric unit then becomes the sites. Where no tabulated setting
matches, the structure stays P1 (every atom a site), which is always correct.
"""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import gemmi
import numpy as np
import spglib

from nanotwin_core.errors import InputFileError
from nanotwin_core.structures.structure import Cell, Site, Structure

SYMMETRY_TOLERANCE = 0.01  # Å: atoms this close after a symmetry operation are one


def read_pymatgen_json(path: str | Path, *, symmetrize: bool = True, name: str | None = None,
                       b_iso: float = 1.0) -> Structure:
    """Read a pymatgen Structure JSON file into a ``Structure`` (B = ``b_iso`` Å^2 on every site).

    Raises ``InputFileError`` naming the file and the problem for unreadable or malformed files.
    """
    path = Path(path)
    if not path.is_file():
        raise InputFileError(path, "no such file")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise InputFileError(path, f"not a text (UTF-8) file: {exc.reason}") from None
    except json.JSONDecodeError as exc:
        problem = f"not valid JSON: {exc.msg} (column {exc.colno})"
        raise InputFileError(path, problem, line=exc.lineno) from None
    if not isinstance(data, dict):
        raise InputFileError(path, "expected a JSON object (a pymatgen Structure.as_dict())")
    cls = data.get("@class")
    if cls is not None and cls not in ("Structure", "IStructure"):
        raise InputFileError(path, f"a pymatgen {cls!r}, not a Structure")
    matrix = _lattice_matrix(path, data.get("lattice"))
    frac, elements, occupancy, site_index = _sites(path, data.get("sites"), matrix)

    det = float(np.linalg.det(matrix))
    if det < 0:  # left-handed axes: (-a, -b, -c) is right-handed with the same lengths and angles
        frac = -frac
    frac = frac - np.floor(frac)
    frac[np.isclose(frac, 1.0, atol=1e-9)] = 0.0
    lengths = [float(x) for x in np.linalg.norm(matrix, axis=1)]
    try:
        cell = Cell(*lengths, *(_angle(matrix[i], matrix[j]) for i, j in ((1, 2), (0, 2), (0, 1))))
    except ValueError as exc:
        raise InputFileError(path, f"bad lattice: {exc}") from None

    formula, z = _formula(elements, occupancy)
    title = name or f"{formula} ({path.stem})"
    source = f"pymatgen Structure JSON {path.name}"
    if symmetrize:
        found = find_symmetry(cell, frac, elements, occupancy)
        if found is not None:
            sg, reps = found
            sites = _make_sites(frac[reps], elements[reps], occupancy[reps], site_index[reps], b_iso)
            s = Structure(title, cell, sg.xhm(), tuple(sites), source=source,
                          notes=f"space group {sg.xhm()} (No. {sg.number}) found with spglib",
                          metadata={"formula": formula, "Z": z})
            if len(s.expand()) == len(elements):
                return s
    sites = _make_sites(frac, elements, occupancy, site_index, b_iso)
    return Structure(title, cell, "P 1", tuple(sites), source=source,
                     notes="P1: every atom of the file is a site", metadata={"formula": formula, "Z": z})


def _angle(u: np.ndarray, v: np.ndarray) -> float:
    return math.degrees(math.acos(float(np.clip(u @ v / (np.linalg.norm(u) * np.linalg.norm(v)), -1, 1))))


def _lattice_matrix(path: Path, lattice) -> np.ndarray:
    if not isinstance(lattice, dict):
        raise InputFileError(path, "no 'lattice' object")
    if "matrix" in lattice:
        try:
            m = np.array(lattice["matrix"], dtype=float)
        except (TypeError, ValueError):
            raise InputFileError(path, "lattice 'matrix' is not a 3x3 array of numbers") from None
        if m.shape != (3, 3) or not np.all(np.isfinite(m)):
            raise InputFileError(path, "lattice 'matrix' is not a 3x3 array of finite numbers")
    else:
        try:
            m = Cell(*(float(lattice[k]) for k in ("a", "b", "c", "alpha", "beta", "gamma"))).matrix
        except (KeyError, TypeError, ValueError):
            problem = "lattice has neither 'matrix' nor a, b, c, alpha, beta, gamma"
            raise InputFileError(path, problem) from None
    if abs(np.linalg.det(m)) < 1e-6:
        raise InputFileError(path, "lattice vectors are degenerate (zero volume)")
    return m


def _sites(path: Path, sites, matrix: np.ndarray):
    if not isinstance(sites, list) or not sites:
        raise InputFileError(path, "no 'sites' list")
    frac, elements, occupancy, index = [], [], [], []
    inv = np.linalg.inv(matrix)
    for i, site in enumerate(sites):
        where = f"site {i + 1}"
        if not isinstance(site, dict):
            raise InputFileError(path, f"{where} is not an object")
        try:
            if "abc" in site:
                f = np.array(site["abc"], dtype=float)
            elif "xyz" in site:
                f = np.array(site["xyz"], dtype=float) @ inv
            else:
                raise InputFileError(path, f"{where} has neither 'abc' nor 'xyz' coordinates")
        except (TypeError, ValueError):
            raise InputFileError(path, f"{where}: coordinates are not three numbers") from None
        if f.shape != (3,) or not np.all(np.isfinite(f)):
            raise InputFileError(path, f"{where}: coordinates are not three finite numbers")
        species = site.get("species")
        if not isinstance(species, list) or not species:
            raise InputFileError(path, f"{where} has no 'species' list")
        total = 0.0
        for sp in species:
            if not isinstance(sp, dict) or not isinstance(sp.get("element"), str):
                raise InputFileError(path, f"{where}: a species without an 'element' name")
            el = gemmi.Element(sp["element"].strip())
            if el.atomic_number == 0 or el.name.lower() != sp["element"].strip().lower():
                raise InputFileError(path, f"{where}: unknown element {sp['element']!r}")
            try:
                occ = float(sp.get("occu", 1.0))
            except (TypeError, ValueError):
                raise InputFileError(path, f"{where}: occupancy {sp.get('occu')!r} is not a number") from None
            if not 0 < occ <= 1:
                raise InputFileError(path, f"{where}: occupancy {occ} of {el.name} is not in (0, 1]")
            total += occ
            frac.append(f)
            elements.append(el.name)
            occupancy.append(occ)
            index.append(i)
        if total > 1 + 1e-6:
            raise InputFileError(path, f"{where}: occupancies add up to {total:.4f} > 1")
    return np.array(frac), np.array(elements, dtype="U4"), np.array(occupancy), np.array(index)


def _formula(elements: np.ndarray, occupancy: np.ndarray) -> tuple[str, int]:
    """Reduced formula (elements in file order) and Z, the formula units per cell (1 if not integral)."""
    counts: dict[str, float] = {}
    for el, occ in zip(elements, occupancy, strict=True):
        counts[str(el)] = counts.get(str(el), 0.0) + float(occ)
    ints = [round(n) for n in counts.values()]
    integral = all(abs(n - i) < 1e-6 and i > 0 for n, i in zip(counts.values(), ints, strict=True))
    z = math.gcd(*ints) if integral else 1
    text = "".join(f"{el}{'' if math.isclose(n / z, 1) else f'{n / z:g}'}" for el, n in counts.items())
    return text, z


def _make_sites(frac, elements, occupancy, site_index, b_iso: float) -> list[Site]:
    shared = {i for i in site_index.tolist() if list(site_index).count(i) > 1}
    sites, counter = [], {}
    for f, el, occ, i in zip(frac, elements, occupancy, site_index, strict=True):
        counter[str(el)] = counter.get(str(el), 0) + 1
        sites.append(Site(f"{el}{counter[str(el)]}", str(el), tuple(f), occupancy=float(occ), b_iso=b_iso,
                          exclusion=f"mixed{i}" if int(i) in shared else None))
    return sites


def find_symmetry(cell: Cell, frac: np.ndarray, elements: np.ndarray, occupancy: np.ndarray,
                  tol: float = SYMMETRY_TOLERANCE) -> tuple[gemmi.SpaceGroup, np.ndarray] | None:
    """The space group of a P1 atom list and the indices of one atom per orbit, or None.

    ``tol`` (Å) is how far an operation may move an atom from its image. Setting and origin are
    those of the input (an inversion centre is also tried as the origin, and ``frac`` is then
    shifted in place).
    """
    m = cell.matrix
    kinds = np.array([f"{e}:{o:.6f}" for e, o in zip(elements, occupancy, strict=True)])

    def maps_onto_itself(w: np.ndarray, t: np.ndarray) -> np.ndarray | None:
        img = frac @ w.T + t
        d = img[:, None, :] - frac[None, :, :]
        d -= np.round(d)
        dist = np.linalg.norm(d @ m, axis=2)
        dist[kinds[:, None] != kinds[None, :]] = np.inf
        j = np.argmin(dist, axis=1)
        if np.all(dist[np.arange(len(frac)), j] < tol):
            return j
        return None

    numbers = np.unique(kinds, return_inverse=True)[1].reshape(-1) + 1

    def operations() -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        with warnings.catch_warnings():  # spglib 2.x warns about its old error handling on every call
            warnings.simplefilter("ignore", DeprecationWarning)
            found = spglib.get_symmetry((m, frac, numbers), symprec=tol)
        if found is None:
            return []
        ops = []
        for w, t in zip(found["rotations"], found["translations"], strict=True):
            t = t - np.floor(t + 1e-9)
            perm = maps_onto_itself(w, t)
            if perm is not None:
                ops.append((np.asarray(w, int), t, perm))
        return ops

    ops = operations()
    sg = _group(ops)
    if sg is None:
        inversion = [t for w, t, _ in ops if np.array_equal(w, -np.eye(3, dtype=int))]
        if not inversion:
            return None
        frac -= inversion[0] / 2  # put the inversion centre at the origin
        frac -= np.floor(frac)
        ops = operations()
        sg = _group(ops)
        if sg is None:
            return None
    seen = np.zeros(len(frac), dtype=bool)
    reps = []
    for i in range(len(frac)):
        if not seen[i]:
            reps.append(i)
            images = []
            for w, t, perm in ops:
                seen[perm[i]] = True
                if perm[i] == i:  # stabiliser: average the images to put the atom exactly on its site
                    p = w @ frac[i] + t
                    images.append(p - np.round(p - frac[i]))
            frac[i] = np.mean(images, axis=0)
            frac[i] -= np.floor(frac[i])
    return sg, np.array(reps)


def _group(ops) -> gemmi.SpaceGroup | None:
    gops = []
    for w, t, _ in ops:
        tran = t * gemmi.Op.DEN
        if np.any(np.abs(tran - np.rint(tran)) > 0.05):
            return None  # not a tabulated (multiple of 1/24) translation: origin not standard
        op = gemmi.Op()
        op.rot = (w * gemmi.Op.DEN).tolist()
        op.tran = (np.rint(tran).astype(int) % gemmi.Op.DEN).tolist()
        gops.append(op)
    try:
        return gemmi.find_spacegroup_by_ops(gemmi.GroupOps(gops))
    except (RuntimeError, ValueError):
        return None
