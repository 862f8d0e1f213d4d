"""Core calls the workers run: warm-up, build + compute, demos. No Qt, no widgets.

Every function takes ``progress`` and ``cancel`` callables (the core's convention) and returns
plain results; the core packages are imported lazily, so the window starts while they land.
"""

from __future__ import annotations

import html
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from nanotwin_core.errors import NanotwinError

LIVE_ATOM_LIMIT = 20_000  # atoms: live (slider-driven) recomputes stay under ~1 s on one thread
DEFAULT_Q = (0.5, 6.0, 0.002)
DEFAULT_WAVELENGTH = 0.565468


class CoreMissing(NanotwinError):
    """A core package the GUI needs is not installed in this version yet."""


def core_missing_message(exc: Exception) -> str:
    """A one-line 'not yet' message for a missing core package."""
    return f"This part of the core is not available in this version yet ({exc})."


def _core():
    try:
        from nanotwin_core.builder import build_crystal  # noqa: F401
        from nanotwin_core.scattering import compute_histograms, debye_intensity  # noqa: F401
        from nanotwin_core.structures.library import get_structure  # noqa: F401
    except ImportError as exc:
        raise CoreMissing(core_missing_message(exc)) from exc


def list_structure_names() -> list[str]:
    """Built-in structure names (the INTERFACES list when the library has not landed yet)."""
    try:
        from nanotwin_core.structures.library import list_structures

        names = list(list_structures())
        return [getattr(n, "name", str(n)) for n in names]
    except ImportError:
        out = []
        for x in ("Cl", "Br", "I"):
            out += [f"CsPb{x}3-{p}" for p in ("alpha", "alpha-split", "beta", "gamma")]
        return [*out, "CsPbI3-delta", "CsPbBr3-gamma-410K"]


def get_structure(name: str):
    """A built-in structure (CoreMissing while the library is absent)."""
    try:
        from nanotwin_core.structures.library import get_structure as core_get
    except ImportError as exc:
        raise CoreMissing(core_missing_message(exc)) from exc
    return core_get(name)


def tiny_crystal():
    """A 2 x 2 x 2 cubic CsPbBr3 crystal made by hand (for warm-up and tests)."""
    from nanotwin_core.crystal import LatticeContent, LatticeDescription, crystal_from_lattice

    a = 5.87
    content = LatticeContent(
        frac=np.array([[0, 0, 0], [0.5, 0.5, 0.5], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]], float),
        elements=np.array(["Cs", "Pb", "Br", "Br", "Br"]),
        adp_groups=np.array(["Cs", "Pb", "Br", "Br", "Br"]),
        occupancy=np.ones(5),
        exclusion=np.full(5, -1),
    )
    lat = LatticeDescription(
        cell=np.eye(3) * a, node_basis_frac=np.eye(3), contents=[content],
        content_map=np.zeros((2, 2, 2), dtype=np.int64),
    )
    return crystal_from_lattice(lat, info={"shape": "cube", "structure": "hand-made CsPbBr3"})


def warm_up(progress: Callable | None = None, cancel: Callable | None = None) -> str:
    """Compile the numba kernels by computing the pattern of a tiny crystal."""
    try:
        from nanotwin_core.scattering import compute_histograms, debye_intensity
    except ImportError as exc:
        raise CoreMissing(core_missing_message(exc)) from exc
    t0 = time.perf_counter()
    hist = compute_histograms(tiny_crystal(), n_threads=1, cancel=cancel)
    debye_intensity(hist, np.linspace(0.5, 6, 50))
    return f"Numerical kernels ready ({time.perf_counter() - t0:.1f} s)"


@dataclass
class ComputeResult:
    """What a build-and-compute or demo job hands back to the window."""

    crystal: object
    curves: dict[str, tuple[np.ndarray, np.ndarray]]
    caption: str = ""
    title: str = ""
    n_pairs: int | None = None
    seconds: float = 0.0
    a_p: float | None = None
    info: dict = field(default_factory=dict)
    wavelength: float = DEFAULT_WAVELENGTH


def _n_pairs(hist) -> int | None:
    n = getattr(hist, "n_pairs", None)
    try:
        return int(np.sum(n)) if n is not None else None
    except (TypeError, ValueError):
        return None


