"""Benchmark of the Debye engine (numba all-pairs kernel, lattice route, Debye sum, sampling error).

Run:  python benchmarks/bench_dse.py [--sizes 5 10 15 20] [--threads N] [--no-exact15]

Every (size, route) case runs in a fresh subprocess (after a warm-up call that loads the compiled
kernels), so the peak resident memory (ru_maxrss) is per case; "base" is the RSS after imports and
warm-up, "peak" the maximum during the case. Crystals: CsPbBr3 gamma (Pbnm, a = 8.207,
b = 8.255, c = 11.759 Å) prisms of whole cells, n = round(size / edge) per axis. Full pattern:
5,000 Q points on 0.5-20 1/Å, B from 1 to 3 Å^2 per ADP group, energy 22 keV.
Columns: "B chg" = pattern after a change of B (distance sums cached); "e1" = after a first
change of the expansion (builds the cached fine-grid spline of the distance sums), "e2" = after
a second one (spline evaluation only).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from nanotwin_core.scattering.radiation import XRay

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE.parent / "tests"))

B_ISO = {"Cs": 2.5, "Pb": 1.5, "X_eq": 3.0, "X_ax": 2.8}
Q = np.linspace(0.5, 20.0, 5000)


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _crystal(size_nm: float):
    from test_dse_helpers import cspbbr3_gamma, prism_nm

    return prism_nm(cspbbr3_gamma(), size_nm)


def run_case(size_nm: float, route: str, n_threads: int | None) -> dict:
    from nanotwin_core.scattering import compute_histograms, debye_intensity

    warm = _crystal(2.0)
    debye_intensity(
        compute_histograms(warm, route=route, n_threads=n_threads), Q, b_iso=B_ISO, energy_kev=22.0
    )
    crystal = _crystal(size_nm)
    if route == "all_pairs":
        crystal = crystal.without_lattice()
    base = _rss_mb()
    t0 = time.perf_counter()
    hist = compute_histograms(crystal, route=route, n_threads=n_threads)
    t1 = time.perf_counter()
    debye_intensity(hist, Q, b_iso=B_ISO, radiation=XRay(energy_kev=22.0))
    t2 = time.perf_counter()
    b2 = dict(B_ISO, Pb=1.7)
    debye_intensity(hist, Q, b_iso=b2, radiation=XRay(energy_kev=22.0))
    t3 = time.perf_counter()
    debye_intensity(hist, Q, b_iso=b2, radiation=XRay(energy_kev=22.0), expansion=0.002)
    t4 = time.perf_counter()
    debye_intensity(hist, Q, b_iso=b2, radiation=XRay(energy_kev=22.0), expansion=0.0025)
    t5 = time.perf_counter()
    return {
        "size_nm": size_nm,
        "route": route,
        "atoms": crystal.n_atoms,
        "pairs": hist.n_pairs,
        "hist_s": t1 - t0,
        "debye_s": t2 - t1,
        "total_s": t2 - t0,
        "b_change_s": t3 - t2,
        "expansion_s": t4 - t3,
        "expansion2_s": t5 - t4,
        "bins": int(hist.counts.shape[1]),
        "pair_types": len(hist.pairs),
        "base_mb": base,
        "peak_mb": _rss_mb(),
    }


def kernel_rate(n_threads: int | None) -> dict:
    """Pair distances per second of the all-pairs histogram kernel (10 nm crystal, 26k atoms)."""
    from nanotwin_core.scattering.allpairs_route import all_pairs_histograms

    all_pairs_histograms(_crystal(2.0).without_lattice(), n_threads=n_threads)
    crystal = _crystal(10.0).without_lattice()
    best = np.inf
    for _ in range(3):
        t0 = time.perf_counter()
        h = all_pairs_histograms(crystal, n_threads=n_threads)
        best = min(best, time.perf_counter() - t0)
    return {"atoms": crystal.n_atoms, "pairs": h.n_pairs, "seconds": best, "pairs_per_s": h.n_pairs / best}


def sampling_error(size_nm: float, q_max: float, step: float) -> dict:
    """Default sampling vs the exact (unbinned, lattice-route) Debye sum, B = 0."""
    from nanotwin_core.scattering import compute_histograms, debye_intensity

    crystal = _crystal(size_nm)
    q = np.arange(0.5, q_max + 1e-9, step)
    t0 = time.perf_counter()
    exact = debye_intensity(compute_histograms(crystal, sampling="exact"), q)
    t_exact = time.perf_counter() - t0
    out = {"size_nm": size_nm, "exact_s": t_exact}
    for route in ("lattice", "all_pairs"):
        c = crystal if route == "lattice" else crystal.without_lattice()
        i = debye_intensity(compute_histograms(c, route=route), q)
        dev = np.abs(i - exact)
        for qm in (20.0, 30.0):
            sel = q <= qm + 1e-9
            if not sel.any() or q[sel][-1] < qm - 1:
                continue
            big = sel & (exact > 1e-3 * exact[sel].max())
            out[f"{route}_max_Q{qm:.0f}"] = float(dev[sel].max() / exact[sel].max())
            out[f"{route}_rel_Q{qm:.0f}"] = float(np.max(dev[big] / exact[big]))
        near30 = np.abs(q - 30.0) < 0.5
        if near30.any():
            out[f"{route}_rel_at_Q30"] = float(np.max(dev[near30] / exact[near30]))
    return out


def _subprocess(args: list[str]) -> dict:
    env = dict(os.environ)
    res = subprocess.run(
        [sys.executable, __file__, *args], capture_output=True, text=True, env=env, check=False
    )
    if res.returncode != 0:
        raise RuntimeError(res.stderr[-2000:])
    return json.loads(res.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=float, nargs="+", default=[5.0, 10.0, 15.0, 20.0])
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument(
        "--no-exact15", action="store_true", help="skip the 15 nm sampling-error check (~1-2 min)"
    )
    ap.add_argument("--case", nargs=2, metavar=("SIZE", "ROUTE"), help=argparse.SUPPRESS)
    ap.add_argument("--error", nargs=3, type=float, metavar=("SIZE", "QMAX", "STEP"), help=argparse.SUPPRESS)
    ap.add_argument("--rate", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    thr = [] if args.threads is None else ["--threads", str(args.threads)]
    if args.case:
        print(json.dumps(run_case(float(args.case[0]), args.case[1], args.threads)))
        return
    if args.error:
        print(json.dumps(sampling_error(*args.error)))
        return
    if args.rate:
        print(json.dumps(kernel_rate(args.threads)))
        return

    import numba

    print(
        f"nanotwin DSE benchmark: {os.cpu_count()} cores, numba {numba.__version__}, "
        f"threads {args.threads or numba.get_num_threads()}, load average {os.getloadavg()[0]:.2f}"
    )
    rate = _subprocess(["--rate", *thr])
    print(
        f"all-pairs kernel, {rate['atoms']} atoms: {rate['pairs']:.3g} pairs in {rate['seconds']:.3f} s "
        f"= {rate['pairs_per_s'] / 1e9:.2f}e9 pairs/s (per-type histograms, fine counts + offsets)"
    )
    print()
    head = (
        f"{'size':>5} {'route':>9} {'atoms':>7} {'pairs':>9} {'hist s':>8} {'debye s':>8} {'total s':>8} "
        f"{'B chg ms':>8} {'e1 ms':>6} {'e2 ms':>6} {'bins':>6} {'base MB':>8} {'peak MB':>8}"
    )
    print(head)
    print("-" * len(head))
    ap_rate = None
    for size in args.sizes:
        for route in ("lattice", "all_pairs"):
            if route == "all_pairs" and ap_rate is not None:
                est = (_crystal(size).n_atoms ** 2 / 2) / ap_rate
                if est > 60:
                    print(f"{size:5.0f} {route:>9}  skipped (estimated {est:.0f} s > 60 s)")
                    continue
            r = _subprocess(["--case", str(size), route, *thr])
            if route == "all_pairs":
                ap_rate = r["pairs"] / r["hist_s"]
            print(
                f"{size:5.0f} {route:>9} {r['atoms']:7d} {r['pairs']:9.3g} {r['hist_s']:8.3f} "
                f"{r['debye_s']:8.3f} {r['total_s']:8.3f} {1e3 * r['b_change_s']:8.1f} "
                f"{1e3 * r['expansion_s']:6.1f} {1e3 * r['expansion2_s']:6.1f} {r['bins']:6d} "
                f"{r['base_mb']:8.0f} {r['peak_mb']:8.0f}",
                flush=True,
            )
    print()
    print(
        "sampling error vs the exact Debye sum (B = 0; max = max|dI|/max(I), rel = max |dI|/I where"
        " I > 1e-3 max):"
    )
    jobs = [(5.0, 30.0, 0.005)]
    if not args.no_exact15:
        jobs.append((15.0, 30.0, 0.02))
    for size, qmax, step in jobs:
        e = _subprocess(["--error", str(size), str(qmax), str(step)])
        for route in ("lattice", "all_pairs"):
            print(
                f"  {size:4.0f} nm {route:>9}: Q<=20 max {e[f'{route}_max_Q20']:.2e} "
                f"rel {e[f'{route}_rel_Q20']:.2e} | Q<=30 max {e[f'{route}_max_Q30']:.2e} "
                f"rel {e[f'{route}_rel_Q30']:.2e} | near Q=30 rel {e[f'{route}_rel_at_Q30']:.2e}"
                f"  (exact sum {e['exact_s']:.0f} s, Q step {step})",
                flush=True,
            )


if __name__ == "__main__":
    main()
