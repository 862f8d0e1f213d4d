"""``--instrument FILE`` (GSAS-II .instprm or nanotwin .toml) on ``simulate`` and ``fit``: the file's
polarization, resolution and zero shift, with every instrument option typed on the command line
winning over the file; one line says what was taken."""

from __future__ import annotations

import argparse
from dataclasses import replace

from nanotwin_core.io.instrument_file import InstrumentFile, read_instrument_file
from nanotwin_core.model_parts import Instrument

__all__ = ["add_instrument_option", "instrument_with_file", "parse_zero"]


def add_instrument_option(group) -> None:
    """--instrument FILE (to an argument group)."""
    group.add_argument("--instrument", metavar="FILE.instprm|FILE.toml",
                       help="instrument from a GSAS-II .instprm or a nanotwin .toml [instrument] (e.g. "
                            "from nanotwin calibrate): polarization, resolution, zero shift; options typed "
                            "here win")


def instrument_with_file(path: str, *, polarization: str | None = None,
                         caglioti: tuple[float, float, float] | None = None,
                         zero: float | None = None,
                         wavelength: float | None = None) -> tuple[Instrument, list[str]]:
    """The file's instrument (it replaces a model file's as a whole) with the typed options (not
    None) over it.

    A typed Caglioti U, V, W is the pseudo-Voigt profile of ``--caglioti``: the file's Lorentzian
    X, Y are dropped with it. Returns the instrument and lines saying what was taken (and a
    warning line when the file's wavelength differs from the data's ``wavelength`` in Å).
    """
    got: InstrumentFile = read_instrument_file(path)
    ins = replace(got.instrument)
    kept = []
    if polarization is not None:
        ins.polarization = polarization
        kept.append("--polarization")
    if caglioti is not None:
        ins.caglioti, ins.lorentzian = tuple(caglioti), None
        kept.append("--caglioti (pseudo-Voigt; the file's X, Y dropped)" if got.instrument.lorentzian
                    else "--caglioti")
    if zero is not None:
        ins.zero = float(zero)
        kept.append("--zero")
    ins = ins.validate()
    lines = [f"instrument: from {path}: {got.summary()}"
             + (f"; typed {', '.join(kept)} kept" if kept else "")]
    lines += [f"instrument: note: {note}" for note in got.notes]
    if wavelength and got.wavelength and abs(got.wavelength / wavelength - 1) > 1e-5:
        lines.append(f"instrument: warning: the file was calibrated at {got.wavelength:.8g} A, the data "
                     f"are at {wavelength:.8g} A: its zero and widths may not apply")
    return ins, lines


def parse_zero(text: str) -> float:
    """argparse type of --zero: a 2theta zero shift in degrees."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of degrees, got {text!r}") from None
    return value
