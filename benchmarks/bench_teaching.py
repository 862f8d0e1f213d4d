"""Time one live update of the Teaching dock's sliders (prints a table).

    python3 benchmarks/bench_teaching.py

``compute_teaching`` as the dock runs it (one numba thread, Q 0.5-6 1/Å in 0.004 steps): build
the tilted gamma prism, its histograms and Debye sum, the zero-tilt reference and the R, M, X
heights. Three kinds of slider move, each over several new values (nothing cached from an
earlier value), after a warm-up that compiles the numba kernels:

- tilt, untwinned: crystal + zero-tilt crystal;
- domains: the twin slider at a fixed tilt (zero-tilt and untwinned references cached): one
  twinned crystal;
- tilt, twinned: twinned crystal + zero-tilt + untwinned references (the worst case).
"""

from __future__ import annotations

import statistics
import time

from nanotwin_core.teaching import LIVE_MAX_ATOMS, TeachingCache, TeachingRequest, compute_teaching

SIZES_NM = (3.0, 4.0, 4.5)
TILTS = (12.0, 12.5, 13.0, 13.5, 14.0, 14.5)
DOMAINS = (8.0, 6.0, 5.0, 4.0, 3.0, 2.5, 2.0, 1.5)


def run(requests: list[TeachingRequest], cache: TeachingCache) -> tuple[int, list[float]]:
    times = []
    n = 0
    for req in requests:
        t0 = time.perf_counter()
        res = compute_teaching(req, cache)
        times.append(time.perf_counter() - t0)
        n = res.crystal.n_atoms
    return n, times


def main() -> None:
    compute_teaching(TeachingRequest(tilt_deg=5.0, size_nm=3.0, domain_size_nm=2.0))  # warm-up
    print(f"live limit: {LIVE_MAX_ATOMS:,} atoms")
    print("| prism | atoms | slider move | updates | median (ms) | max (ms) |")
    print("|---|---|---|---|---|---|")
    for size in SIZES_NM:
        cases = {
            "tilt, untwinned": [TeachingRequest(tilt_deg=t, size_nm=size) for t in TILTS],
            "domains (tilt fixed)": [TeachingRequest(tilt_deg=15.0, size_nm=size, domain_size_nm=d)
                                     for d in DOMAINS],
            "tilt, twinned (3 nm)": [TeachingRequest(tilt_deg=t + 0.25, size_nm=size, domain_size_nm=3.0)
                                     for t in TILTS],
        }
        for name, reqs in cases.items():
            cache = TeachingCache()
            if name.startswith("domains"):
                compute_teaching(TeachingRequest(tilt_deg=15.0, size_nm=size, domain_size_nm=8.0), cache)
            n, times = run(reqs, cache)
            print(f"| {size:g} nm | {n:,} | {name} | {len(times)} | {1e3 * statistics.median(times):.0f} "
                  f"| {1e3 * max(times):.0f} |", flush=True)


if __name__ == "__main__":
    main()
