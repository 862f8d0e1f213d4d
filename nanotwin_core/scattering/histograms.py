"""compute_histograms: per type-pair distance histograms of a Crystal, by a registered backend.

A ``HistogramBackend`` is one way of counting pairs: ``lattice`` (exact counts by node offsets,
for crystals with a lattice description, ``lattice_route``) and ``all_pairs`` (any atom list,
``allpairs_route``). ``route="auto"`` takes the first registered backend that accepts the crystal.
Adding one (a GPU kernel, a cluster) is a module with its ``compute`` function and a
``register_backend`` call below (docs/internals.md).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from nanotwin_core.crystal import Crystal
from nanotwin_core.errors import Cancelled, NanotwinError
from nanotwin_core.scattering.allpairs_route import all_pairs_histograms
from nanotwin_core.scattering.lattice_route import build_pair_table, rehistogram
from nanotwin_core.scattering.sampling import Sampling, resolve_sampling
from nanotwin_core.scattering.types import PairHistograms, assign_types

__all__ = ["BACKENDS", "HistogramBackend", "assign_types", "compute_histograms", "register_backend"]


@dataclass(frozen=True)
class HistogramBackend:
    """A way of counting a crystal's pairs.

    ``accepts(crystal)``: can it count this crystal; ``compute(crystal, *, sampling, n_threads,
    progress, cancel) -> PairHistograms`` with the engine's conventions (SCIENCE.md section 3:
    each unordered pair once, exclusion groups left out; ``progress``/``cancel`` every ~0.2 s).
    """

    name: str
    description: str
    accepts: Callable[[Crystal], bool]
    compute: Callable[..., PairHistograms]


BACKENDS: dict[str, HistogramBackend] = {}  # in the order "auto" tries them


def register_backend(backend: HistogramBackend) -> HistogramBackend:
    """Make a backend known by its name (``compute_histograms(route=name)``)."""
    BACKENDS[backend.name] = backend
    return backend


def _lattice_histograms(crystal: Crystal, *, sampling, n_threads, progress, cancel) -> PairHistograms:
    if cancel is not None and cancel():
        raise Cancelled("pair histogram cancelled")
    table = build_pair_table(crystal.lattice)
    hist = rehistogram(table, sampling=sampling, n_threads=n_threads, progress=progress, cancel=cancel)
    hist.cache["table"] = table
    return hist


register_backend(HistogramBackend(
    "lattice", "exact pair counts by node offsets (crystals with a lattice description)",
    accepts=lambda crystal: crystal.lattice is not None, compute=_lattice_histograms))
register_backend(HistogramBackend(
    "all_pairs", "every atom pair (any atom list)", accepts=lambda crystal: True,
    compute=all_pairs_histograms))


def compute_histograms(
    crystal: Crystal,
    *,
    route: str = "auto",
    sampling: Sampling | str | float | None = None,
    n_threads: int | None = None,
    progress: Callable[[float], None] | None = None,
    cancel: Callable[[], bool] | None = None,
) -> PairHistograms:
    """Pair-distance histograms per pair of atom types.

    Parameters
    ----------
    crystal : the atoms; with ``crystal.lattice`` the lattice route is exact and much faster.
    route : "auto" (the first backend that accepts the crystal: lattice when ``crystal.lattice``
        is set) or a backend name ("lattice", "all_pairs", see ``BACKENDS``).
    sampling : None (default: quadratic on a 0.005 Å grid, see ``sampling.py``), a
        ``Sampling``, a scheme name ("exact" keeps raw distances), or an r step in Å.
    n_threads : numba threads (default: numba's current setting).
    progress : called with the fraction done (0..1) at least every ~0.2 s.
    cancel : polled as often; returning True raises ``nanotwin_core.errors.Cancelled``.
    """
    if route == "auto":
        backend = next(b for b in BACKENDS.values() if b.accepts(crystal))
    elif route in BACKENDS:
        backend = BACKENDS[route]
        if not backend.accepts(crystal):
            raise NanotwinError(f"route={route!r} cannot count this crystal ({backend.description})")
    else:
        raise NanotwinError(f"route must be 'auto' or one of {', '.join(BACKENDS)}, got {route!r}")
    smp = resolve_sampling(sampling)
    t0 = time.perf_counter()
    hist = backend.compute(crystal, sampling=smp, n_threads=n_threads, progress=progress, cancel=cancel)
    hist.meta["seconds"] = time.perf_counter() - t0
    hist.meta["n_atoms"] = int(crystal.n_atoms)
    return hist
