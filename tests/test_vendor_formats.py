"""Instruments' own pattern files (io/vendor_formats.py): PANalytical .xrdml, Rigaku .ras and the
GSAS FXYE/FXY/ESD/STD banks, each written here from known numbers and read back through
``read_pattern`` and the import guess (axis, wavelength, sigma, refusals naming the line)."""

from __future__ import annotations

import argparse

import numpy as np
import pytest

from nanotwin_core.cli.fit_setup import apply_fit_options
from nanotwin_core.errors import InputFileError
from nanotwin_core.io.data import read_pattern
from nanotwin_core.io.import_guess import guess_import, read_pattern_guessed
from nanotwin_core.model import Model

TTH = np.round(np.arange(10.0, 10.5, 0.02), 4)
COUNTS = np.arange(100, 100 + 7 * TTH.size, 7).astype(float)


def xrdml(path, *, intended="K-Alpha 1", listed=False, attenuation=None, scans=1):
    positions = (f"<listPositions>{' '.join(f'{t:g}' for t in TTH)}</listPositions>" if listed else
                 f"<startPosition>{TTH[0]}</startPosition><endPosition>{TTH[-1]}</endPosition>")
    att = ("" if attenuation is None else
           f"<beamAttenuationFactors>{' '.join(map(str, attenuation))}</beamAttenuationFactors>")
    scan = (f'<scan scanAxis="Gonio"><dataPoints><positions axis="2Theta" unit="deg">{positions}'
            '</positions><positions axis="Omega" unit="deg"><startPosition>5</startPosition>'
            '<endPosition>5.25</endPosition></positions>'
            f'<commonCountingTime unit="seconds">1</commonCountingTime>{att}'
            f'<intensities unit="counts">{" ".join(f"{c:g}" for c in COUNTS)}</intensities>'
            '</dataPoints></scan>')
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<xrdMeasurements xmlns="http://www.xrdml.com/XRDMeasurement/1.5">'
        '<sample type="To be analyzed"><id>PbS</id></sample><xrdMeasurement measurementType="Scan">'
        f'<usedWavelength intended="{intended}"><kAlpha1 unit="Angstrom">1.5405980</kAlpha1>'
        '<kAlpha2 unit="Angstrom">1.5444260</kAlpha2><kBeta unit="Angstrom">1.3922500</kBeta>'
        f'<ratioKAlpha2KAlpha1>0.5000</ratioKAlpha2KAlpha1></usedWavelength>{scan * scans}'
        '</xrdMeasurement></xrdMeasurements>\n', encoding="utf-8")
    return path


def test_xrdml_reads_positions_counts_and_wavelength(tmp_path):
    data = read_pattern(xrdml(tmp_path / "a.xrdml"))
    np.testing.assert_allclose(data.x, TTH, atol=1e-12)
    np.testing.assert_array_equal(data.y, COUNTS)
    np.testing.assert_allclose(data.sigma, np.sqrt(COUNTS))
    assert data.x_kind == "tth" and data.wavelength == pytest.approx(1.540598, abs=1e-9)
    guess = guess_import(tmp_path / "a.xrdml")
    assert guess.x_kind == "tth" and guess.certain and guess.wavelength == pytest.approx(1.540598)
    assert "K-alpha1" in guess.wavelength_reason
    listed = read_pattern(xrdml(tmp_path / "b.xrdml", listed=True))
    np.testing.assert_allclose(listed.x, TTH)


def test_xrdml_doublet_attenuation_and_scans(tmp_path):
    factors = np.linspace(1.0, 2.0, TTH.size)
    data = read_pattern(xrdml(tmp_path / "a.xrdml", intended="K-Alpha", attenuation=factors, scans=2))
    np.testing.assert_allclose(data.y, COUNTS * factors)
    np.testing.assert_allclose(data.sigma, np.sqrt(COUNTS) * factors)
    assert any("K-alpha2 = 1.544426" in h for h in data.header)
    assert any("first of 2 scans" in n for n in data.notes)
    with pytest.raises(InputFileError, match="axis is 2θ"):
        read_pattern(tmp_path / "a.xrdml", x_kind="q")


