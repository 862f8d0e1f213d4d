"""Teaching dock (live tilt / twin sliders), zoom autoscale, status-bar pair count, sprite viewer.

Every pattern the dock plots is checked against the engine run independently on the same
crystal (``test_teaching.engine_pattern``); the computation itself is tested in test_teaching.py.
"""

from __future__ import annotations

import numpy as np
import pytest
from nanotwin_app.plots.plot_math import superstructure_y_range
from nanotwin_app.plots.ticks import pseudocubic_ticks
from PySide6.QtCore import QSettings
from test_teaching import SIZE, engine_pattern, value_near

from nanotwin_core.teaching import SUPER_WINDOW

WAIT_MS = 120_000  # the first update may compile the numba kernels


# ------------------------------------------------------------------ zoom autoscale (pure)
def test_superstructure_y_range_ignores_fundamentals():
    a_p = 5.9
    q = np.arange(1.3, 2.4, 0.002)
    ticks = pseudocubic_ticks(a_p, 2.4, q_min=1.3)
    y = np.full_like(q, 1.0)
    for t in ticks:
        height = 1000.0 if t.klass == "fundamental" else 20.0
        y += height * np.exp(-0.5 * ((q - t.q) / 0.01) ** 2)
    positions = [t.q for t in ticks if t.klass != "fundamental"]
    lo, hi = superstructure_y_range([(q, y)], positions, SUPER_WINDOW)
    sup = max(value_near(q, y, t.q) for t in ticks if t.klass != "fundamental" and 1.5 <= t.q <= 2.2)
    assert hi >= sup and lo <= 1.0 + 1e-9
    assert hi < 0.1 * y.max()  # fundamentals (1000) run off the top instead of flattening the peaks
    assert superstructure_y_range([(q, y)], None, SUPER_WINDOW) is None
    assert superstructure_y_range([(q, y)], positions, (0.2, 0.3)) is None  # no superstructure position there


# ------------------------------------------------------------------ window (offscreen)
@pytest.fixture
def window(qtbot, tmp_path):
    from nanotwin_app.main_window import MainWindow

    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    w = MainWindow(settings, use_gl=False, warm_up=False, headless=True)
    qtbot.addWidget(w)
    yield w
    w.teaching_dock_widget.shutdown()
    w.runner.shutdown(5000)
    w.workspace.set_dirty(False)


def settle(qtbot, dock) -> None:
    qtbot.waitUntil(lambda: not dock.busy(), timeout=WAIT_MS)


def test_dock_in_view_menu_and_tilt_to_zero(qtbot, window):
    dock = window.teaching_dock_widget
    assert window.teaching_dock.toggleViewAction() in window.menuBar().actions()[1].menu().actions()
    window.teaching_dock.show()
    dock.size_spin.setValue(SIZE)
    dock.set_tilt(15.0)
    settle(qtbot, dock)
    res = dock.last_result
    assert res is not None and res.request.tilt_deg == 15.0
    assert res.heights["R"] > 0
    panel = window.pattern_panel
    q, y = panel.patterns[res.live_label]
    ref, _ = engine_pattern("Br", 15.0, SIZE, q, res.request.wavelength)  # the panel's wavelength
    np.testing.assert_allclose(y, ref, rtol=1e-9)

    # zoom autoscale covers the superstructure peaks, not the fundamentals
    lo, hi = panel.zoom_plot.getViewBox().viewRange()[1]
    assert (lo, hi) == pytest.approx(panel.zoom_y_range())
    zoom = (q >= SUPER_WINDOW[0]) & (q <= SUPER_WINDOW[1])
    sup = [t.q for t in pseudocubic_ticks(res.a_p, 2.2, q_min=1.5) if t.klass != "fundamental"]
    for label, (qc, yc) in panel.patterns.items():
        for qs in sup:
            assert value_near(qc, yc, qs) <= hi, label
    assert hi < y[zoom].max()  # the (110)/(111)/(200) peaks run off the top
    panel.zoom_fit_check.setChecked(False)
    panel.zoom_plot.getViewBox().updateAutoRange()
    assert panel.zoom_plot.getViewBox().viewRange()[1][1] >= 0.99 * y[zoom].max()
    panel.zoom_fit_check.setChecked(True)

    # status bar: the real pair count of the plotted crystal
    assert window.pairs_label.text() == f"pairs: {res.n_pairs:,}"

    dock.set_tilt(0.0)
    settle(qtbot, dock)
    res0 = dock.last_result
    assert res0.request.tilt_deg == 0.0
    for k in ("R", "M", "X"):
        assert abs(res0.heights[k]) < 1e-9 * res.heights["R"]
    q, y = panel.patterns[res0.live_label]
    ref, crystal = engine_pattern("Br", 0.0, SIZE, q, res0.request.wavelength)
    np.testing.assert_allclose(y, ref, rtol=1e-9)
    assert window.workspace.crystal is res0.crystal
    assert window.atoms_label.text() == f"atoms: {crystal.n_atoms:,}"
    text = dock.heights_label.text()  # no superstructure left: nothing to compare, absolute 0
    assert "<b>R – " in text and ("absolute (e.u.): R 0 " in text or "absolute (e.u.): R -0 " in text)


