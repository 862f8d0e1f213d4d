"""Fibre texture in the size database (scattering/texture.py): build time with and without the
Legendre sums, and the cost of a pattern after a change of the ratio r.

PbS spheres as in a fit of the 5.03 nm lab file (the size grid of D = 4.4 nm, sD = 0.2, the box a
fit may explore), Q 1.5-5.9 1/Å; texture about 110 with the orders a refined ratio needs
(0.35-3: l = 4..54). Run: python benchmarks/bench_texture.py [--size NM] [--qmax Q]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from nanotwin_core.model import Model, PopulationSpec
from nanotwin_core.refine.fast_database import cached_database
from nanotwin_core.refine.size_grids import size_grid
from nanotwin_core.scattering.texture import texture_database_spec


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=float, default=4.4, help="number-mean D (nm) [4.4]")
    parser.add_argument("--qmax", type=float, default=5.9, help="largest Q (1/Å) [5.9]")
    args = parser.parse_args()
    model = Model(structure="PbS-rocksalt", shape="sphere", population=PopulationSpec(D=args.size, sD=0.2))
    structure = model.load_structure()
    _grid, _out, _kind, sizes, units = size_grid(model, model.population, structure, 1e-3)
    spec = texture_database_spec(structure, (1, 1, 0), 0.8)
    print(f"{len(sizes)} sizes, largest D = {max(s[0] for s in sizes) * units[0]:.2f} nm, orders {spec[1]}")
    cached_database(None, structure, "sphere", sizes[:2], units, (1.5, 2.0), texture=spec)  # compile
    rows = []
    for label, texture in (("random", None), ("texture 110", spec)):
        t0 = time.perf_counter()
        db = cached_database(None, structure, "sphere", sizes, units, (1.5, args.qmax), texture=texture)
        rows.append((label, time.perf_counter() - t0, db.nbytes / 1e6, db))
    q = np.linspace(1.6, args.qmax - 0.1, 3000)
    db = rows[1][3]
    w = np.full(db.n_sizes, 1.0 / db.n_sizes)
    db.intensity(w, q, texture_ratio=0.8)
    times = []
    for r in np.linspace(0.5, 0.9, 9):
        t0 = time.perf_counter()
        db.intensity(w, q, texture_ratio=float(r))
        times.append(time.perf_counter() - t0)
    for label, seconds, mb, _db in rows:
        print(f"{label:12s} build {seconds:6.2f} s   stored sums {mb:7.1f} MB")
    print(f"pattern after a change of r: median {1e3 * np.median(times):.1f} ms (3000 points)")


if __name__ == "__main__":
    main()
