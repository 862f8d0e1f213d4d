"""The statistical model of random twin networks (docs/internals.md, "Random twin networks").

A *group* is one twin law on one plane orientation: its members are the law's members on that
plane (usually one). Along the plane normal the coherent-sublattice nodes (Pb) lie on layers;
every gap between two consecutive layers inside the crystal holds a boundary of the group
independently with probability p = (layer spacing) / (mean domain size of the law), and a placed
boundary takes one of the group's members at random (uniformly). Groups are independent of
each other, so two laws on the same planes can put two boundaries into one gap (their shifts
add). The variant of the first domain (the near side of every boundary) is uniform over the
node classes. Mean spacing of a law's parallel boundaries = its domain size.

Under this model the expected pair counts of a crystal have a closed form (the ensemble route,
``population/ensemble.py``); the builder's random networks (``build_crystal(domain_size_nm=)``)
draw from exactly this model, so the mean of many realisations converges to that closed form.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from nanotwin_core.builder.boundaries import Boundary, layer_levels, layer_midpoints
from nanotwin_core.builder.sizes import check_size
from nanotwin_core.builder.twin_laws import TwinMember, parse_twin_law
from nanotwin_core.errors import NanotwinError

_LEVEL_TOL = 1e-6


@dataclass(frozen=True)
class NetworkGroup:
    """One law on one plane orientation: the unit that places boundaries independently.

    ``level_step``: level difference (f . hkl) between consecutive node layers;
    ``spacing_A``: the same distance in Å along the normal; ``members``: the law's members on
    this plane (a placed boundary takes one of them at random).
    """

    law: str
    plane: tuple[int, int, int]
    members: tuple[TwinMember, ...]
    level_step: float
    spacing_A: float


def _rational(x: float) -> Fraction:
    return Fraction(float(x)).limit_denominator(1000)


def node_level_step(node_basis_frac: np.ndarray, plane: Sequence[int]) -> float:
    """Level step (f . hkl units) between consecutive node layers parallel to ``plane``.

    Node n sits at level origin . hkl + n . v with v = node_basis_frac @ hkl; the step is the
    greatest common divisor of the (rational) components of v.
    """
    v = [_rational(x) for x in np.asarray(node_basis_frac, float) @ np.asarray(plane, float)]
    nums = [x for x in v if x != 0]
    if not nums:
        raise NanotwinError(f"plane {tuple(plane)} does not cut the node lattice")
    den = math.lcm(*(x.denominator for x in nums))
    g = math.gcd(*(int(x * den) for x in nums))
    return g / den


def layer_normal(node_basis_frac: np.ndarray, plane: Sequence[int]) -> np.ndarray:
    """Integer vector eta with layer index = n . eta for node coordinates n (primitive)."""
    v = np.asarray(node_basis_frac, float) @ np.asarray(plane, float)
    eta = v / node_level_step(node_basis_frac, plane)
    out = np.rint(eta).astype(np.int64)
    if np.max(np.abs(out - eta)) > 1e-6:  # pragma: no cover - step divides every component
        raise RuntimeError("layer normal not integral (internal error)")
    return out


def network_groups(
    members: Sequence[tuple[str, TwinMember]],
    cell: np.ndarray,
    *,
    node_basis_frac: np.ndarray | None = None,
    node_frac: np.ndarray | None = None,
) -> list[NetworkGroup]:
    """The (law, plane) groups of expanded (law label, member) pairs, in order of appearance.

    The layer step comes from the node lattice (``node_basis_frac``) or, without it, from the
    crystal's own node layers (``node_frac``: the closest two layers).
    """
    if node_basis_frac is None and node_frac is None:
        raise NanotwinError("network_groups needs node_basis_frac or node_frac")
    order: list[tuple[str, tuple[int, int, int]]] = []
    by_key: dict[tuple[str, tuple[int, int, int]], list[TwinMember]] = {}
    for law, m in members:
        key = (law, m.plane)
        if key not in by_key:
            order.append(key)
            by_key[key] = []
        by_key[key].append(m)
    out = []
    for law, plane in order:
        if node_basis_frac is not None:
            step = node_level_step(node_basis_frac, plane)
        else:
            step = crystal_level_step(node_frac, plane)
        glen = float(np.linalg.norm(np.linalg.inv(np.asarray(cell, float)) @ np.asarray(plane, float)))
        out.append(NetworkGroup(law, plane, tuple(by_key[(law, plane)]), step, step / glen))
    return out


def _split_items(text: str) -> list[str]:
    """Split "LAW=NM,LAW=NM" at the commas that end an item (laws may hold commas)."""
    items, cur = [], []
    for part in text.split(","):
        cur.append(part)
        if "=" in part:
            items.append(",".join(cur))
            cur = []
    if cur:
        raise NanotwinError(f"domain sizes {text!r}: expected LAW=NM items separated by commas")
    return items


def domain_sizes_by_law(
    domain_size_nm: float | str | Mapping[str, float], laws: Sequence[str]
) -> dict[str, float]:
    """Mean domain size (nm) of every law label in ``laws``.

    ``domain_size_nm``: one number for every law, a mapping law -> nm, or a string
    "1/2<110>{110}=3,1/2<001>{110}=6" (laws written in any accepted notation). Every law needs
    a size; a size for a law that is not in ``laws`` is an error.
    """
    labels = [parse_twin_law(x).label for x in laws]
    if isinstance(domain_size_nm, str) and "=" not in domain_size_nm:
        domain_size_nm = check_size(domain_size_nm, "domain size")
    if isinstance(domain_size_nm, (int, float, np.floating, np.integer)):
        v = check_size(domain_size_nm, "domain_size_nm")
        return {lab: v for lab in labels}
    if isinstance(domain_size_nm, str):
        pairs = []
        for item in _split_items(domain_size_nm):
            key, _, value = item.rpartition("=")
            pairs.append((key.strip(), value.strip()))
    elif isinstance(domain_size_nm, Mapping):
        pairs = list(domain_size_nm.items())
    else:
        raise NanotwinError(f"domain sizes: cannot read {domain_size_nm!r}")
    out: dict[str, float] = {}
    for key, value in pairs:
        label = parse_twin_law(str(key)).label
        if label not in labels:
            raise NanotwinError(f"domain size given for {label}, which is not one of the twin laws "
                                f"({', '.join(labels)})")
        out[label] = check_size(value, f"domain size of {label}")
    missing = [lab for lab in labels if lab not in out]
    if missing:
        raise NanotwinError(f"no domain size for {', '.join(missing)}: give one size for all laws or "
                            "LAW=NM for every law")
    return out


def gap_probabilities(groups: Sequence[NetworkGroup], sizes_nm: Mapping[str, float]) -> np.ndarray:
    """p = layer spacing / mean domain size for every group (NanotwinError if p > 1)."""
    p = np.empty(len(groups))
    for i, g in enumerate(groups):
        d_nm = float(sizes_nm[g.law])
        p[i] = g.spacing_A / (10.0 * d_nm)
        if p[i] > 1.0 + 1e-12:
            raise NanotwinError(
                f"domain size {d_nm:g} nm of {g.law} is below its layer spacing {g.spacing_A / 10:.3f} nm "
                f"along ({''.join(str(x) for x in g.plane)}): at most one boundary per gap"
            )
    return np.minimum(p, 1.0)


def gap_levels(node_frac: np.ndarray, plane: Sequence[int], level_step: float) -> np.ndarray:
    """Levels (f . hkl) of every gap between consecutive node layers inside the crystal."""
    lv = layer_levels(node_frac, plane)
    if len(lv) < 2:
        return np.zeros(0)
    n_gaps = int(round((lv[-1] - lv[0]) / level_step))
    return lv[0] + (np.arange(n_gaps) + 0.5) * level_step


def crystal_level_step(node_frac: np.ndarray, plane: Sequence[int]) -> float:
    """Smallest distance between node layers of the crystal along ``plane`` (level units)."""
    lv = layer_levels(node_frac, plane)
    if len(lv) < 2:
        return 1.0
    return float(np.min(np.diff(lv)))


def sample_network(
    node_frac: np.ndarray,
    groups: Sequence[NetworkGroup],
    p: np.ndarray,
    rng: np.random.Generator,
) -> list[Boundary]:
    """One realisation: for each group in order, each gap holds a boundary with probability p."""
    out: list[Boundary] = []
    for g, pg in zip(groups, p, strict=True):
        levels = gap_levels(node_frac, g.plane, g.level_step)
        placed = levels[rng.random(len(levels)) < pg]
        if len(g.members) > 1:
            which = rng.integers(len(g.members), size=len(placed))
        else:
            which = np.zeros(len(placed), dtype=np.int64)
        out.extend(Boundary(g.members[int(k)], float(lev), g.law)
                   for lev, k in zip(placed, which, strict=True))
    return out


def plane_label(plane: Sequence[int]) -> str:
    """'(1-10)' for a plane."""
    return "(" + "".join(str(int(x)) for x in plane) + ")"


def describe_groups(groups: Sequence[NetworkGroup], p: np.ndarray) -> list[dict]:
    """JSON-able summary: law, plane, members, layer spacing (Å) and gap probability."""
    return [{"law": g.law, "plane": list(g.plane), "members": [m.label for m in g.members],
             "spacing_A": float(g.spacing_A), "p": float(pg)} for g, pg in zip(groups, p, strict=True)]


def random_boundaries(
    node_frac: np.ndarray,
    cell: np.ndarray,
    members: Sequence[tuple[str, TwinMember]],
    rng: np.random.Generator,
    *,
    domain_size_nm: float | str | Mapping[str, float] | None = None,
    n_boundaries: int | None = None,
) -> list[Boundary]:
    """A random network of boundaries in the crystal of nodes ``node_frac``.

    With ``domain_size_nm`` (one size, or per law: see ``domain_sizes_by_law``): the gap model of
    this module (every gap between node layers holds a boundary of each (law, plane) group with
    probability layer spacing / domain size). With ``n_boundaries``: that many boundaries, each
    with a random orientation, member and free layer midpoint. ``members``: (law label, member).
    """
    if domain_size_nm is not None:
        sizes = domain_sizes_by_law(domain_size_nm, sorted({law for law, _ in members}))
        groups = network_groups(members, cell, node_frac=node_frac)
        return sample_network(node_frac, groups, gap_probabilities(groups, sizes), rng)
    if n_boundaries is None:
        raise NanotwinError("give domain_size_nm or n_boundaries for a random network")
    by_plane: dict[tuple[int, int, int], list[tuple[TwinMember, str]]] = {}
    for law, m in members:
        by_plane.setdefault(m.plane, []).append((m, law))
    planes = list(by_plane)
    used_pl: dict[tuple[int, int, int], set[float]] = {p: set() for p in planes}
    out: list[Boundary] = []
    for _ in range(int(n_boundaries)):
        free_planes = [p for p in planes if len(layer_midpoints(node_frac, p)) > len(used_pl[p])]
        if not free_planes:
            raise NanotwinError(f"cannot place {n_boundaries} distinct boundaries in this crystal; give "
                                "fewer boundaries (--boundaries) or a larger crystal")
        plane = free_planes[int(rng.integers(len(free_planes)))]
        mids = [m for m in layer_midpoints(node_frac, plane) if m not in used_pl[plane]]
        level = float(mids[int(rng.integers(len(mids)))])
        used_pl[plane].add(level)
        member, law = by_plane[plane][int(rng.integers(len(by_plane[plane])))]
        out.append(Boundary(member, level, law))
    return out
