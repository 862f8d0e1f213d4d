"""Per-size Debye sums of a size population, computed once (DebUsSy's database idea).

For every crystal size of a grid the pair histograms are computed (lattice route, twinned
crystals averaged over their seeds) and turned into the sinc sums S_n,ab(Q) of every type pair on
one fine uniform Q grid. A population pattern for any size distribution, any B, any energy and
any small lattice expansion is then

    I(Q) = sum_a (sum_n w_n N_n,a o_a) |f_a|^2 + 2 sum_ab o_a o_b Re(f_a f_b*) T_a T_b S_ab(Q (1+e)),
    S_ab = sum_n w_n S_n,ab

with w_n the number fractions: size parameters only re-weight stored sums, B and energy only
change f and T, an expansion reads the weighted sums at scaled Q (cubic spline on the fine grid;
the grid step keeps Q_step x r_max <= 0.35 rad, an interpolation error below 1e-4).

With a fibre texture (``scattering/texture.py``) every size also stores its Legendre sums
S_n,l,ab(Q) (orders l of ``info["texture_orders"]`` about ``info["texture_axis"]``); a textured
pattern reads S_ab + sum_l c_l(r) S_l,ab, so a change of the ratio r only re-weights stored sums
(the twin-density node axis of ``SumsEvaluator`` with weights [1, c_l...]).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass, field

import numba
import numpy as np

from nanotwin_core.builder import build_crystal
from nanotwin_core.builder.shape_kinds import get_shape
from nanotwin_core.distributed import Mapper, SerialMapper
from nanotwin_core.errors import Cancelled, NanotwinError
from nanotwin_core.numba_setup import call_parallel
from nanotwin_core.population.ensemble import ensemble_histograms
from nanotwin_core.refine.sums_evaluation import SumsEvaluator
from nanotwin_core.scattering import PairHistograms, compute_histograms, sinc_sums
from nanotwin_core.scattering.radiation import Radiation
from nanotwin_core.scattering.texture import crystal_texture_sums, order_coefficients
from nanotwin_core.scattering.types import AtomType

PHASE_STEP = 0.35  # rad: fine-grid Q step x largest distance


@dataclass
class SizeDatabase:
    """Stored sinc sums of every size of a population grid.

    ``sizes_nm``: (n, 2) (D_ab, L_c) for prisms or (n, 1) D for spheres/cuboids; ``counts``: the
    integer size indices (n_ab, n_c) or (n,). ``sinc``: (n, P, nq) float32 on ``q_fine``;
    ``self_sums``: (n, T) occupancy sums per type; ``n_atoms``: (n,). ``texture``: None, or the
    Legendre sums (n, n_l, P, nq) float32 of the orders ``info["texture_orders"]`` about the
    plane normal ``info["texture_axis"]`` (module doc).
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
    seconds: float = 0.0
    info: dict = field(default_factory=dict)
    texture: np.ndarray | None = None

    @property
    def n_sizes(self) -> int:
        return len(self.counts)

    @property
    def nbytes(self) -> int:
        extra = 0 if self.texture is None else self.texture.nbytes
        return int(self.sinc.nbytes + self.self_sums.nbytes + extra)

    def weighted_sums(self, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(S (P, nq_fine), self sums (T,)) for number fractions ``weights`` (n_sizes,)."""
        w = np.asarray(weights, dtype=np.float64)
        if w.shape != (self.n_sizes,):
            raise NanotwinError(f"need {self.n_sizes} size weights, got {w.shape}")
        # accumulate in float64: the sums must be smooth in the weights (finite-difference
        # derivatives over the size parameters); float32 accumulation leaves ~1e-7 noise
        s = call_parallel(_weighted_sinc, self.sinc, np.flatnonzero(w).astype(np.int64), w)
        return s, w @ self.self_sums

    def intensity(
        self,
        weights: np.ndarray,
        q: np.ndarray,
        *,
        b_iso: Mapping[str, float] | None = None,
        radiation: Radiation | str | None = None,
        expansion: float = 0.0,
        exclude=None,
        occupancy: Mapping[str, float] | None = None,
        texture_ratio: float | None = None,
    ) -> np.ndarray:
        """Population I(Q) (electrons^2 per crystal, number-weighted) at ``q`` (1/Å).

        Evaluated by ``sums_evaluation.SumsEvaluator``: one spline of the pair-weighted sums, with
        caches that make a change of B (radiation, expansion) or of the size weights alone cheap.
        ``exclude`` leaves element pairs' distance terms out (self terms stay); ``occupancy``:
        factors per group or element (the stored sums are per type pair: only re-weighted).
        ``texture_ratio``: the March-Dollase r of the stored texture sums (None or 1: random).
        """
        node_weights = None
        if self.texture is not None:
            ratio = 1.0 if texture_ratio is None else float(texture_ratio)
            orders = np.asarray(self.info["texture_orders"], dtype=np.int64)
            node_weights = np.concatenate([[1.0], order_coefficients(ratio, orders)])
        elif texture_ratio is not None and texture_ratio != 1.0:
            raise NanotwinError("this size database was built without texture sums (build it with a texture)")
        source, evaluator = self.__dict__.get("_evaluator", (None, None))
        if source is not self.sinc:  # built on first use, again if the sums were replaced
            stored = self.sinc[:, None] if self.texture is None else np.concatenate(
                [self.sinc[:, None], self.texture], axis=1)
            evaluator = SumsEvaluator(stored, self.q_fine, self.types, self.pairs, self.self_sums,
                                      spline_order=int(self.info.get("spline_order", 3)))
            self.__dict__["_evaluator"] = (self.sinc, evaluator)
        return evaluator.intensity(weights, q, node_weights=node_weights, b_iso=b_iso, radiation=radiation,
                                   expansion=expansion, exclude=exclude, occupancy=occupancy)

    # ------------------------------------------------------------------ storage
    def to_arrays(self) -> tuple[dict[str, np.ndarray], dict]:
        """(plain numpy arrays, JSON-able metadata) for HDF5 projects; inverse: ``from_arrays``."""
        arrays, meta = stored_sums(self, "nanotwin.SizeDatabase/1")
        if self.texture is not None:
            arrays["texture"] = np.asarray(self.texture, np.float32)
        return arrays, meta

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray], meta: Mapping) -> SizeDatabase:
        """Rebuild from ``to_arrays`` output (checked: a damaged entry raises NanotwinError)."""
        try:
            db = cls(**stored_fields(arrays, meta, "nanotwin.SizeDatabase/1"),
                     texture=None if "texture" not in arrays else np.asarray(arrays["texture"], np.float32))
        except (KeyError, TypeError, ValueError) as exc:
            raise NanotwinError(f"stored size database is damaged: {exc}") from None
        n, n_t = db.n_sizes, len(db.types)
        bad_pairs = db.pairs.size and (db.pairs.min() < 0 or db.pairs.max() >= n_t)
        if (db.sinc.shape != (n, len(db.pairs), len(db.q_fine)) or db.self_sums.shape != (n, n_t)
                or db.n_atoms.shape != (n,) or bad_pairs):
            raise NanotwinError("stored size database has inconsistent array shapes")
        if db.texture is not None and (db.texture.shape != (n, len(db.info.get("texture_orders", [])),
                                                            len(db.pairs), len(db.q_fine))):
            raise NanotwinError("stored size database has inconsistent texture sums")
        return db


@numba.njit(nogil=True, parallel=True, cache=True)
def _weighted_sinc(sinc: np.ndarray, idx: np.ndarray, w: np.ndarray) -> np.ndarray:
    """sum_i w_i sinc[i] in float64, reading the float32 sums once (one pair per thread);
    the sizes are added in order, as a plain numpy loop would."""
    n_pairs, n_q = sinc.shape[1], sinc.shape[2]
    out = np.zeros((n_pairs, n_q))
    for p in numba.prange(n_pairs):
        for k in range(idx.size):
            i = idx[k]
            wi = w[i]
            for j in range(n_q):
                out[p, j] += wi * sinc[i, p, j]
    return out


def stored_sums(db, fmt: str) -> tuple[dict[str, np.ndarray], dict]:
    """The arrays and metadata every stored database has (sizes, types, pairs, fine Q grid, sinc
    sums in float32, self sums, atom counts; ``fmt`` its format name): ``to_arrays``' common part."""
    arrays = {"counts": np.asarray(db.counts, np.int64), "sizes_nm": np.asarray(db.sizes_nm, float),
              "pairs": np.asarray(db.pairs, np.int64), "q_fine": np.asarray(db.q_fine, float),
              "sinc": np.asarray(db.sinc, np.float32), "self_sums": np.asarray(db.self_sums, float),
              "n_atoms": np.asarray(db.n_atoms, float)}
    meta = {"format": fmt, "shape": db.shape, "seconds": float(db.seconds),
            "types": [[t.element, t.adp_group, float(t.occupancy)] for t in db.types],
            "info": _jsonable(db.info)}
    return arrays, meta


def stored_fields(arrays: Mapping[str, np.ndarray], meta: Mapping, fmt: str) -> dict:
    """The constructor fields of ``stored_sums``' part (KeyError, TypeError or ValueError where the
    entry is damaged or of another format than ``fmt``)."""
    if meta.get("format") != fmt:
        raise ValueError(f"unknown format {meta.get('format')!r}")
    return {"shape": str(meta["shape"]), "counts": np.asarray(arrays["counts"], np.int64),
            "sizes_nm": np.asarray(arrays["sizes_nm"], float),
            "types": [AtomType(str(e), str(g), float(o)) for e, g, o in meta["types"]],
            "pairs": np.asarray(arrays["pairs"], np.int64), "q_fine": np.asarray(arrays["q_fine"], float),
            "sinc": np.asarray(arrays["sinc"], np.float32),
            "self_sums": np.asarray(arrays["self_sums"], float),
            "n_atoms": np.asarray(arrays["n_atoms"], float), "seconds": float(meta.get("seconds", 0.0)),
            "info": dict(meta.get("info", {}))}


def _jsonable(value):
    """``value`` with numpy scalars made plain (for JSON metadata)."""
    return json.loads(json.dumps(value, default=lambda v: v.item() if hasattr(v, "item") else str(v)))


def database_key(structure, shape: str, sizes, size_units_nm, q_range, **options) -> str:
    """A fingerprint of everything a size database depends on (not B, energy or weights)."""
    sites = [[st.label, st.element, [round(float(x), 9) for x in st.frac], round(float(st.occupancy), 9),
              st.adp_group, st.exclusion] for st in structure.sites]
    c = structure.cell
    cell = [round(float(v), 9) for v in (c.a, c.b, c.c, c.alpha, c.beta, c.gamma)]
    doc = {"structure": [structure.name, structure.spacegroup, sites, cell],
           "shape": shape, "sizes": [list(map(int, s)) for s in sizes],
           "units": [round(float(u), 12) for u in size_units_nm],
           "q_range": [round(float(q), 9) for q in q_range], "options": _jsonable(options),
           "format": "nanotwin.SizeDatabase/1"}
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:24]


