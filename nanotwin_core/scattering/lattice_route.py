"""Lattice route: exact pair histograms of a crystal made of contents on the nodes of one lattice.

For contents k, l with occupancy maps M_k(n) = [content_map(n) == k], the number of node pairs
at node offset u is the cross-correlation C_kl(u) = sum_n M_k(n) M_l(n + u), computed by zero
padded FFTs (scipy.fft, rounded to integers) or, for small contents, counted directly (exact).
Every unordered atom pair is counted once: content pairs k < l over all offsets u, k == l over
the half space u > 0 (lexicographic), and u = 0 within one content for atom pairs i < j outside one exclusion
group. The distance of atom i (content k) and atom j (content l) at offset u is
|u . node_basis + x_l[j] - x_k[i]|, weighted by C_kl(u).

The table of (content pair, offset, count) is kept in a ``LatticePairTable``: a change of the
cell or of the contents' atom offsets (a tilt) re-evaluates the distances without recounting
(``rehistogram``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numba
import numpy as np
import scipy.fft
from numba import njit, prange

from nanotwin_core.crystal import LatticeContent, LatticeDescription
from nanotwin_core.errors import Cancelled, NanotwinError
from nanotwin_core.numba_setup import REDUCTION_SLOTS, call_parallel, thread_count
from nanotwin_core.scattering.sampling import SCHEME_CODES, Sampling, resolve_sampling
from nanotwin_core.scattering.types import AtomType, PairHistograms, type_pairs


@dataclass
class LatticePairTable:
    """Node-offset multiplicities per content pair, plus per-content atoms (see module doc).

    entry_k, entry_l, entry_u (E, 3) and entry_count give every (content pair, node offset,
    number of node pairs); the entry with k == l and u == 0 stands for the pairs inside one node.
    content_frac[k] (m_k, 3) are the atom offsets (parent fractional units), content_type[k] their
    type indices, content_exclusion[k] their local exclusion ids.
    """

    cell: np.ndarray
    node_basis_frac: np.ndarray
    content_frac: list[np.ndarray]
    content_type: list[np.ndarray]
    content_exclusion: list[np.ndarray]
    content_nodes: np.ndarray
    entry_k: np.ndarray
    entry_l: np.ndarray
    entry_u: np.ndarray
    entry_count: np.ndarray
    types: list[AtomType]
    type_counts: np.ndarray
    occupancy_sums: np.ndarray
    n_pairs: float

    @property
    def n_entries(self) -> int:
        return len(self.entry_count)

    def n_distances(self) -> int:
        """Number of (entry, atom pair) distance evaluations of one re-histogram."""
        sizes = np.array([len(f) for f in self.content_frac])
        return int(np.sum(sizes[self.entry_k] * sizes[self.entry_l]))


def occupancy_correlations(content_map: np.ndarray, n_contents: int) -> dict[tuple[int, int], np.ndarray]:
    """C_kl(u) for k <= l as integer arrays over u in [-(n-1), n-1]^3 (index u + n - 1)."""
    return dict(iter_occupancy_correlations(content_map, n_contents))


# A content pair with fewer node pairs than this many times the padded FFT grid is counted
# directly (a labelled surface gives many small contents; their FFTs cost more than the counting).
DIRECT_PAIRS_PER_GRID_POINT = 8.0


@njit(nogil=True, cache=True)
def _direct_correlation(nodes_k: np.ndarray, nodes_l: np.ndarray, d0: int, d1: int, d2: int) -> np.ndarray:
    """C_kl(u) = #{(n, n') : n in k, n' in l, n' - n = u} over u in [-(d-1), d-1]^3 (index u + d - 1)."""
    out = np.zeros((2 * d0 - 1, 2 * d1 - 1, 2 * d2 - 1), dtype=np.int64)
    for i in range(nodes_k.shape[0]):
        a0, a1, a2 = nodes_k[i, 0] - d0 + 1, nodes_k[i, 1] - d1 + 1, nodes_k[i, 2] - d2 + 1
        for j in range(nodes_l.shape[0]):
            out[nodes_l[j, 0] - a0, nodes_l[j, 1] - a1, nodes_l[j, 2] - a2] += 1
    return out


