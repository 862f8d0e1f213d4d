"""The refinement dock's mixture editor (offscreen): twin states as the command line's
--twin-states, a second phase, and a fit set up on them lists the fractions to refine."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from nanotwin_core.actions import compute_pattern
from nanotwin_core.io.data import PatternData
from nanotwin_core.model import ComponentSpec, Model
from nanotwin_core.refine.dse_fit import twin_states


@pytest.fixture
def window(headless_window):
    return headless_window


def test_twin_states_are_the_cores(window):
    box = window.refine_dock_widget.mixture_box
    ws = window.workspace
    assert not box.set_twin_states()  # no twin laws yet
    assert "twin laws" in box.message_label.text()
    ws.set_model(replace(ws.model, twins=["1/2<001>{110}"]))
    box.sizes_edit.setText("4, 2")
    box.seeds_edit.setText("1-2")
    box.states_button.click()
    assert ws.model.components == twin_states(["1/2<001>{110}"], [4.0, 2.0], [1, 2])
    assert "d4nm" in box.components_label.text() and "untwinned" in box.components_label.text()
    box.clear_button.click()
    assert ws.model.components == []


def test_second_phase_and_its_fit_set_up(window, qtbot):
    ws = window.workspace
    model = Model(structure="PbS-rocksalt", shape="sphere", size_nm=1.6)
    ws.set_model(model)
    box = window.refine_dock_widget.mixture_box
    box.phase_combo.setCurrentText("CdSe-zincblende")
    box.fraction_spin.setValue(0.3)
    box.phase_button.click()
    second = ComponentSpec("CdSe-zincblende", 0.3, structure="CdSe-zincblende", twins=[])
    assert ws.model.components == [ComponentSpec("PbS-rocksalt", 0.7), second]
    assert [p.name for p in window.pattern_panel.phase_ticks] == ["PbS-rocksalt", "CdSe-zincblende"]
    q = np.arange(1.0, 6.0, 0.01)
    y = compute_pattern(ws.model, q).intensity * 1e-3 + 10.0
    ws.set_data(PatternData(q, y, np.ones_like(q), x_kind="q", path="mix.xye"))
    dock = window.refine_dock_widget
    dock.choice_checks["size"].setChecked(False)
    dock.choice_checks["fractions"].setChecked(True)
    dock.setup_button.click()
    qtbot.waitUntil(lambda: not window.fits.running(), timeout=120_000)
    names = [r["name"] for r in dock.rows()]
    assert {"scale_PbS-rocksalt", "scale_CdSe-zincblende"} <= set(names), names
