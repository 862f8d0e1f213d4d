"""``nanotwin simulate``: the powder pattern (and G(r)) of a model, an XYZ file or a population."""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from nanotwin_core._version import __version__
from nanotwin_core.cli.figure_options import add_figure_options, figure_layout_from_args
from nanotwin_core.cli.instrument_args import (
    add_instrument_option,
    add_kalpha2_option,
    instrument_with_file,
    with_kalpha2,
)
from nanotwin_core.cli.model_args import (
    build_from_args,
    describe_crystal,
    ensemble_from_args,
    grid_from_args,
    load_structure,
    low_q_from_args,
    model_from_args,
    model_header,
    radiation_from_args,
)
from nanotwin_core.cli.options import (
    add_grid_options,
    add_model_options,
    add_output_options,
    nonneg_float,
    parse_adp,
    positive_float,
)
from nanotwin_core.cli.outputs import OutputFiles
from nanotwin_core.cli.progress import FractionBar
from nanotwin_core.errors import NanotwinError
from nanotwin_core.figure_content import simulated_figure_spec
from nanotwin_core.figures import figure_format, pattern_figure
from nanotwin_core.io.data import write_gr, write_pattern
from nanotwin_core.io.xyz import read_xyz
from nanotwin_core.model_parts import Instrument, TextureSpec
from nanotwin_core.population.table import population_header
from nanotwin_core.refine.instrument import observed_pattern
from nanotwin_core.refine.small_angle_fit import CrystalTable, add_low_q_terms
from nanotwin_core.refine.texture_choice import texture_option
from nanotwin_core.scattering.polarization import polarization_fraction
from nanotwin_core.scattering.texture import textured_debye_intensity


class CLICommand:
    """powder pattern (and PDF) by the Debye scattering equation"""

    @staticmethod
    def add_arguments(parser: argparse.ArgumentParser) -> None:
        add_model_options(parser, max_atoms=True)
        parser.add_argument("--xyz", metavar="FILE", help="atoms from an XYZ file instead of a model")
        add_grid_options(parser)
        pdf = parser.add_argument_group("pair distribution function")
        pdf.add_argument("--pdf", metavar="FILE.gr", help="also write G(r) (needs --qmax and --rmax)")
        pdf.add_argument("--qmin", type=nonneg_float, default=0.0,
                         help="lower Q limit of the transform [0] 1/Å")
        pdf.add_argument("--qmax", type=positive_float, help="upper Q limit of the transform, 1/Å")
        pdf.add_argument("--rmax", type=positive_float, help="largest r, Å")
        pdf.add_argument("--rstep", type=positive_float, default=0.01, help="r step [0.01] Å")
        pdf.add_argument("--qdamp", type=nonneg_float, default=0.0,
                         help="Gaussian envelope exp(-(r qdamp)^2/2) [0] 1/Å")
        pdf.add_argument("--lorch", action="store_true", help="Lorch modification function")
        pdf.add_argument("--pdf-weights", choices=("fq", "constant"), default="fq",
                         help="weights of the pairs: fq = Re(f_a f_b*)/<f>^2 at every Q (Faber-Ziman), "
                              "constant = the factors at Q = 0 (~Z, PDFgui) [fq]; fit takes the same")
        pdf.add_argument("--pdf-keep-small-angle", action="store_true",
                         help="keep the particle's small-angle scattering in G(r) (the pure Debye G(r)); "
                              "by default it is left out, as measured G(r) lack it and fits model it")
        ins_group = parser.add_argument_group("instrument (2theta grids; --polarization other than none wins "
                                              "over the file)")
        add_instrument_option(ins_group)
        add_kalpha2_option(ins_group)
        out = parser.add_argument_group("output")
        out.add_argument("--out", required=True, metavar="FILE.xye", help="pattern: x, I columns")
        add_figure_options(out, figure_help="figure of the pattern for a paper (.pdf/.png/.svg/.tif) with "
                                            "the hkl ticks of every phase of the model")
        add_output_options(parser, out)

    @staticmethod
    def run(args: argparse.Namespace) -> int:
        outputs = OutputFiles(force=args.force, inputs=[("--xyz", args.xyz), ("--cif", args.cif),
                                                        ("--instrument", args.instrument)])
        outputs.plan("--out", args.out, "pattern")
        outputs.plan("--pdf", args.pdf, "gr")
        outputs.plan("--figure", args.figure, "figure")
        layout = figure_layout_from_args(args) if args.figure else None
        if args.figure:
            figure_format(args.figure)
            layout.inches()
        if args.pdf:
            if args.qmax is None or args.rmax is None:
                raise NanotwinError("--pdf needs --qmax Q and --rmax R")
            if args.population:
                raise NanotwinError("--pdf with --population is not supported: give one crystal for G(r)")
            if args.qmin >= args.qmax:
                raise NanotwinError(f"--qmin {args.qmin} must be below --qmax {args.qmax}")
        q, x, x_kind, wavelength = grid_from_args(args)
        instrument, said_instrument = _instrument(args, x_kind, wavelength)
        with outputs:
            if args.population:
                run = _simulate_population(args, outputs, x, x_kind, wavelength, instrument)
            else:
                run = _simulate_crystal(args, outputs, q, x, x_kind, wavelength, instrument)
            said, intensity, source = run
            if args.figure:
                spec = simulated_figure_spec(x, x_kind, wavelength, {"calculated": intensity},
                                             [] if args.xyz else model_from_args(args).phases(),
                                             q_range=(float(q.min()), float(q.max())),
                                             title=f"nanotwin simulate: {source}")
                outputs.stage("--figure", lambda path: pattern_figure(spec, path, layout))
                said.append(f"wrote {args.figure}")
            outputs.commit()
        print("\n".join(said_instrument + said))
        return 0


