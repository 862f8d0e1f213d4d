"""Fast size databases (refine/fast_database.py) against the per-crystal build (the reference).

The fast route counts pairs once for all sizes (prisms: moments over cell-offset shells; spheres
and cuboids: one FFT per size, shared atom pairs) and must equal ``build_size_database`` (one
crystal per size; for ensembles one exact ensemble per size) to 1e-6 of the maximum at every Q.
"""

from __future__ import annotations

import numpy as np
import pytest

from nanotwin_core.builder import build_crystal
from nanotwin_core.builder.shape_kinds import get_shape
from nanotwin_core.errors import NanotwinError
from nanotwin_core.population.grid import prism_steps_nm
from nanotwin_core.refine.fast_database import ChirpTransform, build_fast_database, cached_database
from nanotwin_core.refine.size_database import build_size_database, database_key
from nanotwin_core.scattering import compute_histograms, debye_intensity
from nanotwin_core.scattering.radiation import XRay
from nanotwin_core.structures.library import get_structure

LAWS = ("1/2<110>{110}", "1/2<110>{001}", "1/2<001>{110}")
B = {"Pb": 1.5, "Cs": 2.5, "Br": 3.0, "S": 1.2}


def _assert_same(fast, ref, q_range):
    """Equal sums: compared at the reference's own grid points (where its spline is exact)."""
    q = ref.q_fine[(ref.q_fine >= q_range[0]) & (ref.q_fine <= q_range[1])]
    step = fast.q_fine[1] - fast.q_fine[0]  # 1.7 x the reference's, read by a quintic spline
    assert fast.q_fine[0] < ref.q_fine[0] and fast.q_fine[-1] > ref.q_fine[-1]
    assert len(fast.q_fine) < len(ref.q_fine)
    assert step > 1.6 * (ref.q_fine[1] - ref.q_fine[0])
    np.testing.assert_allclose(fast.n_atoms, ref.n_atoms)
    np.testing.assert_allclose(fast.weighted_sums(np.ones(fast.n_sizes))[1].sum(),
                               ref.weighted_sums(np.ones(ref.n_sizes))[1].sum(), rtol=1e-12)
    for i in range(fast.n_sizes):
        w = np.zeros(fast.n_sizes)
        w[i] = 1.0
        a = fast.intensity(w, q, b_iso=B, radiation=XRay(energy_kev=22.0))
        b = ref.intensity(w, q, b_iso=B, radiation=XRay(energy_kev=22.0))
        assert np.max(np.abs(a - b)) < 1e-6 * b.max(), (i, np.max(np.abs(a - b)) / b.max())


@pytest.fixture(scope="module")
def gamma():
    return get_structure("CsPbBr3-gamma")


@pytest.mark.parametrize(("twins", "domain"), [((), None), (LAWS, 2.0), (LAWS[:1], {LAWS[0]: 1.2})],
                         ids=["untwinned", "ensemble", "one law"])
def test_fast_prism_database_equals_the_per_crystal_build(gamma, twins, domain) -> None:
    sizes = [(2, 2), (3, 2), (3, 5), (5, 3), (6, 2)]  # not a full rectangle, like a masked grid
    units = prism_steps_nm(gamma.cell)
    fast = build_fast_database(gamma, "prism", sizes, units, (0.5, 6.1), twins=twins, domain_size_nm=domain)
    ref = build_size_database(gamma, "prism", sizes, units, (0.5, 6.1), twins=twins, domain_size_nm=domain,
                              ensemble=bool(twins))
    _assert_same(fast, ref, (0.5, 6.1))
    assert fast.info["route"] == "fast" and fast.info["ensemble"] == bool(twins)


@pytest.mark.parametrize(("name", "shape", "twins"), [
    ("PbS-rocksalt", "sphere", ()),
    ("CsPbBr3-gamma", "sphere", LAWS[:1] + LAWS[2:]),
    ("CsPbBr3-gamma", "cuboid", ()),
    ("CsPbBr3-gamma", "cuboid", LAWS[1:2]),
])
def test_fast_sphere_and_cuboid_databases_equal_the_per_crystal_build(name, shape, twins) -> None:
    s = get_structure(name)
    units, _ = get_shape(shape).grid_units(s)
    sizes = [(3,), (4,), (6,), (9,)]
    domain = 1.6 if twins else None
    fast = build_fast_database(s, shape, sizes, units, (0.5, 9.1), twins=twins, domain_size_nm=domain)
    ref = build_size_database(s, shape, sizes, units, (0.5, 9.1), twins=twins, domain_size_nm=domain,
                              ensemble=bool(twins))
    _assert_same(fast, ref, (0.5, 9.1))
    # and the fast route's own interpolation, anywhere in the range, against the plain double sum
    crystal = build_crystal(s, shape=shape, size_nm=sizes[-1][0] * units[0], lattice="sublattice")
    q = np.linspace(0.5, 9.1, 1200)
    if not twins:
        exact = debye_intensity(compute_histograms(crystal, sampling="exact"), q, b_iso=B)
        got = fast.intensity(np.eye(len(sizes))[-1], q, b_iso=B)
        assert np.max(np.abs(got - exact)) < 1e-6 * exact.max()


def test_chirp_transform_equals_direct_sinc_sums() -> None:
    rng = np.random.default_rng(1)
    counts = rng.random((3, 400))
    dr = 0.02
    for q in (np.linspace(0.0, 9.0, 301), np.linspace(1.3, 2.9, 77)):
        got = ChirpTransform(q, dr, 512)(counts)
        r = np.arange(400) * dr
        x = q[:, None] * r[None, :]
        sinc = np.where(x > 0, np.sin(x) / np.where(x > 0, x, 1.0), 1.0)
        np.testing.assert_allclose(got, counts @ sinc.T, rtol=0, atol=1e-10 * counts.sum())


def test_routes_and_keys(gamma) -> None:
    units = prism_steps_nm(gamma.cell)
    sizes, q_range = [(2, 2), (3, 2)], (1.0, 3.0)
    cache: dict = {}
    fast = cached_database(cache, gamma, "prism", sizes, units, q_range)
    assert fast.info["route"] == "fast"
    # the key does not depend on the route: projects built before keep being reused
    assert fast.info["key"] == database_key(gamma, "prism", sizes, units, q_range, twins=[], boundaries=None,
                                            domain_size_nm=None, seeds=[0], coherent_element="Pb",
                                            min_domains=None)
    assert cached_database(cache, gamma, "prism", sizes, units, q_range, route="crystals") is fast
    seeded = cached_database(None, gamma, "prism", sizes, units, q_range, twins=LAWS, domain_size_nm=2.0,
                             seeds=(1,))
    assert seeded.info["route"] == "crystals" and not seeded.info["ensemble"]
    ens = cached_database(cache, gamma, "prism", sizes, units, q_range, twins=LAWS, domain_size_nm=2.0,
                          ensemble=True)
    assert ens.info["route"] == "fast" and ens.info["ensemble"] and ens.info["key"] != fast.info["key"]
    with pytest.raises(NanotwinError, match="deterministic"):
        cached_database(None, gamma, "prism", sizes, units, q_range, twins=LAWS, boundaries=1, ensemble=True)
    with pytest.raises(NanotwinError, match="route"):
        cached_database(None, gamma, "prism", sizes, units, q_range, route="quick")
