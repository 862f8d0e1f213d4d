"""The vispy viewer with a real GL context (Xvfb + Mesa): canvas, colours, clipping, export."""

from __future__ import annotations

import numpy as np
import pytest
from nanotwin_app.viewer3d import palettes
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
    assert "variant&nbsp;1" in panel.legend_label.text()  # non-breaking: the legend wraps between entries
    assert panel.export_png(str(tmp_path / "v.png"))
    assert (tmp_path / "v.png").stat().st_size > 500
    panel.canvas.close()


def test_light_background_unit_cell_and_axes(canvas):
    crystal = two_domain_crystal(3)
    canvas.set_colour_mode("element")
    canvas.set_crystal(crystal)
    assert canvas.cell_lines.visible and list(canvas.axis_labels.text) == ["a", "b", "c"]
    dark_colours = canvas.face_colours.copy()
    canvas.set_background("light")
    img = canvas.render_image()
    corner = img[2, 2, :3].astype(int)
    assert np.abs(corner - np.array(palettes.BACKGROUNDS["light"]) * 255).max() <= 2
    assert not np.allclose(dark_colours, canvas.face_colours)  # Pb and Cs as Jmol has them: dark on light
    canvas.set_cell_visible(False)
    assert not canvas.cell_lines.visible and not canvas.cell_labels.visible
    with pytest.raises(ValueError, match="background"):
        canvas.set_background("pink")


def test_clipping_cuts_the_boundary_planes(canvas):
    crystal = two_domain_crystal(4)  # one boundary plane at z = 2 a - 0.1
    canvas.set_crystal(crystal)
    assert len(canvas.plane_polygons) == 1 and canvas.planes.visible
    z = np.array([0.0, 0.0, 1.0])
    canvas.set_clip(z, centre=2.0, thickness=1.0)  # a slab far from the plane
    assert canvas.plane_polygons == [] and not canvas.planes.visible
    x = np.array([1.0, 0.0, 0.0])
    canvas.set_clip(x, centre=6.0, thickness=2.0)  # a slab across the plane: only its strip stays
    (strip,) = canvas.plane_polygons
    assert np.all(np.abs(strip @ x - 6.0) <= 1.0 + 1e-9) and canvas.planes.visible
    canvas.set_clip(None)
    assert np.ptp(canvas.plane_polygons[0][:, 0]) == pytest.approx(4 * 5.9)


def test_export_at_twice_the_size_with_the_legend(qtbot, tmp_path):
    from nanotwin_app.viewer3d.viewer_panel import ViewerPanel
    from PIL import Image

    from nanotwin_core.io.atomic import default_file_mode

    panel = ViewerPanel(use_gl=True)
    qtbot.addWidget(panel)
    panel.resize(640, 480)
    panel.show()
    qtbot.wait(30)
    panel.set_crystal(two_domain_crystal(3))
    w, h = panel.canvas.canvas.size
    path = tmp_path / "view.png"
    assert panel.export_png(str(path), scale=2)
    with Image.open(path) as image:
        assert image.size[0] == 2 * w and image.size[1] > 2 * h  # the legend under the render
        legend_strip = np.asarray(image.convert("RGB"))[2 * h:]
    assert (path.stat().st_mode & 0o777) == default_file_mode()
    for _label, rgb in panel.canvas.legend:  # each legend swatch is drawn in the image
        assert np.any(np.abs(legend_strip.astype(int) - np.array(rgb) * 255).max(axis=2) <= 2)
    assert panel.scale_combo.currentText() == "2×"
    panel.canvas.close()


def test_networks_open_coloured_by_variant_until_the_user_chooses(qtbot):
    from nanotwin_app.viewer3d.viewer_panel import ViewerPanel
    from test_app_palettes import network_crystal

    panel = ViewerPanel(use_gl=True)
    qtbot.addWidget(panel)
    panel.set_crystal(network_crystal(28))
    assert panel.colour_combo.currentText() == "variant" and panel.canvas.colour_mode == "variant"
    assert len(panel.canvas.legend) == 4
    panel.set_crystal(two_domain_crystal(3))
    assert panel.canvas.colour_mode == "domain"
    panel.set_colour_mode("element")
    panel.set_crystal(network_crystal(28))
    assert panel.canvas.colour_mode == "element"  # the user's choice is kept
    assert "thickness 8 Å" == panel.thick_label.text()
    panel.canvas.close()
