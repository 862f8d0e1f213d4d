"""Dask execution on a real cluster: a LocalCluster of two worker processes, and a scheduler and
worker started with the ``dask`` command. Results must be the serial ones (1e-12); a killed
worker changes nothing; Cancel stops within 2 s leaving no worker busy."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("distributed")
import cloudpickle  # noqa: E402 - comes with distributed

from nanotwin_core import actions  # noqa: E402
from nanotwin_core.cli import main  # noqa: E402
from nanotwin_core.distributed import DaskMapper, SerialMapper, open_mapper  # noqa: E402
from nanotwin_core.errors import Cancelled, InputFileError  # noqa: E402
from nanotwin_core.model import FitSpec, Model, PopulationSpec  # noqa: E402
from nanotwin_core.refine import size_database as sdb  # noqa: E402
from nanotwin_core.series import ReadOptions, run_series, series_from_patterns  # noqa: E402
from nanotwin_core.series_output import series_table  # noqa: E402
from nanotwin_core.structures.library import get_structure  # noqa: E402

PBS = get_structure("PbS-rocksalt")
MODEL = ["--structure", "PbS-rocksalt", "--shape", "sphere"]


@pytest.fixture(scope="module")
def cluster():
    with open_mapper(workers=2) as mapper:
        assert isinstance(mapper, DaskMapper) and mapper.n_workers == 2
        yield mapper


@pytest.fixture(scope="module")
def series_files(tmp_path_factory):
    """Three small PbS sphere patterns (D 2.0-2.4 nm) and one bad file in the middle."""
    folder = tmp_path_factory.mktemp("series")
    for i, d in enumerate((2.0, 2.2, 2.4)):
        assert main(["simulate", *MODEL, "--population", f"D={d},sD=0.1", "--q", "1.5:5:0.01",
                     "--adp", f"Pb={1.0 + 0.2 * i},S=1.0", "--out", str(folder / f"pbs_{i * 2 + 1}.xye"),
                     "--quiet"]) == 0
    (folder / "pbs_4.xye").write_text("# not a pattern\nnothing here\n")
    return folder


def _read_missing(name: str, cancel=None):
    raise InputFileError(name, "no such file")


cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers cannot import this test module


def _model() -> Model:
    model = Model(structure="PbS-rocksalt", shape="sphere", population=PopulationSpec(D=2.3, sD=0.1))
    model.fit = FitSpec(refine=["scale", "adp", "size"], background_order=None)
    return model.validate()


def _numbers(result) -> np.ndarray:
    header, rows = series_table(result)
    return np.array([[np.nan if v is None else float(v) for v in row[3:]] for row in rows])


def test_serial_and_distributed_series_give_the_same_table(cluster, series_files) -> None:
    items = series_from_patterns([str(series_files / "pbs_*.xye")])
    assert [Path(i.path).name for i in items] == ["pbs_1.xye", "pbs_3.xye", "pbs_4.xye", "pbs_5.xye"]
    run = dict(mode="independent", read=ReadOptions(x_kind="q"))
    serial = run_series(_model(), items, mapper=SerialMapper(), **run)
    seen = []
    dist = run_series(_model(), items, mapper=cluster, progress=lambda f, t: seen.append(f), **run)
    assert [f.status for f in dist.fits] == [f.status for f in serial.fits]
    assert dist.fits[2].status.startswith("failed: ") and "pbs_4.xye" in dist.fits[2].status
    assert sum(f.ok for f in dist.fits) == 3
    a, b = _numbers(serial), _numbers(dist)
    np.testing.assert_allclose(b, a, rtol=1e-12, atol=1e-15, equal_nan=True)
    assert seen and seen[-1] == pytest.approx(1.0)
    # the fits recover the simulated sizes
    d_fit = [f.summary["parameters"]["D_nm"]["value"] for f in dist.fits if f.ok]
    np.testing.assert_allclose(d_fit, [2.0, 2.2, 2.4], atol=2e-3)


def test_twin_realisations_of_a_pattern_are_tasks_with_the_serial_numbers(cluster) -> None:
    model = Model(structure="CsPbBr3-gamma", shape="prism", size_ab_nm=2.5, size_c_nm=2.5,
                  twins=["1/2<110>{110}"], boundaries=1, seeds=[1, 2, 3]).validate()
    q = np.linspace(1.0, 3.0, 200)
    serial = actions.compute_pattern(model, q)
    dist = actions.compute_pattern(model, q, mapper=cluster)
    assert dist.info["seeds"] == serial.info["seeds"] == 3
    np.testing.assert_allclose(dist.intensity, serial.intensity, rtol=1e-12, atol=0)


def test_a_file_error_crosses_from_a_worker_whole(cluster) -> None:
    with pytest.raises(InputFileError, match=r"nowhere.xye: no such file") as info:
        cluster.map(_read_missing, ["nowhere.xye"])
    assert info.value.path == "nowhere.xye" and info.value.problem == "no such file"
    assert cluster.busy_workers() == []


def _db(mapper, sizes, progress=None, cancel=None):
    return sdb.build_size_database(PBS, "sphere", sizes, (0.374,), (1.0, 5.0), mapper=mapper,
                                   progress=progress, cancel=cancel)


def test_cancel_stops_within_two_seconds_and_leaves_no_worker_busy(cluster) -> None:
    sizes = [(n,) for n in range(40, 56, 2)]  # about a second each on one core
    stop = threading.Event()
    started = threading.Event()
    outcome: dict = {}

    def build() -> None:
        try:
            _db(cluster, sizes, cancel=stop.is_set)
        except Cancelled:
            outcome["t"] = time.monotonic()

    worker = threading.Thread(target=build)
    worker.start()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not started.is_set():
        if len(cluster.busy_workers()) == 2:
            started.set()
        time.sleep(0.05)
    assert started.is_set(), "the database tasks never ran on both workers"
    time.sleep(0.3)
    t_cancel = time.monotonic()
    stop.set()
    worker.join(10)
    assert "t" in outcome, "the build was not cancelled"
    assert outcome["t"] - t_cancel < 2.0
    assert cluster.busy_workers() == []


def test_a_killed_worker_does_not_change_a_database(tmp_path) -> None:
    sizes = [(n,) for n in range(18, 34, 2)]
    reference = _db(SerialMapper(), sizes)
    killed: list[int] = []
    with open_mapper(workers=2) as mapper:
        def kill_busy_worker(fraction: float, _text: str) -> None:
            if killed:
                return
            busy = mapper.busy_workers()
            if busy:
                pid = mapper.client.run(os.getpid, workers=busy[:1])[busy[0]]
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)

        db = _db(mapper, sizes, progress=kill_busy_worker)
    assert killed, "no worker was busy to be killed"
    # (the lattice route's histograms depend on numba's thread count in the last bits: a worker
    # has one thread, this process two)
    np.testing.assert_allclose(db.sinc, reference.sinc, rtol=0, atol=1e-12 * np.abs(reference.sinc).max())
    np.testing.assert_array_equal(db.self_sums, reference.self_sums)
    np.testing.assert_array_equal(db.n_atoms, reference.n_atoms)
    assert db.types == reference.types


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_fit_against_a_scheduler_and_worker_started_with_the_dask_command(tmp_path, series_files) -> None:
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    dask = [os.path.join(os.path.dirname(sys.executable), "dask")]
    logs = open(tmp_path / "dask.log", "w")
    procs = [subprocess.Popen([*dask, "scheduler", "--host", "127.0.0.1", "--port", str(port),
                               "--no-dashboard"], stdout=logs, stderr=subprocess.STDOUT)]
    try:
        procs.append(subprocess.Popen([*dask, "worker", address, "--nthreads", "1", "--nworkers", "1",
                                       "--no-dashboard"], stdout=logs, stderr=subprocess.STDOUT))
        from distributed import Client

        with Client(address, timeout="30s") as client:
            client.wait_for_workers(1, timeout=60)
        options = ["--x", "q", *MODEL, "--population", "D=2.1,sD=0.1", "--refine", "scale,adp,size",
                   "--quiet"]
        fit = ["fit", "--data", str(series_files / "pbs_3.xye"), *options]
        assert main([*fit, "--scheduler", address, "--out", str(tmp_path / "d.h5"),
                     "--json", str(tmp_path / "d.json")]) == 0
        # a series: its fits are tasks, and they ran on that worker (a single untwinned fit builds its
        # growth-route database here in one pass: there is nothing in it to spread)
        series = ["fit", "--data", str(series_files / "pbs_1.xye"), str(series_files / "pbs_5.xye"),
                  "--independent", *options]
        assert main([*series, "--scheduler", address, "--out", str(tmp_path / "series.h5")]) == 0
        with Client(address, timeout="30s") as client:
            executed = client.run(lambda dask_worker: dask_worker.state.executed_count)
        assert sum(executed.values()) >= 2
        assert main([*fit, "--out", str(tmp_path / "s.h5"), "--json", str(tmp_path / "s.json")]) == 0
    finally:
        for proc in reversed(procs):
            proc.terminate()
        for proc in reversed(procs):
            proc.wait(20)
        logs.close()
    d, s = (json.loads((tmp_path / f"{n}.json").read_text()) for n in "ds")
    for name, prm in s["parameters"].items():
        assert d["parameters"][name]["value"] == pytest.approx(prm["value"], rel=1e-12, abs=1e-15)
    assert d["parameters"]["D_nm"]["value"] == pytest.approx(2.2, abs=2e-3)
