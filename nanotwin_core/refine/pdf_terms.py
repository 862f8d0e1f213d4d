"""The terms of a PDF model: pair Gaussians of the Debye form, the termination, the envelope.

Each pair (i, j) of a model's histograms is a Gaussian of width sigma_ij at d_ij divided by d_ij
(``pdf_fit`` module doc, PDFgui / srreal conventions); ``gaussian_sum`` is the compiled sum on a
uniform r grid with ``gaussian_sum_reference`` the plain numpy one next to it for the tests.

Two weightings of the pairs (``WEIGHTINGS``): "fq", the Faber-Ziman weights
Re(f_a(Q) f_b*(Q)) / |<f(Q)>|^2 of ``simulate --pdf`` and of data reduced by PDFgetX3 (applied to
each type pair's partial in Q space, ``terminate_weighted``), and "constant", every factor at
Q = 0 (X-rays ~Z), PDFgui's convention (applied to the amplitudes, ``pair_terms``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.fft
from numba import njit

from nanotwin_core import numba_setup  # noqa: F401 - sets numba's cache folder before the kernels
from nanotwin_core.errors import NanotwinError
from nanotwin_core.scattering.debye import type_factors
from nanotwin_core.scattering.pdf import particle_baseline, radius_of_gyration_sq, sphere_envelope
from nanotwin_core.scattering.radiation import Radiation, XRay, as_radiation
from nanotwin_core.scattering.types import AtomType, PairHistograms

__all__ = ["WEIGHTINGS", "PairTerms", "dst_q", "from_sine_transform", "gaussian_sum",
           "gaussian_sum_reference", "pair_q_weights", "pair_terms", "sphere_envelope", "terminate",
           "terminate_weighted"]

WEIGHTINGS = ("fq", "constant")


# ----------------------------------------------------------------------------- pair terms
@dataclass
class PairTerms:
    """Flattened nonzero histogram bins of one crystal.

    d0 : (K,) distances (Å) before expansion; amp : (K,) 2 o_a o_b f_a f_b n_k / (N <f>^2), or
    without the factors 2 o_a o_b n_k / N (``with_factors=False``); ta, tb : (K,) type indices;
    groups : ADP group per type; elements : element per type; n_atoms : N (occupancy sum);
    pair : (K,) histogram row; types, occupancy_sums : of the histograms (for Q-dependent
    weights); pair_coeff : (P,) the amplitude of one pair of each histogram row (amp =
    pair_coeff[pair] * count); rg2 : the crystal's squared radius of gyration (Å^2), (1/N^2) sum
    over atom pairs of d^2 (occupancies as weights).
    """

    d0: np.ndarray
    amp: np.ndarray
    ta: np.ndarray
    tb: np.ndarray
    groups: list[str]
    elements: list[str]
    n_atoms: float
    pair: np.ndarray | None = None
    types: list[AtomType] | None = None
    occupancy_sums: np.ndarray | None = None
    pair_coeff: np.ndarray | None = None
    rg2: float = 0.0

    @property
    def envelope_diameter(self) -> float:
        """Diameter (Å) of the uniform sphere with the crystal's radius of gyration (Rg^2 = 3/20 D^2)."""
        return math.sqrt(20.0 / 3.0 * self.rg2)

    def baseline(self, r: np.ndarray, expansion: float = 0.0) -> np.ndarray:
        """4 pi rho0 r gamma0(r): the G(r) of the particle's small-angle scattering, which measured
        G(r) lack (``scattering.pdf.particle_baseline``, ``pdf_fit`` module doc)."""
        return particle_baseline(self.n_atoms, self.rg2, r, expansion)

    @property
    def r_max(self) -> float:
        """Largest stored distance in Å."""
        return float(self.d0.max()) if self.d0.size else 0.0


