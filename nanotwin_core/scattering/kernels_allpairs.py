"""All-pairs pair-distance kernels (numba): any atom list, O(N^2) time, O(bins x pair types) memory.

Atoms are sorted by type before the call, so for a row ``i`` (type ``a``) the partner atoms of
type ``b >= a`` form one contiguous block and the type pair index is constant in the inner loop.
Rows are taken four at a time (one load of partner j serves four distances).

Each thread owns a private int64 histogram on the *fine* grid (nearest-lower bin k of width
``dr_fine``). One pair adds ``2^40 + round(4096 t)`` to its bin, t = d / dr_fine - k in [0, 1):
the high 24 bits count the pairs, the low 40 bits sum their offsets in 1/4096 of a fine bin.
So every fine bin keeps its count and (to 1/8192 of a bin, 3e-7 Å at the default 0.0025 Å)
its mean distance with ONE memory write per pair. The count field wraps only after
2^24 = 1.7e7 pairs in one bin between two flushes (the offset field after 2.7e8); either
corrupts the total count, which the caller checks after every flush, redoing the work with
flush windows of 1.6e7 pairs (where neither can happen) if needed. See ``sampling.py`` for
how the fine histogram becomes the sampled r-grid histogram.

Exclusion groups (split sites) are handled by the caller: their few pairs are counted here like
every other pair and then removed (``exclusion_pairs`` in histograms.py).

``cache=True`` is safe: no kernel calls ``numba.get_num_threads()``; the thread count comes in
as an argument and ``prange`` runs exactly one iteration per thread.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from nanotwin_core import numba_setup  # noqa: F401 - sets numba's cache folder before the kernels

T_SCALE = 4096.0  # offset quantum: 1/4096 of a fine bin
_TILE = 1024  # partner atoms per tile
COUNT_SHIFT = 40


@njit(nogil=True, cache=True, fastmath=True, inline="always")
def _dist(dx, dy, dz, inv_drf):  # pragma: no cover
    return np.sqrt(dx * dx + dy * dy + dz * dz) * inv_drf


@njit(nogil=True, cache=True, fastmath=True, inline="always")
def _put(h, v):  # pragma: no cover
    k = np.int64(v)
    h[k] += np.int64(1099511627776) + np.int64((v - k) * 4096.0 + 0.5)


@njit(parallel=True, nogil=True, cache=True, fastmath=True)
def allpairs_fine_chunk(
    x, y, z, atype, bounds, pidx, bstart, blen, c0, c1, inv_drf, hist, n_threads
):  # pragma: no cover
    """Count pairs (i, j > i) for the row blocks c0..c1-1 into per-thread fine histograms.

    Parameters
    ----------
    x, y, z : float64 (N,) Cartesian coordinates in Å, atoms sorted by type.
    atype : int64 (N,) type index of each atom; bounds : int64 (T+1,) type block starts.
    pidx : int64 (T, T) pair index of a type pair.
    bstart, blen : int64 row blocks (at most 4 rows of one type each); blocks c0 <= c < c1 run.
    inv_drf : 1 / fine bin width (1/Å).
    hist : int64 (n_threads, P, M_fine), packed count and offset sum per fine bin (module doc),
        accumulated in place. The caller sizes M_fine for the bounding-box diagonal.
    """
    n_types = bounds.shape[0] - 1
    for t in prange(n_threads):
        h = hist[t]
        # partner tiles keep the distance buffers in L1 and leave L2 to the histogram
        b0 = np.empty(_TILE)
        b1 = np.empty(_TILE)
        b2 = np.empty(_TILE)
        b3 = np.empty(_TILE)
        for c in range(c0 + t, c1, n_threads):
            i = bstart[c]
            ln = blen[c]
            a = atype[i]
            # pairs inside the block
            haa = h[pidx[a, a]]
            for u in range(ln):
                for v in range(u + 1, ln):
                    _put(haa, _dist(x[i + v] - x[i + u], y[i + v] - y[i + u], z[i + v] - z[i + u], inv_drf))
            x0 = x[i]
            y0 = y[i]
            z0 = z[i]
            x1 = y1 = z1 = x2 = y2 = z2 = x3 = y3 = z3 = 0.0
            if ln == 4:
                x1 = x[i + 1]
                y1 = y[i + 1]
                z1 = z[i + 1]
                x2 = x[i + 2]
                y2 = y[i + 2]
                z2 = z[i + 2]
                x3 = x[i + 3]
                y3 = y[i + 3]
                z3 = z[i + 3]
            for b in range(a, n_types):
                hp = h[pidx[a, b]]
                for jt in range(max(i + ln, bounds[b]), bounds[b + 1], _TILE):
                    m = min(_TILE, bounds[b + 1] - jt)
                    if ln == 4:
                        for jj in range(m):
                            j = jt + jj
                            xj = x[j]
                            yj = y[j]
                            zj = z[j]
                            b0[jj] = _dist(xj - x0, yj - y0, zj - z0, inv_drf)
                            b1[jj] = _dist(xj - x1, yj - y1, zj - z1, inv_drf)
                            b2[jj] = _dist(xj - x2, yj - y2, zj - z2, inv_drf)
                            b3[jj] = _dist(xj - x3, yj - y3, zj - z3, inv_drf)
                        for jj in range(m):
                            _put(hp, b0[jj])
                            _put(hp, b1[jj])
                            _put(hp, b2[jj])
                            _put(hp, b3[jj])
                    else:
                        for u in range(ln):
                            xi = x[i + u]
                            yi = y[i + u]
                            zi = z[i + u]
                            for jj in range(m):
                                j = jt + jj
                                b0[jj] = _dist(x[j] - xi, y[j] - yi, z[j] - zi, inv_drf)
                            for jj in range(m):
                                _put(hp, b0[jj])
    return 0


@njit(parallel=True, nogil=True, cache=True)
def flush_fine(hist, fine, fine_t):  # pragma: no cover
    """Unpack the per-thread packed histograms into fine (counts) and fine_t (offset sums, in
    fine-bin units), zero them, and return the total count (for the carry check)."""
    n_t, n_p, n_b = hist.shape
    totals = np.zeros(n_p, dtype=np.int64)
    for p in prange(n_p):
        acc = 0
        for t in range(n_t):
            for k in range(n_b):
                v = hist[t, p, k]
                if v != 0:
                    c = v >> 40
                    fine[p, k] += c
                    fine_t[p, k] += (v & 1099511627775) / 4096.0
                    acc += c
                    hist[t, p, k] = 0
        totals[p] = acc
    return totals.sum()


@njit(nogil=True, cache=True)
def exact_type_pair_distances(x, y, z, i_idx, j_idx, out):  # pragma: no cover
    """Distances (Å) of the given atom pairs into ``out`` (float64, no binning)."""
    for m in range(i_idx.shape[0]):
        i = i_idx[m]
        j = j_idx[m]
        dx = x[j] - x[i]
        dy = y[j] - y[i]
        dz = z[j] - z[i]
        out[m] = np.sqrt(dx * dx + dy * dy + dz * dz)
    return out


def row_blocks(bounds: np.ndarray, size: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """Blocks of at most ``size`` consecutive rows that never cross a type boundary."""
    starts: list[np.ndarray] = []
    lens: list[np.ndarray] = []
    for a in range(len(bounds) - 1):
        s = np.arange(bounds[a], bounds[a + 1], size, dtype=np.int64)
        starts.append(s)
        lens.append(np.minimum(size, bounds[a + 1] - s))
    if not starts:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    return np.concatenate(starts).astype(np.int64), np.concatenate(lens).astype(np.int64)


def allpairs_fine_reference(
    pos: np.ndarray, atype: np.ndarray, pidx: np.ndarray, n_pair_types: int, dr_fine: float, nbin: int
) -> tuple[np.ndarray, np.ndarray]:
    """Pure-numpy reference of the fine histograms (counts, offset sums in bin units), for tests."""
    count = np.zeros((n_pair_types, nbin))
    tsum = np.zeros((n_pair_types, nbin))
    n = len(pos)
    for i in range(n - 1):
        v = np.sqrt(((pos[i + 1 :] - pos[i]) ** 2).sum(axis=1)) / dr_fine
        k = v.astype(np.int64)
        p = pidx[atype[i], atype[i + 1 :]]
        ok = k < nbin
        np.add.at(count, (p[ok], k[ok]), 1.0)
        np.add.at(tsum, (p[ok], k[ok]), v[ok] - k[ok])
    return count, tsum
