"""nanotwin fit reads a raw file as the window's import dialog proposes (io.import_guess) and says
what it assumed in one line."""

from __future__ import annotations

import json

import numpy as np

from nanotwin_core.cli import main
from nanotwin_core.io.data import read_pattern

PBS = ["--structure", "PbS-rocksalt", "--shape", "sphere", "--size", "2"]
WAVELENGTH = 0.49547592  # Å, only in the file name


def test_fit_of_a_headerless_file_says_its_axis_and_wavelength(tmp_path, capsys) -> None:
    sim = tmp_path / "pbs_q.xye"
    assert main(["simulate", *PBS, "--q", "1:6:0.01", "--out", str(sim), "--quiet"]) == 0
    q = read_pattern(sim)
    tth = np.degrees(2 * np.arcsin(q.x * WAVELENGTH / (4 * np.pi)))
    raw = tmp_path / "PbS_wl0p49547592A_scan1.xy"
    raw.write_text("".join(f"{a:.6f} {b:.8g}\n" for a, b in zip(tth, 3.0 * q.y + 10.0, strict=True)))
    capsys.readouterr()
    code = main(["fit", "--data", str(raw), *PBS, "--refine", "scale", "--range", "1.2:5.8",
                 "--json", str(tmp_path / "fit.json"), "--out", str(tmp_path / "fit.h5")])
    out = capsys.readouterr().out
    line = next(ln.strip() for ln in out.splitlines() if ln.strip().startswith("data:"))
    assert line.startswith("data: x read as 2θ (°): x reaches 27.")
    assert ("wavelength 0.49547592 Å from the file name PbS_wl0p49547592A_scan1.xy; "
            "polarization sync (f = 0.95): 0.495476 Å is no tube line") in line  # and the polarization
    assert code == 0
    summary = json.loads((tmp_path / "fit.json").read_text())
    assert summary["data"]["wavelength"] == WAVELENGTH and summary["data"]["x_kind"] == "tth"
    given = ["--x", "tth", "--wavelength", str(WAVELENGTH), "--json", str(tmp_path / "given.json")]
    assert main(["fit", "--data", str(raw), *PBS, "--refine", "scale", "--range", "1.2:5.8", *given,
                 "--out", str(tmp_path / "given.h5"), "--quiet"]) == 0
    assert json.loads((tmp_path / "given.json").read_text())["rwp"] == summary["rwp"]  # read as if given
