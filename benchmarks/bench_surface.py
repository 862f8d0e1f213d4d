"""Cost of terminations and surface shells: build, pair table and histograms per crystal.

Run:  python benchmarks/bench_surface.py [--sizes 4 8 12]

A labelled surface splits the node contents (nodes whose atoms get the same decisions share
one), and the lattice route's FFT work grows with the square of the number of contents. Cases:
PbS spheres (stoichiometric, with a 3 Å shell, Pb-terminated with a shell) and CsPbBr3 gamma
cubes (stoichiometric, CsX, CsX with one layer of shell), after a warm-up call.
"""

from __future__ import annotations

import argparse
import time

from nanotwin_core.builder import build_crystal
from nanotwin_core.scattering.lattice_route import build_pair_table, rehistogram

CASES = [
    ("PbS sphere", "PbS-rocksalt", "sphere", {}),
    ("PbS sphere, 3 Å shell", "PbS-rocksalt", "sphere", {"surface_shell_A": 3.0}),
    ("PbS sphere, S:full + shell", "PbS-rocksalt", "sphere",
     {"termination": "S:full", "surface_shell_A": 3.0}),
    ("CsPbBr3 cube", "CsPbBr3-gamma", "cuboid", {}),
    ("CsPbBr3 cube, CsX", "CsPbBr3-gamma", "cuboid", {"termination": "CsX"}),
    ("CsPbBr3 cube, CsX + 1 layer", "CsPbBr3-gamma", "cuboid", {"termination": "CsX", "surface_layers": 1}),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=float, nargs="+", default=[4.0, 8.0, 12.0], help="sizes in nm")
    args = parser.parse_args()
    build_crystal("PbS-rocksalt", shape="sphere", size_nm=1.5, surface_shell_A=3.0)  # warm-up (numba)
    rehistogram(build_pair_table(build_crystal("PbS-rocksalt", shape="sphere", size_nm=1.5).lattice))
    print("| crystal | size (nm) | atoms | contents | build (s) | pair table (s) | histograms (s) |")
    print("|---|---|---|---|---|---|---|")
    for size in args.sizes:
        for label, structure, shape, options in CASES:
            t0 = time.perf_counter()
            crystal = build_crystal(structure, shape=shape, size_nm=size, **options)
            t1 = time.perf_counter()
            table = build_pair_table(crystal.lattice)
            t2 = time.perf_counter()
            rehistogram(table)
            t3 = time.perf_counter()
            print(f"| {label} | {size:g} | {crystal.n_atoms:,} | {len(crystal.lattice.contents)} | "
                  f"{t1 - t0:.2f} | {t2 - t1:.2f} | {t3 - t2:.2f} |")


if __name__ == "__main__":
    main()
