"""HDF5 projects: lossless round trip, atomic saves, clear errors on damaged files."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from nanotwin_core.errors import InputFileError
from nanotwin_core.io.project import SCHEMA_VERSION, Project, open_project, save_project


def sample_project() -> Project:
    rng = np.random.default_rng(3)
    return Project(
        model={"structure": "CsPbBr3-gamma", "shape": "prism", "size_ab_nm": 8.19,
               "twins": ["1/2<001>{110}"], "seed": 4, "adp": {"Pb": 2.99, "X_ax": 1.721}},
        data={"pattern": {"x": np.linspace(1, 60, 500), "y": rng.random(500), "sigma": rng.random(500)}},
        data_meta={"pattern": {"path": "/tmp/a.xye", "x_kind": "tth", "wavelength": 0.565468}},
        cache={"hist": {"counts": rng.integers(0, 1000, (10, 3000)).astype(np.float64),
                        "r_step": np.array(0.002)}},
        cache_meta={"hist": {"types": [["Pb", "Pb", 1.0]], "key": "abc"}},
        results={"fit1": {"gof": 2.26, "parameters": {"B_Pb": {"value": 2.99, "esd": 0.03}}}},
        history=[{"step": 1, "rwp": 0.1}, {"step": 2, "rwp": 0.05}],
    )


def test_round_trip_is_lossless(tmp_path) -> None:
    p = sample_project()
    path = save_project(p, tmp_path / "p.h5")
    q = open_project(path)
    assert q.model == p.model
    assert q.results == p.results
    assert q.history == p.history
    assert q.data_meta == p.data_meta and q.cache_meta == p.cache_meta
    for group in ("data", "cache"):
        a, b = getattr(p, group), getattr(q, group)
        assert a.keys() == b.keys()
        for name in a:
            assert a[name].keys() == b[name].keys()
            for key in a[name]:
                np.testing.assert_array_equal(a[name][key], b[name][key])
                assert np.asarray(a[name][key]).dtype == b[name][key].dtype


def test_failed_save_keeps_the_old_project(tmp_path) -> None:
    path = save_project(sample_project(), tmp_path / "p.h5")
    before = path.read_bytes()
    bad = sample_project()
    bad.results["x"] = {"obj": object()}  # not storable
    with pytest.raises(TypeError):
        save_project(bad, path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["p.h5"]


def test_truncated_project_gives_clear_error(tmp_path) -> None:
    path = save_project(sample_project(), tmp_path / "p.h5")
    data = path.read_bytes()
    cut = tmp_path / "cut.h5"
    cut.write_bytes(data[: len(data) // 3])
    with pytest.raises(InputFileError, match="cut.h5"):
        open_project(cut)


def test_corrupt_project_gives_clear_error(tmp_path) -> None:
    junk = tmp_path / "junk.h5"
    junk.write_bytes(b"not an hdf5 file at all" * 10)
    with pytest.raises(InputFileError, match="junk.h5"):
        open_project(junk)


def test_newer_schema_refused(tmp_path) -> None:
    path = save_project(sample_project(), tmp_path / "p.h5")
    with h5py.File(path, "a") as f:
        f.attrs["schema_version"] = SCHEMA_VERSION + 1
    with pytest.raises(InputFileError, match="newer"):
        open_project(path)


def test_foreign_hdf5_refused(tmp_path) -> None:
    path = tmp_path / "other.h5"
    with h5py.File(path, "w") as f:
        f["x"] = np.arange(3)
    with pytest.raises(InputFileError, match="not a nanotwin project"):
        open_project(path)


def test_state_round_trip_and_schema_1_files_still_open(tmp_path) -> None:
    p = sample_project()
    p.state = {"settings": {"structure": "CsPbBr3-gamma", "twins": ["1/2<001>{110}"]}, "a_p": 5.87}
    path = save_project(p, tmp_path / "p.h5")
    q = open_project(path)
    assert q.state == p.state and q.schema_version == SCHEMA_VERSION == 2
    with h5py.File(path, "a") as f:  # what nanotwin 0.x (schema 1) wrote: no /state
        f.attrs["schema_version"] = 1
        del f["state"]
    old = open_project(path)
    assert old.schema_version == 1 and old.state == {}
    assert old.model == p.model and old.results == p.results
    with h5py.File(path, "a") as f:
        f.attrs["schema_version"] = 0
    with pytest.raises(InputFileError, match="unknown project schema version 0"):
        open_project(path)


def tiny_twinned_crystal():
    from nanotwin_core.builder import build_crystal
    from nanotwin_core.structures.library import get_structure

    return build_crystal(get_structure("CsPbBr3-gamma"), shape="prism", size_ab_nm=3.0, size_c_nm=3.0,
                         twins=["1/2<001>{110}"], boundaries=1, seed=2)


def test_pair_histograms_stored_give_the_same_pattern(tmp_path) -> None:
    from nanotwin_core.io.project import histograms_from_cache, histograms_to_cache
    from nanotwin_core.scattering import compute_histograms, debye_intensity

    crystal = tiny_twinned_crystal()
    q = np.linspace(0.5, 6.0, 400)
    b = {"Pb": 2.99, "Cs": 8.9, "X_ax": 1.72, "X_eq": 2.85}
    hists = {"lattice": compute_histograms(crystal),
             "exact": compute_histograms(crystal.without_lattice(), route="all_pairs", sampling="exact")}
    p = Project()
    for name, h in hists.items():
        p.cache[name], p.cache_meta[name] = histograms_to_cache(h)
    back = open_project(save_project(p, tmp_path / "h.h5"))
    for name, h in hists.items():
        h2 = histograms_from_cache(back.cache[name], back.cache_meta[name])
        assert h2.types == h.types and h2.sampling == h.sampling and h2.n_pairs == h.n_pairs
        np.testing.assert_array_equal(debye_intensity(h2, q, b_iso=b), debye_intensity(h, q, b_iso=b))
    # independent check of the stored exact histogram: sum of multiplicities = N(N-1)/2 pairs
    n = crystal.n_atoms
    h2 = histograms_from_cache(back.cache["exact"], back.cache_meta["exact"])
    assert sum(float(np.sum(w)) for w in h2.exact_w) == pytest.approx(n * (n - 1) / 2)
    with pytest.raises(ValueError, match="not pair histograms"):
        histograms_from_cache(back.cache["exact"], {**back.cache_meta["exact"], "kind": "crystal"})


def test_crystal_round_trip(tmp_path) -> None:
    from nanotwin_core.io.project import crystal_from_cache, crystal_to_cache

    crystal = tiny_twinned_crystal()
    crystal.info["not_json"] = object()
    p = Project()
    p.cache["crystal"], p.cache_meta["crystal"] = crystal_to_cache(crystal)
    back = open_project(save_project(p, tmp_path / "c.h5"))
    c2 = crystal_from_cache(back.cache["crystal"], back.cache_meta["crystal"])
    for key in ("positions", "elements", "adp_groups", "occupancy", "exclusion", "domain", "variant", "cell"):
        np.testing.assert_array_equal(getattr(c2, key), getattr(crystal, key))
    assert c2.lattice is None and "not_json" not in c2.info
    assert c2.info["shape"] == crystal.info["shape"]
    assert len(np.unique(c2.variant)) == 2  # the twin boundary survived
    bad = dict(back.cache["crystal"])
    bad["element_index"] = bad["element_index"].copy()
    bad["element_index"][0] = 17
    with pytest.raises(ValueError, match="out of range"):
        crystal_from_cache(bad, back.cache_meta["crystal"])
