"""Pair histograms: all-pairs kernel and lattice route against independent numpy references."""

from __future__ import annotations

import numpy as np
import pytest
from test_dse_helpers import cspbbr3_gamma, multi_content, prism, split_cubic

from nanotwin_core.crystal import Crystal
from nanotwin_core.errors import Cancelled, NanotwinError
from nanotwin_core.scattering import (
    PairHistograms,
    Sampling,
    build_pair_table,
    compute_histograms,
    debye_intensity,
    rehistogram,
)
from nanotwin_core.scattering.kernels_allpairs import allpairs_fine_reference
from nanotwin_core.scattering.types import assign_types
from nanotwin_core.structures.structure import Cell, Site, Structure

Q = np.linspace(0.3, 20.0, 400)


def brute_force_multisets(crystal: Crystal) -> dict[tuple, np.ndarray]:
    """Sorted distances per unordered type pair, plain numpy double loop (the reference)."""
    types, tix = assign_types(crystal.elements, crystal.adp_groups, crystal.occupancy)
    pos, ex = crystal.positions, crystal.exclusion
    out: dict[tuple, list] = {}
    for i in range(len(pos)):
        d = np.sqrt(((pos[i + 1 :] - pos[i]) ** 2).sum(axis=1))
        keep = ~((ex[i + 1 :] >= 0) & (ex[i + 1 :] == ex[i]))
        for j in np.nonzero(keep)[0] + i + 1:
            key = tuple(sorted((types[tix[i]], types[tix[j]])))
            out.setdefault(key, []).append(d[j - i - 1])
    return {k: np.sort(np.array(v)) for k, v in out.items()}


def hist_multisets(hist: PairHistograms) -> dict[tuple, np.ndarray]:
    out = {}
    for p, (a, b) in enumerate(hist.pairs):
        r, w = hist.exact_r[p], hist.exact_w[p]
        assert np.allclose(w, np.rint(w))
        if w.sum() == 0:
            continue
        key = tuple(sorted((hist.types[a], hist.types[b])))
        out[key] = np.sort(np.repeat(r, np.rint(w).astype(np.int64)))
    return out


def assert_same_multisets(a: dict, b: dict, tol: float = 1e-9) -> None:
    assert set(a) == set(b)
    for k in a:
        assert len(a[k]) == len(b[k]), k
        assert np.max(np.abs(a[k] - b[k])) < tol, k


def random_cluster(n: int = 120, seed: int = 1) -> Crystal:
    rng = np.random.default_rng(seed)
    pos = rng.uniform(-8, 8, (n, 3))
    el = rng.choice(["Pb", "Br", "Cs"], n)
    occ = np.where(rng.random(n) < 0.2, 0.5, 1.0)
    return Crystal(positions=pos, elements=el, occupancy=occ)


def orthorhombic_cluster() -> Crystal:
    return prism(cspbbr3_gamma(), (2, 2, 1))


def cubic_cluster() -> Crystal:
    s = Structure(
        "NaCl-like",
        Cell(5.64, 5.64, 5.64),
        "F m -3 m",
        (Site("Na", "Na", (0, 0, 0)), Site("Cl", "Cl", (0.5, 0.5, 0.5))),
    )
    return prism(s, (2, 2, 2))


CLUSTERS = {
    "random": random_cluster,
    "cubic": cubic_cluster,
    "orthorhombic": orthorhombic_cluster,
    "split": lambda: split_cubic((2, 2, 2)),
}


