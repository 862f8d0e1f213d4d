"""Time of the CdSe nanoparticle PDF fit (zinc-blende sphere ladder and the 91-atom XYZ cluster).

Run: python benchmarks/bench_pdf_fit.py [--data DIR]

Data: ../shared/data/pdf_nanoparticles/cdse_cluster/cdse.gr (DiffPy-CMI / pdfttp CdSe example),
r = 1.49-20 Å, Qmin 1, Qmax 20 1/Å, Qdamp 0.06 1/Å fixed. Prints, per model, the model set-up
time (builds + histograms), the fit time, model evaluations, the time of one G(r), and Rw
(PDFgui's published Rw for the zinc-blende sphere: 0.2135).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from nanotwin_core.io.data import read_gr
from nanotwin_core.io.xyz import read_xyz
from nanotwin_core.refine.pdf_fit import (
    PDFFitSettings,
    PDFModel,
    fit_pdf,
    model_from_crystal,
    sphere_ladder,
    structure_b,
)
from nanotwin_core.structures.library import get_structure

DEFAULT = Path(__file__).resolve().parents[2] / "shared" / "data" / "pdf_nanoparticles" / "cdse_cluster"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT, help="folder with cdse.gr and cdse.xyz")
    args = ap.parse_args()
    data = read_gr(args.data / "cdse.gr")
    s = get_structure("CdSe-zincblende")
    # compile the kernels once, outside the timings
    warm = model_from_crystal(read_xyz(args.data / "cdse.xyz"), qmin=1.0, qmax=20.0)
    warm(data.r[:10], {"B_Cd": 1.0, "B_Se": 1.0})
    print(f"{'model':34s} {'atoms':>9s} {'setup s':>8s} {'fit s':>7s} {'nfev':>5s} "
          f"{'G(r) ms':>8s} {'Rw':>7s}")
    cases = []
    t0 = time.perf_counter()
    ladder = PDFModel(sphere_ladder(s, 1.9, window=0.25), qmin=1.0, qmax=20.0)
    cases.append(("zinc-blende sphere ladder (size)", ladder, time.perf_counter() - t0,
                  ("scale", "adp", "expansion", "delta2", "size"), structure_b(s)))
    t0 = time.perf_counter()
    xyz = model_from_crystal(read_xyz(args.data / "cdse.xyz"), qmin=1.0, qmax=20.0)
    cases.append(("91-atom XYZ cluster", xyz, time.perf_counter() - t0,
                  ("scale", "adp", "expansion", "delta2"), {"Cd": 2.2, "Se": 4.3}))
    for label, model, setup, refine, b0 in cases:
        st = PDFFitSettings(rmin=1.49, rmax=20.0, qmin=1.0, qmax=20.0, qdamp=0.06, delta2=2.0, refine=refine)
        t0 = time.perf_counter()
        out = fit_pdf(data, model, st, start_b=b0)
        fit_s = time.perf_counter() - t0
        vals = out.result.params.values()
        d = data.restricted(1.49, 20.0)
        t0 = time.perf_counter()
        for _ in range(20):
            model(d.r, vals)
        one_ms = (time.perf_counter() - t0) / 20 * 1e3
        atoms = "-".join(str(m.n_atoms) for m in (model.members[0], model.members[-1]))
        if len(model.members) == 1:
            atoms = str(model.members[0].n_atoms)
        print(f"{label:34s} {atoms:>9s} {setup:8.2f} {fit_s:7.2f} {out.result.nfev:5d} "
              f"{one_ms:8.2f} {out.rw:7.4f}")


if __name__ == "__main__":
    main()
