"""Bragg and diffuse parts of the superstructure classes (issue 18; docs/internals.md "Bragg and
diffuse"): classes from each structure's own subcell, the Bragg part against brute-force |F(G)|^2
and against Monte Carlo realisations, the window integrals against closed forms, and the split
adding up to the window's total computed by the ordinary (independent) route."""

from __future__ import annotations

import json

import numpy as np
import pytest

from nanotwin_core.bragg_diffuse import (
    bragg_fractions,
    measure_crystal,
    measure_ensemble,
    window_grid,
    window_integral,
)
from nanotwin_core.builder import (
    apply_boundaries,
    build_crystal,
    find_ownership,
    regular_boundaries,
    select_prism,
)
from nanotwin_core.builder.twin_laws import expand_laws
from nanotwin_core.class_fields import RESIDUES, character, class_label, class_nodes
from nanotwin_core.cli import main
from nanotwin_core.demos import default_adp
from nanotwin_core.reflections import reflections, superstructure_class
from nanotwin_core.scattering import compute_histograms, debye_intensity
from nanotwin_core.scattering.radiation import Neutron
from nanotwin_core.structures.library import get_structure
from nanotwin_core.subcell import find_subcell

A, B, C = "1/2<110>{110}", "1/2<110>{001}", "1/2<001>{110}"
Z = {"Cs": 55, "Pb": 82, "Br": 35}


@pytest.fixture(scope="module")
def gamma():
    return get_structure("CsPbBr3-gamma")


def test_classes_come_from_each_structures_own_subcell() -> None:
    gamma = find_subcell(get_structure("CsPbBr3-gamma"))
    hkl = np.stack(np.meshgrid(*[np.arange(-4, 5)] * 3, indexing="ij"), -1).reshape(-1, 3)
    assert gamma.classify(hkl) == [superstructure_class(*v) for v in hkl]  # Pbnm: (h+k, k-h, l)
    assert find_subcell(get_structure("CsPbBr3-beta")).names == ("fundamental", "M")
    assert find_subcell(get_structure("CsPbBr3-alpha")).names == ("fundamental",)
    assert find_subcell(get_structure("CsPbI3-delta")) is None  # Pb is not a Bravais lattice
    beta = {r.klass for r in reflections(get_structure("CsPbBr3-beta"), 3.0)}
    alpha = {r.klass for r in reflections(get_structure("CsPbBr3-alpha"), 3.0)}
    delta = {r.klass for r in reflections(get_structure("CsPbI3-delta"), 2.0)}
    assert beta == {"fundamental", "M"} and alpha == {"fundamental"} and delta == {None}


@pytest.mark.parametrize("domain_nm", [1.5, 3.0, 6.0])
def test_x_bragg_of_a_110_network_is_the_untwinned_one(gamma, domain_nm) -> None:
    m = measure_ensemble(gamma, (A, B), domain_nm, size_ab_nm=3, size_c_nm=3, b_iso=default_adp(gamma))
    bragg, diffuse = m.relative("bragg"), m.relative("diffuse")
    assert bragg["X"] == pytest.approx(1.0, abs=1e-3) and abs(diffuse["X"]) < 1e-3
    assert bragg["R"] < 0.9 and bragg["M"] < 0.9 and diffuse["R"] > 0.05
    assert bragg["fundamental"] == pytest.approx(1.0, abs=1e-12)


def structure_factors(crystal, hkl: np.ndarray) -> np.ndarray:
    """Brute force F(G) = sum_j o_j Z_j exp(i G . r_j) over the crystal's atoms."""
    g = 2 * np.pi * hkl @ np.linalg.inv(crystal.cell).T
    z = np.array([Z[e] for e in crystal.elements], float) * crystal.occupancy
    return np.exp(1j * crystal.positions @ g.T).T @ z


def test_one_001_boundary_keeps_m_bragg_and_removes_r_and_x(gamma) -> None:
    size = {"size_ab_nm": 5.0, "size_c_nm": 5.0}
    twinned = build_crystal(gamma, twins=(C,), boundaries=1, **size)
    m = measure_crystal(twinned, gamma, b_iso=default_adp(gamma))
    bragg = m.relative("bragg")
    assert bragg["M"] == pytest.approx(1.0, abs=1e-12)
    assert bragg["R"] < 0.05 and bragg["X"] < 0.05
    assert m.relative("diffuse")["R"] > 0.5
    # independent: |F(G)|^2 summed over every G of a class in the window, from the atoms
    untwinned = build_crystal(gamma, lattice="sublattice", **size)
    recip = 2 * np.pi * np.linalg.inv(gamma.cell.matrix).T
    hkl = np.stack(np.meshgrid(*[np.arange(-6, 7)] * 3, indexing="ij"), -1).reshape(-1, 3)
    q = np.linalg.norm(hkl @ recip, axis=1)
    hkl = hkl[(q > 1.5) & (q < 2.2)]
    names = np.array(find_subcell(gamma).classify(hkl))
    f_t, f_u = abs(structure_factors(twinned, hkl)) ** 2, abs(structure_factors(untwinned, hkl)) ** 2
    for name in ("R", "M", "X"):
        ratio = f_t[names == name].sum() / f_u[names == name].sum()
        assert ratio == pytest.approx(bragg[name], abs=1e-3), name


