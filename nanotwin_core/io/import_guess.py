"""What a measured pattern file says about itself, for an import dialog: the x axis and the
wavelength, each with the reason it was chosen, and reading the file as the user confirmed.

- ``guess_import(path)``: x kind ("tth" 2θ in degrees, "q" in 1/Å, "d" in Å) from the header's
  axis words, else from the range (beyond any Q an instrument reaches: 2θ); the wavelength (Å)
  from a header line (``wavelength = …`` or ``energy = … keV``) or the file name
  (``wl0p49547592A``), at full precision. ``certain`` is False where only a default decided.
- ``read_pattern_as(path, x_kind, wavelength)``: the pattern on the confirmed axis; a d column
  becomes Q = 2 pi / d (PatternData holds 2θ or Q).
- ``read_pattern_guessed(path, x_kind=, wavelength=)``: the command line's reading: what is not
  given is taken from ``guess_import``, and ``notes`` say what was assumed and why (the same
  reasons the window's import dialog shows).
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from nanotwin_core.errors import InputFileError, NanotwinError
from nanotwin_core.io.data import PatternData, axis_hint, declared_wavelength, read_pattern
from nanotwin_core.io.pattern_checks import AXIS_WORDS, check_pattern
from nanotwin_core.scattering.form_factors import energy_from_wavelength

__all__ = ["X_KINDS", "ImportGuess", "guess_import", "read_pattern_as", "read_pattern_guessed",
           "wavelength_from_energy"]

X_KINDS = {"tth": "2θ (°)", "q": "Q (1/Å)", "d": "d (Å)"}
Q_SURELY_BELOW = 40.0  # 1/Å: total-scattering data stop near 30-35; an x column beyond is 2θ
_D_WORDS = re.compile(r"d[-_ ]?spacing|\bd\s*[(\[/]\s*(å|a|angstrom)\b|\bd_?hkl\b", re.IGNORECASE)
_ENERGY_RE = re.compile(r"energy\s*(?:\([^)]*\))?\s*[=:]?\s*(\d+\.?\d*(?:[eE][+-]?\d+)?)\s*kev",
                        re.IGNORECASE)


def wavelength_from_energy(energy_kev: float) -> float:
    """Wavelength (Å) of photons of ``energy_kev`` (keV): lambda = h c / E."""
    return energy_from_wavelength(energy_kev)  # h c / x both ways


@dataclass
class ImportGuess:
    """What a pattern file says about its axis and wavelength, with reasons (see module doc)."""

    path: str
    x_kind: str
    x_reason: str
    certain: bool
    wavelength: float | None
    wavelength_reason: str
    x_range: tuple[float, float]
    n_points: int
    has_sigma: bool
    header: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _header_energy(header: list[str]) -> tuple[float | None, str]:
    for line in header:
        m = _ENERGY_RE.search(line)
        if m and float(m.group(1)) > 0:
            return wavelength_from_energy(float(m.group(1))), line.strip().lstrip("#!").strip()
    return None, ""


def _header_line(header: list[str], pattern: re.Pattern) -> str:
    return next((h.strip().lstrip("#!").strip() for h in header if pattern.search(h)), "")


def guess_import(path: str | os.PathLike[str]) -> ImportGuess:
    """Read ``path`` once and say what its x column and wavelength most likely are, and why."""
    data = read_pattern(path)
    header = list(data.header)
    wavelength, where = declared_wavelength(path, header)
    if where == "header":
        line = _header_line(header, re.compile(r"wavelength|lambda|wave_length", re.IGNORECASE))
        wl_reason = f"from the header: “{line}”"
    elif where == "file name":
        wl_reason = f"from the file name {Path(path).name}"
    else:
        wavelength, line = _header_energy(header)
        wl_reason = f"from the header's energy: “{line}”" if wavelength else "the file states none"
    x_min, x_max = float(data.x.min()), float(data.x.max())
    hint = axis_hint(header)
    d_line = _header_line(header, _D_WORDS)
    certain = True
    if d_line:
        kind, reason = "d", f"the header names it: “{d_line}”"
    elif hint is not None:
        kind, reason = hint, f"the header names it {AXIS_WORDS[hint]}"
    elif x_max > Q_SURELY_BELOW:
        kind, reason = "tth", f"x reaches {x_max:g}, beyond the Q of any diffraction experiment"
    elif wavelength and x_max > 4 * math.pi / wavelength:
        kind, reason = "tth", (f"x reaches {x_max:g}, beyond 4π/λ = {4 * math.pi / wavelength:.4g} 1/Å "
                               "at the stated wavelength: not Q")
    else:
        kind, certain = "tth", False
        reason = f"no axis word in the header and x = {x_min:g}–{x_max:g} fits 2θ or Q: taken as 2θ, check it"
    warnings = []
    if kind != "d":
        try:
            warnings = check_pattern(replace(data, x_kind=kind, wavelength=wavelength))
        except NanotwinError as exc:
            warnings = [str(exc)]
    return ImportGuess(str(path), kind, reason, certain, wavelength, wl_reason, (x_min, x_max), len(data),
                       data.sigma is not None, header, warnings)


def read_pattern_as(path: str | os.PathLike[str], x_kind: str, wavelength: float | None) -> PatternData:
    """The pattern of ``path`` with its x column read as ``x_kind`` ("tth", "q" or "d") and the
    given wavelength (Å, None: none); d becomes Q = 2 pi / d, sorted by Q."""
    if x_kind not in X_KINDS:
        raise NanotwinError(f"x kind must be one of {', '.join(X_KINDS)}, got {x_kind!r}")
    if wavelength is not None and not wavelength > 0:
        raise NanotwinError(f"the wavelength must be > 0 Å, got {wavelength}")
    if x_kind != "d":
        data = read_pattern(path, x_kind=x_kind, wavelength=wavelength)
        check_pattern(data)  # refuses a "Q" column no instrument reaches
        return data
    raw = read_pattern(path, x_kind="q", wavelength=wavelength)
    if np.any(raw.x <= 0):
        raise InputFileError(path, "a d spacing <= 0 Å cannot be converted to Q = 2π/d")
    q = 2 * np.pi / raw.x[::-1]
    return PatternData(x=q, y=raw.y[::-1].copy(), sigma=None if raw.sigma is None else raw.sigma[::-1].copy(),
                       x_kind="q", wavelength=wavelength, path=raw.path, header=list(raw.header),
                       notes=["x column read as d (Å), converted to Q = 2π/d"])


def read_pattern_guessed(path: str | os.PathLike[str], *, x_kind: str | None = None,
                         wavelength: float | None = None) -> PatternData:
    """The pattern of ``path`` on the axis ``x_kind`` ("tth", "q", "d") with ``wavelength`` (Å);
    each one None is taken from ``guess_import`` and said in ``notes`` with its reason (the
    wavelength at full precision), before the reader's own notes."""
    if x_kind is not None and wavelength is not None:
        return read_pattern_as(path, x_kind, wavelength)
    guess = guess_import(path)
    kind = guess.x_kind if x_kind is None else x_kind
    wl = guess.wavelength if wavelength is None else wavelength
    data = read_pattern_as(path, kind, wl)
    said = []
    if x_kind is None:
        said.append(f"x read as {X_KINDS[kind]}: {guess.x_reason}")
    if wavelength is None:
        said.append(f"wavelength {wl!r} Å {guess.wavelength_reason}" if wl is not None
                    else f"no wavelength: {guess.wavelength_reason}")
    data.notes = said + [n for n in data.notes if n not in said]
    return data