def iter_occupancy_correlations(content_map: np.ndarray, n_contents: int):
    """((k, l), C_kl) for k <= l, one at a time (memory: one correlation, not one per pair; a
    crystal with a labelled surface has dozens of contents). Large pairs by FFT, small ones by
    direct counting (both exact integers)."""
    cmap = np.asarray(content_map)
    shape = np.array(cmap.shape)
    size = tuple(int(scipy.fft.next_fast_len(int(2 * s - 1), real=True)) for s in shape)
    direct_limit = DIRECT_PAIRS_PER_GRID_POINT * float(np.prod(size))
    nodes = {}
    for k in range(n_contents):
        where = np.argwhere(cmap == k)
        if len(where):
            nodes[k] = where.astype(np.int64)
    spectra: dict[int, np.ndarray] = {}

    def spectrum(k: int) -> np.ndarray:
        if k not in spectra:
            spectra[k] = scipy.fft.rfftn((cmap == k).astype(np.float64), s=size)
        return spectra[k]

    idx = [np.arange(-(s - 1), s) % z for s, z in zip(shape, size, strict=True)]
    for k in nodes:
        for l in nodes:
            if l < k:
                continue
            if len(nodes[k]) * len(nodes[l]) <= direct_limit:
                yield (k, l), _direct_correlation(nodes[k], nodes[l], *(int(d) for d in shape))
                continue
            c = scipy.fft.irfftn(np.conj(spectrum(k)) * spectrum(l), s=size)
            c = c[np.ix_(*idx)]
            ci = np.rint(c)
            if np.max(np.abs(c - ci)) > 0.05:
                raise RuntimeError("occupancy correlation not integral (internal error)")
            yield (k, l), ci.astype(np.int64)


def _assign_content_types(contents: list[LatticeContent], used: np.ndarray):
    keys = set()
    for k, c in enumerate(contents):
        if not used[k]:
            continue
        for e, g, o in zip(c.elements, c.adp_groups, c.occupancy, strict=True):
            keys.add(AtomType(str(e), str(g), float(o)))
    types = sorted(keys)
    tix = {t: i for i, t in enumerate(types)}
    ctype = []
    for c in contents:
        ctype.append(
            np.array(
                [
                    tix.get(AtomType(str(e), str(g), float(o)), -1)
                    for e, g, o in zip(c.elements, c.adp_groups, c.occupancy, strict=True)
                ],
                dtype=np.int64,
            )
        )
    return types, ctype


def build_pair_table(lattice: LatticeDescription) -> LatticePairTable:
    """Count node pairs per content pair and node offset (FFT or direct correlations, exact integers)."""
    cmap = np.asarray(lattice.content_map)
    if cmap.ndim != 3:
        raise NanotwinError("content_map must be a 3-D array")
    n_c = len(lattice.contents)
    if cmap.size and cmap.max() >= n_c:
        raise NanotwinError("content_map refers to a content that does not exist")
    nodes_per = np.array([int(np.count_nonzero(cmap == k)) for k in range(n_c)], dtype=np.int64)
    used = (nodes_per > 0) & np.array([len(c) > 0 for c in lattice.contents])
    shape = np.array(cmap.shape)
    ek, el, eu, ec = [], [], [], []
    for (k, l), c in iter_occupancy_correlations(cmap, n_c):
        if not (used[k] and used[l]):
            continue
        u = np.argwhere(c != 0)
        cnt = c[tuple(u.T)]
        u = u - (shape - 1)
        if k == l:
            pos = (u[:, 0] > 0) | ((u[:, 0] == 0) & ((u[:, 1] > 0) | ((u[:, 1] == 0) & (u[:, 2] > 0))))
            u, cnt = u[pos], cnt[pos]
            u = np.vstack([np.zeros((1, 3), dtype=np.int64), u])
            cnt = np.concatenate([[nodes_per[k]], cnt])
        ek.append(np.full(len(cnt), k, dtype=np.int64))
        el.append(np.full(len(cnt), l, dtype=np.int64))
        eu.append(u.astype(np.int64))
        ec.append(cnt.astype(np.float64))

    def cat(x: list, d) -> np.ndarray:
        return np.concatenate(x) if x else np.zeros(0, dtype=d)

    entry_u = np.vstack(eu) if eu else np.zeros((0, 3), dtype=np.int64)
    return pair_table_from_counts(lattice.cell, lattice.node_basis_frac, lattice.contents, nodes_per,
                                  cat(ek, np.int64), cat(el, np.int64), entry_u, cat(ec, np.float64))


