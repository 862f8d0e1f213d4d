"""``nanotwin calibrate``: the instrument (Caglioti U, V, W, zero; optional Lorentzian X, Y and the
wavelength) from a 2theta pattern of a line standard (Si, LaB6, CeO2 or any CIF).

Writes the instrument as a GSAS-II ``.instprm`` or a nanotwin ``.toml`` (``--out``), a Markdown
report and a JSON summary; exit status 3 when the pattern does not fit as the calibrant.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from nanotwin_core._version import __version__
from nanotwin_core.cli.instrument_args import add_kalpha2_option, parse_kalpha2
from nanotwin_core.cli.model_args import wavelength_of
from nanotwin_core.cli.options import add_output_options, nonneg_int, parse_range, positive_float
from nanotwin_core.cli.outputs import OutputFiles
from nanotwin_core.cli.progress import FractionBar
from nanotwin_core.errors import NanotwinError
from nanotwin_core.io.atomic import atomic_write_text
from nanotwin_core.io.instrument_file import write_instprm, write_instrument_toml
from nanotwin_core.refine.calibrant import CalibrantFitError, CalibrantResult, calibrate_pattern_file
from nanotwin_core.scattering.polarization import polarization_fraction
from nanotwin_core.structures.calibrants import calibrant_names, calibrant_structure

EXIT_CALIBRANT_FAILED = 3  # the pattern did not fit as the calibrant (as a fit that gave no result)


class CLICommand:
    """instrument resolution and zero shift from a calibrant pattern (Si, LaB6, CeO2, CIF)"""

    @staticmethod
    def add_arguments(parser: argparse.ArgumentParser) -> None:
        dat = parser.add_argument_group("calibrant pattern")
        dat.add_argument("--data", required=True, metavar="FILE", help="2theta pattern of the standard")
        dat.add_argument("--calibrant", required=True, metavar="NAME|FILE.cif",
                         help=f"the standard: {', '.join(calibrant_names())} (NIST certified cells) or a CIF")
        dat.add_argument("--cell", type=positive_float, metavar="Å",
                         help="lattice parameter of a built-in calibrant instead of the certified one "
                              "(e.g. 5.431179 for Si SRM 640e)")
        rad = dat.add_mutually_exclusive_group()
        rad.add_argument("--wavelength", type=positive_float, metavar="Å",
                         help="wavelength [the file's header]")
        rad.add_argument("--energy", type=positive_float, metavar="KEV", help="photon energy in keV")
        dat.add_argument("--range", metavar="MIN:MAX", help="fitted 2theta range in degrees [all]")
        fit = parser.add_argument_group("what is fitted")
        fit.add_argument("--lorentzian", action="store_true",
                         help="also fit Lorentzian X, Y (FWHM X/cos t + Y tan t; TCH with the Gaussian "
                              "Caglioti terms); without it: one pseudo-Voigt of mixing 0.5, as --caglioti")
        fit.add_argument("--refine-wavelength", action="store_true",
                         help="refine the wavelength too (a certified standard fixes it)")
        fit.add_argument("--background", type=nonneg_int, default=6, metavar="N",
                         help="Chebyshev background order [6]")
        fit.add_argument("--polarization", default=None, metavar="none|lab|sync[:F]|mono:2THETA_M",
                         help="polarization written with the instrument (not fitted) [lab when the "
                              "wavelength is a tube line, else sync]")
        add_kalpha2_option(fit)
        out = parser.add_argument_group("output")
        out.add_argument("--out", metavar="FILE.instprm|FILE.toml",
                         help="the instrument: GSAS-II .instprm or nanotwin .toml (use with --instrument)")
        out.add_argument("--report", metavar="FILE.md", help="Markdown report")
        out.add_argument("--json", metavar="FILE", help="values, esds and figures of merit as JSON")
        add_output_options(parser, out)

    @staticmethod
    def run(args: argparse.Namespace) -> int:
        if args.polarization is not None:
            polarization_fraction(args.polarization)
        if args.out and Path(args.out).suffix.lower() not in (".instprm", ".toml"):
            raise NanotwinError(f"--out {args.out}: give a .instprm (GSAS-II) or .toml (nanotwin) file name")
        outputs = OutputFiles(force=args.force,
                              inputs=[("--data", args.data), ("--calibrant", args.calibrant)])
        outputs.plan("--out", args.out, "instrument")
        outputs.plan("--report", args.report, "report")
        outputs.plan("--json", args.json, "json")
        structure = calibrant_structure(args.calibrant, a=args.cell)
        tth_range = parse_range(args.range, 2, "--range") if args.range else None
        t0 = time.perf_counter()
        try:
            with FractionBar("calibrant fit", quiet=args.quiet) as bar:
                result = calibrate_pattern_file(args.data, args.calibrant, wavelength_of(args),
                                                cell=args.cell, tth_range=tth_range,
                                                lorentzian=args.lorentzian,
                                                refine_wavelength=args.refine_wavelength,
                                                background_order=args.background,
                                                polarization=args.polarization, progress=bar,
                                                **kalpha2_options(args.kalpha2))
        except CalibrantFitError as exc:
            print(f"nanotwin: calibrant fit failed: {exc}", file=sys.stderr)
            return EXIT_CALIBRANT_FAILED
        elapsed = time.perf_counter() - t0
        lines = result.lines() + [f"time: {elapsed:.2f} s"] + [f"note: {m}" for m in result.messages]
        with outputs:
            if args.out:
                comment = (f"calibrant {result.calibrant} ({structure.source}); "
                           f"data {Path(args.data).name}; Rwp {result.rwp:.4f}")
                writer = write_instprm if Path(args.out).suffix.lower() == ".instprm" else \
                    (lambda path, ins, wl, comment: write_instrument_toml(path, ins, wl))
                outputs.stage("--out", lambda path: writer(path, result.instrument, result.wavelength,
                                                           comment=comment))
            if args.json:
                text = json.dumps(calibration_summary(result, args.data, elapsed), indent=2)
                outputs.stage("--json", lambda path: atomic_write_text(path, text))
            if args.report:
                report = calibration_report(result, args.data, structure.source)
                outputs.stage("--report", lambda path: atomic_write_text(path, report))
            written = outputs.commit()
        print("\n".join(lines + [f"wrote {path}" for path in written]))
        print(usage_hint(result, args.out))
        return 0


def kalpha2_options(text: str | None) -> dict:
    """``fit_calibrant``'s kalpha2, lambda2 from a typed --kalpha2 (none without)."""
    if text is None:
        return {}
    ratio, lambda2 = parse_kalpha2(text)
    return {"kalpha2": ratio, "lambda2": lambda2}


