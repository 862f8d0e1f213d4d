"""Size databases in seconds: pair counts reused across the sizes of a grid (docs/internals.md).

A prism of n_ab x n_ab x n_c parent cells holds, at parent offset U, the cell pairs
B_n(U) = (n_ab - |U_a|)(n_ab - |U_b|)(n_c - |U_c|) (zero beyond the box), so its histograms are

    H_n = sum_U B_n(U) Omega_U,

Omega_U the (expected) histogram of the atom pairs between one cell and the cell at U: the whole
cell (untwinned databases, the per-crystal build's cell route) or its coherent-sublattice nodes
with contents drawn from the twin-network ensemble (``population/ensemble.py``; node pairs in one
cell and inside one node included at U = 0). Omega_U does not depend on the size. Expanding
B_n = [n_ab^2 - n_ab (|U_a| + |U_b|) + |U_a| |U_b|] (n_c - |U_c|), one pass over the offsets
ordered by shell s_ab = max(|U_a|, |U_b|) accumulates the three moment histograms per
s_c = |U_c| cumulatively (``fast_kernels.prism_shell``); after shell n_ab - 1 every size
(n_ab, n_c) is sum_{s_c < n_c} (n_c - s_c) (n_ab^2 M0 - n_ab M1 + M2)[s_c] (running sums over
s_c), as DebUsSy's growth-based databases do. Spheres and cuboids (one size parameter, a few
dozen sizes) count their node pairs per size with one FFT and spread the same per-offset atom
pairs (``fast_kernels.offset_entries``); contents identical up to translation are merged first.

Distances go onto an r grid of step 0.25 / Q_max with six-point weights (error below 1e-8 of
max(I), ``fast_kernels``); each size's histogram becomes sinc sums by a chirp-z transform whose
chirps are computed once, on a Q grid of step 0.6 / r_max read by a quintic spline (0.6 x the
points of the per-crystal build's 0.35 / r_max cubic grid, and a smaller interpolation error:
measured below 5e-7 of max(I) against the plain double sum, where the cubic grid errs 2e-6).
The result is an ordinary ``SizeDatabase``; ``build_size_database`` stays the reference (equal
to 1e-6 of the maximum). With a fibre texture, spheres and cuboids take the per-size node-set
pass, which also spreads the symmetrised Legendre moments of the same pairs
(``scattering/texture.py``) and stores their j_l sums on the same Q grid; textured prisms are
built crystal by crystal (``build_size_database``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

import numba
import numpy as np
import scipy.fft

from nanotwin_core.builder import find_ownership, select_sphere
from nanotwin_core.builder.shape_kinds import CUBOID, PRISM, SPHERE, ShapeKind, get_shape
from nanotwin_core.builder.shapes import NodeSelection, cell_content, description_from_nodes
from nanotwin_core.crystal import LatticeContent
from nanotwin_core.errors import Cancelled, NanotwinError
from nanotwin_core.numba_setup import REDUCTION_SLOTS, call_parallel
from nanotwin_core.population.ensemble import TwinNetworkModel, ensemble_pair_table, twin_network_model
from nanotwin_core.refine.fast_kernels import OFFSET, fold_negative, offset_entries, prism_shell
from nanotwin_core.refine.size_database import (
    SizeDatabase,
    build_size_database,
    cached_size_database,
    database_q_grid,
)
from nanotwin_core.scattering.lattice_route import build_pair_table
from nanotwin_core.scattering.texture import equivalent_axes, legendre_sums, moment_histograms
from nanotwin_core.scattering.types import AtomType, type_pairs

R_STEP_QMAX = 0.25  # r step (Å) x largest Q (1/Å) of the six-point sampling
FAST_PHASE_STEP = 0.6  # rad: fine-grid Q step x largest distance, read by a quintic spline


class ChirpTransform:
    """S_p(Q_n) = sum_k h_p(r_k) sinc(Q_n r_k) on a uniform Q grid for histograms of up to
    ``n_bins`` points r_k = k dr, by Bluestein's chirp-z (two FFTs per row, chirps cached)."""

    def __init__(self, q: np.ndarray, dr: float, n_bins: int) -> None:
        q = np.asarray(q, dtype=float)
        if len(q) < 2:
            raise NanotwinError("the database Q grid needs at least two points")
        self.q = q
        self.dr = float(dr)
        self.n_bins = int(n_bins)
        nq = len(q)
        dq = (q[-1] - q[0]) / (nq - 1)
        a = dq * dr
        self.size = scipy.fft.next_fast_len(self.n_bins + nq - 1)
        mm = np.arange(max(self.n_bins, nq), dtype=float)
        chirp = np.exp(-0.5j * a * mm * mm)
        c = np.zeros(self.size, dtype=np.complex128)
        c[:nq] = chirp[:nq]
        c[self.size - (self.n_bins - 1):] = chirp[1:self.n_bins][::-1]
        self.spectrum = scipy.fft.fft(c)
        k = np.arange(self.n_bins, dtype=float)
        self.pre = np.exp(1j * (q[0] * dr * k + 0.5 * a * k * k))
        self.pre[1:] /= k[1:] * dr
        self.pre[0] = 0.0
        self.post = np.exp(0.5j * a * np.arange(nq, dtype=float) ** 2)
        self.inv_q = np.where(q > 0, 1.0 / np.where(q > 0, q, 1.0), 0.0)

    def __call__(self, counts: np.ndarray) -> np.ndarray:
        """(P, nq) sinc sums of counts (P, m <= n_bins) on r_k = k dr."""
        counts = np.asarray(counts, dtype=float)
        m = counts.shape[1]
        if m > self.n_bins:
            raise NanotwinError("histogram longer than the transform was made for (internal error)")
        x = np.zeros((counts.shape[0], self.size), dtype=np.complex128)
        x[:, :m] = counts * self.pre[None, :m]
        workers = max(1, numba.get_num_threads())
        y = scipy.fft.ifft(scipy.fft.fft(x, axis=1, workers=workers) * self.spectrum[None, :], axis=1,
                           workers=workers)
        nq = len(self.q)
        out = (y[:, :nq] * self.post[None, :]).imag * self.inv_q[None, :]
        zero_q = self.q == 0
        if zero_q.any():
            out[:, zero_q] = counts[:, 1:].sum(axis=1)[:, None]
        return out + counts[:, :1]


