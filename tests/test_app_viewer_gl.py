"""The vispy viewer with a real GL context (Xvfb + Mesa): canvas, colours, clipping, export."""

from __future__ import annotations

import numpy as np
import pytest
from test_app_adapters import two_domain_crystal

pytestmark = pytest.mark.gl


@pytest.fixture
def canvas(qtbot):
    from nanotwin_app.viewer3d.canvas import CrystalCanvas

    c = CrystalCanvas(size=(320, 240))
    qtbot.addWidget(c.canvas.native)
    yield c
    c.close()


def test_canvas_renders_small_crystal(canvas):
    crystal = two_domain_crystal(3)
    canvas.set_crystal(crystal)
    assert canvas.n_drawn == crystal.n_atoms
    assert canvas.markers.spherical
    assert canvas.planes.visible
    img = canvas.render_image()
    assert img.ndim == 3 and img.shape[2] == 4
    background = np.array([0x20, 0x24, 0x2B])
    assert np.any(np.abs(img[..., :3].astype(int) - background).sum(axis=2) > 30)  # something drawn


def test_colour_by_domain_changes_face_colours(canvas):
    crystal = two_domain_crystal(3)
    canvas.set_colour_mode("element")
    canvas.set_crystal(crystal)
    uploaded_el = np.array(canvas.markers._data["a_bg_color"])
    canvas.set_colour_mode("domain")
    uploaded_dom = np.array(canvas.markers._data["a_bg_color"])
    assert not np.allclose(uploaded_el, uploaded_dom)
    np.testing.assert_allclose(uploaded_dom, canvas.face_colours, atol=1e-6)
    assert len(np.unique(uploaded_dom.round(4), axis=0)) == 2


def test_clip_and_element_visibility_remove_atoms(canvas):
    crystal = two_domain_crystal(4)
    canvas.set_crystal(crystal)
    canvas.set_clip(np.array([0.0, 0.0, 1.0]), centre=0.0, thickness=1.0)
    assert 0 < canvas.n_drawn < crystal.n_atoms
    assert len(canvas.markers._data) == canvas.n_drawn
    canvas.set_clip(None)
    canvas.set_element_visible("Br", False)
    canvas.set_element_visible("Cs", False)
    assert canvas.n_drawn == 64
    canvas.render_image()


def test_viewer_panel_controls_and_export(qtbot, tmp_path):
    from nanotwin_app.viewer3d.viewer_panel import ViewerPanel

    panel = ViewerPanel(use_gl=True)
    qtbot.addWidget(panel)
    crystal = two_domain_crystal(3)
    panel.set_crystal(crystal)
    assert set(panel.element_checks) == {"Br", "Cs", "Pb"}
    panel.element_checks["Br"].setChecked(False)
    assert panel.canvas.n_drawn == crystal.n_atoms - int((crystal.elements == "Br").sum())
    assert panel.clip_combo.count() == 3  # off, Miller, one boundary
    panel.clip_combo.setCurrentIndex(2)
    assert panel.canvas.n_drawn < crystal.n_atoms
    panel.hkl_edit.setText("0 0 1")
    panel.clip_combo.setCurrentIndex(1)
    assert panel.canvas.clip is not None
    panel.set_colour_mode("variant")
    assert "variant 1" in panel.legend_label.text()
    assert panel.export_png(str(tmp_path / "v.png"))
    assert (tmp_path / "v.png").stat().st_size > 500
    panel.canvas.close()
