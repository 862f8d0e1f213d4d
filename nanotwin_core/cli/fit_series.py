"""``nanotwin fit`` of a data series: several --data files (or a glob), or --series LIST.txt.

Writes one project holding every fit (--out), the parameter table (--table, default beside
--out), the --json {"fits": [...]} and, with --plot, a figure of those columns against the
series value. A file that cannot be read or fitted is reported by name and keeps its row in the
table (status "failed: REASON"); the others are fitted. Exit code 0 when every file was fitted,
1 when some failed (the outputs are written all the same).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from nanotwin_core.cli.fit_output import json_default
from nanotwin_core.cli.fit_setup import apply_fit_options, read_fit_data, warn
from nanotwin_core.cli.model_args import model_from_args, wavelength_of
from nanotwin_core.cli.outputs import OutputFiles
from nanotwin_core.cli.progress import FractionBar
from nanotwin_core.distributed import open_mapper
from nanotwin_core.errors import NanotwinError
from nanotwin_core.io.atomic import atomic_write_text
from nanotwin_core.io.project import open_project, save_project
from nanotwin_core.refine.database_store import size_databases_from_project
from nanotwin_core.series import ReadOptions, SeriesItem, check_value_spec, run_series
from nanotwin_core.series_output import (
    check_plot_names,
    series_csv,
    series_figure,
    series_json,
    series_project,
)

#: options that only a series takes: (option, attribute)
SERIES_ONLY = (("--sequential", "sequential"), ("--independent", "independent"),
               ("--series-value", "series_value"), ("--table", "table"), ("--plot", "plot"))


def add_series_options(parser: argparse.ArgumentParser) -> None:
    """The options of a data series (the --data files or --series list)."""
    g = parser.add_argument_group("data series (several --data files, a quoted glob, or --series)")
    g.add_argument("--series", metavar="LIST.txt",
                   help="text file: one pattern file and an optional series value per line (# comments)")
    mode = g.add_mutually_exclusive_group()
    mode.add_argument("--sequential", action="store_true",
                      help="fit the files in order, each starting from the previous result [default]")
    mode.add_argument("--independent", action="store_true",
                      help="start every fit from the model (fits run in parallel with --workers/--scheduler)")
    g.add_argument("--series-value", metavar="REGEX|header:KEY",
                   help="series value (temperature, time) from the file name (REGEX: its first group, or "
                        "the match) or from a header line 'KEY = VALUE'")
    g.add_argument("--table", metavar="FILE.csv",
                   help="parameter table with esds, one row per file [--out with .csv]")
    g.add_argument("--plot", metavar="NAME,...",
                   help="figure of these table columns against the series value, e.g. a_A,B_X_ax,D_nm")


def _print_series(result) -> None:
    for fit in result.fits:
        name = Path(fit.path).name
        value = "" if fit.value is None else f" {fit.value:g}"
        if fit.ok:
            print(f"  {name}{value}: Rwp = {fit.summary['rwp']:.4f}  GoF = {fit.summary['gof']:.3f}")
        else:
            print(f"  {name}{value}: {fit.status}")
    n_ok = sum(f.ok for f in result.fits)
    print(f"{n_ok}/{len(result.fits)} fits ({result.mode}, {result.n_workers} worker"
          f"{'s' if result.n_workers > 1 else ''}) in {result.seconds:.1f} s")


def _first_data(args: argparse.Namespace, items: list[SeriesItem]):
    """The first file that reads (its axis sets the default polarization, the blank is checked
    against it, the model is checked against its peaks); when none reads, the first file's error
    is raised."""
    first_error = None
    for item in items:
        try:
            return read_fit_data(args, item.path, warn_data=False)[0]
        except NanotwinError as exc:
            if args.blank and args.blank in str(exc):
                raise
            first_error = first_error or exc
    raise first_error


def run_series_fit(args: argparse.Namespace, outputs: OutputFiles, items: list[SeriesItem]) -> int:
    """Check everything, fit the series, then write project, table, JSON and figure together."""
    if any(Path(item.path).suffix.lower() == ".gr" for item in items):
        raise NanotwinError("a data series fits powder patterns; .gr (PDF) files are fitted one at a time")
    if args.report:
        raise NanotwinError("--report is for one fit; a series writes its table (--table) and --json")
    check_value_spec(args.series_value)
    out = Path(args.out)
    outputs.plan("--table", args.table or str(out.with_suffix(".csv")), "table")
    names = [n.strip() for n in (args.plot or "").split(",") if n.strip()]
    if args.figure and not names:
        raise NanotwinError("--figure needs --plot NAME,... (the columns to draw)")
    if names:
        outputs.plan("--figure", args.figure or str(out.with_suffix(".png")), "figure")
    with open_mapper(args.workers, args.scheduler) as mapper:  # a local cluster starts meanwhile
        model = model_from_args(args)
        first = _first_data(args, items)
        said = apply_fit_options(args, model, first.x_kind, first.wavelength, first.header)
        if said and not args.quiet:
            print(f"  data: {said}")
        if first.x_kind == "q" or first.wavelength:  # as one fit: the Bragg positions, before any database
            from nanotwin_core.actions import check_model_data

            warn(check_model_data(model, first).messages)
        databases = size_databases_from_project(open_project(args.reuse)) if args.reuse else {}
        mode = "independent" if args.independent else "sequential"
        with FractionBar("series", quiet=args.quiet) as bar:
            result = run_series(model, items, mode=mode, read=ReadOptions(args.x, wavelength_of(args)),
                                value_spec=args.series_value, mapper=mapper, databases=databases,
                                progress=bar)
    for fit in result.fits:
        warn(fit.warnings)
        if not fit.ok:
            warn([fit.status if fit.path in fit.status else f"{fit.path}: {fit.status}"])
    _print_series(result)
    if names:
        try:
            check_plot_names(result, names)
        except NanotwinError as exc:  # the fits are done: write everything else, say why no figure
            warn([f"{exc}; no figure written"])
            names = []
            outputs.drop("--figure")
    project = series_project(result, model.to_dict())
    with outputs:
        outputs.stage("--out", lambda path: save_project(project, path))
        table = series_csv(result)
        outputs.stage("--table", lambda path: atomic_write_text(path, table))
        if args.json:
            text = json.dumps(series_json(result), indent=2, default=json_default)
            outputs.stage("--json", lambda path: atomic_write_text(path, text))
        if names:
            outputs.stage("--figure", lambda path: series_figure(result, names, path))
        for path in outputs.commit():
            print(f"wrote {path}")
    return 0 if all(f.ok for f in result.fits) else 1
