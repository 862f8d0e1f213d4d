"""Diffractometers' own pattern files: PANalytical ``.xrdml``, Rigaku ``.ras`` and the GSAS
formats (``.fxye``, ``.gsa``, ``.gsas``, ``.gss``: BANK lines of type FXYE, FXY, ESD or STD).

Each reader returns the pattern on 2θ (degrees) with its sigma and the header lines it found,
plus a ``wavelength = … Å`` line when the file states one (the K-alpha1 line of an anode), so that
``read_pattern``, the import guess and the command line's ``data:`` line treat it as any header.

- ``.xrdml``: the first scan's 2θ positions (start/end or a list) and counts or intensities; the
  counts are Poisson (sigma = sqrt(max(counts, 1))), multiplied by the beam attenuation factors
  when the file has them. ``usedWavelength intended="K-Alpha 1"`` says the beam had K-alpha1
  only; "K-Alpha" means the K-alpha1/K-alpha2 doublet (said in a header line).
- ``.ras``: the first ``*RAS_INT_START`` block: 2θ, counts, attenuator coefficient (intensity =
  counts x coefficient); the K-alpha1 wavelength from ``*HW_XG_WAVE_LENGTH_ALPHA1``.
- GSAS: the first BANK of a constant-wavelength file; 2θ in centidegrees (FXYE, FXY: one point a
  line; ESD: five (I, esd) pairs of 8 characters a line; STD: ten fields of 2 characters
  (number of counters n) + 6 (counts), variance counts / n), with start and step in
  centidegrees on the BANK line. Points with a non-positive esd carry no weight in GSAS: they
  are left out here (and counted in a note). Time-of-flight banks are refused.

Facts about the formats were checked against GSAS-II's readers (G2pwd_fxye, G2pwd_Panalytical,
G2pwd_rigaku); the code is ours.
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from nanotwin_core.errors import InputFileError

__all__ = ["VENDOR_SUFFIXES", "VendorPattern", "declared_kalpha2", "read_vendor_pattern"]

XRDML_SUFFIXES = (".xrdml",)
RAS_SUFFIXES = (".ras",)
GSAS_SUFFIXES = (".fxye", ".gsa", ".gsas", ".gss")
VENDOR_SUFFIXES = XRDML_SUFFIXES + RAS_SUFFIXES + GSAS_SUFFIXES


@dataclass
class VendorPattern:
    """A pattern read from an instrument's file: 2θ (degrees, increasing), intensity, sigma."""

    tth: np.ndarray
    y: np.ndarray
    sigma: np.ndarray
    header: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def read_vendor_pattern(path: str | Path) -> VendorPattern:
    """Read an ``.xrdml``, ``.ras`` or GSAS file (by its suffix); InputFileError names the problem."""
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix in XRDML_SUFFIXES:
        out = _read_xrdml(p)
    elif suffix in RAS_SUFFIXES:
        out = _read_ras(p)
    elif suffix in GSAS_SUFFIXES:
        out = _read_gsas(p)
    else:
        raise InputFileError(p, f"not an instrument file this reader knows ({', '.join(VENDOR_SUFFIXES)})")
    return _checked(p, out)


_KALPHA2_RE = re.compile(r"K-alpha2 = (\d+\.?\d*) Å, ratio (\d+\.?\d*)")


def declared_kalpha2(header: Iterable[str]) -> tuple[float, float] | None:
    """(I(Kα2)/I(Kα1), lambda2 in Å) of a file whose beam holds the K-alpha doublet, as an
    instrument's file states it (``io.vendor_formats``: a PANalytical ``usedWavelength`` of
    "K-Alpha"), else None."""
    for line in header:
        m = _KALPHA2_RE.search(line)
        if m and float(m.group(2)) > 0:
            return float(m.group(2)), float(m.group(1))
    return None


