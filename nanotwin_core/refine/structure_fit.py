"""Refine the cell a, b, c or the octahedral tilt angles of one crystal without recounting pairs.

The lattice route counts, once, how many node pairs of every content pair sit at every node
offset (``build_pair_table``); a new cell or new atom offsets of the contents change every
distance but no multiplicity, so ``rehistogram`` re-evaluates the distances of the stored table.
``StructureDatabase`` wraps that for ``DSEFitProblem``: it has the interface of a one-size
``SizeDatabase`` (``intensity``, ``types``, ``sizes_nm``, ``n_sizes``, ...) plus ``update(values)``,
which the problem calls before every evaluation.

- ``cell``: parameters ``a_A``, ``b_A``, ``c_A`` (Å; start = the structure's cell, bounds +-3 %;
  the cell angles stay). Every evaluation re-histograms the stored table(s) with the new cell
  rows: fractional coordinates, node lattice and surface stay, every distance follows the cell.
- ``tilt`` (gamma CsPbX3 only): parameters ``tilt_ab_deg`` (a-a-) and ``tilt_c_deg`` (c+), degrees,
  start = ``tilt_angles`` of the start structure, bounds 0-25. The structure is the rigid-octahedra
  model of ``structures/tilt.py`` (``tilted_gamma`` with the start structure's mean Pb-X bond, or
  the ``--tilt`` structure's own a_p, ``keep`` and Cs offset); every evaluation rebuilds only the
  node contents at the new angles (same atoms, same order: checked) and the cell they fix, and
  re-histograms. An atom whose wrapped fractional coordinate jumps by a whole cell between two
  angles is taken at the image nearest its start position, so the crystal deforms continuously.

Random twin networks keep one pair table per seed; their histograms are averaged with equal
weights, as in ``build_size_database``. The histograms of the last parameter values are cached,
so a change of B, scale, zero shift or background re-uses them (and ``debye_intensity`` caches
the distance sums on them).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

from nanotwin_core.builder import build_crystal, find_ownership
from nanotwin_core.builder.shape_kinds import get_shape
from nanotwin_core.builder.shapes import cell_content
from nanotwin_core.builder.sizes import prism_sizes
from nanotwin_core.errors import Cancelled, NanotwinError
from nanotwin_core.refine.parameters import Parameter
from nanotwin_core.scattering import PairHistograms, debye_intensity
from nanotwin_core.scattering.lattice_route import build_pair_table, rehistogram
from nanotwin_core.scattering.radiation import Radiation
from nanotwin_core.structures.tilt import bond_length, bridge_geometry, tilt_angles, tilted_gamma

STRUCTURE_REFINABLE = ("cell", "tilt")
CELL_PARAMS = ("a_A", "b_A", "c_A")
TILT_PARAMS = ("tilt_ab_deg", "tilt_c_deg")
CELL_BOUND = 0.03  # relative: a, b, c may move by +-3 %
TILT_BOUNDS = (0.0, 25.0)  # degrees
CELL_STEP = 2e-5  # relative finite-difference step of a, b, c
TILT_STEP = 1e-3  # degrees, finite-difference step of the tilt angles
_GAMMA_NAME = re.compile(r"CsPb(Cl|Br|I)3-gamma.*")


def structure_modes(refine: Sequence[str]) -> tuple[str, ...]:
    """The structural refinements named in ``refine`` ("cell", "tilt")."""
    return tuple(r for r in STRUCTURE_REFINABLE if r in refine)


def check_structure_fit(model, refine: Sequence[str]) -> str | None:
    """The structural mode of a fit ("cell", "tilt" or None); NanotwinError when it cannot run."""
    modes = structure_modes(refine)
    if not modes:
        return None
    what = " and ".join(f"--refine {m}" for m in modes)
    if len(modes) > 1:
        raise NanotwinError(
            "--refine cell and tilt together: the tilt model fixes the cell (a, b, c follow from the "
            "angles and the Pb-X bond); refine tilt with expansion for an overall scale"
        )
    if model.population is not None:
        raise NanotwinError(
            f"{what} needs a single crystal: a population has one pair table per size and this "
            "refinement re-histograms the pair table of one crystal; give --size-ab/--size-c or --size "
            "instead of --population (or refine expansion for an overall cell scale)"
        )
    if model.components:
        raise NanotwinError(
            f"{what} needs a single crystal, not a mixture of components (twin states, phases): "
            "drop the components or refine expansion for an overall cell scale"
        )
    if modes[0] == "cell" and "expansion" in refine:
        raise NanotwinError(
            "--refine cell and expansion together: expansion scales a, b and c at once, so the two are "
            "fully correlated; refine cell alone"
        )
    return modes[0]


@dataclass(frozen=True)
class TiltSpec:
    """The fixed part of the tilt model: halide, a_p (Å), keep ("bond"/"volume"), Cs offset (Å),
    B per ADP group (Å^2) and the structure name."""

    halide: str
    a_p: float
    keep: str
    cs_offset: tuple[float, float]
    b_iso: dict
    name: str

    def structure(self, tilt_ab_deg: float, tilt_c_deg: float):
        """The tilt-model structure at these angles (degrees)."""

        return tilted_gamma(self.halide, tilt_ab_deg, tilt_c_deg, a_p=self.a_p, b_iso=self.b_iso,
                            keep=self.keep, cs_offset=self.cs_offset, name=self.name)


def tilt_start(structure) -> tuple[TiltSpec, tuple[float, float]]:
    """(tilt model, start angles in degrees) for a gamma CsPbX3 structure.

    A structure made by ``tilted_gamma`` (``--tilt``) keeps its own a_p, ``keep`` and Cs offset;
    a built-in ``CsPbX3-gamma`` gets a_p = twice its mean Pb-X distance and the angles
    ``tilt_angles`` measures on it. Anything else raises NanotwinError.
    """

    meta = getattr(structure, "metadata", None) or {}
    b_iso = {}
    for s in structure.sites:
        b_iso.setdefault(s.adp_group, float(s.b_iso))
    match = _GAMMA_NAME.fullmatch(str(structure.name))
    halides = sorted({s.element for s in structure.sites} & {"Cl", "Br", "I"})
    if "tilt_ab_deg" in meta and len(halides) == 1:
        spec = TiltSpec(halides[0], float(meta["a_p"]), str(meta.get("keep", "bond")),
                        tuple(float(v) for v in meta.get("cs_offset", (0.0, 0.0))), b_iso, structure.name)
        return spec, (float(meta["tilt_ab_deg"]), float(meta["tilt_c_deg"]))
    if match is None:
        raise NanotwinError(
            f"--refine tilt needs a gamma CsPbX3 structure (a built-in CsPbX3-gamma name or --tilt), "
            f"not {structure.name!r}"
        )
    if set(b_iso) - {"Pb", "Cs", "X_ax", "X_eq"}:
        raise NanotwinError(f"--refine tilt: {structure.name} has ADP groups {sorted(b_iso)}, not the gamma "
                            "model's Pb, Cs, X_ax, X_eq")
    angles = tilt_angles(structure)
    a_p = 2.0 * bridge_geometry(structure).mean_bond
    return TiltSpec(match.group(1), a_p, "bond", (0.0, 0.0), b_iso, f"{structure.name} (tilt model)"), angles


def _content_fracs(lattice, structure, coherent_element: str) -> list[np.ndarray]:
    """Node contents (fractional offsets) of ``structure`` in the representation of ``lattice``."""

    nb = np.asarray(lattice.node_basis_frac, float)
    if len(lattice.contents) == 1 and np.allclose(nb, np.eye(3)):
        contents = [cell_content(structure)]
    else:
        own = find_ownership(structure, coherent_element)
        if not np.allclose(own.node_basis_frac, nb, atol=1e-9) or len(own.contents) != len(lattice.contents):
            raise NanotwinError(
                f"{structure.name}: the {coherent_element} sublattice of the tilt model differs from the "
                "start crystal's (node basis or number of contents)"
            )
        contents = own.contents
    out = []
    for k, (new, old) in enumerate(zip(contents, lattice.contents, strict=True)):
        labels = [(np.asarray(getattr(new, a)).astype(str), np.asarray(getattr(old, a)).astype(str))
                  for a in ("elements", "adp_groups")]
        same = (len(new) == len(old) and all(np.array_equal(x, y) for x, y in labels)
                and np.allclose(new.occupancy, old.occupancy))
        if not same:
            raise NanotwinError(
                f"{structure.name}: content {k} of the tilt model does not hold the start crystal's atoms "
                "in the same order (elements, ADP groups, occupancies); cannot re-histogram"
            )
        out.append(np.asarray(new.frac, float).reshape(-1, 3))
    return out


def _match_offsets(new: list[np.ndarray], old: list[np.ndarray], cell: np.ndarray,
                   name: str) -> list[np.ndarray]:
    """New content offsets at the image nearest the start ones; raise unless atom i of every
    content is nearest to start atom i (the atom order matches)."""
    out = []
    for k, (f_new, f_old) in enumerate(zip(new, old, strict=True)):
        f = f_new - np.round(f_new - f_old)
        d = f[:, None, :] - f_old[None, :, :]
        d -= np.round(d)
        dist = np.linalg.norm(d @ cell, axis=2)
        nearest = np.argmin(dist, axis=1)
        bad = np.nonzero(nearest != np.arange(len(f)))[0]
        if len(bad):
            i = int(bad[0])
            raise NanotwinError(
                f"{name}: atom {i} of content {k} of the tilt model lies nearer start atom {int(nearest[i])} "
                f"({dist[i, nearest[i]]:.3f} Å) than its own ({dist[i, i]:.3f} Å): the atom order does not "
                "match; the angles moved too far from the start"
            )
        out.append(f)
    return out


class StructureDatabase:
    """One crystal (averaged over seeds) whose cell or tilt angles change during a fit.

    ``mode``: "cell" or "tilt"; ``lattices``: the start crystals' ``LatticeDescription`` (one per
    seed); ``tables``: their pair tables (built once). Interface of a one-size ``SizeDatabase``.
    """

    def __init__(self, mode: str, structure, shape: str, counts: Sequence[int], units: Sequence[float],
                 lattices: list, tables: list, n_atoms: float, *, tilt: TiltSpec | None = None,
                 start_angles: tuple[float, float] | None = None, coherent_element: str = "Pb",
                 n_threads: int | None = None, info: dict | None = None, seconds: float = 0.0) -> None:

        if mode not in STRUCTURE_REFINABLE:
            raise NanotwinError(f"mode must be one of {', '.join(STRUCTURE_REFINABLE)}, got {mode!r}")
        if mode == "tilt" and (tilt is None or start_angles is None):
            raise NanotwinError("a tilt refinement needs the tilt model and its start angles")
        self.mode = mode
        self.structure = structure
        self.shape = shape
        self.counts = np.asarray(counts, dtype=np.int64).reshape(1, -1)
        self.units = tuple(float(u) for u in units)
        self.lattices = list(lattices)
        self.tables = list(tables)
        self.tilt = tilt
        self.start_angles = None if start_angles is None else tuple(float(a) for a in start_angles)
        self.coherent_element = coherent_element
        self.n_threads = n_threads
        self.n_atoms = np.array([float(n_atoms)])
        self.seconds = float(seconds)
        self.info = dict(info or {})
        self.n_evaluations = 0
        self._cell0 = np.asarray(structure.cell.matrix, float)
        hists = [rehistogram(t, n_threads=n_threads) for t in self.tables]
        hist = hists[0] if len(hists) == 1 else PairHistograms.combine([(1 / len(hists), h) for h in hists])
        self.types = list(hist.types)
        self.pairs = np.asarray(hist.pairs)
        self.self_sums = np.asarray(hist.occupancy_sums, float).reshape(1, -1)
        self._key: tuple | None = None
        self._hist = None
        self._cell = self._cell0

    # ------------------------------------------------------------------ parameters
    @property
    def parameter_names(self) -> tuple[str, ...]:
        """Names of this refinement's parameters."""
        return CELL_PARAMS if self.mode == "cell" else TILT_PARAMS

    def start_values(self) -> dict[str, float]:
        """Start values: the structure's a, b, c (Å) or its tilt angles (degrees)."""
        if self.mode == "cell":
            c = self.structure.cell
            return {"a_A": float(c.a), "b_A": float(c.b), "c_A": float(c.c)}
        return dict(zip(TILT_PARAMS, self.start_angles, strict=True))

    def parameters(self, refine: bool = True) -> list:
        """``Parameter`` objects with bounds and finite-difference steps."""

        out = []
        for name, v in self.start_values().items():
            if self.mode == "cell":
                out.append(Parameter(name, v, refine, v * (1 - CELL_BOUND), v * (1 + CELL_BOUND),
                                     step=CELL_STEP * v))
            else:
                lo, hi = TILT_BOUNDS
                out.append(Parameter(name, min(max(v, lo), hi), refine, lo, hi, step=TILT_STEP))
        return out

    def _values(self, values: Mapping[str, float] | None) -> tuple[float, ...]:
        start = self.start_values()
        values = values or {}
        return tuple(float(values.get(n, start[n])) for n in self.parameter_names)

    # ------------------------------------------------------------------ structure
    def structure_at(self, values: Mapping[str, float] | None = None):
        """The structure for parameter values (missing names: start values)."""

        v = self._values(values)
        if self.mode == "cell":
            c = self.structure.cell
            return replace(self.structure, cell=type(c)(v[0], v[1], v[2], c.alpha, c.beta, c.gamma))
        return self.tilt.structure(v[0], v[1])

    def cell_matrix(self, values: Mapping[str, float] | None = None) -> np.ndarray:
        """Cell rows a, b, c (Å) for parameter values."""
        return np.asarray(self.structure_at(values).cell.matrix, float)

    def contents_at(self, values: Mapping[str, float] | None = None) -> list[list[np.ndarray]]:
        """Per seed, the contents' fractional offsets for parameter values (tilt mode)."""
        s = self.structure_at(values)
        cell = np.asarray(s.cell.matrix, float)
        out = []
        for lat in self.lattices:
            new = _content_fracs(lat, s, self.coherent_element)
            old = [np.asarray(c.frac, float).reshape(-1, 3) for c in lat.contents]
            out.append(_match_offsets(new, old, cell, s.name))
        return out

    def histograms(self, values: Mapping[str, float] | None = None, *,
                   cancel: Callable[[], bool] | None = None):
        """Pair histograms (seed average) at parameter values, from the stored pair tables."""

        key = self._values(values)
        if key == self._key and self._hist is not None:
            return self._hist
        if cancel is not None and cancel():
            raise Cancelled("fit cancelled")
        cell = self.cell_matrix(values)
        contents = self.contents_at(values) if self.mode == "tilt" else [None] * len(self.tables)
        hists = [rehistogram(t, cell=cell, contents=c, n_threads=self.n_threads)
                 for t, c in zip(self.tables, contents, strict=True)]
        hist = hists[0] if len(hists) == 1 else PairHistograms.combine([(1 / len(hists), h) for h in hists])
        if list(hist.types) != self.types:  # pragma: no cover - same tables, same types
            raise NanotwinError("re-histogrammed types differ from the start crystal's")
        self._key, self._hist, self._cell = key, hist, cell
        self.n_evaluations += 1
        return hist

    def update(self, values: Mapping[str, float]) -> None:
        """Set the parameter values of the next ``intensity`` (re-histograms only if they changed)."""
        self.histograms(values)

    # ------------------------------------------------------------------ SizeDatabase interface
    @property
    def n_sizes(self) -> int:
        return 1

    @property
    def sizes_nm(self) -> np.ndarray:
        """(1, 2) realised (D_ab, L_c) of a prism, or (1, 1) D, at the current cell (nm)."""
        if get_shape(self.shape).bivariate:
            return np.array([prism_sizes(self._cell, int(self.counts[0, 0]), int(self.counts[0, 1]))])
        ratio = abs(np.linalg.det(self._cell) / np.linalg.det(self._cell0)) ** (1 / 3)
        return np.array([[self.counts[0, 0] * self.units[0] * ratio]])

    def intensity(self, weights: np.ndarray, q: np.ndarray, *, b_iso: Mapping[str, float] | None = None,
                  radiation: Radiation | str | None = None, expansion: float = 0.0,
                  exclude=None, occupancy: Mapping[str, float] | None = None) -> np.ndarray:
        """I(Q) of the crystal at the last ``update`` values (electrons^2), ``q`` in 1/Å."""
        w = np.asarray(weights, float).ravel()
        if w.shape != (1,):
            raise NanotwinError(f"a single-crystal model takes one weight, got {w.shape}")
        hist = self._hist if self._hist is not None else self.histograms()
        return w[0] * debye_intensity(hist, np.asarray(q, float), b_iso=b_iso, radiation=radiation,
                                      expansion=expansion, exclude=exclude, occupancy=occupancy)