def _axis_lines(x_kind: str, wavelength: float | None, radiation) -> list[str]:
    from nanotwin_core.scattering.radiation import XRay

    energy = radiation.anomalous_energy if isinstance(radiation, XRay) else None
    wants_anomalous = isinstance(radiation, XRay) and radiation.anomalous
    return [
        f"axis: {'2theta (degrees)' if x_kind == 'tth' else 'Q (1/A)'}",
        f"wavelength: {wavelength:.8g} A" if wavelength else "wavelength: none",
        "anomalous: " + ("off" if energy is None else f"on at {energy:.5g} keV")
        + (" (no wavelength or energy given: f' = f'' = 0)" if energy is None and wants_anomalous else ""),
        f"radiation: {radiation.kind}",
    ]


def _instrument(args, x_kind: str, wavelength) -> tuple[Instrument | None, list[str]]:
    """The --instrument file's instrument (--polarization other than none over it, --kalpha2) and
    what was taken; a --kalpha2 alone: the --polarization and the doublet; (None, []) without
    either."""
    if not args.instrument and args.kalpha2 is None:
        return None, []
    if x_kind != "tth":
        option = f"--instrument {args.instrument}" if args.instrument else "--kalpha2"
        raise NanotwinError(f"{option}: needs a 2theta grid (--tth MIN:MAX:STEP)")
    if not args.instrument:
        return with_kalpha2(Instrument(polarization=args.polarization).validate(), args.kalpha2, wavelength)
    polarized = polarization_fraction(args.polarization) is not None
    ins, said = instrument_with_file(args.instrument, polarization=args.polarization if polarized else None,
                                     kalpha2=args.kalpha2, wavelength=wavelength)
    ins, doublet = with_kalpha2(ins, None, wavelength)
    return ins, said + doublet