def build_and_compute(
    settings,
    structure=None,
    *,
    q_range: tuple[float, float, float] = DEFAULT_Q,
    wavelength: float = DEFAULT_WAVELENGTH,
    n_threads: int | None = None,
    progress: Callable | None = None,
    cancel: Callable | None = None,
) -> ComputeResult:
    """Build the model of ``settings`` (a ModelSettings) and compute its pattern(s)."""
    _core()
    from nanotwin_app.plots.ticks import pseudocubic_a_of_structure

    from nanotwin_core.builder import build_crystal
    from nanotwin_core.demos import default_adp
    from nanotwin_core.errors import Cancelled
    from nanotwin_core.scattering import compute_histograms, debye_intensity
    from nanotwin_core.scattering.form_factors import energy_from_wavelength

    t0 = time.perf_counter()
    if structure is None:
        structure = get_structure(settings.structure)
    lo, hi, step = q_range
    q = np.arange(lo, hi + step / 2, step)
    energy = energy_from_wavelength(wavelength)
    b_iso = default_adp(structure)
    size_kw = (
        {"size_ab_nm": settings.size_ab_nm, "size_c_nm": settings.size_c_nm}
        if settings.shape == "prism"
        else {"size_nm": settings.size_nm}
    )
    twins = tuple(settings.twins)
    models: list[tuple[str, tuple[str, ...]]] = []
    if twins and settings.compare_untwinned:
        models.append(("untwinned", ()))
    models.append((("twinned: " + ", ".join(twins)) if twins else "untwinned", twins))
    curves: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    crystal = None
    pairs = 0
    for i, (label, laws) in enumerate(models):
        if cancel is not None and cancel():
            raise Cancelled("cancelled")
        if progress:
            progress(f"building {label}")
        crystal = build_crystal(
            structure, shape=settings.shape, **size_kw, twins=laws,
            boundaries=settings.boundaries if laws else None,
            domain_size_nm=settings.domain_size_nm if laws else None, seed=settings.seed,
        )
        if progress:
            progress(f"pair distances: {label} ({crystal.n_atoms:,} atoms)")

        def frac_progress(f: float, i: int = i) -> None:
            if progress:
                progress((i + float(f)) / len(models))

        hist = compute_histograms(crystal, n_threads=n_threads, progress=frac_progress, cancel=cancel)
        pairs += _n_pairs(hist) or 0
        curves[label] = (q, debye_intensity(hist, q, b_iso=b_iso, energy_kev=energy))
    info = {k: v for k, v in (crystal.info or {}).items() if k != "boundaries"}
    return ComputeResult(
        crystal=crystal, curves=curves, n_pairs=pairs or None, seconds=time.perf_counter() - t0,
        a_p=pseudocubic_a_of_structure(structure), info=info, wavelength=wavelength,
        title=f"{getattr(structure, 'name', 'model')}: {settings.shape}",
    )


def run_demo(name: str, progress: Callable | None = None, cancel: Callable | None = None) -> ComputeResult:
    """Compute a core demo and build the crystal of its most twinned model for the viewer."""
    _core()
    from nanotwin_app.plots.ticks import pseudocubic_a_of_structure

    from nanotwin_core.builder import build_crystal
    from nanotwin_core.demos import compute_demo, get_demo

    t0 = time.perf_counter()
    demo = get_demo(name)
    result = compute_demo(demo, progress=progress, cancel=cancel)
    spec = next((m for m in demo.models if m.twinned), demo.models[-1])
    structure = get_structure(spec.structure)
    if progress:
        progress(f"building {spec.label} for the 3D view")
    crystal = build_crystal(
        structure, shape="prism", size_ab_nm=spec.size_ab_nm, size_c_nm=spec.size_c_nm,
        twins=spec.twins, boundaries=spec.boundaries, domain_size_nm=spec.domain_size_nm,
        seed=spec.seeds[0],
    )
    crystal.info.setdefault("label", spec.label)
    pairs = sum(int(info.get("n_pairs", 0) or 0) for info in result.info.values())
    return ComputeResult(
        crystal=crystal,
        curves={label: (result.q, y) for label, y in result.intensities.items()},
        caption=(f"<b>{html.escape(demo.title)}</b><br>{html.escape(demo.caption)} "
                 f"<i>3D view: {html.escape(spec.label)}.</i>"),
        title=demo.title, n_pairs=pairs or None, seconds=time.perf_counter() - t0,
        a_p=pseudocubic_a_of_structure(structure), info=dict(result.info), wavelength=demo.wavelength,
    )
