"""``nanotwin fit``: refine a model against a measured pattern (a ``.gr`` file: see ``fit_pdf``)."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from nanotwin_core.cli.fit_output import fit_project, fit_report, print_fit, write_fit_outputs
from nanotwin_core.cli.fit_pdf import PDF_REFINE, run_pdf_fit
from nanotwin_core.cli.fit_series import SERIES_ONLY, add_series_options, run_series_fit
from nanotwin_core.cli.fit_setup import POWDER_REFINE, apply_fit_options, read_fit_data
from nanotwin_core.cli.instrument_args import add_instrument_option, parse_zero
from nanotwin_core.cli.model_args import model_from_args
from nanotwin_core.cli.options import (
    add_cluster_options,
    add_model_options,
    add_output_options,
    add_radiation_options,
    nonneg_float,
    positive_float,
    positive_int,
)
from nanotwin_core.cli.outputs import OutputFiles
from nanotwin_core.cli.progress import FractionBar, StepBar
from nanotwin_core.distributed import open_mapper
from nanotwin_core.errors import NanotwinError
from nanotwin_core.series import read_series_list, series_from_patterns


class CLICommand:
    """refine a model against a measured pattern or G(r)"""

    @staticmethod
    def add_arguments(parser: argparse.ArgumentParser) -> None:
        add_model_options(parser)
        src = parser.add_argument_group("model source (instead of the MODEL options)")
        src.add_argument("--model", metavar="FILE.toml", help="model file (see README)")
        src.add_argument("--demo", metavar="NAME", help="start from a demo's model")
        dat = parser.add_argument_group("data")
        dat.add_argument("--data", nargs="+", metavar="FILE",
                         help=".xye/.xy/.dat/.chi pattern, or a .gr G(r) for a PDF fit; several files or a "
                              "quoted glob ('series/*.xye', natural sort) fit a data series")
        dat.add_argument("--x", choices=("tth", "q"),
                         help="what the first column is, for files without a header")
        add_radiation_options(dat)
        dat.add_argument("--blank", metavar="FILE", help="solvent/capillary pattern, scaled as a background")
        rng = dat.add_mutually_exclusive_group()
        rng.add_argument("--range", metavar="QMIN:QMAX", help="fitted Q range (1/Å)")
        rng.add_argument("--tth-range", metavar="MIN:MAX", help="fitted 2theta range (degrees)")
        par = parser.add_argument_group("refinement")
        par.add_argument("--refine", default=None,
                         help="what to refine: scale,background,adp,size,expansion,zero,fractions,twin,"
                              "twin_density,cell,tilt "
                              f"[{POWDER_REFINE}]; cell = a_A, b_A, c_A (+-3 %%) and tilt = tilt_ab_deg, "
                              "tilt_c_deg (gamma CsPbX3, 0-25 degrees) for a single crystal (no --population "
                              "or mixture; not together), re-histogramming its stored pair table; "
                              "twin_density = the mean domain size domain_nm of the exact ensemble (--twin, "
                              "--domain-size start value; 0.75-1.35 x it); "
                              "PDF fits: scale,adp,expansion,qdamp,qbroad,delta1,delta2,"
                              f"size,spdiameter [{PDF_REFINE}]")
        par.add_argument("--twin-states", metavar="NM,NM,...",
                         help="twin density as a mixture of states with these mean domain sizes (nm) "
                              "plus the untwinned crystal; use with --twin and --refine twin")
        par.add_argument("--twin-seeds", metavar="1-8", help="seeds of every twinned state [1-4]")
        par.add_argument("--background", metavar="chebyshev:N",
                         help="Chebyshev background of order N [chebyshev:4]")
        par.add_argument("--adp", metavar="GROUP=B,...", help="start B (Å^2) per ADP group or element")
        par.add_argument("--polarization", default=None, metavar="none|lab|sync[:F]",
                         help="polarization correction of 2theta data [the model file's, else sync]; "
                              "refused for Q data")
        par.add_argument("--caglioti", metavar="U,V,W", help="instrument resolution (deg^2), pseudo-Voigt")
        par.add_argument("--zero", type=parse_zero, default=None, metavar="DEG",
                         help="2theta zero shift in degrees, observed = true + zero (start value when "
                              "refined) [the model file's, else 0]")
        add_instrument_option(par)
        par.add_argument("--max-nfev", type=positive_int, default=None,
                         help="largest number of model evaluations [the model file's, else 200]")
        pdf = parser.add_argument_group("PDF fits (--data FILE.gr)")
        pdf.add_argument("--xyz", metavar="FILE", help="model atoms from an XYZ file instead of a structure")
        pdf.add_argument("--rrange", action="append", metavar="RMIN:RMAX",
                         help="fitted r range in Å [1:20]; repeat it or give a comma list for "
                              "range-resolved fits (one refinement per range)")
        pdf.add_argument("--qmin", type=nonneg_float, default=None,
                         help="lower Q of the data's transform, 1/Å [header, else 0]; removes the "
                              "small-angle scattering of the model as in the data")
        pdf.add_argument("--qmax", type=positive_float, default=None,
                         help="upper Q of the data's transform (termination ripples), 1/Å [header]")
        pdf.add_argument("--qdamp", type=nonneg_float, default=0.0,
                         help="Q resolution envelope exp(-(qdamp r)^2/2), start value [0] 1/Å")
        pdf.add_argument("--qbroad", type=nonneg_float, default=0.0,
                         help="peak broadening sigma^2 (1 + qbroad^2 r^2), start value [0] 1/Å")
        pdf.add_argument("--delta2", type=nonneg_float, default=0.0,
                         help="correlated motion sigma^2 (1 - delta2/r^2), start value [0] Å^2")
        pdf.add_argument("--spdiameter", type=positive_float, default=None,
                         help="spherical envelope diameter (PDFgui), Å [none]")
        out = parser.add_argument_group("output")
        out.add_argument("--out", required=True, metavar="PROJECT.h5",
                         help="project file with data, model, fit and the per-size Debye sums (reusable)")
        out.add_argument("--reuse", metavar="PROJECT.h5",
                         help="reuse the per-size Debye sums stored in a project of an earlier fit with the "
                              "same model, sizes and range (nothing is recomputed)")
        out.add_argument("--report", metavar="FILE.md", help="Markdown report")
        out.add_argument("--json", metavar="FILE", help="figures of merit, parameters and sizes as JSON")
        add_output_options(parser, out)
        add_series_options(parser)
        add_cluster_options(parser.add_argument_group("where the work runs (Dask)"))

    @staticmethod
    def run(args: argparse.Namespace) -> int:
        if bool(args.data) == bool(args.series):
            raise NanotwinError("give the pattern(s) with --data FILE... or a series list with "
                                "--series LIST.txt")
        items = read_series_list(args.series) if args.series else series_from_patterns(args.data)
        inputs = [("--data", item.path) for item in items] + [
            ("--series", args.series), ("--blank", args.blank), ("--model", args.model), ("--cif", args.cif),
            ("--instrument", args.instrument),
            ("--xyz", args.xyz), ("--reuse", args.reuse)]
        outputs = OutputFiles(force=args.force, inputs=inputs)
        outputs.plan("--out", args.out, "project")
        outputs.plan("--json", args.json, "json")
        if args.series or len(items) > 1:
            return run_series_fit(args, outputs, items)
        given = [option for option, attr in SERIES_ONLY if getattr(args, attr)]
        if given:
            raise NanotwinError(f"{', '.join(given)}: for a data series (several --data files, a glob, or "
                                "--series LIST.txt)")
        args.data = items[0].path
        outputs.plan("--report", args.report, "report")
        if Path(args.data).suffix.lower() == ".gr":
            if args.instrument or args.zero is not None:
                raise NanotwinError("--instrument and --zero describe 2theta patterns, not a G(r)")
            if args.workers or args.scheduler:
                raise NanotwinError("--workers/--scheduler: PDF fits run here (no database to spread)")
            return run_pdf_fit(args, outputs)
        return run_pattern_fit(args, outputs)


def run_pattern_fit(args: argparse.Namespace, outputs: OutputFiles) -> int:
    """Read and check everything, refine, then write the project, JSON and report together."""
    from nanotwin_core.actions import fit_model
    from nanotwin_core.io.project import open_project
    from nanotwin_core.refine.database_store import size_databases_from_project

    t0 = time.perf_counter()
    with open_mapper(args.workers, args.scheduler) as mapper:  # a local cluster starts meanwhile
        data, _blank = read_fit_data(args, args.data)
        model = model_from_args(args)
        apply_fit_options(args, model, data.x_kind, data.wavelength)
        databases = size_databases_from_project(open_project(args.reuse)) if args.reuse else {}
        reused = set(databases)
        with FractionBar("size database", quiet=args.quiet) as bar, \
                StepBar("refinement", quiet=args.quiet, unit="eval") as steps:
            problem, result = fit_model(model, data, blank_x_kind=args.x, progress=bar, databases=databases,
                                        callback=lambda _v, rwp: steps(f"Rwp = {rwp:.5f}"), mapper=mapper)
    elapsed = time.perf_counter() - t0
    project, summary, populations = fit_project(args, model, data, problem, result, elapsed)
    if reused & set(project.cache_meta.get(k, {}).get("key") for k in project.cache_meta):
        print(f"  size database reused from {args.reuse}")
    print_fit(result, summary, populations, elapsed)
    write_fit_outputs(args, outputs, project, summary,
                      lambda: fit_report(result, summary, populations, Path(args.data).name))
    return 0