def _merge_contents(contents: list[LatticeContent]) -> tuple[list[LatticeContent], np.ndarray]:
    """Distinct contents (same atoms at the same offsets merged) and the map old -> new index."""
    out: list[LatticeContent] = []
    index = np.empty(len(contents), dtype=np.int64)
    for i, c in enumerate(contents):
        for j, d in enumerate(out):
            if (len(c) == len(d) and np.allclose(c.frac, d.frac, atol=1e-12)
                    and np.array_equal(c.elements, d.elements) and np.array_equal(c.adp_groups, d.adp_groups)
                    and np.allclose(c.occupancy, d.occupancy) and np.array_equal(c.exclusion, d.exclusion)):
                index[i] = j
                break
        else:
            index[i] = len(out)
            out.append(c)
    return out, index


class _AtomTable:
    """Concatenated atoms of some contents (Å offsets from the node), their types and pairs."""

    def __init__(self, contents: list[LatticeContent], cell: np.ndarray, types: list[AtomType]) -> None:
        sizes = [len(c) for c in contents]
        self.start = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        self.pos = np.ascontiguousarray(np.vstack([c.frac for c in contents]) @ cell)
        tix = {t: i for i, t in enumerate(types)}
        self.type = np.array([tix[AtomType(str(e), str(g), float(o))] for c in contents
                              for e, g, o in zip(c.elements, c.adp_groups, c.occupancy, strict=True)],
                             dtype=np.int64)
        self.excl = np.concatenate([np.asarray(c.exclusion, dtype=np.int64) for c in contents])
        self.occupancy = np.concatenate([np.asarray(c.occupancy, dtype=float) for c in contents])
        self.pairs, self.pidx = type_pairs(len(types))

    def type_occupancy(self, weights: np.ndarray, n_types: int) -> np.ndarray:
        """Occupancy sum per type of contents taken ``weights`` times (one weight per content)."""
        per_atom = np.repeat(np.asarray(weights, float), np.diff(self.start)) * self.occupancy
        return np.bincount(self.type, weights=per_atom, minlength=n_types)


