"""What octahedral tilts and twin domains do to the superstructure peaks: the teaching computation.

One state (``TeachingRequest``): a gamma (Pbnm, a-a-c+) CsPbX3 prism whose octahedra are rotated
by a total angle (``structures.tilt.tilted_gamma`` with the library's ratio of the two tilts,
``tilts_for_slider``), untwinned or cut by a random network of twin laws with a mean domain size.
``compute_teaching`` builds it and returns its pattern (twinned: the exact average over every
random network of that domain size, ``population/ensemble.py``, with one realisation as the
crystal to show), two references and the superstructure measures (SCIENCE.md §2):

- when twinned, the Bragg and diffuse parts of R, M and X in 1.5-2.2 1/Å relative to the untwinned
  crystal (``bragg_diffuse.measure_ensemble``): how much long-range order each class keeps and how
  much of its intensity the boundaries spread into broad features;
- I0, the same crystal at zero tilt (every atom on its ideal perovskite site,
  ``superstructure.zero_tilt``): the heights of I - I0 at the exact R, M and X positions, what a
  peak-height reader sees (relative to the untwinned crystal at the same tilt when twinned).

Everything runs on one numba thread (the window calls it from a worker while sliders move).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from nanotwin_core.bragg_diffuse import measure_ensemble
from nanotwin_core.builder import build_crystal
from nanotwin_core.demos import default_adp
from nanotwin_core.errors import Cancelled
from nanotwin_core.population.ensemble import ensemble_histograms
from nanotwin_core.reflections import pseudocubic_a_of_structure, reflections
from nanotwin_core.scattering import compute_histograms, debye_intensity
from nanotwin_core.scattering.radiation import XRay
from nanotwin_core.structures.tilt import library_tilts, tilted_gamma, tilts_for_slider, total_rotation_deg
from nanotwin_core.superstructure import class_heights, zero_tilt

HALIDES = ("Cl", "Br", "I")
TILT_MAX_DEG = 20.0  # largest total octahedron rotation offered
DOMAIN_SIZES_NM: tuple[float | None, ...] = (None, 8.0, 6.0, 5.0, 4.0, 3.0, 2.5, 2.0, 1.5)  # None: no twins
LAW_SETS: dict[str, tuple[str, ...]] = {
    "mixed-coset network (4 variants)": ("1/2<110>{110}", "1/2<110>{001}", "1/2<001>{110}"),
    "1/2<110> network (paper text, 2 variants)": ("1/2<110>{110}", "1/2<110>{001}"),
    "1/2<110>{110} only": ("1/2<110>{110}",),
    "1/2<001>{110} only": ("1/2<001>{110}",),
}
# Live crystals have at most this many atoms: one update (build, histograms and Debye sums of the
# crystal and its zero-tilt twin, one numba thread) takes 80-100 ms at 2,000 atoms on a loaded
# 2-core machine, ~200 ms when a tilt change also needs the untwinned reference
# (benchmarks/bench_teaching.py).
LIVE_MAX_ATOMS = 2_000
SIZE_RANGE_NM = (3.0, 4.5)  # prism edge D_ab = L_c, whole cells: CsPbBr3 540, 960, 960, 2,000 atoms
DEFAULT_SIZE_NM = 4.5
LIVE_Q = (0.5, 6.0, 0.004)  # 1/Å: the live pattern's grid
SUPER_WINDOW = (1.5, 2.2)  # 1/Å, where the superstructure heights are read
CLASSES = ("R", "M", "X")
PAPER_WAVELENGTH = 0.565468  # Å


@dataclass(frozen=True)
class TeachingRequest:
    """One state of the teaching model: what to build and compute."""

    halide: str = "Br"
    tilt_deg: float = 15.0  # total octahedron rotation, degrees
    size_nm: float = DEFAULT_SIZE_NM  # prism edge D_ab = L_c, nm
    laws: tuple[str, ...] = LAW_SETS["mixed-coset network (4 variants)"]
    domain_size_nm: float | None = None  # None: untwinned
    seed: int = 1
    wavelength: float = PAPER_WAVELENGTH  # Å, for the anomalous dispersion
    serial: int = 0  # request number (a caller drops results of older requests)

    @property
    def twinned(self) -> bool:
        return self.domain_size_nm is not None and bool(self.laws)

    def label(self) -> str:
        """Curve label of the requested crystal."""
        twins = f"{self.domain_size_nm:g} nm domains (ensemble average)" if self.twinned else "untwinned"
        return f"CsPb{self.halide}3 gamma, tilt {self.tilt_deg:.1f}°, {twins}"


@dataclass
class TeachingResult:
    """One computed state: the crystal, curves (label -> (Q, I)) and superstructure heights."""

    request: TeachingRequest
    crystal: object
    curves: dict[str, tuple[np.ndarray, np.ndarray]]
    live_label: str
    heights: dict[str, float]  # R, M, X: summed I - I0 at the exact positions in 1.5-2.2 1/Å
    untwinned_heights: dict[str, float] | None  # same tilt, no twins (None when untwinned)
    n_pairs: int
    a_p: float  # pseudocubic cell, Å
    seconds: float
    timings: dict[str, float] = field(default_factory=dict)  # stage -> seconds
    bragg: dict[str, float] | None = None  # R, M, X Bragg parts relative to untwinned (None: untwinned)
    diffuse: dict[str, float] | None = None  # R, M, X diffuse parts, same units

    def relative(self) -> dict[str, float]:
        """Heights relative to the untwinned crystal at the same tilt (classes with a positive
        reference only; empty when untwinned)."""
        if not self.untwinned_heights:
            return {}
        return {k: self.heights[k] / v for k, v in self.untwinned_heights.items() if v > 0}


class TeachingCache:
    """Reference patterns that several requests share (thread-safe; a few recent entries)."""

    def __init__(self, max_entries: int = 16) -> None:
        self._lock = threading.Lock()
        self._items: dict[tuple, np.ndarray] = {}
        self.max_entries = max_entries

    def get(self, key: tuple):
        with self._lock:
            return self._items.get(key)

    def put(self, key: tuple, value) -> None:
        with self._lock:
            self._items.pop(key, None)
            self._items[key] = value
            while len(self._items) > self.max_entries:
                self._items.pop(next(iter(self._items)))


def live_q() -> np.ndarray:
    """The teaching pattern's Q grid (1/Å)."""
    lo, hi, step = LIVE_Q
    return np.arange(lo, hi + step / 2, step)


