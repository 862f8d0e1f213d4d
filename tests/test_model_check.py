"""Can the model's structure give the data's peaks (refine.model_check, actions.check_model_data)?
Checked on simulated patterns both ways, on the shared PbS synchrotron data and on the peer
CsPbBr3 pattern (DebyeCalculator), and said by nanotwin fit before any database is built."""

from __future__ import annotations

import numpy as np
import pytest

from nanotwin_core.actions import check_model_data, compute_pattern
from nanotwin_core.cli import main
from nanotwin_core.io.data import PatternData, read_pattern
from nanotwin_core.io.import_guess import read_pattern_guessed
from nanotwin_core.model import Model
from nanotwin_core.refine.model_check import check_model_against_data, data_peaks
from nanotwin_core.structures.library import get_structure

Q = np.arange(0.5, 8.0, 0.005)
PBS = Model(structure="PbS-rocksalt", shape="sphere", size_nm=3.0, coherent_element="Pb")


def _noisy(y: np.ndarray, counts: float = 1e5, seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Counts with Poisson noise: (y, sigma), the strongest point near ``counts``."""
    y = counts * y / y.max() + 50.0
    return np.random.default_rng(seed).poisson(y).astype(float), np.sqrt(y)


@pytest.fixture(scope="module")
def pbs_pattern() -> PatternData:
    y, sigma = _noisy(compute_pattern(PBS, Q).intensity)
    return PatternData(x=Q, y=y, sigma=sigma, x_kind="q")


def test_data_peaks_finds_lines_on_a_slope() -> None:
    """Two Gaussian lines on a steep power-law background (a small-angle rise): both found at
    their centres, the stronger first, with their sigma as half width; the slope gives none."""
    q = np.arange(0.5, 4.0, 0.002)
    lines = 3000 * np.exp(-0.5 * ((q - 1.8) / 0.05) ** 2) + 1500 * np.exp(-0.5 * ((q - 3.0) / 0.08) ** 2)
    y = 2e5 * q**-4 + lines
    sigma = np.sqrt(y)
    found, half, curvature, sn = data_peaks(q, y, sigma, q_min=0.6)
    assert found == pytest.approx([1.8, 3.0], abs=0.01)
    assert half == pytest.approx([np.hypot(0.05, 0.03), np.hypot(0.08, 0.03)], rel=0.15)
    assert np.all(sn > 8) and curvature[0] > curvature[1] > 0


def test_right_model_is_quiet_wrong_model_is_named(pbs_pattern) -> None:
    assert check_model_data(PBS, pbs_pattern).ok
    assert check_model_data(Model(structure="PbS-rocksalt", shape="cube", size_nm=5.0), pbs_pattern).ok
    wrong = check_model_data(Model(structure="CsPbBr3-gamma", shape="prism", size_ab_nm=5, size_c_nm=5),
                             pbs_pattern)
    assert not wrong.ok
    assert wrong.messages[-1].startswith("the CsPbBr3-gamma prism model: its strong reflections at Q = 1.5")
    assert "have no peak in the data" in wrong.messages[-1]
    # PbS (200), (111), (220); the (111) of 3 nm spheres sits low, pulled by its overlap with (200)
    assert wrong.peaks[:3] == pytest.approx([2.12, 1.83, 2.99], abs=0.03)


def test_a_wrong_wavelength_shows(pbs_pattern) -> None:
    """The same PbS pattern on 2theta read with 20 % too long a wavelength: its peaks sit 20 %
    too high in Q, where PbS has none of its strong reflections."""
    wavelength = 0.5
    tth = np.degrees(2 * np.arcsin(Q * wavelength / (4 * np.pi)))
    data = PatternData(x=tth, y=pbs_pattern.y, sigma=pbs_pattern.sigma, x_kind="tth",
                       wavelength=1.2 * wavelength)
    check = check_model_data(PBS, data)
    assert len(check.unexplained) >= 2
    assert "check the structure, or the wavelength and the x axis of the data" in check.messages[0]


def test_shared_data_both_ways(shared_data) -> None:
    """Measured PbS (synchrotron, 3.17 nm): PbS quiet, CsPbBr3-gamma named. The DebyeCalculator
    pattern of a 5 nm CsPbBr3-gamma cube (Poisson noise added): CsPbBr3-gamma quiet, PbS named."""
    pbs = read_pattern_guessed(shared_data / "waxts_pbs_qd/synchrotron/PbS_synchr_wl0p49547592A_3p17nm.xye")
    assert check_model_data(PBS, pbs).ok
    assert not check_model_data(Model(structure="CsPbBr3-gamma", shape="sphere", size_nm=3.0), pbs).ok
    peer = read_pattern(shared_data / "peer_reference/debyecalculator_cspbbr3/"
                        "cspbbr3_gamma_cube5nm_iq_exact.dat", x_kind="q")
    y, sigma = _noisy(peer.y)
    gamma = check_model_against_data([get_structure("CsPbBr3-gamma")], peer.x, y, sigma, label="gamma")
    assert gamma.ok
    rocksalt = check_model_against_data([get_structure("PbS-rocksalt")], peer.x, y, sigma, label="PbS")
    # CsPbBr3's pseudo-cubic (110) and (211)
    assert rocksalt.unexplained[:2] == pytest.approx([1.52, 2.64], abs=0.02)
    assert rocksalt.messages[0].startswith("PbS against data whose strong peaks sit at Q = 1.52")


def test_fit_warns_before_building(tmp_path, pbs_pattern, capsys) -> None:
    """nanotwin fit with the data's wavelength given wrong: the warning comes before the fit."""
    tth = np.degrees(2 * np.arcsin(Q * 0.5 / (4 * np.pi)))
    path = tmp_path / "pbs.xy"
    rows = "".join(f"{a:.6f} {b:.1f}\n" for a, b in zip(tth, pbs_pattern.y, strict=True))
    path.write_text("# 2theta I\n" + rows)
    code = main(["fit", "--data", str(path), "--wavelength", "0.6", "--structure", "PbS-rocksalt", "--shape",
                 "sphere", "--size", "2", "--refine", "scale", "--range", "1:7",
                 "--out", str(tmp_path / "f.h5"), "--quiet"])
    err = capsys.readouterr().err
    assert "warning: the PbS-rocksalt sphere model against data whose strong peaks sit at Q = " in err
    assert code in (0, 3)
