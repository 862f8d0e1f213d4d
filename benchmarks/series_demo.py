"""A synthetic CsPbBr3 temperature series (298-410 K), fitted sequentially: do the fits recover it?

Run: python benchmarks/series_demo.py --out DIR [--points 7] [--figure docs/img/series_cspbbr3.png]
     [--workers N]

The patterns are CsPbBr3 gamma nanocrystal populations (bivariate log-normal prisms, <D_ab> 4.0
nm, <L_c> 4.6 nm, dispersions 0.12) on Q 1.0-6.0 1/Å, computed with the fits' own forward model
(the per-size Debye sums) with, from 298 to 410 K:
- the lattice expanding by 1 % in volume (the paper's 298 -> 410 K figure): a linear expansion
  e = 1.01^(1/3) - 1 = 0.332 % at 410 K, linear in T;
- every isotropic B growing in proportion to T (harmonic vibrations), from the structure's
  298 K values;
- the sizes unchanged (the crystals do not grow or shrink; the domain-size route is not used).
Counting noise at 20,000 counts at the strongest point over a flat 200-count background; the
temperature is in each file's header (``# temperature = 298``).

Then ``nanotwin fit --sequential --series-value header:temperature`` refines scale, a linear
background, B per ADP group, the four size parameters and the expansion; the script compares
every fitted value with its input in units of the fit's esd (it fails when one is beyond 3
esd) and draws the fitted curves over the inputs.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from nanotwin_core.cli import main as nanotwin
from nanotwin_core.io.data import PatternData, write_pattern
from nanotwin_core.model import Model, PopulationSpec
from nanotwin_core.refine.dse_fit import FitSettings, prepare_fit

Q = np.arange(1.0, 6.0, 0.005)
POPULATION = "Dab=4.0,sab=0.12,Lc=4.6,sc=0.12"
T_LOW, T_HIGH = 298.0, 410.0
E_HIGH = 1.01 ** (1 / 3) - 1  # linear expansion for +1 % volume


def truth(t: float, b_298: dict[str, float]) -> dict[str, float]:
    """Input parameter values at temperature t (K)."""
    out = {"expansion": E_HIGH * (t - T_LOW) / (T_HIGH - T_LOW)}
    out.update({f"B_{g}": b * t / T_LOW for g, b in b_298.items()})
    out.update(Dab_nm=4.0, sab=0.12, Lc_nm=4.6, sc=0.12)
    return out


def make_series(folder: Path, temperatures: np.ndarray, seed: int = 11) -> list[dict]:
    """Write one pattern per temperature; returns the input values per file."""
    model = Model(structure="CsPbBr3-gamma", population=PopulationSpec.parse(POPULATION))
    grid = PatternData(Q, np.ones_like(Q), np.ones_like(Q), x_kind="q")
    problem = prepare_fit(model, grid, FitSettings(refine=("scale", "adp", "size", "expansion"),
                                                   background_order=None))
    start = {p.name: p.value for p in problem.params}
    b_298 = {name[2:]: value for name, value in start.items() if name.startswith("B_")}
    rng = np.random.default_rng(seed)
    inputs = []
    for t in temperatures:
        values = {**start, **truth(float(t), b_298)}
        y = problem.basis(values)[:, 0]
        y = 2e4 * y / y.max() + 200.0
        y = rng.poisson(y).astype(float)
        path = folder / f"CsPbBr3_T{t:.0f}K.xye"
        write_pattern(path, Q, y, np.sqrt(np.maximum(y, 1.0)), ["# Q (1/Å)", f"# temperature = {t:.0f}"])
        inputs.append({"file": str(path), "T": float(t), **truth(float(t), b_298)})
    return inputs


def figure(fits: list[dict], inputs: list[dict], names: list[str], path: Path) -> None:
    from nanotwin_core.figures import pyplot, save_figure

    plt = pyplot()
    fig, axes = plt.subplots(2, (len(names) + 1) // 2, figsize=(11, 5.6), layout="constrained")
    t_in = [i["T"] for i in inputs]
    for ax, name in zip(axes.ravel(), names, strict=False):
        scale = 100.0 if name == "expansion" else 1.0
        ax.plot(t_in, [scale * i[name] for i in inputs], "-", color="0.5", lw=1.5, label="input")
        ok = [f for f in fits if f["status"] == "ok"]
        ax.errorbar([f["value"] for f in ok], [scale * f["parameters"][name]["value"] for f in ok],
                    yerr=[3 * scale * (f["parameters"][name]["esd"] or 0.0) for f in ok], fmt="o", ms=4,
                    capsize=2, label="fit (3 esd bars)")
        ax.set_title("expansion (%)" if name == "expansion" else name, fontsize=10)
        ax.set_xlabel("T (K)")
        ax.grid(alpha=0.3)
    for ax in axes.ravel()[len(names):]:
        ax.set_visible(False)
    axes.ravel()[0].legend(fontsize=8)
    fig.suptitle("Synthetic CsPbBr3 series 298-410 K, fitted with --sequential", fontsize=11)
    save_figure(fig, path)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, type=Path, help="folder for the patterns and the fit's outputs")
    ap.add_argument("--points", type=int, default=7, help="temperatures from 298 to 410 K [7]")
    ap.add_argument("--figure", type=Path, help="PNG of the fitted values over the inputs")
    ap.add_argument("--workers", type=int, help="a local Dask cluster for the database build")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    temperatures = np.linspace(T_LOW, T_HIGH, args.points)
    inputs = make_series(args.out, temperatures)
    cmd = ["fit", "--data", str(args.out / "CsPbBr3_T*K.xye"), "--x", "q", "--structure", "CsPbBr3-gamma",
           "--population", POPULATION, "--refine", "scale,background,adp,size,expansion", "--background",
           "chebyshev:1", "--sequential", "--series-value", "header:temperature", "--out",
           str(args.out / "series.h5"), "--json", str(args.out / "series.json"), "--plot",
           "expansion,B_Pb,B_Cs,Dab_nm", "--force"]
    if args.workers:
        cmd += ["--workers", str(args.workers)]
    if nanotwin(cmd) != 0:
        return 1
    fits = json.loads((args.out / "series.json").read_text())["fits"]
    names = [n for n in truth(T_LOW, {}) if n != "expansion"]
    names = ["expansion"] + [n for n in fits[0]["parameters"] if n.startswith("B_")] + names
    worst = 0.0
    print(f"{'T (K)':>6s} " + " ".join(f"{n:>10s}" for n in names) + "   (fit - input) / esd")
    for fit, given in zip(fits, inputs, strict=True):
        dev = [(fit["parameters"][n]["value"] - given[n]) / fit["parameters"][n]["esd"] for n in names]
        worst = max(worst, max(abs(d) for d in dev))
        print(f"{given['T']:6.0f} " + " ".join(f"{d:10.2f}" for d in dev))
    print(f"largest |fit - input| = {worst:.2f} esd")
    if args.figure:
        figure(fits, inputs, names, args.figure)
        print(f"wrote {args.figure}")
    return 0 if worst <= 3.0 else 1


if __name__ == "__main__":
    sys.exit(main())
