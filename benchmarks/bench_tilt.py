"""Time the tilt slider path: tilted_gamma + build_crystal + Debye pattern (prints a table).

    python benchmarks/bench_tilt.py

Per tilt angle: structure generation, a prism build, histograms and the Debye sum on 2,750 Q
points (0.5-6 1/Å), after a warm-up that compiles the numba kernels.
"""

from __future__ import annotations

import time

import numpy as np

from nanotwin_core.builder import build_crystal
from nanotwin_core.scattering import compute_histograms, debye_intensity
from nanotwin_core.scattering.radiation import XRay
from nanotwin_core.structures.tilt import tilted_gamma, tilts_for_slider

Q = np.arange(0.5, 6.0, 0.002)
B = {"Pb": 2.99, "Cs": 8.9, "X_ax": 1.72, "X_eq": 2.85}


def one(total_deg: float, size_nm: float) -> tuple[int, float, float, float, float]:
    t0 = time.perf_counter()
    s = tilted_gamma("Br", *tilts_for_slider(total_deg, "Br"))
    t1 = time.perf_counter()
    c = build_crystal(s, shape="prism", size_ab_nm=size_nm, size_c_nm=size_nm)
    t2 = time.perf_counter()
    h = compute_histograms(c)
    debye_intensity(h, Q, b_iso=B, radiation=XRay(energy_kev=21.9))
    t3 = time.perf_counter()
    return len(c.positions), t1 - t0, t2 - t1, t3 - t2, t3 - t0


def main() -> None:
    one(5.0, 4.0)  # warm-up: numba compile / cache load
    print("| size | total tilt | atoms | tilted_gamma (ms) | build (ms) | DSE (ms) | total (ms) |")
    print("|---|---|---|---|---|---|---|")
    for size in (4.0, 8.0):
        for total in (0.0, 5.0, 10.0, 15.1):
            n, ts, tb, td, tt = one(total, size)
            print(f"| {size:g} nm | {total:g}° | {n:,} | {1e3 * ts:.1f} | {1e3 * tb:.1f} | {1e3 * td:.1f} "
                  f"| {1e3 * tt:.1f} |")


if __name__ == "__main__":
    main()
