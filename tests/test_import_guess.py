"""What a pattern file says about its x axis and wavelength (nanotwin_core.io.import_guess)."""

from __future__ import annotations

import numpy as np
import pytest

from nanotwin_core.errors import NanotwinError
from nanotwin_core.io.import_guess import (
    guess_import,
    read_pattern_as,
    read_pattern_guessed,
    wavelength_from_energy,
)

HC = 12.398419843320026


def write(path, header, x, y=None):
    y = np.linspace(100, 200, len(x)) if y is None else y
    lines = [*header, *(f"{a:.6f} {b:.6f}" for a, b in zip(x, y, strict=True))]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_header_wavelength_is_read_at_full_precision(tmp_path):
    path = write(tmp_path / "scan.xy", ["# wavelength = 0.49547592 A", "# 2theta  I"], np.linspace(2, 30, 50))
    g = guess_import(path)
    assert g.wavelength == 0.49547592
    assert "header" in g.wavelength_reason and "0.49547592" in g.wavelength_reason
    assert (g.x_kind, g.certain) == ("tth", True)
    assert "header" in g.x_reason


def test_file_name_wavelength_and_a_range_beyond_four_pi_over_lambda(tmp_path):
    path = write(tmp_path / "PbS_wl0p49547592A_run3.xy", [], np.linspace(1, 30, 50))
    g = guess_import(path)
    assert g.wavelength == 0.49547592 and "file name" in g.wavelength_reason
    assert (g.x_kind, g.certain) == ("tth", True)  # 30 > 4 pi / 0.495 = 25.4: not Q
    assert "4π/λ" in g.x_reason


def test_energy_in_the_header(tmp_path):
    path = write(tmp_path / "e.xy", ["# Energy (keV): 25.0 keV"], np.linspace(1, 50, 50))
    g = guess_import(path)
    assert g.wavelength == pytest.approx(HC / 25.0, rel=1e-12)
    assert "energy" in g.wavelength_reason
    assert wavelength_from_energy(HC) == pytest.approx(1.0)


def test_an_ambiguous_range_is_said_to_be_a_guess(tmp_path):
    g = guess_import(write(tmp_path / "plain.xy", [], np.linspace(1, 20, 50)))
    assert (g.x_kind, g.certain, g.wavelength) == ("tth", False, None)
    assert "check" in g.x_reason and g.wavelength_reason == "the file states none"


def test_q_header_and_two_theta_range(tmp_path):
    assert guess_import(write(tmp_path / "q.dat", ["# Q (1/A)  I"], np.linspace(0.5, 25, 50))).x_kind == "q"
    assert guess_import(write(tmp_path / "t.xy", [], np.linspace(5, 120, 50))).x_kind == "tth"
    write(tmp_path / "wide.xy", [], np.linspace(5, 150, 50))
    with pytest.raises(NanotwinError, match="looks like 2theta"):
        read_pattern_as(tmp_path / "wide.xy", "q", None)
    with pytest.raises(NanotwinError, match="4 pi/lambda"):
        read_pattern_as(write(tmp_path / "q30.xy", [], np.linspace(1, 30, 50)), "q", 0.5)


def test_d_spacings_become_q(tmp_path):
    d = np.linspace(5.0, 1.0, 41)  # decreasing d, as d files come
    y = np.arange(41.0) + 1
    path = write(tmp_path / "d.xy", ["# d-spacing (A)  I"], d, y)
    g = guess_import(path)
    assert g.x_kind == "d"
    data = read_pattern_as(path, "d", 0.7)
    assert data.x_kind == "q" and data.wavelength == 0.7
    np.testing.assert_allclose(data.x, np.sort(2 * np.pi / d), rtol=1e-6)
    np.testing.assert_allclose(data.y, y)  # d decreasing -> Q increasing: same order
    assert "2π/d" in data.notes[0]


def test_real_synchrotron_file_name(shared_data):
    path = shared_data / "waxts_pbs_qd" / "synchrotron" / "PbS_synchr_wl0p49547592A_3p17nm.xye"
    g = guess_import(path)
    assert (g.x_kind, g.wavelength, g.has_sigma) == ("tth", 0.49547592, True)
    assert read_pattern_as(path, g.x_kind, g.wavelength).wavelength == 0.49547592


def test_read_pattern_guessed_says_what_it_assumed(tmp_path):
    """The command line's reading: the file name's wavelength at full precision and the axis from
    the range, each with its reason; what was given is taken as given and not said."""
    path = write(tmp_path / "PbS_wl0p49547592A_run3.xy", [], np.linspace(1, 30, 50))
    data = read_pattern_guessed(path)
    assert (data.x_kind, data.wavelength) == ("tth", 0.49547592)
    assert data.notes[0].startswith("x read as 2θ (°): x reaches 30")
    assert data.notes[1] == "wavelength 0.49547592 Å from the file name PbS_wl0p49547592A_run3.xy"
    given = read_pattern_guessed(path, x_kind="tth")
    assert given.wavelength == 0.49547592 and not any("x read as" in n for n in given.notes)
    assert read_pattern_guessed(path, x_kind="tth", wavelength=0.5).notes == []


def test_read_pattern_guessed_takes_the_energy_and_a_d_column(tmp_path):
    """An energy in the header gives the wavelength (the plain reader ignores it); a d-spacing
    column becomes Q = 2 pi / d."""
    path = write(tmp_path / "e.xy", ["# Energy (keV): 25.0 keV", "# d-spacing  I"], np.linspace(1.0, 4.0, 50))
    data = read_pattern_guessed(path)
    assert data.wavelength == pytest.approx(HC / 25.0, rel=1e-12)
    assert data.x_kind == "q" and data.x[-1] == pytest.approx(2 * np.pi)
    assert "energy" in data.notes[1] and data.notes[0].startswith("x read as d (Å)")
