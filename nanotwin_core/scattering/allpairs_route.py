"""All-pairs route: pair histograms of any atom list (an XYZ import, a crystal without a lattice).

O(N^2) distances counted by numba kernels (``kernels_allpairs``) into fine bins carrying the exact
mean distance of their pairs, then sampled onto the common r grid (``sampling``); pairs inside one
exclusion group are taken out again. Memory stays at bins x pair types.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numba
import numpy as np

from nanotwin_core.crystal import Crystal
from nanotwin_core.errors import Cancelled, NanotwinError
from nanotwin_core.numba_setup import call_parallel, thread_count
from nanotwin_core.scattering.kernels_allpairs import (
    allpairs_fine_chunk,
    exact_type_pair_distances,
    flush_fine,
    row_blocks,
)
from nanotwin_core.scattering.sampling import Sampling, fine_to_grid, n_fine_bins, resolve_sampling
from nanotwin_core.scattering.types import PairHistograms, assign_types, type_pairs

MAX_EXACT_PAIRS = 60_000_000  # exact (unbinned) all-pairs mode keeps every distance in memory
_FLUSH_PAIRS = 1e9  # packed per-thread histograms are unpacked to float64 this often
_SAFE_FLUSH_PAIRS = 1.6e7  # < 2^24: no bin's count field (nor offset field) can wrap in a window


def sorted_atoms(crystal: Crystal):
    """(types, type index, positions, exclusion ids, type bounds, occupancies), atoms sorted by type."""
    types, tix = assign_types(crystal.elements, crystal.adp_groups, crystal.occupancy)
    order = np.argsort(tix, kind="stable")
    pos = crystal.positions[order]
    tix = tix[order]
    excl = crystal.exclusion[order]
    bounds = np.searchsorted(tix, np.arange(len(types) + 1)).astype(np.int64)
    occ = crystal.occupancy[order]
    return types, tix, pos, excl, bounds, occ


def _exclusion_pairs(excl: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index pairs (i < j) of atoms sharing an exclusion id >= 0."""
    sel = np.nonzero(excl >= 0)[0]
    if len(sel) < 2:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    order = sel[np.argsort(excl[sel], kind="stable")]
    ids = excl[order]
    starts = np.nonzero(np.r_[True, ids[1:] != ids[:-1]])[0]
    ends = np.r_[starts[1:], len(ids)]
    ii, jj = [], []
    for s, e in zip(starts, ends, strict=True):
        if e - s < 2:
            continue
        g = order[s:e]
        a, b = np.triu_indices(len(g), k=1)
        ii.append(np.minimum(g[a], g[b]))
        jj.append(np.maximum(g[a], g[b]))
    if not ii:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    return np.concatenate(ii).astype(np.int64), np.concatenate(jj).astype(np.int64)


def _hold(progress: Callable[[float], None], floor: float = 0.0) -> Callable[[float], None]:
    """Progress of a pass that may need a recount: never 1 before the counts are checked, never
    backwards (a recount stays at the level reached)."""
    return lambda f: progress(max(floor, min(f, 0.999)))


def _run_all_pairs(
    x, y, z, tix, bounds, pidx, bstart, blen, cum, inv, nt, fine, fine_t, flush_pairs, progress, cancel
) -> bool:
    """Run the kernel chunk by chunk (progress/cancel between chunks); False on a count carry."""
    hist = np.zeros((nt, fine.shape[0], fine.shape[1]), dtype=np.int64)
    total = float(cum[-1]) if len(cum) else 0.0
    window = 0.0
    target = min(2e7, flush_pairs)
    c0 = 0
    while c0 < len(bstart):
        if cancel is not None and cancel():
            raise Cancelled("pair histogram cancelled")
        base = cum[c0 - 1] if c0 else 0.0
        c1 = int(np.searchsorted(cum, base + target, side="right"))
        c1 = min(max(c1, c0 + 1), len(bstart))
        done = float(cum[c1 - 1] - base)
        if window > 0 and window + done > flush_pairs:
            if call_parallel(flush_fine, hist, fine, fine_t) != round(window):
                return False
            window = 0.0
        t0 = time.perf_counter()
        call_parallel(allpairs_fine_chunk, x, y, z, tix, bounds, pidx, bstart, blen, c0, c1, inv, hist, nt)
        dt = time.perf_counter() - t0
        window += done
        if dt > 0:
            target = max(1e6, min(flush_pairs, done / dt * 0.1))
        c0 = c1
        if progress is not None:
            progress(float(cum[c0 - 1]) / total if total else 1.0)
    return call_parallel(flush_fine, hist, fine, fine_t) == round(window)


