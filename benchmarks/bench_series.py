"""Data series and Dask: serial against a LocalCluster of worker processes.

Run: python benchmarks/bench_series.py [--files 50] [--case all|series|database|overhead]

- series: N synthetic PbS sphere-population patterns (D 3.0-4.0 nm, sD 0.15, B rising, counting
  noise), fitted in independent mode (scale, background, adp, size) serially and on a
  LocalCluster of 2 processes; the two tables must agree to 1e-12.
- database: the per-size Debye sums of PbS spheres of 20-60 cells (7.5-22 nm) on a LocalCluster
  of 1 worker and of 2 workers (one numba thread each), and serially here (numba's threads).
- overhead: `nanotwin fit` of one file, serial and with --workers 2 (wall time of the command).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from nanotwin_core.distributed import DaskMapper, SerialMapper, local_cluster
from nanotwin_core.io.data import PatternData, write_pattern
from nanotwin_core.model import FitSpec, Model, PopulationSpec
from nanotwin_core.refine import size_database as sdb
from nanotwin_core.refine.dse_fit import FitSettings, prepare_fit
from nanotwin_core.series import ReadOptions, SeriesItem, run_series
from nanotwin_core.series_output import series_table
from nanotwin_core.structures.library import get_structure

Q = np.arange(1.0, 7.0, 0.005)


def local_mapper(n_workers: int):
    """(DaskMapper, close) on nanotwin's LocalCluster of ``n_workers`` processes, one numba thread
    per task."""
    from distributed import Client

    client = Client(local_cluster(n_workers, threads=1))

    def close() -> None:
        cluster = client.cluster
        client.close()
        cluster.close()

    return DaskMapper(client), close


def make_series(folder: Path, n: int) -> list[SeriesItem]:
    """N noisy PbS population patterns from one prepared problem (the fits' own forward model)."""
    model = Model(structure="PbS-rocksalt", shape="sphere", population=PopulationSpec(D=3.5, sD=0.15))
    grid = PatternData(Q, np.ones_like(Q), np.ones_like(Q), x_kind="q")
    problem = prepare_fit(model, grid, FitSettings(refine=("scale", "adp", "size"), background_order=None))
    rng = np.random.default_rng(7)
    items = []
    for i in range(n):
        values = {p.name: p.value for p in problem.params}
        values.update(D_nm=3.0 + i / max(n - 1, 1), sD=0.15, B_Pb=0.8 + 0.01 * i, B_S=1.0 + 0.01 * i)
        y = problem.basis(values)[:, 0]
        y = 2e4 * y / y.max() + 300.0
        y = rng.poisson(y).astype(float)
        path = folder / f"pbs_{i:03d}.xye"
        write_pattern(path, Q, y, np.sqrt(np.maximum(y, 1.0)), ["# Q (1/Å)"])
        items.append(SeriesItem(str(path), float(300 + 2 * i)))
    return items


def fit_model() -> Model:
    model = Model(structure="PbS-rocksalt", shape="sphere", population=PopulationSpec(D=3.5, sD=0.15))
    model.fit = FitSpec(refine=["scale", "background", "adp", "size"], background_order=2)
    return model.validate()


def bench_series(n: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        items = make_series(Path(tmp), n)
        t0 = time.perf_counter()
        serial = run_series(fit_model(), items, mode="independent", read=ReadOptions("q"),
                            mapper=SerialMapper())
        t_serial = time.perf_counter() - t0
        t0 = time.perf_counter()
        mapper, close = local_mapper(2)
        t_start = time.perf_counter() - t0
        try:
            t0 = time.perf_counter()
            dist = run_series(fit_model(), items, mode="independent", read=ReadOptions("q"), mapper=mapper)
            t_dist = time.perf_counter() - t0
        finally:
            close()
    a = np.array([[np.nan if v is None else float(v) for v in row[3:]] for row in series_table(serial)[1]])
    b = np.array([[np.nan if v is None else float(v) for v in row[3:]] for row in series_table(dist)[1]])
    ok = sum(f.ok for f in dist.fits)
    rel = np.nanmax(np.abs(a - b) / np.maximum(np.abs(a), 1e-300))
    fit_s = [np.median([f.seconds for f in r.fits if f.ok]) for r in (serial, dist)]
    print(f"series of {n} PbS patterns, independent: serial {t_serial:.1f} s; LocalCluster(2) {t_dist:.1f} s "
          f"+ {t_start:.1f} s start -> {t_serial / t_dist:.2f}x ({t_serial / (t_dist + t_start):.2f}x "
          f"with the start); {ok}/{n} ok; largest relative difference of the tables {rel:.1e}; median "
          f"seconds per fit {fit_s[0]:.2f} here, {fit_s[1]:.2f} on a worker")


def bench_database() -> None:
    from distributed import get_task_stream

    pbs = get_structure("PbS-rocksalt")
    sizes = [(n,) for n in range(20, 62, 2)]

    def build(mapper):
        t0 = time.perf_counter()
        db = sdb.build_size_database(pbs, "sphere", sizes, (0.374,), (1.0, 7.0), mapper=mapper)
        return db, time.perf_counter() - t0

    ref, t_here = build(SerialMapper())
    times, busy, diff = {}, {}, {}
    for n_workers in (1, 2):
        mapper, close = local_mapper(n_workers)
        try:
            build(mapper)  # workers load the numba kernels once
            with get_task_stream(client=mapper.client) as stream:
                db, times[n_workers] = build(mapper)
            # worker-seconds spent in the tasks: with 2 workers, the share of the wall time both
            # were computing (near 1: the work did spread; the wall time then shows the machine)
            spans = [ss for task in stream.data for ss in task["startstops"] if ss["action"] == "compute"]
            busy[n_workers] = sum(ss["stop"] - ss["start"] for ss in spans) / (n_workers * times[n_workers])
        finally:
            close()
        # the lattice route's histograms depend on numba's thread count in the last bits (per-thread
        # partial sums): here 2 threads, on a worker 1
        diff[n_workers] = float(np.abs(db.sinc.astype(float) - ref.sinc).max() / np.abs(ref.sinc).max())
        assert diff[n_workers] <= 1e-12 and np.array_equal(db.self_sums, ref.self_sums)
    print(f"database of {len(sizes)} PbS spheres (up to {int(ref.n_atoms.max()):,} atoms): here "
          f"({os.cpu_count()} numba threads) {t_here:.1f} s; 1 worker {times[1]:.1f} s; 2 workers "
          f"{times[2]:.1f} s -> {times[1] / times[2]:.2f}x; workers computing {busy[1]:.0%} / {busy[2]:.0%} "
          f"of the wall time; sums differ from here by at most {max(diff.values()):.1e} of their largest")


def bench_overhead() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        [item] = make_series(Path(tmp), 1)
        base = [sys.executable, "-m", "nanotwin_core", "fit", "--data", item.path, "--x", "q", "--structure",
                "PbS-rocksalt", "--shape", "sphere", "--population", "D=3.5,sD=0.15", "--refine",
                "scale,background,adp,size", "--quiet", "--force"]

        def wall(extra: list[str], out: str) -> float:
            t0 = time.perf_counter()
            subprocess.run([*base, *extra, "--out", str(Path(tmp) / out)], check=True, capture_output=True)
            return time.perf_counter() - t0

        wall([], "warm.h5")  # numba cache and file system warm
        serial = [wall([], f"s{i}.h5") for i in range(3)]
        cluster = [wall(["--workers", "2"], f"d{i}.h5") for i in range(3)]
    print(f"one-file fit: serial {np.median(serial):.1f} s, --workers 2 {np.median(cluster):.1f} s "
          f"(median of 3) -> {np.median(cluster) - np.median(serial):+.1f} s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=50, help="patterns in the series [50]")
    ap.add_argument("--case", choices=("all", "series", "database", "overhead"), default="all")
    args = ap.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    if args.case in ("all", "series"):
        bench_series(args.files)
    if args.case in ("all", "database"):
        bench_database()
    if args.case in ("all", "overhead"):
        bench_overhead()
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
