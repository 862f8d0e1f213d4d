"""``nanotwin fit``: refine a model against a measured pattern (a ``.gr`` file: see ``fit_pdf``)."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from nanotwin_core.cli.figure_options import add_figure_options, figure_layout_from_args
from nanotwin_core.cli.fit_output import fit_project, print_fit, write_fit_outputs
from nanotwin_core.cli.fit_pdf import FIT_FAILED, PDF_REFINE, run_pdf_fit
from nanotwin_core.cli.fit_series import SERIES_ONLY, add_series_options, run_series_fit
from nanotwin_core.cli.fit_setup import POWDER_REFINE, apply_fit_options, read_fit_data, warn
from nanotwin_core.cli.instrument_args import add_instrument_option, add_kalpha2_option, parse_zero
from nanotwin_core.cli.model_args import AUTO_POPULATION, model_from_args, wavelength_of
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
from nanotwin_core.figure_content import fit_figure_spec
from nanotwin_core.figures import figure_format, pattern_figure
from nanotwin_core.refine.texture_choice import AUTO_TEXTURE, fit_texture_axes
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
                         help=".xye/.xy/.dat/.chi or instrument (.xrdml, .ras, .fxye/.gsa) pattern, or a .gr "
                              "G(r) for a PDF fit; several files or a quoted glob ('series/*.xye', "
                              "natural sort) fit a data series")
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
                              "twin_density,cell,tilt,occupancy,chain,ligand "
                              f"[{POWDER_REFINE}]; cell = a_A, b_A, c_A (+-3 %%) and tilt = tilt_ab_deg, "
                              "tilt_c_deg (gamma CsPbX3, 0-25 degrees) for a single crystal (no --population "
                              "or mixture; not together), re-histogramming its stored pair table; "
                              "twin_density = the mean domain size domain_nm of the exact ensemble (--twin, "
                              "--domain-size start value; 0.75-1.35 x it); "
                              "occupancy = occ_GROUP (0-1) of the --occupancy groups, else of the surface "
                              "groups (*_surf) of non-Pb elements; chain = chain_beads; ligand = "
                              "ligand_shell_A, ligand_density; "
                              "PDF fits: scale,adp,expansion,qdamp,qbroad,delta1,delta2,"
                              f"size,spdiameter,twin_density [{PDF_REFINE}]")
        par.add_argument("--twin-states", metavar="NM,NM,...",
                         help="twin density as a mixture of states with these mean domain sizes (nm) "
                              "plus the untwinned crystal; use with --twin and --refine twin")
        par.add_argument("--twin-seeds", metavar="1-8", help="seeds of every twinned state [1-4]")
        par.add_argument("--background", metavar="chebyshev:N",
                         help="Chebyshev background of order N [chebyshev:4]")
        par.add_argument("--adp", metavar="GROUP=B,...", help="start B (Å^2) per ADP group or element")
        par.add_argument("--constrain", metavar="NAME=OTHER,...",
                         help="tie parameters: NAME=OTHER (equal) or NAME=fixed, e.g. B_S_surf=B_S")
        par.add_argument("--polarization", default=None, metavar="none|lab|sync[:F]|mono:2THETA_M",
                         help="polarization correction of 2theta data (mono:A: a tube behind a "
                              "monochromator at 2theta A deg) [the model file's, else lab (f = 0.5) "
                              "when the wavelength is a tube line (Cu, Mo, Ag, Co, Cr, Fe K-alpha1, K-alpha, "
                              "K-beta), else sync (f = 0.95)]; refused for Q data")
        par.add_argument("--caglioti", metavar="U,V,W", help="instrument resolution (deg^2), pseudo-Voigt")
        par.add_argument("--zero", type=parse_zero, default=None, metavar="DEG",
                         help="2theta zero shift in degrees, observed = true + zero (start value when "
                              "refined) [the model file's, else 0]")
        add_instrument_option(par)
        add_kalpha2_option(par)
        par.add_argument("--max-nfev", type=positive_int, default=None,
                         help="largest number of model evaluations [the model file's, else 200]")
        par.add_argument("--global-start", action="store_true",
                         help="search a coarse grid of the size parameters within their limits before "
                              "the refinement (5 values each)")
        par.add_argument("--global-time", type=positive_float, default=60.0, metavar="S",
                         help="time limit of --global-start in seconds [60]: the best point so far is kept")
        par.add_argument("--robustness", action="store_true",
                         help="refit with neighbouring choices (background order +-1, range start and end "
                              "shifted) and report the spread of the sizes beside their esds")
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
        pdf.add_argument("--pdf-weights", choices=("fq", "constant"), default="fq",
                         help="weights of the pairs: fq = Re(f_a f_b*)/<f>^2 at every Q (Faber-Ziman, as "
                              "simulate --pdf and PDFgetX3 data), constant = the factors at Q = 0 (~Z, "
                              "PDFgui) [fq]")
        out = parser.add_argument_group("output")
        out.add_argument("--out", required=True, metavar="PROJECT.h5",
                         help="project file with data, model, fit and the per-size Debye sums (reusable)")
        out.add_argument("--reuse", metavar="PROJECT.h5",
                         help="reuse the per-size Debye sums stored in a project of an earlier fit with the "
                              "same model, sizes and range (nothing is recomputed)")
        out.add_argument("--report", metavar="FILE.md", help="Markdown report")
        out.add_argument("--json", metavar="FILE", help="figures of merit, parameters and sizes as JSON")
        add_figure_options(out, figure_help=(
            "figure of the fit for a paper (.pdf/.png/.svg/.tif): observed with error bars, calculated, "
            "its parts and background, the difference, hkl ticks of every phase; for a data series "
            "the --plot figure [--out with .png]"))
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
        if args.texture and Path(items[0].path).suffix.lower() == ".gr":
            raise NanotwinError("texture is not available for PDF (G(r)) fits yet: leave out --texture")
        if (args.texture or "").strip().lower() == AUTO_TEXTURE and (args.series or len(items) > 1):
            raise NanotwinError("--texture auto is for one powder pattern; give the axis (--texture 110) "
                                "for a series")
        if args.series or len(items) > 1:
            return run_series_fit(args, outputs, items)
        given = [option for option, attr in SERIES_ONLY if getattr(args, attr)]
        if given:
            raise NanotwinError(f"{', '.join(given)}: for a data series (several --data files, a glob, or "
                                "--series LIST.txt)")
        args.data = items[0].path
        outputs.plan("--report", args.report, "report")
        if Path(args.data).suffix.lower() == ".gr":
            if args.figure:
                raise NanotwinError("--figure draws powder pattern fits; the G(r) fit's curves are in the "
                                    "project (open it in the window to export a figure)")
            if args.instrument or args.zero is not None:
                raise NanotwinError("--instrument and --zero describe 2theta patterns, not a G(r)")
            if args.workers or args.scheduler:
                raise NanotwinError("--workers/--scheduler: PDF fits run here (no database to spread)")
            return run_pdf_fit(args, outputs)
        outputs.plan("--figure", args.figure, "figure")
        if args.figure:
            figure_format(args.figure)
            figure_layout_from_args(args).inches()
        return run_pattern_fit(args, outputs)


def _assumed(data, wavelength_given: float | None, polarization: str | None = None) -> str:
    """One line: how the data's axis, wavelength (and a default ``polarization``) were read."""
    notes = list(data.notes)
    if wavelength_given is not None:
        notes.append(f"wavelength {wavelength_given:g} Å as given")
    elif data.wavelength is None and data.x_kind == "q":
        notes.append("no wavelength (Q data)")
    if polarization:
        notes.append(polarization)
    return "data: " + "; ".join(notes) if notes else "data: axis and wavelength as given"


