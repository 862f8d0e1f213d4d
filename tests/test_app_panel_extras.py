"""Pattern panel extras (error bars, difference, curves list, overlays, SVG/PDF export), PbX6
octahedra in the 3D view (GL), and File > Export CIF / figure / 3D view."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import numpy as np
import pytest
from app_helpers import fake_result
from nanotwin_app import jobs
from nanotwin_app.main_window import MainWindow
from nanotwin_app.plots.panel_export import export_curves, export_figure
from nanotwin_app.plots.pattern_panel import DATA_KEY, DIFF_KEY, PatternPanel
from nanotwin_app.plots.plot_math import overlay_key
from nanotwin_app.viewer3d import adapters
from PySide6.QtCore import QSettings, Qt
from test_app_adapters import two_domain_crystal

from nanotwin_core.errors import NanotwinError

Q = np.linspace(0.5, 6.0, 800)
Y_OBS = 10 + 3 * np.sin(2 * Q) ** 2
SIGMA = 0.05 + 0.01 * Q


@pytest.fixture
def panel(qtbot):
    p = PatternPanel()
    qtbot.addWidget(p)
    return p


@pytest.fixture
def window(fake_main_window):
    return fake_main_window


# ------------------------------------------------------------------ error bars
def test_error_bars_follow_sigma(panel):
    panel.set_data(Q, Y_OBS, "obs.xye")
    assert not panel.error_bars_check.isEnabled()  # no sigma: nothing to draw
    panel.set_data(Q, Y_OBS, "obs.xye", sigma=SIGMA)
    assert panel.error_bars_check.isEnabled() and panel.error_bars == []  # off until asked
    panel.set_error_bars(True)
    assert len(panel.error_bars) == 2  # main and zoom plot
    for bars in panel.error_bars:
        np.testing.assert_allclose(bars.opts["x"], Q)
        np.testing.assert_allclose(bars.opts["y"], Y_OBS)
        np.testing.assert_allclose(bars.opts["top"], SIGMA, rtol=1e-12)
        np.testing.assert_allclose(bars.opts["bottom"], SIGMA, rtol=1e-12)
    panel.set_y_scale("sqrt")  # bars are y +- sigma on the plotted scale
    bars = panel.error_bars[0].opts
    np.testing.assert_allclose(bars["top"], np.sqrt(Y_OBS + SIGMA) - np.sqrt(Y_OBS), rtol=1e-10)
    np.testing.assert_allclose(bars["bottom"], np.sqrt(Y_OBS) - np.sqrt(Y_OBS - SIGMA), rtol=1e-10)
    panel.set_y_scale("linear")
    panel.set_data(Q, Y_OBS, "obs.xye", sigma=3 * SIGMA)  # new data, new bars
    np.testing.assert_allclose(panel.error_bars[0].opts["top"], 3 * SIGMA, rtol=1e-12)
    panel.set_x_axis("d")
    np.testing.assert_allclose(panel.error_bars[0].opts["x"], 2 * np.pi / Q)
    panel.set_error_bars(False)
    assert panel.error_bars == []
    with pytest.raises(ValueError):
        panel.set_data(Q, Y_OBS, sigma=SIGMA[:10])


# ------------------------------------------------------------------ difference
def test_difference_curve_equals_observed_minus_calculated(panel):
    mask = (Q > 1.0) & ~((Q > 3.0) & (Q < 3.2))  # a fit range with an excluded region
    y_calc = 10 + 2.8 * np.sin(2 * Q[mask]) ** 2
    panel.set_data(Q, Y_OBS, "obs.xye", sigma=SIGMA)
    panel.set_patterns({"untwinned": (Q, Y_OBS)})
    assert panel.difference() is None and DIFF_KEY not in panel.items  # no fit: no difference
    background = np.full(mask.sum(), 9.0)
    panel.set_patterns({"fit: calculated": (Q[mask], y_calc), "fit: background": (Q[mask], background)})
    q_d, d = panel.difference()
    np.testing.assert_array_equal(q_d, Q[mask])  # only where the fit was evaluated
    np.testing.assert_allclose(d, Y_OBS[mask] - y_calc, rtol=0, atol=1e-12)
    x_plot, y_plot = panel.difference_curve.getData()
    np.testing.assert_array_equal(x_plot, Q[mask])
    np.testing.assert_allclose(y_plot - panel.difference_offset, Y_OBS[mask] - y_calc, atol=1e-12)
    # drawn below the pattern: its highest point under the lowest observed or calculated point
    assert y_plot.max() < min(Y_OBS[mask].min(), y_calc.min())
    assert DIFF_KEY in panel.items and len(panel.items[DIFF_KEY]) == 4  # curve + zero line, both plots


def test_difference_on_another_grid_is_interpolated(panel):
    q_coarse = np.linspace(0.7, 5.0, 37)
    panel.set_data(Q, Y_OBS, "obs.xye")
    panel.set_patterns({"model": (q_coarse, 2 + 0.5 * q_coarse)}, difference_of="model")
    q_d, d = panel.difference()
    inside = (Q >= 0.7) & (Q <= 5.0)
    np.testing.assert_array_equal(q_d, Q[inside])
    # a straight line interpolates exactly
    np.testing.assert_allclose(d, Y_OBS[inside] - (2 + 0.5 * Q[inside]), atol=1e-12)
    with pytest.raises(ValueError):
        panel.set_patterns({"model": (q_coarse, q_coarse)}, difference_of="absent")


def test_window_shows_sigma_and_fit_difference(window, tmp_path):
    from nanotwin_app.workspace import FitRecord

    path = tmp_path / "obs.xye"
    rows = "".join(f"{q:.6f} {y:.6f} {s:.6f}\n" for q, y, s in zip(Q, Y_OBS, SIGMA, strict=True))
    path.write_text("# axis: Q (1/A)\n" + rows)
    assert window.files.load_data(path)
    panel = window.pattern_panel
    np.testing.assert_allclose(panel.sigma, SIGMA, atol=1e-6)  # the file's sigma reaches the panel
    y_calc = Y_OBS - 0.3 * np.cos(Q)
    record = FitRecord(rows=[], summary={"rwp": 0.05, "gof": 1.1}, y_calc=y_calc,
                       background=np.full(len(Q), 9.0), mask=np.ones(len(Q), bool))
    window.refine_dock_widget.show_fit_check.setChecked(True)
    window.workspace.set_fit(record)
    window._patterns_changed()
    q_d, d = panel.difference()
    np.testing.assert_allclose(q_d, Q, atol=1e-6)
    np.testing.assert_allclose(d, 0.3 * np.cos(q_d), atol=2e-6)  # file values have 6 decimals


# ------------------------------------------------------------------ curves list
def _list_item(panel, key):
    for i in range(panel.curve_list.count()):
        item = panel.curve_list.item(i)
        if item.data(Qt.ItemDataRole.UserRole) == key:
            return item
    raise AssertionError(f"{key!r} not in the curves list")


def test_hiding_a_curve_hides_it_in_both_plots(panel):
    panel.set_data(Q, Y_OBS, "obs.xye", sigma=SIGMA)
    panel.set_error_bars(True)
    panel.set_patterns({"untwinned": (Q, 1 + Q), "twinned": (Q, 2 + Q)})
    assert panel.curve_keys() == ["untwinned", "twinned", DATA_KEY]
    _list_item(panel, "twinned").setCheckState(Qt.CheckState.Unchecked)  # as the user does
    assert not panel.curves["twinned"].isVisible() and not panel.zoom_curves["twinned"].isVisible()
    assert panel.curves["untwinned"].isVisible() and panel.zoom_curves["untwinned"].isVisible()
    assert [label.text for _s, label in panel.legend.items] == ["untwinned", "obs.xye"]
    panel.set_curve_visible(DATA_KEY, False)  # the data's error bars go with it
    assert all(not item.isVisible() for item in panel.items[DATA_KEY])
    assert len(panel.items[DATA_KEY]) == 4
    # a new computation keeps the choice; ticking again shows it
    panel.set_patterns({"untwinned": (Q, 3 + Q), "twinned": (Q, 4 + Q)})
    assert not panel.curves["twinned"].isVisible() and not panel.zoom_curves["twinned"].isVisible()
    assert _list_item(panel, "twinned").checkState() == Qt.CheckState.Unchecked
    _list_item(panel, "twinned").setCheckState(Qt.CheckState.Checked)
    assert panel.curves["twinned"].isVisible() and panel.zoom_curves["twinned"].isVisible()


def test_hidden_curve_leaves_the_zoom_scale(panel):
    panel.set_pseudocubic(5.87)
    q_r = np.pi * np.sqrt(11) / 5.87  # the R peak (3/2 1/2 1/2), inside the 1.5-2.2 1/Å window
    small = 1 + 0.2 * np.exp(-((Q - q_r) / 0.01) ** 2)
    big = 1 + 5.0 * np.exp(-((Q - q_r) / 0.01) ** 2)
    panel.set_patterns({"small": (Q, small), "big": (Q, big)})
    assert panel.zoom_y_range()[1] > 6.0
    panel.set_curve_visible("big", False)
    assert panel.zoom_y_range()[1] < 1.3


# ------------------------------------------------------------------ overlays
def test_overlay_survives_new_patterns(panel, monkeypatch):
    first = {"untwinned": (Q, 1 + Q), "fit: background": (Q, np.ones_like(Q))}
    panel.set_patterns(first)
    monkeypatch.setattr(panel, "ask_overlay_name", lambda default: "no boundary")
    panel.keep_button.click()
    assert list(panel.overlays) == ["no boundary"]
    assert list(panel.overlays["no boundary"]) == ["untwinned"]  # backgrounds are not kept
    key = overlay_key("no boundary", "untwinned")
    for n in range(2):  # two later builds
        panel.set_patterns({"one boundary": (Q, 2 + Q * n)})
        assert key in panel.items and "one boundary" in panel.curves
        for item in panel.items[key][:2]:
            x, y = item.getData()
            np.testing.assert_array_equal(x, Q)
            np.testing.assert_array_equal(y, 1 + Q)
            assert item.opts["pen"].style() != Qt.PenStyle.SolidLine  # dashed: told apart from new curves
    assert panel.keep_overlay("no boundary") == "no boundary (2)"  # names stay unique
    assert set(panel.curves) == {"one boundary"}  # overlays are not calculated curves
    panel.clear_overlays()
    assert panel.overlays == {} and key not in panel.items
    assert not panel.clear_overlays_button.isEnabled()
    panel.set_patterns({})
    assert panel.keep_overlay() is None  # nothing to keep


def test_overlays_in_csv_export(panel, tmp_path):
    panel.set_patterns({"untwinned": (Q, 1 + Q)})
    panel.keep_overlay("old")
    panel.set_patterns({"twinned": (Q, 2 + Q)})
    csv = export_curves(panel, tmp_path / "p.csv")[0]
    lines = csv.read_text().splitlines()
    names = next(i for i, line in enumerate(lines) if not line.startswith("#"))
    assert lines[names] == '"Q (1/A)","[old] untwinned","twinned"'  # drawing order: overlays first
    table = np.loadtxt(csv, delimiter=",", comments="#", skiprows=names + 1)
    np.testing.assert_allclose(table[:, 2], 2 + Q, rtol=1e-7)
    np.testing.assert_allclose(table[:, 1], 1 + Q, rtol=1e-7)


# ------------------------------------------------------------------ figure export
def test_svg_and_pdf_export(panel, tmp_path):
    panel.set_data(Q, Y_OBS, "obs.xye", sigma=SIGMA)
    panel.set_error_bars(True)
    panel.set_pseudocubic(5.87)
    panel.set_patterns({"fit: calculated": (Q, Y_OBS - 0.2), "other <001>": (Q, 1 + Q)}, caption="a caption")
    panel.keep_overlay("kept")
    panel.set_curve_visible("other <001>", False)
    svg = export_figure(panel, tmp_path / "p.svg")
    root = ET.parse(svg).getroot()  # well-formed XML
    assert root.tag.endswith("svg")
    ids = {e.get("id") for e in root.iter() if e.get("id")}
    for key in ("fit: calculated", DATA_KEY, DIFF_KEY, overlay_key("kept", "fit: calculated")):
        assert f"main/{key}" in ids and f"zoom/{key}" in ids
    assert "main/observed/error bars" in ids
    assert not any(i.startswith("main/other") for i in ids)  # hidden curves stay out
    texts = " ".join(t.text or "" for t in root.iter() if t.tag.endswith("text"))
    assert "a caption" in texts and "superstructure peaks (R, M, X): 1.48–2.18 1/Å" in texts
    pdf = export_figure(panel, tmp_path / "p.pdf")
    raw = pdf.read_bytes()
    assert raw.startswith(b"%PDF-") and b"%%EOF" in raw[-64:] and len(raw) > 5000
    png = export_figure(panel, tmp_path / "p.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(NanotwinError, match="PNG, SVG, PDF or TIFF"):
        export_figure(panel, tmp_path / "p.jpg")
    assert not list(tmp_path.glob("*.part"))


def test_file_menu_exports_svg_and_cif(window, qtbot, tmp_path, monkeypatch):
    from nanotwin_core.structures.cif import read_cif, write_cif
    from nanotwin_core.structures.library import get_structure

    with qtbot.waitSignal(window.demo_finished, timeout=5000):
        window.run_demo("cspbbr3-298k")
    targets = iter([tmp_path / "fig.svg", tmp_path / "gamma.cif", tmp_path / "delta.cif"])
    monkeypatch.setattr(window, "ask_save_path", lambda caption, filters, suggested="": str(next(targets)))
    texts = {a.text(): a for a in window.menuBar().actions()[0].menu().actions()}
    texts["Export figure (PDF/SVG/PNG/TIFF)…"].trigger()
    assert ET.parse(tmp_path / "fig.svg").getroot().tag.endswith("svg")
    # Export CIF of the built-in structure of the model dock
    window.model_dock_widget.structure_combo.setCurrentText("CsPbBr3-gamma")
    assert window.workspace.model.structure == "CsPbBr3-gamma"
    texts["Export CIF…"].trigger()
    ref, back = get_structure("CsPbBr3-gamma"), read_cif(tmp_path / "gamma.cif")
    for name in ("a", "b", "c", "alpha", "beta", "gamma"):
        assert getattr(back.cell, name) == pytest.approx(getattr(ref.cell, name), abs=1e-6)
    assert back.space_group().number == ref.space_group().number == 62
    assert len(back.sites) == len(ref.sites)
    # and of an imported CIF
    src = write_cif(get_structure("CsPbI3-delta"), tmp_path / "src.cif")
    assert window.files.import_structure(src)
    assert window.workspace.model.cif == str(src.resolve()) and window.workspace.model.structure is None
    texts["Export CIF…"].trigger()
    delta = read_cif(tmp_path / "delta.cif")
    ref = get_structure("CsPbI3-delta")
    for name in ("a", "b", "c", "alpha", "beta", "gamma"):
        assert getattr(delta.cell, name) == pytest.approx(getattr(ref.cell, name), abs=1e-6)
    assert "Export 3D view (PNG)…" in texts


# ------------------------------------------------------------------ octahedra (no GL)
def test_octahedra_of_a_cubic_block():
    n, a = 3, 5.9
    crystal = two_domain_crystal(n)
    octa = adapters.octahedra(crystal)
    pb = np.nonzero(crystal.elements == "Pb")[0]
    # Pb at the cell centres; its -a/2 halides are in its cell, its +a/2 ones in the next cell:
    # only Pb away from the + faces have all six (counted independently by position)
    pos = crystal.positions[pb]
    complete = np.all(pos < (n - 1) * a, axis=1)
    assert set(octa.centres) == set(pb[complete]) and len(octa) == (n - 1) ** 3
    assert octa.faces.shape == (8 * len(octa), 3)
    flat = octa.vertices.reshape(-1, 3)
    for k, centre in enumerate(octa.centres):
        v = octa.vertices[k] - crystal.positions[centre]
        expected = {tuple(s * a / 2 * e) for e in np.eye(3) for s in (1, -1)}
        assert {tuple(np.round(x, 9)) for x in v} == {tuple(np.round(x, 9)) for x in expected}
        tri = flat[octa.faces[8 * k:8 * k + 8]]  # each face: one vertex from each axis, wound outwards
        normal = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
        assert np.all(np.einsum("ij,ij->i", normal, tri.mean(axis=1) - crystal.positions[centre]) > 0)
        assert np.allclose(np.abs(tri - crystal.positions[centre]).sum(axis=2), a / 2)


def test_octahedra_merge_split_sites():
    from nanotwin_core.builder import build_crystal
    from nanotwin_core.structures.library import get_structure

    nc = build_crystal(get_structure("CsPbBr3-alpha-split"), shape="prism", size_ab_nm=3, size_c_nm=3)
    assert np.any(nc.occupancy < 1)
    octa = adapters.octahedra(nc)
    assert len(octa) > 0
    d = np.linalg.norm(octa.vertices - nc.positions[octa.centres][:, None, :], axis=2)
    a = nc.cell[0, 0]  # cubic: every merged site sits on the Pb-X-Pb line at a/2
    np.testing.assert_allclose(d, a / 2, atol=1e-6)


# ------------------------------------------------------------------ GL: octahedra mesh, 3D export
def _brute_force_octahedral_pb(crystal, cutoff: float = 3.6) -> int:
    pb = crystal.positions[crystal.elements == "Pb"]
    br = crystal.positions[crystal.elements == "Br"]
    d = np.linalg.norm(pb[:, None, :] - br[None, :, :], axis=2)
    return int(np.sum((d <= cutoff).sum(axis=1) == 6))


@pytest.mark.gl
def test_octahedra_mesh_has_eight_faces_per_pb(qtbot):
    from nanotwin_app.viewer3d import canvas as canvas_module
    from nanotwin_app.viewer3d.canvas import CrystalCanvas

    from nanotwin_core.builder import build_crystal
    from nanotwin_core.structures.library import get_structure

    c = CrystalCanvas(size=(320, 240))
    qtbot.addWidget(c.canvas.native)
    try:
        crystal = build_crystal(get_structure("CsPbBr3-gamma"), shape="prism", size_ab_nm=4, size_c_nm=4)
        c.set_crystal(crystal)
        for el in ("Cs", "Br", "Pb"):
            c.set_element_visible(el, False)
        blank = c.render_image()
        c.set_octahedra_visible(True)
        n_pb = _brute_force_octahedral_pb(crystal)
        assert n_pb > 0 and c.n_octahedra == n_pb
        faces = c.octahedra_mesh.mesh_data.get_faces()
        assert faces.shape == (8 * n_pb, 3)
        assert c.octahedra_mesh.mesh_data.get_vertices().shape == (6 * n_pb, 3)
        assert np.any(np.abs(c.render_image().astype(int) - blank.astype(int)).sum(axis=2) > 30)
        c.set_clip(np.array([0.0, 0.0, 1.0]), centre=float(crystal.positions[:, 2].mean()), thickness=4.0)
        assert 0 < c.n_octahedra < n_pb
        assert c.octahedra_mesh.mesh_data.get_faces().shape == (8 * c.n_octahedra, 3)
        c.set_clip(None)
        canvas_module.OCTAHEDRA_LIMIT, old = 10, canvas_module.OCTAHEDRA_LIMIT
        try:
            c.set_octahedra_visible(True)
            assert c.n_octahedra == 0 and "limit" in c.octahedra_note and not c.octahedra_mesh.visible
        finally:
            canvas_module.OCTAHEDRA_LIMIT = old
        c.set_octahedra_visible(False)
        assert not c.octahedra_mesh.visible
    finally:
        c.close()


@pytest.mark.gl
def test_export_3d_view_from_panel_and_menu(qtbot, tmp_path, monkeypatch):
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    monkeypatch.setattr(jobs, "run_demo", lambda name, progress=None, cancel=None: fake_result())
    w = MainWindow(settings, use_gl=True, warm_up=False, headless=True)
    try:
        with qtbot.waitSignal(w.demo_finished, timeout=5000):
            w.run_demo("cspbbr3-298k")
        w.viewer.octahedra_check.setChecked(True)
        assert w.viewer.canvas.n_octahedra == 8
        monkeypatch.setattr(w, "ask_save_path", lambda caption, filters, suggested="": str(tmp_path / "v3d"))
        w.viewer.export_button.click()  # the control bar's button goes through the same dialog
        png = tmp_path / "v3d.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 500
    finally:
        from app_helpers import dispose

        dispose(w, qtbot)