def test_mixed_network_bragg_falls_monotonically_with_domain_size(gamma) -> None:
    sizes = (20.0, 8.0, 4.0, 2.0, 1.0)
    rows = [bragg_fractions(gamma, (A, B, C), d, size_ab_nm=5, size_c_nm=5) for d in sizes]
    for name in ("R", "M", "X"):
        values = [r[name] for r in rows]
        assert all(a > b for a, b in zip(values, values[1:], strict=False)), (name, values)
        assert values[0] < 1.0 and values[-1] < 0.1
    m = measure_ensemble(gamma, (A, B, C), 2.0, size_ab_nm=5, size_c_nm=5)
    for name in ("R", "M", "X"):
        assert m.relative("bragg")[name] == pytest.approx(rows[3][name], rel=1e-12)


def test_bragg_plus_diffuse_is_the_window_total(gamma) -> None:
    b = default_adp(gamma)
    m = measure_ensemble(gamma, (A, B, C), 2.0, size_ab_nm=3, size_c_nm=3, b_iso=b)
    parts = sum(p.bragg + p.diffuse for p in m.classes.values()) + m.local
    assert parts == pytest.approx(m.total, rel=1e-6)  # the total: ensemble_histograms + debye_intensity
    assert abs(m.cross) < 1e-9 * m.total
    # one crystal: classes interfere a little; averaged over its 4 global variants they do not
    sel = select_prism(gamma, 3.0, 3.0)
    own = sel.ownership
    members = [(law.label, mem) for law, mem in expand_laws((C,), gamma)]
    blist = regular_boundaries(sel.node_frac(), members, 1)
    measures = [measure_crystal(apply_boundaries(sel, blist, base_shift=own.class_offsets[t]), gamma, b_iso=b)
                for t in range(own.n_classes)]
    assert abs(measures[0].cross) > 1e-4 * measures[0].total
    assert abs(np.mean([x.cross for x in measures])) < 1e-9 * measures[0].total
    for x in measures:
        assert sum(p.bragg + p.diffuse for p in x.classes.values()) + x.local + x.cross == pytest.approx(
            x.total, rel=1e-12)


def test_window_integral_matches_the_closed_form(gamma) -> None:
    crystal = build_crystal(gamma, size_ab_nm=2.5, size_c_nm=2.5, lattice="sublattice")
    hist = compute_histograms(crystal)
    lo, hi = 1.5, 2.2
    q, w = window_grid((lo, hi), hist.r_max)
    numeric = window_integral(q, w, debye_intensity(hist, q, radiation=Neutron()))
    length = {t: float(Neutron().form_factor(t.element, np.zeros(1))[0].real) for t in hist.types}
    b = {t: length[t] * t.occupancy for t in hist.types}  # o b, constant in Q (neutrons, B = 0)
    exact = sum(n * t.occupancy * length[t] ** 2 for t, n in zip(hist.types, hist.type_counts, strict=True)
                ) * (hi**3 - lo**3) / 3  # self terms: 3 int Q^2 dQ
    r = hist.r
    for p, (ta, tb) in enumerate(hist.pairs):
        nz = np.nonzero(hist.counts[p])[0]
        rr, cnt = r[nz], hist.counts[p, nz]

        def prim(x, rr=rr):
            return np.where(rr > 0, (np.sin(x * rr) - x * rr * np.cos(x * rr)) / np.where(rr > 0, rr, 1) ** 3,
                            x**3 / 3)

        exact += 2 * b[hist.types[ta]] * b[hist.types[tb]] * float(np.sum(cnt * (prim(hi) - prim(lo))))
    assert numeric == pytest.approx(4 * np.pi * exact, rel=1e-7)


def test_ensemble_bragg_is_the_mean_over_realisations(gamma) -> None:
    size = {"size_ab_nm": 3.0, "size_c_nm": 3.0}
    own = find_ownership(gamma)
    alphas = []
    for seed in range(120):
        crystal = build_crystal(gamma, twins=(A, B, C), domain_size_nm=2.0, seed=seed, **size)
        nodes, ids = crystal.lattice.occupied_nodes()
        variant = own.class_of(nodes - class_nodes(own)[ids])  # the class of each node's shift
        alphas.append({class_label(h): float(np.mean(character(h, class_nodes(own)[variant])))
                       for h in RESIDUES if class_label(h) in ("R",) or tuple(h) in ((0, 0, 1), (1, 1, 0))})
    beta = bragg_fractions(gamma, (A, B, C), 2.0, **size)
    for name in ("R", "M", "X"):
        sq = np.array([a[name] ** 2 for a in alphas])
        assert abs(sq.mean() - beta[name]) < 3 * sq.std(ddof=1) / np.sqrt(len(sq)) + 1e-12, name


def test_superstructure_command_writes_the_json(tmp_path, capsys) -> None:
    out = tmp_path / "s.json"
    code = main(["superstructure", "--structure", "CsPbBr3-gamma", "--size-ab", "3", "--size-c", "3",
                 "--twin", C, "--boundaries", "1", "--json", str(out), "--quiet"])
    assert code == 0
    doc = json.loads(out.read_text())
    assert set(doc) >= {"bragg", "diffuse", "at_positions", "absolute"}
    assert doc["bragg"]["M"] == pytest.approx(1.0) and doc["bragg"]["R"] < 0.5
    printed = capsys.readouterr().out
    assert "Bragg" in printed and "at positions" in printed
    code = main(["superstructure", "--structure", "CsPbBr3-alpha", "--size-ab", "3", "--size-c", "3"])
    assert code == 2
    assert "no superstructure classes" in capsys.readouterr().err
