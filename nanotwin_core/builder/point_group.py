"""Point-group expansion of twin-law families: directions <uvw> and planes {hkl} (fixed order)."""

from __future__ import annotations

import numpy as np

from nanotwin_core.structures.structure import Structure


def point_group_rotations(structure: Structure | None) -> list[np.ndarray]:
    """Rotation parts (integer 3x3, acting on fractional column vectors) of the space group."""
    if structure is None:
        return [np.eye(3, dtype=int)]
    out: list[np.ndarray] = []
    for op in structure.space_group().operations():
        r = np.array(op.rot, dtype=int) // op.DEN
        if not any(np.array_equal(r, q) for q in out):
            out.append(r)
    return out


def norm_plane(h) -> tuple[int, int, int]:
    h = tuple(int(x) for x in h)
    for x in h:
        if x != 0:
            return h if x > 0 else tuple(-y for y in h)
    return h


def unique_rows(rows) -> list[np.ndarray]:
    out: list[np.ndarray] = []
    for r in rows:
        r = np.rint(np.asarray(r)).astype(int)
        if not any(np.array_equal(r, q) for q in out):
            out.append(r)
    # fixed order: descending lexicographic (positive first)
    out.sort(key=lambda v: tuple(-x for x in v))
    return out


def expand_directions_planes(direction, plane, structure: Structure | None) -> tuple[list, list]:
    """Distinct directions (None: none) and normalised planes of a family under the point group,
    in a fixed order (descending lexicographic)."""
    rots = point_group_rotations(structure)
    dirs = [] if direction is None else unique_rows([r @ np.array(direction) for r in rots])
    # planes transform as row vectors with the inverse rotation: h' = h R^-1
    h0 = np.array(plane)
    planes = unique_rows([norm_plane(tuple(np.rint(h0 @ np.linalg.inv(r)).astype(int))) for r in rots])
    return dirs, planes
