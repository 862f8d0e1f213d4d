"""The Structure type: a unit cell, a space group and the asymmetric-unit sites.

Lengths in Å, angles in degrees, fractional coordinates in cell units, B in Å^2.
Symmetry expansion uses gemmi's space-group operations.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import gemmi
import numpy as np

from nanotwin_core.errors import NanotwinError

# Positions closer than this (in fractional units, per axis after wrapping) are one site.
_DUPLICATE_TOL = 1e-4
# Split positions of one exclusion label closer than this (Å) belong to one exclusion cluster.
SPLIT_CLUSTER_RADIUS = 1.6


@dataclass(frozen=True)
class Cell:
    """Unit cell: a, b, c in Å; alpha, beta, gamma in degrees."""

    a: float
    b: float
    c: float
    alpha: float = 90.0
    beta: float = 90.0
    gamma: float = 90.0

    def __post_init__(self) -> None:
        for name in ("a", "b", "c"):
            if not getattr(self, name) > 0:
                raise NanotwinError(f"cell length {name} must be > 0 Å, got {getattr(self, name)}")
        for name in ("alpha", "beta", "gamma"):
            if not 0 < getattr(self, name) < 180:
                raise NanotwinError(f"cell angle {name} must be in (0, 180) degrees")

    @property
    def matrix(self) -> np.ndarray:
        """Rows are the cell vectors a, b, c in Å (a along x, b in the xy plane)."""
        al, be, ga = np.radians([self.alpha, self.beta, self.gamma])
        ax = np.array([self.a, 0.0, 0.0])
        bx = np.array([self.b * np.cos(ga), self.b * np.sin(ga), 0.0])
        cx = self.c * np.cos(be)
        cy = self.c * (np.cos(al) - np.cos(be) * np.cos(ga)) / np.sin(ga)
        cz = np.sqrt(max(self.c**2 - cx**2 - cy**2, 0.0))
        m = np.array([ax, bx, [cx, cy, cz]])
        m[np.abs(m) < 1e-12] = 0.0
        return m

    @property
    def volume(self) -> float:
        """Cell volume in Å^3."""
        return float(abs(np.linalg.det(self.matrix)))

    def as_tuple(self) -> tuple[float, float, float, float, float, float]:
        return (self.a, self.b, self.c, self.alpha, self.beta, self.gamma)


@dataclass(frozen=True)
class Site:
    """One asymmetric-unit site.

    ``adp_group`` names the set of sites that share one refinable B (e.g. Pb, Cs, X_ax, X_eq);
    it defaults to the element. ``exclusion`` labels split sites: positions generated from sites
    with the same label that lie within ``SPLIT_CLUSTER_RADIUS`` of each other are alternatives
    (only one is occupied at a time) and are never paired in the Debye sum.
    """

    label: str
    element: str
    frac: tuple[float, float, float]
    occupancy: float = 1.0
    b_iso: float = 1.0
    adp_group: str = ""
    exclusion: str | None = None

    def __post_init__(self) -> None:
        if len(self.frac) != 3:
            raise NanotwinError(f"site {self.label}: need three fractional coordinates")
        object.__setattr__(self, "frac", tuple(float(x) for x in self.frac))
        if not 0 < self.occupancy <= 1:
            raise NanotwinError(f"site {self.label}: occupancy must be in (0, 1]")
        if self.b_iso < 0:
            raise NanotwinError(f"site {self.label}: B must be >= 0 Å^2")
        if not self.adp_group:
            object.__setattr__(self, "adp_group", self.element)


@dataclass
class AtomTable:
    """Atoms of one unit cell after symmetry expansion (P1), arrays of equal length.

    ``exclusion`` is -1 for ordinary atoms; atoms sharing a non-negative value are alternative
    positions of one split site inside this cell.
    """

    frac: np.ndarray  # (n, 3) fractional
    elements: np.ndarray  # (n,) str
    adp_groups: np.ndarray  # (n,) str
    occupancy: np.ndarray  # (n,) float
    b_iso: np.ndarray  # (n,) float, Å^2
    labels: np.ndarray  # (n,) str, the asymmetric-unit site each atom came from
    exclusion: np.ndarray  # (n,) int

    def __len__(self) -> int:
        return len(self.elements)


@dataclass(frozen=True)
class Structure:
    """A crystal structure: name, cell, space group (Hermann-Mauguin) and sites.

    ``source`` records where the numbers come from (a citation); ``notes`` any caveat.
    """

    name: str
    cell: Cell
    spacegroup: str
    sites: tuple[Site, ...]
    source: str = ""
    notes: str = ""
    metadata: dict = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "sites", tuple(self.sites))
        if not self.sites:
            raise NanotwinError(f"structure {self.name}: no sites")
        try:
            self.space_group()
        except ValueError as exc:
            raise NanotwinError(f"structure {self.name}: unknown space group {self.spacegroup!r}") from exc

    def space_group(self) -> gemmi.SpaceGroup:
        """The gemmi space group (raises ValueError if the symbol is unknown)."""
        return gemmi.SpaceGroup(self.spacegroup)

    @property
    def formula_elements(self) -> list[str]:
        return sorted({s.element for s in self.sites})

    def with_cell(self, cell: Cell) -> Structure:
        """Same sites in another cell."""
        return replace(self, cell=cell)

    def with_sites(self, sites: tuple[Site, ...] | list[Site]) -> Structure:
        return replace(self, sites=tuple(sites))

    def expand(self) -> AtomTable:
        """Expand the sites with the space-group operations into one P1 cell.

        Ordinary atoms are wrapped into [0, 1). Members of a split (exclusion) cluster are kept
        together around the cluster centre, which is wrapped into [0, 1), so one cluster never
        straddles two cells.
        """
        ops = list(self.space_group().operations())
        mat = self.cell.matrix
        rows: list[tuple[np.ndarray, Site]] = []
        for site in self.sites:
            found: list[np.ndarray] = []
            for op in ops:
                p = np.array(op.apply_to_xyz(list(site.frac)), dtype=float)
                p = p - np.floor(p)
                p[np.isclose(p, 1.0, atol=_DUPLICATE_TOL)] = 0.0
                if not any(_same_frac(p, q) for q in found):
                    found.append(p)
            rows.extend((p, site) for p in found)

        frac = np.array([r[0] for r in rows])
        exclusion = np.full(len(rows), -1, dtype=np.int64)
        next_id = 0
        split_labels = sorted({s.exclusion for s in self.sites if s.exclusion})
        for lab in split_labels:
            idx = [i for i, (_, s) in enumerate(rows) if s.exclusion == lab]
            unassigned = list(idx)
            while unassigned:
                seed = unassigned.pop(0)
                cluster = [seed]
                for j in list(unassigned):
                    d = frac[j] - frac[seed]
                    d -= np.round(d)
                    if np.linalg.norm(d @ mat) < SPLIT_CLUSTER_RADIUS:
                        cluster.append(j)
                        unassigned.remove(j)
                # keep members together: unwrap around the seed, wrap the centre into [0, 1)
                deltas = np.array([frac[j] - frac[seed] - np.round(frac[j] - frac[seed]) for j in cluster])
                base = frac[seed].copy()
                shift = np.floor(base + deltas.mean(axis=0) + 1e-9)
                for j, d in zip(cluster, deltas, strict=True):
                    frac[j] = base + d - shift
                    exclusion[j] = next_id
                next_id += 1

        return AtomTable(
            frac=frac,
            elements=np.array([r[1].element for r in rows], dtype="U4"),
            adp_groups=np.array([r[1].adp_group for r in rows], dtype="U16"),
            occupancy=np.array([r[1].occupancy for r in rows], dtype=float),
            b_iso=np.array([r[1].b_iso for r in rows], dtype=float),
            labels=np.array([r[1].label for r in rows], dtype="U16"),
            exclusion=exclusion,
        )

    def composition(self) -> dict[str, float]:
        """Occupancy-weighted atom count per element in one cell."""
        table = self.expand()
        out: dict[str, float] = {}
        for el, occ in zip(table.elements, table.occupancy, strict=True):
            out[str(el)] = out.get(str(el), 0.0) + float(occ)
        return out


def _same_frac(p: np.ndarray, q: np.ndarray) -> bool:
    d = p - q
    d -= np.round(d)
    return bool(np.all(np.abs(d) < _DUPLICATE_TOL))