def _types_of(contents: list[LatticeContent]) -> list[AtomType]:
    return sorted({AtomType(str(e), str(g), float(o)) for c in contents
                   for e, g, o in zip(c.elements, c.adp_groups, c.occupancy, strict=True)})


def _ensemble_model(structure, twins, domain_size_nm, own) -> tuple[TwinNetworkModel | None, np.ndarray]:
    if not twins:
        return None, np.zeros(0)
    if domain_size_nm is None:
        raise NanotwinError("a fast twinned database is an ensemble: it needs a domain size (nm)")
    model = twin_network_model(own, twins, structure)
    return model, model.gap_probabilities(domain_size_nm)


def _eigen_tables(model: TwinNetworkModel | None, p: np.ndarray, m_max: int):
    """(eta, lambda^m table (G, chi, m_max + 1), conj characters, add, neg) for the kernels."""
    if model is None:
        one = np.ones((1, 1), dtype=np.complex128)
        return (np.zeros((0, 3), dtype=np.int64), np.ones((0, 1, 1), dtype=np.complex128), one,
                np.zeros((1, 1), dtype=np.int64), np.zeros(1, dtype=np.int64))
    lam = model.eigenvalues(p)
    powers = lam[:, :, None] ** np.arange(m_max + 1)[None, None, :]
    alg = model.algebra
    chars_conj = np.ascontiguousarray(np.conj(alg.characters))
    return np.ascontiguousarray(model.eta), np.ascontiguousarray(powers), chars_conj, alg.add, alg.neg


def _check_cancel(cancel: Callable[[], bool] | None) -> None:
    if cancel is not None and cancel():
        raise Cancelled("database build cancelled")


def build_fast_database(
    structure,
    shape: str,
    sizes: list[tuple[int, ...]],
    size_units_nm: tuple[float, ...],
    q_range: tuple[float, float],
    *,
    twins: tuple[str, ...] = (),
    domain_size_nm: float | str | Mapping[str, float] | None = None,
    coherent_element: str = "Pb",
    progress: Callable[[float, str], None] | None = None,
    cancel: Callable[[], bool] | None = None,
    out: np.ndarray | None = None,
    texture: tuple | None = None,
) -> SizeDatabase:
    """The size database of ``build_size_database`` (untwinned, or the exact twin-network ensemble
    of ``domain_size_nm`` with ``ensemble=True``) from pair counts shared by all sizes.

    ``sizes``: (n_ab, n_c) cell counts for prisms, (n,) for spheres and cuboids; ``q_range`` in 1/Å.
    ``out``: a float32 array (sizes, type pairs, Q points of ``fast_q_grid``) to hold the sums.
    ``texture``: (axis hkl, orders l): also store the Legendre sums of a fibre texture (untwinned).
    """
    t0 = time.perf_counter()
    if not sizes:
        raise NanotwinError("empty size grid")
    kind = get_shape(shape)
    if kind not in (PRISM, SPHERE, CUBOID):
        raise NanotwinError(f"the fast database route covers prisms, spheres and cuboids, not {shape!r}")
    twins = tuple(twins)
    ensemble = bool(twins)
    q_fine, r_grid = fast_q_grid(structure, shape, sizes, size_units_nm, q_range, ensemble, coherent_element)
    dr = R_STEP_QMAX / max(float(q_fine[-1]), 1.0)
    if texture is not None and twins:
        raise NanotwinError("texture is not available for twin ensembles yet")
    if texture is not None and kind is PRISM:
        raise NanotwinError("textured prism databases are built crystal by crystal (route='crystals')")
    tex = None
    if kind is PRISM:
        result = _prism_sums(structure, sizes, q_fine, dr, twins, domain_size_nm, coherent_element, progress,
                             cancel, out)
    else:
        result = _node_set_sums(structure, kind, sizes, size_units_nm, q_fine, dr, twins, domain_size_nm,
                                coherent_element, progress, cancel, out, texture)
        tex = result[-1]
        result = result[:-1]
    types, sinc, self_sums, n_atoms, r_max = result
    counts = np.array(sizes, dtype=np.int64).reshape(len(sizes), -1)
    units = np.array(size_units_nm[: counts.shape[1]])
    info = {"twins": list(twins), "seeds": [], "r_max": r_max, "structure": structure.name,
            "ensemble": ensemble, "domain_size_nm": domain_size_nm if ensemble else None,
            "route": "fast", "r_step": dr, "r_grid": r_grid, "spline_order": 5}
    if texture is not None:
        info.update(texture_axis=[int(v) for v in texture[0]], texture_orders=[int(v) for v in texture[1]])
    return SizeDatabase(
        shape=shape, counts=counts, sizes_nm=counts * units, types=types, pairs=type_pairs(len(types))[0],
        q_fine=q_fine, sinc=sinc, self_sums=self_sums, n_atoms=n_atoms, seconds=time.perf_counter() - t0,
        info=info, texture=tex,
    )


