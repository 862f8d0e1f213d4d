"""Placement of twin boundaries (planes) in a nanocrystal.

A boundary is one plane (hkl) of a twin member at a *level* c: the plane holds the points whose
fractional coordinates f satisfy f . (h, k, l) = c, i.e. the Cartesian plane n . r = c / |G| with
n = G / |G|, G = h a* + k b* + l c* (Å^-1). Nodes with f . hkl > c are on its far side and are
displaced by the member's shift. Levels are always placed midway between two consecutive layers
of nodes (Pb layers) of the crystal, so no node lies on a plane.

Placement modes: one plane at a fractional position of the crystal's extent along the normal
(0.5 = through the centre), N parallel planes at equal spacing, N planes of several orientations
(grouped by plane: a 2D network for two orientations, 3D for three). Random networks (by
domain size or by number) are in ``networks.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.spatial import ConvexHull, QhullError

from nanotwin_core.builder.twin_laws import TwinMember
from nanotwin_core.errors import NanotwinError

_LEVEL_DECIMALS = 6


@dataclass(frozen=True)
class Boundary:
    """One twin boundary: ``member`` (shift and plane) at ``level`` = f . hkl of the plane."""

    member: TwinMember
    level: float
    law: str = ""

    @property
    def plane(self) -> np.ndarray:
        return np.array(self.member.plane, dtype=float)

    @property
    def shift_frac(self) -> np.ndarray:
        return self.member.shift_frac

    def far_side(self, frac: np.ndarray) -> np.ndarray:
        """True for fractional positions (N, 3) on the far (displaced) side."""
        return np.asarray(frac, dtype=float) @ self.plane > self.level

    def normal(self, cell: np.ndarray) -> np.ndarray:
        """Unit normal (Cartesian) pointing to the far side."""
        g = np.linalg.inv(cell) @ self.plane
        return g / np.linalg.norm(g)

    def distance(self, cell: np.ndarray) -> float:
        """Signed distance (Å) of the plane from the origin along ``normal``."""
        g = np.linalg.inv(cell) @ self.plane
        return float(self.level / np.linalg.norm(g))

    def as_dict(self, cell: np.ndarray) -> dict:
        """JSON-able description (plane, shift, normal, distance in Å)."""
        return {"member": self.member.label, "law": self.law, "plane": list(self.member.plane),
                "shift_frac": [float(x) for x in self.shift_frac], "level": float(self.level),
                "normal": [float(x) for x in self.normal(cell)], "distance": self.distance(cell)}


def layer_levels(node_frac: np.ndarray, plane: Sequence[int]) -> np.ndarray:
    """Sorted distinct values of f . hkl over the nodes (the node layers parallel to the plane)."""
    v = np.asarray(node_frac, dtype=float) @ np.asarray(plane, dtype=float)
    return np.unique(np.round(v, _LEVEL_DECIMALS))


def layer_midpoints(node_frac: np.ndarray, plane: Sequence[int]) -> np.ndarray:
    """Levels midway between consecutive node layers (empty if the crystal has one layer)."""
    lv = layer_levels(node_frac, plane)
    return 0.5 * (lv[1:] + lv[:-1])


def _snap(mids: np.ndarray, target: float) -> float:
    return float(mids[int(np.argmin(np.abs(mids - target)))])


def boundary_at(node_frac: np.ndarray, member: TwinMember, fraction: float = 0.5, law: str = "") -> Boundary:
    """One boundary at ``fraction`` (0-1) of the crystal's extent along the plane normal.

    ``fraction=0.5`` puts it through the centre (the layer midpoint nearest to it).
    """
    if not 0.0 <= fraction <= 1.0:
        raise NanotwinError(f"boundary position must be a fraction in [0, 1], got {fraction}")
    mids = layer_midpoints(node_frac, member.plane)
    if len(mids) == 0:
        raise NanotwinError(f"the crystal has a single layer of nodes parallel to ({member.plane}); "
                            "no room for a twin boundary")
    lv = layer_levels(node_frac, member.plane)
    return Boundary(member, _snap(mids, lv[0] + fraction * (lv[-1] - lv[0])), law)


def parallel_boundaries(node_frac: np.ndarray, member: TwinMember, n: int, law: str = "") -> list[Boundary]:
    """``n`` parallel boundaries at equal spacing (fractions i/(n+1)), distinct layer midpoints."""
    return _spread(node_frac, [(member, law)], n)


def _spread(node_frac: np.ndarray, members: list[tuple[TwinMember, str]], n: int) -> list[Boundary]:
    mids = layer_midpoints(node_frac, members[0][0].plane)
    lv = layer_levels(node_frac, members[0][0].plane)
    if n > len(mids):
        plane = " ".join(map(str, members[0][0].plane))
        raise NanotwinError(f"cannot place {n} distinct boundaries parallel to ({plane}): "
                            f"the crystal has {len(lv)} node layers, room for {len(mids)}")
    out: list[Boundary] = []
    used: set[float] = set()
    for i in range(n):
        target = lv[0] + (i + 1) / (n + 1) * (lv[-1] - lv[0])
        free = np.array([m for m in mids if m not in used])
        level = _snap(free, target)
        used.add(level)
        member, law = members[i % len(members)]
        out.append(Boundary(member, level, law))
    return out


def regular_boundaries(
    node_frac: np.ndarray, members: Sequence[tuple[str, TwinMember]], n: int
) -> list[Boundary]:
    """``n`` boundaries shared round-robin among the members, equally spaced per plane orientation.

    One member and n = 1: a single plane through the centre. Members of the same plane alternate
    along it; members of two (three) orientations make a 2D (3D) network.
    """
    if n < 0:
        raise NanotwinError(f"number of boundaries must be >= 0, got {n}")
    if n == 0 or not members:
        return []
    counts: dict[int, int] = {}
    for i in range(n):
        counts[i % len(members)] = counts.get(i % len(members), 0) + 1
    per_plane: dict[tuple[int, int, int], list[tuple[TwinMember, str]]] = {}
    for i, (law, m) in enumerate(members):
        per_plane.setdefault(m.plane, []).extend([(m, law)] * counts.get(i, 0))
    out: list[Boundary] = []
    for plane, items in per_plane.items():
        if not items:
            continue
        # interleave members of one plane so that they alternate along the normal
        order = sorted(range(len(items)), key=lambda j: (items[:j].count(items[j]), j))
        room = len(layer_midpoints(node_frac, plane))
        if len(items) > room:
            raise NanotwinError(
                f"cannot place {n} boundaries: {len(items)} of them would lie parallel to "
                f"({' '.join(map(str, plane))}), where the crystal has room for {room}; give fewer "
                "boundaries (--boundaries) or a larger crystal"
            )
        out.extend(_spread(node_frac, [items[j] for j in order], len(items)))
    return out


def boundary_polygon(boundary: Boundary, cell: np.ndarray, points: np.ndarray) -> list[list[float]]:
    """The boundary plane clipped to the convex hull of ``points`` (Å): polygon vertices in order.

    Returns [] if the plane misses the hull or the points are degenerate.
    """
    pts = np.asarray(points, dtype=float)
    if len(pts) < 4:
        return []
    try:
        hull = ConvexHull(pts)
    except QhullError:
        return []
    n = boundary.normal(cell)
    d = boundary.distance(cell)
    edges = set()
    for simplex in hull.simplices:
        for a in range(3):
            i, j = int(simplex[a]), int(simplex[(a + 1) % 3])
            edges.add((min(i, j), max(i, j)))
    cuts = []
    for i, j in edges:
        si, sj = pts[i] @ n - d, pts[j] @ n - d
        if si * sj < 0:
            t = si / (si - sj)
            cuts.append(pts[i] + t * (pts[j] - pts[i]))
    if len(cuts) < 3:
        return []
    cuts_arr = np.array(cuts)
    centre = cuts_arr.mean(axis=0)
    e1 = np.cross(n, [1.0, 0.0, 0.0])
    if np.linalg.norm(e1) < 1e-6:
        e1 = np.cross(n, [0.0, 1.0, 0.0])
    e1 /= np.linalg.norm(e1)
    e2 = np.cross(n, e1)
    ang = np.arctan2((cuts_arr - centre) @ e2, (cuts_arr - centre) @ e1)
    ordered = cuts_arr[np.argsort(ang)]
    # drop near-duplicates
    poly = [ordered[0]]
    for p in ordered[1:]:
        if np.linalg.norm(p - poly[-1]) > 1e-6:
            poly.append(p)
    return [[float(x) for x in p] for p in poly]