def usage_hint(result: CalibrantResult, out: str | None) -> str:
    """How to use the instrument in a fit: the file, or the numbers typed."""
    ins = result.instrument
    typed = f"--caglioti {','.join(repr(v) for v in ins.caglioti)} --zero {ins.zero!r}"
    if out:
        return f"use it: nanotwin fit ... --instrument {out}   (or: {typed})"
    if ins.lorentzian is not None:
        return ("use it: write it with --out FILE.instprm, then nanotwin fit ... --instrument "
                f"FILE.instprm ({typed} leaves out X, Y)")
    return f"use it: nanotwin fit ... {typed}"


def calibration_summary(result: CalibrantResult, data: str, elapsed: float) -> dict:
    """The --json document: values, esds, figures of merit, the instrument as a model table."""
    return {"nanotwin": __version__, "command": "calibrate", "data": str(data), "calibrant": result.calibrant,
            "n_points": result.n_points, "n_peaks": result.n_peaks, "n_peaks_seen": result.n_peaks_seen,
            "tth_range": list(result.tth_range), "rwp": result.rwp, "rexp": result.rexp, "gof": result.gof,
            "wavelength": result.wavelength, "wavelength_refined": result.wavelength_refined,
            "parameters": {k: {"value": v, "esd": result.esd.get(k)} for k, v in result.values().items()},
            "instrument": result.instrument.to_dict(), "messages": result.messages, "seconds": elapsed}


def calibration_report(result: CalibrantResult, data: str, source: str) -> str:
    """Markdown report of a calibrant fit."""
    units = {"U": "deg²", "V": "deg²", "W": "deg²", "zero": "°", "X": "°", "Y": "°", "wavelength": "Å"}
    rows = [f"| {k} | {v:.8g} | {result.esd.get(k, float('nan')):.2g} | {units[k]} |"
            for k, v in result.values().items()]
    return "\n".join([
        f"# nanotwin {__version__} calibrant fit", "",
        f"- data: `{data}`", f"- calibrant: {result.calibrant} ({source})",
        f"- 2θ range: {result.tth_range[0]:g}–{result.tth_range[1]:g}°, {result.n_points} points; "
        f"{result.n_peaks_seen} of {result.n_peaks} reflections seen",
        f"- wavelength: {result.wavelength:.8g} Å ({'refined' if result.wavelength_refined else 'fixed'})",
        f"- Rwp {result.rwp:.4f}, Rexp {result.rexp:.4f}, GoF {result.gof:.3f}", "",
        "| parameter | value | esd | unit |", "|---|---|---|---|", *rows, "",
        "Profile: " + ("Thompson-Cox-Hastings of the Gaussian Caglioti FWHM² = U tan²θ + V tanθ + W and "
                       "a Lorentzian FWHM X/cosθ + Y tanθ" if result.instrument.lorentzian is not None else
                       "pseudo-Voigt of mixing 0.5 with FWHM² = U tan²θ + V tanθ + W"),
        *(f"- note: {m}" for m in result.messages), ""])
