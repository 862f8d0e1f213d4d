"""Per-size Debye sums stored in projects and reused: nothing is recomputed on reopening."""

from __future__ import annotations

import json

import numpy as np
import pytest

from nanotwin_core.cli import main
from nanotwin_core.errors import NanotwinError
from nanotwin_core.io.project import Project, open_project, save_project
from nanotwin_core.refine import fast_database as fdb
from nanotwin_core.refine import size_database as sdb
from nanotwin_core.refine.database_store import size_database_to_cache, size_databases_from_project
from nanotwin_core.structures.library import get_structure

PBS = get_structure("PbS-rocksalt")


def _small_db(cache=None, q_range=(1.0, 4.0)):
    return sdb.cached_size_database(cache, PBS, "sphere", [(4,), (5,), (6,)], (0.374,), q_range)


def test_database_round_trip_through_a_project(tmp_path) -> None:
    db = _small_db()
    p = Project()
    p.cache["sizedb_0"], p.cache_meta["sizedb_0"] = size_database_to_cache(db)
    save_project(p, tmp_path / "p.h5")
    back = size_databases_from_project(open_project(tmp_path / "p.h5"))
    (key, again), = back.items()
    assert key == db.info["key"]
    np.testing.assert_array_equal(again.sinc, db.sinc)
    np.testing.assert_array_equal(again.self_sums, db.self_sums)
    w = np.array([0.2, 0.5, 0.3])
    q = np.linspace(1.2, 3.8, 50)
    np.testing.assert_array_equal(again.intensity(w, q, b_iso={"Pb": 1, "S": 1}),
                                  db.intensity(w, q, b_iso={"Pb": 1, "S": 1}))


def test_cache_reuses_only_identical_inputs(monkeypatch) -> None:
    cache: dict = {}
    first = _small_db(cache)
    assert _small_db(cache) is first  # same inputs: the stored one
    other = _small_db(cache, q_range=(1.0, 4.5))  # another Q range: built anew
    assert other is not first and len(cache) == 2


def test_damaged_database_is_refused() -> None:
    arrays, meta = size_database_to_cache(_small_db())
    arrays["sinc"] = arrays["sinc"][:, :, :-3]
    with pytest.raises(NanotwinError, match="inconsistent"):
        sdb.SizeDatabase.from_arrays(arrays, {k: v for k, v in meta.items() if k != "kind"})


def test_fit_reuse_recomputes_nothing(tmp_path, monkeypatch) -> None:
    data = tmp_path / "pbs.xye"
    model = ["--structure", "PbS-rocksalt", "--shape", "sphere"]
    assert main(["simulate", *model, "--size", "2.0", "--q", "1.5:6:0.01", "--adp", "Pb=1.2,S=1.0",
                 "--out", str(data)]) == 0
    fit = ["fit", "--data", str(data), "--x", "q", *model, "--population", "D=2.0,sD=0.1",
           "--refine", "scale,adp", "--quiet"]
    assert main([*fit, "--out", str(tmp_path / "a.h5"), "--json", str(tmp_path / "a.json")]) == 0

    def forbidden(*args, **kwargs):
        raise AssertionError("the size database was recomputed")

    monkeypatch.setattr(sdb, "build_size_database", forbidden)
    monkeypatch.setattr(fdb, "build_size_database", forbidden)
    monkeypatch.setattr(fdb, "build_fast_database", forbidden)
    assert main([*fit, "--reuse", str(tmp_path / "a.h5"), "--out", str(tmp_path / "b.h5"),
                 "--json", str(tmp_path / "b.json")]) == 0
    a, b = (json.loads((tmp_path / f"{n}.json").read_text()) for n in "ab")
    assert b["rwp"] == pytest.approx(a["rwp"], rel=1e-9)
    assert b["parameters"]["B_Pb"]["value"] == pytest.approx(a["parameters"]["B_Pb"]["value"], rel=1e-9)
    # the new project carries the sums on
    assert size_databases_from_project(open_project(tmp_path / "b.h5"))


def test_weighted_sums_equal_a_plain_numpy_sum() -> None:
    rng = np.random.default_rng(4)
    sinc = rng.standard_normal((30, 6, 257)).astype(np.float32)
    w = rng.random(30)
    w[[3, 17]] = 0.0
    want = sum(w[i] * sinc[i].astype(np.float64) for i in range(30))
    got = sdb._weighted_sinc(sinc, np.flatnonzero(w).astype(np.int64), w)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
