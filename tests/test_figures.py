"""Figures for papers (core ``figures.pattern_figure``, ``figure_content``) and exported tables
(``io.pattern_table``), and ``nanotwin simulate/fit --figure``: sizes, formats, plain text, modes."""

from __future__ import annotations

import os
import stat
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from PIL import Image

from nanotwin_core.cli import main
from nanotwin_core.errors import NanotwinError
from nanotwin_core.figure_content import phase_tick_rows
from nanotwin_core.figures import (
    FIGURE_MARK,
    FigureCurve,
    FigureLayout,
    PatternFigureSpec,
    difference_curve,
    largest,
    pattern_figure,
    plain_text,
    power_of_ten,
    scaled_label,
)
from nanotwin_core.io.data import read_pattern
from nanotwin_core.io.pattern_table import (
    curve_file_name,
    export_header,
    write_curve_files,
    write_pattern_table,
)
from nanotwin_core.structures.library import get_structure

pypdf = pytest.importorskip("pypdf")

Q = np.linspace(1.0, 4.0, 301)
OBS = 100 + 50 * np.exp(-((Q - 2.1) / 0.05) ** 2)
CALC = 98 + 52 * np.exp(-((Q - 2.1) / 0.05) ** 2)


def fit_spec(**kw) -> PatternFigureSpec:
    s = get_structure("PbS-rocksalt")
    curves = [FigureCurve("observed", Q, OBS, "observed", sigma=np.sqrt(OBS)),
              FigureCurve("calculated", Q, CALC),
              FigureCurve("background", Q, np.full_like(Q, 98), "background")]
    return PatternFigureSpec(curves=curves, x_label="Q (1/Å)", y_label="I (counts)",
                             ticks=phase_tick_rows([(s.name, s)], 1.0, 4.0, lambda q: q),
                             difference_of="calculated", title="<b>fit</b> of 1/2&lt;001&gt;{110}", **kw)


def pdf_text(path) -> str:
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(path).pages)


def test_plain_text_drops_markup_but_keeps_twin_laws():
    assert plain_text("<b>Teaching</b>: tilt<br>15°") == "Teaching : tilt 15°"
    assert plain_text("one 1/2<001>{110} boundary") == "one 1/2<001>{110} boundary"
    assert plain_text("a &amp; b, $x$") == r"a & b, \$x\$"


def test_pdf_of_a_fit_has_its_curves_ticks_and_no_markup(tmp_path):
    path = pattern_figure(fit_spec(), tmp_path / "fit.pdf")
    text = pdf_text(path)
    for needle in ("observed", "calculated", "difference", "background", "PbS-rocksalt", "I (counts)",
                   "Q (1/Å)", "fit of 1/2<001>{110}"):
        assert needle in text, needle
    assert "<b>" not in text and "&lt;" not in text and "&amp;" not in text
    assert FIGURE_MARK.encode() in path.read_bytes()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o666 & ~_umask()


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@pytest.mark.parametrize(("width", "height", "dpi"), [(1800, 1200, 300), (1001, 667, 300), (640, 480, 150)])
def test_png_and_tiff_have_the_requested_pixels_and_dpi(tmp_path, width, height, dpi):
    layout = FigureLayout(width=width, height=height, unit="px", dpi=dpi)
    for name in ("f.png", "f.tif"):
        with Image.open(pattern_figure(fit_spec(), tmp_path / name, layout)) as image:
            assert image.size == (width, height)
            assert image.info["dpi"] == pytest.approx((dpi, dpi), rel=1e-3)  # PNG: dots per metre


def test_size_in_mm_at_300_dpi(tmp_path):
    layout = FigureLayout(width=85.0, height=60.0, unit="mm", dpi=300)  # a one-column figure
    with Image.open(pattern_figure(fit_spec(), tmp_path / "f.png", layout)) as image:
        assert image.size == (round(85 / 25.4 * 300), round(60 / 25.4 * 300))


def test_svg_ids_and_difference_in_its_own_panel(tmp_path):
    svg = pattern_figure(fit_spec(offset_difference=False, zoom=(2.0, 2.2), zoom_title="zoom 2.0-2.2"),
                         tmp_path / "f.svg")
    ids = {e.get("id") for e in ET.parse(svg).getroot().iter() if e.get("id")}
    for key in ("observed", "calculated", "difference"):
        assert f"main/{key}" in ids and f"zoom/{key}" in ids
    assert "main/observed/error bars" in ids


def test_difference_is_observed_minus_calculated_on_observed_points():
    obs = FigureCurve("o", Q[::-1], OBS[::-1], "observed")  # d runs backwards: still matched
    x, d = difference_curve(obs, FigureCurve("c", Q[10:-10], CALC[10:-10]))
    assert len(x) == len(Q) - 20
    np.testing.assert_allclose(d, (OBS - CALC)[10:-10][::-1], atol=1e-9)