@pytest.mark.parametrize("name", list(CLUSTERS))
def test_exact_mode_matches_brute_force(name: str) -> None:
    crystal = CLUSTERS[name]().without_lattice()
    hist = compute_histograms(crystal, sampling="exact")
    assert_same_multisets(hist_multisets(hist), brute_force_multisets(crystal))
    n = crystal.n_atoms
    ex = crystal.exclusion
    n_excl = sum(int(c) * (int(c) - 1) // 2 for c in np.unique(ex[ex >= 0], return_counts=True)[1])
    assert hist.n_pairs == n * (n - 1) // 2 - n_excl


@pytest.mark.parametrize("name", list(CLUSTERS))
def test_intensity_exact_and_sampled_vs_double_sum(name: str) -> None:
    from nanotwin_core.scattering import exact_debye

    crystal = CLUSTERS[name]().without_lattice()
    ref = exact_debye(crystal, Q, b_iso={"Pb": 0.5})
    exact = debye_intensity(compute_histograms(crystal, sampling="exact"), Q, b_iso={"Pb": 0.5})
    assert np.max(np.abs(exact - ref) / ref) < 1e-10
    sampled = debye_intensity(compute_histograms(crystal), Q, b_iso={"Pb": 0.5})
    assert np.max(np.abs(sampled - ref)) / ref.max() < 1e-4
    assert np.max(np.abs(sampled - ref) / ref) < 1e-3


def test_kernel_fine_histogram_vs_numpy_reference() -> None:
    """The numba all-pairs kernel (fine counts and offset sums) equals the numpy loop."""
    from nanotwin_core.scattering.allpairs_route import sorted_atoms
    from nanotwin_core.scattering.kernels_allpairs import allpairs_fine_chunk, flush_fine, row_blocks
    from nanotwin_core.scattering.types import type_pairs

    crystal = random_cluster(203, seed=5)
    types, tix, pos, excl, bounds, occ = sorted_atoms(crystal)
    pairs, pidx = type_pairs(len(types))
    drf = 0.01
    nbin = int(40 / drf)
    ref_c, ref_t = allpairs_fine_reference(pos, tix, pidx, len(pairs), drf, nbin)
    hist = np.zeros((2, len(pairs), nbin), dtype=np.int64)
    bstart, blen = row_blocks(bounds, 4)
    x, y, z = (np.ascontiguousarray(pos[:, k]) for k in range(3))
    allpairs_fine_chunk(x, y, z, tix, bounds, pidx, bstart, blen, 0, 7, 1 / drf, hist, 2)
    allpairs_fine_chunk(x, y, z, tix, bounds, pidx, bstart, blen, 7, len(bstart), 1 / drf, hist, 2)
    fine, fine_t = np.zeros((len(pairs), nbin)), np.zeros((len(pairs), nbin))
    assert flush_fine(hist, fine, fine_t) == len(pos) * (len(pos) - 1) // 2
    assert np.abs(fine - ref_c).sum() <= 2  # a distance exactly on a bin edge may round either way
    # offsets are kept to 1/4096 of a bin (rounded): the sums agree to ~ count / 8192
    assert np.max(np.abs(fine_t - ref_t) - ref_c / 4096.0) < 1.0 + 1e-3
    assert fine.sum() == len(pos) * (len(pos) - 1) // 2


def test_count_carry_is_detected_and_redone(monkeypatch) -> None:
    """Two clumps of 6,000 atoms 0.999 fine bins apart: 7.2e7 pairs in one fine bin wrap its
    24-bit count field; the engine notices and recounts with short flush windows."""
    import nanotwin_core.scattering.allpairs_route as hmod

    smp = Sampling()
    d = 0.999 * smp.dr_fine
    n = 6000
    pos = np.zeros((2 * n, 3))
    pos[n:, 2] = d
    crystal = Crystal(positions=pos, elements=["Pb"] * (2 * n))
    calls = []
    run = hmod._run_all_pairs

    def spy(*args):
        calls.append(args[13])
        return run(*args)

    monkeypatch.setattr(hmod, "_run_all_pairs", spy)
    seen: list[float] = []
    hist = compute_histograms(crystal, sampling=smp, progress=seen.append)
    assert calls == [hmod._FLUSH_PAIRS, hmod._SAFE_FLUSH_PAIRS]
    assert seen[-1] == 1.0 and np.all(np.diff(seen) >= 0) and max(seen[:-1]) < 1.0
    assert hist.counts.sum() == pytest.approx(hist.n_pairs, rel=1e-12)
    q = np.array([5.0, 20.0, 30.0])
    s = (hist.counts[0][None, :] * np.sinc(q[:, None] * hist.r[None, :] / np.pi)).sum(axis=1)
    # half the pairs at 0, half at 0.999 dr_fine share one fine bin: only its variance is lost
    assert np.allclose(s, n * (n - 1) + n * n * np.sinc(q * d / np.pi), rtol=(30 * d) ** 2 / 4)


@pytest.mark.parametrize("kind", ["box", "multi"])
def test_lattice_route_equals_all_pairs(kind: str) -> None:
    crystal = (
        prism(cspbbr3_gamma(), (3, 2, 2)) if kind == "box" else multi_content(cspbbr3_gamma(), (3, 3, 2))
    )
    lat = compute_histograms(crystal, sampling="exact")
    assert lat.meta["route"] == "lattice"
    ap = compute_histograms(crystal, route="all_pairs", sampling="exact")
    assert lat.types == ap.types
    assert lat.n_pairs == ap.n_pairs
    assert_same_multisets(hist_multisets(lat), hist_multisets(ap))
    i_lat, i_ap = debye_intensity(lat, Q), debye_intensity(ap, Q)
    assert np.max(np.abs(i_lat - i_ap) / i_ap) < 1e-12
    # default sampling: both routes agree within the sampling error
    s_lat = debye_intensity(compute_histograms(crystal), Q)
    s_ap = debye_intensity(compute_histograms(crystal, route="all_pairs"), Q)
    assert np.max(np.abs(s_lat - i_ap)) / i_ap.max() < 1e-5
    assert np.max(np.abs(s_ap - i_ap)) / i_ap.max() < 1e-5


def test_lattice_route_split_sites() -> None:
    crystal = split_cubic((2, 3, 2))
    lat = compute_histograms(crystal, sampling="exact")
    assert_same_multisets(hist_multisets(lat), brute_force_multisets(crystal))


def test_rehistogram_new_cell_and_contents() -> None:
    s = cspbbr3_gamma()
    crystal = prism(s, (3, 3, 2))
    table = build_pair_table(crystal.lattice)
    assert table.n_pairs == crystal.n_atoms * (crystal.n_atoms - 1) // 2
    assert compute_histograms(crystal).pair_table.n_entries == table.n_entries
    # a new cell: same as building the strained crystal from scratch
    cell2 = Cell(8.3, 8.2, 11.9, 90, 90, 90)
    strained = prism(s.with_cell(cell2), (3, 3, 2))
    h1 = rehistogram(table, cell=cell2.matrix, sampling="exact")
    h2 = compute_histograms(strained.without_lattice(), sampling="exact")
    assert_same_multisets(hist_multisets(h1), hist_multisets(h2))
    # new content offsets (a "tilt"): same as a crystal made with the moved atoms
    content = crystal.lattice.contents[0]
    moved = content.frac + np.random.default_rng(3).normal(0, 0.003, content.frac.shape)
    h3 = rehistogram(table, contents=[moved], sampling="exact")
    from nanotwin_core.crystal import LatticeContent, LatticeDescription, crystal_from_lattice

    lat = LatticeDescription(
        cell=crystal.lattice.cell,
        node_basis_frac=np.eye(3),
        contents=[
            LatticeContent(moved, content.elements, content.adp_groups, content.occupancy, content.exclusion)
        ],
        content_map=crystal.lattice.content_map,
    )
    h4 = compute_histograms(crystal_from_lattice(lat).without_lattice(), sampling="exact")
    assert_same_multisets(hist_multisets(h3), hist_multisets(h4))
    with pytest.raises(NanotwinError):
        rehistogram(table, contents=[moved[:-1]])


def test_progress_and_cancel() -> None:
    crystal = prism(cspbbr3_gamma(), (4, 4, 3)).without_lattice()
    seen: list[float] = []
    compute_histograms(crystal, progress=seen.append)
    assert seen and seen[-1] == pytest.approx(1.0) and all(np.diff(seen) >= 0)
    with pytest.raises(Cancelled):
        compute_histograms(crystal, cancel=lambda: True)
    with pytest.raises(Cancelled):
        compute_histograms(prism(cspbbr3_gamma(), (4, 4, 3)), cancel=lambda: True)


def test_combine_scaled_and_arrays_roundtrip() -> None:
    s = cspbbr3_gamma()
    h1 = compute_histograms(prism(s, (2, 2, 2)))
    h2 = compute_histograms(multi_content(s, (3, 2, 2)))
    both = PairHistograms.combine([(0.25, h1), (2.0, h2)])
    i_sum = 0.25 * debye_intensity(h1, Q) + 2.0 * debye_intensity(h2, Q)
    assert np.allclose(debye_intensity(both, Q), i_sum, rtol=1e-12, atol=0)
    arrays, meta = both.to_arrays()
    import json

    back = PairHistograms.from_arrays(arrays, json.loads(json.dumps(meta)))
    assert np.array_equal(debye_intensity(back, Q), debye_intensity(both, Q))
    # expansion by scaling r equals debye_intensity(expansion=e)
    e = 0.004
    assert np.allclose(debye_intensity(h1.expansion(e), Q), debye_intensity(h1, Q, expansion=e), rtol=1e-6)
    # exact-mode histograms round-trip too
    he = compute_histograms(prism(s, (1, 1, 2)), sampling="exact")
    a2, m2 = he.to_arrays()
    assert np.allclose(
        debye_intensity(PairHistograms.from_arrays(a2, m2), Q), debye_intensity(he, Q), rtol=1e-13
    )


def test_bad_inputs() -> None:
    crystal = prism(cspbbr3_gamma(), (1, 1, 1))
    with pytest.raises(NanotwinError):
        compute_histograms(crystal, route="fast")
    with pytest.raises(NanotwinError):
        compute_histograms(crystal.without_lattice(), route="lattice")
    with pytest.raises(NanotwinError):
        compute_histograms(crystal, sampling=Sampling(r_step=-1.0))
    with pytest.raises(NanotwinError):
        compute_histograms(crystal, n_threads=0)
