"""Rotation and reflection twin laws: ``R90<uvw>{hkl}`` and ``m{hkl}`` (docs/internals.md).

``R90<uvw>{hkl}``: the domain beyond a composition plane of {hkl} is the structure rotated by 90°
about <uvw> (a direction lying in the plane, h u + k v + l w = 0); ``R90[uvw](hkl)`` is one
member, and the sense of the rotation follows the direction's sign (the family holds both).
``m{hkl}``: the far domain is the structure reflected across the plane (``m(hkl)`` one member).
Both are written in the parent cell and expanded with its point group like translation laws.

The operation acts about the Pb of node 0 (the rotation axis or mirror passes through it). On
the coherent (Pb) node lattice of basis B (rows, Å) it is the map n -> n M, M = B R^T B^-1; a
pseudocubic lattice is mapped onto itself up to the orthorhombic strain, so M rounds to an
integer (unimodular) matrix P and the rotated Pb sit exactly on the near domain's nodes: the far
domain is strained onto the near lattice. The residual misfit max_i |b_i R^T - (P B)_i| / |b_i|
is stated (``RotationOperation.misfit``: 0.6-1.2 % for gamma CsPbBr3 and CsPbCl3, 2.3-3.1 % for
CsPbI3, whose m{110} misses by more) and refused above ``MISFIT_TOLERANCE`` (4 %). Atoms keep
their offsets from their Pb, rotated (x -> R x), and are owned again by the rule of
``ownership.py``: each atom (a split cluster at its centre) belongs to the node whose formula-
unit centre, node + (b1 + b2 + b3)/4, is nearest in node coordinates, so every node of the
rotated domain again carries one formula unit and every Pb-X-Pb bridge across a boundary is
provided by exactly one node (``rotated_contents``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from nanotwin_core.builder.ownership import Ownership
from nanotwin_core.builder.point_group import expand_directions_planes
from nanotwin_core.crystal import LatticeContent
from nanotwin_core.errors import NanotwinError

MISFIT_TOLERANCE = 0.04  # largest relative misfit of a rotated node basis vector
_ROT_RE = re.compile(r"^\s*(R90|m)\s*([<\[][^>\]]*[>\]])?\s*([({][^)}]*[)}])\s*$")


@dataclass(frozen=True)
class RotationMember:
    """One rotation (``kind`` "R90", axis ``direction``) or reflection (``kind`` "m") on ``plane``."""

    kind: str
    direction: tuple[int, int, int] | None
    plane: tuple[int, int, int]

    @property
    def label(self) -> str:
        idx = "".join(str(int(x)) for x in self.plane)
        if self.kind == "m":
            return f"m({idx})"
        return f"R90[{''.join(str(int(x)) for x in self.direction)}]({idx})"

    @property
    def shift_frac(self) -> np.ndarray:
        """No translation part (the operation acts about the Pb of node 0)."""
        return np.zeros(3)

    def __str__(self) -> str:
        return self.label

    def cartesian(self, cell: np.ndarray) -> np.ndarray:
        """The 3x3 Cartesian operation R (columns act on column vectors)."""
        cell = np.asarray(cell, float)
        if self.kind == "m":
            g = np.linalg.inv(cell) @ np.asarray(self.plane, float)
            n = g / np.linalg.norm(g)
            return np.eye(3) - 2.0 * np.outer(n, n)
        axis = np.asarray(self.direction, float) @ cell
        k = axis / np.linalg.norm(axis)
        kx = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
        return np.eye(3) + kx + kx @ kx  # Rodrigues, 90 degrees: sin = 1, 1 - cos = 1


@dataclass(frozen=True)
class RotationLaw:
    """A parsed rotation or reflection law: a family (``family=True``) or one member."""

    kind: str
    direction: tuple[int, int, int] | None
    plane: tuple[int, int, int]
    family: bool = True
    text: str = ""

    @property
    def label(self) -> str:
        idx = "".join(str(int(x)) for x in self.plane)
        plane = f"{{{idx}}}" if self.family else f"({idx})"
        if self.kind == "m":
            return f"m{plane}"
        d = "".join(str(int(x)) for x in self.direction)
        return f"R90<{d}>{plane}" if self.family else f"R90[{d}]{plane}"

    def __str__(self) -> str:
        return self.label

    def members(self, structure=None) -> list[RotationMember]:
        """The members (a family expanded with the structure's point group; axis in the plane)."""
        if not self.family:
            return [RotationMember(self.kind, self.direction, self.plane)]
        dirs, planes = expand_directions_planes(self.direction, self.plane, structure)
        out: list[RotationMember] = []
        for h in planes:
            if self.kind == "m":
                out.append(RotationMember("m", None, tuple(int(x) for x in h)))
                continue
            out.extend(RotationMember("R90", tuple(int(x) for x in u), tuple(int(x) for x in h))
                       for u in dirs if int(np.dot(h, u)) == 0)
        if not out:
            raise NanotwinError(f"twin law {self.label}: no direction of <uvw> lies in a plane of {{hkl}} "
                                "(need h u + k v + l w = 0)")
        return out


def is_rotation_text(text) -> bool:
    """True for "R90..." and "m..." law texts (translation laws start with k, a number)."""
    return isinstance(text, str) and bool(re.match(r"^\s*(R90|m)(?![A-Za-z0-9])", text))


def parse_rotation_law(text: str, parse_indices) -> RotationLaw:
    """Parse "R90<uvw>{hkl}", "R90[uvw](hkl)", "m{hkl}" or "m(hkl)" (``parse_indices(text, law)``
    reads three indices)."""
    m = _ROT_RE.match(str(text))
    if not m:
        raise NanotwinError(f"twin law {text!r} not understood: write R90<uvw>{{hkl}} (90° about <uvw>, "
                            "composition plane {hkl}) or m{hkl} (reflection across {hkl})")
    kind, axis, plane = m.groups()
    family = plane[0] == "{"
    if (plane[0], plane[-1]) not in (("{", "}"), ("(", ")")):
        raise NanotwinError(f"twin law {text!r}: close the plane with the same kind of bracket")
    h = parse_indices(plane[1:-1], str(text))
    if not any(h):
        raise NanotwinError(f"twin law {text!r}: the plane is zero")
    if kind == "m":
        if axis:
            raise NanotwinError(f"twin law {text!r}: a reflection takes a plane only, m{{hkl}}")
        return RotationLaw("m", None, h, family, str(text))
    if not axis:
        raise NanotwinError(f"twin law {text!r}: a rotation needs its axis, R90<uvw>{{hkl}}")
    if (axis[0] == "<") != family or (axis[0], axis[-1]) not in (("<", ">"), ("[", "]")):
        raise NanotwinError(f"twin law {text!r}: use R90<uvw>{{hkl}} for a family or R90[uvw](hkl) for one "
                            "member")
    u = parse_indices(axis[1:-1], str(text))
    if not any(u):
        raise NanotwinError(f"twin law {text!r}: the axis is zero")
    if not family and int(np.dot(u, h)) != 0:
        raise NanotwinError(f"twin law {text!r}: the axis does not lie in the plane (h u + k v + l w != 0)")
    return RotationLaw("R90", u, h, family, str(text))


# ----------------------------------------------------------------------------- on the node lattice
@dataclass(frozen=True)
class RotationOperation:
    """A member acting on the node lattice: n -> n P (integer), Cartesian R, relative misfit."""

    member: RotationMember
    P: np.ndarray
    R: np.ndarray
    misfit: float


def node_operation(member: RotationMember, own: Ownership) -> RotationOperation:
    """P, R and the misfit of ``member`` on the node lattice of ``own`` (NanotwinError above
    ``MISFIT_TOLERANCE`` or when the operation does not map the node lattice onto itself)."""
    rot = member.cartesian(own.cell)
    basis = own.node_basis
    m = basis @ rot.T @ np.linalg.inv(basis)
    p = np.rint(m).astype(np.int64)
    if abs(abs(round(np.linalg.det(p))) - 1) > 0 or abs(abs(np.linalg.det(p)) - 1) > 1e-9:
        raise NanotwinError(f"twin law {member.label}: the operation does not map the {own.element} lattice "
                            "onto itself (no coherent rotated domain)")
    residual = basis @ rot.T - p @ basis
    misfit = float(np.max(np.linalg.norm(residual, axis=1) / np.linalg.norm(basis, axis=1)))
    if misfit > MISFIT_TOLERANCE:
        raise NanotwinError(f"twin law {member.label}: the rotated {own.element} lattice misses the near "
                            f"one by {100 * misfit:.1f} % (tolerance {100 * MISFIT_TOLERANCE:g} %): the cell "
                            "is too far from pseudocubic for a coherent rotated domain")
    return RotationOperation(member, p, rot, misfit)


def _fu_owner(u: np.ndarray) -> np.ndarray:
    """Owner node shift of node coordinates u (..., 3) relative to a node: nearest formula-unit centre."""
    return np.rint(u - 0.25).astype(np.int64)


def rotated_contents(own: Ownership, op: RotationOperation) -> list[LatticeContent]:
    """Contents of the rotated domain, indexed by the class k of a node's pre-image (n P^-1 is of
    class k): every atom of every class rotated about its Pb, owned again by the nearest
    formula-unit centre (module doc). NanotwinError if a class would not hold one formula unit."""
    a = own.cell
    basis_inv = np.linalg.inv(own.node_basis)
    p_inv = np.rint(np.linalg.inv(op.P)).astype(np.int64)
    reps = np.rint(own.node_coords(own.class_offsets)).astype(np.int64)
    parts: list[list[tuple]] = [[] for _ in range(own.n_classes)]
    for k, c in enumerate(own.contents):
        x = (np.asarray(c.frac, float) - own.origin_frac) @ a  # Å, from the Pb
        u = (x @ op.R.T) @ basis_inv  # node coordinates of the rotated offsets
        delta = _fu_owner(u)
        for ex in np.unique(c.exclusion[c.exclusion >= 0]):
            cluster = c.exclusion == ex
            delta[cluster] = _fu_owner(u[cluster].mean(axis=0))
        target = own.class_of(reps[k][None, :] + delta @ p_inv)
        for i in range(len(c)):
            frac = own.origin_frac + (u[i] - delta[i]) @ own.node_basis_frac
            parts[int(target[i])].append((frac, c.elements[i], c.adp_groups[i], c.occupancy[i],
                                          (k, int(c.exclusion[i])) if c.exclusion[i] >= 0 else None))
    out = []
    reference = sorted(own.contents[0].elements.tolist())
    for k, atoms in enumerate(parts):
        if sorted(str(t[1]) for t in atoms) != reference:
            raise NanotwinError(f"twin law {op.member.label}: the rotated atoms cannot be shared one formula "
                                f"unit per {own.element} by the ownership rule (class {k})")
        groups: dict = {}
        out.append(LatticeContent(
            frac=np.array([t[0] for t in atoms]), elements=np.array([t[1] for t in atoms]),
            adp_groups=np.array([t[2] for t in atoms]), occupancy=np.array([t[3] for t in atoms], float),
            exclusion=np.array([-1 if t[4] is None else groups.setdefault(t[4], len(groups)) for t in atoms],
                               dtype=np.int64)))
    return out
