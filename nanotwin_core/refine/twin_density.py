"""A continuous twin density: ensemble size databases at Chebyshev nodes of 1/D, interpolated.

The ensemble pattern of a twinned crystal is a polynomial in the gap probabilities p_g = d_g / D
(``population/ensemble.py``): a smooth function of the twin density nu = 1/D (one shared domain
size D; every law keeps its ratio to it, D_law = r_law D). The database stores the sums of every
size at K Chebyshev points nu_k of [1/D_hi, 1/D_lo] and the pattern at any D in that interval is
the barycentric Lagrange interpolant sum_k L_k(1/D) I(nu_k): smooth, with smooth derivatives, so
the domain size is an ordinary least-squares parameter (``domain_nm``). A change of D re-weights
the K stored size-weighted sums only (``SumsEvaluator`` V cache): milliseconds.

Accuracy against the exact ensemble at 9 off-node domain sizes (a 9 x 10 nm CsPbBr3 prism, the
mixed three-law network, Q 0.5-6 1/Å; the twin effect itself is 1 % of max(I)): D in [0.75, 1.33]
x 3 nm: K = 4: 1.1e-5, K = 5: 1.3e-6, K = 6: 1.6e-7 of max(I); D in [1.5, 6] nm: K = 8: 3e-6.
Defaults: K = 5 on [0.75, 1.35] x the start size (``DEFAULT_NODES``, ``DEFAULT_RANGE``).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np

from nanotwin_core.builder.networks import domain_sizes_by_law
from nanotwin_core.builder.twin_laws import parse_twin_law
from nanotwin_core.errors import NanotwinError
from nanotwin_core.refine.fast_database import build_fast_database, ensemble_types, fast_q_grid
from nanotwin_core.refine.size_database import database_key, stored_fields, stored_sums
from nanotwin_core.refine.sums_evaluation import SumsEvaluator
from nanotwin_core.scattering.radiation import Radiation
from nanotwin_core.scattering.types import type_pairs

DEFAULT_NODES = 5
DEFAULT_RANGE = (0.75, 1.35)  # domain sizes the database covers, as factors of the start size
FORMAT = "nanotwin.TwinDensityDatabase/1"


def chebyshev_nodes(lo: float, hi: float, n: int) -> np.ndarray:
    """The n Chebyshev points of the first kind on [lo, hi], ascending."""
    k = np.arange(n)
    x = np.cos((2 * k + 1) * np.pi / (2 * n))[::-1]
    return 0.5 * (lo + hi) + 0.5 * (hi - lo) * x


def lagrange_weights(nodes: np.ndarray, x: float) -> np.ndarray:
    """Barycentric Lagrange weights L_k(x) of Chebyshev ``nodes`` (sum 1; exact at a node)."""
    nodes = np.asarray(nodes, dtype=float)
    n = len(nodes)
    k = np.arange(n)
    # weights of first-kind Chebyshev points (ascending order): (-1)^k sin((2k+1) pi / 2n), up to sign
    w = (-1.0) ** k * np.sin((2 * (n - 1 - k) + 1) * np.pi / (2 * n))
    d = float(x) - nodes
    hit = np.nonzero(d == 0.0)[0]
    if len(hit):
        out = np.zeros(n)
        out[hit[0]] = 1.0
        return out
    t = w / d
    return t / t.sum()


@dataclass
class TwinDensityDatabase:
    """Sums of every size at Chebyshev nodes of the twin density (module doc).

    ``sinc`` (n, K, P, nq) float32 on ``q_fine``; ``nu_nodes`` (K,) in 1/nm, ascending, the
    Chebyshev points of ``nu_interval`` (lo, hi) in 1/nm;
    ``ratios``: law -> D_law / D; ``domain_nm``: the current shared domain size (``update``);
    ``bounds_nm``: the interval covered. Other fields as ``SizeDatabase``.
    """

    shape: str
    counts: np.ndarray
    sizes_nm: np.ndarray
    types: list
    pairs: np.ndarray
    q_fine: np.ndarray
    sinc: np.ndarray
    self_sums: np.ndarray
    n_atoms: np.ndarray
    nu_nodes: np.ndarray
    nu_interval: np.ndarray
    ratios: dict[str, float]
    domain_nm: float
    seconds: float = 0.0
    info: dict = field(default_factory=dict)

    @property
    def n_sizes(self) -> int:
        return len(self.counts)

    @property
    def nbytes(self) -> int:
        return int(self.sinc.nbytes + self.self_sums.nbytes)

    @property
    def bounds_nm(self) -> tuple[float, float]:
        """(smallest, largest) shared domain size (nm) the nodes cover."""
        return 1.0 / float(self.nu_interval[1]), 1.0 / float(self.nu_interval[0])

    def domain_sizes(self, domain_nm: float | None = None) -> dict[str, float]:
        """Domain size (nm) of every law at a shared size (the current one by default)."""
        d = self.domain_nm if domain_nm is None else float(domain_nm)
        return {law: r * d for law, r in self.ratios.items()}

    def node_weights(self, domain_nm: float | None = None) -> np.ndarray:
        """Interpolation weights of the nodes at a shared domain size (NanotwinError outside)."""
        d = self.domain_nm if domain_nm is None else float(domain_nm)
        lo, hi = self.bounds_nm
        if not lo * (1 - 1e-9) <= d <= hi * (1 + 1e-9):
            raise NanotwinError(f"domain size {d:.4g} nm is outside {lo:.4g}-{hi:.4g} nm, the range this "
                                "twin-density database covers")
        return lagrange_weights(self.nu_nodes, 1.0 / d)

    def update(self, values: Mapping[str, float]) -> None:
        """Take the shared domain size from fit parameters (``domain_nm``)."""
        if "domain_nm" in values:
            self.domain_nm = float(values["domain_nm"])

    def weighted_sums(self, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(S (P, nq), self sums (T,)) at the current domain size for size number fractions."""
        w = np.asarray(weights, dtype=float)
        lw = self.node_weights()
        s = np.einsum("n,k,nkpj->pj", w, lw, self.sinc, optimize=True)
        return s, w @ self.self_sums

    def intensity(self, weights: np.ndarray, q: np.ndarray, *, b_iso: Mapping[str, float] | None = None,
                  radiation: Radiation | str | None = None, expansion: float = 0.0,
                  exclude=None, occupancy: Mapping[str, float] | None = None) -> np.ndarray:
        """Population I(Q) (electrons^2 per crystal, number-weighted) at ``q`` (1/Å) at the current
        domain size (``SumsEvaluator``: a change of the domain size alone costs milliseconds);
        ``occupancy``: factors per group or element."""
        source, evaluator = self.__dict__.get("_evaluator", (None, None))
        if source is not self.sinc:
            evaluator = SumsEvaluator(self.sinc, self.q_fine, self.types, self.pairs, self.self_sums,
                                      spline_order=int(self.info.get("spline_order", 5)))
            self.__dict__["_evaluator"] = (self.sinc, evaluator)
        return evaluator.intensity(weights, q, node_weights=self.node_weights(), b_iso=b_iso,
                                   radiation=radiation, expansion=expansion, exclude=exclude,
                                   occupancy=occupancy)

    # ------------------------------------------------------------------ storage
    def to_arrays(self) -> tuple[dict[str, np.ndarray], dict]:
        """(plain numpy arrays, JSON-able metadata) for HDF5 projects; inverse: ``from_arrays``."""
        arrays, meta = stored_sums(self, FORMAT)
        arrays.update(nu_nodes=np.asarray(self.nu_nodes, float),
                      nu_interval=np.asarray(self.nu_interval, float))
        meta.update(ratios=[[law, float(r)] for law, r in self.ratios.items()],
                    domain_nm=float(self.domain_nm))
        return arrays, meta

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray], meta: Mapping) -> TwinDensityDatabase:
        """Rebuild from ``to_arrays`` output (a damaged entry raises NanotwinError)."""
        try:
            db = cls(**stored_fields(arrays, meta, FORMAT), nu_nodes=np.asarray(arrays["nu_nodes"], float),
                     nu_interval=np.asarray(arrays["nu_interval"], float),
                     ratios={str(k): float(v) for k, v in meta["ratios"]}, domain_nm=float(meta["domain_nm"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise NanotwinError(f"stored twin-density database is damaged: {exc}") from None
        n, k = db.n_sizes, len(db.nu_nodes)
        if db.sinc.shape != (n, k, len(db.pairs), len(db.q_fine)) or db.self_sums.shape != (n, len(db.types)):
            raise NanotwinError("stored twin-density database has inconsistent array shapes")
        return db


def twin_density_key(base_key: str, n_nodes: int, bounds_nm: tuple[float, float]) -> str:
    """The cache key of a twin-density database: the ensemble database's key plus its nodes."""
    doc = json.dumps([base_key, int(n_nodes), [round(float(b), 9) for b in bounds_nm], FORMAT])
    return hashlib.sha256(doc.encode()).hexdigest()[:24]


def build_twin_density_database(
    structure,
    shape: str,
    sizes: list[tuple[int, ...]],
    size_units_nm: tuple[float, ...],
    q_range: tuple[float, float],
    *,
    twins: tuple[str, ...],
    domain_size_nm: float | str | Mapping[str, float],
    coherent_element: str = "Pb",
    n_nodes: int = DEFAULT_NODES,
    domain_range: tuple[float, float] = DEFAULT_RANGE,
    progress: Callable[[float, str], None] | None = None,
    cancel: Callable[[], bool] | None = None,
) -> TwinDensityDatabase:
    """Ensemble databases of ``twins`` at ``n_nodes`` Chebyshev points of 1/D (module doc).

    The shared size D is the first law's domain size; ``domain_range`` (factors of its start
    value) sets the interval covered, e.g. (0.75, 1.35).
    """
    t0 = time.perf_counter()
    laws = [parse_twin_law(t).label for t in twins]
    if not laws:
        raise NanotwinError("a twin density needs twin laws")
    start = domain_sizes_by_law(domain_size_nm, laws)
    d0 = start[laws[0]]
    ratios = {law: start[law] / d0 for law in laws}
    lo_f, hi_f = (float(x) for x in domain_range)
    if not 0 < lo_f < 1 < hi_f:
        raise NanotwinError(f"twin-density range must hold the start size: factors lo < 1 < hi, "
                            f"got {domain_range}")
    if int(n_nodes) < 2:
        raise NanotwinError(f"a twin-density database needs at least 2 nodes, got {n_nodes}")
    interval = np.array([1.0 / (hi_f * d0), 1.0 / (lo_f * d0)])
    nu = chebyshev_nodes(interval[0], interval[1], int(n_nodes))
    q_fine, _ = fast_q_grid(structure, shape, sizes, size_units_nm, q_range, True, coherent_element)
    types = ensemble_types(structure, coherent_element)
    n_pairs = len(type_pairs(len(types))[0])
    sinc = np.empty((len(sizes), len(nu), n_pairs, len(q_fine)), dtype=np.float32)
    node_db = None
    for k, nu_k in enumerate(nu):
        def sub(f: float, text: str, _k: int = k) -> None:
            if progress is not None:
                progress((_k + f) / len(nu), f"twin density {_k + 1}/{len(nu)}: {text}")

        sizes_k = {law: r / nu_k for law, r in ratios.items()}
        node_db = build_fast_database(structure, shape, sizes, size_units_nm, q_range, twins=tuple(twins),
                                      domain_size_nm=sizes_k, coherent_element=coherent_element, progress=sub,
                                      cancel=cancel, out=sinc[:, k])
        if len(node_db.q_fine) != len(q_fine) or node_db.types != types:  # pragma: no cover
            raise NanotwinError("twin-density nodes disagree on the grid or the types (internal error)")
    assert node_db is not None
    info = dict(node_db.info)
    info.update(domain_size_nm=start, n_nodes=int(n_nodes), domain_range=[lo_f, hi_f], route="fast")
    return TwinDensityDatabase(
        shape=shape, counts=node_db.counts, sizes_nm=node_db.sizes_nm, types=types, pairs=node_db.pairs,
        q_fine=q_fine, sinc=sinc, self_sums=node_db.self_sums, n_atoms=node_db.n_atoms, nu_nodes=nu,
        nu_interval=interval, ratios=ratios, domain_nm=d0, seconds=time.perf_counter() - t0, info=info,
    )


def cached_twin_density_database(
    cache: dict | None,
    structure,
    shape: str,
    sizes: list[tuple[int, ...]],
    size_units_nm: tuple[float, ...],
    q_range: tuple[float, float],
    *,
    twins: tuple[str, ...],
    domain_size_nm: float | str | Mapping[str, float],
    coherent_element: str = "Pb",
    n_nodes: int = DEFAULT_NODES,
    domain_range: tuple[float, float] = DEFAULT_RANGE,
    progress: Callable[[float, str], None] | None = None,
    cancel: Callable[[], bool] | None = None,
) -> TwinDensityDatabase:
    """``build_twin_density_database``, or the one of ``cache`` built from the same inputs (its
    domain size set back to the start value)."""
    base = database_key(structure, shape, sizes, size_units_nm, q_range, twins=list(twins),
                        domain_size_nm=domain_size_nm, coherent_element=coherent_element, ensemble=True)
    key = twin_density_key(base, n_nodes, domain_range)
    if cache is not None and key in cache:
        db = cache[key]
        db.domain_nm = domain_sizes_by_law(domain_size_nm, [parse_twin_law(t).label for t in twins])[
            parse_twin_law(twins[0]).label]
        if progress is not None:
            progress(1.0, "twin-density database reused")
        return db
    db = build_twin_density_database(structure, shape, sizes, size_units_nm, q_range, twins=twins,
                                     domain_size_nm=domain_size_nm, coherent_element=coherent_element,
                                     n_nodes=n_nodes, domain_range=domain_range, progress=progress,
                                     cancel=cancel)
    db.info["key"] = key
    if cache is not None:
        cache[key] = db
    return db


def model_twin_density_database(model, settings, cache: dict | None, structure, sizes, size_units_nm,
                                q_range: tuple[float, float], *, progress=None,
                                cancel=None) -> TwinDensityDatabase:
    """The twin-density database of a fit's ``--refine twin_density`` (``Model`` and
    ``FitSettings``: one twinned population, its start domain size, the nodes and range)."""
    refine = set(settings.refine)
    if model.components or refine & {"cell", "tilt"}:
        raise NanotwinError("refine twin_density: one twinned population (no mixture components, no cell "
                            "or tilt refinement); mixtures of twin states use --refine twin")
    if not model.twins or model.domain_size_nm is None or model.boundaries is not None:
        raise NanotwinError("refine twin_density needs twin laws and a start domain size (--domain-size), "
                            "not a number of boundaries")
    return cached_twin_density_database(
        cache, structure, model.shape, sizes, size_units_nm, q_range, twins=tuple(model.twins),
        domain_size_nm=model.domain_size_nm, coherent_element=model.coherent_element,
        n_nodes=settings.twin_density_nodes, domain_range=tuple(settings.twin_density_range),
        progress=progress, cancel=cancel)


def grown_domain_size(model, database, params, domain_range: tuple[float, float] = DEFAULT_RANGE
                      ) -> tuple[float | dict[str, float], str] | None:
    """The start domain size of ``model`` moved past the limit of the twin-density box where a fit
    left ``domain_nm`` (None when it did not end at a limit), with one line saying so.

    The box covers ``domain_range`` (lo, hi) x the start size (``FitSettings.twin_density_range``);
    the new start puts the old limit at the far end of the new box (start = limit x lo at the lower
    limit, limit x hi at the upper one), so the two boxes overlap there. Every law keeps its ratio
    to the shared size."""
    if not isinstance(database, TwinDensityDatabase) or "domain_nm" not in params:
        return None
    p = params["domain_nm"]
    if not p.is_free or not p.at_bound:
        return None
    old_start = database.bounds_nm[0] / domain_range[0]
    new_start = p.value * (domain_range[0] if p.at_bound == "min" else domain_range[1])
    scale = new_start / old_start
    old = model.domain_size_nm
    new = {law: v * scale for law, v in old.items()} if isinstance(old, dict) else float(old) * scale
    note = (f"the twin-domain box moved (domain_nm at its {p.at_bound} limit {p.value:.4g} nm): its "
            f"database was rebuilt around {new_start:.4g} nm and the fit repeated")
    return new, note
