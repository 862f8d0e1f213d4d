"""The demos' superstructure table (`nanotwin demo NAME --table`)."""

from __future__ import annotations

import pytest

from nanotwin_core.demos import Demo, ModelSpec, format_superstructure_table, superstructure_table
from nanotwin_core.errors import NanotwinError


def test_one_001_boundary_keeps_m_and_suppresses_r() -> None:
    # A 1/2<001> shift t2 = (0, 0, 1/2) multiplies hkl by (-1)^l: R (h+k odd, l odd) and X
    # (h+k even, l odd) flip across the boundary, M (l even) does not (SCIENCE.md section 2).
    demo = Demo("t", "t", "t", models=(
        ModelSpec("untwinned", "CsPbBr3-gamma", size_ab_nm=5.0, size_c_nm=5.0),
        ModelSpec("one boundary", "CsPbBr3-gamma", size_ab_nm=5.0, size_c_nm=5.0,
                  twins=("1/2<001>{110}",), boundaries=1),
        ModelSpec("ensemble", "CsPbBr3-gamma", size_ab_nm=5.0, size_c_nm=5.0,
                  twins=("1/2<001>{110}",), domain_size_nm=4.0, ensemble=True),
    ))
    rows = superstructure_table(demo)
    assert [r["label"] for r in rows] == ["untwinned", "one boundary", "ensemble"]
    for kind in ("bragg", "at_positions"):
        assert all(rows[0][kind][k] == pytest.approx(1.0) for k in ("R", "M", "X"))
    assert all(abs(rows[0]["diffuse"][k]) < 1e-9 for k in ("R", "M", "X"))
    for twinned in rows[1:]:
        assert twinned["bragg"]["M"] == pytest.approx(1.0, abs=1e-9)  # M Bragg untouched
        assert twinned["bragg"]["R"] == pytest.approx(twinned["bragg"]["X"], rel=1e-9)  # both flip
        assert twinned["bragg"]["R"] < 0.7 and twinned["diffuse"]["R"] > 0.2
        assert twinned["I110"] == pytest.approx(1.0, abs=0.05)  # fundamentals stay
    assert rows[1]["at_positions"]["R"] < 0.7 and rows[1]["at_positions"]["M"] > 0.9
    text = format_superstructure_table(rows)
    assert "one boundary" in text and "Bragg" in text.splitlines()[0] and "at positions" in text


def test_table_needs_superstructure_classes() -> None:
    demo = Demo("t", "t", "t", models=(ModelSpec("alpha", "CsPbBr3-alpha", size_ab_nm=3, size_c_nm=3),))
    with pytest.raises(NanotwinError, match="no superstructure classes"):
        superstructure_table(demo)


def test_demo_info_carries_pair_count():
    from nanotwin_core.demos import ModelSpec, model_histograms

    _s, hist, info = model_histograms(ModelSpec("small", "CsPbBr3-gamma", size_ab_nm=2.5, size_c_nm=2.5))
    n = info["n_atoms"]
    assert info["n_pairs"] == pytest.approx(n * (n - 1) / 2) == pytest.approx(hist.n_pairs)