def run_pattern_fit(args: argparse.Namespace, outputs: OutputFiles) -> int:
    """Read and check everything, refine, then write the project, JSON and report together."""
    from nanotwin_core.actions import (
        check_model_data,
        data_defaults,
        fit_model,
        fit_parts,
        fit_report,
        with_defaults,
    )
    from nanotwin_core.io.project import open_project
    from nanotwin_core.refine.database_store import size_databases_from_project

    t0 = time.perf_counter()
    say = (lambda text: None) if args.quiet else (lambda text: print(f"  {text}"))
    with open_mapper(args.workers, args.scheduler) as mapper:  # a local cluster starts meanwhile
        data, _blank = read_fit_data(args, args.data)
        model = model_from_args(args)
        polarization = apply_fit_options(args, model, data.x_kind, data.wavelength, data.header)
        say(_assumed(data, wavelength_of(args), polarization))
        if data.x_kind == "q" or data.wavelength:  # before any database: the Bragg positions decide
            warn(check_model_data(model, data).messages)
        auto_range = model.fit.q_range is None and model.fit.tth_range is None
        auto_population = (args.population or "").strip().lower() == AUTO_POPULATION
        if auto_range or auto_population:
            defaults = data_defaults(model, data, choose_range=auto_range, choose_population=auto_population,
                                     blank_x_kind=args.x)
            for reason in defaults.reasons:
                say(reason)
            model = with_defaults(model, defaults)
            say(f"fitted range Q = {model.fit.q_range[0]:.4g}-{model.fit.q_range[1]:.4g} 1/Å")
        databases = size_databases_from_project(open_project(args.reuse)) if args.reuse else {}
        reused = set(databases)
        with FractionBar("size database", quiet=args.quiet) as bar, \
                StepBar("refinement", quiet=args.quiet, unit="eval") as steps:
            def fit_one(m):
                return fit_model(m, data, blank_x_kind=args.x, progress=bar, databases=databases,
                                 callback=lambda _v, rwp: steps(f"Rwp = {rwp:.5f}"), mapper=mapper,
                                 auto_range=auto_range, global_start=args.global_start,
                                 global_time=args.global_time)

            if (args.texture or "").strip().lower() == AUTO_TEXTURE:
                problem, result, notes = fit_texture_axes(model, fit_one)
                result.messages.extend(notes)
            else:
                problem, result = fit_one(model)
    elapsed = time.perf_counter() - t0
    robustness = None
    if args.robustness:
        from nanotwin_core.refine.robustness import robustness_refits

        with FractionBar("robustness refits", quiet=args.quiet) as bar:
            robustness = robustness_refits(problem, result, databases=databases, progress=bar)
    project, summary, populations = fit_project(args, problem.model, data, problem, result, elapsed,
                                                robustness)
    if reused & set(project.cache_meta.get(k, {}).get("key") for k in project.cache_meta):
        print(f"  size database reused from {args.reuse}")
    print_fit(result, summary, populations, elapsed, robustness)
    figure = None
    if args.figure:
        spec = fit_figure_spec(
            data, fit_parts(problem, {p.name: p.value for p in result.params}), problem.model.phases(),
            title=f"{Path(args.data).name}: Rwp = {100 * result.rwp:.2f} %, GoF = {result.gof:.2f}",
            offset_difference=args.figure_difference == "offset")
        layout = figure_layout_from_args(args)
        figure = lambda path: pattern_figure(spec, path, layout)  # noqa: E731
    title = f"nanotwin fit of {Path(args.data).name}"
    write_fit_outputs(args, outputs, project, summary, lambda: fit_report(result, summary, title, robustness),
                      figure=figure)
    return FIT_FAILED if result.failed else 0