def pair_table_from_counts(
    cell: np.ndarray,
    node_basis_frac: np.ndarray,
    contents: list[LatticeContent],
    content_nodes: np.ndarray,
    entry_k: np.ndarray,
    entry_l: np.ndarray,
    entry_u: np.ndarray,
    entry_count: np.ndarray,
) -> LatticePairTable:
    """A pair table from given node-pair counts (exact integers, or expected values of an ensemble).

    ``content_nodes``: (number of) nodes carrying each content; entries follow the conventions of
    ``LatticePairTable`` (k < l over all offsets, k == l over the half space u > 0, and the
    (k, k, 0) entry counting the nodes of content k for the pairs inside one node).
    """
    nodes_per = np.asarray(content_nodes, dtype=np.float64)
    used = (nodes_per > 0) & np.array([len(c) > 0 for c in contents])
    types, ctype = _assign_content_types(contents, used)
    n_t = len(types)
    tcount = np.zeros(n_t)
    osum = np.zeros(n_t)
    for k, c in enumerate(contents):
        if used[k]:
            np.add.at(tcount, ctype[k], nodes_per[k])
            np.add.at(osum, ctype[k], nodes_per[k] * np.asarray(c.occupancy, dtype=float))
    table = LatticePairTable(
        cell=np.asarray(cell, dtype=float).copy(),
        node_basis_frac=np.asarray(node_basis_frac, dtype=float).copy(),
        content_frac=[np.asarray(c.frac, dtype=float).reshape(-1, 3).copy() for c in contents],
        content_type=ctype,
        content_exclusion=[np.asarray(c.exclusion, dtype=np.int64).copy() for c in contents],
        content_nodes=nodes_per,
        entry_k=np.asarray(entry_k, dtype=np.int64),
        entry_l=np.asarray(entry_l, dtype=np.int64),
        entry_u=np.asarray(entry_u, dtype=np.int64).reshape(-1, 3),
        entry_count=np.asarray(entry_count, dtype=np.float64),
        types=types,
        type_counts=tcount,
        occupancy_sums=osum,
        n_pairs=0.0,
    )
    table.n_pairs = float(_count_pairs(table))
    return table


def _count_pairs(table: LatticePairTable) -> float:
    """Number of unordered atom pairs the table stands for (exclusion pairs left out)."""
    sizes = np.array([len(f) for f in table.content_frac], dtype=np.float64)
    if table.n_entries == 0:
        return 0.0
    per_entry = sizes[table.entry_k] * sizes[table.entry_l]
    is_self = (table.entry_k == table.entry_l) & ~table.entry_u.any(axis=1)
    self_pairs = np.zeros(len(sizes))
    for k, ex in enumerate(table.content_exclusion):
        m = len(ex)
        same = (ex[:, None] == ex[None, :]) & (ex[:, None] >= 0)
        self_pairs[k] = m * (m - 1) / 2 - (int(same.sum()) - int(np.count_nonzero(ex >= 0))) / 2
    per_entry[is_self] = self_pairs[table.entry_k[is_self]]
    return float(np.sum(per_entry * table.entry_count))


