"""Instrument files: GSAS-II ``.instprm`` and nanotwin TOML ``[instrument]`` tables.

GSAS-II constant-wavelength parameters (checked in GSAS-II's source: GSASIIpwd ``getCWsig`` and
``getCWgam``, GSASIIlattice ``Dsp2pos``, GSASIIpwd ``Polarization``): the Gaussian variance
sigma^2 = U tan^2 t + V tan t + W in centidegrees^2 and the Lorentzian FWHM gamma = X / cos t +
Y tan t (+ Z in recent versions) in centidegrees, t = theta; ``Zero`` in degrees of 2theta
(position = 2 asin(lambda / 2d) + Zero, as nanotwin's zero); ``Polariz.`` the fraction f of
P = f + (1 - f) cos^2 2theta at azimuth 0 (nanotwin's f); a lab tube's doublet as ``Lam1``,
``Lam2`` and ``I(L2)/I(L1)`` (the wavelength is Lam1; nanotwin's ``kalpha2`` ratio and ``lambda2``).

nanotwin's resolution (``model_parts.Instrument``): Caglioti FWHM^2 (deg^2) and Lorentzian X, Y in
degrees, so FWHM^2 = 8 ln 2 x 1e-4 x (U, V, W) and (X, Y)_nanotwin = (X, Y)_GSAS-II / 100.
A nanotwin instrument without Lorentzian terms (one pseudo-Voigt of mixing 0.5) is written with
X = Y = 0 and a ``#nanotwin profile: pseudo-Voigt 0.5`` comment that nanotwin reads back (GSAS-II
skips comments and sees a Gaussian: calibrate with ``--lorentzian`` for files meant for GSAS-II).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from pathlib import Path

import tomli_w

from nanotwin_core._version import __version__
from nanotwin_core.errors import InputFileError, NanotwinError
from nanotwin_core.io.atomic import atomic_write_text
from nanotwin_core.model_parts import Instrument
from nanotwin_core.scattering.polarization import SYNCHROTRON_FRACTION, polarization_fraction

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

__all__ = ["InstrumentFile", "VARIANCE_TO_FWHM2", "read_instrument_file", "read_instprm",
           "read_instrument_toml", "write_instprm", "write_instrument_toml", "polarization_mode",
           "gsas_caglioti", "gsas_lorentzian"]

#: GSAS-II's Gaussian variance (centideg^2) to nanotwin's FWHM^2 (deg^2): 8 ln 2 x 1e-4
VARIANCE_TO_FWHM2 = 8.0 * math.log(2.0) * 1e-4
PV_MARKER = "#nanotwin profile: pseudo-Voigt 0.5"
_NUMERIC = ("Lam", "Lam1", "Lam2", "I(L2)/I(L1)", "Zero", "Polariz.", "Azimuth", "U", "V", "W", "X", "Y", "Z",
            "SH/L", "Bank")
_REQUIRED = ("Type", "Zero", "Polariz.", "U", "V", "W", "X", "Y")


@dataclass
class InstrumentFile:
    """What an instrument file gives: the instrument, the wavelength (Å, None if the file has
    none), what was left out of it (``notes``) and the file's format ("instprm" or "toml")."""

    instrument: Instrument
    wavelength: float | None
    notes: list[str] = field(default_factory=list)
    kind: str = "instprm"

    def summary(self) -> str:
        """One line: polarization, profile, zero and wavelength."""
        ins = self.instrument
        cag = "none" if ins.caglioti is None else \
            "U, V, W = " + ", ".join(f"{v:.6g}" for v in ins.caglioti) + " deg^2"
        lor = "" if ins.lorentzian is None else \
            "; X, Y = " + ", ".join(f"{v:.6g}" for v in ins.lorentzian) + " deg"
        wl = f"; wavelength {self.wavelength:.8g} A" if self.wavelength else ""
        ka2 = "" if ins.kalpha2 is None else \
            f"; K-alpha2 ratio {ins.kalpha2:g}" + ("" if ins.lambda2 is None else f" at {ins.lambda2:.8g} A")
        return f"polarization {ins.polarization}; {cag}{lor}; zero {ins.zero:.6g} deg{wl}{ka2}"


def polarization_mode(fraction: float) -> str:
    """nanotwin's polarization text for a fraction f (0.5 lab, 1 none, 0.95 sync, else sync:F)."""
    f = float(fraction)
    if f == 1.0:
        return "none"
    if f == 0.5:
        return "lab"
    if f == SYNCHROTRON_FRACTION:
        return "sync"
    return f"sync:{f!r}"


