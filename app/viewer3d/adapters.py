"""Pure-numpy adapter logic for the 3D viewer: sizes, colours, visibility, clipping, planes.

Nothing here imports Qt or vispy, so every function is tested without a GL context. The
functions read core objects (``Crystal``) and return arrays; they never keep or change them.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np
from nanotwin_app.viewer3d import palettes

# Shannon ionic radii (Å, CN 6 unless noted): marker sizes in the 3D view.
IONIC_RADII: dict[str, float] = {
    "Cs": 1.88,  # CN 12
    "Pb": 1.19,
    "Cl": 1.81,
    "Br": 1.96,
    "I": 2.20,
    "Rb": 1.72,
    "K": 1.64,
    "Sn": 1.18,
    "O": 1.40,
    "F": 1.33,
    "Na": 1.02,
}
DEFAULT_RADIUS = 1.5

COLOUR_MODES = ("domain", "variant", "orientation", "element", "adp group")
SPHERICAL_LIMIT = 10_000  # atoms drawn: shaded spheres below, point sprites above (bench_viewer.py)


def _bare_element(symbol: str) -> str:
    """'Br1-' or 'Br_ax' -> 'Br' (letters of the element symbol only)."""
    out = ""
    for ch in str(symbol):
        if ch.isalpha() and (not out or ch.islower()):
            out += ch
        else:
            break
    return out or str(symbol)


def atom_sizes(elements: np.ndarray, scale: float = 1.0, radii: dict[str, float] | None = None) -> np.ndarray:
    """Marker diameters (scene units, Å) per atom: 2 x ionic radius x ``scale``."""
    radii = IONIC_RADII if radii is None else radii
    uniq, inverse = np.unique(np.asarray(elements), return_inverse=True)
    per = np.array([radii.get(_bare_element(e), DEFAULT_RADIUS) for e in uniq], dtype=np.float32)
    return (2.0 * scale * per[inverse]).astype(np.float32)


@dataclass
class Colouring:
    """RGBA per atom (float32, N x 4) and legend entries (label, rgb)."""

    rgba: np.ndarray
    legend: list[tuple[str, tuple[float, float, float]]]


def _categorical(values: np.ndarray, colour_of) -> Colouring:
    """Colours by the distinct ``values``: ``colour_of(i, value)`` gives the rgb of the i-th."""
    uniq, inverse = np.unique(np.asarray(values), return_inverse=True)
    rgb = np.array([colour_of(i, v) for i, v in enumerate(uniq)], float).reshape(-1, 3)
    rgba = np.ones((len(inverse), 4), dtype=np.float32)
    rgba[:, :3] = rgb[inverse]
    legend = [(str(v), tuple(float(x) for x in rgb[i])) for i, v in enumerate(uniq)]
    return Colouring(rgba, legend)


def shift_text(shift) -> str:
    """A fractional shift as '0 0 1/2'."""
    return " ".join(str(Fraction(float(v)).limit_denominator(12)) for v in shift)


def is_network(crystal) -> bool:
    """True for a crystal cut by a network of twin domains (more domains than variants): colour
    by variant reads better there than by domain."""
    info = crystal.info or {}
    n_domains = int(info.get("n_domains", len(np.unique(crystal.domain))))
    return n_domains > max(int(info.get("n_variants", 1)), 2)


def colour_atoms(crystal, mode: str, background: str = "dark") -> Colouring:
    """Colours for ``mode`` in COLOUR_MODES, with a legend, for a "dark" or "light" background:
    domains and ADP groups from a palette distinct for 100 entries, variants in four fixed
    colours labelled by their total shift, elements in Jmol's colours made readable."""
    if mode == "domain":
        palette = palettes.categorical(len(np.unique(crystal.domain)), background)
        col = _categorical(crystal.domain, lambda i, _v: palette[i])
        col.legend = [(f"domain {name}", rgb) for name, rgb in col.legend]
        return col
    if mode == "variant":
        fixed = palettes.VARIANT_COLOURS
        extra = palettes.categorical(len(np.unique(crystal.variant)) + len(fixed), background)
        col = _categorical(crystal.variant, lambda i, _v: fixed[i] if i < len(fixed) else extra[i])
        shifts = (crystal.info or {}).get("variant_shifts") or []
        col.legend = [(f"variant {name}" + (f" (shift {shift_text(shifts[int(name)])})"
                                            if name.isdigit() and int(name) < len(shifts) else ""), rgb)
                      for name, rgb in col.legend]
        return col
    if mode == "orientation":
        orientations = atom_orientations(crystal)
        palette = palettes.categorical(len(np.unique(orientations)), background)
        col = _categorical(orientations, lambda i, _v: palette[i])
        col.legend = [(label, rgb) for label, (_name, rgb) in
                      zip(orientation_labels(crystal), col.legend, strict=True)]
        return col
    if mode == "element":
        return _categorical(crystal.elements,
                            lambda _i, el: palettes.element_colour(_bare_element(el), background))
    if mode == "adp group":
        palette = palettes.categorical(len(np.unique(crystal.adp_groups)), background)
        return _categorical(crystal.adp_groups, lambda i, _v: palette[i])
    raise ValueError(f"unknown colour mode {mode!r}; known: {', '.join(COLOUR_MODES)}")