@njit(parallel=True, nogil=True, cache=True, fastmath=True)
def _lattice_chunk(
    ek, el, eu, ec, apos, atype, aexcl, cstart, nb, pidx, inv_dr, scheme, e0, e1, hist, n_slots
):  # pragma: no cover
    """Sampled counts of the entries e0..e1-1: entry e goes to slot e % n_slots, slots in parallel
    and each in entry order, so the sums depend neither on the thread count nor on the chunking.

    hist : float64 (n_slots, P, M + 1); column 0 is the grid point r = -r_step (folded later),
    column k + 1 the point r_k. scheme: 0 nearest, 1 linear, 2 quadratic (see sampling.py).
    """
    nbin = hist.shape[2]
    for t in prange(n_slots):
        h = hist[t]
        for e in range(e0 + (t - e0) % n_slots, e1, n_slots):
            k = ek[e]
            l = el[e]
            c = ec[e]
            u0 = eu[e, 0]
            u1 = eu[e, 1]
            u2 = eu[e, 2]
            ux = u0 * nb[0, 0] + u1 * nb[1, 0] + u2 * nb[2, 0]
            uy = u0 * nb[0, 1] + u1 * nb[1, 1] + u2 * nb[2, 1]
            uz = u0 * nb[0, 2] + u1 * nb[1, 2] + u2 * nb[2, 2]
            selfe = k == l and u0 == 0 and u1 == 0 and u2 == 0
            for i in range(cstart[k], cstart[k + 1]):
                xi = ux - apos[i, 0]
                yi = uy - apos[i, 1]
                zi = uz - apos[i, 2]
                ti = atype[i]
                exi = aexcl[i]
                js = i + 1 if selfe else cstart[l]
                for j in range(js, cstart[l + 1]):
                    if selfe and exi >= 0 and aexcl[j] == exi:
                        continue
                    dx = xi + apos[j, 0]
                    dy = yi + apos[j, 1]
                    dz = zi + apos[j, 2]
                    v = np.sqrt(dx * dx + dy * dy + dz * dz) * inv_dr
                    hp = h[pidx[ti, atype[j]]]
                    if scheme == 2:
                        kb = np.int64(v + 0.5)
                        if kb + 2 < nbin:
                            tt = v - kb
                            hp[kb] += c * 0.5 * tt * (tt - 1.0)
                            hp[kb + 1] += c * (1.0 - tt * tt)
                            hp[kb + 2] += c * 0.5 * tt * (tt + 1.0)
                    elif scheme == 1:
                        kb = np.int64(v)
                        if kb + 2 < nbin:
                            tt = v - kb
                            hp[kb + 1] += c * (1.0 - tt)
                            hp[kb + 2] += c * tt
                    else:
                        kb = np.int64(v + 0.5)
                        if kb + 1 < nbin:
                            hp[kb + 1] += c
    return 0


def flat_contents(table: LatticePairTable, cell: np.ndarray, content_frac: list[np.ndarray]):
    """(positions (A, 3) in Å, type index, exclusion id, content start indices) of the contents'
    atoms, concatenated in content order."""
    sizes = np.array([len(f) for f in content_frac], dtype=np.int64)
    cstart = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    apos = (np.vstack(content_frac) @ cell) if sizes.sum() else np.zeros((0, 3))
    atype = np.concatenate(table.content_type) if sizes.sum() else np.zeros(0, dtype=np.int64)
    aexcl = np.concatenate(table.content_exclusion) if sizes.sum() else np.zeros(0, dtype=np.int64)
    return np.ascontiguousarray(apos), atype, aexcl, cstart


