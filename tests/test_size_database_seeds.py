"""Adaptive boundary-network realisations per size in twinned size databases."""

from __future__ import annotations

import numpy as np

from nanotwin_core.population.grid import prism_steps_nm
from nanotwin_core.refine.size_database import build_size_database
from nanotwin_core.structures.library import get_structure

LAWS = ("1/2<110>{110}", "1/2<110>{001}", "1/2<001>{110}")


def _db(min_domains):
    s = get_structure("CsPbBr3-gamma")
    return build_size_database(s, "prism", [(3, 2), (8, 6)], prism_steps_nm(s.cell), (1.0, 2.5),
                               twins=LAWS, domain_size_nm=1.5, seeds=(1, 2, 3, 4), min_domains=min_domains)


def test_large_crystals_use_fewer_realisations() -> None:
    every = _db(None)
    assert every.info["seeds_per_size"] == [4, 4]
    # a 3 x 2 cell prism holds a few 1.5 nm domains, an 8 x 6 one many more
    adaptive = _db(40)
    small, large = adaptive.info["seeds_per_size"]
    assert small > large >= 1
    assert np.all(np.isfinite(adaptive.sinc))
    # enough domains asked for: every seed runs, and the sums are those of the full average
    full = _db(10_000)
    assert full.info["seeds_per_size"] == [4, 4]
    np.testing.assert_allclose(full.sinc, every.sinc, rtol=1e-6)