def pair_terms(hist: PairHistograms, radiation: Radiation | str | None = None, *,
               with_factors: bool = True) -> PairTerms:
    """Bins of ``hist`` with their weights; scattering factors f(Q = 0) without anomalous terms
    (X-rays ~Z, neutrons b), or none (``with_factors=False``: the Q-dependent weights come later,
    ``pair_q_weights``)."""
    rad = as_radiation(radiation)
    if isinstance(rad, XRay):
        rad = XRay()
    q0 = np.zeros(1)
    f = np.array([rad.form_factor(t.element, q0)[0].real for t in hist.types])
    occ = np.array([t.occupancy for t in hist.types], float)
    w = np.asarray(hist.occupancy_sums, float)
    n = float(w.sum())
    if not n > 0:
        raise NanotwinError("the model has no atoms")
    mean_f = float((w * f).sum() / n)
    if mean_f == 0:
        raise NanotwinError("the mean scattering factor is zero: G(r) is undefined")
    if not with_factors:
        f, mean_f = np.ones(len(hist.types)), 1.0
    d_list, a_list, ta_list, tb_list, p_list = [], [], [], [], []
    coeff = np.array([2.0 * occ[a] * occ[b] * f[a] * f[b] / (n * mean_f**2) for a, b in hist.pairs])
    for p, (a, b) in enumerate(hist.pairs):
        if hist.counts is not None:
            nz = np.nonzero(hist.counts[p])[0]
            d, cnt = nz * hist.r_step, hist.counts[p, nz]
        else:
            d, cnt = hist.exact_r[p], hist.exact_w[p]
        keep = d > 0
        d, cnt = d[keep], cnt[keep]
        d_list.append(d)
        a_list.append(coeff[p] * cnt)
        ta_list.append(np.full(d.size, a, np.int64))
        tb_list.append(np.full(d.size, b, np.int64))
        p_list.append(np.full(d.size, p, np.int64))
    cat = (lambda x, dt: np.concatenate(x).astype(dt) if x else np.zeros(0, dt))  # noqa: E731
    return PairTerms(
        cat(d_list, np.float64),
        cat(a_list, np.float64),
        cat(ta_list, np.int64),
        cat(tb_list, np.int64),
        [t.adp_group for t in hist.types],
        [t.base_element for t in hist.types],
        n,
        cat(p_list, np.int64),
        list(hist.types),
        np.asarray(hist.occupancy_sums, float).copy(),
        coeff.reshape(-1),
        radius_of_gyration_sq(hist),
    )


def pair_q_weights(types: list[AtomType], occupancy_sums: np.ndarray, pairs: list[tuple[int, int]],
                   q: np.ndarray, radiation: Radiation | str | None = None) -> np.ndarray:
    """Faber-Ziman weights (len(pairs), nq): Re(f_a(Q) conj f_b(Q)) / |<f(Q)>|^2, <f> the
    occupancy-weighted mean factor of ``types`` (as ``scattering.pdf.composition_averages``)."""
    f, _ = type_factors(types, np.asarray(q, float), radiation=radiation)
    w = np.asarray(occupancy_sums, float)
    mean_f = (w[:, None] * f).sum(axis=0) / w.sum()
    denom = np.abs(mean_f) ** 2
    return np.array([(f[a] * np.conj(f[b])).real / denom for a, b in pairs]).reshape(len(pairs), len(q))


# ----------------------------------------------------------------------------- kernels
@njit(nogil=True, cache=True)
def gaussian_sum(d, amp, sigma, step, n_grid):  # pragma: no cover - compiled
    """G0 on r_n = n * step (n < n_grid): sum_k amp_k/d_k [g(r - d_k) - g(r + d_k)], to 6 sigma.

    g is the unit-area Gaussian of width sigma_k (Å); a bin with sigma_k <= 0 is skipped.
    """
    out = np.zeros(n_grid)
    c = 1.0 / math.sqrt(2.0 * math.pi)
    for k in range(d.shape[0]):
        s = sigma[k]
        if s <= 0.0:
            continue
        a = amp[k] / d[k] * c / s
        lo = int(math.floor((d[k] - 6.0 * s) / step))
        hi = int(math.ceil((d[k] + 6.0 * s) / step))
        if lo < 0:
            lo = 0
        if hi > n_grid - 1:
            hi = n_grid - 1
        inv = 1.0 / s
        for n in range(lo, hi + 1):
            r = n * step
            x = (r - d[k]) * inv
            y = (r + d[k]) * inv
            v = math.exp(-0.5 * x * x)
            if y < 6.0:
                v -= math.exp(-0.5 * y * y)
            out[n] += a * v
    return out