@njit(nogil=True, cache=True)
def _max_offset_length(entry_u: np.ndarray, nb: np.ndarray) -> float:
    """max_e |entry_u[e] . nb| (Å) without (E, 3) temporaries: a labelled surface gives tens of
    millions of entries, and the numpy expression took longer than the histograms."""
    best = 0.0
    for e in range(entry_u.shape[0]):
        x = entry_u[e, 0] * nb[0, 0] + entry_u[e, 1] * nb[1, 0] + entry_u[e, 2] * nb[2, 0]
        y = entry_u[e, 0] * nb[0, 1] + entry_u[e, 1] * nb[1, 1] + entry_u[e, 2] * nb[2, 1]
        z = entry_u[e, 0] * nb[0, 2] + entry_u[e, 1] * nb[1, 2] + entry_u[e, 2] * nb[2, 2]
        best = max(best, x * x + y * y + z * z)
    return np.sqrt(best)


def table_r_bound(table: LatticePairTable, nb: np.ndarray, apos: np.ndarray) -> float:
    """An upper bound (Å) of the table's pair distances (node basis ``nb``, atom offsets ``apos``)."""
    if table.n_entries == 0 or len(apos) == 0:
        return 1.0
    umax = float(_max_offset_length(np.ascontiguousarray(table.entry_u, dtype=np.int64), nb))
    ext = float(np.max(np.linalg.norm(apos - apos.mean(axis=0), axis=1)))
    return umax + 2.0 * ext + 1.0


def rehistogram(
    table: LatticePairTable,
    *,
    cell: np.ndarray | None = None,
    contents: list[LatticeContent] | list[np.ndarray] | None = None,
    sampling: Sampling | str | float | None = None,
    n_threads: int | None = None,
    progress: Callable[[float], None] | None = None,
    cancel: Callable[[], bool] | None = None,
) -> PairHistograms:
    """Histograms of a stored pair table, optionally with a new cell (3x3 rows, Å) or new atom
    offsets of the contents (same atoms and order; ``LatticeContent`` or (m, 3) fractional arrays).
    """
    smp = resolve_sampling(sampling)
    cell = table.cell if cell is None else np.asarray(cell, dtype=float)
    if cell.shape != (3, 3):
        raise NanotwinError("cell must be a 3x3 matrix (rows a, b, c in Å)")
    if contents is None:
        cfrac = table.content_frac
    else:
        cfrac = [np.asarray(getattr(c, "frac", c), dtype=float).reshape(-1, 3) for c in contents]
        if [len(f) for f in cfrac] != [len(f) for f in table.content_frac]:
            raise NanotwinError("new contents must keep the number and order of atoms")
    nb = np.ascontiguousarray(table.node_basis_frac @ cell)
    apos, atype, aexcl, cstart = flat_contents(table, cell, cfrac)
    pairs, pidx = type_pairs(len(table.types))
    meta = {"route": "lattice", "n_entries": table.n_entries, "n_distances": table.n_distances()}
    if smp.exact:
        return _exact_lattice(table, nb, apos, atype, aexcl, cstart, pairs, pidx, meta)
    r_bound = table_r_bound(table, nb, apos)
    n_bins = int(np.ceil(r_bound / smp.r_step)) + 4
    nt = thread_count(n_threads)
    hist = np.zeros((REDUCTION_SLOTS, len(pairs), n_bins + 1))
    sizes = np.diff(cstart)
    work = sizes[table.entry_k] * sizes[table.entry_l]
    cum = np.cumsum(work)
    total = float(cum[-1]) if len(cum) else 0.0
    e0 = 0
    target = 2e7
    old = numba.get_num_threads()
    numba.set_num_threads(nt)
    try:
        while e0 < table.n_entries:
            if cancel is not None and cancel():
                raise Cancelled("pair histogram cancelled")
            base = cum[e0 - 1] if e0 else 0
            e1 = int(np.searchsorted(cum, base + target, side="right")) + 1
            e1 = min(max(e1, e0 + nt), table.n_entries)
            t0 = time.perf_counter()
            call_parallel(
                _lattice_chunk,
                table.entry_k,
                table.entry_l,
                table.entry_u,
                table.entry_count,
                apos,
                atype,
                aexcl,
                cstart,
                nb,
                pidx,
                1.0 / smp.r_step,
                SCHEME_CODES[smp.scheme],
                e0,
                e1,
                hist,
                REDUCTION_SLOTS,
            )
            dt = time.perf_counter() - t0
            done = float(cum[e1 - 1]) - base
            if dt > 0:
                target = max(1e5, min(5e8, done / dt * 0.1))
            e0 = e1
            if progress is not None:
                progress(float(cum[e0 - 1]) / total if total else 1.0)
    finally:
        numba.set_num_threads(old)
    ext = hist.sum(axis=0)
    ext[:, 2] += ext[:, 0]  # r = -r_step folds onto +r_step (sinc is even)
    counts = ext[:, 1:]
    keep = np.nonzero(counts.any(axis=0))[0]
    r_max = float(keep[-1] * smp.r_step) if len(keep) else 0.0  # to within one r_step
    counts = counts[:, : (keep[-1] + 2 if len(keep) else 1)]
    return PairHistograms(
        types=list(table.types),
        type_counts=table.type_counts.copy(),
        occupancy_sums=table.occupancy_sums.copy(),
        pairs=pairs,
        r_step=smp.r_step,
        counts=counts,
        n_pairs=table.n_pairs,
        r_max=r_max,
        sampling=smp.scheme,
        meta=meta,
    )


