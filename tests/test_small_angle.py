"""The small-angle region (scattering/small_angle.py, refine/small_angle_fit.py): chains of stacked
crystals and organic ligand shells.

References: Debye sums over crystals stacked explicitly (atom by atom), a numerical radial
integral of the shell amplitude, and the forward-scattering limit.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.integrate import quad

from nanotwin_core.actions import compute_pattern, prepare_model_fit
from nanotwin_core.builder import build_crystal
from nanotwin_core.cli import main
from nanotwin_core.crystal import Crystal
from nanotwin_core.io.data import PatternData
from nanotwin_core.model import FitSpec, Model, PopulationSpec
from nanotwin_core.scattering.debye import exact_debye
from nanotwin_core.scattering.radiation import XRay
from nanotwin_core.scattering.small_angle import chain_factor, ligand_shell_intensity, sphere_amplitude


@pytest.mark.parametrize("population", [None, PopulationSpec(D=2.0, sD=0.1)])
def test_one_crystal_per_chain_is_the_single_pattern(population) -> None:
    q = np.linspace(0.05, 3.0, 200)
    sizes = {"size_nm": 2.0} if population is None else {"population": population}
    plain = Model(structure="PbS-rocksalt", shape="sphere", **sizes)
    chained = Model(structure="PbS-rocksalt", shape="sphere", chain_beads=1.0, **sizes)
    a = compute_pattern(plain, q).intensity
    b = compute_pattern(chained, q).intensity
    assert np.max(np.abs(a - b)) <= 1e-12 * np.max(np.abs(a))


def test_chain_factor_limits_and_real_n() -> None:
    q = np.linspace(0.0, 2.0, 101)
    assert np.array_equal(chain_factor(q, 30.0, 1), np.ones(len(q)))
    for n in (2, 3, 7):
        assert chain_factor(q, 30.0, n)[0] == pytest.approx(n)
    mixed = chain_factor(q, 30.0, 2.25)
    assert np.allclose(mixed, 0.75 * chain_factor(q, 30.0, 2) + 0.25 * chain_factor(q, 30.0, 3), atol=1e-14)
    assert abs(chain_factor(np.array([60.0]), 30.0, 6)[0] - 1.0) < 0.01  # wide angles untouched


def stacked(crystal: Crystal, n: int, spacing_A: float) -> Crystal:
    axis = crystal.cell[2] / np.linalg.norm(crystal.cell[2])
    return Crystal(positions=np.vstack([crystal.positions + k * spacing_A * axis for k in range(n)]),
                   elements=np.tile(crystal.elements, n))


@pytest.mark.parametrize(("kwargs", "guinier_tol", "max_tol"), [
    # spheres and cubes: the decoupling approximation is exact up to the small anisotropy of an
    # atomistic particle (measured: <= 0.15 % in the Guinier region, <= 0.3 % of I(0) up to 1 1/Å)
    (dict(structure="PbS-rocksalt", shape="sphere", size_nm=2.5), 3e-3, 2e-3),
    (dict(structure="CsPbBr3-alpha", shape="cuboid", size_nm=2.35), 3e-3, 5e-3),
    # an elongated prism (16 x 16 x 24 Å): its anisotropy is what the approximation neglects
    # (measured 3-6 % in the Guinier region)
    (dict(structure="CsPbBr3-gamma", shape="prism", size_ab_nm=2.0, size_c_nm=2.4), 0.08, 0.05),
])
@pytest.mark.parametrize("n", [2, 3])
def test_chain_factor_against_explicitly_stacked_crystals(kwargs, guinier_tol, max_tol, n) -> None:
    crystal = build_crystal(**kwargs)
    spacing = 10.0 * crystal.info.get("L_c_nm", crystal.info.get("size_nm"))
    q = np.linspace(0.01, 1.0, 100)
    single = exact_debye(crystal, q)
    reference = exact_debye(stacked(crystal, n, spacing), q) / n
    model = single * chain_factor(q, spacing, n)
    pos = crystal.positions
    rg = np.sqrt(((pos - pos.mean(axis=0)) ** 2).sum(axis=1).mean())
    guinier = q < 1.0 / rg
    assert np.max(np.abs(model - reference)[guinier] / reference[guinier]) < guinier_tol
    assert np.max(np.abs(model - reference)) < max_tol * reference[0]


def test_shell_amplitude_against_a_radial_integral() -> None:
    radius, thickness, rho, z = 25.0, 12.0, 0.33, 9000.0
    for q in (0.0, 0.03, 0.1, 0.25):
        def shell(r, q=q):
            return 4 * np.pi * r * r * rho * (np.sinc(q * r / np.pi))
        a_shell = quad(shell, radius, radius + thickness)[0]
        a_core = z * sphere_amplitude(np.array([q * radius]))[0]
        expected = (a_core + a_shell) ** 2 - a_core**2
        got = ligand_shell_intensity(np.array([q]), np.array([radius]), np.array([z]), thickness, rho,
                                     interface_A=0.0)[0, 0]
        assert got == pytest.approx(expected, rel=1e-9, abs=1e-9 * a_core**2)
        fuzzy = ligand_shell_intensity(np.array([q]), np.array([radius]), np.array([z]), thickness, rho)[0, 0]
        damp = np.exp(-0.5 * (3.0 * q) ** 2)
        assert fuzzy == pytest.approx(2 * a_core * a_shell * damp + (a_shell * damp) ** 2, rel=1e-9,
                                      abs=1e-9 * a_core**2)


def test_ligand_shell_changes_only_the_small_angle_region() -> None:
    q = np.concatenate([[0.005], np.linspace(2.0, 6.0, 50)])
    base = Model(structure="PbS-rocksalt", shape="sphere", size_nm=3.0, radiation=XRay())
    shelled = Model(structure="PbS-rocksalt", shape="sphere", size_nm=3.0, radiation=XRay(),
                    ligand_shell_A=10.0, ligand_density=0.3)
    a, b = compute_pattern(base, q), compute_pattern(shelled, q)
    crystal = a.crystal
    z = sum(XRay().form_factor(str(el), np.zeros(1))[0].real for el in crystal.elements)
    volume = crystal.n_atoms * crystal.cell[0, 0] ** 3 / 8  # rock salt: 8 atoms per cubic cell
    radius = (3 * volume / (4 * np.pi)) ** (1 / 3)
    shell_electrons = 0.3 * 4 / 3 * np.pi * ((radius + 10.0) ** 3 - radius**3)
    # forward scattering: (Z + shell electrons)^2 against Z^2 (q = 0.005 1/Å: ~0.1 % from the limit)
    assert b.intensity[0] / a.intensity[0] == pytest.approx(((z + shell_electrons) / z) ** 2, rel=3e-3)
    assert np.max(np.abs(b.intensity[1:] - a.intensity[1:]) / a.intensity[1:]) < 1e-6


def test_fit_recovers_the_chain_length() -> None:
    q = np.arange(0.03, 2.2, 0.005)
    model = Model(structure="PbS-rocksalt", shape="sphere", population=PopulationSpec(D=2.0, sD=0.1),
                  radiation=XRay(wavelength=0.4955), chain_beads=2.5,
                  fit=FitSpec(refine=["scale", "size", "chain"]))
    problem = prepare_model_fit(model, PatternData(x=q, y=np.ones(len(q)), sigma=np.ones(len(q)), x_kind="q"))
    truth = {p.name: p.value for p in problem.params}
    truth.update(chain_beads=4.0, D_nm=1.9)
    column = problem.basis(truth)[:, 0]
    y = np.random.default_rng(5).poisson(column / column.max() * 1e5 + 10).astype(float)
    fit = problem.with_data(PatternData(x=q, y=y, sigma=np.sqrt(y), x_kind="q"))
    fitted = {p.name: p for p in fit.run().params}
    for name in ("chain_beads", "D_nm"):
        assert abs(fitted[name].value - truth[name]) < 3 * fitted[name].esd, (name, fitted[name])


def test_cli_simulates_chains(tmp_path) -> None:
    out = tmp_path / "c.xye"
    assert main(["simulate", "--structure", "PbS-rocksalt", "--shape", "sphere", "--size", "2", "--chain",
                 "3", "--ligand", "8,0.3", "--q", "0.02:1:0.01", "--out", str(out), "--quiet"]) == 0
    text = out.read_text()
    assert "small angle" in text and "chain_beads" in text
    y = np.loadtxt(out)[:, 1]
    single = tmp_path / "s.xye"
    assert main(["simulate", "--structure", "PbS-rocksalt", "--shape", "sphere", "--size", "2",
                 "--q", "0.02:1:0.01", "--out", str(single), "--quiet"]) == 0
    assert y[0] / np.loadtxt(single)[0, 1] > 3.0  # three crystals and their shells scatter forward


def test_chain_gap_adds_to_the_spacing() -> None:
    q = np.linspace(0.02, 1.0, 60)
    sizes = dict(structure="PbS-rocksalt", shape="sphere", size_nm=2.0, chain_beads=3.0)
    single = compute_pattern(Model(structure="PbS-rocksalt", shape="sphere", size_nm=2.0), q)
    gapped = compute_pattern(Model(**sizes, chain_gap_A=7.0), q)
    spacing = 10.0 * single.crystal.info["size_nm"] + 7.0
    assert np.allclose(gapped.intensity, single.intensity * chain_factor(q, spacing, 3.0), rtol=1e-12)
