"""Instrument files: GSAS-II .instprm (units checked by hand) and the TOML [instrument] table."""

import math

import numpy as np
import pytest

from nanotwin_core.errors import InputFileError, NanotwinError
from nanotwin_core.io.instrument_file import (
    read_instprm,
    read_instrument_file,
    write_instprm,
    write_instrument_toml,
)
from nanotwin_core.model import Model, read_model_toml, write_model_toml
from nanotwin_core.model_parts import Instrument
from nanotwin_core.refine.instrument import caglioti_fwhm, resolution_profile

GSAS_FILE = """#GSAS-II instrument parameter file; hand-written from the documented format
Type:PXC
Bank:1.0
Lam:0.413263;Polariz.:0.99;Azimuth:0.0
Zero:-0.0125
U:1.163;V:-0.126;W:0.063
X:0.5;Y:2.0;SH/L:0.002
"""


def test_gsas_file_gives_the_hand_computed_widths(tmp_path):
    path = tmp_path / "11bm.instprm"
    path.write_text(GSAS_FILE)
    got = read_instprm(path)
    ins = got.instrument
    assert got.wavelength == 0.413263
    assert ins.polarization == "sync:0.99" and ins.zero == -0.0125
    assert any("SH/L" in n for n in got.notes)
    for tth in (10.0, 40.0):
        t = math.tan(math.radians(tth / 2))
        # GSAS-II: Gaussian variance in centideg^2, Lorentzian FWHM in centideg
        sigma2 = 1.163 * t * t - 0.126 * t + 0.063
        fwhm_g = math.sqrt(8 * math.log(2) * sigma2) / 100
        fwhm_l = (0.5 / math.cos(math.radians(tth / 2)) + 2.0 * t) / 100
        assert caglioti_fwhm(np.array([tth]), *ins.caglioti)[0] == pytest.approx(fwhm_g, rel=1e-12)
        th = math.radians(tth / 2)
        assert ins.lorentzian[0] / math.cos(th) + ins.lorentzian[1] * math.tan(th) == pytest.approx(fwhm_l)
        # the profile the fits use: TCH of these two widths
        prof = resolution_profile(ins.caglioti, ins.lorentzian)
        fwhm, eta = prof.fwhm_eta(np.array([tth]))
        assert fwhm_g < fwhm[0] < fwhm_g + fwhm_l and 0 < eta[0] < 1
    # 10 degrees by hand: t = tan 5 deg = 0.0874887; sigma^2 = 0.0608783 centideg^2;
    # FWHM = sqrt(8 ln2 x 0.0608783) = 0.581019 centideg
    assert caglioti_fwhm(np.array([10.0]), *ins.caglioti)[0] == pytest.approx(0.0058102, rel=1e-4)
    # 40 degrees: t = tan 20 deg = 0.3639702; sigma^2 = 0.1712074 centideg^2; FWHM 0.974359 centideg
    assert caglioti_fwhm(np.array([40.0]), *ins.caglioti)[0] == pytest.approx(0.0097436, rel=1e-4)
    # Lorentzian at 40 degrees: 0.5 / cos 20 + 2.0 tan 20 = 1.260029 centideg
    assert ins.lorentzian[0] / math.cos(math.radians(20)) + ins.lorentzian[1] * math.tan(math.radians(20)) \
        == pytest.approx(0.01260029, rel=1e-6)


@pytest.mark.parametrize("lorentzian", [None, (0.004, 0.0015)])
def test_instprm_written_by_nanotwin_reads_back(tmp_path, lorentzian):
    ins = Instrument(polarization="lab", caglioti=(0.0123, -0.0031, 0.00142), zero=0.0071,
                     lorentzian=lorentzian).validate()
    path = write_instprm(tmp_path / "a.instprm", ins, 1.540593)
    back = read_instrument_file(path)
    assert back.wavelength == 1.540593
    assert back.instrument.polarization == "lab" and back.instrument.zero == ins.zero
    assert back.instrument.caglioti == pytest.approx(ins.caglioti, rel=1e-14)
    if lorentzian is None:
        assert back.instrument.lorentzian is None  # the pseudo-Voigt 0.5 marker survives
    else:
        assert back.instrument.lorentzian == pytest.approx(lorentzian, rel=1e-14)


def test_toml_instrument_round_trip_and_model_file(tmp_path):
    ins = Instrument(polarization="sync", caglioti=(0.01, -0.002, 0.0007), zero=0.013,
                     lorentzian=(0.003, 0.001)).validate()
    path = write_instrument_toml(tmp_path / "inst.toml", ins, 0.4959)
    back = read_instrument_file(path)
    assert back.instrument == ins and back.wavelength == 0.4959
    model = Model.from_dict({**Model(structure="PbS-rocksalt", shape="sphere", size_nm=2.0).to_dict(),
                             "instrument": ins.to_dict()})
    assert model.instrument == ins
    write_model_toml(model, tmp_path / "model.toml")  # the model file carries the Lorentzian too
    assert read_model_toml(tmp_path / "model.toml").instrument == ins
    assert read_instrument_file(tmp_path / "model.toml").instrument == ins


@pytest.mark.parametrize("text, problem", [
    ("Type:PXC\nLam:1.5;Zero:0;Polariz.:0.5\nU:1;V:x;W:1;X:0;Y:0\n", "line 3: V is not a number"),
    ("Type:PXC\nLam:1.5;Zero:0;Polariz.:0.5\nU:1;V:0;W:1\n", "missing X, Y"),
    ("Type:PNT\nZero:0;Polariz.:0.5\nU:1;V:0;W:1;X:0;Y:0\n", "line 1: Type PNT"),
    ("Type:PXC\nLam:1.5;Zero:0;Polariz.:0.5\nU:1;V:0;W:1;X:0;Y:0;Z:1\n", "constant Lorentzian"),
    ("Type:PXC\nLam:1.5;Zero:0;Polariz.:0.5\nU:1;V:0;W:1;X:0;Y:0\nU:2\n", "line 4: U given twice"),
])
def test_bad_instprm_names_file_and_line(tmp_path, text, problem):
    path = tmp_path / "bad.instprm"
    path.write_text(text)
    with pytest.raises(InputFileError, match=problem.replace("(", r"\(")) as err:
        read_instprm(path)
    assert str(path) in str(err.value)


def test_lorentzian_needs_caglioti_and_numbers():
    with pytest.raises(NanotwinError, match="caglioti"):
        Instrument(lorentzian=(0.01, 0.0)).validate()
    with pytest.raises(NanotwinError, match="two numbers"):
        Instrument(caglioti=(0, 0, 0.01), lorentzian=(0.01,)).validate()