def _simulate_crystal(args, outputs: OutputFiles, q, x, x_kind: str, wavelength,
                      instrument: Instrument | None):
    """Stage the pattern (and G(r)) of one crystal; returns the lines to print once written, the
    intensity and what was computed (one line)."""
    from nanotwin_core.scattering import compute_histograms, compute_pdf, debye_intensity, polarization_factor
    from nanotwin_core.structures.adp import adp_groups_of, check_adp_names

    radiation = radiation_from_args(args)
    adp = parse_adp(args.adp)
    texture = _texture_of(args)
    t0 = time.perf_counter()
    if args.ensemble and not args.xyz:
        with FractionBar("ensemble pair histograms", quiet=args.quiet) as bar:
            hist, source = ensemble_from_args(args, progress=bar)
        check_adp_names(adp, adp_groups_of(np.array([t.adp_group for t in hist.types]),
                                           np.array([t.element for t in hist.types])))
        n_atoms = int(round(hist.n_atoms))
    else:
        if args.xyz:
            crystal = read_xyz(args.xyz)
            source = f"xyz {args.xyz}"
        else:
            crystal = build_from_args(args)
            source = describe_crystal(crystal)
        check_adp_names(adp, adp_groups_of(crystal.adp_groups, crystal.elements))
        t0 = time.perf_counter()
        with FractionBar("pair histograms", quiet=args.quiet) as bar:
            hist = compute_histograms(crystal, n_threads=args.threads, progress=bar)
        n_atoms = crystal.n_atoms
    low_q = low_q_from_args(args)
    if low_q and (args.xyz or args.ensemble):
        raise NanotwinError("--chain and --ligand need one built crystal (its size along c), not --xyz "
                            "or --ensemble")

    def intensity_at(qq: np.ndarray) -> np.ndarray:
        if texture is not None:
            out = textured_debye_intensity(hist, qq, structure=load_structure(args), axis=texture.axis,
                                           ratio=texture.ratio, b_iso=adp, radiation=radiation)
        else:
            out = debye_intensity(hist, qq, b_iso=adp, radiation=radiation)
        if low_q:
            out = add_low_q_terms(out, qq, database=CrystalTable.of(hist, crystal), weights=np.ones(1),
                                  values=low_q, radiation=radiation, occupancy={},
                                  structure=load_structure(args), kind=None)
        return out

    if instrument is not None:  # zero shift, polarization and resolution of the file
        intensity, _ = observed_pattern(x, wavelength, instrument, intensity_at)
    else:
        intensity = intensity_at(q)
        if x_kind == "tth":
            intensity = intensity * polarization_factor(x, args.polarization)
    elapsed = time.perf_counter() - t0
    header = [
        f"nanotwin {__version__} simulate",
        f"model: {source}",
        *_axis_lines(x_kind, wavelength, radiation),
        f"adp (B, A^2): {json.dumps(adp) if adp else 'B = 0 for every group'}",
        *_instrument_header(args, instrument),
        *([f"small angle: {json.dumps(low_q)}"] if low_q else []),
        *([f"texture: {texture.label} r = {texture.ratio:g} (March-Dollase fibre texture, Bragg-Brentano)"]
          if texture is not None else []),
        f"atoms: {n_atoms}; pairs: {int(hist.n_pairs)}; time: {elapsed:.3f} s",
        f"columns: {'2theta' if x_kind == 'tth' else 'Q'} I",
    ]
    outputs.stage("--out", lambda path: write_pattern(path, x, intensity, header_lines=header))
    said = [f"wrote {args.out}: {len(x)} points, {n_atoms} atoms, {elapsed:.3f} s"
            + (" (ensemble average over random twin networks)" if args.ensemble and not args.xyz else "")]
    if args.pdf:
        r, g = compute_pdf(hist, qmin=args.qmin, qmax=args.qmax, rmax=args.rmax, rstep=args.rstep,
                           qdamp=args.qdamp, lorch=args.lorch, b_iso=adp, radiation=radiation,
                           weights=args.pdf_weights, baseline=not args.pdf_keep_small_angle)
        gr_header = header[:2] + [
            f"qmin = {args.qmin}", f"qmax = {args.qmax}", f"qdamp = {args.qdamp}", f"lorch = {args.lorch}",
            f"weights = {args.pdf_weights}",
            f"small_angle = {'kept' if args.pdf_keep_small_angle else 'removed (as measured G(r))'}",
            "columns: r (A) G(r) (1/A^2)",
        ]
        outputs.stage("--pdf", lambda path: write_gr(path, r, g, header_lines=gr_header))
        said.append(f"wrote {args.pdf}: {len(r)} points")
    return said, intensity, source


def _texture_of(args) -> TextureSpec | None:
    """--texture as a TextureSpec (None without it); refused where a texture cannot be computed."""
    if not getattr(args, "texture", None):
        return None
    what = ("an XYZ file (no lattice description)" if args.xyz else "twin ensembles" if args.ensemble
            else "twinned crystals" if args.twin else "the PDF (--pdf)" if args.pdf else None)
    if what is not None:
        raise NanotwinError(f"texture is not available for {what} yet: leave out --texture")
    return texture_option(args.texture, "simulate")


def _instrument_header(args, instrument: Instrument | None) -> list[str]:
    if instrument is None:
        return [f"polarization: {args.polarization}"]
    return [f"polarization: {instrument.polarization}",
            f"instrument: {args.instrument or 'typed'}: {json.dumps(instrument.to_dict(), sort_keys=True)}"]


def _simulate_population(args, outputs: OutputFiles, x, x_kind: str, wavelength,
                         instrument: Instrument | None):
    """The number-weighted mean pattern of a log-normal size population (the fits' size database):
    staged; returns the lines to print, the intensity and the population (one line)."""
    from nanotwin_core.actions import compute_pattern

    if args.xyz:
        raise NanotwinError("--population builds its crystals from a model: not with --xyz")
    model = model_from_args(args)
    model.texture = _texture_of(args)
    if instrument is not None:
        model.instrument = instrument
    else:
        model.instrument.polarization = args.polarization
    with FractionBar("size database", quiet=args.quiet) as bar:
        result = compute_pattern(model, x, x_kind=x_kind, wavelength=wavelength, progress=bar)
    info = result.info
    header = [
        f"nanotwin {__version__} simulate (population)",
        f"model: {model_header(model)}",
        *_axis_lines(x_kind, wavelength, model.radiation),
        *_instrument_header(args, instrument),
        f"population (number-based, nm): {population_header(model.population)}",
        f"size grid: {info['n_sizes']} crystals; intensity fraction left out "
        f"{info['intensity_fraction_out']:.2e}; time: {info['seconds']:.2f} s",
        "intensity: number-weighted mean per crystal (electrons^2 units)",
        f"columns: {'2theta' if x_kind == 'tth' else 'Q'} I",
        *(f"note: {message}" for message in result.messages),
    ]
    outputs.stage("--out", lambda path: write_pattern(path, x, result.intensity, header_lines=header))
    said = [f"wrote {args.out}: {len(x)} points, {info['n_sizes']} crystal sizes, {info['seconds']:.2f} s"]
    return said, result.intensity, f"{model.structure or 'model'}, {population_header(model.population)}"
