"""The fit options' texture row (offscreen): the widgets set ``model.texture`` and its refinement,
the window's fit refines the ratio of a textured population, a bad axis is refused in the dock."""

from __future__ import annotations

import numpy as np
import pytest

from nanotwin_core.actions import compute_pattern
from nanotwin_core.io.data import PatternData
from nanotwin_core.model import Model, PopulationSpec, TextureSpec


def test_texture_row_sets_the_model_and_the_fit_refines_it(headless_window, qtbot) -> None:
    window = headless_window
    truth = Model(structure="PbS-rocksalt", shape="sphere", population=PopulationSpec(D=2.5, sD=0.15),
                  texture=TextureSpec((1, 1, 0), 0.75))
    q = np.arange(1.5, 4.2, 0.005)
    y = 1e-3 * compute_pattern(truth, q).intensity
    window.workspace.set_model(Model(structure="PbS-rocksalt", shape="sphere",
                                     population=PopulationSpec(D=2.4, sD=0.15)))
    window.workspace.set_data(PatternData(q, y, np.sqrt(y), x_kind="q", path="textured.xye"))
    options = window.refine_dock_widget.fit_options
    row = options.texture_row
    assert not row.enabled_check.isChecked() and not row.ratio_spin.isEnabled()
    row.axis_edit.setText("11")
    row.enabled_check.setChecked(True)
    assert window.workspace.model.texture is None and "HKL" in options.message_label.text()
    row.axis_edit.setText("110")
    row.axis_edit.editingFinished.emit()
    row.ratio_spin.setValue(0.9)
    assert window.workspace.model.texture == TextureSpec((1, 1, 0), 0.9)
    for name in ("adp", "background"):
        options.choice_checks[name].setChecked(False)
    options.choice_checks["texture"].setChecked(True)
    assert window.workspace.model.fit.refine == ["scale", "size", "texture"]
    window.refine_dock_widget.run_button.click()
    qtbot.waitUntil(lambda: not window.fits.running(), timeout=120_000)
    fit = window.workspace.fit
    assert fit is not None and fit.summary["parameters"]["texture"]["value"] == pytest.approx(0.75, abs=0.01)
    row.enabled_check.setChecked(False)
    assert window.workspace.model.texture is None