def gsas_caglioti(u: float, v: float, w: float) -> tuple[float, float, float]:
    """GSAS-II U, V, W (Gaussian variance, centideg^2) to Caglioti FWHM^2 terms (deg^2)."""
    return (u * VARIANCE_TO_FWHM2, v * VARIANCE_TO_FWHM2, w * VARIANCE_TO_FWHM2)


def gsas_lorentzian(x: float, y: float) -> tuple[float, float]:
    """GSAS-II X, Y (Lorentzian FWHM, centidegrees) to degrees."""
    return (x / 100.0, y / 100.0)


def read_instrument_file(path: str | Path) -> InstrumentFile:
    """An ``.instprm`` (GSAS-II) or ``.toml`` (nanotwin ``[instrument]``) file, by its suffix."""
    suffix = Path(path).suffix.lower()
    if suffix == ".toml":
        return read_instrument_toml(path)
    if suffix in (".instprm", ".prm"):
        return read_instprm(path)
    raise InputFileError(path, "an instrument file is a GSAS-II .instprm or a nanotwin .toml")


def _instprm_values(path: Path) -> tuple[dict[str, tuple[str, int]], bool]:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise InputFileError(path, exc.strerror or str(exc)) from None
    values: dict[str, tuple[str, int]] = {}
    pseudo_voigt = False
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if line.startswith(PV_MARKER):
            pseudo_voigt = True
        if not line or line.startswith("#"):
            continue
        for item in line.split(";"):
            item = item.strip()
            if not item:
                continue
            key, sep, value = item.partition(":")
            key = key.strip()
            if not sep or not key:
                raise InputFileError(path, f"expected NAME:VALUE, got {item!r}", number)
            if key in values:
                raise InputFileError(path, f"{key} given twice (lines {values[key][1]} and {number}): "
                                           "one bank per file", number)
            values[key] = (value.strip(), number)
    return values, pseudo_voigt


def read_instprm(path: str | Path) -> InstrumentFile:
    """A GSAS-II constant-wavelength ``.instprm`` file (Type PXC or PNC) in nanotwin's units."""
    path = Path(path)
    values, pseudo_voigt = _instprm_values(path)
    missing = [k for k in _REQUIRED if k not in values]
    if missing:
        raise InputFileError(path, f"not a GSAS-II instrument file: missing {', '.join(missing)}")
    num: dict[str, float] = {}
    for key, (text, line) in values.items():
        if key in _NUMERIC:
            try:
                num[key] = float(text)
            except ValueError:
                raise InputFileError(path, f"{key} is not a number: {text!r}", line) from None
            if not math.isfinite(num[key]):
                raise InputFileError(path, f"{key} is not finite: {text!r}", line)
    kind, kind_line = values["Type"]
    if kind.strip().upper() not in ("PXC", "PNC"):
        raise InputFileError(path, f"Type {kind}: only constant-wavelength powder data (PXC, PNC) "
                                   "have a 2theta profile", kind_line)
    notes: list[str] = []
    wavelength = num.get("Lam", num.get("Lam1"))
    kalpha2 = lambda2 = None
    if "Lam1" in num and num.get("I(L2)/I(L1)", 0.0) > 0 and num.get("Lam2", 0.0) > 0:
        kalpha2, lambda2 = num["I(L2)/I(L1)"], num["Lam2"]
        if not lambda2 > num["Lam1"]:
            raise InputFileError(path, f"Lam2 {lambda2:g} A must be longer than Lam1 {num['Lam1']:g} A "
                                       "(K-alpha2 beside K-alpha1)", values["Lam2"][1])
    if num.get("Z", 0.0) != 0.0:
        raise InputFileError(path, f"Z = {num['Z']:g}: a constant Lorentzian width is not modelled by "
                                   "nanotwin (X / cos t + Y tan t only)", values["Z"][1])
    if num.get("Azimuth", 0.0) != 0.0:
        notes.append(f"Azimuth {num['Azimuth']:g}: the polarization is taken at azimuth 0")
    if num.get("SH/L", 0.0) != 0.0:
        notes.append(f"SH/L {num['SH/L']:g}: the peak asymmetry is not modelled")
    if wavelength is not None and not wavelength > 0:
        raise InputFileError(path, f"wavelength must be > 0 A, got {wavelength:g}")
    pol = num["Polariz."]
    if not 0.0 <= pol <= 1.0:
        raise InputFileError(path, f"Polariz. must lie in [0, 1], got {pol:g}", values["Polariz."][1])
    lorentzian = None if pseudo_voigt else gsas_lorentzian(num["X"], num["Y"])
    if pseudo_voigt and (num["X"] or num["Y"]):
        raise InputFileError(path, "a nanotwin pseudo-Voigt file must have X = Y = 0")
    try:
        ins = Instrument(polarization=polarization_mode(pol),
                         caglioti=gsas_caglioti(num["U"], num["V"], num["W"]),
                         zero=num["Zero"], lorentzian=lorentzian, kalpha2=kalpha2, lambda2=lambda2).validate()
    except NanotwinError as exc:
        raise InputFileError(path, str(exc)) from None
    return InstrumentFile(ins, wavelength, notes, "instprm")