def _checked(p: Path, out: VendorPattern) -> VendorPattern:
    if out.tth.size < 2:
        raise InputFileError(p, f"only {out.tth.size} data point(s)")
    if not (np.all(np.isfinite(out.tth)) and np.all(np.isfinite(out.y)) and np.all(np.isfinite(out.sigma))):
        raise InputFileError(p, "non-finite numbers in the data")
    d = np.diff(out.tth)
    if np.all(d < 0):
        out.tth, out.y, out.sigma = out.tth[::-1], out.y[::-1], out.sigma[::-1]
    elif not np.all(d > 0):
        k = int(np.flatnonzero(d <= 0)[0])
        raise InputFileError(p, f"2θ is not monotonic ({out.tth[k]:g} then {out.tth[k + 1]:g})")
    return out


def _text(path: Path) -> str:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputFileError(path, f"cannot read the file ({exc.strerror or exc})") from exc
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def _poisson_sigma(counts: np.ndarray) -> np.ndarray:
    return np.sqrt(np.maximum(counts, 1.0))


# ---------------------------------------------------------------------------------- .xrdml
def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _child(node: ET.Element, name: str) -> ET.Element | None:
    return next((c for c in node if _local(c.tag) == name), None)


def _children(node: ET.Element, name: str) -> list[ET.Element]:
    return [c for c in node if _local(c.tag) == name]


def _numbers(path: Path, node: ET.Element | None, what: str) -> np.ndarray:
    if node is None or not (node.text or "").strip():
        raise InputFileError(path, f"no {what} in the file")
    try:
        return np.array([float(t) for t in node.text.split()], float)
    except ValueError as exc:
        raise InputFileError(path, f"{what}: {exc}") from exc


def _read_xrdml(path: Path) -> VendorPattern:
    try:
        root = ET.fromstring(_text(path))
    except ET.ParseError as exc:
        raise InputFileError(path, f"not readable XML ({exc})", exc.position[0]) from exc
    measurements = [m for m in root.iter() if _local(m.tag) == "xrdMeasurement"]
    if not measurements:
        raise InputFileError(path, "no xrdMeasurement element: not a PANalytical .xrdml file")
    measurement = measurements[0]
    scans = [s for m in measurements for s in _children(m, "scan")]
    if not scans:
        raise InputFileError(path, "the measurement holds no scan")
    points = _child(scans[0], "dataPoints")
    if points is None:
        raise InputFileError(path, "the first scan holds no dataPoints")
    positions = next((q for q in _children(points, "positions")
                      if q.get("axis", "").lower() == "2theta"), None)
    if positions is None:
        raise InputFileError(path, "the first scan has no 2Theta positions")
    counts_node = _child(points, "counts")
    if counts_node is None:  # an Element without children is falsy: no `or` here
        counts_node = _child(points, "intensities")
    counts = _numbers(path, counts_node, "counts or intensities")
    listed = _child(positions, "listPositions")
    if listed is not None:
        tth = _numbers(path, listed, "2Theta listPositions")
    else:
        start = _numbers(path, _child(positions, "startPosition"), "2Theta startPosition")[0]
        end = _numbers(path, _child(positions, "endPosition"), "2Theta endPosition")[0]
        tth = np.linspace(start, end, counts.size)
    if tth.size != counts.size:
        raise InputFileError(path, f"{tth.size} 2Theta positions for {counts.size} counts")
    sigma = _poisson_sigma(counts)
    y = counts.copy()
    notes = []
    attenuation = _child(points, "beamAttenuationFactors")
    if attenuation is not None and (attenuation.text or "").strip():
        factors = _numbers(path, attenuation, "beamAttenuationFactors")
        if factors.size == counts.size:
            y, sigma = y * factors, sigma * factors
            notes.append("counts multiplied by the file's beam attenuation factors")
    unit = counts_node.get("unit", "counts") if counts_node is not None else "counts"
    if unit != "counts":
        notes.append(f"intensities in {unit}: sigma taken as sqrt(I), not counting noise")
    header = [f"PANalytical xrdml scan 1 of {len(scans)}", "x: 2theta (deg)"]
    if len(scans) > 1:
        notes.append(f"the first of {len(scans)} scans read")
    header += _xrdml_wavelength(measurement)
    return VendorPattern(tth, y, sigma, header, notes)


