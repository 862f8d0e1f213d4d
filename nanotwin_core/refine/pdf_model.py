"""The PDF model: G(r) of a crystal, a size ladder or a twin-density ladder for any parameters.

Conventions (pair Gaussians of the Debye form, peak widths, weights, envelopes, termination):
``pdf_fit`` module doc; the terms and kernels: ``pdf_terms``; twin-network members:
``pdf_twins``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
from scipy.interpolate import make_interp_spline

from nanotwin_core.builder import build_crystal
from nanotwin_core.builder.ownership import find_ownership
from nanotwin_core.crystal import Crystal
from nanotwin_core.errors import NanotwinError
from nanotwin_core.refine.pdf_terms import (
    WEIGHTINGS,
    PairTerms,
    dst_q,
    from_sine_transform,
    gaussian_sum,
    pair_q_weights,
    pair_terms,
    sphere_envelope,
    terminate,
    terminate_weighted,
)
from nanotwin_core.refine.twin_density import lagrange_weights
from nanotwin_core.scattering import compute_histograms, sinc_sums
from nanotwin_core.scattering.types import PairHistograms
from nanotwin_core.structures.library import get_structure

_U_PER_B = 1.0 / (8.0 * math.pi**2)


@dataclass
class SizeMember:
    """One crystal of a size ladder: realised diameter (nm) and its pair histograms; for a twin
    network's ensemble at one node of the twin density, its shared domain size (nm)."""

    size_nm: float
    hist: PairHistograms
    n_atoms: int = 0
    domain_nm: float | None = None