def _number_text(value: float) -> str:
    return repr(float(value))


def write_instprm(path: str | Path, instrument: Instrument, wavelength: float, *, comment: str = "") -> Path:
    """Write ``instrument`` (with its Caglioti terms) as a GSAS-II ``.instprm`` (atomic write): Lam,
    or with a K-alpha2 line Lam1 (``wavelength``), Lam2 and I(L2)/I(L1)."""
    ins = replace(instrument).validate()
    if ins.caglioti is None:
        raise NanotwinError("an .instprm needs a resolution: the instrument has no Caglioti U, V, W")
    if not (wavelength and wavelength > 0):
        raise NanotwinError("an .instprm needs the wavelength (Lam, Å)")
    f = polarization_fraction(ins.polarization)
    u, v, w = (c / VARIANCE_TO_FWHM2 for c in ins.caglioti)
    x, y = (0.0, 0.0) if ins.lorentzian is None else (100.0 * ins.lorentzian[0], 100.0 * ins.lorentzian[1])
    lines = [f"#GSAS-II instrument parameter file; written by nanotwin {__version__}"]
    if comment:  # GSAS-II reads plain ASCII
        ascii_text = comment.replace("Å", "A").replace("°", " deg").encode("ascii", "replace").decode()
        lines += [f"#{line}" for line in ascii_text.splitlines()]
    if ins.lorentzian is None:
        lines.append(f"{PV_MARKER} (fixed mixing, FWHM^2 = 8 ln2 1e-4 (U tan^2 t + V tan t + W)); "
                     "GSAS-II reads a Gaussian")
    lam2 = ins.kalpha2_wavelength(wavelength)
    lams = [("Lam", _number_text(wavelength))] if lam2 is None else [
        ("Lam1", _number_text(wavelength)), ("Lam2", _number_text(lam2)),
        ("I(L2)/I(L1)", _number_text(ins.kalpha2))]
    pairs = [("Type", "PXC"), ("Bank", "1.0"), *lams,
             ("Polariz.", _number_text(1.0 if f is None else f)), ("Azimuth", "0.0"),
             ("Zero", _number_text(ins.zero)), ("U", _number_text(u)), ("V", _number_text(v)),
             ("W", _number_text(w)), ("X", _number_text(x)), ("Y", _number_text(y)), ("Z", "0.0"),
             ("SH/L", "0.0")]
    lines += [f"{k}:{v}" for k, v in pairs]
    return atomic_write_text(path, "\n".join(lines) + "\n")


def read_instrument_toml(path: str | Path) -> InstrumentFile:
    """The ``[instrument]`` table of a nanotwin TOML file (a model file or an instrument file),
    with the ``[radiation]`` wavelength when there is one."""
    path = Path(path)
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputFileError(path, exc.strerror or str(exc)) from None
    except tomllib.TOMLDecodeError as exc:
        raise InputFileError(path, f"not valid TOML: {exc}") from None
    table = doc.get("instrument")
    if not isinstance(table, dict):
        raise InputFileError(path, "no [instrument] table")
    try:
        ins = Instrument.from_dict(table).validate()
    except (NanotwinError, TypeError) as exc:
        raise InputFileError(path, f"[instrument]: {exc}") from None
    radiation = doc.get("radiation", {})
    wavelength = radiation.get("wavelength") if isinstance(radiation, dict) else None
    if wavelength is not None and not (isinstance(wavelength, (int, float)) and wavelength > 0):
        raise InputFileError(path, f"[radiation] wavelength must be a number > 0 A, got {wavelength!r}")
    return InstrumentFile(ins, None if wavelength is None else float(wavelength), [], "toml")


def write_instrument_toml(path: str | Path, instrument: Instrument, wavelength: float | None = None) -> Path:
    """Write ``[instrument]`` (and ``[radiation] wavelength``) as TOML, readable as a model file's
    tables (atomic write)."""
    ins = instrument.validate()
    doc: dict = {"instrument": ins.to_dict()}
    if wavelength:
        doc["radiation"] = {"wavelength": float(wavelength)}
    text = f"# nanotwin {__version__} instrument\n" + tomli_w.dumps(doc)
    return atomic_write_text(path, text)