def atom_orientations(crystal) -> np.ndarray:
    """Orientation index per atom: of its variant (rotation twins, ``info["variant_orientations"]``),
    else 0 (every translation twin keeps the structure's orientation)."""
    per_variant = crystal.info.get("variant_orientations")
    if not per_variant:
        return np.zeros(len(crystal.variant), dtype=np.int64)
    return np.asarray(per_variant, dtype=np.int64)[np.asarray(crystal.variant, dtype=np.int64)]


def orientation_labels(crystal) -> list[str]:
    """Legend labels of the orientations present, by the direction of their c axis."""
    present = np.unique(atom_orientations(crystal))
    orientations = crystal.info.get("orientations")
    if not orientations:
        if crystal.cell is None:
            return [f"orientation {o}" for o in present]
        c = np.asarray(crystal.cell, float)[2]
        orientations = [{"c_axis": list(c / np.linalg.norm(c))}]
    return [f"orientation {o}: c along ({', '.join(f'{x:.2f}' for x in orientations[o]['c_axis'])})"
            for o in present]


def element_mask(elements: np.ndarray, hidden: set[str] | frozenset[str]) -> np.ndarray:
    """True for atoms whose element is not in ``hidden``."""
    if not hidden:
        return np.ones(len(elements), dtype=bool)
    return ~np.isin(np.asarray(elements), list(hidden))


def miller_normal(cell: np.ndarray, hkl) -> np.ndarray:
    """Unit normal of the plane (h k l) of a cell (rows a, b, c): h a* + k b* + l c*."""
    hkl = np.asarray(hkl, dtype=float)
    if not np.any(hkl):
        raise ValueError("(0 0 0) is not a plane")
    recip = np.linalg.inv(np.asarray(cell, dtype=float)).T  # rows a*, b*, c* (no 2 pi)
    n = hkl @ recip
    return n / np.linalg.norm(n)


def parse_hkl(text: str) -> tuple[int, int, int]:
    """'1 1 0', '1,1,0', '110' or '1-10' -> (h, k, l); ValueError if it does not read."""
    t = text.strip().strip("()")
    parts = t.replace(",", " ").split()
    if len(parts) == 1:
        digits: list[int] = []
        s = parts[0]
        i = 0
        while i < len(s):
            sign = 1
            if s[i] == "-":
                sign, i = -1, i + 1
            if i >= len(s) or not s[i].isdigit():
                raise ValueError(f"cannot read Miller indices from {text!r}")
            digits.append(sign * int(s[i]))
            i += 1
        parts = [str(d) for d in digits]
    if len(parts) != 3:
        raise ValueError(f"need three Miller indices h k l, got {text!r}")
    hkl = tuple(int(p) for p in parts)
    if not any(hkl):
        raise ValueError("(0 0 0) is not a plane")
    return hkl  # type: ignore[return-value]