def fast_q_grid(structure, shape: str, sizes, size_units_nm, q_range, ensemble: bool,
                coherent_element: str = "Pb") -> tuple[np.ndarray, float]:
    """(Q grid, r bound in Å) of a fast database: step 0.6 / r bound, four extra points each end."""
    return database_q_grid(structure, shape, sizes, size_units_nm, q_range, coherent_element=coherent_element,
                           ensemble=ensemble, phase_step=FAST_PHASE_STEP, margin_steps=4)


def ensemble_types(structure, coherent_element: str = "Pb") -> list[AtomType]:
    """The atom types (in database order) of a fast ensemble database of ``structure``."""
    return _types_of(list(find_ownership(structure, coherent_element).contents))


def _sums_array(out: np.ndarray | None, shape: tuple[int, int, int]) -> np.ndarray:
    if out is None:
        return np.zeros(shape, dtype=np.float32)
    if out.shape != shape or out.dtype != np.float32:
        raise NanotwinError(f"sums array {out.shape} {out.dtype}, need {shape} float32 (internal error)")
    return out


def _prism_sums(structure, sizes, q_fine, dr, twins, domain_size_nm, coherent_element, progress, cancel,
                out=None):
    cell = structure.cell.matrix
    if twins:
        own = find_ownership(structure, coherent_element)
        model, p = _ensemble_model(structure, twins, domain_size_nm, own)
        contents = list(own.contents)
        sites = own.origin_frac + own.class_offsets
        site_node = np.rint(own.node_coords(own.class_offsets)).astype(np.int64)
        parent_node = np.rint(own.node_coords(np.eye(3))).astype(np.int64)
        site_cls = np.arange(len(sites), dtype=np.int64)
        if np.any(sites < -1e-9) or np.any(sites >= 1 - 1e-9):
            raise NanotwinError("coherent-sublattice atoms outside the unit cell (internal error)")
    else:
        model, p = None, np.zeros(0)
        contents = [cell_content(structure)]
        sites = np.zeros((1, 3))
        site_node = np.zeros((1, 3), dtype=np.int64)
        parent_node = np.eye(3, dtype=np.int64)
        site_cls = np.zeros(1, dtype=np.int64)
    types = _types_of(contents)
    atoms = _AtomTable(contents, cell, types)
    n_cls = len(contents)
    sizes_arr = np.array(sizes, dtype=np.int64)
    nab_max, nc_max = int(sizes_arr[:, 0].max()), int(sizes_arr[:, 1].max())
    m_max = int(3 * (nab_max + nc_max) * max(1, int(np.abs(parent_node).max())) + 8)
    eta, lam_pow, chars_conj, add, neg = _eigen_tables(model, p, m_max)
    if model is None:
        add, neg = np.zeros((1, 1), dtype=np.int64), np.zeros(1, dtype=np.int64)
    # r bound: the largest cell offset plus twice the extent of a cell's atoms
    ext = float(np.max(np.linalg.norm(atoms.pos, axis=1)) + np.max(np.linalg.norm(sites @ cell, axis=1)))
    corner = np.array([nab_max, nab_max, nc_max], dtype=float) @ np.abs(cell)
    r_bound = float(np.linalg.norm(corner)) + 2 * ext + 2.0
    n_bins = int(np.ceil(r_bound / dr)) + 8
    transform = ChirpTransform(q_fine, dr, n_bins)
    cm = np.zeros((nc_max, len(atoms.pairs), n_bins + OFFSET + 3, 3))
    sinc = _sums_array(out, (len(sizes), len(atoms.pairs), len(q_fine)))
    self_sums = np.zeros((len(sizes), len(types)))
    n_atoms = np.zeros(len(sizes))
    per_cell = atoms.type_occupancy(np.full(n_cls, len(sites) / n_cls), len(types))
    atoms_per_cell = float(np.diff(atoms.start).sum()) * len(sites) / n_cls
    where = {tuple(s): i for i, s in enumerate(sizes_arr.tolist())}
    r_max = 0.0
    done = 0
    for s_ab in range(nab_max):
        _check_cancel(cancel)
        bigger = sizes_arr[sizes_arr[:, 0] > s_ab]
        nc_need = int(bigger[:, 1].max())
        call_parallel(prism_shell, s_ab, nc_need, cell, np.ascontiguousarray(sites), site_node, site_cls,
                      parent_node, atoms.pos, atoms.type, atoms.excl, atoms.start, add, neg, atoms.pidx, eta,
                      lam_pow, chars_conj, 1.0 / dr, cm)
        n_ab = s_ab + 1
        wanted = sorted(int(c) for a, c in sizes_arr.tolist() if a == n_ab)
        if not wanted:
            continue
        z0 = np.zeros(cm.shape[1:3])
        z1 = np.zeros(cm.shape[1:3])
        for s_c in range(wanted[-1]):
            y = n_ab * n_ab * cm[s_c, :, :, 0] - n_ab * cm[s_c, :, :, 1] + cm[s_c, :, :, 2]
            z0 += y
            z1 += s_c * y
            n_c = s_c + 1
            if n_c in wanted:
                hist = fold_negative(n_c * z0 - z1)
                nz = np.nonzero(np.any(hist != 0, axis=0))[0]
                r_max = max(r_max, float(nz[-1] * dr) if len(nz) else 0.0)
                i = where[(n_ab, n_c)]
                sinc[i] = transform(hist[:, : (nz[-1] + 1 if len(nz) else 1)]).astype(np.float32)
                n_cells = float(n_ab * n_ab * n_c)
                self_sums[i] = n_cells * per_cell
                n_atoms[i] = n_cells * atoms_per_cell
                done += 1
                if progress is not None:
                    progress(done / len(sizes), f"size {done}/{len(sizes)}")
    return types, sinc, self_sums, n_atoms, r_max