def _xrdml_wavelength(measurement: ET.Element) -> list[str]:
    used = _child(measurement, "usedWavelength")
    if used is None:
        return []
    values = {}
    for name in ("kAlpha1", "kAlpha2", "ratioKAlpha2KAlpha1"):
        node = _child(used, name)
        try:
            values[name] = float((node.text or "").strip()) if node is not None else None
        except ValueError:
            values[name] = None
    lines = []
    if values["kAlpha1"]:
        lines.append(f"wavelength = {values['kAlpha1']!r} Å (K-alpha1, usedWavelength of the file)")
    intended = used.get("intended", "")
    if values["kAlpha2"] and intended.replace(" ", "").lower() == "k-alpha":
        lines.append(f"K-alpha2 = {values['kAlpha2']!r} Å, ratio {values['ratioKAlpha2KAlpha1']} "
                     "(the file's beam holds the K-alpha doublet)")
    elif intended:
        lines.append(f"beam: {intended}")
    return lines


# ---------------------------------------------------------------------------------- .ras
def _ras_value(line: str) -> str:
    parts = line.split(None, 1)
    return parts[1].strip().strip('"') if len(parts) > 1 else ""


def _read_ras(path: Path) -> VendorPattern:
    lines = _text(path).splitlines()
    if not lines or not lines[0].strip().startswith("*RAS_DATA_START"):
        raise InputFileError(path, "no *RAS_DATA_START on the first line: not a Rigaku .ras file", 1)
    header = ["Rigaku ras", "x: 2theta (deg)"]
    rows, start, end = [], None, None
    for i, line in enumerate(lines):
        text = line.strip()
        if start is None:
            if text.startswith("*HW_XG_WAVE_LENGTH_ALPHA1"):
                value = _ras_value(text)
                if value:
                    header.append(f"wavelength = {value} Å (K-alpha1, *HW_XG_WAVE_LENGTH_ALPHA1)")
            elif text.startswith("*MEAS_SCAN_AXIS_X") and "theta" not in _ras_value(text).lower():
                raise InputFileError(path, f"the scan axis is {_ras_value(text)!r}, not 2θ", i + 1)
            elif text.startswith("*RAS_INT_START"):
                start = i
            continue
        if text.startswith("*RAS_INT_END"):
            end = i
            break
        if not text:
            continue
        try:
            values = [float(t) for t in text.split()]
        except ValueError:
            raise InputFileError(path, f"non-numeric value in {text!r}", i + 1) from None
        if len(values) < 2:
            raise InputFileError(path, "a data line needs 2θ and counts", i + 1)
        rows.append(values[:3] if len(values) >= 3 else [*values, 1.0])
    if start is None or end is None:
        raise InputFileError(path, "no complete *RAS_INT_START ... *RAS_INT_END block")
    data = np.asarray(rows, float)
    counts, coefficient = data[:, 1], data[:, 2]
    notes = []
    if np.any(coefficient != 1.0):
        notes.append("counts multiplied by the attenuator coefficient (third column)")
    blocks = sum(1 for ln in lines if ln.strip().startswith("*RAS_INT_START"))
    if blocks > 1:
        notes.append(f"the first of {blocks} scans read")
    sigma = _poisson_sigma(counts) * coefficient
    return VendorPattern(data[:, 0], counts * coefficient, sigma, header, notes)


