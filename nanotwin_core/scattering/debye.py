"""The Debye sum from pair histograms, plus a plain double-sum reference.

I(Q) = sum_a N_a o_a |f_a|^2
       + 2 sum_{a<=b} o_a o_b Re(f_a conj f_b) T_a T_b S_ab(Q),
S_ab(Q) = sum_k n_ab(r_k) sin(Q r_k) / (Q r_k),  T_a = exp(-B_a s^2), s = Q / (4 pi).

The distance-only sums S_ab(Q) are computed once per (histograms, Q grid, expansion) and cached
on the histograms, so a change of B, wavelength/energy (f', f''), radiation or scale costs only
the weighted sum over type pairs.

How S_ab is evaluated (``method``):
- "czt" on a uniform Q grid: S(Q) = Im(sum_k w_k exp(i Q r_k)) / Q with w_k = n_k / r_k is a
  chirp-z transform along the uniform r grid (Bluestein: two FFTs per type pair, batched over
  the pairs; the chirp spectrum is cached). Agrees with direct evaluation to ~1e-12 of max|S|.
- on a non-uniform grid (2theta), and for expansion != 0 under "auto": CZT onto a uniform grid
  of step 0.25 / r_max spanning the points with a 3 % margin, then a quintic spline, cached on
  the histograms (so refining the expansion costs a spline evaluation). Interpolation error
  measured < 1e-6 relative (``tests/test_dse_debye.py``).
- "direct": sum over bins (or raw distances) with sin(), numba, parallel over Q.
- "auto": direct for exact-mode histograms or when bins x Q points is small, else czt.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping

import numba
import numpy as np
import scipy.fft
from numba import njit, prange
from scipy.interpolate import make_interp_spline

from nanotwin_core.cache_keys import content_key
from nanotwin_core.crystal import Crystal
from nanotwin_core.errors import NanotwinError
from nanotwin_core.numba_setup import call_parallel
from nanotwin_core.scattering.form_factors import element_of
from nanotwin_core.scattering.histograms import compute_histograms
from nanotwin_core.scattering.radiation import Radiation, as_radiation
from nanotwin_core.scattering.types import AtomType, PairHistograms, assign_types
from nanotwin_core.structures.adp import core_group

_DIRECT_LIMIT = 2_000_000  # bins x Q points below which "auto" sums directly
_CACHE_SIZE = 8


# ----------------------------------------------------------------------------- kernels
@njit(parallel=True, nogil=True, cache=True)
def _direct_sums(r, w, q):  # pragma: no cover
    """S[n] = sum_k w_k sinc(q_n r_k) (sinc(x) = sin x / x, 1 at 0), float64."""
    out = np.zeros(q.shape[0])
    for n in prange(q.shape[0]):
        qn = q[n]
        acc = 0.0
        for k in range(r.shape[0]):
            x = qn * r[k]
            if x == 0.0:
                acc += w[k]
            else:
                acc += w[k] * np.sin(x) / x
        out[n] = acc
    return out


def _is_uniform(q: np.ndarray) -> bool:
    if len(q) < 3:
        return False
    d = np.diff(q)
    return bool(d[0] > 0 and np.max(np.abs(d - d[0])) <= 1e-9 * max(abs(d[0]), 1e-300) + 1e-12 * abs(q[-1]))


_CHIRP_CACHE: dict = {}  # chirp spectra by (m, nq, a, size); filled by any thread
_CHIRP_LOCK = threading.Lock()


def _czt_uniform(
    counts: np.ndarray, r_step: float, q0: float, dq: float, nq: int, workers: int
) -> np.ndarray:
    """S[p, n] at Q_n = q0 + n dq for histograms counts[p, k] on r_k = k r_step (Bluestein CZT)."""
    n_p, m = counts.shape
    k = np.arange(m)
    w = np.zeros_like(counts)
    w[:, 1:] = counts[:, 1:] / (k[1:] * r_step)
    a = dq * r_step
    size = scipy.fft.next_fast_len(m + nq - 1)
    key = (m, nq, a, size)
    with _CHIRP_LOCK:
        spec = _CHIRP_CACHE.get(key)
    if spec is None:
        c = np.zeros(size, dtype=np.complex128)
        mm = np.arange(max(m, nq), dtype=np.float64)
        chirp = np.exp(-0.5j * a * mm * mm)
        c[:nq] = chirp[:nq]
        c[size - (m - 1) :] = chirp[1:m][::-1]
        spec = scipy.fft.fft(c, workers=workers)
        with _CHIRP_LOCK:
            if len(_CHIRP_CACHE) > 16:
                _CHIRP_CACHE.clear()
            _CHIRP_CACHE[key] = spec
    kk = k.astype(np.float64)
    pre = np.exp(1j * (q0 * r_step * kk + 0.5 * a * kk * kk))
    x = np.zeros((n_p, size), dtype=np.complex128)
    x[:, :m] = w * pre[None, :]
    y = scipy.fft.ifft(scipy.fft.fft(x, axis=1, workers=workers) * spec[None, :], axis=1, workers=workers)
    nn = np.arange(nq, dtype=np.float64)
    post = np.exp(0.5j * a * nn * nn)
    im = (y[:, :nq] * post[None, :]).imag
    q = q0 + dq * nn
    out = np.empty((n_p, nq))
    nzq = q != 0.0
    out[:, nzq] = im[:, nzq] / q[nzq]
    out[:, ~nzq] = counts[:, 1:].sum(axis=1)[:, None]
    out += counts[:, :1]  # r = 0 bin: sinc = 1
    return out


def _workers() -> int:
    return max(1, int(numba.get_num_threads()))


def sinc_sums(
    hist: PairHistograms, q: np.ndarray, *, expansion: float = 0.0, method: str = "auto"
) -> np.ndarray:
    """S_ab(Q) (P, nq) = sum_k n_ab(r_k) sinc(Q (1+e) r_k); cached on ``hist``."""
    q = np.ascontiguousarray(q, dtype=np.float64)
    if q.ndim != 1:
        raise NanotwinError("q must be a 1-D array (1/Å)")
    if np.any(q < 0):
        raise NanotwinError("q must be >= 0 1/Å")
    if method not in ("auto", "czt", "direct"):
        raise NanotwinError(f"method must be 'auto', 'czt' or 'direct', got {method!r}")
    key = ("sinc", content_key(q), float(expansion), method)
    cache = hist.cache
    if key in cache:
        return cache[key]
    if not 1.0 + float(expansion) > 0:
        raise NanotwinError(f"expansion must be > -1, got {expansion}")
    qe = q * (1.0 + float(expansion))
    n_p = len(hist.pairs)
    if hist.counts is None:
        out = np.zeros((n_p, len(q)))
        for p in range(n_p):
            if len(hist.exact_r[p]):
                out[p] = call_parallel(
                    _direct_sums,
                    np.ascontiguousarray(hist.exact_r[p]),
                    np.ascontiguousarray(hist.exact_w[p], dtype=np.float64),
                    qe,
                )
    else:
        m = hist.counts.shape[1]
        use_direct = method == "direct" or (method == "auto" and m * len(q) <= _DIRECT_LIMIT) or len(q) < 3
        if use_direct:
            out = np.zeros((n_p, len(q)))
            r = np.arange(m) * hist.r_step
            for p in range(n_p):
                nz = np.nonzero(hist.counts[p])[0]
                if len(nz):
                    out[p] = call_parallel(_direct_sums, r[nz], hist.counts[p, nz], qe)
        elif _is_uniform(qe) and (expansion == 0.0 or method == "czt"):
            out = _czt_uniform(
                hist.counts, hist.r_step, qe[0], (qe[-1] - qe[0]) / (len(qe) - 1), len(qe), _workers()
            )
        else:
            out = _czt_interpolated(hist, qe)
    n_sinc = [k for k in cache if isinstance(k, tuple) and k and k[0] == "sinc"]
    if len(n_sinc) >= _CACHE_SIZE:
        del cache[n_sinc[0]]
    cache[key] = out
    return out


def _czt_interpolated(hist: PairHistograms, q: np.ndarray) -> np.ndarray:
    """CZT on a fine uniform grid (step 0.25 / r_max) covering q, then a quintic spline per pair.

    The spline is cached on ``hist`` and built with a 3 % margin, so non-uniform grids and
    expansion changes within the margin cost only a spline evaluation.
    """
    qlo, qhi = float(np.min(q)), float(np.max(q))
    cached = hist.cache.get("spline")
    if cached is None or not (cached[0] <= qlo and qhi <= cached[1]):
        r_top = max(hist.r_max, hist.r_step)
        h = 0.25 / r_top
        lo = max(0.0, qlo * 0.97 - 3 * h)
        n = int(np.ceil((qhi * 1.03 + 3 * h - lo) / h)) + 1
        grid = lo + h * np.arange(n)
        vals = _czt_uniform(hist.counts, hist.r_step, lo, h, n, _workers())
        cached = (grid[2], grid[-3], make_interp_spline(grid, vals.T, k=5))
        hist.cache["spline"] = cached
    return np.ascontiguousarray(cached[2](q).T)


# ----------------------------------------------------------------------------- weights
def _b_lookup(t: AtomType, b_iso: Mapping[str, float] | None, default: float = 0.0) -> float:
    """The value of a type in a {group or element: value} map: its group, else the core group of
    a surface group (``X_ax_surf`` -> ``X_ax``), else its element, else ``default``."""
    if not b_iso:
        return default
    if t.adp_group in b_iso:
        return float(b_iso[t.adp_group])
    core = core_group(t.adp_group)
    if core is not None and core in b_iso:
        return float(b_iso[core])
    if t.element in b_iso:
        return float(b_iso[t.element])
    if t.base_element in b_iso:
        return float(b_iso[t.base_element])
    return default


def occupancy_factors(types: list[AtomType], occupancy: Mapping[str, float] | None) -> np.ndarray:
    """(T,) occupancy factor of every type: ``occupancy`` by ADP/occupancy group, else element,
    else 1. The factor multiplies the sites' own occupancy o_a (self term o_a k_a |f_a|^2, pair
    terms o_a k_a o_b k_b): a refined occupancy never touches the distances."""
    return np.array([_b_lookup(t, occupancy, 1.0) for t in types], dtype=float)


def type_factors(
    types: list[AtomType],
    q: np.ndarray,
    *,
    b_iso: Mapping[str, float] | float | None = None,
    radiation: Radiation | str | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(f (T, nq) complex form factors, T (T, nq) Debye-Waller factors) of the types.

    ``radiation``: a ``Radiation`` (``XRay(wavelength=...)``, ``Neutron()``), a registered name,
    or None (X-rays without anomalous terms).
    """
    rad = as_radiation(radiation)
    q = np.asarray(q, dtype=np.float64)
    s2 = (q / (4.0 * np.pi)) ** 2
    by_el: dict[str, np.ndarray] = {}
    f = np.empty((len(types), len(q)), dtype=np.complex128)
    dw = np.empty((len(types), len(q)))
    for i, t in enumerate(types):
        if t.element not in by_el:
            by_el[t.element] = rad.form_factor(t.element, q)
        f[i] = by_el[t.element]
        b = float(b_iso) if isinstance(b_iso, (int, float)) else _b_lookup(t, b_iso)
        dw[i] = np.exp(-b * s2)
    return f, dw


