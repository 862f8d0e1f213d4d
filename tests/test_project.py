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
