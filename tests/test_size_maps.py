"""Number- and volume-weighted size distributions on a grid (nanotwin_core.population.size_maps)."""

from __future__ import annotations

import numpy as np
import pytest

from nanotwin_core.population.distributions import BivariateLogNormal, LogNormal
from nanotwin_core.population.size_maps import distribution_of, size_histogram, size_map
from nanotwin_core.population.statistics import prism_statistics, sphere_statistics


def test_sphere_histogram_weights_and_volume_mean():
    dist = LogNormal(3.2, 0.25)
    h = size_histogram(dist, 200)
    assert h.number.sum() == pytest.approx(1.0, abs=3e-3)  # all but the tails
    assert h.volume.sum() == pytest.approx(1.0, abs=3e-3)
    # independent check of the volume weighting: number fractions times D^3, normalised
    by_hand = h.number * h.centres_nm**3
    np.testing.assert_allclose(h.volume / h.volume.sum(), by_hand / by_hand.sum(), atol=2e-4)
    mean_vol = np.sum(h.volume * h.centres_nm) / h.volume.sum()
    assert mean_vol == pytest.approx(sphere_statistics(dist).mean_vol, rel=2e-3)
    assert np.sum(h.number * h.centres_nm) / h.number.sum() == pytest.approx(3.2, rel=2e-3)


def test_prism_map_weights_and_volume_means():
    dist = BivariateLogNormal(8.19, 0.24, 9.79, 0.20)  # the paper's CsPbBr3 (Table 2)
    m = size_map(dist, 120)
    assert m.number.sum() == pytest.approx(1.0, abs=5e-3)
    ab = 0.5 * (m.dab_edges_nm[1:] + m.dab_edges_nm[:-1])
    lc = 0.5 * (m.lc_edges_nm[1:] + m.lc_edges_nm[:-1])
    by_hand = m.number * (ab[:, None] ** 2 * lc[None, :])
    np.testing.assert_allclose(m.volume / m.volume.sum(), by_hand / by_hand.sum(), atol=2e-4)
    st = prism_statistics(dist)
    assert np.sum(m.volume.sum(axis=1) * ab) / m.volume.sum() == pytest.approx(st.d_ab_vol, rel=3e-3)
    assert np.sum(m.volume.sum(axis=0) * lc) / m.volume.sum() == pytest.approx(st.l_c_vol, rel=3e-3)


def test_distribution_of_a_summary_entry():
    assert distribution_of({"weighting": "single crystal", "mean_D_nm": 3.0}) is None
    assert distribution_of({"weighting": "number", "mean_D_nm": 3.0, "sD": 0.2}) == LogNormal(3.0, 0.2)
    biv = distribution_of({"weighting": "number", "Dab_nm": 8.0, "sab": 0.2, "Lc_nm": 9.0, "sc": 0.1})
    assert biv == BivariateLogNormal(8.0, 0.2, 9.0, 0.1)


def test_size_distribution_figure(tmp_path):
    from nanotwin_core.figures import size_distribution_figure

    pops = [{"name": "spheres", "weighting": "number", "mean_D_nm": 3.2, "sD": 0.25},
            {"name": "prisms", "weighting": "number", "Dab_nm": 8.0, "sab": 0.2, "Lc_nm": 9.0, "sc": 0.1}]
    out = size_distribution_figure(pops, tmp_path / "sizes.png")
    assert out.exists() and out.stat().st_size > 20_000
    assert size_distribution_figure([{"weighting": "single crystal"}], tmp_path / "none.png") is None
    assert not (tmp_path / "none.png").exists()
