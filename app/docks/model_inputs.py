"""What the model dock's text fields hold: twin laws (validated as typed with the core's parser),
seeds, and a line naming the parts of a model the dock does not show."""

from __future__ import annotations

import re

from PySide6.QtGui import QValidator

from nanotwin_core.builder.twin_laws import parse_twin_law
from nanotwin_core.errors import NanotwinError
from nanotwin_core.model import Model

_PARTIAL = re.compile(r"^[0-9./ ]*([<\[][-0-9 ,]*([>\]]\s*([({][-0-9 ,]*[)}]?)?)?)?$")


def expand_twin_law(text: str, structure=None) -> list[str]:
    """Member strings of a twin law, expanded with ``structure``'s point group if given
    (NanotwinError if the text does not parse or no member exists)."""
    return [str(m) for m in parse_twin_law(text).members(structure)]


def format_seeds(seeds: list[int]) -> str:
    """[1, 2, 3, 4] -> "1-4"; [0] -> "0"; [1, 5] -> "1,5"."""
    if len(seeds) > 2 and seeds == list(range(seeds[0], seeds[0] + len(seeds))):
        return f"{seeds[0]}-{seeds[-1]}"
    return ",".join(str(s) for s in seeds)


def parse_seeds(text: str) -> list[int]:
    """"1-4" or "1,2,5" or "0" -> seeds (NanotwinError for anything else)."""
    try:
        if "-" in text.strip().lstrip("-"):
            lo, hi = (int(v) for v in text.split("-", 1))
            seeds = list(range(lo, hi + 1))
        else:
            seeds = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise NanotwinError(f"seeds look like 0, 1-4 or 1,2,5; got {text!r}") from None
    if not seeds or min(seeds) < 0:
        raise NanotwinError(f"seeds look like 0, 1-4 or 1,2,5; got {text!r}")
    return seeds


def hidden_parts(model: Model) -> list[str]:
    """The parts of a model this dock does not show (kept as they are), one phrase each."""
    out = []
    if model.tilt is not None:
        out.append("tilt " + ", ".join(f"{t:g}°" for t in model.tilt))
    if model.adp:
        out.append("B " + ", ".join(f"{k} {v:g}" for k, v in model.adp.items()))
    if model.exclude:
        out.append("excluded pairs " + ", ".join(model.exclude))
    if model.components:
        out.append("mixture of " + ", ".join(f"{c.name} ({c.fraction:g})" for c in model.components))
    if model.coherent_element != "Pb":
        out.append(f"coherent element {model.coherent_element}")
    if model.allow_incoherent:
        out.append("incoherent laws allowed")
    if model.population is not None and model.population.correlation:
        out.append(f"size correlation {model.population.correlation:g}")
    if model.termination:
        out.append(f"termination {model.termination}")
    if model.has_surface_shell:
        out.append(f"surface shell {model.surface_shell_A:g} Å" if model.surface_shell_A is not None
                   else f"surface shell {model.surface_layers} layer(s)")
    if model.occupancy:
        out.append("occupancy " + ", ".join(f"{k} {v:g}" for k, v in model.occupancy.items()))
    if model.chain_beads is not None:
        gap = f", {model.chain_gap_A:g} Å apart" if model.chain_gap_A else ""
        out.append(f"chains of {model.chain_beads:g} crystals{gap}")
    if model.ligand_shell_A is not None:
        out.append(f"ligand shell {model.ligand_shell_A:g} Å at {model.ligand_density:g} e/Å^3")
    return out


class TwinLawValidator(QValidator):
    """Acceptable when the core parses the law; Intermediate while it can still become one."""

    def validate(self, text: str, pos: int):  # noqa: D102 - Qt override
        if not text.strip():
            return QValidator.State.Intermediate, text, pos
        try:
            expand_twin_law(text)
        except NanotwinError:
            if _PARTIAL.match(text):
                return QValidator.State.Intermediate, text, pos
            return QValidator.State.Invalid, text, pos
        return QValidator.State.Acceptable, text, pos
