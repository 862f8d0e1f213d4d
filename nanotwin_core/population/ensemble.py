"""Exact ensemble averages over random twin networks (docs/internals.md, "Twin-network ensembles").

Under the gap model of ``builder/networks.py`` (every gap between node layers holds a boundary of
each (law, plane) group independently with probability p; the first domain's variant is uniform)
the expected number of node pairs at node offset u whose nodes carry contents a and b is

    E[C_ab(u)] = A(u) / |G| * P_u(D = a + [u] - b),

A(u) the node autocorrelation of the crystal's shape, G the node classes (the node lattice
modulo the parent lattice; contents are labelled by class), [u] the class of u and D the
relative variant of the two nodes: the sum of the shifts of the boundaries between them. Group g
contributes m_g(u) = |u . eta_g| crossed gaps (eta_g: layer normal in node coordinates), each one
a shift t drawn from (1 - p_g) delta_0 + p_g mean_j delta_{t_j}. With the characters chi of G
(chi(t) = exp(2 pi i h . t), h the reflection classes),

    P_u(D = d) = 1/|G| sum_chi conj(chi(d)) prod_g lambda_g,chi^m_g(u),
    lambda_g,chi = 1 - p_g + p_g mean_j chi(t_j)     (its conjugate when u . eta_g < 0),

e.g. one member with an order-2 shift: the variant flips with probability (1 - (1 - 2p)^m) / 2.
The pair table of these expected counts goes through the ordinary lattice route: one exact
computation, no random numbers. ``ensemble_histograms`` is the entry point.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from math import lcm

import numpy as np

from nanotwin_core.builder.networks import (
    NetworkGroup,
    domain_sizes_by_law,
    gap_probabilities,
    layer_normal,
    network_groups,
)
from nanotwin_core.builder.ownership import Ownership
from nanotwin_core.builder.shapes import NodeSelection
from nanotwin_core.builder.sizes import DEFAULT_MAX_ATOMS
from nanotwin_core.builder.twin_laws import TwinLaw, expand_laws, parse_twin_law
from nanotwin_core.builder.twins import check_coherent, select_nodes
from nanotwin_core.errors import NanotwinError
from nanotwin_core.scattering.lattice_route import (
    LatticePairTable,
    occupancy_correlations,
    pair_table_from_counts,
    rehistogram,
)
from nanotwin_core.scattering.sampling import Sampling
from nanotwin_core.scattering.types import PairHistograms
from nanotwin_core.structures.structure import Structure

_P_ZERO = 1e-15  # pair probabilities below this are round-off of exact zeros


@dataclass(frozen=True)
class VariantAlgebra:
    """The group G of node classes: ``add[a, b]`` = class of a + b, ``neg[a]`` = class of -a,
    ``characters[x, a]`` = chi_x(a) (complex, one row per character; row 0 is trivial)."""

    add: np.ndarray
    neg: np.ndarray
    characters: np.ndarray

    @property
    def order(self) -> int:
        return len(self.neg)


def variant_algebra(own: Ownership) -> VariantAlgebra:
    """Addition table and characters of the node classes of ``own`` (node lattice / parent lattice)."""
    offs = np.asarray(own.class_offsets, dtype=float)
    n = len(offs)
    nodes = np.rint(own.node_coords(offs)).astype(np.int64)
    add = np.empty((n, n), dtype=np.int64)
    for a in range(n):
        add[a] = own.class_of(nodes[a][None, :] + nodes)
    neg = own.class_of(-nodes)
    den = lcm(*(Fraction(float(x)).limit_denominator(1000).denominator for x in offs.ravel()))
    rows: list[np.ndarray] = []
    keys: set[tuple] = set()
    grid = np.stack(np.meshgrid(*[np.arange(den)] * 3, indexing="ij"), axis=-1).reshape(-1, 3)
    for h in grid:
        chi = np.exp(2j * np.pi * (offs @ h))
        key = tuple(np.round(chi.real, 9)) + tuple(np.round(chi.imag, 9))
        if key not in keys:
            keys.add(key)
            rows.append(chi)
        if len(rows) == n:
            break
    if len(rows) != n:  # pragma: no cover - a finite abelian group has |G| characters
        raise RuntimeError("could not find the characters of the node classes (internal error)")
    return VariantAlgebra(add=add, neg=neg, characters=np.array(rows))


@dataclass
class TwinNetworkModel:
    """The random-network model of some twin laws on the node lattice of ``ownership``.

    ``groups``: (law, plane) groups (``builder/networks.py``); ``eta`` (G, 3): their layer
    normals in node coordinates; ``member_classes[g]``: the class of each member's shift.
    """

    ownership: Ownership
    laws: list[str]
    groups: list[NetworkGroup]
    eta: np.ndarray
    member_classes: list[np.ndarray]
    algebra: VariantAlgebra

    def gap_probabilities(self, domain_size_nm: float | str | Mapping[str, float]) -> np.ndarray:
        """p per group for a domain size (nm; one for all laws or per law)."""
        return gap_probabilities(self.groups, domain_sizes_by_law(domain_size_nm, self.laws))

    def eigenvalues(self, p: np.ndarray) -> np.ndarray:
        """lambda (G, |G|): the character transform of one gap's shift distribution per group."""
        chars = self.algebra.characters
        lam = np.empty((len(self.groups), chars.shape[0]), dtype=np.complex128)
        for g, (pg, cls) in enumerate(zip(np.asarray(p, float), self.member_classes, strict=True)):
            lam[g] = 1.0 - pg + pg * chars[:, cls].mean(axis=1)
        return lam

    def pair_probabilities(self, u: np.ndarray, p: np.ndarray) -> np.ndarray:
        """P_u(D = d) (E, |G|) for node offsets u (E, 3) and gap probabilities p (per group)."""
        u = np.asarray(u, dtype=np.int64).reshape(-1, 3)
        lam = self.eigenvalues(p)
        m = u @ self.eta.T  # (E, G) signed crossed-gap counts
        big = np.ones((len(u), lam.shape[1]), dtype=np.complex128)
        for g in range(len(self.groups)):
            mg = m[:, g]
            mag = np.abs(mg)[:, None]
            fwd = lam[g][None, :] ** mag
            big *= np.where((mg >= 0)[:, None], fwd, np.conj(fwd))
        n = self.algebra.order
        prob = (big @ np.conj(self.algebra.characters)).real / n
        prob[prob < _P_ZERO] = 0.0
        return prob


