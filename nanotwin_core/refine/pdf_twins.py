"""PDF models of twin networks: the exact ensemble average (``population/ensemble.py``) of a crystal,
at one mean domain size or at the Chebyshev nodes of the twin density 1/D so that the domain size
is refined (``domain_nm``, keyword "twin_density"; the interpolation of ``refine/twin_density.py``:
G(r) is linear in the pair histograms, which are smooth in the gap probabilities p = d / D).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from nanotwin_core.builder.networks import domain_sizes_by_law
from nanotwin_core.builder.twin_laws import parse_twin_law
from nanotwin_core.builder.twins import select_nodes
from nanotwin_core.errors import NanotwinError
from nanotwin_core.population.ensemble import ensemble_histograms
from nanotwin_core.refine.pdf_model import PDFModel, SizeMember
from nanotwin_core.refine.twin_density import DEFAULT_NODES, DEFAULT_RANGE, chebyshev_nodes


def ensemble_pdf_model(
    structure,
    twins: Sequence[str],
    domain_size_nm: float | str | Mapping[str, float],
    *,
    shape: str = "prism",
    size_ab_nm: float | None = None,
    size_c_nm: float | None = None,
    size_nm: float | None = None,
    coherent_element: str = "Pb",
    qmin: float = 0.0,
    qmax: float = 25.0,
    radiation=None,
    weights: str = "fq",
    refine_density: bool = False,
    nodes: int = DEFAULT_NODES,
    domain_range: tuple[float, float] = DEFAULT_RANGE,
    n_threads: int | None = None,
    progress: Callable[[float], None] | None = None,
    baseline: bool = False,
) -> PDFModel:
    """The PDF model of every random twin network of a crystal with these mean domain sizes (nm).

    ``refine_density``: ``nodes`` ensembles at Chebyshev nodes of 1/D over ``domain_range`` times
    the start (the shared size D is the first law's; every law keeps its ratio to it), mixed at
    ``domain_nm`` by the model; otherwise one ensemble at the given sizes. ``baseline``: as
    ``PDFModel`` (data fits subtract the small-angle baseline).
    """
    if not twins:
        raise NanotwinError("an ensemble of twin networks needs twin laws (--twin LAW)")
    if domain_size_nm is None:
        raise NanotwinError("an ensemble of twin networks needs a mean domain size (--domain-size NM)")
    laws = [parse_twin_law(t).label for t in twins]
    start = domain_sizes_by_law(domain_size_nm, laws)
    sizes = {"size_ab_nm": size_ab_nm, "size_c_nm": size_c_nm, "size_nm": size_nm}
    sel = select_nodes(structure, shape, size_ab_nm, size_c_nm, size_nm, coherent_element)
    size = float(sel.info.get("D_eq_nm", sel.info.get("size_nm", 0.0)) or 0.0)
    d0 = start[laws[0]]
    if refine_density:
        lo, hi = domain_range
        if not 0 < lo < 1 < hi or nodes < 2:
            raise NanotwinError(f"twin-density nodes: need lo < 1 < hi and >= 2 nodes, got {domain_range}, "
                                f"{nodes}")
        plan = [1.0 / nu for nu in chebyshev_nodes(1.0 / (hi * d0), 1.0 / (lo * d0), nodes)]
    else:
        plan = [d0]
    members = []
    for k, d in enumerate(plan):
        part = None if progress is None else (lambda f, k=k: progress((k + f) / len(plan)))
        hist = ensemble_histograms(structure, laws, {law: start[law] * d / d0 for law in laws}, shape=shape,
                                   coherent_element=coherent_element, n_threads=n_threads, progress=part,
                                   **sizes)
        members.append(SizeMember(size, hist, int(round(hist.n_atoms)),
                                  domain_nm=d if refine_density else None))
    model = PDFModel(members, qmin=qmin, qmax=qmax, radiation=radiation, weights=weights, baseline=baseline)
    model.domain_start = d0
    return model
