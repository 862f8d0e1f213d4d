"""Refusals name the command line's options and the real numbers (issue #17 item 6)."""

from __future__ import annotations

import time

import pytest

from nanotwin_core.builder import build_crystal
from nanotwin_core.builder.twin_laws import parse_twin_law
from nanotwin_core.errors import NanotwinError
from nanotwin_core.population.distributions import BivariateLogNormal, LogNormal
from nanotwin_core.population.grid import choose_grid, choose_grid_1d
from nanotwin_core.structures.library import get_structure


def test_too_many_boundaries_names_the_count_asked() -> None:
    with pytest.raises(NanotwinError) as info:
        build_crystal("CsPbBr3-gamma", size_ab_nm=4, size_c_nm=4, twins=["1/2<001>{110}"], boundaries=1000)
    text = str(info.value)
    assert "cannot place 1000 boundaries" in text and "--boundaries" in text


def test_size_limit_names_the_command_line_option() -> None:
    with pytest.raises(NanotwinError, match="--max-atoms"):
        build_crystal("CsPbBr3-gamma", size_ab_nm=400, size_c_nm=400)


def test_boundaries_without_laws_name_the_option() -> None:
    with pytest.raises(NanotwinError, match="--twin LAW"):
        build_crystal("CsPbBr3-gamma", size_ab_nm=4, size_c_nm=4, boundaries=2)


@pytest.mark.parametrize("law", ["<001>{110}", "[1-10](110)", " <110>{001}"])
def test_a_law_without_k_is_refused(law) -> None:
    with pytest.raises(NanotwinError, match="no shift fraction k"):
        parse_twin_law(law)


@pytest.mark.parametrize("law", ["1/2<001>{110}", "1/2<110>{001}", "1/2[-110](110)"])
def test_the_paper_laws_still_parse(law) -> None:
    assert parse_twin_law(law).k == 0.5


def test_a_population_too_wide_to_compute_is_refused_at_once() -> None:
    t0 = time.perf_counter()
    with pytest.raises(NanotwinError, match="too wide"):
        choose_grid_1d(LogNormal(3.75, 5.0), 0.59)
    with pytest.raises(NanotwinError, match="too wide"):
        choose_grid(BivariateLogNormal(5.34, 5.0, 7.62, 0.45), get_structure("CsPbBr3-gamma").cell)
    assert time.perf_counter() - t0 < 1.0
    assert choose_grid_1d(LogNormal(3.75, 1.5), 0.59).grid.n_max > 1000  # wide but computable
