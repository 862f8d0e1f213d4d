"""Physical sanity of a measured pattern as read: axis kind, wavelength, blank.

``check_pattern`` refuses what cannot be (Q beyond 4 pi/lambda) and returns warnings for what is
probably a mistake (an axis option that contradicts the file's header, a wavelength that
contradicts the file's own statement). ``check_blank`` does the same for a blank against its data.
Every message names the file and says why.
"""

from __future__ import annotations

import math

from nanotwin_core.errors import InputFileError, NanotwinError
from nanotwin_core.io.data import PatternData, axis_hint, declared_wavelength

AXIS_WORDS = {"tth": "2theta (degrees)", "q": "Q (1/Å)"}
# no diffraction instrument reaches this (4 pi / 0.1 Å); above it a "Q" column is almost surely 2theta
Q_LIMIT_WITHOUT_WAVELENGTH = 125.0


def check_q_reachable(q_max: float, wavelength: float | None, what: str) -> None:
    """Refuse Q beyond 4 pi / lambda (1/Å): no scattering angle reaches it at that wavelength (Å)."""
    if wavelength is not None and q_max > 4 * math.pi / wavelength:
        raise NanotwinError(
            f"{what} reaches Q = {q_max:.4g} 1/Å, beyond 4 pi/lambda = {4 * math.pi / wavelength:.4g} 1/Å "
            f"at lambda = {wavelength:.6g} Å: no scattering angle gives it; use a shorter wavelength "
            "(higher --energy) or a smaller QMAX"
        )


def check_pattern(data: PatternData, *, x_kind_given: str | None = None,
                  wavelength_given: float | None = None) -> list[str]:
    """Refuse an impossible axis; return warnings (one line each) for a doubtful one."""
    warnings: list[str] = []
    path = data.path or "pattern"
    hint = axis_hint(data.header)
    if x_kind_given and hint and hint != x_kind_given:
        warnings.append(f"{path}: the header says the first column is {AXIS_WORDS[hint]}, read as "
                        f"{AXIS_WORDS[x_kind_given]} as --x {x_kind_given} asks")
    x_max = float(data.x.max())
    if data.x_kind == "q" and data.wavelength:
        reach = 4 * math.pi / data.wavelength
        if x_max > reach * (1 + 1e-9):
            raise InputFileError(
                path, f"the first column reaches {x_max:.4g}, read as Q; at lambda = {data.wavelength:.6g} Å "
                f"no angle gives Q above 4 pi/lambda = {reach:.4g} 1/Å: it looks like 2theta (give --x tth)")
    elif data.x_kind == "q" and x_max > Q_LIMIT_WITHOUT_WAVELENGTH:
        raise InputFileError(path, f"the first column reaches {x_max:.4g}, read as Q (1/Å): no instrument "
                                   "reaches that; it looks like 2theta (give --x tth and --wavelength)")
    stated, where = declared_wavelength(path, data.header)
    if wavelength_given and stated and abs(stated - wavelength_given) > 1e-4 * stated:
        warnings.append(f"{path}: its {where} states lambda = {stated:g} Å, but {wavelength_given:g} Å "
                        "was given")
    return warnings


def check_blank(blank: PatternData, data: PatternData) -> list[str]:
    """Warnings for a blank that does not match its data (axis kind, wavelength)."""
    warnings = check_pattern(blank)
    path = blank.path or "blank"
    stated, where = declared_wavelength(path, blank.header)
    if stated and data.wavelength and abs(stated - data.wavelength) > 1e-4 * stated:
        warnings.append(
            f"{path}: the blank was measured at lambda = {stated:g} Å (its {where}), the data at "
            f"{data.wavelength:g} Å: it is put on the data grid at equal Q, not equal 2theta; its absorption "
            "and polarization at the other wavelength are not corrected (use a blank of the same wavelength)")
    return warnings
