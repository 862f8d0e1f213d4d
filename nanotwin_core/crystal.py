"""The Crystal type: a finite list of atoms, plus (when a builder made it) its lattice description.

Positions in Å (Cartesian). A Crystal built on a lattice of nodes carries a
``LatticeDescription``: node lattice, content templates and a content map. That is what lets
the Debye engine count pairs by node offsets (the lattice route) instead of all pairs. An XYZ
import has none and takes the all-pairs route.

Atom order contract: a crystal made by ``crystal_from_lattice`` lists its atoms node by node
in C order of ``content_map`` (empty nodes skipped), and within a node in the order of its
content's atoms.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from nanotwin_core.errors import NanotwinError


@dataclass
class LatticeContent:
    """The atoms one node carries, relative to the node, in fractional units of the parent cell.

    ``exclusion`` is -1 for ordinary atoms; atoms of this content sharing a non-negative value
    are alternative positions of one split site (never paired with each other).
    """

    frac: np.ndarray  # (m, 3) offsets from the node, parent-cell fractional units
    elements: np.ndarray  # (m,) str
    adp_groups: np.ndarray  # (m,) str
    occupancy: np.ndarray  # (m,) float
    exclusion: np.ndarray  # (m,) int

    def __len__(self) -> int:
        return len(self.elements)


@dataclass
class LatticeDescription:
    """A crystal as occupied nodes of one parent lattice.

    ``cell`` (3x3, rows a, b, c in Å) is the parent cell; ``node_basis_frac`` (3x3, rows) are
    the node lattice vectors in parent fractional units (identity when nodes are whole cells;
    the Pb sublattice for coherent twins). ``content_map[i, j, k]`` is the index into
    ``contents`` of the node at integer coordinates ``map_origin + (i, j, k)``, or -1 if empty.
    Node position (fractional) = (map_origin + index) @ node_basis_frac.
    Changing ``cell`` (or the offsets of the contents, e.g. a tilt) changes every distance
    without changing which pairs exist: the engine re-evaluates stored offsets.
    """

    cell: np.ndarray
    node_basis_frac: np.ndarray
    contents: list[LatticeContent]
    content_map: np.ndarray
    map_origin: np.ndarray = field(default_factory=lambda: np.zeros(3, dtype=np.int64))

    @property
    def node_basis(self) -> np.ndarray:
        """Node lattice vectors in Å (rows)."""
        return self.node_basis_frac @ self.cell

    @property
    def n_nodes(self) -> int:
        return int(np.count_nonzero(self.content_map >= 0))

    def occupied_nodes(self) -> tuple[np.ndarray, np.ndarray]:
        """Integer node coordinates (n, 3) of occupied nodes in C order, and their content ids."""
        idx = np.argwhere(self.content_map >= 0)
        ids = self.content_map[tuple(idx.T)]
        return idx + np.asarray(self.map_origin, dtype=np.int64), ids

    def n_atoms(self) -> int:
        sizes = np.array([len(c) for c in self.contents])
        _, ids = self.occupied_nodes()
        return int(sizes[ids].sum())


@dataclass
class Crystal:
    """A finite nanocrystal or cluster: per-atom arrays of equal length N.

    ``exclusion``: -1 or an id; atoms sharing an id are alternatives of one split site and are
    never paired. ``domain``: region between twin boundaries (0 if untwinned). ``variant``:
    distinct total twin shift modulo the crystal lattice (0 if untwinned). ``cell``: parent
    cell vectors (rows, Å) when meaningful (written as ``Lattice=`` in XYZ). ``info``: shape,
    realised sizes, structure name, twin settings; plain JSON-able values only.
    """

    positions: np.ndarray
    elements: np.ndarray
    adp_groups: np.ndarray | None = None
    occupancy: np.ndarray | None = None
    exclusion: np.ndarray | None = None
    domain: np.ndarray | None = None
    variant: np.ndarray | None = None
    cell: np.ndarray | None = None
    lattice: LatticeDescription | None = None
    info: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.positions = np.ascontiguousarray(self.positions, dtype=np.float64).reshape(-1, 3)
        n = len(self.positions)
        self.elements = np.asarray(self.elements, dtype="U4")
        if self.elements.shape != (n,):
            raise NanotwinError(f"elements has {self.elements.shape[0]} entries for {n} positions")
        if self.adp_groups is None:
            self.adp_groups = self.elements.astype("U16")
        self.adp_groups = np.asarray(self.adp_groups, dtype="U16")
        self.occupancy = _column(self.occupancy, n, 1.0, np.float64)
        self.exclusion = _column(self.exclusion, n, -1, np.int64)
        self.domain = _column(self.domain, n, 0, np.int32)
        self.variant = _column(self.variant, n, 0, np.int32)
        for name in ("adp_groups", "occupancy", "exclusion", "domain", "variant"):
            if len(getattr(self, name)) != n:
                raise NanotwinError(f"{name} has {len(getattr(self, name))} entries for {n} atoms")
        if np.any(self.occupancy < 0) or np.any(self.occupancy > 1):
            raise NanotwinError("occupancy must be within [0, 1]")

    def __len__(self) -> int:
        return len(self.positions)

    @property
    def n_atoms(self) -> int:
        return len(self.positions)

    def composition(self) -> dict[str, float]:
        """Occupancy-weighted atom count per element."""
        out: dict[str, float] = {}
        for el in np.unique(self.elements):
            out[str(el)] = float(self.occupancy[self.elements == el].sum())
        return out

    def without_lattice(self) -> Crystal:
        """The same atoms with no lattice description (forces the all-pairs route)."""
        return Crystal(
            positions=self.positions.copy(),
            elements=self.elements.copy(),
            adp_groups=self.adp_groups.copy(),
            occupancy=self.occupancy.copy(),
            exclusion=self.exclusion.copy(),
            domain=self.domain.copy(),
            variant=self.variant.copy(),
            cell=None if self.cell is None else self.cell.copy(),
            lattice=None,
            info=dict(self.info),
        )


def _column(values, n: int, default, dtype) -> np.ndarray:
    if values is None:
        return np.full(n, default, dtype=dtype)
    return np.asarray(values, dtype=dtype).reshape(-1)


def crystal_from_lattice(
    lattice: LatticeDescription,
    domain_map: np.ndarray | None = None,
    variant_map: np.ndarray | None = None,
    info: dict | None = None,
) -> Crystal:
    """Materialise the atoms of a lattice description (see the module's atom order contract).

    ``domain_map``/``variant_map`` have the shape of ``content_map`` and give each node's domain
    and variant ids (0 where omitted). Exclusion ids become unique per (node, local id).
    """
    nodes, ids = lattice.occupied_nodes()
    cell = np.asarray(lattice.cell, dtype=float)
    node_frac = nodes @ lattice.node_basis_frac
    sizes = np.array([len(c) for c in lattice.contents], dtype=np.int64)
    counts = sizes[ids]
    total = int(counts.sum())
    frac = np.empty((total, 3))
    elements = np.empty(total, dtype="U4")
    adp = np.empty(total, dtype="U16")
    occ = np.empty(total)
    excl = np.full(total, -1, dtype=np.int64)
    dom = np.zeros(total, dtype=np.int32)
    var = np.zeros(total, dtype=np.int32)
    local_occ = np.argwhere(lattice.content_map >= 0)
    max_local = max((int(c.exclusion.max()) + 1 if len(c) else 0) for c in lattice.contents)
    max_local = max(max_local, 1)
    starts = np.concatenate([[0], np.cumsum(counts)])
    for content_id, content in enumerate(lattice.contents):
        sel = np.nonzero(ids == content_id)[0]
        if len(sel) == 0 or len(content) == 0:
            continue
        m = len(content)
        pos = (node_frac[sel][:, None, :] + content.frac[None, :, :]).reshape(-1, 3)
        where = (starts[sel][:, None] + np.arange(m)[None, :]).reshape(-1)
        frac[where] = pos
        elements[where] = np.tile(content.elements, len(sel))
        adp[where] = np.tile(content.adp_groups, len(sel))
        occ[where] = np.tile(content.occupancy, len(sel))
        loc = np.tile(content.exclusion, len(sel))
        node_no = np.repeat(sel, m)
        excl[where] = np.where(loc >= 0, node_no * max_local + loc, -1)
        if domain_map is not None:
            dom[where] = np.repeat(domain_map[tuple(local_occ[sel].T)], m)
        if variant_map is not None:
            var[where] = np.repeat(variant_map[tuple(local_occ[sel].T)], m)
    return Crystal(
        positions=frac @ cell,
        elements=elements,
        adp_groups=adp,
        occupancy=occ,
        exclusion=excl,
        domain=dom,
        variant=var,
        cell=cell.copy(),
        lattice=lattice,
        info=dict(info or {}),
    )
