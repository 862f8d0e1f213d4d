"""``nanotwin fit --data FILE.gr``: a PDF refinement (one per --rrange) with the DSE model."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from nanotwin_core.cli.fit_output import print_diagnostics, write_fit_outputs
from nanotwin_core.cli.model_args import domain_size_of, load_structure, model_from_args, radiation_from_args
from nanotwin_core.cli.options import parse_adp, parse_rranges
from nanotwin_core.cli.outputs import OutputFiles
from nanotwin_core.errors import NanotwinError
from nanotwin_core.io.data import read_gr
from nanotwin_core.io.project import Project
from nanotwin_core.io.xyz import read_xyz
from nanotwin_core.refine.report import format_esd

PDF_REFINE = "scale,adp,expansion,delta2"
FIT_FAILED = 3  # exit status of a fit that gave no result (as nanotwin fit of a pattern)


def _pdf_model(args: argparse.Namespace, refine: tuple[str, ...], qmin: float, qmax: float):
    """(PDFModel, start B per group, source description) from --xyz or the model options: one
    crystal (twinned by --twin with --boundaries or a --seed realisation), a sphere ladder
    (--refine size) or the exact ensemble of twin networks (--twin --domain-size --ensemble): the
    core's ``actions.pdf_model_of``, as the window's PDF fits."""
    from nanotwin_core.actions import pdf_model_of
    from nanotwin_core.builder import DEFAULT_MAX_ATOMS
    from nanotwin_core.refine.pdf_fit import model_from_crystal

    common = {"qmin": qmin, "qmax": qmax, "radiation": radiation_from_args(args),
              "weights": args.pdf_weights}
    if args.xyz:
        return model_from_crystal(read_xyz(args.xyz), baseline=True, **common), {}, {"xyz": str(args.xyz)}
    structure = load_structure(args)
    model, start_b = pdf_model_of(model_from_args(args), refine=refine, structure=structure,
                                  max_atoms=getattr(args, "max_atoms", None) or DEFAULT_MAX_ATOMS, **common)
    source = {"structure": structure.name, "shape": args.shape, "size_nm": args.size,
              "weights": args.pdf_weights}
    if args.twin:
        source.update(twins=list(args.twin), domain_size_nm=domain_size_of(args))
        realisation = {"boundaries": args.boundaries, "seed": args.seed}
        source.update({"ensemble": True} if args.ensemble else realisation)
    return model, start_b, source


def run_pdf_fit(args: argparse.Namespace, outputs: OutputFiles) -> int:
    """Read and check everything, refine each r range, then write all outputs together."""
    from nanotwin_core.refine.pdf_fit import (
        PDFFitSettings,
        fit_pdf,
        fit_pdf_ranges,
        pdf_fit_json,
        pdf_markdown,
        realised_size,
        window_from_data,
    )

    if args.model or args.demo or args.population:
        raise NanotwinError("PDF fits take --structure/--cif with --shape and sizes (and --twin), or --xyz "
                            "(no --model, --demo or --population)")
    if args.xyz and args.twin:
        raise NanotwinError("--twin builds the crystal from a structure: not with --xyz")
    data = read_gr(args.data)
    refine = tuple(r.strip() for r in (args.refine or PDF_REFINE).split(",") if r.strip())
    ranges = parse_rranges(args.rrange) or [(1.0, 20.0)]
    settings = PDFFitSettings(
        rmin=ranges[0][0], rmax=ranges[0][1], qmin=args.qmin, qmax=args.qmax,
        qdamp=args.qdamp, qbroad=args.qbroad, delta2=args.delta2, spdiameter=args.spdiameter,
        refine=refine, adp=parse_adp(args.adp), radiation=args.radiation, max_nfev=args.max_nfev or 200,
    ).check()
    qmin, qmax = window_from_data(data, settings)
    t0 = time.perf_counter()
    model, start_b, source = _pdf_model(args, refine, qmin, qmax)
    if not args.quiet:
        print(f"  PDF model ready ({time.perf_counter() - t0:.1f} s); fitting {len(ranges)} r range(s)")
    if len(ranges) == 1:
        out = fit_pdf(data, model, settings, start_b=start_b)
        fits = [(ranges[0], out.result, out.rw)]
    else:
        fits = [((f.rmin, f.rmax), f.result, f.rw)
                for f in fit_pdf_ranges(data, model, settings, ranges, start_b=start_b)]
    elapsed = time.perf_counter() - t0
    entries, curves = [], {}
    for (lo, hi), res, rw in fits:
        entries.append(pdf_fit_json(res, rw, rmin=lo, rmax=hi, qmin=qmin, qmax=qmax,
                                    size_nm=realised_size(model, res.params.values())))
        curves[f"fit_{lo:g}_{hi:g}"] = {"r": data.r[(data.r >= lo) & (data.r <= hi)], "g_calc": res.y_calc}
    summary = dict(entries[0])
    summary.update(model=source, data={"path": str(args.data), "kind": "pdf"}, seconds=elapsed)
    if len(entries) > 1:
        summary["ranges"] = entries
    sigma = data.dg if data.dg is not None else np.ones(data.r.size)
    project = Project(
        model={"pdf": source, "refine": list(refine)},
        data={"observed": {"x": data.r, "y": data.g, "sigma": sigma}},
        data_meta={"observed": {"path": str(args.data), "x_kind": "r", "kind": "pdf",
                                "sigma_source": "file" if data.dg is not None else "unit_weights"}},
        cache=curves,
        cache_meta={k: {"kind": "pdf_fit"} for k in curves},
        results={"fit": summary},
        history=[{"command": "fit", "kind": "pdf", "refine": list(refine), "rw": [e["rw"] for e in entries]}],
    )
    _print_pdf_fits(entries, fits, elapsed)
    for _rng, res, _rw in fits:
        print_diagnostics(res)
    write_fit_outputs(args, outputs, project, summary, lambda: pdf_markdown(
        entries, [f[1] for f in fits], title=f"nanotwin PDF fit of {Path(args.data).name}"))
    return FIT_FAILED if any(res.failed for _rng, res, _rw in fits) else 0


def _print_pdf_fits(entries: list[dict], fits: list, elapsed: float) -> None:
    for e, ((lo, hi), res, rw) in zip(entries, fits, strict=True):
        print(f"r = {lo:g}-{hi:g} Å: Rw = {rw:.4f}  N = {res.n_points}  P = {res.n_params}"
              f"  ({elapsed:.1f} s)")
        for prm in res.params:
            if prm.refine and prm.constraint is None:
                print(f"  {prm.name:12s} {format_esd(prm.value, prm.esd)}"
                      + (f"  (at {prm.at_bound} bound)" if prm.at_bound else ""))
        if e.get("population"):
            print(f"  sphere diameter {e['population']['D_eq_nm']:.3f} nm")
    for msg in fits[0][1].messages:
        print(f"  note: {msg}")