def projection_range(positions: np.ndarray, normal: np.ndarray) -> tuple[float, float]:
    """Smallest and largest position . normal (Å)."""
    if len(positions) == 0:
        return 0.0, 0.0
    d = positions @ np.asarray(normal, dtype=float)
    return float(d.min()), float(d.max())


def clip_mask(positions: np.ndarray, normal: np.ndarray, centre: float, thickness: float) -> np.ndarray:
    """True for atoms inside the slab |position . normal - centre| <= thickness / 2."""
    d = positions @ np.asarray(normal, dtype=float)
    return np.abs(d - centre) <= thickness / 2.0


def boundary_polygons(crystal) -> list[np.ndarray]:
    """The twin boundary polygons of ``crystal.info['boundaries']`` as (m, 3) arrays (m >= 3)."""
    out = []
    for poly in (crystal.info or {}).get("boundaries", []) or []:
        try:
            arr = np.asarray(poly, dtype=float).reshape(-1, 3)
        except (TypeError, ValueError):
            continue
        if len(arr) >= 3 and np.all(np.isfinite(arr)):
            out.append(arr)
    return out


def polygon_normal(poly: np.ndarray) -> np.ndarray:
    """Unit normal of a planar polygon (Newell's method)."""
    p = np.asarray(poly, dtype=float)
    q = np.roll(p, -1, axis=0)
    n = np.array(
        [
            np.sum((p[:, 1] - q[:, 1]) * (p[:, 2] + q[:, 2])),
            np.sum((p[:, 2] - q[:, 2]) * (p[:, 0] + q[:, 0])),
            np.sum((p[:, 0] - q[:, 0]) * (p[:, 1] + q[:, 1])),
        ]
    )
    norm = np.linalg.norm(n)
    return n / norm if norm > 0 else np.array([0.0, 0.0, 1.0])