def _node_set_sums(structure, kind: ShapeKind, sizes, size_units_nm, q_fine, dr, twins, domain_size_nm,
                   coherent_element, progress, cancel, out=None, texture=None):
    own = find_ownership(structure, coherent_element)
    model, p = _ensemble_model(structure, twins, domain_size_nm, own)
    merged, index = _merge_contents(list(own.contents))
    types = _types_of(list(own.contents))
    selections: list[NodeSelection] = []
    units = tuple(size_units_nm)
    if kind is SPHERE:
        # spheres grow by shells: every size is the nodes of the largest within its radius
        biggest = max(sizes, key=lambda c: c[0])
        big = select_sphere(structure, kind.sizes_of_counts(tuple(biggest), units)["size_nm"],
                            coherent_element=coherent_element, ownership=own)
        radius = np.linalg.norm(big.nodes @ own.node_basis, axis=1)
        for counts in sizes:
            d_nm = kind.sizes_of_counts(tuple(counts), units)["size_nm"]
            keep = radius <= d_nm * 5.0 + 1e-9  # as select_sphere: node within D/2 (Å) of the centre
            selections.append(NodeSelection(own, big.nodes[keep], {}))
    else:
        for counts in sizes:
            selections.append(kind.select(structure, kind.sizes_of_counts(tuple(counts), units),
                                          coherent_element=coherent_element))
    spans = [np.ptp(sel.nodes @ own.node_basis, axis=0) for sel in selections]
    ext = float(np.max(np.linalg.norm(np.vstack([c.frac for c in own.contents]) @ own.cell, axis=1)))
    r_bound = max(float(np.linalg.norm(s)) for s in spans) + 2 * ext + 2.0
    n_bins = int(np.ceil(r_bound / dr)) + 8
    transform = ChirpTransform(q_fine, dr, n_bins)
    n_pairs = len(type_pairs(len(types))[0])
    sinc = _sums_array(out, (len(sizes), n_pairs, len(q_fine)))
    self_sums = np.zeros((len(sizes), len(types)))
    n_atoms = np.zeros(len(sizes))
    r_max = 0.0
    tex = None
    if texture is not None:
        axes = equivalent_axes(structure, texture[0], own.cell)
        orders = np.asarray(texture[1], dtype=np.int64)
        tex = np.zeros((len(sizes), len(orders), n_pairs, len(q_fine)), dtype=np.float32)
    for i, sel in enumerate(selections):
        _check_cancel(cancel)
        if model is None:
            ids = index[own.class_of(sel.nodes)]
            table = build_pair_table(description_from_nodes(own, sel.nodes, ids, merged))
            contents = merged
        else:
            table = ensemble_pair_table(sel, model, p)
            contents = list(own.contents)
        atoms = _AtomTable(contents, own.cell, types)
        hist = np.zeros((REDUCTION_SLOTS, n_pairs, n_bins + OFFSET + 3))
        call_parallel(offset_entries, table.entry_k, table.entry_l, table.entry_u, table.entry_count,
                      np.ascontiguousarray(own.node_basis), atoms.pos, atoms.type, atoms.excl, atoms.start,
                      atoms.pidx, 1.0 / dr, hist)
        h = fold_negative(hist.sum(axis=0))
        nz = np.nonzero(np.any(h != 0, axis=0))[0]
        r_max = max(r_max, float(nz[-1] * dr) if len(nz) else 0.0)
        sinc[i] = transform(h[:, : (nz[-1] + 1 if len(nz) else 1)]).astype(np.float32)
        if tex is not None:
            moments, r_axis = moment_histograms(
                table, axes, orders, dr, node_basis=np.ascontiguousarray(own.node_basis),
                atoms=(atoms.pos, atoms.type, atoms.excl, atoms.start, atoms.pidx))
            tex[i] = legendre_sums(moments, r_axis, q_fine, orders).astype(np.float32)
        weights = np.asarray(table.content_nodes, dtype=float)
        self_sums[i] = atoms.type_occupancy(weights, len(types))
        n_atoms[i] = float(weights @ np.diff(atoms.start))
        if progress is not None:
            progress((i + 1) / len(sizes), f"size {i + 1}/{len(sizes)}")
    return types, sinc, self_sums, n_atoms, r_max, tex


