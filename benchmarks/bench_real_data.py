"""Fits of the shared real PbS patterns from defaults: the number a user gets from `nanotwin fit
--data FILE --structure PbS-rocksalt --shape sphere --population auto` against the size in the
file name (the authors' volume-weighted DSE size), with Rwp, GoF, the ADPs and the time.

Run:  python benchmarks/bench_real_data.py [--lab | --synchrotron] [-- EXTRA FIT OPTIONS]

e.g.  python benchmarks/bench_real_data.py --lab -- --texture 110 --refine scale,background,adp,size,texture

Needs ../shared/data (the clone's sibling) or NANOTWIN_SHARED_DATA. Every file's fit runs in this
process (numba compiled once); the time column is the fit's own (`nanotwin fit` wall time adds
start-up). The synchrotron 5.03 nm sample is fitted with its toluene blank.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import re
import sys
import tempfile
import time
from pathlib import Path

from nanotwin_core.cli import main as nanotwin

ROOT = Path(os.environ.get("NANOTWIN_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
PBS = ROOT / "waxts_pbs_qd"
BLANKS = {"PbS_synchr_wl0p564162A_5p03nm_toluene.xye": "solvent_Toluene.xye"}


def label_nm(name: str) -> float:
    m = re.search(r"_(\d+)p(\d+)nm", name)
    return float(f"{m.group(1)}.{m.group(2)}")


def fit_one(path: Path, extra: list[str], work: Path) -> dict:
    out = work / (path.stem + ".json")
    args = ["fit", "--data", str(path), "--structure", "PbS-rocksalt", "--shape", "sphere", "--population",
            "auto", "--out", str(out.with_suffix(".h5")), "--json", str(out), "--quiet", "--force", *extra]
    if path.name in BLANKS:
        args += ["--blank", str(path.parent / BLANKS[path.name])]
    t0 = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        code = nanotwin(args)
    summary = json.loads(out.read_text()) if out.exists() else {}
    summary["exit"], summary["seconds_wall"] = code, time.perf_counter() - t0
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--lab", action="store_true")
    which.add_argument("--synchrotron", action="store_true")
    parser.add_argument("extra", nargs="*", help="options added to every nanotwin fit (after --)")
    args = parser.parse_args()
    if not PBS.is_dir():
        sys.exit(f"no shared data at {PBS} (set NANOTWIN_SHARED_DATA)")
    files = []
    if not args.lab:
        files += sorted(p for p in (PBS / "synchrotron").glob("PbS_*.xye"))
    if not args.synchrotron:
        files += sorted((PBS / "lab_CuKa1").glob("*.xy"))
    print(f"{'file':<44} {'label':>6} {'D_vol':>12} {'error':>7} {'Rwp':>7} {'GoF':>7} {'B_Pb':>6} "
          f"{'B_S':>6} {'s':>5} status")
    with tempfile.TemporaryDirectory() as tmp:
        for path in files:
            s = fit_one(path, args.extra, Path(tmp))
            label = label_nm(path.name)
            pop = (s.get("populations") or [{}])[0]
            d, esd = pop.get("mean_D_vol_nm"), (pop.get("esd") or {}).get("mean_D_vol_nm")
            params = s.get("parameters", {})
            b = [params.get(k, {}).get("value", float("nan")) for k in ("B_Pb", "B_S")]
            if d is None:
                print(f"{path.name:<44} {label:6.2f} {'-':>12} {'-':>7}  exit {s['exit']}")
                continue
            print(f"{path.name:<44} {label:6.2f} {d:7.3f}({esd or 0:.3f}) {100 * (d / label - 1):+6.1f}% "
                  f"{s.get('rwp', float('nan')):7.4f} {s.get('gof', float('nan')):7.2f} {b[0]:6.2f} "
                  f"{b[1]:6.2f} {s['seconds_wall']:5.1f} {s.get('status', '?')}")


if __name__ == "__main__":
    main()
