"""One classification of the superstructure reflections in both index systems."""

from __future__ import annotations

import numpy as np

from nanotwin_core.reflections import pseudocubic_a_of_structure, pseudocubic_ticks, reflections
from nanotwin_core.structures.structure import Cell, Site, Structure


def ideal_pbnm() -> Structure:
    """A Pbnm cell exactly sqrt2 a_p x sqrt2 a_p x 2 a_p with tilted-looking sites (all classes)."""
    a_p = 5.9
    return Structure("ideal", Cell(np.sqrt(2) * a_p, np.sqrt(2) * a_p, 2 * a_p), "P b n m", [
        Site("Pb", "Pb", (0.5, 0.0, 0.0)),
        Site("Cs", "Cs", (0.99, 0.03, 0.25)),
        Site("X1", "Br", (0.07, 0.49, 0.25)),
        Site("X2", "Br", (0.72, 0.28, 0.03)),
    ])


def test_pbnm_classes_match_the_pseudocubic_classes_at_every_q() -> None:
    """A Pbnm reflection hkl and the pseudocubic family at its |Q| carry the same class (R, M, X
    or fundamental): h k l -> doubled pseudocubic (h + k, k - h, l)."""
    s = ideal_pbnm()
    a_p = pseudocubic_a_of_structure(s)
    assert np.isclose(a_p, 5.9)
    ticks = {round(t.q, 5): t.klass for t in pseudocubic_ticks(a_p, 3.5)}
    refl = reflections(s, 3.5, min_f_squared=1e-9)
    assert {r.klass for r in refl} == {"fundamental", "R", "M", "X"}
    for r in refl:
        assert ticks[round(r.q, 5)] == r.klass, (r.hkl, r.q, r.klass)