def fast_route_possible(structure, shape: str, twins, boundaries, ensemble: bool,
                        coherent_element: str = "Pb") -> bool:
    """True when ``build_fast_database`` can build the database: untwinned crystals, or the
    ensemble of random networks (not fixed boundaries nor seeded realisations); spheres and
    cuboids need a coherent sublattice (without one they are whole cells: per-crystal build); other
    registered shapes use the per-crystal build."""
    kind = get_shape(shape)
    if kind not in (PRISM, SPHERE, CUBOID) or (twins and (not ensemble or boundaries is not None)):
        return False
    if kind is not PRISM or twins:
        try:
            find_ownership(structure, coherent_element)
        except NanotwinError:
            return False
    return True


def cached_database(
    cache: dict | None,
    structure,
    shape: str,
    sizes: list[tuple[int, ...]],
    size_units_nm: tuple[float, ...],
    q_range: tuple[float, float],
    *,
    twins: tuple[str, ...] = (),
    boundaries: int | None = None,
    domain_size_nm: float | str | Mapping[str, float] | None = None,
    seeds: tuple[int, ...] = (0,),
    coherent_element: str = "Pb",
    min_domains: int | None = None,
    ensemble: bool = False,
    route: str = "auto",
    progress: Callable[[float, str], None] | None = None,
    cancel: Callable[[], bool] | None = None,
    mapper=None,
    crystal_options: Mapping | None = None,
    texture: tuple | None = None,
) -> SizeDatabase:
    """The size database of a population, from ``cache`` when it holds one built from the same
    inputs. ``route``: "auto" (the fast route where possible, else one crystal per size and seed),
    "fast" or "crystals" (``build_size_database``, the reference). ``ensemble=True``: the exact
    average over random networks of ``domain_size_nm`` instead of seeded realisations.
    ``mapper`` (``nanotwin_core.distributed``) spreads the per-size crystals of the crystals route
    over a cluster; the fast route accumulates all sizes in one pass here. ``crystal_options``: a
    termination or surface shell (``build_crystal`` keywords): crystals route only. ``texture``:
    (axis hkl, orders l) of a fibre texture's Legendre sums to store too (``texture_database_spec``)."""
    if route not in ("auto", "fast", "crystals"):
        raise NanotwinError(f"database route must be 'auto', 'fast' or 'crystals', got {route!r}")
    if crystal_options and (route == "fast" or ensemble):
        raise NanotwinError("terminations and surface shells are built crystal by crystal: not with the fast "
                            "database route or an ensemble (use route='crystals' and seeded realisations)")
    if ensemble:
        if not twins or boundaries is not None or domain_size_nm is None:
            raise NanotwinError("an ensemble of twin networks needs twin laws and a domain size; a fixed "
                                "number of boundaries is one deterministic crystal, not an ensemble")
        kwargs: dict = dict(twins=tuple(twins), domain_size_nm=domain_size_nm,
                            coherent_element=coherent_element, ensemble=True)
    else:
        kwargs = dict(twins=tuple(twins), boundaries=boundaries, domain_size_nm=domain_size_nm,
                      seeds=tuple(seeds), coherent_element=coherent_element, min_domains=min_domains)
    if crystal_options:
        kwargs["crystal_options"] = dict(crystal_options)
    if texture is not None:
        if twins:
            raise NanotwinError("texture is not available for twinned crystals or twin ensembles yet")
        kwargs["texture"] = (tuple(int(v) for v in texture[0]), tuple(int(v) for v in texture[1]))
    fast = route == "fast" or (route == "auto" and not crystal_options
                               and not (texture is not None and get_shape(shape) is PRISM)
                               and fast_route_possible(structure, shape, twins, boundaries, ensemble,
                                                       coherent_element))
    if fast and twins and not ensemble:
        raise NanotwinError("the fast database route averages twin networks exactly (ensemble); seeded "
                            "realisations or fixed boundaries use route='crystals'")

    def fast_builder(structure, shape, sizes, units, q_range, *, twins=(), domain_size_nm=None,
                     coherent_element="Pb", progress=None, cancel=None, texture=None, **_ignored):
        return build_fast_database(structure, shape, sizes, units, q_range, twins=twins,
                                   domain_size_nm=domain_size_nm, coherent_element=coherent_element,
                                   progress=progress, cancel=cancel, texture=texture)

    return cached_size_database(cache, structure, shape, sizes, size_units_nm, q_range,
                                builder=fast_builder if fast else build_size_database, progress=progress,
                                cancel=cancel, mapper=mapper, **kwargs)
