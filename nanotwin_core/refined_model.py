"""A fit's refined values carried back into the ``Model`` (the window's Accept).

A refinement works on named parameters (``B_<group>``, ``occ_<group>``, ``D_nm``,
``Dab_nm_<component>``, ``domain_nm``, ``zero``, ``texture`` (the ratio), tilt angles, chain and
ligand terms, ...); the model keeps its own fields. ``refined_model`` returns a copy of the model
whose fields hold the refined values, so that building, simulating or fitting it again starts where
the fit ended, and
says which refined values have no field in the model (they stay in the fit's report and
project): the cell lengths (the structure file is never rewritten), the lattice expansion.
Linear terms (scales, background, fractions) are a fit's, not a model's.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping

from nanotwin_core.builder.networks import domain_sizes_by_law
from nanotwin_core.builder.twin_laws import parse_twin_law
from nanotwin_core.model import Model
from nanotwin_core.model_parts import PopulationSpec
from nanotwin_core.refine.occupancy import OCC_PREFIX

SIZE_FIELDS = {"Dab_nm": "Dab", "sab": "sab", "Lc_nm": "Lc", "sc": "sc", "D_nm": "D", "sD": "sD"}
TILT_NAMES = ("tilt_ab_deg", "tilt_c_deg")
MODEL_FIELDS = ("chain_beads", "chain_gap_A", "ligand_shell_A", "ligand_density")  # parameter = field
NO_MODEL_FIELD = {"a_A": "cell a", "b_A": "cell b", "c_A": "cell c", "expansion": "lattice expansion"}


def refined_model(model: Model, values: Mapping[str, float]) -> tuple[Model, list[str]]:
    """(copy of ``model`` holding the refined ``values``, notes on values it cannot hold).

    ``values``: parameter name -> refined value (a fit summary's parameters, or
    ``FitResult.params``' values). Unknown names and linear terms are left out silently: they
    are a fit's, not a model's.
    """
    new = copy.deepcopy(model)
    notes = []
    for name, value in values.items():
        value = float(value)
        if name.startswith("B_"):
            new.adp[name[2:]] = value
        elif name.startswith(OCC_PREFIX):
            new.occupancy[name[len(OCC_PREFIX):]] = value
        elif name in MODEL_FIELDS:
            setattr(new, name, value)
        elif name == "zero":
            new.instrument.zero = value
        elif name == "texture" and new.texture is not None:
            new.texture.ratio = value
        elif name == "domain_nm" and new.twins:
            new.domain_size_nm = _scaled_domain_sizes(new, value)
        elif name in TILT_NAMES and new.tilt is not None:
            angles = list(new.tilt) + [new.tilt[-1]] * (2 - len(new.tilt))
            angles[TILT_NAMES.index(name)] = value
            new.tilt = angles
        elif name in NO_MODEL_FIELD and not (name == "expansion" and value == 0.0):
            notes.append(f"{NO_MODEL_FIELD[name]} ({name} = {value:.6g}) stays in the fit: the model has no "
                         "field for it")
        else:
            _set_size(new, name, value)
    return new.validate(), notes


def _scaled_domain_sizes(model: Model, shared_nm: float) -> float | dict[str, float]:
    """Domain sizes with the first law's equal to ``shared_nm`` (twin_density's convention: the
    laws keep their ratios)."""
    if not isinstance(model.domain_size_nm, (dict, str)):
        return shared_nm
    laws = [parse_twin_law(t).label for t in model.twins]
    start = domain_sizes_by_law(model.domain_size_nm, laws)
    factor = shared_nm / start[laws[0]]
    return {law: size * factor for law, size in start.items()}


def _set_size(model: Model, name: str, value: float) -> None:
    """A size parameter ``<field>[_<component>]`` into the model's or a component's population."""
    for prefix, attr in SIZE_FIELDS.items():
        if name == prefix:
            model.population = _with(model.population, attr, value)
            return
        if name.startswith(prefix + "_"):
            component = name[len(prefix) + 1:]
            for spec in model.components:
                if spec.name == component:
                    spec.population = _with(spec.population, attr, value)
                    return


def _with(population: PopulationSpec | None, attr: str, value: float) -> PopulationSpec:
    new = copy.copy(population) if population is not None else PopulationSpec()
    setattr(new, attr, value)
    return new
