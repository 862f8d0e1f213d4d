"""A build with data loaded (offscreen, real computation): computed on the data's points in the
wide-angle range, and shown on the data's scale (the core's linear solve)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from nanotwin_core.actions import compute_pattern
from nanotwin_core.io.data import PatternData
from nanotwin_core.model import Model
from nanotwin_core.refine.scale_to_data import wide_angle_q_min
from nanotwin_core.structures.library import get_structure

MODEL = Model(structure="PbS-rocksalt", shape="sphere", size_nm=2.0)


@pytest.fixture
def window(headless_window):
    return headless_window


def test_build_runs_on_the_data_and_is_scaled_to_it(window, qtbot):
    q = np.arange(0.3, 8.0, 0.004)
    model_i = compute_pattern(MODEL, q, wavelength=window.pattern_panel.wavelength).intensity  # as a build
    y = 2.5e-4 * model_i + 40.0  # the data: the same model on another scale, plus a flat background
    ws = window.workspace
    ws.set_model(replace(MODEL))
    ws.set_data(PatternData(q, y, np.full_like(q, 1.0), x_kind="q", path="simulated.xye"))
    with qtbot.waitSignal(window.runner.busy_changed, timeout=120_000, check_params_cb=lambda b: not b):
        window.model_dock_widget.build_button.click()
    qc, yc = window.pattern_panel.patterns["untwinned"]
    start = wide_angle_q_min(get_structure("PbS-rocksalt"))
    assert qc.min() >= start and qc.min() < start + 0.01 and qc.max() == pytest.approx(q[q <= 8.0].max())
    assert len(qc) <= 4000
    idx = np.searchsorted(q, qc)
    np.testing.assert_allclose(yc, y[idx], rtol=1e-6)  # on the data's scale
    assert "scaled to the data" in window.pattern_panel.caption
    raw_q, raw_i = ws.patterns.curves["untwinned"]  # the workspace keeps the model's own numbers
    np.testing.assert_allclose(raw_i, model_i[idx], rtol=1e-9)
