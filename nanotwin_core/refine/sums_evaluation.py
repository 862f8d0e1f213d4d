"""Population patterns from stored per-size sinc sums, fast after a change of one parameter group.

The stored sums S[n, k, p, :] (size n, twin-density node k, type pair p; float32 on the fine grid
q_f) give the pattern

    I(q) = sum_a (w @ self_sums)_a |f_a(q)|^2 + Spline_{q_f}[G](q (1 + e)),   (cubic or quintic)
    G(q_f) = sum_p c_p(q_f / (1 + e)) sum_k L_k sum_n w_n S[n, k, p](q_f),

w the size number fractions, L the twin-density interpolation weights (one node: L = [1]),
c_p = 2 o_a o_b Re(f_a conj f_b) T_a T_b (form factors, Debye-Waller, at the true Q). G is
formed on the fine grid before the one spline, so every route below gives the same function to
round-off (finite-difference Jacobians stay clean). Two caches make a change of one group cheap:

- V[k, p] = sum_n w_n S[n, k, p] for the last weights: a change of B, energy, expansion or twin
  density costs K P nq operations (no pass over the sizes);
- Z[n] = sum_{k, p} L_k c_p S[n, k, p] for the last (B, energy, expansion, twin density): a change
  of the size weights costs one weighted sum over n x nq values;

a change of both costs one pass over the stored sums (``_full_pass``), which refreshes both caches.
"""

from __future__ import annotations

from collections.abc import Mapping

import numba
import numpy as np
from scipy.interpolate import CubicSpline, make_interp_spline

from nanotwin_core.errors import NanotwinError
from nanotwin_core.numba_setup import REDUCTION_SLOTS, call_parallel
from nanotwin_core.scattering.debye import excluded_element_pairs, occupancy_factors, type_factors
from nanotwin_core.scattering.radiation import Radiation, as_radiation


@numba.njit(parallel=True, nogil=True, cache=True)
def _full_pass(sinc, w, node_w, c, v_part, z):  # pragma: no cover - numba
    """v_part[t] += w_n S[n] (slot t: sizes n = t mod slots, whatever the thread count),
    z[n] = sum_{k,p} L_k c_p S[n]: one read of S."""
    n_sizes, n_nodes, n_pairs, n_q = sinc.shape
    n_slots = v_part.shape[0]
    for t in numba.prange(n_slots):
        for i in range(t, n_sizes, n_slots):
            wi = w[i]
            for j in range(n_q):
                z[i, j] = 0.0
            for k in range(n_nodes):
                lk = node_w[k]
                for p in range(n_pairs):
                    for j in range(n_q):
                        s = np.float64(sinc[i, k, p, j])
                        z[i, j] += lk * c[p, j] * s
                        v_part[t, k, p, j] += wi * s
    return 0


