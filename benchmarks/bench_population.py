"""Build time of a size-population database (per-size Debye sums), untwinned and twinned.

Run: python benchmarks/bench_population.py [--case untwinned|ensemble|twin-density|realisations|all]
         [--route auto|crystals] [--seeds N] [--nodes K] [--qmax Q]

Population: CsPbBr3 gamma prisms with the paper's Table 2 parameters (<D_ab> 8.19 nm,
sigma/<D> 0.24, <L_c> 9.79 nm, 0.20), grid cut by intensity weight (1e-3 left out) and widened
for refinement as `nanotwin fit` does; Q 0.5-QMAX 1/Å. Twinned: the mixed three-law network
(1/2<110>{110} + 1/2<110>{001} + 1/2<001>{110}) with 3 nm domains, as the exact ensemble average
(fast route) or as seeded realisations (per-crystal route, --seeds per size); twin-density: the
ensemble at K Chebyshev nodes of 1/D (domain sizes 2.25-4.05 nm). Prints sizes,
atoms, seconds, stored MB, peak RSS of the process so far, and the time of one population
pattern after a change of B, of the size parameters and (twin-density databases) of the domain
size: the median of 7 changes, after a first evaluation.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time

import numpy as np

from nanotwin_core.io.data import PatternData
from nanotwin_core.model import Model, PopulationSpec
from nanotwin_core.refine.dse_fit import FitSettings, prepare_fit

LAWS = ["1/2<110>{110}", "1/2<110>{001}", "1/2<001>{110}"]


def _change_ms(problem, values: dict, name: str, factor: float) -> float:
    """Median time (ms) of a pattern after changing ``name`` alone, from the same base point."""
    times = []
    for i in range(7):
        problem.population_pattern(values)  # the base point (as a fit's Jacobian starts from it)
        t0 = time.perf_counter()
        problem.population_pattern({**values, name: values[name] * (factor + 1e-3 * i)})
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--case", choices=("all", "untwinned", "ensemble", "twin-density", "realisations"),
                    default="all", help="which population to build [all but realisations]")
    ap.add_argument("--nodes", type=int, default=5, help="Chebyshev nodes of the twin-density case [5]")
    ap.add_argument("--route", choices=("auto", "crystals"), default="auto",
                    help="auto: fast route where possible; crystals: one crystal per size (the reference)")
    ap.add_argument("--seeds", type=int, default=4, help="realisations per size of the realisations case [4]")
    ap.add_argument("--qmax", type=float, default=8.0, help="largest Q, 1/Å [8]")
    args = ap.parse_args()
    q = np.arange(0.5, args.qmax, 0.002)
    data = PatternData(q, np.ones_like(q), np.ones_like(q), x_kind="q")
    pop = PopulationSpec(Dab=8.19, sab=0.24, Lc=9.79, sc=0.20)
    cases = {
        "untwinned": Model(structure="CsPbBr3-gamma", population=pop),
        "ensemble": Model(structure="CsPbBr3-gamma", population=pop, twins=LAWS, domain_size_nm=3.0,
                          ensemble=True),
        "twin-density": Model(structure="CsPbBr3-gamma", population=pop, twins=LAWS, domain_size_nm=3.0,
                              ensemble=True),
        "realisations": Model(structure="CsPbBr3-gamma", population=pop, twins=LAWS, domain_size_nm=3.0,
                              seeds=list(range(1, args.seeds + 1))),
    }
    names = ["untwinned", "ensemble", "twin-density"] if args.case == "all" else [args.case]
    print(f"{'population':14s} {'route':8s} {'sizes':>5s} {'max atoms':>9s} {'build s':>8s} {'MB':>6s} "
          f"{'RSS GB':>6s} {'B chg ms':>8s} {'size chg ms':>11s} {'D chg ms':>8s}", flush=True)
    for label in names:
        model = cases[label]
        refine = ("scale", "adp", "size") + (("twin_density",) if label == "twin-density" else ())
        settings = FitSettings(refine=refine, background_order=None, database_route=args.route,
                               twin_density_nodes=args.nodes)
        t0 = time.perf_counter()
        problem = prepare_fit(model, data, settings)
        build = time.perf_counter() - t0
        db = problem.database
        values = {p.name: p.value for p in problem.params}
        b_change = _change_ms(problem, values, "B_Pb", 1.05)
        s_change = _change_ms(problem, values, "Dab_nm", 1.02)
        d_change = _change_ms(problem, values, "domain_nm", 1.05) if "domain_nm" in values else float("nan")
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
        route = db.info.get("route", "crystals")
        extra = ""
        if db.info.get("seeds_per_size"):
            per = db.info["seeds_per_size"]
            extra = f"  (realisations per size {min(per)}-{max(per)}, {sum(per)} crystals)"
        print(f"{label:14s} {route:8s} {db.n_sizes:5d} {int(db.n_atoms.max()):9d} {build:8.1f} "
              f"{db.nbytes / 1e6:6.0f} {rss:6.2f} {b_change:8.1f} {s_change:11.1f} {d_change:8.1f}{extra}",
              flush=True)


if __name__ == "__main__":
    main()
