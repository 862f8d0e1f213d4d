"""Phase-aware tick rows (offscreen): every phase of the model gets its reflections, labelled;
R/M/X rows and the superstructure zoom only for a superstructure; crowded ticks become a strip."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from app_helpers import fake_window
from nanotwin_app.plots.pattern_panel import PatternPanel
from nanotwin_app.plots.tick_rows import crowded_from
from PySide6.QtWidgets import QApplication

from nanotwin_core.model import ComponentSpec
from nanotwin_core.phases import phase_reflections, superstructure_zoom
from nanotwin_core.structures.library import get_structure

Q = np.linspace(0.5, 6.0, 1200)


@pytest.fixture
def panel(qtbot):
    p = PatternPanel()
    qtbot.addWidget(p)
    p.set_patterns({"calc": (Q, 1 + np.sin(5 * Q) ** 2)})
    return p


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    return fake_window(qtbot, tmp_path, monkeypatch)


def test_pbs_ticks_sit_at_its_reflections_and_no_superstructure_rows(panel):
    pbs = get_structure("PbS-rocksalt")
    panel.set_phases([("PbS", pbs)])
    assert set(panel.phase_items) == {("PbS", "all")}
    x, _y = panel.phase_items[("PbS", "all")].getData()
    np.testing.assert_allclose(np.sort(x), [r.q for r in phase_reflections(pbs, Q.max())])
    assert not panel.zoom_plot.isVisible() and not panel.region.isVisible()
    assert panel.zoom_y_range() is None
    texts = [p.data() for p in panel.phase_items[("PbS", "all")].points()]
    assert texts[0].startswith("PbS (1 1 1)") and "m = 8" in texts[0]
    panel.set_x_axis("d")  # ticks follow the axis
    x_d, _y = panel.phase_items[("PbS", "all")].getData()
    np.testing.assert_allclose(np.sort(x_d), np.sort([r.d for r in phase_reflections(pbs, Q.max())]))


def test_superstructure_gets_rmx_rows_and_its_zoom(panel):
    gamma = get_structure("CsPbBr3-gamma")
    panel.set_phases([("CsPbBr3", gamma)])
    assert {k.removesuffix(" strip") for _n, k in panel.phase_items} == {"all", "R", "M", "X"}
    assert panel.zoom_plot.isVisible() and panel.region.isVisible()
    assert panel.zoom_q == pytest.approx(superstructure_zoom(gamma), rel=1e-6)
    assert set(panel.tick_items) == {"fundamental", "R", "M", "X"}
    panel.set_phases([("PbS", get_structure("PbS-rocksalt"))])
    assert not panel.zoom_plot.isVisible()
    panel.resize(900, 400)
    panel.show()
    QApplication.processEvents()
    # no superstructure: the main plot takes the whole width, no blank column where the zoom was
    assert panel.main_plot.width() >= 0.9 * panel.graphics.width()
    panel.set_phases([("CsPbBr3", gamma)])
    QApplication.processEvents()
    assert 0.4 * panel.graphics.width() < panel.main_plot.width() < 0.8 * panel.graphics.width()


def test_crowded_ticks_become_a_density_strip(panel):
    q = np.linspace(0.5, 20.0, 4000)
    panel.set_patterns({"calc": (q, 1 + np.sin(5 * q) ** 2)})
    panel.set_phases([("CsPbBr3", get_structure("CsPbBr3-gamma"))])
    items = panel.phase_items
    assert ("CsPbBr3", "all strip") in items
    single, _y = items[("CsPbBr3", "all")].getData()
    assert 0 < len(single) < len(panel.phase_ticks[0].q)
    assert single.max() < 10.0  # single ticks where they are apart, the strip beyond


def test_crowded_from():
    apart = np.arange(0.0, 10.0, 1.0)
    assert crowded_from(apart, 0.1) == len(apart)
    mixed = np.concatenate([apart, 10 + np.arange(50) * 0.01])
    assert crowded_from(mixed, 0.1) == pytest.approx(len(apart), abs=1)
    # fewer ticks than the averaging window (PbS in Q 1-5: 9 ticks): never past the end (the
    # kernel's length once made it 10 and the tick row raised a broadcasting error)
    few = np.array([1.83, 2.12, 3.0, 3.52, 3.67, 4.24, 4.62, 4.74, 4.99])
    for gap in (0.01, 0.2, 0.5, 1.0):
        assert 0 <= crowded_from(few, gap) <= len(few)
        assert 0 <= crowded_from(few[:4], gap) <= 4


def test_window_ticks_follow_the_models_phases(window):
    ws = window.workspace
    ws.set_model(replace(ws.model, structure="PbS-rocksalt", shape="sphere", size_ab_nm=None,
                         size_c_nm=None, size_nm=4.0))
    assert [p.name for p in window.pattern_panel.phase_ticks] == ["PbS-rocksalt"]
    assert not window.pattern_panel.zoom_plot.isVisible()
    ws.set_model(replace(ws.model, components=[
        ComponentSpec("pbs", 0.7), ComponentSpec("delta", 0.3, structure="CsPbI3-delta")]))
    assert [p.name for p in window.pattern_panel.phase_ticks] == ["PbS-rocksalt", "CsPbI3-delta"]