class PDFModel:
    """G(r) of one crystal (or a ladder of sizes) for any set of PDF parameters.

    Parameters
    ----------
    members : one or more ``SizeMember`` (sorted by size); with several, the parameter ``D_nm``
        interpolates linearly (atom-weighted mixture of the two neighbouring sizes). Members with
        a ``domain_nm`` are nodes of the twin density instead: ``domain_nm`` interpolates them.
    qmin, qmax : the termination window of the data, 1/Å.
    rstep : internal r step in Å [0.01]; the output is interpolated where the data grid differs.
    radiation : a Radiation or "xray" / "neutron" (scattering factors).
    weights : "fq" (Faber-Ziman, as ``simulate --pdf``) or "constant" (PDFgui), module doc.
    baseline : subtract each crystal's small-angle baseline 4 pi rho0 r gamma0(r) (``pdf_fit``
        module doc), as measured G(r) need (data fits: ``actions.pdf_model_of``) [False: the pure
        Debye G(r), whose small-angle scattering only the termination at Qmin removes].
    ladder : ``ladder(size_nm) -> members`` builds a ladder around another size: a fit whose
        ``D_nm`` ends at an end of the ladder moves it there (``fit_pdf``, at most
        ``MAX_LADDER_MOVES`` times).
    """

    def __init__(
        self,
        members: Sequence[SizeMember],
        *,
        qmin: float = 0.0,
        qmax: float = 25.0,
        rstep: float = 0.01,
        radiation=None,
        weights: str = "fq",
        baseline: bool = False,
        ladder: Callable[[float], Sequence[SizeMember]] | None = None,
    ) -> None:
        if not members:
            raise NanotwinError("a PDF model needs at least one crystal")
        if not qmax > max(qmin, 0.0):
            raise NanotwinError(f"qmax must exceed qmin (got {qmin}, {qmax}) 1/Å")
        if not rstep > 0:
            raise NanotwinError("rstep must be > 0 Å")
        if weights not in WEIGHTINGS:
            raise NanotwinError(f"PDF weights must be one of {', '.join(WEIGHTINGS)}, got {weights!r}")
        twinned = [m.domain_nm is not None for m in members]
        if any(twinned) and not all(twinned):
            raise NanotwinError("a PDF model mixes size members and twin-density members")
        self.domain_nodes = None
        self.domain_start: float | None = None  # start of domain_nm (the middle of the nodes by default)
        if all(twinned) and len(members) > 1:
            self.members = sorted(members, key=lambda m: 1.0 / m.domain_nm)
            self.domain_nodes = np.array([1.0 / m.domain_nm for m in self.members])
            self.domain_start = 1.0 / float(self.domain_nodes.mean())
        else:
            self.members = sorted(members, key=lambda m: m.size_nm)
        self.qmin = float(max(qmin, 0.0))
        self.qmax = float(qmax)
        self.rstep = float(rstep)
        self.weights = weights
        self.radiation = radiation
        self.baseline = bool(baseline)
        self.ladder = ladder
        self.terms = [pair_terms(m.hist, radiation, with_factors=weights == "constant") for m in self.members]
        self._union = self._union_of_terms() if self.domain_nodes is not None else None
        if weights == "fq":
            self._index_partials()
        groups: list[str] = []
        for t in self.terms:
            for g in t.groups:
                if g not in groups:
                    groups.append(g)
        self.adp_groups = groups
        self.group_elements = {g: el for t in self.terms for g, el in zip(t.groups, t.elements, strict=True)}

    @property
    def sizes_nm(self) -> list[float]:
        """Realised diameters (nm) of the ladder."""
        return [m.size_nm for m in self.members]

    def _b_of(self, group: str, values: Mapping[str, float]) -> float:
        for key in (f"B_{group}", f"B_{self.group_elements.get(group, group)}"):
            if key in values:
                return float(values[key])
        return 0.0

    def _union_of_terms(self) -> tuple[PairTerms, np.ndarray] | None:
        """Twin-density members share types and distance bins: (every bin of any member, the
        members' amplitudes on them (K, U)), so a mixture is one Gaussian sum; None otherwise."""
        first = self.terms[0]
        steps = {m.hist.r_step for m in self.members}
        if len(steps) != 1 or not next(iter(steps)) > 0 or any(t.types != first.types for t in self.terms):
            return None
        step = next(iter(steps))
        keys = np.concatenate([t.pair * 2**40 + np.rint(t.d0 / step).astype(np.int64) for t in self.terms])
        uniq, first_at, inverse = np.unique(keys, return_index=True, return_inverse=True)
        cat = {name: np.concatenate([getattr(t, name) for t in self.terms])
               for name in ("d0", "ta", "tb", "pair")}
        amps = np.zeros((len(self.terms), len(uniq)))
        start = 0
        for k, t in enumerate(self.terms):
            amps[k, inverse[start:start + len(t.d0)]] = t.amp
            start += len(t.d0)
        union = replace(first, amp=np.zeros(len(uniq)), **{name: v[first_at] for name, v in cat.items()})
        return union, amps

    def _index_partials(self) -> None:
        """Global type pairs of every member's terms (for the Q weights of each partial); the last
        entry of ``_partial_of`` is the union's when there is one."""
        keys: dict[tuple, int] = {}
        self._partial_of: list[np.ndarray] = []
        for t in self.terms + ([self._union[0]] if self._union is not None else []):
            pairs = [(t.types[a], t.types[b]) for a, b in zip(t.ta, t.tb, strict=True)]
            self._partial_of.append(np.array([keys.setdefault(tuple(sorted(p)), len(keys)) for p in pairs],
                                             dtype=np.int64))
        self._pair_partial = [np.array([keys.setdefault(tuple(sorted((t.types[a], t.types[b]))), len(keys))
                                        for a, b in m.hist.pairs], dtype=np.int64)
                              for t, m in zip(self.terms, self.members, strict=True)]
        types = sorted({x for k in keys for x in k})
        index = {x: i for i, x in enumerate(types)}
        first = self.terms[0]
        occ = dict.fromkeys(types, 0.0)
        for x, o in zip(first.types, first.occupancy_sums, strict=True):
            occ[x] += float(o)  # composition of the first member (every ensemble node shares it)
        self._partial_types = (types, np.array([occ[x] for x in types]),
                               [(index[a], index[b]) for a, b in sorted(keys, key=keys.get)])
        self._q_weights: dict[int, np.ndarray] = {}

    def _partial_weights(self, n_grid: int) -> np.ndarray:
        if n_grid not in self._q_weights:
            types, occ, pairs = self._partial_types
            self._q_weights[n_grid] = pair_q_weights(types, occ, pairs, dst_q(n_grid, self.rstep),
                                                     self.radiation)
        return self._q_weights[n_grid]

    def _sigma(self, terms: PairTerms, values: Mapping[str, float]) -> tuple[np.ndarray, np.ndarray]:
        e = float(values.get("expansion", 0.0))
        if not 1.0 + e > 0:
            raise NanotwinError(f"expansion must be > -1, got {e}")
        d = terms.d0 * (1.0 + e)
        u = np.array([self._b_of(g, values) for g in terms.groups]) * _U_PER_B
        u_pair = u[terms.ta] + u[terms.tb]
        corr = (
            1.0
            - float(values.get("delta1", 0.0)) / d
            - float(values.get("delta2", 0.0)) / d**2
            + (float(values.get("qbroad", 0.0)) * d) ** 2
        )
        s2 = u_pair * corr
        return d, np.where(corr > 0, np.sqrt(np.maximum(s2, self.rstep**2)), 0.0)

    def _g0(self, terms: PairTerms, values: Mapping[str, float], n_grid: int) -> np.ndarray:
        d, sigma = self._sigma(terms, values)
        return gaussian_sum(d, terms.amp, sigma, self.rstep, n_grid)

    def _partials(self, terms: PairTerms, which: np.ndarray, values: Mapping[str, float], n_grid: int,
                  out: np.ndarray, w: float) -> None:
        d, sigma = self._sigma(terms, values)
        for p in np.unique(which):
            sel = which == p
            out[p] += w * gaussian_sum(d[sel], terms.amp[sel], sigma[sel], self.rstep, n_grid)

    def _components(self, values: Mapping[str, float]) -> list[tuple[float, PairTerms, int]]:
        """(weight, terms, index into ``_partial_of``) of the mixture at ``values``."""
        weights = self._weights(values)
        if self._union is not None:
            union, amps = self._union
            amp = sum(w * amps[i] for w, i in weights)
            return [(1.0, replace(union, amp=amp), len(self.terms))]
        return [(w, self.terms[i], i) for w, i in weights if w]

    def _weights(self, values: Mapping[str, float]) -> list[tuple[float, int]]:
        if len(self.members) == 1:
            return [(1.0, 0)]
        if self.domain_nodes is not None:
            lo, hi = 1.0 / self.domain_nodes[-1], 1.0 / self.domain_nodes[0]
            dn = float(values.get("domain_nm", 1.0 / self.domain_nodes.mean()))
            if not lo * (1 - 1e-9) <= dn <= hi * (1 + 1e-9):
                raise NanotwinError(f"domain size {dn:.4g} nm is outside {lo:.4g}-{hi:.4g} nm, the range of "
                                    "this twin-density model")
            return list(zip(lagrange_weights(self.domain_nodes, 1.0 / dn), range(len(self.members)),
                            strict=True))
        sizes = self.sizes_nm
        dn = float(values.get("D_nm", sizes[0]))
        if dn <= sizes[0]:
            return [(1.0, 0)]
        if dn >= sizes[-1]:
            return [(1.0, len(sizes) - 1)]
        i = int(np.searchsorted(sizes, dn) - 1)
        t = (dn - sizes[i]) / (sizes[i + 1] - sizes[i])
        return [(1.0 - t, i), (t, i + 1)]

    def grid_size(self, r_top: float, values: Mapping[str, float]) -> int:
        """Number of internal grid points for output up to r_top (Å): 4x the support, power of 2."""
        e = max(float(values.get("expansion", 0.0)), 0.0)
        ripples = 6 * 2.0 * math.pi / self.qmax
        support = max(max(t.r_max for t in self.terms) * (1.0 + e) + 3.0, r_top + ripples)
        n = int(math.ceil(4.0 * support / self.rstep))
        return 1 << max(10, (n - 1).bit_length())

    def _sine_coefficients(self, values: Mapping[str, float], n_grid: int) -> np.ndarray:
        """The DST-I coefficients of G0 on ``dst_q`` up to Qmax, in Q space: a pair at d of width
        sigma^2 = U_a + U_b transforms to (2 / rstep) (amp / d) sin(Q d) exp(-Q^2 sigma^2 / 2), so
        each type pair is (2 / rstep) Q c_p T_a T_b S_p(Q (1 + e)) (S_p: the histograms' sinc sums)
        times its Q weights; zero above Qmax (cut by the window anyway)."""
        q_all = dst_q(n_grid, self.rstep)
        top = min(len(q_all), int(np.searchsorted(q_all, self.qmax)) + 2)
        q = q_all[:top]
        e = float(values.get("expansion", 0.0))
        wq = self._partial_weights(n_grid)[:, :top] if self.weights == "fq" else None
        y = np.zeros(len(q_all))
        for w, i in self._weights(values):
            if not w:
                continue
            t, hist = self.terms[i], self.members[i].hist
            sums = sinc_sums(hist, q, expansion=e)
            u = np.array([self._b_of(g, values) for g in t.groups]) * _U_PER_B
            for p, (a, b) in enumerate(hist.pairs):
                if t.pair_coeff[p] == 0.0:
                    continue
                row = sums[p] - (hist.counts[p, 0] if hist.counts is not None else 0.0)  # no r = 0 pairs
                term = t.pair_coeff[p] * row * np.exp(-0.5 * q * q * (u[a] + u[b]))
                y[:top] += w * (term if wq is None else term * wq[self._pair_partial[i][p]])
        y[:top] *= 2.0 / self.rstep * q
        return y

    def g_internal(self, values: Mapping[str, float], r_top: float) -> tuple[np.ndarray, np.ndarray]:
        """(r, G) on the internal grid r_n = n rstep up to at least r_top (Å)."""
        n_grid = self.grid_size(r_top, values)
        r = np.arange(n_grid) * self.rstep
        sp = values.get("spdiameter")
        envelope = sphere_envelope(r, float(sp)) if sp is not None and float(sp) > 0 else 1.0
        widths = any(float(values.get(k, 0.0)) for k in ("delta1", "delta2", "qbroad"))
        if np.isscalar(envelope) and not widths:  # pair widths constant per type pair: in Q space
            g = from_sine_transform(self._sine_coefficients(values, n_grid), self.rstep, self.qmin, self.qmax)
        elif self.weights == "constant":
            g0 = np.zeros(n_grid)
            for w, terms, _ in self._components(values):
                g0 += w * self._g0(terms, values, n_grid)
            g = terminate(g0 * envelope, self.rstep, self.qmin, self.qmax)
        else:
            parts = np.zeros((len(self._partial_types[2]), n_grid))
            for w, terms, i in self._components(values):
                self._partials(terms, self._partial_of[i], values, n_grid, parts, w)
            g = terminate_weighted(parts * envelope, self._partial_weights(n_grid), self.rstep, self.qmin,
                                   self.qmax)
        if self.baseline:  # weight 1 at every Q (the partials' weights add up to 1): terminated alone
            e = float(values.get("expansion", 0.0))
            base = sum(w * self.terms[i].baseline(r, e) for w, i in self._weights(values) if w)
            g = g - terminate(base * envelope, self.rstep, self.qmin, self.qmax)
        qdamp = float(values.get("qdamp", 0.0))
        if qdamp:
            g *= np.exp(-0.5 * (qdamp * r) ** 2)
        return r, g

    def __call__(self, r: np.ndarray, values: Mapping[str, float]) -> np.ndarray:
        """G(r) (1/Å^2, unit scale) at the points r (Å)."""
        r = np.asarray(r, float)
        if r.size == 0:
            return np.zeros(0)
        if np.any(r < 0):
            raise NanotwinError("r must be >= 0 Å")
        rg, g = self.g_internal(values, float(r.max()))
        idx = r / self.rstep
        k = np.rint(idx).astype(np.int64)
        if np.all(np.abs(idx - k) < 1e-6):
            return g[k]
        hi = int(math.ceil(r.max() / self.rstep)) + 4
        lo = max(int(math.floor(r.min() / self.rstep)) - 4, 0)
        return make_interp_spline(rg[lo:hi], g[lo:hi], k=3)(r)


