"""Refinable occupancies per site group, and the refined composition with esds.

Parameters ``occ_<group>`` (0-1) scale the occupancy of every site of an ADP/occupancy group
(``S_surf``, ``Pb``...) or, named by element, of every group of that element without its own
factor. The stored distance sums are per type pair, so an occupancy only re-weights them
(``scattering.debye.occupancy_factors``): no crystal is rebuilt, no pair recounted.

What ``--refine occupancy`` frees: the groups named in the model's ``occupancy`` table when it
names any; else every surface group (``*_surf``) of an element other than the coherent one;
else every group of an element other than the coherent one (the coherent sublattice, Pb, is the
reference the scale factor already fixes).
"""

from __future__ import annotations

import numpy as np

from nanotwin_core.refine.fit_summary import propagate_all
from nanotwin_core.refine.parameter_providers import FitSetup, ParameterProvider, register_provider
from nanotwin_core.refine.parameters import Parameter
from nanotwin_core.refine.report import format_esd
from nanotwin_core.scattering.debye import occupancy_factors
from nanotwin_core.structures.adp import SURFACE_SUFFIX

__all__ = ["OCC_PREFIX", "OccupancyProvider", "composition_markdown", "composition_summary",
           "default_occupancy_groups", "fit_composition", "occupancy_values"]

OCC_PREFIX = "occ_"


def occupancy_values(values: dict[str, float]) -> dict[str, float]:
    """{group or element: factor} of the ``occ_`` parameters among ``values``."""
    return {k[len(OCC_PREFIX):]: v for k, v in values.items() if k.startswith(OCC_PREFIX)}


def default_occupancy_groups(types, coherent_element: str) -> list[str]:
    """The groups ``--refine occupancy`` frees when the model names none (module doc)."""
    others = sorted({t.adp_group for t in types if t.base_element != coherent_element})
    surface = [g for g in others if g.endswith(SURFACE_SUFFIX)]
    return surface or others


class OccupancyProvider(ParameterProvider):
    """``occ_<group>`` (0-1) for the groups the model names and, when refined, the default ones."""

    keywords = ("occupancy",)

    def parameters(self, setup: FitSetup) -> list[Parameter]:
        named = dict(setup.model.occupancy)
        free = setup.refined(self.keywords)
        types = [t for db in _databases(setup) for t in db.types]
        groups = list(named)
        if free and not named:
            groups = default_occupancy_groups(types, setup.model.coherent_element)
            if not groups:
                setup.messages.append("occupancy not refined: no site group besides the coherent element's")
        return [Parameter(f"{OCC_PREFIX}{g}", named.get(g, 1.0), free, 0.0, 1.0) for g in groups]


def _databases(setup: FitSetup) -> list:
    return [c.database for c in setup.components] if setup.components else [setup.database]


register_provider("occupancy", OccupancyProvider())


# ----------------------------------------------------------------------------- composition
def _composition(database, weights: np.ndarray, values: dict[str, float], reference: str) -> dict[str, float]:
    """Atoms per element of the number-mean crystal, relative to ``reference`` (= 1)."""
    factors = occupancy_factors(list(database.types), occupancy_values(values))
    per_type = (np.asarray(weights, float) @ np.asarray(database.self_sums, float)) * factors
    out: dict[str, float] = {}
    for t, n in zip(database.types, per_type, strict=True):
        out[t.base_element] = out.get(t.base_element, 0.0) + float(n)
    ref = out.get(reference)
    if not ref:
        return out
    return {el: n / ref for el, n in out.items()}


def composition_summary(problem, result) -> dict:
    """The refined composition of a (non-mixture) fit: atoms per element of the number-mean
    crystal relative to the coherent element, with esds from the full covariance.

    Returns {"formula": "Pb1.00S0.86(1)", "reference", "elements": {el: {"value", "esd"}}}, or {}
    for mixtures (their compositions differ per component).
    """
    if problem.components:
        return {}
    reference = problem.model.coherent_element
    db = problem.database

    def fn(values: dict[str, float]) -> dict[str, float]:
        return _composition(db, problem.size_weights(values), values, reference)

    prop = propagate_all(problem, result, fn)
    order = sorted(prop, key=lambda el: (el != reference, el))
    parts = []
    for el in order:
        value, esd = prop[el]
        fixed = el == reference or esd is None or esd < 1e-6 * max(abs(value), 1.0)  # numerical noise
        parts.append(f"{el}{value:.2f}" if fixed else f"{el}{format_esd(value, esd)}")
    return {"formula": "".join(parts), "reference": reference, "weighting": "number-mean crystal",
            "elements": {el: {"value": prop[el][0], "esd": prop[el][1]} for el in order}}


def fit_composition(problem, result) -> dict:
    """``composition_summary`` when the composition is a result of the fit (occupancies in the
    model or a termination), else {} (the structure's formula)."""
    if any(p.name.startswith(OCC_PREFIX) for p in result.params) or problem.model.termination:
        return composition_summary(problem, result)
    return {}


def composition_markdown(composition: dict) -> str:
    """The composition section of a fit report ("" without one)."""
    if not composition:
        return ""
    return (f"\n## Composition\n\n{composition['formula']} (atoms per {composition['reference']}, "
            f"{composition['weighting']})\n")
