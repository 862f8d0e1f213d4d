"""Pseudocubic reflection positions and superstructure classes for the tick rows: the core's
(``nanotwin_core.reflections``), under the names the window has always used."""

from __future__ import annotations

from nanotwin_core.reflections import (
    CLASS_BY_ODD,
    CLASSES,
    Tick,
    pseudocubic_a,
    pseudocubic_a_of_crystal,
    pseudocubic_a_of_structure,
    pseudocubic_ticks,
)

TICK_CLASSES = CLASSES

__all__ = ["CLASS_BY_ODD", "TICK_CLASSES", "Tick", "pseudocubic_a", "pseudocubic_a_of_crystal",
           "pseudocubic_a_of_structure", "pseudocubic_ticks"]
