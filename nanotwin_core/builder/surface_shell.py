"""A surface shell of given thickness whose sites form their own ADP and occupancy groups.

Depth of an atom = its distance below the convex hull of the crystal's atoms (0 for the atoms
on the hull; every built shape is convex). Atoms shallower than the shell thickness t get the
group ``<group>_surf`` (``Pb_surf``, ``S_surf``, ``X_ax_surf``...), so a fit gives them their own
B and occupancy while the distances stay those of the bulk. Thickness in Å, or in layers: k
layers = (k - 1/4) d, d the largest spacing of lattice planes of the coherent sublattice (one
formula-unit layer: a_p = 5.9 Å in CsPbBr3, a/sqrt(3) = 3.4 Å for the {111} planes of rock-salt
PbS); the quarter keeps the next layer's atoms out whatever their small displacements.
"""

from __future__ import annotations

import itertools

import numpy as np
from scipy.spatial import ConvexHull, QhullError

from nanotwin_core.builder.recontent import rebuild_crystal
from nanotwin_core.crystal import Crystal
from nanotwin_core.errors import NanotwinError
from nanotwin_core.structures.adp import SURFACE_SUFFIX

__all__ = ["SURFACE_SUFFIX", "atom_depths", "label_surface_shell", "layer_spacing", "shell_thickness"]



_CHUNK = 4096  # atoms per block of the atoms x facets distance table


def atom_depths(positions: np.ndarray, within: float | None = None) -> np.ndarray:
    """Distance (Å) of every position below the convex hull of all of them (0 = on the hull).

    ``within``: only depths up to this matter; deeper atoms get a lower bound (> ``within``),
    the inradius about the centroid minus their distance from it, and cost nothing.
    """
    pos = np.asarray(positions, dtype=float).reshape(-1, 3)
    try:
        hull = ConvexHull(pos)
    except (QhullError, ValueError):  # flat or tiny clusters: every atom is on the surface
        return np.zeros(len(pos))
    eq = hull.equations  # n . x + d <= 0 inside, |n| = 1
    centre = pos.mean(axis=0)
    inradius = float(-(eq[:, :3] @ centre + eq[:, 3]).max())
    depth = inradius - np.linalg.norm(pos - centre, axis=1)  # a lower bound of every depth
    todo = np.arange(len(pos)) if within is None else np.nonzero(depth <= within)[0]
    for start in range(0, len(todo), _CHUNK):
        idx = todo[start:start + _CHUNK]
        depth[idx] = -(pos[idx] @ eq[:, :3].T + eq[:, 3]).max(axis=1)
    return np.maximum(depth, 0.0)


def layer_spacing(node_basis: np.ndarray) -> float:
    """The largest spacing (Å) of lattice planes of the node lattice (rows: node vectors in Å)."""
    recip = np.linalg.inv(np.asarray(node_basis, dtype=float)).T  # rows b* with a_i . b*_j = delta_ij
    best = np.inf
    for hkl in itertools.product(range(-2, 3), repeat=3):
        if any(hkl):
            best = min(best, float(np.linalg.norm(np.asarray(hkl, dtype=float) @ recip)))
    return 1.0 / best


def shell_thickness(crystal: Crystal, thickness_A: float | None = None, layers: int | None = None) -> float:
    """The shell thickness in Å from ``thickness_A`` or ``layers`` (module doc)."""
    if (thickness_A is None) == (layers is None):
        raise NanotwinError("a surface shell needs a thickness in Å or a number of layers (one of them)")
    if thickness_A is not None:
        if not thickness_A > 0:
            raise NanotwinError(f"surface shell thickness must be > 0 Å, got {thickness_A}")
        return float(thickness_A)
    if int(layers) != layers or layers < 1:
        raise NanotwinError(f"surface shell layers must be a whole number >= 1, got {layers}")
    if crystal.lattice is None:
        raise NanotwinError("a surface shell in layers needs a crystal made by the builder")
    return (int(layers) - 0.25) * layer_spacing(crystal.lattice.node_basis)


def label_surface_shell(crystal: Crystal, thickness_A: float | None = None,
                        layers: int | None = None) -> Crystal:
    """The crystal with every atom shallower than the shell thickness in group ``<group>_surf``.

    ``info`` gains ``surface_shell_A`` (the thickness used) and ``surface_atoms``.
    """
    t = shell_thickness(crystal, thickness_A, layers)
    too_long = sorted({str(g) for g in crystal.adp_groups if len(g) + len(SURFACE_SUFFIX) > 16})
    if too_long:
        raise NanotwinError(f"ADP group names of at most {16 - len(SURFACE_SUFFIX)} characters can take a "
                            f"surface shell; rename {', '.join(too_long)}")
    depth = atom_depths(crystal.positions, within=t)
    in_shell = depth < t
    groups = np.array([g if not s or g.endswith(SURFACE_SUFFIX) else g + SURFACE_SUFFIX
                       for g, s in zip(crystal.adp_groups, in_shell, strict=True)], dtype="U16")
    info = dict(crystal.info)
    info.update(surface_shell_A=t, surface_atoms=int(in_shell.sum()))
    return rebuild_crystal(crystal, adp_groups=groups, info=info)
