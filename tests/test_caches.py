"""Defect 8 of issue 11: caches keyed on content, thread-safe, and no change to the environment."""

from __future__ import annotations

import builtins
import os
import subprocess
import sys

import numpy as np

from nanotwin_core.builder import build_crystal
from nanotwin_core.refine.instrument import InstrumentProfile
from nanotwin_core.scattering import compute_histograms, debye_intensity, sinc_sums


def test_a_hash_collision_never_returns_another_pattern(monkeypatch) -> None:
    """Cached distance sums were keyed on Python's 64-bit hash of the Q bytes: two grids of one
    length with equal hashes shared an entry. Simulate the collision with a constant hash."""
    hist = compute_histograms(build_crystal("CsPbBr3-alpha", shape="prism", size_ab_nm=1.2, size_c_nm=1.2))
    q1, q2 = np.linspace(1.0, 3.0, 50), np.linspace(2.0, 4.0, 50)
    fresh = sinc_sums(hist, q2).copy()
    hist.cache.clear()
    monkeypatch.setattr(builtins, "hash", lambda _obj: 0)
    sinc_sums(hist, q1)
    assert np.array_equal(sinc_sums(hist, q2), fresh)


def test_instrument_matrix_cache_follows_the_grid(monkeypatch) -> None:
    prof = InstrumentProfile(u=0.0, v=0.0, w=0.01)
    t1, t2 = np.linspace(10, 20, 200), np.linspace(30, 40, 200)
    m2 = prof.matrix(t2).toarray()
    monkeypatch.setattr(builtins, "hash", lambda _obj: 0)
    prof.matrix(t1)
    assert np.array_equal(prof.matrix(t2).toarray(), m2)


def test_importing_the_engine_leaves_the_environment_alone() -> None:
    """numba's cache folder is set in numba's config, not in the user's os.environ."""
    code = ("import os, numba; import nanotwin_core.scattering, nanotwin_core.refine.size_database; "
            "print('env', os.environ.get('NUMBA_CACHE_DIR')); print('cfg', numba.config.CACHE_DIR)")
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    lines = dict(line.split(" ", 1) for line in out.stdout.splitlines())
    assert lines["env"] == "None"
    assert lines["cfg"].endswith(os.path.join("nanotwin", "numba"))


def test_debye_sums_from_threads_share_the_chirp_cache() -> None:
    """Worker threads fill the module-level chirp spectrum cache at the same time."""
    from concurrent.futures import ThreadPoolExecutor

    hist = compute_histograms(build_crystal("CsPbBr3-alpha", shape="prism", size_ab_nm=3.0, size_c_nm=3.0))
    grids = [np.linspace(0.5, 0.5 + 0.1 * k, 3000 + 7 * k) for k in range(1, 25)]
    ref = [debye_intensity(hist, q, method="czt") for q in grids]
    hist.cache.clear()
    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(lambda q: debye_intensity(hist, q, method="czt"), grids))
    for a, b in zip(got, ref, strict=True):
        assert np.allclose(a, b, rtol=1e-12)
