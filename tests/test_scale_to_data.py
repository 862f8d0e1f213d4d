"""A calculated pattern put on the data's scale (nanotwin_core.refine.scale_to_data)."""

from __future__ import annotations

import numpy as np
import pytest

from nanotwin_core.errors import NanotwinError
from nanotwin_core.refine.scale_to_data import scale_to_data, wide_angle_q_min
from nanotwin_core.structures.library import get_structure

Q_MODEL = np.linspace(0.5, 8.0, 1500)
I_MODEL = 1e8 * (1 + np.exp(-((Q_MODEL - 2.0) / 0.05) ** 2) + 0.5 * np.exp(-((Q_MODEL - 3.1) / 0.05) ** 2))


def test_recovers_scale_and_offset_of_noisy_data_on_another_grid():
    q = np.linspace(1.0, 6.0, 900)
    truth = 3.5e-6 * np.interp(q, Q_MODEL, I_MODEL) + 20.0
    sigma = np.full_like(q, 2.0)
    y = truth + np.random.default_rng(3).normal(0, sigma)
    out = scale_to_data(Q_MODEL, I_MODEL, q, y, sigma)
    assert out.scale == pytest.approx(3.5e-6, rel=0.01)
    assert out.offset == pytest.approx(20.0, abs=4.0)  # correlated with the model's flat part
    fitted = out.scale * np.interp(q, Q_MODEL, I_MODEL) + out.offset
    assert np.sqrt(np.mean((fitted - truth) ** 2)) < 0.5  # a quarter of sigma
    np.testing.assert_allclose(out.intensity, out.scale * I_MODEL + out.offset)
    assert out.n_points == 900


def test_only_the_shared_range_counts_and_the_scale_stays_positive():
    q = np.linspace(0.1, 12.0, 2000)  # beyond the model's 0.5-8 on both sides
    y = np.where((q > 0.5) & (q < 8.0), 500.0 - 1e-6 * np.interp(q, Q_MODEL, I_MODEL), 1e6)
    out = scale_to_data(Q_MODEL, I_MODEL, q, y)
    assert out.n_points == int(((q >= 0.5) & (q <= 8.0)).sum())
    assert out.scale == pytest.approx(0.0, abs=1e-15)  # anti-correlated: an offset, never a negative scale
    with pytest.raises(NanotwinError, match="fewer than 3"):
        scale_to_data(Q_MODEL, I_MODEL, np.array([9.0, 10.0, 11.0]), np.ones(3))


def test_wide_angle_start_and_q_range():
    pbs_111 = 2 * np.pi * np.sqrt(3) / 5.934
    assert wide_angle_q_min(get_structure("PbS-rocksalt")) == pytest.approx(0.8 * pbs_111)
    assert wide_angle_q_min(get_structure("CsPbBr3-gamma")) == pytest.approx(0.8 * 0.934, abs=0.01)  # (1 0 1)
    q = np.linspace(0.05, 8.0, 2000)
    y = 2e-6 * np.interp(q, Q_MODEL, I_MODEL) + 5.0
    y[q < 0.6] = 1e4  # a small-angle rise the model does not describe
    whole = scale_to_data(Q_MODEL, I_MODEL, q, y)
    wide = scale_to_data(Q_MODEL, I_MODEL, q, y, q_range=(0.8, np.inf))
    assert wide.scale == pytest.approx(2e-6, rel=1e-6) and whole.scale != pytest.approx(2e-6, rel=0.01)
