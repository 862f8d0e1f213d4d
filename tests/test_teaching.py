"""The teaching computation (``nanotwin_core.teaching``): live tilt and twin-density patterns and
the R, M, X superstructure heights, each checked against the engine run independently on the same
crystal (``powder_pattern`` of a prism built from ``tilted_gamma``)."""

from __future__ import annotations

import numpy as np
import pytest

from nanotwin_core.bragg_diffuse import measure_ensemble
from nanotwin_core.builder import build_crystal
from nanotwin_core.demos import default_adp
from nanotwin_core.population.ensemble import ensemble_histograms
from nanotwin_core.reflections import reflections
from nanotwin_core.scattering import compute_histograms, debye_intensity, powder_pattern
from nanotwin_core.scattering.radiation import XRay
from nanotwin_core.structures.tilt import tilted_gamma, tilts_for_slider
from nanotwin_core.superstructure import zero_tilt
from nanotwin_core.teaching import (
    LIVE_MAX_ATOMS,
    TeachingCache,
    TeachingRequest,
    compute_teaching,
    live_q,
)

SIZE = 3.0  # nm: 540 atoms, fast


def engine_pattern(halide: str, tilt_deg: float, size_nm: float, q: np.ndarray, wavelength: float = 0.565468,
                   **twins) -> tuple[np.ndarray, object]:
    """The engine's pattern of the crystal a request describes, built here from the core alone."""
    s = tilted_gamma(halide, *tilts_for_slider(tilt_deg, halide))
    if twins:
        c = build_crystal(s, shape="prism", size_ab_nm=size_nm, size_c_nm=size_nm, **twins)
    else:
        c = build_crystal(s, shape="prism", size_ab_nm=size_nm, size_c_nm=size_nm, lattice="sublattice")
    return powder_pattern(c, q, b_iso=default_adp(s), radiation=XRay(wavelength=wavelength)), c


def value_near(q: np.ndarray, y: np.ndarray, q0: float, tol: float = 0.02) -> float:
    return float(y[np.abs(q - q0) <= tol].max())


def test_live_pattern_equals_engine_and_zero_tilt_has_no_superstructure():
    cache = TeachingCache()
    tilted = compute_teaching(TeachingRequest(tilt_deg=15.0, size_nm=SIZE), cache)
    flat = compute_teaching(TeachingRequest(tilt_deg=0.0, size_nm=SIZE), cache)
    q = live_q()
    for res, tilt in ((tilted, 15.0), (flat, 0.0)):
        ref, crystal = engine_pattern("Br", tilt, SIZE, q)
        np.testing.assert_allclose(res.curves[res.live_label][1], ref, rtol=1e-9)
        assert res.crystal.n_atoms == crystal.n_atoms <= LIVE_MAX_ATOMS
        n = crystal.n_atoms
        assert res.n_pairs == n * (n - 1) // 2  # no split sites: every pair once
    # tilted: the superstructure is there (R and M clearly positive)
    assert tilted.heights["R"] > 0 and tilted.heights["M"] > 0
    scale = max(abs(v) for v in tilted.heights.values())
    # zero tilt: every atom already on its ideal site, so I - I0 vanishes at R, M and X
    for k in ("R", "M", "X"):
        assert abs(flat.heights[k]) < 1e-9 * scale
    # ... and the pattern has no peak at the R position: compare with the tilted one there
    tilted_structure = tilted_gamma("Br", *tilts_for_slider(15.0, "Br"))
    q_r = min(r.q for r in reflections(tilted_structure, 2.2, q_min=1.5) if r.klass == "R")
    i_t, i_0 = tilted.curves[tilted.live_label][1], flat.curves[flat.live_label][1]
    zero_t = tilted.curves[next(k for k in tilted.curves if k.startswith("zero tilt"))][1]
    assert value_near(q, i_t, q_r) - value_near(q, zero_t, q_r) > 0
    assert np.allclose(flat.curves[next(k for k in flat.curves if k.startswith("zero tilt"))][1], i_0,
                       rtol=1e-9)


def test_twinned_request_matches_engine_and_zero_tilt_cache_is_valid():
    laws = ("1/2<110>{110}", "1/2<110>{001}", "1/2<001>{110}")
    req = TeachingRequest(tilt_deg=15.0, size_nm=SIZE, laws=laws, domain_size_nm=1.5, seed=2)
    res = compute_teaching(req, TeachingCache())
    q = live_q()
    _, twinned = engine_pattern("Br", 15.0, SIZE, q, twins=laws, domain_size_nm=1.5, seed=2)
    s = tilted_gamma("Br", *tilts_for_slider(15.0, "Br"))
    ens = ensemble_histograms(s, laws, 1.5, size_ab_nm=SIZE, size_c_nm=SIZE)
    ref = debye_intensity(ens, q, b_iso=default_adp(s), radiation=XRay(wavelength=0.565468))
    np.testing.assert_allclose(res.curves[res.live_label][1], ref, rtol=1e-9)  # the exact average
    assert "ensemble average" in res.live_label
    assert res.crystal.info["n_boundaries"] > 0  # the 3D view: one realisation (seed 2)
    np.testing.assert_array_equal(res.crystal.positions, twinned.positions)
    # the cached zero-tilt pattern (computed from whichever crystal came first) is the same for the
    # twinned and the untwinned crystal: twins only change which content a node takes
    _, untwinned = engine_pattern("Br", 15.0, SIZE, q)
    s = tilted_gamma("Br", *tilts_for_slider(15.0, "Br"))
    b, xray = default_adp(s), XRay(wavelength=0.565468)
    z_t = debye_intensity(compute_histograms(zero_tilt(twinned)), q, b_iso=b, radiation=xray)
    z_u = debye_intensity(compute_histograms(zero_tilt(untwinned)), q, b_iso=b, radiation=xray)
    np.testing.assert_allclose(z_t, z_u, rtol=1e-9)
    # a dense mixed-coset network suppresses R against the untwinned crystal (SCIENCE.md §2; in a
    # 3 nm crystal with 1.5 nm domains the R height can even turn slightly negative)
    rel = res.relative()
    assert rel["R"] < 0.8
    # the Bragg and diffuse parts are those of the ensemble measured on its own
    m = measure_ensemble(s, laws, 1.5, size_ab_nm=SIZE, size_c_nm=SIZE, b_iso=b, radiation=xray)
    for k in ("R", "M", "X"):
        assert res.bragg[k] == pytest.approx(m.relative("bragg")[k], rel=1e-9)
        assert res.diffuse[k] == pytest.approx(m.relative("diffuse")[k], rel=1e-6)
    assert res.bragg["R"] < 0.2 < res.diffuse["R"]