def test_large_intensities_get_a_power_of_ten_in_the_label():
    assert power_of_ten(largest([FigureCurve("a", Q, -3.2e6 * np.ones_like(Q))])) == 6
    assert power_of_ten(120.0) == 0 and power_of_ten(0.0) == 0 and power_of_ten(2e-3) == -3
    assert scaled_label("I (counts)", 6) == "I (10⁶ counts)"


def test_unknown_format_and_bad_layout_are_refused(tmp_path):
    with pytest.raises(NanotwinError, match="PNG, SVG, PDF or TIFF"):
        pattern_figure(fit_spec(), tmp_path / "f.jpg")
    with pytest.raises(NanotwinError, match="> 0"):
        pattern_figure(fit_spec(), tmp_path / "f.png", FigureLayout(width=0))
    assert not list(tmp_path.iterdir())


def test_table_has_named_columns_header_and_mode_0644(tmp_path):
    header = export_header("PbS-rocksalt sphere 3 nm", 0.56416, "q")
    fitted = slice(20, 280)
    path = write_pattern_table(tmp_path / "t.csv", "q", Q, {
        "observed": (Q, OBS), "sigma": (Q, np.sqrt(OBS)), "calculated": (Q[fitted], CALC[fitted]),
        "difference": (Q[fitted], (OBS - CALC)[fitted])}, header)
    lines = path.read_text().splitlines()
    assert lines[0].startswith("# nanotwin") and "# model: PbS-rocksalt sphere 3 nm" in lines
    assert "# wavelength: 0.56416 A" in lines and any(line.startswith("# date: 20") for line in lines)
    assert lines[len(header)] == '"Q (1/A)","observed","sigma","calculated","difference"'
    table = np.genfromtxt(path, delimiter=",", comments="#", skip_header=len(header) + 1)
    np.testing.assert_allclose(table[:, 1], OBS)
    assert np.isnan(table[0, 3]) and np.isnan(table[-1, 4])  # outside the fitted points
    np.testing.assert_allclose(table[fitted, 3], CALC[fitted])
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o666 & ~_umask()
    tsv = write_pattern_table(tmp_path / "t.txt", "q", Q, {"two words": (Q, OBS)}, header)
    assert tsv.read_text().splitlines()[len(header)] == "Q (1/A)\ttwo words"


def test_one_file_per_curve_is_named_after_it_and_reads_back(tmp_path):
    header = export_header("m", 0.5, "tth")
    written = write_curve_files(tmp_path / "p.xye", "tth", {
        "observed: run 1": (Q, OBS, np.sqrt(OBS)), "fit: calculated": (Q, CALC, None)}, header)
    assert [p.name for p in written] == ["p_observed_run_1.xye", "p_fit_calculated.xye"]
    back = read_pattern(written[0])
    assert back.x_kind == "tth" and back.wavelength == pytest.approx(0.5)
    np.testing.assert_allclose(back.sigma, np.sqrt(OBS), rtol=1e-9)
    assert all(stat.S_IMODE(os.stat(p).st_mode) == 0o666 & ~_umask() for p in written)
    assert curve_file_name("p", "[old] a/b", ".csv") == "p_old_a_b.csv"


def test_simulate_and_fit_write_figures(tmp_path, capsys):
    data = tmp_path / "pbs.xye"
    crystal = ["--structure", "PbS-rocksalt", "--shape", "sphere", "--size", "2.5"]
    assert main(["simulate", *crystal, "--q", "1.5:6:0.01", "--adp", "Pb=1,S=1", "--out", str(data),
                 "--figure", str(tmp_path / "sim.png"), "--figure-size", "900x600px", "--dpi", "150",
                 "--quiet"]) == 0
    with Image.open(tmp_path / "sim.png") as image:
        assert image.size == (900, 600)
    fig = tmp_path / "fit.pdf"
    assert main(["fit", "--data", str(data), "--x", "q", *crystal, "--refine", "scale,background",
                 "--out", str(tmp_path / "f.h5"), "--figure", str(fig), "--quiet"]) == 0
    assert f"wrote {fig}" in capsys.readouterr().out
    text = pdf_text(fig)
    for needle in ("observed (pbs.xye)", "calculated", "difference", "PbS-rocksalt", "Rwp", "I (10"):
        assert needle in text, needle
    assert "<" not in text
    # an unknown figure type stops before the fit, with the one-line message
    assert main(["fit", "--data", str(data), "--x", "q", *crystal, "--out", str(tmp_path / "g.h5"),
                 "--figure", str(tmp_path / "fit.jpg"), "--quiet"]) == 2
    assert "fit.jpg: figures are written as PNG, SVG, PDF or TIFF" in capsys.readouterr().err
    assert not (tmp_path / "g.h5").exists()