def cached_size_database(
    cache: MutableMapping[str, SizeDatabase] | None,
    structure,
    shape: str,
    sizes: list[tuple[int, ...]],
    size_units_nm: tuple[float, ...],
    q_range: tuple[float, float],
    *,
    builder: Callable[..., SizeDatabase] | None = None,
    **kwargs,
) -> SizeDatabase:
    """``build_size_database`` (or ``builder``, called with the same arguments), or the database
    of ``cache`` built from the same inputs (then nothing is recomputed); a new one is added to
    ``cache``. The key does not depend on the builder: builders of one database agree to 1e-6."""
    options = {k: (list(v) if isinstance(v, tuple) else v) for k, v in kwargs.items()
               if k not in ("progress", "cancel", "mapper") and not (k == "crystal_options" and not v)}
    key = database_key(structure, shape, sizes, size_units_nm, q_range, **options)
    if cache is not None and key in cache:
        progress = kwargs.get("progress")
        if progress is not None:
            progress(1.0, "size database reused")
        return cache[key]
    build = builder if builder is not None else build_size_database
    db = build(structure, shape, sizes, size_units_nm, q_range, **kwargs)
    db.info["key"] = key
    if cache is not None:
        cache[key] = db
    return db


def _type_key(t) -> tuple:
    return (t.element, t.adp_group, round(float(t.occupancy), 12))