def sphere_ladder(
    structure,
    size_nm: float,
    *,
    window: float = 0.25,
    coherent_element: str | None = None,
    n_threads: int | None = None,
) -> list[SizeMember]:
    """Spheres of every distinct atom count with diameters within size_nm * (1 +- window) (nm)."""
    if isinstance(structure, str):
        structure = get_structure(structure)
    if not size_nm > 0 or not 0 <= window < 1:
        raise NanotwinError(f"need size_nm > 0 and 0 <= window < 1 (got {size_nm}, {window})")
    el = coherent_element or _default_coherent(structure)
    own = find_ownership(structure, el)
    bc = own.node_basis
    r_hi = size_nm * (1 + window) * 5.0  # Å
    span = np.ceil(r_hi * np.linalg.norm(np.linalg.inv(bc), axis=0)) + 1
    axes = [np.arange(-int(n), int(n) + 1) for n in span]
    nodes = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 3)
    radii = np.unique(np.round(np.linalg.norm(nodes @ bc, axis=1), 6))
    lo = size_nm * (1 - window) * 5.0
    shells = radii[(radii >= lo) & (radii <= r_hi)]
    if shells.size == 0:
        shells = radii[np.argmin(np.abs(radii - size_nm * 5.0))][None]
    seen: dict[int, SizeMember] = {}
    for rad in shells:
        c = build_crystal(structure, shape="sphere", size_nm=float(rad) / 5.0 + 1e-6, coherent_element=el)
        if c.n_atoms not in seen:
            seen[c.n_atoms] = SizeMember(float(c.info.get("D_eq_nm", rad / 5.0)),
                                         compute_histograms(c, n_threads=n_threads), c.n_atoms)
    return sorted(seen.values(), key=lambda m: m.size_nm)


def _default_coherent(structure) -> str:
    """The coherent element for spheres: Pb where present, else the heaviest cation-like element."""
    els = [s.element for s in structure.sites]
    if "Pb" in els:
        return "Pb"
    return els[0]


def model_from_crystal(
    crystal: Crystal, *, qmin: float, qmax: float, rstep: float = 0.01, radiation=None,
    weights: str = "fq", n_threads: int | None = None, baseline: bool = False,
) -> PDFModel:
    """A one-crystal PDFModel (histograms computed here; ``baseline`` as ``PDFModel``)."""
    hist = compute_histograms(crystal, n_threads=n_threads)
    size = float(crystal.info.get("D_eq_nm", crystal.info.get("size_nm", 0.0)) or 0.0)
    return PDFModel([SizeMember(size, hist, crystal.n_atoms)], qmin=qmin, qmax=qmax, rstep=rstep,
                    radiation=radiation, weights=weights, baseline=baseline)