def _pair_filter(types: list[AtomType], pair) -> tuple[set[str], bool]:
    if pair is None:
        return set(), False
    if len(pair) != 2:
        raise NanotwinError("pair must name two elements, e.g. ('Pb', 'Br')")
    els = {element_of(str(pair[0])), element_of(str(pair[1]))}
    known = {t.base_element for t in types}
    if not els <= known:
        raise NanotwinError(f"pair {tuple(pair)}: elements not in the crystal ({', '.join(sorted(known))})")
    return els, True


def excluded_element_pairs(exclude) -> set[frozenset[str]]:
    """Element pairs left out of the distance sum, e.g. [("Cs", "Cs")] -> {frozenset({"Cs"})}."""
    out = set()
    for pair in exclude or ():
        if len(pair) != 2:
            raise NanotwinError(f"excluded pairs name two elements, got {pair!r}")
        out.add(frozenset({element_of(str(pair[0])), element_of(str(pair[1]))}))
    return out


def debye_from_sums(
    types: list[AtomType],
    pairs: np.ndarray,
    self_sums: np.ndarray,
    sums: np.ndarray,
    q: np.ndarray,
    *,
    b_iso: Mapping[str, float] | float | None = None,
    radiation: Radiation | str | None = None,
    pair: tuple[str, str] | None = None,
    exclude=None,
    occupancy: Mapping[str, float] | None = None,
) -> np.ndarray:
    """I(Q) from occupancy sums per type (T,) and distance sums S_ab(Q) (P, nq) (module doc).

    ``pair`` keeps one element pair's partial; ``exclude`` leaves element pairs' distance terms
    out (self terms stay); ``occupancy`` scales the occupancy of groups or elements
    (``occupancy_factors``). Shared by single crystals and size databases.
    """
    f, dw = type_factors(types, q, b_iso=b_iso, radiation=radiation)
    els, partial = _pair_filter(types, pair)
    skip = excluded_element_pairs(exclude)
    factor = occupancy_factors(types, occupancy)
    occ = np.array([t.occupancy for t in types]) * factor
    out = np.zeros(len(q))
    for a, t in enumerate(types):
        if partial and (len(els) != 1 or t.base_element not in els):
            continue
        out += factor[a] * self_sums[a] * np.abs(f[a]) ** 2
    g = f * (occ[:, None] * dw)
    for p, (a, b) in enumerate(pairs):
        key = {types[a].base_element, types[b].base_element}
        if (partial and key != els) or frozenset(key) in skip:
            continue
        out += 2.0 * (g[a] * np.conj(g[b])).real * sums[p]
    return out


