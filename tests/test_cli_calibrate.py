"""nanotwin calibrate, and --instrument on simulate and fit (the file's numbers equal typed ones)."""

import json

import numpy as np
import pytest

from nanotwin_core.cli.main import main
from nanotwin_core.io.data import write_pattern
from nanotwin_core.io.instrument_file import read_instrument_file
from nanotwin_core.model_parts import Instrument
from nanotwin_core.refine.calibrant_pattern import calibrant_pattern
from nanotwin_core.structures.calibrants import calibrant_structure

TRUE = {"U": 0.004, "V": -0.0015, "W": 0.0012, "zero": 0.0123}
WAVELENGTH = 1.0
ADP = "Pb=1.283,S=1.247"  # the fit's start B: the structure's own


def calibrate(data, *options: str) -> int:
    return main(["calibrate", "--data", str(data), *options])


@pytest.fixture(scope="module")
def si_file(tmp_path_factory):
    ins = Instrument("sync", (TRUE["U"], TRUE["V"], TRUE["W"]), TRUE["zero"]).validate()
    x = np.arange(15, 75, 0.01)
    y = calibrant_pattern(calibrant_structure("Si"), x, WAVELENGTH, ins, rng=np.random.default_rng(5))
    path = tmp_path_factory.mktemp("cal") / "si.xye"
    write_pattern(path, x, y, header_lines=[f"wavelength = {WAVELENGTH}", "columns: 2theta I"])
    return path


def test_calibrate_writes_instrument_json_and_report(si_file, tmp_path, capsys):
    out, js, md = tmp_path / "inst.instprm", tmp_path / "cal.json", tmp_path / "cal.md"
    assert calibrate(si_file, "--calibrant", "Si", "--out", str(out), "--json", str(js), "--report", str(md),
                     "--quiet") == 0
    said = capsys.readouterr().out
    assert "GoF" in said and f"--instrument {out}" in said
    summary = json.loads(js.read_text())
    for name, value in TRUE.items():
        p = summary["parameters"][name]
        assert abs(p["value"] - value) < 3 * p["esd"], (name, p, value)
    back = read_instrument_file(out).instrument
    assert back.caglioti == pytest.approx([summary["parameters"][k]["value"] for k in "UVW"], rel=1e-13)
    assert md.read_text().startswith("# nanotwin") and "| zero |" in md.read_text()
    # written by nanotwin: replaced without --force
    assert calibrate(si_file, "--calibrant", "Si", "--out", str(out), "--quiet") == 0


def test_wrong_calibrant_exits_3_and_writes_nothing(si_file, tmp_path, capsys):
    out = tmp_path / "inst.instprm"
    assert calibrate(si_file, "--calibrant", "LaB6", "--out", str(out), "--quiet") == 3
    assert "calibrant fit failed" in capsys.readouterr().err and not out.exists()
    assert calibrate(si_file, "--calibrant", "Si", "--out", str(tmp_path / "a.txt")) == 2


def test_fit_with_instrument_file_equals_typed_numbers(si_file, tmp_path, capsys):
    inst = tmp_path / "inst.instprm"
    assert calibrate(si_file, "--calibrant", "Si", "--out", str(inst), "--quiet") == 0
    typed = capsys.readouterr().out.split("(or: ")[1].rstrip(")\n").split()
    crystal = ["--structure", "PbS-rocksalt", "--shape", "sphere", "--size", "2.0"]
    data = tmp_path / "nano.xye"
    assert main(["simulate", *crystal, "--tth", "8:40:0.02", "--wavelength", str(WAVELENGTH), "--adp", ADP,
                 "--instrument", str(inst), "--out", str(data), "--quiet"]) == 0
    said = capsys.readouterr().out
    assert f"instrument: from {inst}" in said and "polarization sync" in said
    runs = {}
    for tag, options in (("file", ["--instrument", str(inst)]), ("typed", [*typed, "--polarization", "sync"]),
                         ("none", ["--polarization", "sync"])):
        js = tmp_path / f"{tag}.json"
        assert main(["fit", "--data", str(data), *crystal, "--refine", "scale,background,zero", *options,
                     "--out", str(tmp_path / f"{tag}.h5"), "--json", str(js), "--quiet"]) == 0
        runs[tag] = json.loads(js.read_text())
    assert runs["file"]["rwp"] == pytest.approx(runs["typed"]["rwp"], rel=1e-9)
    zero = {tag: run["parameters"]["zero"]["value"] for tag, run in runs.items()}
    assert zero["file"] == pytest.approx(zero["typed"], rel=1e-9, abs=1e-12)
    # the file is used: without its resolution (and zero start) the same fit lands elsewhere
    # (a 2 nm crystal: peaks ~3 deg wide, the 0.06 deg resolution changes Rwp a little)
    assert abs(runs["none"]["rwp"] / runs["file"]["rwp"] - 1) > 1e-5  # 5e-4 here; 1e-9 file vs typed


def test_instrument_refused_for_q_data(tmp_path):
    assert main(["simulate", "--structure", "PbS-rocksalt", "--shape", "sphere", "--size", "1.5",
                 "--instrument", str(tmp_path / "none.instprm"), "--out", str(tmp_path / "q.xye")]) == 2


def test_cif_calibrant_and_the_wavelength_check(si_file, tmp_path, capsys):
    from nanotwin_core.structures.cif import write_cif

    cif = write_cif(calibrant_structure("Si"), tmp_path / "si.cif")
    out = tmp_path / "inst.toml"
    assert calibrate(si_file, "--calibrant", str(cif), "--lorentzian", "--out", str(out), "--quiet") == 0
    got = read_instrument_file(out)
    assert got.wavelength == WAVELENGTH and got.instrument.lorentzian is not None
    capsys.readouterr()
    crystal = ["--structure", "PbS-rocksalt", "--shape", "sphere", "--size", "1.5"]
    data = tmp_path / "nano.xye"
    assert main(["simulate", *crystal, "--tth", "8:30:0.05", "--wavelength", "0.7", "--out", str(data),
                 "--quiet"]) == 0
    assert main(["fit", "--data", str(data), *crystal, "--refine", "scale", "--instrument", str(out),
                 "--caglioti", "0,0,0.002", "--out", str(tmp_path / "f.h5"), "--quiet"]) == 0
    said = capsys.readouterr().out
    assert "calibrated at 1 A, the data are at 0.7 A" in said
    assert "typed --caglioti (pseudo-Voigt; the file's X, Y dropped) kept" in said
