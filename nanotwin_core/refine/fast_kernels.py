"""Numba kernels of the fast size databases (``fast_database.py``).

Distances are spread onto a uniform r grid r_k = k dr with six-point Lagrange weights (nodes
k0 - 2 ... k0 + 3 around x = r / dr, k0 = floor(x)): they keep the moments 0-5 of every distance,
so a sinc sum errs by the interpolation error of sinc(Q r) between grid points, at most
~(Q dr)^6 / 720 per pair. Array columns are shifted by ``OFFSET`` so that the points below r = 0
exist; ``fold_negative`` folds them onto +r (sinc is even).

``prism_shell``: the histograms of every parent-lattice offset U with max(|U_a|, |U_b|) = s_ab,
accumulated with the moments 1, |U_a| + |U_b|, |U_a| |U_b| into ``cm[s_c, p, column, moment]``
(s_c = |U_c|): the pieces from which the histograms of every prism size follow (module doc of
``fast_database.py``). ``offset_entries``: plain (content pair, node offset, weight) entries.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from nanotwin_core import numba_setup  # noqa: F401 - sets numba's cache folder before the kernels
from nanotwin_core.scattering.six_point import OFFSET, fold_negative, lagrange6

__all__ = ["OFFSET", "fold_negative", "lagrange6", "offset_entries", "prism_shell"]

@njit(inline="always")
def _pair_probabilities(u0, u1, u2, eta, lam_pow, chars_conj, prob):  # pragma: no cover - numba
    """prob[d] = P_u(D = d) / |G| for node offset u (``population/ensemble.py``); |G| = 1 when
    there are no groups (an untwinned or fixed-content crystal)."""
    n = prob.shape[0]
    n_groups = eta.shape[0]
    if n_groups == 0:
        prob[:] = 0.0
        prob[0] = 1.0 / n
        return
    n_chi = chars_conj.shape[0]
    for d in range(n):
        prob[d] = 0.0
    for x in range(n_chi):
        lam = 1.0 + 0.0j
        for g in range(n_groups):
            m = u0 * eta[g, 0] + u1 * eta[g, 1] + u2 * eta[g, 2]
            if m >= 0:
                lam *= lam_pow[g, x, m]
            else:
                lam *= np.conj(lam_pow[g, x, -m])
        for d in range(n):
            prob[d] += (chars_conj[x, d] * lam).real
    for d in range(n):
        v = prob[d] / (n * n)
        prob[d] = v if v > 1e-15 else 0.0


@njit(parallel=True, nogil=True, cache=True)
def prism_shell(
    s_ab, nc_need, cell, site_frac, site_node, site_cls, parent_node, cpos, ctype, cexcl, cstart,
    add, neg, pidx, eta, lam_pow, chars_conj, inv_dr, cm,
):  # pragma: no cover - numba
    """Add the offsets U of shell s_ab (half space U > 0, and U = 0) for |U_c| < nc_need to cm.

    Nodes of site k sit at parent cell c + site_frac[k]; the node carries content a with
    probability 1/|G| and pairs of contents follow P_u (``_pair_probabilities``). Atoms of
    content a: cpos[cstart[a]:cstart[a + 1]] (Å, relative to the node), types ctype, exclusion
    ids cexcl. cm: (nc, P, columns, 3) float64.
    """
    n_cls = add.shape[0]
    n_sites = site_frac.shape[0]
    ncol = cm.shape[2]
    for sc in prange(nc_need):
        w = np.empty(6)
        prob = np.empty(n_cls)
        for ua in range(0, s_ab + 1):
            for ub in range(-s_ab, s_ab + 1):
                if max(ua, abs(ub)) != s_ab:
                    continue
                for sgn in (1, -1):
                    if sc == 0 and sgn == -1:
                        continue
                    uc = sgn * sc
                    if ua == 0 and (ub < 0 or (ub == 0 and uc < 0)):
                        continue
                    zero = ua == 0 and ub == 0 and uc == 0
                    m1 = float(abs(ua) + abs(ub))
                    m2 = float(abs(ua) * abs(ub))
                    n0 = ua * parent_node[0, 0] + ub * parent_node[1, 0] + uc * parent_node[2, 0]
                    n1 = ua * parent_node[0, 1] + ub * parent_node[1, 1] + uc * parent_node[2, 1]
                    n2 = ua * parent_node[0, 2] + ub * parent_node[1, 2] + uc * parent_node[2, 2]
                    for k in range(n_sites):
                        for l in range(n_sites):
                            if zero and l <= k:
                                continue
                            _pair_probabilities(n0 + site_node[l, 0] - site_node[k, 0],
                                                n1 + site_node[l, 1] - site_node[k, 1],
                                                n2 + site_node[l, 2] - site_node[k, 2],
                                                eta, lam_pow, chars_conj, prob)
                            cls_u = add[site_cls[l], neg[site_cls[k]]]
                            fx = ua + site_frac[l, 0] - site_frac[k, 0]
                            fy = ub + site_frac[l, 1] - site_frac[k, 1]
                            fz = uc + site_frac[l, 2] - site_frac[k, 2]
                            bx = fx * cell[0, 0] + fy * cell[1, 0] + fz * cell[2, 0]
                            by = fx * cell[0, 1] + fy * cell[1, 1] + fz * cell[2, 1]
                            bz = fx * cell[0, 2] + fy * cell[1, 2] + fz * cell[2, 2]
                            for a in range(n_cls):
                                for b in range(n_cls):
                                    wt = prob[add[add[a, cls_u], neg[b]]]
                                    if wt == 0.0:
                                        continue
                                    w1 = wt * m1
                                    w2 = wt * m2
                                    for i in range(cstart[a], cstart[a + 1]):
                                        xi = bx - cpos[i, 0]
                                        yi = by - cpos[i, 1]
                                        zi = bz - cpos[i, 2]
                                        ti = ctype[i]
                                        for j in range(cstart[b], cstart[b + 1]):
                                            dx = xi + cpos[j, 0]
                                            dy = yi + cpos[j, 1]
                                            dz = zi + cpos[j, 2]
                                            v = np.sqrt(dx * dx + dy * dy + dz * dz) * inv_dr
                                            k0 = np.int64(v)
                                            lagrange6(v - k0, w)
                                            col = k0 - 2 + OFFSET
                                            if col + 6 > ncol:
                                                continue
                                            p = pidx[ti, ctype[j]]
                                            for q in range(6):
                                                cm[sc, p, col + q, 0] += wt * w[q]
                                                cm[sc, p, col + q, 1] += w1 * w[q]
                                                cm[sc, p, col + q, 2] += w2 * w[q]
                    if zero:  # pairs inside one node: every node of the cell, contents averaged
                        wt = n_sites / n_cls
                        for a in range(n_cls):
                            for i in range(cstart[a], cstart[a + 1]):
                                for j in range(i + 1, cstart[a + 1]):
                                    if cexcl[i] >= 0 and cexcl[i] == cexcl[j]:
                                        continue
                                    dx = cpos[j, 0] - cpos[i, 0]
                                    dy = cpos[j, 1] - cpos[i, 1]
                                    dz = cpos[j, 2] - cpos[i, 2]
                                    v = np.sqrt(dx * dx + dy * dy + dz * dz) * inv_dr
                                    k0 = np.int64(v)
                                    lagrange6(v - k0, w)
                                    col = k0 - 2 + OFFSET
                                    p = pidx[ctype[i], ctype[j]]
                                    for q in range(6):
                                        cm[0, p, col + q, 0] += wt * w[q]
    return 0


@njit(parallel=True, nogil=True, cache=True)
def offset_entries(
    ek, el, eu, ew, node_basis, cpos, ctype, cexcl, cstart, pidx, inv_dr, hist,
):  # pragma: no cover - numba
    """Spread the atom pairs of entries (content k, content l, node offset u, weight) into
    hist[slot, p, column] (entry e in slot e % n_slots, in order: the sum does not depend on the
    number of threads). An entry with
    k == l and u == 0 stands for the pairs inside one node (i < j, exclusion pairs left out)."""
    n_slots = hist.shape[0]
    ncol = hist.shape[2]
    for t in prange(n_slots):
        w = np.empty(6)
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
                    v = np.sqrt(dx * dx + dy * dy + dz * dz) * inv_dr
                    k0 = np.int64(v)
                    lagrange6(v - k0, w)
                    col = k0 - 2 + OFFSET
                    if col + 6 > ncol:
                        continue
                    p = pidx[ti, ctype[j]]
                    for q in range(6):
                        h[p, col + q] += c * w[q]
    return 0
