"""Preferred orientation (fibre texture, March-Dollase) in the Debye scattering equation.

Geometry: symmetric reflection (Bragg-Brentano), the scattering vector Q along the sample
normal; the crystallites' direction h (the normal of the (hkl) planes, the reciprocal-lattice
direction h a* + k b* + l c*, as in GSAS-II) is spread about that normal. In the crystal frame
the direction of Q then has the density W(Q^ . h) on the unit sphere, March-Dollase

    W(x) = (r^2 x^2 + (1 - x^2) / r)^(-3/2),   mean over the sphere = 1,

r = 1 random, r < 1 the (hkl) planes lie in the sample surface (hkl and its harmonics enhanced
by up to r^-3), r > 1 they stand across it. W is even in x, so W(x) = sum_{l even} w_l P_l(x),
w_l = (2l + 1)/2 int_{-1}^{1} W(x) P_l(x) dx (w_0 = 1; Gauss-Legendre quadrature here).

With exp(i Q.r) = sum_l i^l (2l + 1) j_l(Q r) P_l(Q^ . r^) and the addition theorem
(int dOmega/4pi P_L(Q^.h) P_l(Q^.r^) = delta_lL P_l(h.r^)/(2l + 1)), the average over the
textured directions is <exp(i Q.r)> = sum_l w_l i^l j_l(Q r) P_l(h . r^), real for even l, so

    I(Q) = sum_i f_i^2 + 2 sum_{i<j} f_i f_j T_i T_j sum_{l even} w_l (-1)^(l/2) j_l(Q r_ij) P_l(r^_ij . h)

(l = 0: the Debye sum). P_l is symmetrised over the m axes equivalent to h under the
structure's point group (one per +-pair: P_l is even), P_l^sym = (1/m) sum_a P_l(r^ . h_a), as a
Rietveld code's March-Dollase correction averages over a reflection's multiplicity; an order whose
P_l^sym vanishes for every direction (l = 2 in a cubic crystal) is left out. Per type pair the
sums over pairs become moment histograms H_l,ab(r) (``texture_kernels``), and the textured
pattern is ``debye_from_sums`` with S_ab(Q) + sum_l c_l S_l,ab(Q), c_l = w_l (-1)^(l/2),
S_l,ab(Q) = sum_k H_l,ab(r_k) j_l(Q r_k).

Truncation: the orders up to the largest even l with |w_l| >= ``TEXTURE_TOL`` (1e-3) for the
ratios in use, capped at ``MAX_ORDER``; ``truncation_error`` is sum_{l > l_max} |w_l|, a bound on
the relative error of W (|P_l| <= 1). Ratios 0.35-3 (the bounds of a refined ratio) need
l_max = 54 (truncation error <= 0.003), 0.5-2 need 28, 0.7 needs 14, 0.9 needs 6. Near r = 1,
W = 1 - 3 (r - 1) P_2 + O((r - 1)^2): in a cubic crystal (P_2^sym = 0) the pattern moves only as
(r - 1)^2, so refinements start at 0.8 (``model_parts.DEFAULT_TEXTURE_RATIO``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.polynomial.legendre import leggauss
from scipy.special import eval_legendre

from nanotwin_core.errors import NanotwinError
from nanotwin_core.numba_setup import REDUCTION_SLOTS, call_parallel
from nanotwin_core.scattering.debye import debye_from_sums, sinc_sums
from nanotwin_core.scattering.lattice_route import flat_contents, table_r_bound
from nanotwin_core.scattering.six_point import OFFSET, fold_negative
from nanotwin_core.scattering.texture_kernels import bessel_sums, moment_entries
from nanotwin_core.scattering.types import type_pairs

TEXTURE_TOL = 1e-3  # |w_l| below which orders are left out
MAX_ORDER = 64  # cap on l_max
RATIO_LIMITS = (0.3, 3.5)  # ratios the orders up to MAX_ORDER represent (truncation error <= 0.0083)
FIT_RATIO_BOUNDS = (0.35, 3.0)  # refined ratios stay here (the expansion to l = 54 covers them)
R_STEP_QMAX = 0.25  # r step (Å) x largest Q of the moment histograms (six-point weights)
_NODES, _WEIGHTS = leggauss(1024)


def march_dollase(x: np.ndarray | float, ratio: float) -> np.ndarray:
    """W(x) = (r^2 x^2 + (1 - x^2)/r)^(-3/2), x = cos(angle between Q and the texture axis)."""
    x = np.asarray(x, dtype=float)
    return (ratio * ratio * x * x + (1.0 - x * x) / ratio) ** -1.5


def legendre_weights(ratio: float, l_max: int) -> np.ndarray:
    """w_l of W for l = 0, 2, ..., l_max (even l; w_0 = 1 to quadrature precision)."""
    check_ratio(ratio)
    ls = np.arange(0, l_max + 1, 2)
    if float(ratio) == 1.0:  # random: exactly the Debye sum
        return (ls == 0).astype(float)
    w = march_dollase(_NODES, ratio)
    return np.array([(2 * l + 1) / 2.0 * np.sum(_WEIGHTS * w * eval_legendre(l, _NODES)) for l in ls])


def hkl_text(hkl: Sequence[int]) -> str:
    """'220', or '1,-1,0' when an index is negative or has two digits."""
    return "".join(str(v) for v in hkl) if all(0 <= v <= 9 for v in hkl) else ",".join(str(v) for v in hkl)


def check_ratio(ratio: float) -> float:
    """``ratio`` as a float within ``RATIO_LIMITS``; NanotwinError otherwise."""
    try:
        r = float(ratio)
    except (TypeError, ValueError):
        raise NanotwinError(f"texture ratio must be a number, got {ratio!r}") from None
    lo, hi = RATIO_LIMITS
    if not lo <= r <= hi:
        raise NanotwinError(f"texture ratio must lie in {lo:g}-{hi:g} (1 = random; a stronger texture needs "
                            f"more than l = {MAX_ORDER} Legendre orders), got {ratio!r}")
    return r


def texture_l_max(ratios: Sequence[float], tol: float = TEXTURE_TOL, cap: int = MAX_ORDER) -> int:
    """The largest even l with |w_l| >= ``tol`` for any of ``ratios``, at most ``cap`` (>= 2)."""
    best = 2
    for r in ratios:
        w = legendre_weights(r, 2 * cap)
        big = np.nonzero(np.abs(w) >= tol)[0]
        best = max(best, 2 * int(big[-1]) if len(big) else 2)
    return min(best, cap - cap % 2)


def truncation_error(ratio: float, l_max: int) -> float:
    """sum_{l > l_max} |w_l| (to l = 2 l_max + 64): a bound on the relative error of W."""
    w = legendre_weights(ratio, 2 * l_max + 64)
    return float(np.sum(np.abs(w[l_max // 2 + 1:])))


def order_coefficients(ratio: float, orders: np.ndarray) -> np.ndarray:
    """c_l = w_l (-1)^(l/2) for the even ``orders`` (module doc)."""
    orders = np.asarray(orders, dtype=np.int64)
    if len(orders) == 0:
        return np.zeros(0)
    w = legendre_weights(ratio, int(orders.max()))
    return w[orders // 2] * np.where((orders // 2) % 2 == 0, 1.0, -1.0)


def equivalent_axes(structure, hkl: Sequence[int], cell: np.ndarray | None = None) -> np.ndarray:
    """(m, 3) Cartesian unit vectors of the plane normals equivalent to (hkl) under the point group
    of ``structure`` (its space group's rotations acting on hkl; one per +- pair, P_l being even),
    in the frame of ``cell`` (rows a, b, c in Å; default the structure's)."""
    hkl = [int(v) for v in hkl]
    found: set[tuple[int, int, int]] = set()
    for op in structure.space_group().operations().sym_ops:
        h = tuple(int(v) for v in op.apply_to_hkl(hkl))
        if tuple(-v for v in h) not in found:
            found.add(h)  # type: ignore[arg-type]
    cell = structure.cell.matrix if cell is None else np.asarray(cell, dtype=float)
    recip = np.linalg.inv(cell).T  # rows a*, b*, c* (without 2 pi)
    vec = np.array(sorted(found, reverse=True), dtype=float) @ recip
    return np.ascontiguousarray(vec / np.linalg.norm(vec, axis=1)[:, None])


def active_orders(axes: np.ndarray, l_max: int) -> np.ndarray:
    """Even l in 2..l_max whose symmetrised P_l^sym is not identically zero (tested on 200
    directions of a fixed pseudo-random set)."""
    rng = np.random.default_rng(12)
    v = rng.normal(size=(200, 3))
    v /= np.linalg.norm(v, axis=1)[:, None]
    cos = v @ np.asarray(axes).T
    keep = [l for l in range(2, l_max + 1, 2) if np.max(np.abs(eval_legendre(l, cos).mean(axis=1))) > 1e-9]
    return np.array(keep, dtype=np.int64)


def moment_histograms(table, axes: np.ndarray, orders: np.ndarray, dr: float, *, node_basis=None,
                      atoms=None) -> tuple[np.ndarray, np.ndarray]:
    """(H (n_l, P, M) moment histograms on r_k = k dr, r grid) of a lattice pair table
    (``LatticePairTable``); ``atoms``: (cpos, ctype, cexcl, cstart, pidx) of the contents in Å
    (default: the table's own, ``lattice_route.flat_contents``)."""
    if atoms is None:
        apos, atype, aexcl, cstart = flat_contents(table, table.cell, table.content_frac)
        atoms = (apos, atype, aexcl, cstart, type_pairs(len(table.types))[1])
    nb = np.ascontiguousarray(table.node_basis_frac @ table.cell if node_basis is None else node_basis)
    n_pairs = len(type_pairs(atoms[4].shape[0])[0])
    n_bins = int(np.ceil(table_r_bound(table, nb, atoms[0]) / dr)) + 8
    hist = np.zeros((REDUCTION_SLOTS, n_pairs, n_bins + OFFSET + 3, len(orders)))
    call_parallel(moment_entries, table.entry_k, table.entry_l, np.ascontiguousarray(table.entry_u),
                  table.entry_count, nb, *atoms, 1.0 / dr, np.ascontiguousarray(axes, dtype=float),
                  np.asarray(orders, dtype=np.int64), hist)
    h = fold_negative(np.moveaxis(hist.sum(axis=0), -1, 0))
    return h, dr * np.arange(h.shape[-1])


def legendre_sums(moments: np.ndarray, r_grid: np.ndarray, q: np.ndarray, orders: np.ndarray) -> np.ndarray:
    """S_l,p(Q) (n_l, P, nq) = sum_k H_l,p(r_k) j_l(Q r_k)."""
    q = np.ascontiguousarray(q, dtype=float)
    out = np.zeros((len(orders), moments.shape[1], len(q)))
    if len(orders) == 0:
        return out
    columns = np.nonzero(np.any(moments != 0, axis=(0, 1)))[0].astype(np.int64)
    by_column = np.ascontiguousarray(np.moveaxis(moments, 0, -1))  # (P, M, n_l): one column's orders together
    call_parallel(bessel_sums, by_column, np.ascontiguousarray(r_grid), columns, q,
                  np.asarray(orders, dtype=np.int64), out)
    return out


def crystal_texture_sums(hist, q: np.ndarray, structure, axis: Sequence[int],
                         orders: np.ndarray) -> np.ndarray:
    """S_l,p(Q) (n_l, P, nq) of one crystal from the lattice pair table its histograms keep
    (cached on ``hist`` by axis, orders and Q grid)."""
    table = hist.cache.get("table")
    if table is None:
        raise NanotwinError("texture is not available for crystals without a lattice description "
                            "(XYZ files, the all-pairs route) yet")
    q = np.asarray(q, dtype=float)
    key = ("texture", tuple(int(v) for v in axis), tuple(int(v) for v in orders), q.tobytes())
    if key not in hist.cache:
        axes = equivalent_axes(structure, axis, table.cell)
        dr = R_STEP_QMAX / max(float(q.max()), 1.0)
        moments, r_grid = moment_histograms(table, axes, orders, dr)
        hist.cache[key] = legendre_sums(moments, r_grid, q, orders)
    return hist.cache[key]


def textured_debye_intensity(hist, q: np.ndarray, *, structure, axis: Sequence[int], ratio: float,
                             l_max: int | None = None, **debye_options) -> np.ndarray:
    """I(Q) of one crystal with a March-Dollase fibre texture (module doc) about the normal of
    (``axis``) of ``structure`` with ``ratio``; ``l_max``: highest order (default from
    ``texture_l_max``); ``debye_options`` (b_iso, radiation, exclude, occupancy) as in
    ``debye_intensity``. Needs the lattice route's pair table (``compute_histograms``)."""
    q = np.asarray(q, dtype=float)
    table = hist.cache.get("table")
    if table is None:
        raise NanotwinError("texture is not available for crystals without a lattice description "
                            "(XYZ files, the all-pairs route) yet")
    axes = equivalent_axes(structure, axis, table.cell)
    orders = active_orders(axes, texture_l_max([ratio]) if l_max is None else int(l_max))
    sums = sinc_sums(hist, q) + np.tensordot(order_coefficients(ratio, orders),
                                              crystal_texture_sums(hist, q, structure, axis, orders), axes=1)
    return debye_from_sums(hist.types, hist.pairs, hist.occupancy_sums, sums, q, **debye_options)


def fit_ratio_bounds(ratio: float) -> tuple[float, float]:
    """Bounds of a refined ratio: ``FIT_RATIO_BOUNDS`` widened to hold the start ``ratio``."""
    lo, hi = FIT_RATIO_BOUNDS
    return min(lo, float(ratio)), max(hi, float(ratio))


def texture_database_spec(structure, axis: Sequence[int], ratio: float) -> tuple[tuple, tuple]:
    """(axis, orders) of the Legendre sums a size database stores for a texture about (``axis``):
    the orders every ratio within ``fit_ratio_bounds(ratio)`` needs (fixed, so refining or changing
    the ratio reuses one database)."""
    axis = tuple(int(v) for v in axis)
    axes = equivalent_axes(structure, axis)
    orders = active_orders(axes, texture_l_max(fit_ratio_bounds(ratio)))
    return axis, tuple(int(v) for v in orders)