# ---------------------------------------------------------------------------------- GSAS
def _read_gsas(path: Path) -> VendorPattern:
    lines = _text(path).splitlines()
    header = [lines[0].strip()] if lines else []
    bank_at = None
    for i, line in enumerate(lines[1:], start=1):
        if line.startswith("BANK"):
            bank_at = i
            break
        if line.startswith("#") or line[:4].lower() == "inst":
            header.append(line.strip())
    if bank_at is None:
        raise InputFileError(path, "no BANK line: not a GSAS powder file")
    bank = lines[bank_at].split()
    lineno = bank_at + 1
    if len(bank) < 5:
        raise InputFileError(path, "a BANK line needs: BANK n nchan nrec BINTYP ...", lineno)
    bintyp = bank[4].upper()
    if bintyp != "CONS":
        raise InputFileError(path, f"bank type {bintyp}: only constant-wavelength (CONS) data are read",
                             lineno)
    words = {t.upper() for t in bank[5:]}
    kind = next((k for k in ("FXYE", "FXY", "ESD", "ALT", "STD") if k in words), "STD")
    if kind == "ALT":
        raise InputFileError(path, "ALT (time-of-flight) banks are not read", lineno)
    body = []
    for line in lines[bank_at + 1:]:
        if line.startswith("BANK") or line.startswith("#"):
            break
        body.append(line)
    header.append("x: 2theta (deg)")
    if kind in ("FXYE", "FXY"):
        tth, y, sigma = _gsas_xy(path, body, lineno, with_esd=kind == "FXYE")
    else:
        try:
            start, step = float(bank[5]) / 100.0, float(bank[6]) / 100.0
            nchan = int(bank[2])
        except (IndexError, ValueError):
            raise InputFileError(path, "the BANK line lacks the start and step (centidegrees)",
                                 lineno) from None
        try:
            y, sigma = (_gsas_esd if kind == "ESD" else _gsas_std)(body)
        except ValueError:
            raise InputFileError(path, f"a non-numeric field in the {kind} records of the bank",
                                 lineno) from None
        y, sigma = y[:nchan], sigma[:nchan]
        tth = start + step * np.arange(y.size)
    keep = sigma > 0
    notes = []
    if not np.all(keep):
        notes.append(f"{int((~keep).sum())} point(s) with no esd left out (zero weight in GSAS)")
    return VendorPattern(tth[keep], y[keep], sigma[keep], header, notes)


def _gsas_xy(path: Path, body: list[str], lineno: int, *, with_esd: bool) -> tuple[np.ndarray, ...]:
    rows = []
    for k, line in enumerate(body, start=lineno + 1):
        if not line.strip():
            continue
        try:
            values = [float(t) for t in line.split()]
        except ValueError:
            raise InputFileError(path, f"non-numeric value in {line.strip()!r}", k) from None
        if len(values) < (3 if with_esd else 2):
            raise InputFileError(path, f"{len(values)} value(s) where {3 if with_esd else 2} are expected", k)
        rows.append(values[:3] if with_esd else [values[0], values[1], math.sqrt(max(values[1], 0.0))])
    data = np.asarray(rows, float).reshape(-1, 3)
    y, sigma = data[:, 1], data[:, 2]
    sigma = np.where(y > 0, sigma, 0.0)
    return data[:, 0] / 100.0, y, sigma


def _field(line: str, a: int, b: int) -> float:
    text = line[a:b].strip()
    return float(text) if text else 0.0


def _gsas_esd(body: list[str]) -> tuple[np.ndarray, np.ndarray]:
    ys, es = [], []
    for line in body:
        for i in range(0, 80, 16):
            if not line[i:i + 8].strip():
                break
            ys.append(_field(line, i, i + 8))
            es.append(_field(line, i + 8, i + 16))
    y, e = np.asarray(ys, float), np.asarray(es, float)
    return y, np.where(y > 0, e, 0.0)


def _gsas_std(body: list[str]) -> tuple[np.ndarray, np.ndarray]:
    ys, vs = [], []
    for line in body:
        for i in range(0, 80, 8):
            if not line[i:i + 8].strip():
                break
            n = max(int(_field(line, i, i + 2)), 1)
            counts = max(_field(line, i + 2, i + 8), 0.0)
            ys.append(counts)
            vs.append(counts / n)
    return np.asarray(ys, float), np.sqrt(np.asarray(vs, float))