def database_q_grid(
    structure, shape: str, sizes: list[tuple[int, ...]], size_units_nm: tuple[float, ...],
    q_range: tuple[float, float], *, twins: tuple[str, ...] = (), boundaries: int | None = None,
    domain_size_nm=None, seed: int = 0, coherent_element: str = "Pb", ensemble: bool = False,
    phase_step: float = PHASE_STEP, margin_steps: int = 0, crystal_options: Mapping | None = None,
) -> tuple[np.ndarray, float]:
    """(fine Q grid, r bound in Å) of a size database.

    The fine Q step needs the largest distance of all crystals: it is bounded, before any pair
    is counted, from the atoms of the crystal with the largest extent (twice its largest distance
    from the centre, + 1 Å); step = ``phase_step`` / bound (0.35 for the cubic spline of the
    per-crystal build, 0.6 for the quintic one of the fast route), ``margin_steps`` extra points
    below (down to Q = 0) and above ``q_range`` keep the spline's end effects off the data.
    Ensembles use the untwinned crystal of the coherent sublattice (the same nodes as every network).
    """
    from nanotwin_core.builder import build_crystal

    kind = get_shape(shape)
    extent = [kind.extent_nm(structure, kind.sizes_of_counts(tuple(n), tuple(size_units_nm))) for n in sizes]
    kwargs = kind.sizes_of_counts(tuple(sizes[int(np.argmax(extent))]), tuple(size_units_nm))
    if ensemble:
        largest = build_crystal(structure, shape=shape, coherent_element=coherent_element,
                                lattice="sublattice", **kwargs)
    else:
        largest = build_crystal(structure, shape=shape, twins=twins, boundaries=boundaries,
                                domain_size_nm=domain_size_nm, seed=seed, coherent_element=coherent_element,
                                **kwargs, **dict(crystal_options or {}))
    pos = np.asarray(largest.positions, float)
    r_grid = 2.0 * float(np.max(np.linalg.norm(pos - pos.mean(axis=0), axis=1))) + 1.0
    step = phase_step / r_grid
    q_lo, q_hi = q_range
    start = max(q_lo - margin_steps * step, 0.0)
    return np.arange(start, q_hi + (2 + margin_steps) * step, step), r_grid