def build_structure_database(
    mode: str,
    structure,
    shape: str,
    counts: Sequence[int],
    units: Sequence[float],
    *,
    twins: Sequence[str] = (),
    boundaries: int | None = None,
    domain_size_nm: float | None = None,
    seeds: Sequence[int] = (0,),
    coherent_element: str = "Pb",
    n_threads: int | None = None,
    progress: Callable[[float, str], None] | None = None,
    cancel: Callable[[], bool] | None = None,
    crystal_options: Mapping | None = None,
) -> StructureDatabase:
    """Build the crystal (one per seed for twin networks) and its pair table(s), once.

    ``counts``: (n_ab, n_c) for prisms (sizes = counts x ``units`` nm), (n,) for spheres/cuboids,
    as in ``build_size_database``. ``mode`` "tilt" replaces ``structure`` by the tilt model at the
    start angles (see ``tilt_start``); "cell" keeps it. ``crystal_options``: more
    ``build_crystal`` keywords (a termination or surface shell; not with "tilt", whose new
    contents are those of whole formula units).
    """

    t0 = time.perf_counter()
    tilt, angles = None, None
    kind = get_shape(shape)
    crystal_options = dict(crystal_options or {})
    if mode == "tilt" and crystal_options:
        raise NanotwinError("tilt refinement rebuilds whole formula units: not with a termination or a "
                            "surface shell (refine the cell instead, or drop them)")
    if mode == "tilt":
        tilt, angles = tilt_start(structure)
        structure = tilt.structure(*angles)
        units, _ = kind.grid_units(structure)  # the same counts of the tilt model's own cells
    kwargs = kind.sizes_of_counts(tuple(int(c) for c in counts), tuple(units))
    seeds = tuple(seeds) if twins else tuple(seeds)[:1]
    lattices, tables, n_atoms = [], [], 0
    for i, seed in enumerate(seeds):
        if cancel is not None and cancel():
            raise Cancelled("pair table build cancelled")
        crystal = build_crystal(structure, shape=shape, twins=tuple(twins), boundaries=boundaries,
                                domain_size_nm=domain_size_nm, seed=seed, coherent_element=coherent_element,
                                **kwargs, **crystal_options)
        if crystal.lattice is None:  # pragma: no cover - the builders always describe the lattice
            raise NanotwinError("this crystal has no lattice description; cannot re-histogram its cell")
        lattices.append(crystal.lattice)
        tables.append(build_pair_table(crystal.lattice))
        n_atoms = crystal.n_atoms
        if progress is not None:
            progress((i + 1) / len(seeds), f"pair table {i + 1}/{len(seeds)}")
    info = {"mode": mode, "structure": structure.name, "twins": list(twins), "seeds": list(seeds),
            "counts": [int(c) for c in counts]}
    if tilt is not None:
        info.update(tilt_model={"halide": tilt.halide, "a_p": tilt.a_p, "keep": tilt.keep,
                                "cs_offset": list(tilt.cs_offset), "start_angles": list(angles)})
    return StructureDatabase(mode, structure, shape, counts, units, lattices, tables, n_atoms, tilt=tilt,
                             start_angles=angles, coherent_element=coherent_element, n_threads=n_threads,
                             info=info, seconds=time.perf_counter() - t0)


def tilt_note(db: StructureDatabase) -> str | None:
    """A one-line note on the tilt model a fit uses (None in cell mode)."""
    if db.mode != "tilt":
        return None

    t = db.tilt
    d = bond_length(t.a_p, *db.start_angles, keep=t.keep)
    return (f"tilt model: rigid regular Pb{t.halide}6 octahedra, a_p = {t.a_p:.4f} Å (Pb-{t.halide} "
            f"{d:.4f} Å at the start, keep={t.keep}), started at a-a- {db.start_angles[0]:.2f}°, "
            f"c+ {db.start_angles[1]:.2f}°; the cell follows the angles")


__all__ = [
    "CELL_PARAMS",
    "STRUCTURE_REFINABLE",
    "TILT_PARAMS",
    "StructureDatabase",
    "TiltSpec",
    "build_structure_database",
    "check_structure_fit",
    "structure_modes",
    "tilt_note",
    "tilt_start",
]
