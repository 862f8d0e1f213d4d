"""``--instrument FILE`` (GSAS-II .instprm or nanotwin .toml) on ``simulate`` and ``fit``: the file's
polarization, resolution, zero shift and K-alpha2, with every instrument option typed on the
command line winning over the file; one line says what was taken. ``--kalpha2 [RATIO[:LAMBDA2]]``
(fit, simulate, calibrate): a tube's K-alpha2 line; the polarization a 2theta file gets when
nobody gave one (``default_polarization``)."""

from __future__ import annotations

import argparse
from dataclasses import replace

from nanotwin_core.errors import NanotwinError
from nanotwin_core.io.instrument_file import InstrumentFile, read_instrument_file
from nanotwin_core.model_parts import Instrument
from nanotwin_core.scattering.lab_sources import KALPHA2_RATIO, source_polarization

__all__ = ["add_instrument_option", "add_kalpha2_option", "default_polarization", "instrument_with_file",
           "parse_kalpha2", "parse_zero", "with_kalpha2"]


def add_instrument_option(group) -> None:
    """--instrument FILE (to an argument group)."""
    group.add_argument("--instrument", metavar="FILE.instprm|FILE.toml",
                       help="instrument from a GSAS-II .instprm or a nanotwin .toml [instrument] (e.g. "
                            "from nanotwin calibrate): polarization, resolution, zero shift; options typed "
                            "here win")


def instrument_with_file(path: str, *, polarization: str | None = None,
                         caglioti: tuple[float, float, float] | None = None,
                         zero: float | None = None, kalpha2: str | None = None,
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
    if kalpha2 is not None:
        ins.kalpha2, ins.lambda2 = parse_kalpha2(kalpha2)
        kept.append("--kalpha2")
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


def add_kalpha2_option(group) -> None:
    """--kalpha2 [RATIO[:LAMBDA2]] (to an argument group)."""
    group.add_argument("--kalpha2", nargs="?", const=repr(KALPHA2_RATIO), default=None,
                       metavar="RATIO[:LAMBDA2]",
                       help="a lab tube's K-alpha2 line beside K-alpha1 (the data's wavelength): intensity "
                            f"ratio I(Ka2)/I(Ka1) [{KALPHA2_RATIO:g}] and its wavelength in Å [the tube's: "
                            "Cu 1.54439, Mo, Ag, Co, Cr, Fe from the K-alpha1]; 'off' = none (over an "
                            "--instrument file's)")


def parse_kalpha2(text: str) -> tuple[float | None, float | None]:
    """(ratio, lambda2 in Å or None) of '--kalpha2 RATIO[:LAMBDA2]'; (None, None) for 'off'."""
    text = str(text).strip()
    if text.lower() in ("off", "none", "0"):
        return None, None
    ratio_text, _, lam_text = text.partition(":")
    try:
        ratio = float(ratio_text)
        lambda2 = float(lam_text) if lam_text.strip() else None
    except ValueError:
        raise NanotwinError(f"--kalpha2 expects RATIO or RATIO:LAMBDA2 (numbers) or off, "
                            f"got {text!r}") from None
    return ratio, lambda2


def with_kalpha2(instrument: Instrument, text: str | None,
                 wavelength: float | None) -> tuple[Instrument, list[str]]:
    """``instrument`` with a typed --kalpha2 (None: as it is), checked against the data's
    ``wavelength`` (K-alpha1, Å), and a line saying what the doublet is (none without one)."""
    ins = instrument
    if text is not None:
        ratio, lambda2 = parse_kalpha2(text)
        ins = replace(instrument, kalpha2=ratio, lambda2=lambda2).validate()
    if ins.kalpha2 is None or not wavelength:
        return ins, []
    lam2 = ins.kalpha2_wavelength(wavelength)
    return ins, [f"instrument: K-alpha2 at {lam2:.7g} A with I(Ka2)/I(Ka1) = {ins.kalpha2:g} beside "
                 f"K-alpha1 {wavelength:.7g} A (the data's wavelength)"]


def default_polarization(x_kind: str, wavelength: float | None) -> tuple[str, str | None]:
    """The polarization of data nobody gave one for and why (None for Q data: no correction):
    a tube line's wavelength means a lab source ("lab"), anything else a synchrotron ("sync")."""
    if x_kind != "tth":
        return "none", None
    return source_polarization(wavelength)