@dataclass
class SizeEntry:
    """One size of a database: its types, type pairs, float32 sinc sums (P, nq) on the fine grid,
    occupancy sums per type, atoms, largest distance (Å) and realisations averaged."""

    types: list
    pairs: np.ndarray
    sinc: np.ndarray
    occupancy_sums: np.ndarray
    n_atoms: int
    r_max: float
    seeds_used: int
    texture: np.ndarray | None = None


def size_entry(
    counts: tuple[int, ...],
    *,
    structure,
    shape: str,
    size_units_nm: tuple[float, ...],
    q_fine: np.ndarray,
    twins: tuple[str, ...],
    boundaries: int | None,
    domain_size_nm,
    seeds: tuple[int, ...],
    coherent_element: str,
    min_domains: int | None,
    ensemble: bool = False,
    cancel: Callable[[], bool] | None = None,
    crystal_options: Mapping | None = None,
    texture: tuple | None = None,
) -> SizeEntry:
    """The crystal(s) of one size, their pair histograms (averaged over the boundary-network
    realisations ``seeds``, see ``build_size_database``, or the exact ensemble average) and the
    sinc sums on ``q_fine``: the unit of work of a database build (a task on a cluster).
    ``texture``: (axis hkl, orders l) of the Legendre sums to store as well (untwinned crystals)."""
    if cancel is not None and cancel():
        raise Cancelled("database build cancelled")
    sizes = get_shape(shape).sizes_of_counts(tuple(counts), tuple(size_units_nm))
    hists, n_atoms, domains = [], 0, 0
    if ensemble:
        hists.append(ensemble_histograms(structure, tuple(twins), domain_size_nm, shape=shape,
                                         coherent_element=coherent_element, cancel=cancel, **sizes))
        n_atoms = int(round(hists[0].n_atoms))
    for seed in () if ensemble else seeds:
        crystal = build_crystal(structure, shape=shape, twins=twins, boundaries=boundaries,
                                domain_size_nm=domain_size_nm, seed=seed, coherent_element=coherent_element,
                                **sizes, **dict(crystal_options or {}))
        hists.append(compute_histograms(crystal, cancel=cancel))
        n_atoms = crystal.n_atoms
        domains += int(crystal.info.get("n_domains", 1))
        if min_domains is not None and domains >= min_domains:
            break
    hist = hists[0] if len(hists) == 1 else PairHistograms.combine([(1 / len(hists), h) for h in hists])
    tex = None
    if texture is not None:
        if len(hists) != 1 or ensemble:
            raise NanotwinError("texture is not available for twinned crystals yet")
        axis, orders = texture
        tex = crystal_texture_sums(hist, q_fine, structure, axis, np.asarray(orders, np.int64))
        tex = tex.astype(np.float32)
    return SizeEntry(types=list(hist.types), pairs=np.asarray(hist.pairs),
                     sinc=sinc_sums(hist, q_fine).astype(np.float32),
                     occupancy_sums=np.asarray(hist.occupancy_sums, float), n_atoms=int(n_atoms),
                     r_max=float(hist.r_max), seeds_used=len(hists), texture=tex)


