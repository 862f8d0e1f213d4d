"""`nanotwin simulate --population` and `nanotwin population` against independent numbers."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from nanotwin_core.cli import main
from nanotwin_core.io.data import read_pattern
from nanotwin_core.structures.library import get_structure


def _lognormal_stats(mean: float, rel: float, k: float) -> float:
    """E[X^k] of a log-normal with number mean ``mean`` and relative sigma ``rel``."""
    s2 = math.log(1 + rel * rel)
    mu = math.log(mean) - s2 / 2
    return math.exp(k * mu + k * k * s2 / 2)


def test_population_table2_matches_paper(capsys) -> None:
    # Table 2 of Bertolotti et al. (2017), CsPbBr3: <D_ab> 8.19 (0.24), <L_c> 9.79 (0.20)
    # -> aspect 1.19, D_eq 9.84 (0.17). The paper's inputs are rounded to 2 decimals.
    assert main(["population", "Dab=8.19,sab=0.24,Lc=9.79,sc=0.20", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    n = out["number"]
    assert n["aspect"] == pytest.approx(1.19, abs=0.01)
    assert n["d_eq"] == pytest.approx(9.84, abs=0.02)
    assert n["s_eq"] == pytest.approx(0.17, abs=0.005)
    # independent closed form: D_eq = (1.5 D^2 L)^(1/3), D and L independent log-normals
    d_eq = 1.5 ** (1 / 3) * _lognormal_stats(8.19, 0.24, 2 / 3) * _lognormal_stats(9.79, 0.20, 1 / 3)
    assert n["d_eq"] == pytest.approx(d_eq, rel=1e-9)


def test_population_sphere_volume_weighted(capsys) -> None:
    assert main(["population", "D=5,sD=0.2", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["number"]["mean"] == pytest.approx(5.0)
    # volume-weighted mean <D^4>/<D^3>
    assert out["number"]["mean_vol"] == pytest.approx(
        _lognormal_stats(5, 0.2, 4) / _lognormal_stats(5, 0.2, 3), rel=1e-9)


def test_population_bad_spec_is_one_line(capsys) -> None:
    assert main(["population", "Dab=8,sab=0.2"]) == 2
    err = capsys.readouterr().err
    assert "Lc" in err and "Traceback" not in err


def test_simulate_narrow_population_equals_single_crystal(tmp_path) -> None:
    # Analytic limit: a population with a tiny dispersion is one crystal of the mean size.
    # Sphere sizes step by the cube root of the primitive (fcc) cell volume, a / 4^(1/3); the
    # mean is put on a step so that the population's one crystal is the single build's.
    a_nm = get_structure("PbS-rocksalt").cell.a / 10
    d_nm = f"{6 * a_nm / 4 ** (1 / 3):.6f}"
    grid = ["--q", "1.0:6.0:0.01", "--no-anomalous"]
    common = ["--structure", "PbS-rocksalt", "--shape", "sphere", *grid, "--adp", "Pb=1.0,S=1.0"]
    assert main(["simulate", *common, "--size", d_nm, "--out", str(tmp_path / "one.xye")]) == 0
    assert main(["simulate", *common, "--population", f"D={d_nm},sD=0.001",
                 "--out", str(tmp_path / "pop.xye")]) == 0
    one = read_pattern(tmp_path / "one.xye")
    pop = read_pattern(tmp_path / "pop.xye")
    # two numerical routes (the single crystal's quadratic 0.005 Å sampling, the size database's
    # six-point sampling, refine/fast_database.py), each within ~1e-6 of the exact Debye sum
    np.testing.assert_allclose(pop.y, one.y, rtol=1e-6, atol=1e-6 * one.y.max())
    header = "\n".join(pop.header)
    assert "intensity fraction left out" in header


def test_simulate_population_is_weighted_mean(tmp_path) -> None:
    # A wider population lies between its smallest and largest members, point by point,
    # and its integrated intensity per crystal matches the number-weighted mean atom count
    # (I ~ sum f^2 at high Q is proportional to N).
    grid = ["--q", "6.0:9.0:0.01", "--no-anomalous"]
    common = ["--structure", "PbS-rocksalt", "--shape", "sphere", *grid]
    assert main(["simulate", *common, "--population", "D=2.0,sD=0.2",
                 "--out", str(tmp_path / "pop.xye")]) == 0
    assert main(["simulate", *common, "--size", "2.0", "--out", str(tmp_path / "one.xye")]) == 0
    pop = read_pattern(tmp_path / "pop.xye")
    one = read_pattern(tmp_path / "one.xye")
    # At high Q the Debye sum tends to its self term N <f^2>: the ratio of the two patterns is
    # the ratio of mean atom counts, <D^3>/D^3 = (1 + s^2)^3 for a log-normal (D=2 nm, s=0.2),
    # up to the discreteness of atoms in small spheres (a few per cent).
    ratio = float(np.mean(pop.y) / np.mean(one.y))
    assert ratio == pytest.approx((1 + 0.2**2) ** 3, rel=0.06)