def twin_network_model(
    own: Ownership, twins: Iterable[str | TwinLaw], structure: Structure
) -> TwinNetworkModel:
    """The network model of ``twins`` on the coherent sublattice ``own`` of ``structure``.

    Every member shift must be a coherent-sublattice vector (NanotwinError otherwise).
    """
    laws = [parse_twin_law(t) for t in twins]
    if not laws:
        raise NanotwinError("an ensemble of twin networks needs twin laws")
    turned = [law.label for law in laws if not isinstance(law, TwinLaw)]
    if turned:
        raise NanotwinError(f"twin laws {', '.join(turned)}: the ensemble route holds translation twins only "
                            "(rotated domains are no node-lattice shift); build realisations instead "
                            "(--seed, --twin-seeds; no --ensemble)")
    pairs = expand_laws(laws, structure)
    for _law, m in pairs:
        check_coherent(m, own, allow_incoherent=False)
    members = [(law.label, m) for law, m in pairs]
    groups = network_groups(members, own.cell, node_basis_frac=own.node_basis_frac)
    eta = np.array([layer_normal(own.node_basis_frac, g.plane) for g in groups], dtype=np.int64)
    classes = []
    for g in groups:
        shifts = np.array([m.shift_frac for m in g.members])
        classes.append(own.class_of(np.rint(own.node_coords(shifts)).astype(np.int64)))
    return TwinNetworkModel(own, [law.label for law in laws], groups, eta, classes, variant_algebra(own))


def node_autocorrelation(sel: NodeSelection) -> tuple[np.ndarray, np.ndarray]:
    """(offsets u (E, 3) with A(u) > 0, A(u)) of the node set: A(u) = #{n: n, n + u in the set}."""
    nodes = np.asarray(sel.nodes, dtype=np.int64)
    lo = nodes.min(axis=0)
    shape = nodes.max(axis=0) - lo + 1
    occ = np.full(tuple(int(x) for x in shape), -1, dtype=np.int64)
    occ[tuple((nodes - lo).T)] = 0
    corr = occupancy_correlations(occ, 1)[(0, 0)]
    idx = np.argwhere(corr > 0)
    return idx - (shape - 1), corr[tuple(idx.T)].astype(np.float64)


