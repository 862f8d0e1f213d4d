"""Benchmark of the calibrant fit (refine/calibrant.py): time and recovered instrument for a lab-like
and two synchrotron-like simulated patterns (TCH profile, Poisson counts, 1e4 counts on the
strongest peak over a background of 100).

Run:  python benchmarks/bench_calibrant.py

Cases: Si at 1.0 Å (2θ 15-75°, step 0.01°, 11 reflections), Si at 0.5 Å (2-50°, 0.003°, 21) and
LaB6 at 0.2 Å (1-40°, 0.002°, 178). Columns: points, reflections, simulate and fit seconds,
GoF, and the largest |fitted - true| / esd over U, V, W, zero, X, Y.
"""

from __future__ import annotations

import time

import numpy as np

from nanotwin_core.model_parts import Instrument
from nanotwin_core.refine.calibrant import fit_calibrant
from nanotwin_core.refine.calibrant_pattern import calibrant_pattern
from nanotwin_core.structures.calibrants import calibrant_structure

CASES = (("Si", 1.0, 15.0, 75.0, 0.01, (0.004, -0.0015, 0.0012), 0.0123, (0.01, 0.005)),
         ("Si", 0.5, 2.0, 50.0, 0.003, (0.0005, -0.0002, 0.0001), 0.005, (0.002, 0.001)),
         ("LaB6", 0.2, 1.0, 40.0, 0.002, (0.0005, -0.0002, 0.0001), 0.005, (0.002, 0.001)))


def main() -> None:
    print(f"{'case':<14} {'points':>7} {'refl':>5} {'sim s':>6} {'fit s':>6} {'GoF':>6} {'max dev/esd':>11}")
    for name, lam, lo, hi, step, cag, zero, lor in CASES:
        ins = Instrument("sync", cag, zero, lor).validate()
        truth = dict(zip(("U", "V", "W"), cag, strict=True)) | {"zero": zero, "X": lor[0], "Y": lor[1]}
        x = np.arange(lo, hi, step)
        structure = calibrant_structure(name)
        t0 = time.perf_counter()
        y = calibrant_pattern(structure, x, lam, ins, rng=np.random.default_rng(1))
        t1 = time.perf_counter()
        result = fit_calibrant(x, y, structure, lam, lorentzian=True)
        t2 = time.perf_counter()
        dev = max(abs(result.values()[k] - v) / result.esd[k] for k, v in truth.items())
        print(f"{name + f' {lam} A':<14} {x.size:>7} {result.n_peaks:>5} {t1 - t0:>6.2f} {t2 - t1:>6.2f} "
              f"{result.gof:>6.3f} {dev:>11.2f}")


if __name__ == "__main__":
    main()
