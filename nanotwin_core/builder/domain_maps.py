"""Domains of networks that mix translation and rotation (reflection) boundaries.

Every boundary is an affine map of the node lattice acting on its far side: a translation T
(n -> n + T, ``twins.node_contents``) or a rotation about the Pb of node 0 (n -> n P,
``rotation_laws``). Rotations do not commute with each other or with translations, so the far
side of several boundaries takes their maps composed in the order of the boundary list (each
boundary acts on the crystal the earlier ones made): g = g_last o ... o g_first, with
g(n) = n P + t, composing as (P1, t1) then (P2, t2) -> (P1 P2, t1 P2 + t2) and the Cartesian
R2 R1. A node n of map g = (P, t) carries the rotated content (``rotated_contents`` of P, R) of
the class of its pre-image (n - t) P^-1 (for P = 1: the class of n - t, as a translation twin).
Orientations are the distinct P; variants the distinct (P, class of t P^-1).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from nanotwin_core.builder.boundaries import Boundary
from nanotwin_core.builder.ownership import FRAC_TOL
from nanotwin_core.builder.rotation_laws import (
    RotationMember,
    RotationOperation,
    node_operation,
    rotated_contents,
)
from nanotwin_core.builder.shapes import NodeSelection
from nanotwin_core.crystal import LatticeContent
from nanotwin_core.errors import NanotwinError


def has_rotations(boundaries: Sequence[Boundary]) -> bool:
    """True when a boundary is a rotation or reflection twin."""
    return any(isinstance(b.member, RotationMember) for b in boundaries)


def mixed_node_contents(
    sel: NodeSelection, boundaries: Sequence[Boundary], base_shift: np.ndarray | None = None
) -> tuple[np.ndarray, list[LatticeContent], np.ndarray, np.ndarray, dict]:
    """(content id per node, contents, sides (N, B), variant id per node, info) of a network with
    rotation boundaries (module doc); ``base_shift`` translates the first domain."""
    own = sel.ownership
    nodes = np.asarray(sel.nodes, dtype=np.int64)
    frac = sel.node_frac()
    n_nodes = len(nodes)
    p_n = np.broadcast_to(np.eye(3, dtype=np.int64), (n_nodes, 3, 3)).copy()
    r_n = np.broadcast_to(np.eye(3), (n_nodes, 3, 3)).copy()
    first = np.zeros(3) if base_shift is None else np.asarray(base_shift, float).reshape(3)
    t_n = np.tile(_node_vector(own, first, "base_shift"), (n_nodes, 1))
    sides = np.zeros((n_nodes, len(boundaries)), dtype=bool)
    misfits = []
    for j, b in enumerate(boundaries):
        far = b.far_side(frac)
        sides[:, j] = far
        if isinstance(b.member, RotationMember):
            op = node_operation(b.member, own)
            misfits.append(op.misfit)
            t_n[far] = t_n[far] @ op.P
            p_n[far] = p_n[far] @ op.P
            r_n[far] = op.R @ r_n[far]
        else:
            t_n[far] += _node_vector(own, b.shift_frac, b.member.label)
    rotation = next(b.member for b in boundaries if isinstance(b.member, RotationMember))
    keys, orient = np.unique(p_n.reshape(n_nodes, 9), axis=0, return_inverse=True)
    orient = orient.reshape(-1)
    order = sorted(range(len(keys)), key=lambda o: (not np.array_equal(keys[o], np.eye(3).ravel()), o))
    keys, orient = keys[order], np.argsort(order)[orient]  # the unrotated orientation first
    contents: list[LatticeContent] = []
    orientations = []
    for o, key in enumerate(keys):
        p = key.reshape(3, 3)
        rot = r_n[np.nonzero(orient == o)[0][0]]
        op = RotationOperation(rotation, p, rot, 0.0)
        contents.extend(own.contents if np.array_equal(p, np.eye(3)) else rotated_contents(own, op))
        c_axis = rot @ own.cell[2]
        orientations.append({"P": p.tolist(), "c_axis": [float(x) for x in c_axis / np.linalg.norm(c_axis)]})
    p_inv = np.rint(np.linalg.inv(p_n.astype(float))).astype(np.int64)
    pre = np.einsum("ni,nij->nj", nodes - t_n, p_inv)
    ids = orient * own.n_classes + own.class_of(pre)
    shift_class = own.class_of(np.einsum("ni,nij->nj", t_n, p_inv))
    vkeys, var = np.unique(np.stack([orient, shift_class], axis=1), axis=0, return_inverse=True)
    info = {"orientations": orientations, "variant_orientations": [int(v) for v in vkeys[:, 0]],
            "rotation_misfit": float(max(misfits)) if misfits else 0.0}
    return ids, contents, sides, var.reshape(-1), info


def _node_vector(own, shift_frac: np.ndarray, what: str) -> np.ndarray:
    u = own.node_coords(np.asarray(shift_frac, float))
    if np.any(np.abs(u - np.round(u)) > FRAC_TOL):
        raise NanotwinError(f"{what}: the shift is not a vector of the coherent {own.element} sublattice "
                            "(incoherent shifts cannot be mixed with rotation twins)")
    return np.rint(u).astype(np.int64)