def triangulate(polygons: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Fan-triangulate convex polygons: vertices (V, 3) float32 and faces (F, 3) uint32."""
    verts, faces = [], []
    offset = 0
    for poly in polygons:
        m = len(poly)
        verts.append(poly)
        for i in range(1, m - 1):
            faces.append((offset, offset + i, offset + i + 1))
        offset += m
    if not verts:
        return np.zeros((0, 3), np.float32), np.zeros((0, 3), np.uint32)
    return np.concatenate(verts).astype(np.float32), np.asarray(faces, dtype=np.uint32)


def clip_polygon_to_slab(poly: np.ndarray, normal: np.ndarray, centre: float,
                         thickness: float) -> np.ndarray | None:
    """The part of the convex polygon ``poly`` (m, 3) inside the slab |p . normal - centre| <=
    thickness / 2 (Sutherland-Hodgman against the slab's two planes); None where nothing is left."""
    n = np.asarray(normal, float)
    pts = np.asarray(poly, float)
    for sign, limit in ((1.0, centre + thickness / 2), (-1.0, -(centre - thickness / 2))):
        if len(pts) == 0:
            break
        d = sign * (pts @ n) - limit  # <= 0 inside this plane
        out = []
        for k in range(len(pts)):
            a, b, da, db = pts[k], pts[(k + 1) % len(pts)], d[k], d[(k + 1) % len(pts)]
            if da <= 0:
                out.append(a)
            if (da < 0 < db) or (db < 0 < da):
                out.append(a + (b - a) * (da / (da - db)))
        pts = np.array(out).reshape(-1, 3)
    return pts if len(pts) >= 3 else None


def clipped_polygons(polygons: list[np.ndarray], clip) -> list[np.ndarray]:
    """``polygons`` cut to the slab ``clip`` = (normal, centre, thickness) (None: as they are)."""
    if clip is None:
        return list(polygons)
    kept = (clip_polygon_to_slab(p, *clip) for p in polygons)
    return [p for p in kept if p is not None]


def cell_edges(cell: np.ndarray, origin: np.ndarray) -> np.ndarray:
    """The 12 edges of the unit cell (rows a, b, c, Å) at ``origin`` as 24 points (pairs)."""
    a, b, c = np.asarray(cell, float)
    o = np.asarray(origin, float)
    corners = {(i, j, k): o + i * a + j * b + k * c for i in (0, 1) for j in (0, 1) for k in (0, 1)}
    edges = []
    for (i, j, k), p in corners.items():
        for step in ((1, 0, 0), (0, 1, 0), (0, 0, 1)):
            q = (i + step[0], j + step[1], k + step[2])
            if q in corners:
                edges += [p, corners[q]]
    return np.array(edges)


def cell_origin(crystal) -> np.ndarray:
    """Where the unit cell is drawn: the crystal's lowest corner (smallest x, y, z), Å."""
    return np.asarray(crystal.positions, float).min(axis=0)


def boundary_normals(crystal) -> list[tuple[str, np.ndarray, float]]:
    """Distinct boundary plane normals with a label and the plane offset (normal . point)."""
    out: list[tuple[str, np.ndarray, float]] = []
    for i, poly in enumerate(boundary_polygons(crystal)):
        n = polygon_normal(poly)
        out.append((f"boundary {i + 1}", n, float(poly.mean(axis=0) @ n)))
    return out


HALIDES = ("F", "Cl", "Br", "I")
OCTAHEDRON_CUTOFF = 1.3  # ligands within this x the median nearest centre-ligand distance count
# faces of an octahedron whose vertices come as three opposite pairs (0, 1), (2, 3), (4, 5)
_OCTA_FACES = np.array(
    [(a, b, c) for a in (0, 1) for b in (2, 3) for c in (4, 5)], dtype=np.int64
)


@dataclass
class Octahedra:
    """Coordination octahedra: ``centres`` (m,) atom indices, ``vertices`` (m, 6, 3) Å as three
    opposite pairs, ``faces`` (m * 8, 3) indices into ``vertices.reshape(-1, 3)`` (outward)."""

    centres: np.ndarray
    vertices: np.ndarray
    faces: np.ndarray

    def __len__(self) -> int:
        return len(self.centres)

    def subset(self, keep: np.ndarray) -> Octahedra:
        """The octahedra selected by the bool mask ``keep`` (faces renumbered)."""
        keep = np.asarray(keep, bool)
        old = np.nonzero(keep)[0]
        local = self.faces.reshape(-1, 8, 3)[old] - 6 * old[:, None, None]
        faces = (local + 6 * np.arange(len(old))[:, None, None]).reshape(-1, 3)
        return Octahedra(self.centres[keep], self.vertices[keep], faces)


def _ligand_sites(crystal, ligands: tuple[str, ...]) -> np.ndarray:
    """Positions (Å) of the ligand sites: ordinary atoms as they are, each split site (atoms sharing
    an exclusion id) as the occupancy-weighted mean of its alternatives."""
    bare = np.array([_bare_element(e) for e in np.asarray(crystal.elements)])
    sel = np.isin(bare, list(ligands))
    pos = np.asarray(crystal.positions, float)[sel]
    excl = np.asarray(crystal.exclusion)[sel]
    occ = np.asarray(crystal.occupancy, float)[sel]
    whole = excl < 0
    out = [pos[whole]]
    if (~whole).any():
        ids, inverse = np.unique(excl[~whole], return_inverse=True)
        w = np.maximum(occ[~whole], 1e-12)
        sums = np.zeros((len(ids), 3))
        np.add.at(sums, inverse, pos[~whole] * w[:, None])
        out.append(sums / np.bincount(inverse, weights=w)[:, None])
    return np.concatenate(out) if out else np.zeros((0, 3))


def octahedron_faces(vertices: np.ndarray) -> np.ndarray:
    """The 8 triangles of each octahedron of ``vertices`` (m, 6, 3; opposite pairs (0, 1), (2, 3),
    (4, 5)), wound so that every normal points away from the centre: (m * 8, 3) int."""
    v = np.asarray(vertices, float)
    m = len(v)
    faces = (_OCTA_FACES[None, :, :] + 6 * np.arange(m)[:, None, None]).reshape(-1, 3)
    if m == 0:
        return faces
    flat = v.reshape(-1, 3)
    p0, p1, p2 = flat[faces[:, 0]], flat[faces[:, 1]], flat[faces[:, 2]]
    normal = np.cross(p1 - p0, p2 - p0)
    centre = np.repeat(v.mean(axis=1), 8, axis=0)
    inward = np.einsum("ij,ij->i", normal, (p0 + p1 + p2) / 3 - centre) < 0
    faces[inward] = faces[inward][:, [0, 2, 1]]
    return faces


def octahedra(crystal, centre: str = "Pb", ligands: tuple[str, ...] = HALIDES,
              cutoff: float | None = None) -> Octahedra:
    """The ``centre``X6 octahedra of ``crystal``: for every ``centre`` atom whose six nearest
    ligand sites (split sites merged) lie within ``cutoff`` Å (default 1.3 x the median nearest
    centre-ligand distance) and form three opposite pairs. Under-coordinated surface atoms and
    strongly distorted environments get no octahedron."""
    from scipy.spatial import cKDTree

    elements = np.asarray(crystal.elements)
    centres = np.nonzero(np.array([_bare_element(e) == centre for e in elements], dtype=bool))[0]
    sites = _ligand_sites(crystal, ligands)
    empty = Octahedra(np.zeros(0, np.int64), np.zeros((0, 6, 3)), np.zeros((0, 3), np.int64))
    if len(centres) == 0 or len(sites) < 6:
        return empty
    pc = np.asarray(crystal.positions, float)[centres]
    dist, idx = cKDTree(sites).query(pc, k=6)
    if cutoff is None:
        cutoff = OCTAHEDRON_CUTOFF * float(np.median(dist[:, 0]))
    full = np.all(dist <= cutoff, axis=1)
    vec = sites[idx] - pc[:, None, :]  # (n, 6, 3)
    unit = vec / np.maximum(np.linalg.norm(vec, axis=2, keepdims=True), 1e-12)
    dots = np.einsum("nik,njk->nij", unit, unit)
    opposite = np.argmin(dots, axis=2)  # (n, 6): the most anti-parallel ligand of each
    rows = np.arange(len(pc))[:, None]
    paired = np.all(opposite[rows, opposite] == np.arange(6)[None, :], axis=1)
    paired &= np.all(dots[rows, np.arange(6)[None, :], opposite] < -0.5, axis=1)
    keep = full & paired
    vec, opposite = vec[keep], opposite[keep]
    n = len(vec)
    order = np.empty((n, 6), np.int64)
    order[:, 0], order[:, 1] = 0, opposite[:, 0]
    used = np.zeros((n, 6), bool)
    used[np.arange(n), 0] = used[np.arange(n), opposite[:, 0]] = True
    second = np.argmax(~used, axis=1)  # first ligand of the second pair
    order[:, 2], order[:, 3] = second, opposite[np.arange(n), second]
    used[np.arange(n), order[:, 2]] = used[np.arange(n), order[:, 3]] = True
    rest = np.nonzero(~used)[1].reshape(n, 2)
    order[:, 4], order[:, 5] = rest[:, 0], rest[:, 1]
    verts = np.take_along_axis(vec, order[:, :, None], axis=1) + pc[keep][:, None, :]
    return Octahedra(centres[keep], verts, octahedron_faces(verts))


def octahedra_colours(face_rgb: np.ndarray, faces_vertices: np.ndarray, alpha: float = 0.35,
                      light: tuple[float, float, float] = (0.4, 0.5, 0.77)) -> np.ndarray:
    """RGBA per face: ``face_rgb`` (F, 3) dimmed by |normal . light| (0.55-1, a cheap depth cue)
    and made translucent with ``alpha``. ``faces_vertices``: (F, 3, 3) Å."""
    p = np.asarray(faces_vertices, float)
    n = np.cross(p[:, 1] - p[:, 0], p[:, 2] - p[:, 0])
    n /= np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-12)
    lam = np.asarray(light, float) / np.linalg.norm(light)
    shade = 0.55 + 0.45 * np.abs(n @ lam)
    rgba = np.empty((len(p), 4), np.float32)
    rgba[:, :3] = np.asarray(face_rgb, float)[:, :3] * shade[:, None]
    rgba[:, 3] = alpha
    return rgba