def all_pairs_histograms(
    crystal: Crystal,
    *,
    sampling: Sampling | str | float | None = None,
    n_threads: int | None = None,
    progress: Callable[[float], None] | None = None,
    cancel: Callable[[], bool] | None = None,
) -> PairHistograms:
    """The all-pairs route (any atom list): O(N^2) time, O(bins x pair types) memory."""
    smp = resolve_sampling(sampling)
    types, tix, pos, excl, bounds, occ = sorted_atoms(crystal)
    n = len(pos)
    if not np.all(np.isfinite(pos)):
        raise NanotwinError("atom positions must be finite numbers")
    n_t = len(types)
    pairs, pidx = type_pairs(n_t)
    tcount = np.bincount(tix, minlength=n_t).astype(np.float64)
    osum = np.bincount(tix, weights=occ, minlength=n_t)
    ei, ej = _exclusion_pairs(excl)
    n_pairs = n * (n - 1) / 2 - len(ei)
    x, y, z = (np.ascontiguousarray(pos[:, k]) for k in range(3))
    meta = {"route": "all_pairs"}
    if smp.exact:
        return _exact_all_pairs(types, tix, x, y, z, excl, bounds, pairs, pidx, tcount, osum, n_pairs, meta)
    r_bound = float(np.linalg.norm(pos.max(axis=0) - pos.min(axis=0))) + 1.0 if n else 1.0
    n_fine = n_fine_bins(r_bound, smp)
    nt = thread_count(n_threads)
    inv = 1.0 / smp.dr_fine
    fine = np.zeros((len(pairs), n_fine))
    fine_t = np.zeros((len(pairs), n_fine))
    bstart, blen = row_blocks(bounds, 4)
    # pairs done by block c: rows bstart..bstart+blen-1, partners j > row
    rows_pairs = (n - 1 - bstart) * blen - blen * (blen - 1) // 2
    cum = np.cumsum(rows_pairs.astype(np.float64))
    old = numba.get_num_threads()
    numba.set_num_threads(nt)
    try:
        args = (x, y, z, tix, bounds, pidx, bstart, blen, cum, inv, nt, fine, fine_t)
        ok = _run_all_pairs(*args, _FLUSH_PAIRS, None if progress is None else _hold(progress), cancel)
        if not ok:  # a fine bin got > 1.7e7 pairs between flushes: redo with short windows
            fine[:] = 0.0
            fine_t[:] = 0.0
            held = None if progress is None else _hold(progress, 0.999)
            ok = _run_all_pairs(*args, _SAFE_FLUSH_PAIRS, held, cancel)
            if not ok:
                raise RuntimeError("pair counts inconsistent (internal error)")
    finally:
        numba.set_num_threads(old)
    if progress is not None:
        progress(1.0)
    if len(ei):
        v = exact_type_pair_distances(x, y, z, ei, ej, np.empty(len(ei))) * inv
        kb = v.astype(np.int64)
        pp = pidx[tix[ei], tix[ej]]
        np.add.at(fine, (pp, kb), -1.0)
        np.add.at(fine_t, (pp, kb), -(v - kb))
    nz = np.nonzero(fine.any(axis=0))[0]
    r_max = float((nz[-1] + 1) * smp.dr_fine) if len(nz) else 0.0
    counts = fine_to_grid(fine, fine_t, smp)
    keep = np.nonzero(counts.any(axis=0))[0]
    counts = counts[:, : (keep[-1] + 2 if len(keep) else 1)]
    return PairHistograms(
        types=types,
        type_counts=tcount,
        occupancy_sums=osum,
        pairs=pairs,
        r_step=smp.r_step,
        counts=counts,
        n_pairs=n_pairs,
        r_max=r_max,
        sampling=smp.scheme,
        meta=meta,
    )


def _exact_all_pairs(types, tix, x, y, z, excl, bounds, pairs, pidx, tcount, osum, n_pairs, meta):
    n = len(x)
    if n * (n - 1) / 2 > MAX_EXACT_PAIRS:
        raise NanotwinError(
            f"exact (unbinned) distances of {n} atoms need {n * (n - 1) // 2} pairs in memory; "
            f"use the default sampling or a crystal with a lattice description"
        )
    rs: list[list[np.ndarray]] = [[] for _ in range(len(pairs))]
    pos = np.stack([x, y, z], axis=1)
    for i0 in range(0, n, 512):
        i1 = min(n, i0 + 512)
        ii, jj = np.nonzero(np.arange(i0, i1)[:, None] < np.arange(n)[None, :])
        ii = ii + i0
        keep = ~((excl[ii] >= 0) & (excl[ii] == excl[jj]))
        ii, jj = ii[keep], jj[keep]
        d = np.sqrt(((pos[jj] - pos[ii]) ** 2).sum(axis=1))
        p = pidx[tix[ii], tix[jj]]
        for q in np.unique(p):
            rs[q].append(d[p == q])
    exact_r = [np.concatenate(r) if r else np.zeros(0) for r in rs]
    exact_w = [np.ones(len(r)) for r in exact_r]
    r_max = max((float(r.max()) for r in exact_r if len(r)), default=0.0)
    return PairHistograms(
        types=types,
        type_counts=tcount,
        occupancy_sums=osum,
        pairs=pairs,
        r_step=0.0,
        counts=None,
        n_pairs=n_pairs,
        r_max=r_max,
        sampling="exact",
        exact_r=exact_r,
        exact_w=exact_w,
        meta=meta,
    )