def test_burst_of_slider_moves_ends_with_last_value(qtbot, window):
    dock = window.teaching_dock_widget
    dock.size_spin.setValue(SIZE)
    settle(qtbot, dock)
    values = [5.0, 7.5, 9.0, 11.2, 3.3, 12.3, 8.8, 14.1]
    for v in values:
        dock.set_tilt(v)
        qtbot.wait(15)  # some requests start, later ones cancel or outdate them
    settle(qtbot, dock)
    res = dock.last_result
    assert res.request.tilt_deg == pytest.approx(14.1)
    assert dock.tilt_deg == pytest.approx(14.1)
    label = res.live_label
    assert "14.1°" in label and label in window.pattern_panel.patterns
    q, y = window.pattern_panel.patterns[label]
    ref, _ = engine_pattern("Br", 14.1, SIZE, q, res.request.wavelength)
    np.testing.assert_allclose(y, ref, rtol=1e-9)
    # twin slider: a burst ends with its last value too, with the untwinned overlay
    for size in (6.0, 3.0, 2.0):
        dock.set_domain_size(size)
        qtbot.wait(10)
    settle(qtbot, dock)
    res = dock.last_result
    assert res.request.domain_size_nm == 2.0 and res.request.tilt_deg == pytest.approx(14.1)
    assert any(k.startswith("untwinned") for k in window.pattern_panel.patterns)
    # twinned: the Bragg and diffuse parts of each class, each with its sentence
    text = dock.heights_label.text()
    assert "Bragg" in text and "diffuse" in text and f"R {res.bragg['R']:.2f}" in text
    assert 0 < res.bragg["R"] < 0.5 and res.diffuse["R"] > 0.2
    assert window.pairs_label.text() == f"pairs: {res.n_pairs:,}"


# ------------------------------------------------------------------ sprites (real GL)
@pytest.mark.gl
def test_sprites_draw_atoms_the_size_of_the_spheres(qtbot):
    from nanotwin_app.viewer3d import adapters
    from nanotwin_app.viewer3d.canvas import CrystalCanvas

    from nanotwin_core.crystal import Crystal

    canvas = CrystalCanvas(size=(320, 240))
    qtbot.addWidget(canvas.canvas.native)
    try:
        one = Crystal(positions=np.zeros((1, 3)), elements=np.array(["Cs"]))
        one.info["boundaries"] = []
        canvas.set_crystal(one)
        canvas.view.camera.scale_factor = 12.0  # about 5 marker diameters across the view
        background = np.array([0x20, 0x24, 0x2B])

        def area() -> int:
            img = canvas.render_image()[..., :3].astype(int)
            img[-95:, :95] = background  # leave out the axes gizmo corner
            return int((np.abs(img - background).sum(axis=2) > 30).sum())

        canvas.set_marker_mode("spheres")
        assert canvas.markers.visible and not canvas.sprites.visible
        a_spheres = area()
        canvas.set_marker_mode("sprites")
        assert canvas.sprites.visible and not canvas.markers.visible
        assert canvas.sprites.n_points == 1
        a_sprites = area()
        assert a_spheres > 200
        assert a_sprites == pytest.approx(a_spheres, rel=0.2)  # same diameter in pixels
        canvas.set_marker_mode("auto")
        assert canvas.uses_sprites(adapters.SPHERICAL_LIMIT) and not canvas.uses_sprites(10)
        with pytest.raises(ValueError):
            canvas.set_marker_mode("cubes")
    finally:
        canvas.close()