def _half_space(u: np.ndarray) -> np.ndarray:
    return (u[:, 0] > 0) | ((u[:, 0] == 0) & ((u[:, 1] > 0) | ((u[:, 1] == 0) & (u[:, 2] > 0))))


def ensemble_pair_table(sel: NodeSelection, model: TwinNetworkModel, p: np.ndarray) -> LatticePairTable:
    """The lattice pair table of expected node-pair counts (module doc) for the nodes of ``sel``."""
    own = model.ownership
    alg = model.algebra
    n = alg.order
    u, a_u = node_autocorrelation(sel)
    nonzero = np.any(u != 0, axis=1)
    u, a_u = u[nonzero], a_u[nonzero]
    cls_u = own.class_of(u) if len(u) else np.zeros(0, dtype=np.int64)
    prob = model.pair_probabilities(u, p)
    half = _half_space(u)
    rows = np.arange(len(u))
    ek, el, eu, ec = [], [], [], []
    n_nodes = float(len(sel.nodes))
    for a in range(n):
        ek.append(np.array([a]))
        el.append(np.array([a]))
        eu.append(np.zeros((1, 3), dtype=np.int64))
        ec.append(np.array([n_nodes / n]))
        for b in range(a, n):
            d = alg.add[alg.add[a, cls_u], alg.neg[b]]
            w = a_u / n * prob[rows, d]
            keep = w > 0 if a != b else (w > 0) & half
            ek.append(np.full(int(keep.sum()), a))
            el.append(np.full(int(keep.sum()), b))
            eu.append(u[keep])
            ec.append(w[keep])
    contents = own.contents
    return pair_table_from_counts(
        own.cell, own.node_basis_frac, contents, np.full(len(contents), n_nodes / n),
        np.concatenate(ek), np.concatenate(el), np.vstack(eu), np.concatenate(ec),
    )


def ensemble_histograms(
    structure: Structure | str,
    twins: Iterable[str | TwinLaw],
    domain_size_nm: float | str | Mapping[str, float] | None,
    *,
    shape: str = "prism",
    size_ab_nm: float | None = None,
    size_c_nm: float | None = None,
    size_nm: float | None = None,
    boundaries: int | None = None,
    coherent_element: str = "Pb",
    max_atoms: int = DEFAULT_MAX_ATOMS,
    sampling: Sampling | str | float | None = None,
    n_threads: int | None = None,
    progress: Callable[[float], None] | None = None,
    cancel: Callable[[], bool] | None = None,
) -> PairHistograms:
    """Pair histograms of the exact average over every random twin network of a crystal.

    Parameters as ``build_crystal`` (sizes in nm); ``domain_size_nm`` is one mean domain size for
    every law or one per law (mapping or "LAW=NM,LAW=NM"). A fixed number of boundaries is one
    deterministic crystal, not an ensemble: ``boundaries`` is refused. ``meta`` records the
    groups with their gap probabilities.
    """
    if boundaries is not None:
        raise NanotwinError(
            "an ensemble averages random networks of a given mean domain size; a fixed number of "
            f"boundaries ({boundaries}) is one deterministic crystal: build it without the ensemble, "
            "or give a domain size instead")
    if domain_size_nm is None:
        raise NanotwinError("an ensemble of twin networks needs a mean domain size (nm)")
    if isinstance(structure, str):
        from nanotwin_core.structures.library import get_structure

        structure = get_structure(structure)
    sel = select_nodes(structure, shape, size_ab_nm, size_c_nm, size_nm, coherent_element, max_atoms)
    model = twin_network_model(sel.ownership, twins, structure)
    p = model.gap_probabilities(domain_size_nm)
    table = ensemble_pair_table(sel, model, p)
    hist = rehistogram(table, sampling=sampling, n_threads=n_threads, progress=progress, cancel=cancel)
    hist.meta.update(route="ensemble", n_nodes=len(sel.nodes),
                     groups=[{"law": g.law, "plane": list(g.plane), "spacing_A": float(g.spacing_A),
                              "p": float(pg)} for g, pg in zip(model.groups, p, strict=True)])
    hist.cache["table"] = table
    return hist