def gaussian_sum_reference(d: np.ndarray, amp: np.ndarray, sigma: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Plain numpy version of ``gaussian_sum`` on any r grid (no window), for the tests."""
    d, amp, sigma = (np.asarray(x, float) for x in (d, amp, sigma))
    keep = sigma > 0
    d, amp, sigma = d[keep], amp[keep], sigma[keep]
    out = np.zeros(len(r))
    for i0 in range(0, len(d), 2000):
        sl = slice(i0, i0 + 2000)
        x = (r[None, :] - d[sl, None]) / sigma[sl, None]
        y = (r[None, :] + d[sl, None]) / sigma[sl, None]
        g = (np.exp(-0.5 * x * x) - np.exp(-0.5 * y * y)) / (np.sqrt(2 * np.pi) * sigma[sl, None])
        out += (amp[sl] / d[sl]) @ g
    return out


def terminate(g0: np.ndarray, step: float, qmin: float, qmax: float) -> np.ndarray:
    """Keep Qmin <= Q <= Qmax of the sine transform of g0 (on r_n = n step, g0[0] = 0), back to r.

    The DST-I of length M - 1 samples Q_m = m pi / (M step); pad g0 (zeros) so the ripples do not
    wrap around. Returns an array of the length of g0.
    """
    m = len(g0)
    y = scipy.fft.dst(np.asarray(g0[1:], float), type=1) * _window(m, step, qmin, qmax)
    out = np.zeros(m)
    out[1:] = scipy.fft.idst(y, type=1)
    return out


def dst_q(m: int, step: float) -> np.ndarray:
    """Q_m (1/Å) of the DST-I coefficients of an r grid of m points of ``step`` (``terminate``)."""
    return np.arange(1, m) * math.pi / (m * step)


def _window(m: int, step: float, qmin: float, qmax: float) -> np.ndarray:
    # coefficient m stands for [Q_m - dQ/2, Q_m + dQ/2]: weight the part inside the window, so the
    # result moves smoothly with Qmin and Qmax (no jump of one dQ)
    dq = math.pi / (m * step)
    q = dst_q(m, step)
    return np.clip((np.minimum(qmax, q + dq / 2) - np.maximum(qmin, q - dq / 2)) / dq, 0.0, 1.0)


def from_sine_transform(y: np.ndarray, step: float, qmin: float, qmax: float) -> np.ndarray:
    """G(r) on r_n = n step (n < len(y) + 1) from the DST-I coefficients ``y`` of G0 (on
    ``dst_q``), kept for Qmin <= Q <= Qmax: the second half of ``terminate``."""
    m = len(y) + 1
    out = np.zeros(m)
    out[1:] = scipy.fft.idst(np.asarray(y, float) * _window(m, step, qmin, qmax), type=1)
    return out


def terminate_weighted(parts: np.ndarray, weights: np.ndarray, step: float, qmin: float,
                       qmax: float) -> np.ndarray:
    """``terminate`` of sum_p parts[p] with each partial's sine transform multiplied by its Q
    weights (``weights[p]`` on ``dst_q``) first: the Faber-Ziman G(r) of real-space partials."""
    parts = np.asarray(parts, float)
    m = parts.shape[1]
    y = (scipy.fft.dst(parts[:, 1:], type=1, axis=1) * weights).sum(axis=0) * _window(m, step, qmin, qmax)
    out = np.zeros(m)
    out[1:] = scipy.fft.idst(y, type=1)
    return out


# ----------------------------------------------------------------------------- model
