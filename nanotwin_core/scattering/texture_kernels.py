"""Numba kernels of the textured Debye sum (``texture.py``).

``moment_entries``: the moment histograms H_l,p(r_k) = sum over the atom pairs of type pair p
at distance ~r_k of the symmetrised Legendre polynomial P_l^sym(r^) = (1/m) sum_a P_l(r^ . h_a)
(m texture axes h_a, unit vectors), for the pairs of a lattice pair table (content k, content l,
node offset u, weight), spread onto r_k = k dr with the six-point Lagrange weights of the fast
databases (``refine/fast_kernels.py``: a sum of any smooth function of r errs by at most
~(Q dr)^6 / 720 per pair). ``bessel_sums``: S_l,p(Q_n) = sum_k H_l,p(r_k) j_l(Q_n r_k), direct
(parallel over Q), with the spherical Bessel functions of every order up to l_max at once:
upward recurrence where Q r >= l_max (stable there), Miller's downward recurrence normalised to
j_0 = sin x / x below.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from nanotwin_core import numba_setup  # noqa: F401 - sets numba's cache folder before the kernels
from nanotwin_core.scattering.six_point import OFFSET, lagrange6

MILLER_EXTRA = 24  # orders above l_max where Miller's downward recurrence starts (plus x)


@njit(nogil=True, cache=True)
def spherical_bessel_orders(x: float, l_max: int, out: np.ndarray) -> None:  # pragma: no cover - numba
    """out[l] = j_l(x) for l = 0..l_max (out has at least l_max + 1 entries), x >= 0."""
    if x < 1e-8:
        out[0] = 1.0
        for n in range(1, l_max + 1):
            out[n] = 0.0
        return
    s = np.sin(x)
    c = np.cos(x)
    j0 = s / x
    if x >= l_max:
        out[0] = j0
        if l_max >= 1:
            out[1] = s / (x * x) - c / x
        for n in range(1, l_max):
            out[n + 1] = (2 * n + 1) / x * out[n] - out[n - 1]
        return
    top = l_max + MILLER_EXTRA + np.int64(x)
    jp = 0.0  # j_{n+1}
    jn = 1e-300  # j_n, arbitrary scale
    for n in range(top, 0, -1):
        jm = (2 * n + 1) / x * jn - jp  # j_{n-1}
        jp = jn
        jn = jm
        if n - 1 <= l_max:
            out[n - 1] = jn
        if abs(jn) > 1e250:  # rescale everything computed so far
            jn *= 1e-250
            jp *= 1e-250
            for m in range(n - 1, l_max + 1):
                out[m] *= 1e-250
    norm = j0 / out[0] if out[0] != 0.0 else 0.0
    if out[0] == 0.0:  # x at a zero of j_0: normalise with j_1 instead
        norm = (s / (x * x) - c / x) / out[1]
    for n in range(l_max + 1):
        out[n] *= norm


@njit(parallel=True, nogil=True, cache=True)
def moment_entries(
    ek, el, eu, ew, node_basis, cpos, ctype, cexcl, cstart, pidx, inv_dr, axes, orders, hist,
):  # pragma: no cover - numba
    """Spread sum P_l^sym(r^) of the atom pairs of the entries into hist[slot, p, column, i] for
    l = orders[i] (even, ascending; the orders last, so one pair's adds stay together in memory);
    entry e goes to slot e % n_slots in order (the sums do not depend on the thread count).
    Conventions of ``fast_kernels.offset_entries``."""
    n_slots = hist.shape[0]
    n_orders = orders.shape[0]
    ncol = hist.shape[2]
    l_max = orders[n_orders - 1]
    n_axes = axes.shape[0]
    inv_m = 1.0 / n_axes
    rec_a = np.empty(l_max + 1)  # P_{n+1} = rec_a[n] x P_n - rec_b[n] P_{n-1}
    rec_b = np.empty(l_max + 1)
    for n in range(l_max + 1):
        rec_a[n] = (2 * n + 1) / (n + 1)
        rec_b[n] = n / (n + 1)
    for t in prange(n_slots):
        w = np.empty(6)
        pl = np.empty(l_max + 1)
        psum = np.empty(l_max + 1)
        val = np.empty(n_orders)
        h = hist[t]
        for e in range(t, ek.shape[0], n_slots):
            k = ek[e]
            l = el[e]
            c = ew[e]
            u0 = eu[e, 0]
            u1 = eu[e, 1]
            u2 = eu[e, 2]
            bx = u0 * node_basis[0, 0] + u1 * node_basis[1, 0] + u2 * node_basis[2, 0]
            by = u0 * node_basis[0, 1] + u1 * node_basis[1, 1] + u2 * node_basis[2, 1]
            bz = u0 * node_basis[0, 2] + u1 * node_basis[1, 2] + u2 * node_basis[2, 2]
            selfe = k == l and u0 == 0 and u1 == 0 and u2 == 0
            for i in range(cstart[k], cstart[k + 1]):
                xi = bx - cpos[i, 0]
                yi = by - cpos[i, 1]
                zi = bz - cpos[i, 2]
                ti = ctype[i]
                js = i + 1 if selfe else cstart[l]
                for j in range(js, cstart[l + 1]):
                    if selfe and cexcl[i] >= 0 and cexcl[j] == cexcl[i]:
                        continue
                    dx = xi + cpos[j, 0]
                    dy = yi + cpos[j, 1]
                    dz = zi + cpos[j, 2]
                    r = np.sqrt(dx * dx + dy * dy + dz * dz)
                    if r == 0.0:
                        continue
                    for n in range(l_max + 1):
                        psum[n] = 0.0
                    for a in range(n_axes):
                        x = (dx * axes[a, 0] + dy * axes[a, 1] + dz * axes[a, 2]) / r
                        pl[0] = 1.0
                        if l_max >= 1:
                            pl[1] = x
                        for n in range(1, l_max):
                            pl[n + 1] = rec_a[n] * x * pl[n] - rec_b[n] * pl[n - 1]
                        for n in range(l_max + 1):
                            psum[n] += pl[n]
                    v = r * inv_dr
                    k0 = np.int64(v)
                    lagrange6(v - k0, w)
                    col = k0 - 2 + OFFSET
                    if col + 6 > ncol:
                        continue
                    hp = h[pidx[ti, ctype[j]]]
                    for o in range(n_orders):
                        val[o] = c * psum[orders[o]] * inv_m
                    for q in range(6):
                        wq = w[q]
                        for o in range(n_orders):
                            hp[col + q, o] += val[o] * wq
    return 0


@njit(parallel=True, nogil=True, cache=True)
def bessel_sums(moments, r_grid, columns, q, orders, out):  # pragma: no cover - numba
    """out[i, p, n] = sum_k moments[p, k, i] j_{orders[i]}(q[n] r_grid[k]) over k in ``columns``
    (the columns where some moment is non-zero)."""
    n_pairs, _, n_orders = moments.shape
    l_max = orders[n_orders - 1]
    for n in prange(q.shape[0]):
        jl = np.empty(l_max + 1)
        jo = np.empty(n_orders)
        acc = np.zeros((n_pairs, n_orders))
        qn = q[n]
        for kk in range(columns.shape[0]):
            k = columns[kk]
            spherical_bessel_orders(qn * r_grid[k], l_max, jl)
            for i in range(n_orders):
                jo[i] = jl[orders[i]]
            for p in range(n_pairs):
                for i in range(n_orders):
                    acc[p, i] += moments[p, k, i] * jo[i]
        for p in range(n_pairs):
            for i in range(n_orders):
                out[i, p, n] = acc[p, i]
    return 0
