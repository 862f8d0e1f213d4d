"""Laboratory X-ray tubes: their characteristic lines (Å), and what a wavelength says about the
source (the default polarization of 2theta data, the K-alpha2 line of a K-alpha1 wavelength).

Wavelengths: Bearden (1967), Rev. Mod. Phys. 39, 78, as tabulated in International Tables for
Crystallography Vol. C, Table 4.2.2.1 (K-alpha = (2 K-alpha1 + K-alpha2) / 3, the weighted mean;
K-beta = K-beta1). Cu K-alpha1 of Hoelzer et al. (1997), 1.5405929 Å, and the 1.5406 Å of file
names lie within ``LINE_TOLERANCE`` of the Bearden 1.540562 Å.

Polarization (SCIENCE.md section 5; GSAS-II's ``Polariz.`` is the same fraction f of
P = f + (1 - f) cos^2 2theta at azimuth 0): a tube without monochromator is unpolarized, f = 0.5
("lab"); a synchrotron beam is polarized in the ring plane, f close to 1 ("sync", f = 0.95).
A monochromator changes f; it is not known from the wavelength: ``--polarization mono:2THETA_M``
(its diffraction angle, f = 1 / (1 + cos^2 2theta_M)) or ``sync:F`` gives it.
"""

from __future__ import annotations

from dataclasses import dataclass

from nanotwin_core.errors import NanotwinError

__all__ = ["ANODE_LINES", "KALPHA2_RATIO", "LINE_TOLERANCE", "AnodeLine", "anode_line",
           "kalpha2_wavelength", "source_polarization"]

#: anode -> line -> wavelength (Å); lines "Ka1", "Ka2", "Ka" (weighted mean), "Kb"
ANODE_LINES: dict[str, dict[str, float]] = {
    "Cu": {"Ka1": 1.540562, "Ka2": 1.544390, "Ka": 1.541838, "Kb": 1.392218},
    "Mo": {"Ka1": 0.709300, "Ka2": 0.713590, "Ka": 0.710730, "Kb": 0.632288},
    "Ag": {"Ka1": 0.5594075, "Ka2": 0.563798, "Ka": 0.560885, "Kb": 0.497069},
    "Co": {"Ka1": 1.788965, "Ka2": 1.792850, "Ka": 1.790260, "Kb": 1.620790},
    "Cr": {"Ka1": 2.289700, "Ka2": 2.293606, "Ka": 2.291000, "Kb": 2.084870},
    "Fe": {"Ka1": 1.936042, "Ka2": 1.939980, "Ka": 1.937355, "Kb": 1.756610},
}
#: nominal I(K-alpha2) / I(K-alpha1) of a tube (GSAS-II's I(L2)/I(L1) default)
KALPHA2_RATIO = 0.5
#: relative distance within which a wavelength is taken for a tube line (1.54 Å is Cu K-alpha1)
LINE_TOLERANCE = 5e-4
LINE_NAMES = {"Ka1": "K-alpha1", "Ka2": "K-alpha2", "Ka": "K-alpha (mean)", "Kb": "K-beta"}


@dataclass(frozen=True)
class AnodeLine:
    """A tube line: anode ("Cu"), line ("Ka1", "Ka2", "Ka", "Kb") and its wavelength (Å)."""

    anode: str
    line: str
    wavelength: float

    def __str__(self) -> str:
        return f"{self.anode} {LINE_NAMES[self.line]} ({self.wavelength:g} Å)"


def anode_line(wavelength: float | None, tolerance: float = LINE_TOLERANCE) -> AnodeLine | None:
    """The tube line nearest ``wavelength`` (Å) within ``tolerance`` (relative), else None."""
    if wavelength is None or not wavelength > 0:
        return None
    best: AnodeLine | None = None
    for anode, lines in ANODE_LINES.items():
        for line, value in lines.items():
            dist = abs(wavelength / value - 1)
            if dist <= tolerance and (best is None or dist < abs(wavelength / best.wavelength - 1)):
                best = AnodeLine(anode, line, value)
    return best


def kalpha2_wavelength(wavelength: float) -> float:
    """The K-alpha2 wavelength (Å) of the tube whose K-alpha1 is ``wavelength``; NanotwinError
    naming the line when ``wavelength`` is another line or no tube line."""
    line = anode_line(wavelength)
    if line is not None and line.line == "Ka1":
        return ANODE_LINES[line.anode]["Ka2"]
    what = f"the {line}" if line is not None else "not a tube's K-alpha1 line"
    hint = (f"; with a K-alpha2 line the data's wavelength is K-alpha1, {ANODE_LINES[line.anode]['Ka1']:g} Å"
            if line is not None and line.line != "Ka2" else "")
    raise NanotwinError(f"K-alpha2 needs its wavelength: {wavelength:g} Å is {what}{hint}; give lambda2 "
                        f"(--kalpha2 RATIO:LAMBDA2, Å) [tubes: {', '.join(ANODE_LINES)}]")


def source_polarization(wavelength: float | None) -> tuple[str, str]:
    """The polarization of 2theta data nobody gave one for, from the wavelength (Å), and why:
    "lab" (f = 0.5, unpolarized tube) for a tube line, else "sync" (f = 0.95)."""
    line = anode_line(wavelength)
    if line is not None:
        return "lab", (f"polarization lab (f = 0.5, unpolarized tube): {wavelength:g} Å is the {line} "
                       "line; behind a monochromator give --polarization mono:2THETA_M")
    if wavelength is None:
        return "sync", "polarization sync (f = 0.95): no wavelength to tell the source"
    return "sync", f"polarization sync (f = 0.95): {wavelength:g} Å is no tube line, taken for a synchrotron"
