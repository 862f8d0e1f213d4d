"""Coherent twin boundaries on the Pb node lattice, and the top-level ``build_crystal``.

Each node lies on the near or far side of every boundary. Its total shift T is the sum of the
shifts of the boundaries it lies beyond; its content is the class of (n - T), so the node keeps
its Pb and carries the atoms the bulk would have at node n - T, translated by T (the domain is
the bulk structure displaced by T). Only ``content_map`` changes; the contents stay those of the
untwinned crystal. Domain id = the distinct combination of sides (0 = near side of every
boundary when that region exists); variant id = the distinct T modulo the parent lattice
(0 = no shift). An incoherent shift (``allow_incoherent=True``) is not a node-lattice vector:
such nodes get extra contents (their own class moved by T), so the Pb positions move.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
from scipy.spatial import ConvexHull, QhullError

from nanotwin_core.builder.boundaries import (
    Boundary,
    boundary_at,
    boundary_polygon,
    regular_boundaries,
)
from nanotwin_core.builder.domain_maps import has_rotations, mixed_node_contents
from nanotwin_core.builder.networks import domain_sizes_by_law, random_boundaries
from nanotwin_core.builder.ownership import FRAC_TOL, Ownership
from nanotwin_core.builder.rotation_laws import RotationLaw, RotationMember, node_operation
from nanotwin_core.builder.shape_kinds import get_shape
from nanotwin_core.builder.shapes import NodeSelection, description_from_nodes
from nanotwin_core.builder.sizes import DEFAULT_MAX_ATOMS
from nanotwin_core.builder.surface_shell import label_surface_shell
from nanotwin_core.builder.terminations import extended_selection, parse_termination, terminate
from nanotwin_core.builder.twin_laws import TwinLaw, TwinMember, expand_laws, parse_twin_law
from nanotwin_core.crystal import Crystal, LatticeContent, crystal_from_lattice
from nanotwin_core.errors import NanotwinError
from nanotwin_core.structures.elements import element_of
from nanotwin_core.structures.library import get_structure
from nanotwin_core.structures.structure import Structure


def check_coherent(member: TwinMember | RotationMember, own: Ownership,
                   allow_incoherent: bool = False) -> bool:
    """True if the member's shift is a vector of the coherent sublattice (a rotation: if it maps
    the sublattice onto itself within ``rotation_laws.MISFIT_TOLERANCE``, else NanotwinError).

    Otherwise NanotwinError, or (``allow_incoherent=True``) a warning and False.
    """
    if isinstance(member, RotationMember):
        node_operation(member, own)
        return True
    if own.is_node_vector(member.shift_frac):
        return True
    msg = (f"twin law {member.label}: the shift {_fmt_vec(member.shift_frac)} (fractional) is not a "
           f"lattice vector of the coherent {own.element} sublattice, so the {own.element} positions "
           "would not match across the boundary (an incoherent boundary)")
    if not allow_incoherent:
        raise NanotwinError(msg + "; pass allow_incoherent=True (CLI: --allow-incoherent) to build it anyway")
    warnings.warn(msg + "; building it because allow_incoherent=True", stacklevel=3)
    return False


def is_lattice_shift(member: TwinMember | RotationMember) -> bool:
    """True if the shift is a parent-lattice vector (the boundary is a no-op; never a rotation)."""
    if isinstance(member, RotationMember):
        return False
    s = member.shift_frac
    return bool(np.all(np.abs(s - np.round(s)) < FRAC_TOL))


def _fmt_vec(v: np.ndarray) -> str:
    return "(" + ", ".join(f"{x:g}" for x in v) + ")"


def node_contents(
    sel: NodeSelection, boundaries: Sequence[Boundary], base_shift: np.ndarray | None = None
) -> tuple[np.ndarray, list[LatticeContent], np.ndarray, np.ndarray]:
    """(content id per node, contents, sides (N, B) bool, total boundary shift per node (N, 3)).

    A node on the far side of boundaries with total shift T carries the class of n - T - T0
    (T0 = ``base_shift``, the first domain's shift): the bulk displaced by T + T0. Incoherent
    shifts get extra contents (see ``apply_boundaries``).
    """
    own = sel.ownership
    nodes = sel.nodes
    frac = sel.node_frac()
    n_nodes = len(nodes)
    if boundaries:
        sides = np.stack([b.far_side(frac) for b in boundaries], axis=1)
        shifts = np.array([b.shift_frac for b in boundaries])
        total = sides.astype(float) @ shifts
    else:
        sides = np.zeros((n_nodes, 0), dtype=bool)
        total = np.zeros((n_nodes, 3))
    first = np.zeros(3) if base_shift is None else np.asarray(base_shift, dtype=float).reshape(3)
    if not own.is_node_vector(first):
        raise NanotwinError(f"base_shift {_fmt_vec(first)} is not a vector of the coherent sublattice")
    u = own.node_coords(total + first)
    coherent = np.all(np.abs(u - np.round(u)) < FRAC_TOL, axis=1)
    ids = np.empty(n_nodes, dtype=np.int64)
    ids[coherent] = own.class_of(nodes[coherent] - np.round(u[coherent]).astype(np.int64))
    contents: list[LatticeContent] = list(own.contents)
    if not coherent.all():
        extra: dict[tuple, int] = {}
        cls = own.class_of(nodes[~coherent])
        for k, (c, t) in zip(np.nonzero(~coherent)[0], zip(cls, total[~coherent], strict=True), strict=True):
            t = t + first
            key = (int(c), *np.round(t, 9))
            if key not in extra:
                base = own.contents[int(c)]
                extra[key] = len(contents)
                contents.append(LatticeContent(frac=base.frac + t, elements=base.elements,
                                               adp_groups=base.adp_groups, occupancy=base.occupancy,
                                               exclusion=base.exclusion))
            ids[k] = extra[key]
    return ids, contents, sides, total


def apply_boundaries(sel: NodeSelection, boundaries: Sequence[Boundary], info: dict | None = None,
                     base_shift: np.ndarray | None = None) -> Crystal:
    """The crystal of a node selection cut by ``boundaries`` (domains, variants, polygons in info).

    Parameters
    ----------
    sel : the untwinned nodes (``select_prism`` etc.).
    boundaries : the planes; their shifts must be coherent unless the caller allowed otherwise.
    info : extra info merged into the crystal's info.
    base_shift : shift (parent fractional, a node-lattice vector) of the first domain, the near
        side of every boundary; the other domains add their boundaries' shifts to it. Variant ids
        and ``variant_shifts`` are relative to the first domain.
    """
    own = sel.ownership
    nodes = sel.nodes
    n_nodes = len(nodes)
    if has_rotations(boundaries):
        ids, contents, sides, var, rotation_info = mixed_node_contents(sel, boundaries, base_shift)
    else:
        ids, contents, sides, total = node_contents(sel, boundaries, base_shift)
        var, variant_shifts = _translation_variants(total)
        rotation_info = {"variant_shifts": [[float(x) for x in row] for row in variant_shifts]}
    desc = description_from_nodes(own, nodes, ids, contents)
    # domains: distinct side combinations; variants: distinct total shift modulo the parent lattice
    if sides.shape[1]:
        packed = np.ascontiguousarray(np.packbits(sides, axis=1))
        keys = packed.view(np.dtype((np.void, packed.shape[1]))).reshape(-1)
        _, dom = np.unique(keys, return_inverse=True)  # all-near-side (zero bytes) sorts first
    else:
        dom = np.zeros(n_nodes, dtype=np.int64)
    dom = np.asarray(dom).reshape(-1)
    var = np.asarray(var).reshape(-1)
    shape = desc.content_map.shape
    dmap = np.zeros(shape, dtype=np.int32)
    vmap = np.zeros(shape, dtype=np.int32)
    local = tuple((nodes - desc.map_origin).T)
    dmap[local] = dom
    vmap[local] = var
    out_info = dict(sel.info)
    out_info.update(info or {})
    crystal = crystal_from_lattice(desc, domain_map=dmap, variant_map=vmap, info=out_info)
    cell = own.cell
    hull = _hull_points(crystal.positions) if boundaries else crystal.positions
    crystal.info.update(
        n_atoms=crystal.n_atoms,
        n_boundaries=len(boundaries),
        n_domains=int(dom.max()) + 1 if n_nodes else 0,
        n_variants=int(var.max()) + 1 if n_nodes else 0,
        **rotation_info,
        boundary_planes=[b.as_dict(cell) for b in boundaries],
        boundaries=[boundary_polygon(b, cell, hull) for b in boundaries] if boundaries else [],
    )
    return crystal


def _translation_variants(total: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(variant id per node, shift of each variant) from the total shifts modulo the parent lattice."""
    tmod = total - np.floor(total + FRAC_TOL)
    tmod[np.abs(tmod) < FRAC_TOL] = 0.0
    scale = 10**6
    tint = np.round(tmod * scale).astype(np.int64) % scale
    tkey = (tint[:, 0] * (scale + 1) + tint[:, 1]) * (scale + 1) + tint[:, 2]
    _, first, var = np.unique(tkey, return_index=True, return_inverse=True)
    return var.reshape(-1), tint[first] / scale


def _hull_points(points: np.ndarray) -> np.ndarray:
    """The vertices of the convex hull of ``points`` (all points if degenerate)."""
    try:
        return points[ConvexHull(points).vertices]
    except (QhullError, ValueError):
        return points


def select_nodes(structure: Structure, shape: str, size_ab_nm: float | None = None,
                 size_c_nm: float | None = None, size_nm: float | None = None, coherent_element: str = "Pb",
                 max_atoms: int = DEFAULT_MAX_ATOMS) -> NodeSelection:
    """The untwinned sublattice nodes of a registered shape of the given sizes (nm)."""
    kind = get_shape(shape)
    if kind.bivariate and size_ab_nm is None and size_c_nm is None and size_nm is not None:
        size_ab_nm = size_c_nm = size_nm
    sizes = kind.check_sizes({"size_ab_nm": size_ab_nm, "size_c_nm": size_c_nm, "size_nm": size_nm})
    return kind.select(structure, sizes, coherent_element=coherent_element, max_atoms=max_atoms)


def build_crystal(
    structure: Structure | str,
    shape: str = "prism",
    size_ab_nm: float | None = None,
    size_c_nm: float | None = None,
    size_nm: float | None = None,
    twins: Iterable[str | TwinLaw] = (),
    boundaries: int | Sequence[Boundary] | None = None,
    domain_size_nm: float | str | Mapping[str, float] | None = None,
    seed: int | None = 0,
    coherent_element: str = "Pb",
    allow_incoherent: bool = False,
    max_atoms: int = DEFAULT_MAX_ATOMS,
    *,
    placement: str = "auto",
    positions: Sequence[float] | None = None,
    lattice: str | None = None,
    termination: str | None = None,
    surface_shell_A: float | None = None,
    surface_layers: int | None = None,
) -> Crystal:
    """Build one nanocrystal, optionally cut by coherent twin boundaries.

    Parameters
    ----------
    structure : a Structure or a built-in structure name.
    shape : a registered shape name (``shape_kinds.SHAPE_KINDS``): "prism" (``size_ab_nm``,
        ``size_c_nm``; ``size_nm`` sets both), "cuboid" or "sphere" (``size_nm``: edge or
        diameter), ... Sizes in nm, rounded to whole cells / formula units.
    twins : twin laws, e.g. ("1/2<110>{110}", "1/2<110>{001}"), families or single members;
        rotation "R90<uvw>{hkl}" and reflection "m{hkl}" laws (``rotation_laws.py``) too.
    boundaries : number of boundaries (default 1 when ``twins`` is given and no density), or a
        list of ``Boundary`` objects.
    domain_size_nm : mean domain size (nm) of a random network: one size for every law, or per law
        (a mapping or "LAW=NM,LAW=NM"). Every gap between node layers holds a boundary of each
        law on each of its planes with probability layer spacing / domain size, and the first
        domain's variant is random (see ``builder/networks.py``); the mean spacing of a law's
        parallel boundaries is its domain size.
    seed : seed of the numpy Generator for random placement.
    coherent_element : element of the coherent sublattice (Pb).
    allow_incoherent : build shifts that are not sublattice vectors (with a warning).
    max_atoms : refuse crystals estimated above this many atoms.
    placement : "auto" (regular for a count, random for a density), "regular" or "random".
    positions : fractional positions (0-1, 0.5 = centre) along the plane normal, one boundary each
        (members of the laws in turn), snapped to the nearest midpoint between node layers.
    lattice : for untwinned prisms, "cell" (default) or "sublattice".
    termination : None or "stoichiometric" (whole formula units), a preset ("CsX", "PbX2") or
        a rule "EL:K,...,neutral:EL" (``terminations.py``): which atoms close the facets of the
        core of whole coherent-sublattice nodes (the sizes are the core's).
    surface_shell_A, surface_layers : a surface shell (thickness in Å, or in layers) whose atoms
        get their own ADP/occupancy groups ``<group>_surf`` (``surface_shell.py``).

    Returns
    -------
    Crystal whose ``info`` holds the shape, realised sizes, structure, twins, members, seed,
    n_boundaries, n_domains, n_variants, ``boundaries`` (polygons, lists of [x, y, z] in Å) and
    ``boundary_planes``.
    """
    if isinstance(structure, str):
        structure = get_structure(structure)
    kind = get_shape(shape)
    rule = parse_termination(termination, {element_of(s.element) for s in structure.sites}, coherent_element)
    if placement not in ("auto", "regular", "random"):
        raise NanotwinError(f"placement must be 'auto', 'regular' or 'random', got {placement!r}")
    if kind.bivariate and size_ab_nm is None and size_c_nm is None and size_nm is not None:
        size_ab_nm = size_c_nm = size_nm
    sizes = kind.check_sizes({"size_ab_nm": size_ab_nm, "size_c_nm": size_c_nm, "size_nm": size_nm})
    if isinstance(twins, (str, TwinLaw, RotationLaw)):
        twins = [twins]
    twins = [parse_twin_law(t) for t in twins]
    if boundaries is not None and domain_size_nm is not None:
        raise NanotwinError("give either a number of boundaries or a domain size, not both")
    if not twins:
        if (isinstance(boundaries, int) and boundaries > 0) or (
                boundaries is not None and not isinstance(boundaries, int) and len(boundaries)) or \
                domain_size_nm is not None or positions:
            raise NanotwinError("twin boundaries need twin laws (--twin LAW; twins= in Python)")
        if rule.is_stoichiometric:
            crystal = kind.build(structure, sizes, coherent_element=coherent_element, max_atoms=max_atoms,
                                 lattice=lattice)
        else:
            sel = kind.select(structure, sizes, coherent_element=coherent_element, max_atoms=max_atoms)
            crystal = terminate(apply_boundaries(extended_selection(sel), []), sel.nodes, sel.ownership, rule)
        crystal.info.update(twins=[], n_boundaries=0, n_domains=1, n_variants=1, boundaries=[])
        return _with_shell(crystal, surface_shell_A, surface_layers)

    sel = kind.select(structure, sizes, coherent_element=coherent_element, max_atoms=max_atoms)
    pairs = expand_laws(twins, structure)
    incoherent = []
    for _law, m in pairs:
        if not check_coherent(m, sel.ownership, allow_incoherent):
            incoherent.append(m.label)
    members = [(law.label, m) for law, m in pairs]
    rng = np.random.default_rng(seed)
    frac = sel.node_frac()
    first_shift = None
    domain_sizes: dict[str, float] = {}
    if positions is not None:
        if boundaries is not None or domain_size_nm is not None:
            raise NanotwinError("give boundary positions, a number of boundaries or a domain size, not two")
        blist = [boundary_at(frac, members[i % len(members)][1], float(x), members[i % len(members)][0])
                 for i, x in enumerate(positions)]
        mode = "positions"
    elif boundaries is not None and not isinstance(boundaries, (int, np.integer)):
        blist = list(boundaries)
        mode = "given"
    elif domain_size_nm is not None:
        domain_sizes = domain_sizes_by_law(domain_size_nm, [law.label for law in twins])
        blist, first_shift = draw_network(sel, members, domain_sizes, rng)
        mode = "random"
    else:
        n = 1 if boundaries is None else int(boundaries)
        if n < 0:
            raise NanotwinError(f"number of boundaries must be >= 0, got {n}")
        if placement == "random":
            blist = random_boundaries(frac, sel.ownership.cell, members, rng, n_boundaries=n)
            mode = "random"
        else:
            blist = regular_boundaries(frac, members, n)
            mode = "regular"
    info = {
        "twins": [law.label for law in twins],
        "members": [m.label for _law, m in pairs],
        "noop_members": [m.label for _law, m in pairs if is_lattice_shift(m)],
        "incoherent_members": incoherent,
        "placement": mode,
        "seed": None if seed is None else int(seed),
        "requested_boundaries": int(boundaries) if isinstance(boundaries, (int, np.integer)) else None,
        "domain_size_nm": _size_info(domain_sizes) if domain_size_nm is not None else None,
        "coherent_element": coherent_element,
    }
    if first_shift is not None:
        info["first_variant_shift"] = [float(x) for x in first_shift]
    if rule.is_stoichiometric:
        crystal = apply_boundaries(sel, blist, info, base_shift=first_shift)
    else:
        crystal = terminate(apply_boundaries(extended_selection(sel), blist, info, base_shift=first_shift),
                            sel.nodes, sel.ownership, rule)
    return _with_shell(crystal, surface_shell_A, surface_layers)


def _with_shell(crystal: Crystal, thickness_A: float | None, layers: int | None) -> Crystal:
    if thickness_A is None and layers is None:
        return crystal
    return label_surface_shell(crystal, thickness_A, layers)


def draw_network(
    sel: NodeSelection, members: Sequence[tuple[str, TwinMember]], sizes_nm: Mapping[str, float],
    rng: np.random.Generator,
) -> tuple[list[Boundary], np.ndarray]:
    """One random network of the gap model (``networks.py``): (boundaries, first-domain shift).

    The first domain's variant (a class offset) is drawn first, then the gaps group by group:
    what ``build_crystal(domain_size_nm=..., seed=...)`` places.
    """
    own = sel.ownership
    first_shift = own.class_offsets[int(rng.integers(own.n_classes))]
    blist = random_boundaries(sel.node_frac(), own.cell, members, rng, domain_size_nm=sizes_nm)
    return blist, np.asarray(first_shift, dtype=float)


def _size_info(sizes: dict[str, float]) -> float | dict[str, float]:
    """One number when every law has the same domain size, else law -> nm."""
    values = set(sizes.values())
    return next(iter(values)) if len(values) == 1 else dict(sizes)


def twinned_ensemble(
    structure: Structure | str,
    twins: Iterable[str | TwinLaw],
    seeds: Iterable[int] = (0, 1, 2, 3),
    *,
    shape: str = "prism",
    size_ab_nm: float | None = None,
    size_c_nm: float | None = None,
    size_nm: float | None = None,
    boundaries: int | None = None,
    domain_size_nm: float | str | Mapping[str, float] | None = None,
    **kwargs,
) -> list[Crystal]:
    """One twinned crystal per seed (random placement, reproducible by seed).

    ``boundaries`` (a count) places that many boundaries at random; ``domain_size_nm`` uses the
    density. Other keywords go to ``build_crystal``.
    """
    twins = [twins] if isinstance(twins, (str, TwinLaw, RotationLaw)) else list(twins)
    kwargs.setdefault("placement", "random")
    return [
        build_crystal(structure, shape=shape, size_ab_nm=size_ab_nm, size_c_nm=size_c_nm, size_nm=size_nm,
                      twins=twins, boundaries=boundaries, domain_size_nm=domain_size_nm, seed=s, **kwargs)
        for s in seeds
    ]
