"""The paper's physics in powder patterns (issue: coherent twins, done-when (b)).

Per superstructure class (R, M, X), the height of I - I0 at the exact reflection positions, I0
the same crystal at zero tilt, relative to the untwinned crystal (what a peak-height reader sees),
next to the Bragg part of each class (``bragg_diffuse.py``); ~9 x 10 nm CsPbBr3 gamma prisms,
random networks as exact ensemble averages.
"""

from __future__ import annotations

import numpy as np
import pytest

from nanotwin_core.demos import default_adp
from nanotwin_core.structures.library import get_structure
from nanotwin_core.superstructure import superstructure_rows, zero_tilt

A, B, C = "1/2<110>{110}", "1/2<110>{001}", "1/2<001>{110}"


def _per_plane(d: float) -> dict[str, float]:
    """Per-law sizes that space boundaries by ``d`` nm along every normal: A and C share the
    {110} planes, so each of them gets 2 d (a domain size is the spacing of one law's planes)."""
    return {A: 2 * d, B: d, C: 2 * d}


@pytest.fixture(scope="module")
def table() -> dict[str, dict]:
    models = [
        ("one", dict(twins=(C,), boundaries=1)),
        ("t1 network 3", dict(twins=(A, B), domain_size_nm=3.0, ensemble=True)),
        ("mixed 3", dict(twins=(A, B, C), domain_size_nm=_per_plane(3.0), ensemble=True)),
        ("mixed 2", dict(twins=(A, B, C), domain_size_nm=_per_plane(2.0), ensemble=True)),
        ("mixed 1.5", dict(twins=(A, B, C), domain_size_nm=_per_plane(1.5), ensemble=True)),
    ]
    s = get_structure("CsPbBr3-gamma")
    rows = superstructure_rows(s, models, size_ab_nm=9.0, size_c_nm=10.0, b_iso=default_adp(s))
    return {r["label"]: {**r, **r["at_positions"], "total": r["at_positions_total"]} for r in rows}


def test_zero_tilt_removes_every_superstructure_reflection() -> None:
    from nanotwin_core.builder import build_crystal
    from nanotwin_core.reflections import reflections
    from nanotwin_core.scattering.form_factors import element_of

    s = get_structure("CsPbBr3-gamma")
    c0 = zero_tilt(build_crystal(s, shape="prism", size_ab_nm=3, size_c_nm=3, twins=(C,), boundaries=1))
    z = {"Cs": 55, "Pb": 82, "Br": 35}
    f = np.array([z[element_of(e)] for e in c0.elements], float)
    recip = np.linalg.inv(s.cell.matrix).T
    for r in reflections(s, 2.3, q_min=1.0):
        amp = abs(np.exp(2j * np.pi * c0.positions @ (np.array(r.hkl) @ recip)) @ f)
        if r.klass == "fundamental":
            assert amp > 1e3
        else:
            assert amp < 1e-6 * f.sum(), (r.hkl, amp)


def test_one_001_boundary_looks_tetragonal(table) -> None:
    row = table["one"]
    assert row["R"] < 0.6  # R halves
    assert 0.9 < row["M"] < 1.2  # M kept


def test_t1_only_network_keeps_x(table) -> None:
    row = table["t1 network 3"]
    assert row["R"] < 0.5 and row["M"] < 0.6
    assert row["X"] > 0.9
    # the class measure: X Bragg exactly untouched; the at-position X height rises with spilled R, M
    assert row["bragg"]["X"] == pytest.approx(1.0, abs=1e-9) and row["X"] > 1.2


def test_mixed_networks_fade_the_superstructure(table) -> None:
    mixed = [table[f"mixed {d}"] for d in ("3", "2", "1.5")]
    for row in mixed:
        assert row["R"] < 0.5 and row["M"] < 0.6
    totals = [row["total"] for row in mixed]
    assert totals[0] > totals[1] > totals[2]
    # mixing the cosets lowers X against the 1/2<110>-only network of the same domain size
    assert mixed[0]["X"] < table["t1 network 3"]["X"]
    assert mixed[2]["X"] < mixed[0]["X"]


def test_fundamentals_barely_change(table) -> None:
    for row in table.values():
        assert abs(row["I110"] - 1) < 0.03 and abs(row["I200"] - 1) < 0.03