class SumsEvaluator:
    """Cached population patterns of stored sums ``sinc`` (n, K, P, nq) on ``q_fine`` (module doc)."""

    def __init__(self, sinc: np.ndarray, q_fine: np.ndarray, types: list, pairs: np.ndarray,
                 self_sums: np.ndarray, spline_order: int = 3) -> None:
        if sinc.ndim != 4:
            raise NanotwinError("stored sums must be (sizes, nodes, pairs, Q) (internal error)")
        self.sinc = sinc
        self.q_fine = np.asarray(q_fine, dtype=float)
        self.types = list(types)
        self.pairs = np.asarray(pairs, dtype=np.int64)
        self.self_sums = np.asarray(self_sums, dtype=float)
        if spline_order not in (3, 5):
            raise NanotwinError(f"spline order must be 3 or 5, got {spline_order}")
        self.spline_order = int(spline_order)
        self.occupancy = np.array([t.occupancy for t in self.types], dtype=float)
        self._v: tuple[bytes, np.ndarray] | None = None
        self._z: tuple[tuple, np.ndarray] | None = None
        self._self_f: tuple[tuple, np.ndarray] | None = None

    @property
    def n_sizes(self) -> int:
        return self.sinc.shape[0]

    @property
    def n_nodes(self) -> int:
        return self.sinc.shape[1]

    def pair_weights(self, q: np.ndarray, *, b_iso, radiation: Radiation, exclude=None,
                     factors: np.ndarray | None = None) -> np.ndarray:
        """c_p(Q) (P, nq) = 2 o_a o_b Re(f_a conj f_b) T_a T_b (0 for ``exclude``d element pairs);
        ``factors``: occupancy factors per type (``debye.occupancy_factors``)."""
        f, dw = type_factors(self.types, q, b_iso=b_iso, radiation=radiation)
        occ = self.occupancy if factors is None else self.occupancy * factors
        g = f * (occ[:, None] * dw)
        a, b = self.pairs[:, 0], self.pairs[:, 1]
        c = 2.0 * (g[a] * np.conj(g[b])).real
        skip = excluded_element_pairs(exclude)
        for p, (i, j) in enumerate(self.pairs):
            if frozenset({self.types[i].base_element, self.types[j].base_element}) in skip:
                c[p] = 0.0
        return c

    def intensity(
        self,
        weights: np.ndarray,
        q: np.ndarray,
        *,
        node_weights: np.ndarray | None = None,
        b_iso: Mapping[str, float] | float | None = None,
        radiation: Radiation | str | None = None,
        expansion: float = 0.0,
        exclude=None,
        occupancy: Mapping[str, float] | None = None,
    ) -> np.ndarray:
        """Population I(Q) (electrons^2 per crystal, number-weighted) at ``q`` (1/Å).

        ``radiation`` as in ``debye_intensity`` (None: X-rays without anomalous terms);
        ``exclude``: element pairs whose distance terms are left out (self terms stay);
        ``occupancy``: occupancy factors by group or element (a change costs what a change of B
        costs)."""
        rad = as_radiation(radiation)
        w = np.ascontiguousarray(weights, dtype=np.float64)
        if w.shape != (self.n_sizes,):
            raise NanotwinError(f"need {self.n_sizes} size weights, got {w.shape}")
        lw = np.ones(1) if node_weights is None else np.ascontiguousarray(node_weights, dtype=np.float64)
        if lw.shape != (self.n_nodes,):
            raise NanotwinError(f"need {self.n_nodes} twin-density weights, got {lw.shape}")
        q = np.asarray(q, dtype=np.float64)
        scale = 1.0 + float(expansion)
        qs = q * scale
        if qs.min() < self.q_fine[0] - 1e-12 or qs.max() > self.q_fine[-1] + 1e-12:
            raise NanotwinError(
                f"Q {qs.min():.4f}-{qs.max():.4f} 1/Å (with expansion) is outside the database "
                f"range {self.q_fine[0]:.4f}-{self.q_fine[-1]:.4f} 1/Å"
            )
        b_key = tuple(sorted(b_iso.items())) if isinstance(b_iso, Mapping) else b_iso
        rad_key = repr(rad)
        ex_key = tuple(sorted(tuple(sorted(x)) for x in excluded_element_pairs(exclude)))
        factors = occupancy_factors(self.types, occupancy)
        state = (b_key, rad_key, ex_key, float(expansion), lw.tobytes(), factors.tobytes())
        w_key = w.tobytes()
        if self._v is not None and self._v[0] == w_key:
            c = self.pair_weights(self.q_fine / scale, b_iso=b_iso, radiation=rad, exclude=exclude,
                                  factors=factors)
            g = np.einsum("k,kpj,pj->j", lw, self._v[1], c)
        elif self._z is not None and self._z[0] == state:
            g = w @ self._z[1]
        else:
            c = self.pair_weights(self.q_fine / scale, b_iso=b_iso, radiation=rad, exclude=exclude,
                                  factors=factors)
            v_part = np.zeros((REDUCTION_SLOTS, self.n_nodes, len(self.pairs), len(self.q_fine)))
            z = np.empty((self.n_sizes, len(self.q_fine)))
            call_parallel(_full_pass, self.sinc, w, lw, np.ascontiguousarray(c), v_part, z)
            self._v = (w_key, v_part.sum(axis=0))
            self._z = (state, z)
            g = w @ z
        self_key = (rad_key, q.tobytes())
        if self._self_f is None or self._self_f[0] != self_key:
            f, _ = type_factors(self.types, q, radiation=rad)
            self._self_f = (self_key, np.abs(f) ** 2)
        if self.spline_order == 3:
            spline = CubicSpline(self.q_fine, g)
        else:
            spline = make_interp_spline(self.q_fine, g, k=5)
        return ((w @ self.self_sums) * factors) @ self._self_f[1] + spline(qs)
