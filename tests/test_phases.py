"""Reflections of any structure for tick marks (nanotwin_core.phases): positions, multiplicities,
superstructure classes and zoom, against an independent brute-force sum and the Pbnm rules."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from nanotwin_core.phases import find_subcell, phase_reflections, superstructure_zoom
from nanotwin_core.reflections import superstructure_class
from nanotwin_core.structures.library import get_structure
from nanotwin_core.structures.structure import Cell, Site, Structure

PBS_A = 5.934


def brute_force_families(frac, z, a, q_max):
    """|Q| -> number of hkl with F != 0, by summing over every hkl of a cubic cell (no gemmi)."""
    n = int(np.ceil(q_max * a / (2 * np.pi))) + 1
    out: dict[float, int] = {}
    for h, k, l in itertools.product(range(-n, n + 1), repeat=3):  # noqa: E741
        if (h, k, l) == (0, 0, 0):
            continue
        q = 2 * np.pi * np.sqrt(h * h + k * k + l * l) / a
        if q > q_max:
            continue
        f = np.sum(z * np.exp(2j * np.pi * (frac @ np.array([h, k, l]))))
        if abs(f) > 1e-6:
            key = round(q, 6)
            out[key] = out.get(key, 0) + 1
    return out


def test_pbs_ticks_sit_at_its_d_spacings_with_their_multiplicities():
    refl = phase_reflections(get_structure("PbS-rocksalt"), 6.0)
    fcc = np.array([[0, 0, 0], [0, 0.5, 0.5], [0.5, 0, 0.5], [0.5, 0.5, 0]])
    frac = np.vstack([fcc + 0.5, fcc])
    z = np.array([82.0] * 4 + [16.0] * 4)
    ref = brute_force_families(frac % 1.0, z, PBS_A, 6.0)
    merged: dict[float, int] = {}  # (3 3 3) and (5 1 1) are two families at one Q
    for r in refl:
        merged[round(r.q, 6)] = merged.get(round(r.q, 6), 0) + r.multiplicity
    assert merged == ref
    first = {r.label: (r.d, r.multiplicity) for r in refl[:4]}
    assert first["(1 1 1)"] == pytest.approx((PBS_A / np.sqrt(3), 8))
    assert first["(0 2 0)"] == pytest.approx((PBS_A / 2, 6))
    assert first["(0 2 2)"] == pytest.approx((PBS_A / np.sqrt(8), 12))
    assert all(r.klass == "fundamental" for r in refl)
    assert all(r.q == pytest.approx(2 * np.pi / r.d) for r in refl)


def test_acentric_multiplicity_counts_friedel_mates():
    refl = phase_reflections(get_structure("CdSe-zincblende"), 3.0)
    assert [(r.label, r.multiplicity) for r in refl[:3]] == [("(1 1 1)", 8), ("(0 2 0)", 6), ("(0 2 2)", 12)]


@pytest.mark.parametrize("name", ["PbS-rocksalt", "CdSe-zincblende", "CsPbBr3-alpha", "CsPbI3-delta"])
def test_no_superstructure_where_there_is_none(name):
    structure = get_structure(name)
    assert find_subcell(structure) is None
    assert superstructure_zoom(structure) is None
    assert {r.klass for r in phase_reflections(structure, 4.0)} == {"fundamental"}


def test_a_hidden_centring_is_no_superstructure():
    """PbS written in P1 (eight atoms): the fcc translations move no atom, they are lattice
    vectors the cell hides, not pseudo-translations."""
    expanded = get_structure("PbS-rocksalt").expand()
    pairs = zip(expanded.elements, expanded.frac, strict=True)
    sites = [Site(f"{e}{i}", str(e), tuple(f)) for i, (e, f) in enumerate(pairs)]
    p1 = Structure("PbS-P1", Cell(PBS_A, PBS_A, PBS_A), "P 1", tuple(sites))
    assert find_subcell(p1) is None
    q_p1 = sorted({round(r.q, 6) for r in phase_reflections(p1, 5.0)})
    q_fm3m = [round(r.q, 6) for r in phase_reflections(get_structure("PbS-rocksalt"), 5.0)]
    assert q_p1 == q_fm3m  # the hidden centring's absences come out of |F|^2


def test_gamma_cspbbr3_classes_follow_the_pbnm_rules():
    structure = get_structure("CsPbBr3-gamma")
    sub = find_subcell(structure)
    assert sub is not None and 0.2 < sub.displacement < 1.5
    assert abs(np.linalg.det(sub.basis)) == pytest.approx(structure.cell.volume / 4)
    refl = phase_reflections(structure, 4.0)
    assert {r.klass for r in refl} == {"fundamental", "R", "M", "X"}
    for r in refl:
        assert r.klass == superstructure_class(*r.hkl), r


def test_superstructure_zoom_is_the_papers_region():
    lo, hi = superstructure_zoom(get_structure("CsPbBr3-gamma"))
    assert lo == pytest.approx(1.49, abs=0.02) and hi == pytest.approx(2.2, abs=0.02)
    lo_i, hi_i = superstructure_zoom(get_structure("CsPbI3-gamma"))
    assert lo_i < lo and hi_i < hi  # the larger iodide cell moves the window to lower Q