def _exact_lattice(table, nb, apos, atype, aexcl, cstart, pairs, pidx, meta) -> PairHistograms:
    rs: list[list[np.ndarray]] = [[] for _ in range(len(pairs))]
    ws: list[list[np.ndarray]] = [[] for _ in range(len(pairs))]
    keys = np.stack([table.entry_k, table.entry_l], axis=1)
    for k, l in {(int(a), int(b)) for a, b in keys}:
        sel = np.nonzero((table.entry_k == k) & (table.entry_l == l))[0]
        u = table.entry_u[sel] @ nb
        cnt = table.entry_count[sel]
        ik = np.arange(cstart[k], cstart[k + 1])
        il = np.arange(cstart[l], cstart[l + 1])
        ii, jj = np.meshgrid(ik, il, indexing="ij")
        ii, jj = ii.ravel(), jj.ravel()
        delta = apos[jj] - apos[ii]
        p = pidx[atype[ii], atype[jj]]
        is_self = (k == l) & ~table.entry_u[sel].any(axis=1)
        for chunk in np.array_split(np.arange(len(sel)), max(1, len(sel) * len(ii) // 2_000_000)):
            d = np.sqrt(((u[chunk][:, None, :] + delta[None, :, :]) ** 2).sum(axis=2))
            w = np.broadcast_to(cnt[chunk][:, None], d.shape).copy()
            ok = np.ones(d.shape, dtype=bool)
            if is_self[chunk].any():
                rows = np.nonzero(is_self[chunk])[0]
                bad = (jj <= ii) | ((aexcl[ii] >= 0) & (aexcl[ii] == aexcl[jj]))
                ok[rows[:, None], np.nonzero(bad)[0][None, :]] = False
            pp = np.broadcast_to(p[None, :], d.shape)
            for q in np.unique(p):
                m = ok & (pp == q)
                rs[q].append(d[m])
                ws[q].append(w[m])
    exact_r = [np.concatenate(x) if x else np.zeros(0) for x in rs]
    exact_w = [np.concatenate(x) if x else np.zeros(0) for x in ws]
    r_max = max((float(r.max()) for r in exact_r if len(r)), default=0.0)
    return PairHistograms(
        types=list(table.types),
        type_counts=table.type_counts.copy(),
        occupancy_sums=table.occupancy_sums.copy(),
        pairs=pairs,
        r_step=0.0,
        counts=None,
        n_pairs=table.n_pairs,
        r_max=r_max,
        sampling="exact",
        exact_r=exact_r,
        exact_w=exact_w,
        meta=meta,
    )
