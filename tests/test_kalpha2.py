"""Lab sources (issue 12): the polarization a tube wavelength implies, and the K-alpha2 doublet
from the model's instrument through the pattern, the fit, the files and the CLI.

References: Bragg's law from the PbS cell (a = 5.934 Å) for where the second line sits, the
ratio given for the ratio of the two lines' areas, and the doublet applied by hand to a model
computed over the whole range for the fit's masked evaluation.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from nanotwin_core.cli.fit_setup import apply_fit_options
from nanotwin_core.cli.main import make_parser
from nanotwin_core.errors import NanotwinError
from nanotwin_core.io.data import PatternData
from nanotwin_core.io.instrument_file import (
    read_instprm,
    read_instrument_toml,
    write_instprm,
    write_instrument_toml,
)
from nanotwin_core.model import Model
from nanotwin_core.model_parts import Instrument
from nanotwin_core.refine.dse_fit import FitSettings, prepare_fit
from nanotwin_core.refine.instrument import kalpha2_positions, observed_pattern
from nanotwin_core.scattering.lab_sources import anode_line, kalpha2_wavelength, source_polarization

PBS_A = 5.934  # Å
CU1, CU2 = 1.5406, 1.544390


def _bragg_tth(hkl: tuple[int, int, int], wavelength: float) -> float:
    d = PBS_A / math.sqrt(sum(h * h for h in hkl))
    return 2 * math.degrees(math.asin(wavelength / (2 * d)))


def test_tube_lines_and_the_polarization_they_imply() -> None:
    assert (anode_line(1.5406).anode, anode_line(1.5406).line) == ("Cu", "Ka1")
    assert anode_line(1.54).line == "Ka1" and anode_line(1.5418).line == "Ka"
    assert (anode_line(0.7107).anode, anode_line(0.7107).line) == ("Mo", "Ka")
    assert anode_line(0.49544310) is None and anode_line(0.565468) is None  # the paper's beams
    assert source_polarization(1.5406)[0] == "lab" and "Cu K-alpha1" in source_polarization(1.5406)[1]
    assert source_polarization(0.565468)[0] == "sync" and source_polarization(None)[0] == "sync"
    assert kalpha2_wavelength(1.5406) == pytest.approx(1.54439) and kalpha2_wavelength(0.7093) == 0.71359
    with pytest.raises(NanotwinError, match="Cu K-alpha .mean.*1.54056"):
        kalpha2_wavelength(1.5418)
    with pytest.raises(NanotwinError, match="not a tube's K-alpha1"):
        kalpha2_wavelength(0.5654)


def test_monochromator_polarization() -> None:
    """mono:A is P = (1 + cos^2 A cos^2 2theta) / (1 + cos^2 A) (a tube behind a monochromator at
    2theta_M = A, perpendicular geometry); mono:0 is the bare tube."""
    from nanotwin_core.scattering.polarization import polarization_factor, polarization_fraction

    tth = np.array([20.0, 60.0, 120.0])
    c2m, c2 = math.cos(math.radians(26.6)) ** 2, np.cos(np.radians(tth)) ** 2
    assert np.allclose(polarization_factor(tth, "mono:26.6"), (1 + c2m * c2) / (1 + c2m), rtol=1e-12)
    assert polarization_fraction("mono:0") == 0.5
    with pytest.raises(NanotwinError, match="mono:A"):
        polarization_fraction("mono:x")
    assert "mono:2THETA_M" in source_polarization(1.5406)[1]


def _narrow_lines(wavelength: float, reflections, sigma_q: float = 2e-4):
    qs = [2 * math.pi * math.sqrt(sum(h * h for h in hkl)) / PBS_A for hkl in reflections]

    def intensity_at(q: np.ndarray) -> np.ndarray:
        return sum(np.exp(-0.5 * ((q - q0) / sigma_q) ** 2) for q0 in qs)

    return intensity_at


@pytest.mark.parametrize("wavelength, ratio, lambda2, caglioti", [
    (CU1, 0.5, None, (0.0, 0.0, 1e-4)),  # Cu from the table, through a Gaussian resolution
    (0.7093, 0.3, None, None),  # Mo from the table, the doublet alone
    (CU1, 0.42, 1.5460, None),  # any lambda2 given
])
def test_second_line_sits_at_the_bragg_angle_of_lambda2_with_the_ratio_of_areas(
        wavelength, ratio, lambda2, caglioti) -> None:
    lorentzian = None if caglioti is None else (0.0, 0.0)  # Gaussian: no tails across the two halves
    ins = Instrument(polarization="none", caglioti=caglioti, lorentzian=lorentzian, kalpha2=ratio,
                     lambda2=lambda2).validate()
    lam2 = lambda2 or kalpha2_wavelength(wavelength)
    hkl = (2, 2, 0)
    t1, t2 = _bragg_tth(hkl, wavelength), _bragg_tth(hkl, lam2)
    step = 0.0005
    tth = np.arange(t1 - 1.0, t2 + 1.0, step)
    y, _ = observed_pattern(tth, wavelength, ins, _narrow_lines(wavelength, [hkl]))
    mid = 0.5 * (t1 + t2)
    first, second = tth < mid, tth >= mid
    assert tth[first][np.argmax(y[first])] == pytest.approx(t1, abs=2 * step)
    assert tth[second][np.argmax(y[second])] == pytest.approx(t2, abs=2 * step)
    assert y[second].sum() / y[first].sum() == pytest.approx(ratio, rel=5e-3)
    one_line = Instrument(caglioti=caglioti, lorentzian=lorentzian).validate()
    single, _ = observed_pattern(tth, wavelength, one_line, _narrow_lines(wavelength, [hkl]))
    assert y.sum() == pytest.approx((1 + ratio) * single.sum(), rel=5e-3)  # K-alpha1 kept whole


def _column(instrument: Instrument, tth: np.ndarray, tth_range) -> tuple[np.ndarray, np.ndarray]:
    model = Model(structure="PbS-rocksalt", shape="sphere", size_nm=2.0, instrument=instrument)
    data = PatternData(tth, np.ones(len(tth)), x_kind="tth", wavelength=CU1)
    settings = FitSettings.from_model(model)
    settings.refine, settings.background_order, settings.tth_range = ("scale",), None, tth_range
    problem = prepare_fit(model, data, settings)
    return problem.basis({p.name: p.value for p in problem.params})[:, 0], problem.mask


def test_fit_column_takes_the_doublet_from_below_the_fitted_range() -> None:
    """The fit evaluates the model on the fitted points padded by the doublet's reach: the first
    fitted points hold the K-alpha2 intensity of K-alpha1 angles below the range."""
    tth = np.arange(24.0, 62.0, 0.01)
    plain, _ = _column(Instrument(polarization="lab"), tth, None)
    got, mask = _column(Instrument(polarization="lab", kalpha2=0.5), tth, (30.0, 60.0))
    src, jac = kalpha2_positions(tth, CU1, CU2)
    want = plain + 0.5 * np.interp(src, tth, plain) * jac
    assert np.allclose(got[mask], want[mask], rtol=2e-3), np.max(np.abs(got[mask] / want[mask] - 1))
    assert np.all(got[~mask] == 0.0)
    assert np.max(np.abs(got[mask] / plain[mask] - 1)) > 0.05  # the doublet shows


def test_doublet_round_trips_through_toml_and_instprm(tmp_path) -> None:
    ins = Instrument(polarization="lab", caglioti=(0.002, -0.001, 0.003), kalpha2=0.5).validate()
    back = read_instrument_toml(write_instrument_toml(tmp_path / "i.toml", ins, CU1))
    assert back.instrument == ins and back.instrument.lambda2 is None
    path = write_instprm(tmp_path / "i.instprm", ins, CU1)
    text = path.read_text()
    assert "Lam1:1.5406" in text and "Lam2:1.54439" in text and "I(L2)/I(L1):0.5" in text
    assert "\nLam:" not in text
    got = read_instprm(path)
    assert got.wavelength == CU1 and got.instrument.kalpha2 == 0.5 and got.instrument.lambda2 == 1.54439
    assert not got.notes
    single = read_instprm(write_instprm(tmp_path / "s.instprm", Instrument(caglioti=(0, 0, 0.01)), 0.5654))
    assert single.instrument.kalpha2 is None and single.wavelength == 0.5654


def test_gsas_lab_file_with_two_wavelengths(tmp_path) -> None:
    path = tmp_path / "lab.instprm"
    path.write_text("#GSAS-II instrument parameter file\nType:PXC\nBank:1.0\nLam1:1.540593\nLam2:1.544427\n"
                    "I(L2)/I(L1):0.5\nZero:0.0\nPolariz.:0.5\nAzimuth:0.0\nU:2.0\nV:-2.0\nW:5.0\nX:0.0\n"
                    "Y:0.0\nZ:0.0\nSH/L:0.002\n")
    got = read_instprm(path)
    assert got.wavelength == 1.540593 and got.instrument.polarization == "lab"
    assert (got.instrument.kalpha2, got.instrument.lambda2) == (0.5, 1.544427)
    path.write_text(path.read_text().replace("Lam2:1.544427", "Lam2:1.53"))
    with pytest.raises(NanotwinError, match=r"lab.instprm.*line 5.*Lam2 1.53"):
        read_instprm(path)


@pytest.mark.parametrize("extra, wavelength, polarization, said", [
    ([], CU1, "lab", "Cu K-alpha1"),
    ([], 0.565468, "sync", "no tube line"),
    (["--polarization", "none"], CU1, "none", None),
    (["--polarization", "sync:0.9"], CU1, "sync:0.9", None),
])
def test_fit_options_take_the_polarization_from_the_source(extra, wavelength, polarization, said) -> None:
    args = make_parser().parse_args(["fit", "--data", "d.xy", "--structure", "PbS-rocksalt", "--shape",
                                     "sphere", "--out", "x.h5", *extra])
    model = Model(structure="PbS-rocksalt", shape="sphere", size_nm=2.0)
    note = apply_fit_options(args, model, "tth", wavelength)
    assert model.instrument.polarization == polarization
    assert (note is None) if said is None else (said in note)
    q_model = Model(structure="PbS-rocksalt", shape="sphere", size_nm=2.0)
    assert apply_fit_options(args, q_model, "q", None) is None
    assert q_model.instrument.polarization == (polarization if extra else "none")


def test_fit_option_kalpha2(capsys) -> None:
    parser = make_parser()
    base = ["fit", "--data", "d.xy", "--structure", "PbS-rocksalt", "--out", "x.h5"]
    model = Model(structure="PbS-rocksalt", shape="sphere", size_nm=2.0)
    apply_fit_options(parser.parse_args([*base, "--kalpha2"]), model, "tth", CU1)
    assert (model.instrument.kalpha2, model.instrument.lambda2) == (0.5, None)
    assert "K-alpha2 at 1.54439 A" in capsys.readouterr().out
    apply_fit_options(parser.parse_args([*base, "--kalpha2", "0.45:1.5445"]), model, "tth", CU1)
    assert (model.instrument.kalpha2, model.instrument.lambda2) == (0.45, 1.5445)
    with pytest.raises(NanotwinError, match="not a tube's K-alpha1"):
        apply_fit_options(parser.parse_args([*base, "--kalpha2"]), model, "tth", 0.5654)
    with pytest.raises(NanotwinError, match="Q axis"):
        apply_fit_options(parser.parse_args([*base, "--kalpha2"]), model, "q", None)


def test_calibrant_fit_honours_kalpha2() -> None:
    """A Cu-tube Si pattern with its K-alpha2 line (the DSE fits' own doublet): fitted with the
    doublet, U, V, W and zero come back within 3 esd and GoF ~ 1; fitted as one line, not."""
    from nanotwin_core.refine.calibrant import CalibrantFitError, fit_calibrant
    from nanotwin_core.refine.calibrant_pattern import calibrant_pattern
    from nanotwin_core.structures.calibrants import calibrant_structure

    truth = {"U": 0.004, "V": -0.0015, "W": 0.0012, "zero": 0.0123}
    ins = Instrument("lab", (truth["U"], truth["V"], truth["W"]), truth["zero"], kalpha2=0.5).validate()
    x = np.arange(25, 100, 0.01)
    si = calibrant_structure("Si")
    y = calibrant_pattern(si, x, CU1, ins, rng=np.random.default_rng(3))
    result = fit_calibrant(x, y, si, CU1, polarization="lab", kalpha2=0.5)
    for name, value in truth.items():
        got, esd = result.values()[name], result.esd[name]
        assert esd > 0 and abs(got - value) < 3 * esd, (name, got, value, esd)
    assert 0.95 < result.gof < 1.1 and result.instrument.kalpha2 == 0.5
    assert any("K-alpha2" in line for line in result.lines())
    try:  # one line cannot fit the split peaks
        assert fit_calibrant(x, y, si, CU1, polarization="lab").gof > 2 * result.gof
    except CalibrantFitError as exc:
        assert "does not fit" in str(exc)


def test_simulate_kalpha2_option(tmp_path) -> None:
    from nanotwin_core.cli import main
    from nanotwin_core.io.data import read_pattern

    args = ["simulate", "--structure", "PbS-rocksalt", "--shape", "sphere", "--size", "2", "--tth",
            "20:60:0.02", "--wavelength", "1.5406", "--polarization", "lab", "--quiet"]
    assert main([*args, "--out", str(tmp_path / "one.xye")]) == 0
    assert main([*args, "--kalpha2", "--out", str(tmp_path / "two.xye")]) == 0
    one, two = read_pattern(tmp_path / "one.xye"), read_pattern(tmp_path / "two.xye")
    src, jac = kalpha2_positions(one.x, CU1, CU2)
    want = one.y + 0.5 * np.interp(src, one.x, one.y) * jac
    inner = one.x > 21.0  # the doublet's source below 20 deg is on the padded grid only
    assert np.allclose(two.y[inner], want[inner], rtol=2e-3)
    assert '"kalpha2": 0.5' in (tmp_path / "two.xye").read_text()