def teaching_structure(halide: str, tilt_deg: float):
    """The gamma structure at a total octahedron rotation ``tilt_deg`` (degrees)."""
    return tilted_gamma(halide, *tilts_for_slider(tilt_deg, halide))


def teaching_crystal(request: TeachingRequest, structure=None, *, twinned: bool | None = None):
    """The prism of a request (untwinned ones on the Pb sublattice, so both share the surface)."""
    structure = structure if structure is not None else teaching_structure(request.halide, request.tilt_deg)
    twinned = request.twinned if twinned is None else twinned
    size = {"size_ab_nm": request.size_nm, "size_c_nm": request.size_nm}
    if twinned:
        return build_crystal(structure, shape="prism", **size, twins=request.laws,
                             domain_size_nm=request.domain_size_nm, seed=request.seed,
                             max_atoms=LIVE_MAX_ATOMS)
    return build_crystal(structure, shape="prism", **size, lattice="sublattice", max_atoms=LIVE_MAX_ATOMS)


def library_tilt_deg(halide: str) -> float:
    """Total octahedron rotation (degrees) of the library's ``CsPbX3-gamma``."""
    return total_rotation_deg(*library_tilts(halide))


def compute_teaching(
    request: TeachingRequest,
    cache: TeachingCache | None = None,
    *,
    progress: Callable | None = None,
    cancel: Callable[[], bool] | None = None,
) -> TeachingResult:
    """Build the request's crystal and compute its pattern, its zero-tilt reference and heights.

    One numba thread. The zero-tilt pattern I0 and the untwinned crystal at the same tilt are
    cached (``cache``) by (halide, tilt, size, wavelength): the zero-tilt crystal does not depend
    on the twins (a twin changes which content each node takes, and every content sits on the
    same ideal sites at zero tilt), so moving the twin density costs one crystal.
    """

    def check() -> None:
        if cancel is not None and cancel():
            raise Cancelled("teaching update cancelled")

    cache = cache if cache is not None else TeachingCache()
    t0 = time.perf_counter()
    timings: dict[str, float] = {}
    q = live_q()
    structure = teaching_structure(request.halide, request.tilt_deg)
    b_iso = default_adp(structure)
    radiation = XRay(wavelength=request.wavelength)

    def pattern(crystal) -> tuple[np.ndarray, float]:
        hist = compute_histograms(crystal, n_threads=1, cancel=cancel)
        return debye_intensity(hist, q, b_iso=b_iso, radiation=radiation), float(hist.n_pairs)

    t = time.perf_counter()
    crystal = teaching_crystal(request, structure)  # twinned: one realisation, for the 3D view
    timings["build"] = time.perf_counter() - t
    check()
    t = time.perf_counter()
    if request.twinned:  # the pattern: the exact average over every network (no realisation noise)
        hist = ensemble_histograms(structure, request.laws, request.domain_size_nm, shape="prism",
                                   size_ab_nm=request.size_nm, size_c_nm=request.size_nm,
                                   max_atoms=LIVE_MAX_ATOMS, n_threads=1, cancel=cancel)
        i_live = debye_intensity(hist, q, b_iso=b_iso, radiation=radiation)
        n_pairs = float(hist.n_pairs)
    else:
        i_live, n_pairs = pattern(crystal)
    timings["pattern"] = time.perf_counter() - t
    check()
    key = (request.halide, round(float(request.tilt_deg), 6), float(request.size_nm), request.wavelength)
    bragg = diffuse = None
    if request.twinned:
        t = time.perf_counter()
        untwinned_parts = cache.get(("classes", *key))
        if untwinned_parts is None:
            untwinned_parts = {}
        measure = measure_ensemble(structure, request.laws, request.domain_size_nm,
                                   size_ab_nm=request.size_nm, size_c_nm=request.size_nm,
                                   window=SUPER_WINDOW, b_iso=b_iso,
                                   radiation=radiation, hist=hist, untwinned=untwinned_parts, classes=CLASSES,
                                   max_atoms=LIVE_MAX_ATOMS, n_threads=1, cancel=cancel)
        cache.put(("classes", *key), untwinned_parts)
        bragg = {k: v for k, v in measure.relative("bragg").items() if k in CLASSES}
        diffuse = {k: v for k, v in measure.relative("diffuse").items() if k in CLASSES}
        timings["bragg/diffuse"] = time.perf_counter() - t
        t = time.perf_counter()
    i0 = cache.get(("zero", *key))
    if i0 is None:
        i0, _ = pattern(zero_tilt(crystal))
        cache.put(("zero", *key), i0)
    timings["zero tilt"] = time.perf_counter() - t
    check()
    curves: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    untwinned = None
    refl = reflections(structure, SUPER_WINDOW[1], q_min=SUPER_WINDOW[0])
    if request.twinned:
        t = time.perf_counter()
        i_u = cache.get(("untwinned", *key))
        if i_u is None:
            i_u, _ = pattern(teaching_crystal(request, structure, twinned=False))
            cache.put(("untwinned", *key), i_u)
        timings["untwinned"] = time.perf_counter() - t
        curves[f"untwinned, tilt {request.tilt_deg:.1f}°"] = (q, i_u)
        untwinned = class_heights(q, i_u, i0, structure, SUPER_WINDOW, refl).heights
    curves[f"zero tilt (ideal sites), {request.size_nm:g} nm"] = (q, i0)
    live_label = request.label()
    curves[live_label] = (q, i_live)
    heights = class_heights(q, i_live, i0, structure, SUPER_WINDOW, refl).heights
    return TeachingResult(
        request=request, crystal=crystal, curves=curves, live_label=live_label, heights=dict(heights),
        untwinned_heights=None if untwinned is None else dict(untwinned), bragg=bragg, diffuse=diffuse,
        n_pairs=int(round(n_pairs)),
        a_p=float(pseudocubic_a_of_structure(structure)), seconds=time.perf_counter() - t0, timings=timings,
    )