def debye_intensity(
    hist: PairHistograms,
    q: np.ndarray,
    *,
    b_iso: Mapping[str, float] | float | None = None,
    radiation: Radiation | str | None = None,
    expansion: float = 0.0,
    pair: tuple[str, str] | None = None,
    exclude=None,
    method: str = "auto",
    occupancy: Mapping[str, float] | None = None,
) -> np.ndarray:
    """The full Debye sum I(Q) (electrons^2 for X-rays, fm^2 for neutrons), one crystal.

    Parameters
    ----------
    hist : pair histograms (``compute_histograms``).
    q : Q values in 1/Å (any order; uniform grids are fastest).
    b_iso : B (Å^2) per ADP group or element (group wins, missing = 0), or one number for all.
    radiation : ``XRay(wavelength=... or energy_kev=..., anomalous=True)``, ``Neutron()``, a
        registered name, or None (X-rays without anomalous terms).
    expansion : uniform expansion e, every distance times (1 + e) (reuses the histograms).
    pair : ("Pb", "Br") for the partial of one element pair; (X, X) partials carry X's self term,
        so the partials add up to the total.
    exclude : element pairs whose distance terms are left out, e.g. [("Cs", "Cs")].
    method : "auto", "czt" or "direct" (see module doc).
    occupancy : occupancy factor (0-1) per ADP/occupancy group or element (group wins,
        missing = 1), multiplying the sites' own occupancies.
    """
    q = np.asarray(q, dtype=np.float64)
    s = sinc_sums(hist, q, expansion=expansion, method=method)
    return debye_from_sums(hist.types, hist.pairs, hist.occupancy_sums, s, q, b_iso=b_iso,
                           radiation=radiation, pair=pair, exclude=exclude, occupancy=occupancy)


