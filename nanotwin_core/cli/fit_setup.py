"""``nanotwin fit`` options into core objects: the fit settings of the model, the data read and
checked (one pattern, or the first readable one of a series), warnings on stderr."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from nanotwin_core.cli.instrument_args import default_polarization, instrument_with_file, with_kalpha2
from nanotwin_core.cli.model_args import wavelength_of
from nanotwin_core.cli.options import parse_floats, parse_range
from nanotwin_core.cli.surface_values import parse_constraints
from nanotwin_core.errors import NanotwinError
from nanotwin_core.io.data import PatternData, read_pattern
from nanotwin_core.io.import_guess import read_pattern_guessed
from nanotwin_core.io.pattern_checks import check_blank, check_pattern
from nanotwin_core.io.vendor_formats import declared_kalpha2
from nanotwin_core.refine.texture_choice import texture_option

POWDER_REFINE = "scale,background,adp,size"


def warn(messages: list[str]) -> None:
    """Print each warning on its own line on stderr."""
    for message in messages:
        print(f"nanotwin: warning: {message}", file=sys.stderr)


def apply_fit_options(args: argparse.Namespace, model, x_kind: str, wavelength: float | None = None,
                      header: list[str] | None = None) -> str | None:
    """The model's instrument and fit settings (all checked before computing): a model file's
    ``[fit]`` and ``[instrument]``, else the defaults (polarization of 2theta data ``x_kind ==
    "tth"`` from the ``wavelength``: lab for a tube line, else sync; none for Q); an
    ``--instrument`` file replaces the instrument (its lines printed; ``wavelength``: the
    data's, checked against the file's); every option given overrides its part (``--texture``
    the model's texture). Returns the reason for a default polarization (None when given or not
    applicable). A data ``header`` stating a K-alpha doublet (``io.vendor_formats.declared_kalpha2``)
    gives the default doublet."""
    from nanotwin_core.model import FitSpec, Instrument

    said_polarization = None
    if not args.model:
        model.fit = FitSpec(refine=POWDER_REFINE.split(","))
        polarization, said_polarization = default_polarization(x_kind, wavelength)
        model.instrument = Instrument(polarization=polarization)
    if getattr(args, "instrument", None):
        if x_kind != "tth":
            raise NanotwinError(f"--instrument {args.instrument}: the data are on a Q axis; an instrument "
                                "file describes 2theta data")
        caglioti = parse_floats(args.caglioti, "--caglioti U,V,W (deg^2)", 3) if args.caglioti else None
        model.instrument, said = instrument_with_file(args.instrument, polarization=args.polarization,
                                                      caglioti=caglioti, zero=args.zero,
                                                      wavelength=wavelength)
        print("\n".join(said))
        said_polarization = None
    elif getattr(args, "zero", None) is not None:
        model.instrument.zero = args.zero
    if getattr(args, "kalpha2", None) is not None and x_kind != "tth":
        raise NanotwinError("--kalpha2: the data are on a Q axis; a K-alpha2 line shows in 2theta data")
    doublet = declared_kalpha2(header or [])
    if doublet and x_kind == "tth" and not args.model and not getattr(args, "instrument", None) \
            and getattr(args, "kalpha2", None) is None:
        model.instrument.kalpha2, model.instrument.lambda2 = doublet
        print("  instrument: the data file says its beam holds the K-alpha doublet: K-alpha2 modelled "
              "(--kalpha2 off to leave it out)")
    model.instrument, said = with_kalpha2(model.instrument, getattr(args, "kalpha2", None), wavelength)
    if said:
        print("\n".join(said))
    fit, ins = model.fit, model.instrument
    if args.background:
        kind, _, n = args.background.partition(":")
        if kind != "chebyshev" or not n.isdigit():
            raise NanotwinError(f"--background must look like chebyshev:N, got {args.background!r}")
        fit.background_order = int(n)
    if args.refine:
        fit.refine = [r.strip() for r in args.refine.split(",") if r.strip()]
    if args.caglioti:
        ins.caglioti = tuple(parse_floats(args.caglioti, "--caglioti U,V,W (deg^2)", 3))
        ins.lorentzian = None  # a typed --caglioti is the pseudo-Voigt profile
    if args.polarization is not None:
        ins.polarization = args.polarization
        said_polarization = None
    if args.range or args.tth_range:
        fit.q_range = parse_range(args.range, 2, "--range") if args.range else None
        fit.tth_range = parse_range(args.tth_range, 2, "--tth-range") if args.tth_range else None
    if args.blank:
        fit.blank = str(Path(args.blank).resolve())
    if args.max_nfev is not None:
        fit.max_nfev = args.max_nfev
    fit.constraints.update(parse_constraints(args.constrain))
    if args.texture:  # overrides a model file's texture; "auto": nanotwin fit tries the axes
        model.texture = texture_option(args.texture, "fit")
    model.validate()
    return said_polarization


def read_fit_data(args: argparse.Namespace, path: str, *,
                  warn_data: bool = True) -> tuple[PatternData, PatternData | None]:
    """The pattern ``path`` and the blank, checked for axis, wavelength and polarization
    (``warn_data``: print the pattern's own warnings; a series prints them per file)."""
    from nanotwin_core.scattering.polarization import polarization_fraction

    if args.xyz or args.rrange:
        raise NanotwinError("--xyz and --rrange are for PDF fits (a .gr data file)")
    wavelength = wavelength_of(args)
    data = read_pattern_guessed(path, x_kind=args.x, wavelength=wavelength)
    if warn_data:
        warn(check_pattern(data, x_kind_given=args.x, wavelength_given=wavelength))
    if args.polarization is not None and data.x_kind == "q" and \
            polarization_fraction(args.polarization) is not None:
        raise NanotwinError(f"--polarization {args.polarization}: {path} is on a Q axis, taken as "
                            "already corrected; the polarization factor applies to 2theta data")
    blank = None
    if args.blank:
        blank = read_pattern(args.blank, x_kind=args.x)
        if blank.wavelength is None:
            blank.wavelength = data.wavelength
        warn(check_blank(blank, data))
    return data, blank