def build_size_database(
    structure,
    shape: str,
    sizes: list[tuple[int, ...]],
    size_units_nm: tuple[float, ...],
    q_range: tuple[float, float],
    *,
    twins: tuple[str, ...] = (),
    boundaries: int | None = None,
    domain_size_nm: float | None = None,
    seeds: tuple[int, ...] = (0,),
    coherent_element: str = "Pb",
    min_domains: int | None = None,
    ensemble: bool = False,
    progress: Callable[[float, str], None] | None = None,
    cancel: Callable[[], bool] | None = None,
    mapper: Mapper | None = None,
    crystal_options: Mapping | None = None,
    texture: tuple | None = None,
) -> SizeDatabase:
    """Build every crystal of ``sizes`` and store its sinc sums on a fine Q grid.

    ``sizes`` are integer counts: (n_ab, n_c) for prisms (D_ab = n_ab x unit_ab, L_c = n_c x
    unit_c), (n,) for spheres and cuboids (D = n x unit); ``q_range`` (1/Å) must cover the data
    with any expansion the fit may try.

    Twinned crystals are averaged over ``seeds`` (random boundary networks). With
    ``min_domains``, a size stops adding realisations once it has averaged over that many twin
    domains in all: a large crystal with many domains averages itself, so it needs fewer
    realisations than a small one (at least one, at most ``len(seeds)``). The realisations used
    per size are in ``info["seeds_per_size"]``. ``ensemble=True``: each size is the exact average
    over every random network of ``domain_size_nm`` (``population/ensemble.py``), no seeds.

    ``mapper`` (``nanotwin_core.distributed``): where the per-size crystals are computed, one
    task per size (``size_entry``, largest first); None = here, one after another. The result is
    the same (to the last bits, which numba's thread count moves). Each size's histograms become
    sinc sums at once and are dropped, so memory stays at the size of the stored sums.
    ``crystal_options``: more ``build_crystal`` keywords (a termination, a surface shell).
    ``texture``: (axis hkl, orders l): also store the Legendre sums of a fibre texture (module doc).
    """
    t0 = time.perf_counter()
    crystal_options = dict(crystal_options or {})
    if not sizes:
        raise NanotwinError("empty size grid")
    seeds = tuple(seeds) if twins and not ensemble else tuple(seeds)[:1]
    if ensemble and (not twins or boundaries is not None or domain_size_nm is None):
        raise NanotwinError("an ensemble database needs twin laws and a domain size, not a number of "
                            "boundaries")
    kind = get_shape(shape)
    units = tuple(size_units_nm)
    if cancel is not None and cancel():
        raise Cancelled("database build cancelled")
    q_fine, r_grid = database_q_grid(structure, shape, sizes, size_units_nm, q_range, twins=twins,
                                     boundaries=boundaries, domain_size_nm=domain_size_nm, seed=seeds[0],
                                     coherent_element=coherent_element, ensemble=ensemble,
                                     crystal_options=crystal_options)
    extent = [kind.extent_nm(structure, kind.sizes_of_counts(tuple(n), units)) for n in sizes]
    shared = {"structure": structure, "shape": shape, "size_units_nm": units, "q_fine": q_fine,
              "twins": tuple(twins), "boundaries": boundaries, "domain_size_nm": domain_size_nm,
              "seeds": seeds, "coherent_element": coherent_element, "min_domains": min_domains,
              "ensemble": bool(ensemble), "crystal_options": crystal_options,
              "texture": None if texture is None else (tuple(texture[0]), tuple(texture[1]))}
    mapper = SerialMapper() if mapper is None else mapper
    per_size = mapper.map(size_entry, [tuple(n) for n in sizes], shared=shared, progress=progress,
                          cancel=cancel, label="crystal", priorities=extent)
    index: dict[tuple, int] = {}
    types: list = []
    for entry in per_size:
        if entry.r_max > r_grid:  # pragma: no cover - the bound from the largest crystal prevents it
            raise NanotwinError(f"size database: a crystal reaches {entry.r_max:.1f} Å beyond the "
                                f"{r_grid:.1f} Å the Q grid was made for")
        for t in entry.types:
            if _type_key(t) not in index:
                index[_type_key(t)] = len(types)
                types.append(t)
    seeds_used = [entry.seeds_used for entry in per_size]
    r_maxes = [entry.r_max for entry in per_size]

    n_t = len(types)
    pairs = np.array([(a, b) for a in range(n_t) for b in range(a, n_t)], dtype=np.int64)
    pair_index = {(int(a), int(b)): p for p, (a, b) in enumerate(pairs)}
    sinc = np.zeros((len(sizes), len(pairs), len(q_fine)), dtype=np.float32)
    tex = None if texture is None else np.zeros((len(sizes), len(texture[1]), len(pairs), len(q_fine)),
                                                dtype=np.float32)
    self_sums = np.zeros((len(sizes), n_t))
    n_atoms = np.zeros(len(sizes))
    for i, entry in enumerate(per_size):
        local = [index[_type_key(t)] for t in entry.types]
        for p, (a, b) in enumerate(entry.pairs):
            ga, gb = sorted((local[a], local[b]))
            sinc[i, pair_index[(ga, gb)]] += entry.sinc[p]
            if tex is not None:
                tex[i, :, pair_index[(ga, gb)]] += entry.texture[:, p]
        for a in range(len(local)):
            self_sums[i, local[a]] += entry.occupancy_sums[a]
        n_atoms[i] = entry.n_atoms
        per_size[i] = None
    r_max = max(r_maxes, default=0.0)
    counts = np.array(sizes, dtype=np.int64).reshape(len(sizes), -1)
    unit_nm = np.array(size_units_nm[: counts.shape[1]])
    info = {"twins": list(twins), "seeds": list(seeds), "r_max": r_max, "structure": structure.name,
            "seeds_per_size": seeds_used, "min_domains": min_domains, "ensemble": bool(ensemble),
            "route": "crystals"}
    if texture is not None:
        info.update(texture_axis=[int(v) for v in texture[0]], texture_orders=[int(v) for v in texture[1]])
    return SizeDatabase(
        shape=shape, counts=counts, sizes_nm=counts * unit_nm, types=types, pairs=pairs, q_fine=q_fine,
        sinc=sinc, self_sums=self_sums, n_atoms=n_atoms, seconds=time.perf_counter() - t0, info=info,
        texture=tex,
    )