def powder_pattern(crystal: Crystal, q: np.ndarray, **kwargs) -> np.ndarray:
    """Histograms + Debye sum in one call. Histogram keywords (route, sampling, n_threads,
    progress, cancel) go to ``compute_histograms``, the rest to ``debye_intensity``."""
    hk = {k: kwargs.pop(k) for k in ("route", "sampling", "n_threads", "progress", "cancel") if k in kwargs}
    return debye_intensity(compute_histograms(crystal, **hk), q, **kwargs)


# ----------------------------------------------------------------------------- reference
def exact_debye(
    crystal: Crystal,
    q: np.ndarray,
    *,
    b_iso: Mapping[str, float] | float | None = None,
    radiation: Radiation | str | None = None,
    pair: tuple[str, str] | None = None,
    max_atoms: int = 20_000,
) -> np.ndarray:
    """Plain numpy double sum over every atom pair (float64, no binning): the reference.

    I(Q) = sum_i o_i |f_i|^2 + sum_{i != j, not excluded} o_i o_j Re(f_i conj f_j) T_i T_j sinc(Q r_ij).
    Cost N^2 x nq: meant for small clusters and checks.
    """
    q = np.asarray(q, dtype=np.float64)
    n = crystal.n_atoms
    if n > max_atoms:
        raise NanotwinError(f"exact_debye: {n} atoms is more than max_atoms={max_atoms}")
    types, tix = assign_types(crystal.elements, crystal.adp_groups, crystal.occupancy)
    f, dw = type_factors(types, q, b_iso=b_iso, radiation=radiation)
    occ = crystal.occupancy
    els, partial = _pair_filter(types, pair)
    base = np.array([t.base_element for t in types])[tix]
    pos = crystal.positions
    excl = crystal.exclusion
    out = np.zeros(len(q))
    fa = f[tix]  # (N, nq)
    ga = fa * (occ[:, None] * dw[tix])
    self_ok = np.ones(n, dtype=bool) if not partial else (np.isin(base, list(els)) & (len(els) == 1))
    out += (occ[self_ok, None] * np.abs(fa[self_ok]) ** 2).sum(axis=0)
    block = max(1, min(n, 2_000_000 // max(n, 1)))
    for i0 in range(0, n, block):
        i1 = min(n, i0 + block)
        d = np.sqrt(((pos[i0:i1, None, :] - pos[None, :, :]) ** 2).sum(axis=2))  # (B, N)
        mask = np.ones(d.shape, dtype=bool)
        rows = np.arange(i0, i1)
        mask[rows - i0, rows] = False
        mask &= ~((excl[i0:i1, None] >= 0) & (excl[i0:i1, None] == excl[None, :]))
        if partial:
            e1, e2 = sorted(els) if len(els) == 2 else (next(iter(els)),) * 2
            bi_el, bj_el = base[i0:i1, None], base[None, :]
            mask &= ((bi_el == e1) & (bj_el == e2)) | ((bi_el == e2) & (bj_el == e1))
        bi, bj = np.nonzero(mask)
        dd = d[bi, bj]
        for iq, qv in enumerate(q):
            x = qv * dd
            sinc = np.where(x == 0.0, 1.0, np.sin(x) / np.where(x == 0.0, 1.0, x))
            out[iq] += np.sum((ga[bi + i0, iq] * np.conj(ga[bj, iq])).real * sinc)
    return out
