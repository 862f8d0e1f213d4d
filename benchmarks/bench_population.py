"""Build time of a size-population database (per-size Debye sums), untwinned and twinned.

Run: python benchmarks/bench_population.py [--seeds N] [--qmax Q] [--case both|untwinned|twinned]

Population: CsPbBr3 gamma prisms with the paper's Table 2 parameters (<D_ab> 8.19 nm,
sigma/<D> 0.24, <L_c> 9.79 nm, 0.20), grid cut by intensity weight (1e-3 left out) and widened
for refinement as `nanotwin fit` does; Q 0.5-QMAX 1/Å. Prints sizes, atoms, seconds, memory, and
the time of one population pattern after a change of B or of the size parameters.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from nanotwin_core.io.data import PatternData
from nanotwin_core.model import Model, PopulationSpec
from nanotwin_core.refine.dse_fit import FitSettings, prepare_fit


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=4, help="twinned realisations per size [4]")
    ap.add_argument("--qmax", type=float, default=8.0, help="largest Q, 1/Å [8]")
    ap.add_argument("--case", choices=("both", "untwinned", "twinned"), default="both",
                    help="which population to build [both]")
    args = ap.parse_args()
    q = np.arange(0.5, args.qmax, 0.002)
    data = PatternData(q, np.ones_like(q), np.ones_like(q), x_kind="q")
    pop = PopulationSpec(Dab=8.19, sab=0.24, Lc=9.79, sc=0.20)
    cases = [
        ("untwinned", Model(structure="CsPbBr3-gamma", population=pop)),
        (f"twinned (mixed network 3 nm, {args.seeds} seeds)",
         Model(structure="CsPbBr3-gamma", population=pop,
               twins=["1/2<110>{110}", "1/2<110>{001}", "1/2<001>{110}"], domain_size_nm=3.0,
               seeds=list(range(1, args.seeds + 1)))),
    ]
    print(f"{'population':42s} {'sizes':>5s} {'max atoms':>9s} {'build s':>8s} {'MB':>6s} "
          f"{'B chg ms':>8s} {'size chg ms':>11s}", flush=True)
    if args.case != "both":
        cases = [c for c in cases if c[0].startswith(args.case)]
    for label, model in cases:
        t0 = time.perf_counter()
        problem = prepare_fit(model, data, FitSettings(background_order=None))
        build = time.perf_counter() - t0
        db = problem.database
        values = {p.name: p.value for p in problem.params}
        problem.population_pattern(values)
        t1 = time.perf_counter()
        problem.population_pattern({**values, "B_Pb": values["B_Pb"] + 0.1})
        b_change = (time.perf_counter() - t1) * 1e3
        t2 = time.perf_counter()
        problem.population_pattern({**values, "Dab_nm": values["Dab_nm"] * 1.05})
        s_change = (time.perf_counter() - t2) * 1e3
        per_size = db.info.get("seeds_per_size") or [1]
        realisations = f"realisations per size {min(per_size)}-{max(per_size)}, {sum(per_size)} crystals"
        print(f"{label:42s} {db.n_sizes:5d} {int(db.n_atoms.max()):9d} {build:8.1f} "
              f"{db.nbytes / 1e6:6.0f} {b_change:8.1f} {s_change:11.1f}  ({realisations})", flush=True)


if __name__ == "__main__":
    main()
