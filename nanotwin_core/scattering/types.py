"""Atom types and pair histograms: the reusable output of the distance stage of the DSE.

A ``PairHistograms`` holds, per unordered pair of atom types (a <= b), the sampled number of
atom pairs n_ab(r_k) on the uniform grid r_k = k * r_step (k = 0, 1, ...), counting each
unordered pair {i != j} once and leaving out pairs inside one exclusion group. With
``sampling == "exact"`` it holds the distinct distances and their multiplicities instead.
Everything downstream (B, wavelength, Q grid, polarization, PDF) reuses it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from nanotwin_core.errors import NanotwinError
from nanotwin_core.scattering.sampling import spread_points
from nanotwin_core.structures.elements import element_of


@dataclass(frozen=True, order=True)
class AtomType:
    """A scattering type: element (or ion symbol), ADP group, occupancy (0..1]."""

    element: str
    adp_group: str
    occupancy: float

    @property
    def base_element(self) -> str:
        """The element part of ``element`` ('Br1-' -> 'Br')."""
        return element_of(self.element)


def type_pairs(n_types: int) -> tuple[np.ndarray, np.ndarray]:
    """(pairs (P, 2) with a <= b in row-major order, pidx (T, T) symmetric pair index)."""
    pairs = [(a, b) for a in range(n_types) for b in range(a, n_types)]
    pidx = np.zeros((n_types, n_types), dtype=np.int64)
    for p, (a, b) in enumerate(pairs):
        pidx[a, b] = pidx[b, a] = p
    return np.array(pairs, dtype=np.int64).reshape(-1, 2), pidx


@dataclass
class PairHistograms:
    """Per type-pair distance histograms of one crystal (or a weighted sum of several).

    Attributes
    ----------
    types : list of AtomType (T).
    type_counts : (T,) atoms per type (float: combined histograms carry weights).
    occupancy_sums : (T,) sum of occupancies per type.
    pairs : (P, 2) type indices a <= b of every histogram row.
    r_step : grid step in Å; grid r_k = k * r_step.
    counts : (P, M) sampled pair counts, or None when ``sampling == "exact"``.
    exact_r, exact_w : per pair, distinct distances (Å) and multiplicities (exact mode only).
    n_pairs : total number of unordered pairs counted (weighted).
    r_max : largest pair distance in Å (sampled histograms: to within one r_step).
    sampling : "quadratic", "linear", "nearest" or "exact".
    meta : JSON-able notes (route, timing, ...).
    cache : what the engine derives from the histograms and keeps with them (distance sums per
        Q grid, splines, the lattice pair table); never stored, never compared.
    """

    types: list[AtomType]
    type_counts: np.ndarray
    occupancy_sums: np.ndarray
    pairs: np.ndarray
    r_step: float
    counts: np.ndarray | None
    n_pairs: float
    r_max: float
    sampling: str = "quadratic"
    exact_r: list[np.ndarray] | None = None
    exact_w: list[np.ndarray] | None = None
    meta: dict = field(default_factory=dict)
    cache: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def n_types(self) -> int:
        return len(self.types)

    @property
    def is_exact(self) -> bool:
        return self.counts is None

    @property
    def r(self) -> np.ndarray:
        """The r grid (Å) of ``counts``."""
        if self.counts is None:
            raise NanotwinError("exact-mode histograms have no r grid")
        return np.arange(self.counts.shape[1]) * self.r_step

    @property
    def pair_table(self):
        """The ``LatticePairTable`` behind lattice-route histograms (None otherwise); pass it to
        ``rehistogram`` for a new cell or new content offsets without recounting."""
        return self.cache.get("table")

    @property
    def n_atoms(self) -> float:
        return float(np.sum(self.type_counts))

    def pair_index(self, a: int, b: int) -> int:
        """Row of the unordered type pair (a, b)."""
        a, b = min(a, b), max(a, b)
        hit = np.nonzero((self.pairs[:, 0] == a) & (self.pairs[:, 1] == b))[0]
        return int(hit[0])

    def pair_total(self) -> np.ndarray:
        """(P,) total weight per pair row (= number of pairs)."""
        if self.counts is not None:
            return self.counts.sum(axis=1)
        return np.array([w.sum() for w in self.exact_w])

    # ------------------------------------------------------------------ transforms
    def scaled(self, factor: float) -> PairHistograms:
        """Every distance multiplied by ``factor`` (exact: only the grid step changes)."""
        if not factor > 0:
            raise NanotwinError(f"distance scale factor must be > 0, got {factor}")
        out = self._copy()
        out.r_step = self.r_step * factor
        out.r_max = self.r_max * factor
        if out.exact_r is not None:
            out.exact_r = [r * factor for r in self.exact_r]
        return out

    def expansion(self, e: float) -> PairHistograms:
        """Uniform isotropic expansion: every r times (1 + e)."""
        return self.scaled(1.0 + e)

    def _copy(self) -> PairHistograms:
        return PairHistograms(
            types=list(self.types),
            type_counts=self.type_counts.copy(),
            occupancy_sums=self.occupancy_sums.copy(),
            pairs=self.pairs.copy(),
            r_step=self.r_step,
            counts=None if self.counts is None else self.counts.copy(),
            n_pairs=self.n_pairs,
            r_max=self.r_max,
            sampling=self.sampling,
            exact_r=None if self.exact_r is None else [r.copy() for r in self.exact_r],
            exact_w=None if self.exact_w is None else [w.copy() for w in self.exact_w],
            meta=dict(self.meta),
        )

    # ------------------------------------------------------------------ combine
    @staticmethod
    def combine(items: list[tuple[float, PairHistograms]]) -> PairHistograms:
        """Weighted sum of histograms (e.g. over seeds or sizes): sum_i w_i * hist_i.

        Types are merged by value. Sampled histograms must share ``r_step`` (those on another
        step are re-sampled onto the first one's grid with the quadratic scheme, adding a small
        sampling error); exact ones are concatenated. Mixing exact and sampled samples the exact
        ones onto the grid.
        """
        items = [(float(w), h) for w, h in items]
        if not items:
            raise NanotwinError("combine needs at least one histogram")
        types = sorted({t for _, h in items for t in h.types})
        t_index = {t: i for i, t in enumerate(types)}
        pairs, pidx = type_pairs(len(types))
        n_p = len(pairs)
        tc = np.zeros(len(types))
        osum = np.zeros(len(types))
        for w, h in items:
            for i, t in enumerate(h.types):
                tc[t_index[t]] += w * h.type_counts[i]
                osum[t_index[t]] += w * h.occupancy_sums[i]
        n_pairs = sum(w * h.n_pairs for w, h in items)
        r_max = max(h.r_max for _, h in items)
        sampled = [h for _, h in items if h.counts is not None]
        if not sampled:
            er: list[list[np.ndarray]] = [[] for _ in range(n_p)]
            ew: list[list[np.ndarray]] = [[] for _ in range(n_p)]
            for w, h in items:
                for p, (a, b) in enumerate(h.pairs):
                    q = pidx[t_index[h.types[a]], t_index[h.types[b]]]
                    er[q].append(h.exact_r[p])
                    ew[q].append(w * h.exact_w[p])
            return PairHistograms(
                types=types,
                type_counts=tc,
                occupancy_sums=osum,
                pairs=pairs,
                r_step=items[0][1].r_step,
                counts=None,
                n_pairs=n_pairs,
                r_max=r_max,
                sampling="exact",
                exact_r=[np.concatenate(x) if x else np.zeros(0) for x in er],
                exact_w=[np.concatenate(x) if x else np.zeros(0) for x in ew],
                meta={"combined": len(items)},
            )
        step = sampled[0].r_step
        scheme = sampled[0].sampling
        n_bins = int(np.ceil(r_max / step)) + 4
        counts = np.zeros((n_p, n_bins))
        for w, h in items:
            for p, (a, b) in enumerate(h.pairs):
                q = pidx[t_index[h.types[a]], t_index[h.types[b]]]
                if h.counts is not None and abs(h.r_step - step) <= 1e-12 * step:
                    row = h.counts[p]
                    counts[q, : len(row)] += w * row
                else:
                    if h.counts is not None:
                        nz = np.nonzero(h.counts[p])[0]
                        x, wt = nz * h.r_step / step, h.counts[p, nz]
                    else:
                        x, wt = h.exact_r[p] / step, h.exact_w[p]
                    counts[q] += w * spread_points(x, wt, n_bins, "quadratic")
        return PairHistograms(
            types=types,
            type_counts=tc,
            occupancy_sums=osum,
            pairs=pairs,
            r_step=step,
            counts=counts,
            n_pairs=n_pairs,
            r_max=r_max,
            sampling=scheme,
            meta={"combined": len(items)},
        )

    # ------------------------------------------------------------------ storage
    def to_arrays(self) -> tuple[dict[str, np.ndarray], dict]:
        """(plain numpy arrays, JSON-able metadata) for HDF5 projects; inverse: ``from_arrays``."""
        arrays = {
            "type_counts": np.asarray(self.type_counts, dtype=np.float64),
            "occupancy_sums": np.asarray(self.occupancy_sums, dtype=np.float64),
            "pairs": np.asarray(self.pairs, dtype=np.int64),
        }
        if self.counts is not None:
            arrays["counts"] = np.asarray(self.counts, dtype=np.float64)
        else:
            lens = np.array([len(r) for r in self.exact_r], dtype=np.int64)
            arrays["exact_offsets"] = np.concatenate([[0], np.cumsum(lens)]).astype(np.int64)
            arrays["exact_r"] = np.concatenate(self.exact_r) if len(lens) else np.zeros(0)
            arrays["exact_w"] = np.concatenate(self.exact_w) if len(lens) else np.zeros(0)
        meta = {
            "format": "nanotwin.PairHistograms/1",
            "types": [[t.element, t.adp_group, float(t.occupancy)] for t in self.types],
            "r_step": float(self.r_step),
            "n_pairs": float(self.n_pairs),
            "r_max": float(self.r_max),
            "sampling": self.sampling,
            "meta": self.meta,
        }
        return arrays, meta

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], meta: dict) -> PairHistograms:
        """Rebuild from ``to_arrays`` output."""
        types = [AtomType(str(e), str(g), float(o)) for e, g, o in meta["types"]]
        exact_r = exact_w = None
        counts = None
        if "counts" in arrays:
            counts = np.asarray(arrays["counts"], dtype=np.float64)
        else:
            off = np.asarray(arrays["exact_offsets"])
            r_all = np.asarray(arrays["exact_r"], dtype=np.float64)
            w_all = np.asarray(arrays["exact_w"], dtype=np.float64)
            exact_r = [r_all[off[i] : off[i + 1]] for i in range(len(off) - 1)]
            exact_w = [w_all[off[i] : off[i + 1]] for i in range(len(off) - 1)]
        return cls(
            types=types,
            type_counts=np.asarray(arrays["type_counts"], dtype=np.float64),
            occupancy_sums=np.asarray(arrays["occupancy_sums"], dtype=np.float64),
            pairs=np.asarray(arrays["pairs"], dtype=np.int64).reshape(-1, 2),
            r_step=float(meta["r_step"]),
            counts=counts,
            n_pairs=float(meta["n_pairs"]),
            r_max=float(meta["r_max"]),
            sampling=str(meta["sampling"]),
            exact_r=exact_r,
            exact_w=exact_w,
            meta=dict(meta.get("meta", {})),
        )


def assign_types(elements, adp_groups, occupancy) -> tuple[list[AtomType], np.ndarray]:
    """Sorted distinct AtomTypes and the type index of every atom."""
    el = np.asarray(elements).astype(str)
    gr = np.asarray(adp_groups).astype(str)
    oc = np.asarray(occupancy, dtype=np.float64)
    if len(el) == 0:
        return [], np.zeros(0, dtype=np.int64)
    _, first, inverse = np.unique(
        np.char.add(np.char.add(el, "\x00"), np.char.add(gr, "\x00")) if len(el) else el,
        return_index=True,
        return_inverse=True,
    )
    # combine the (element, group) key with the occupancy value
    key2 = inverse.astype(np.float64) * 4.0 + oc  # occupancy is in [0, 1]
    uk, first2, inv2 = np.unique(key2, return_index=True, return_inverse=True)
    cand = [AtomType(str(el[i]), str(gr[i]), float(oc[i])) for i in first2]
    order = sorted(range(len(cand)), key=lambda i: cand[i])
    rank = np.empty(len(cand), dtype=np.int64)
    rank[order] = np.arange(len(cand))
    return [cand[i] for i in order], rank[inv2.reshape(-1)]