def test_ras_block_and_attenuator(tmp_path):
    rows = "\n".join(f"{t:.4f} {c:g} {2.0 if k == 3 else 1.0}"
                     for k, (t, c) in enumerate(zip(TTH, COUNTS, strict=True)))
    path = tmp_path / "a.ras"
    path.write_text("*RAS_DATA_START\n*RAS_HEADER_START\n*HW_XG_TARGET_NAME \"Cu\"\n"
                    "*HW_XG_WAVE_LENGTH_ALPHA1 \"1.540593\"\n*MEAS_SCAN_AXIS_X \"TwoThetaTheta\"\n"
                    f"*RAS_HEADER_END\n*RAS_INT_START\n{rows}\n*RAS_INT_END\n*RAS_DATA_END\n")
    data = read_pattern_guessed(path)
    expected = COUNTS.copy()
    expected[3] *= 2.0
    np.testing.assert_allclose(data.x, TTH)
    np.testing.assert_array_equal(data.y, expected)
    assert data.sigma[3] == pytest.approx(2.0 * np.sqrt(COUNTS[3]))
    assert data.wavelength == pytest.approx(1.540593)
    bad = tmp_path / "b.ras"
    bad.write_text(path.read_text().replace(f"{TTH[2]:.4f} {COUNTS[2]:g}", f"{TTH[2]:.4f} x"))
    with pytest.raises(InputFileError, match="line 10: non-numeric"):
        read_pattern(bad)


def _gsas(path, bank: str, body: list[str]) -> None:
    path.write_text("PbS test pattern\n# wavelength = 0.413 A\n" + bank + "\n" + "\n".join(body) + "\n")


def test_gsas_fxye_esd_std(tmp_path):
    sig = np.sqrt(COUNTS) * 1.5
    _gsas(tmp_path / "a.fxye", f"BANK 1 {TTH.size} {TTH.size} CONS 1000.0 2.0 0 0 FXYE",
          [f"{100 * t:.2f} {c:g} {s:.6f}" for t, c, s in zip(TTH, COUNTS, sig, strict=True)])
    fxye = read_pattern(tmp_path / "a.fxye")
    np.testing.assert_allclose(fxye.x, TTH)
    np.testing.assert_allclose(fxye.sigma, sig, rtol=1e-6)
    assert fxye.wavelength == pytest.approx(0.413)

    pairs = [f"{c:8.1f}{s:8.3f}" for c, s in zip(COUNTS, sig, strict=True)]
    _gsas(tmp_path / "b.gsa", f"BANK 1 {TTH.size} 5 CONS 1000.0 2.0 0 0 ESD",
          ["".join(pairs[i:i + 5]) for i in range(0, len(pairs), 5)])
    esd = read_pattern(tmp_path / "b.gsa")
    np.testing.assert_allclose(esd.x, TTH, atol=1e-12)
    np.testing.assert_allclose(esd.y, COUNTS)
    np.testing.assert_allclose(esd.sigma, sig, atol=1e-3)

    fields = [f"{2:2d}{int(c):6d}" for c in COUNTS]
    _gsas(tmp_path / "c.gsas", f"BANK 1 {TTH.size} 3 CONS 1000.0 2.0 0 0 STD",
          ["".join(fields[i:i + 10]) for i in range(0, len(fields), 10)])
    std = read_pattern(tmp_path / "c.gsas")
    np.testing.assert_allclose(std.y, COUNTS)
    np.testing.assert_allclose(std.sigma, np.sqrt(COUNTS / 2))


def test_gsas_refusals_name_the_line(tmp_path):
    _gsas(tmp_path / "t.gsa", "BANK 1 10 2 TIME_MAP 1 0 0 0 ESD", ["  100.0  10.0"])
    with pytest.raises(InputFileError, match="line 3: bank type TIME_MAP: only constant-wavelength"):
        read_pattern(tmp_path / "t.gsa")
    (tmp_path / "n.fxye").write_text("title\n1 2 3\n")
    with pytest.raises(InputFileError, match="no BANK line"):
        read_pattern(tmp_path / "n.fxye")


def test_a_declared_doublet_is_the_default_instrument(tmp_path, capsys):
    """An .xrdml whose beam is "K-Alpha" (the doublet) is fitted with its K-alpha2 line unless
    --kalpha2 off says otherwise; "K-Alpha 1" is one line."""
    def instrument(path, kalpha2=None):
        data = read_pattern(path)
        args = argparse.Namespace(model=None, instrument=None, zero=None, kalpha2=kalpha2, background=None,
                                  refine=None, caglioti=None, polarization=None, range=None, tth_range=None,
                                  blank=None, max_nfev=None, constrain=None, adp=None,
                                  texture=None)
        model = Model(structure="PbS-rocksalt", shape="sphere", size_nm=3.0)
        apply_fit_options(args, model, data.x_kind, data.wavelength, data.header)
        return model.instrument

    doublet = instrument(xrdml(tmp_path / "d.xrdml", intended="K-Alpha"))
    assert (doublet.kalpha2, doublet.lambda2) == (0.5, pytest.approx(1.544426))
    assert "K-alpha doublet" in capsys.readouterr().out
    assert instrument(xrdml(tmp_path / "one.xrdml")).kalpha2 is None
    assert instrument(tmp_path / "d.xrdml", kalpha2="off").kalpha2 is None
