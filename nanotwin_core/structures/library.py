"""Built-in structures: the CsPbX3 polymorphs of the paper, delta-CsPbI3, PbS and CdSe.

Every entry records where its numbers come from (``source``) and what was derived
(``notes``). Default B values (Å^2) are the paper's Table 1 (Bertolotti et al., ACS Nano 2017,
11, 3819) where it gives them. ADP groups: Pb, Cs, X_ax (apical halide, along c), X_eq
(equatorial halide, in the ab plane); cubic halides are X_ax (the paper's X_eq = X_ax).

Frames: gamma is Pbnm with c long (a ~ b ~ sqrt2 a_p, c ~ 2 a_p), the paper's frame;
beta is P4/mbm (a ~ sqrt2 a_p, c ~ a_p).
"""

from __future__ import annotations

import math
from functools import cache

from nanotwin_core.errors import NanotwinError
from nanotwin_core.structures.structure import Cell, Site, Structure

PAPER = "Bertolotti et al., ACS Nano 2017, 11, 3819"
HALIDES = {"Cl": "Cl", "Br": "Br", "I": "I"}

# Pseudocubic lattice parameters (Å) of the cubic phases.
ALPHA_A = {
    "Cl": (5.618, f"{PAPER}: CsPbCl3 NCs at RT, cell from the even (h2+k2+l2) reflections"),
    "Br": (5.866, f"{PAPER}: CsPbBr3 NCs at 410 K, cell from the even reflections"),
    "I": (6.2894, "Trots & Myagkota, J. Phys. Chem. Solids 2008, 69, 2520: alpha-CsPbI3 at 634 K"),
}
# Table 1 B values (Å^2): (Pb, Cs, X) cubic and split-cubic.
ALPHA_B = {
    "Cl": ((2.34, 7.43, 10.13), (2.44, 7.50, 1.89), "Table 1, CsPbCl3 RT"),
    "Br": ((3.03, 10.00, 10.07), (3.60, 10.11, 2.06), "Table 1, CsPbBr3 HT (410 K)"),
    "I": ((3.12, 8.54, 5.21), (3.12, 8.54, 2.0), "not in Table 1: CsPbI3 orthorhombic Pb, Cs, X_ax values"),
}
SPLIT_OFFSET = 0.5  # Å, halide displacement off the Pb-X-Pb line in the split-cubic model

# gamma-CsPbBr3, Materials Project PBE-relaxed Pnma entry (b long), as checked in SCIENCE.md §7.
_GAMMA_PNMA = {
    "Cs": (0.06016, 0.75, 0.01945),
    "Pb": (0.0, 0.0, 0.5),
    "X_eq": (0.20102, 0.03170, 0.80279),  # 8d
    "X_ax": (0.00626, 0.25, 0.44033),  # 4c
}
GAMMA_CELLS = {
    "Br": ((8.207, 8.255, 11.759), "Stoumpos et al., Cryst. Growth Des. 2013, 13, 2722: RT cell (Pbnm)"),
    "I": ((8.6185, 8.8189, 12.5888), "Sutton et al., ACS Energy Lett. 2018, 3, 1787: gamma-CsPbI3 at RT"),
    "Cl": (None, "CsPbBr3 RT cell scaled to the CsPbCl3 pseudocubic parameter 5.618 Å of this paper"),
}
GAMMA_B = {
    "Br": (2.99, 8.90, 1.721, 2.85, "Table 1, CsPbBr3 RT orthorhombic"),
    "I": (3.12, 8.54, 5.21, 3.75, "Table 1, CsPbI3 RT orthorhombic"),
    "Cl": (2.44, 7.50, 1.89, 1.89, "not in Table 1: CsPbCl3 split-cubic values"),
}
BETA_TILT_DEG = 6.0


def _pnbm_from_pnma(p: tuple[float, float, float]) -> tuple[float, float, float]:
    """(x, y, z)_Pbnm = (z, x, y)_Pnma."""
    return (p[2], p[0], p[1])


def _alpha(x: str, split: bool) -> Structure:
    a, cell_source = ALPHA_A[x]
    cubic_b, split_b, b_source = ALPHA_B[x]
    b_pb, b_cs, b_x = split_b if split else cubic_b
    sites = [Site("Pb", "Pb", (0, 0, 0), b_iso=b_pb, adp_group="Pb"),
             Site("Cs", "Cs", (0.5, 0.5, 0.5), b_iso=b_cs, adp_group="Cs")]
    if split:
        y = SPLIT_OFFSET / a
        sites.append(Site(x, x, (0.5, y, 0.0), occupancy=0.25, b_iso=b_x, adp_group="X_ax", exclusion=x))
        notes = (f"split-cubic model: each {x} over four sites (1/2, ±y, 0), (1/2, 0, ±y) at 25 %, "
                 f"{SPLIT_OFFSET} Å off the Pb-{x}-Pb line; the four never pair with each other")
    else:
        sites.append(Site(x, x, (0.5, 0.0, 0.0), b_iso=b_x, adp_group="X_ax"))
        notes = ""
    name = f"CsPb{x}3-alpha" + ("-split" if split else "")
    return Structure(name, Cell(a, a, a), "P m -3 m", tuple(sites),
                     source=f"cell: {cell_source}; B: {b_source}", notes=notes)


def _beta(x: str) -> Structure:
    a_p, cell_source = ALPHA_A[x]
    phi = math.radians(BETA_TILT_DEG)
    a = math.sqrt(2) * a_p * math.cos(phi)
    delta = math.tan(phi) / 4
    b_pb, b_cs, b_ax, b_eq, b_source = GAMMA_B[x]
    sites = (
        Site("Pb", "Pb", (0, 0, 0), b_iso=b_pb, adp_group="Pb"),
        Site("Cs", "Cs", (0, 0.5, 0.5), b_iso=b_cs, adp_group="Cs"),
        Site("Xax", x, (0, 0, 0.5), b_iso=b_ax, adp_group="X_ax"),
        Site("Xeq", x, (0.25 + delta, 0.75 + delta, 0), b_iso=b_eq, adp_group="X_eq"),
    )
    return Structure(
        f"CsPb{x}3-beta", Cell(a, a, a_p), "P 4/m b m", sites,
        source=f"generated (a0a0c+ tilt model); pseudocubic a from {cell_source}; B: {b_source}",
        notes=(f"rigid octahedra (Pb-{x} = a_p/2) rotated by {BETA_TILT_DEG}° about c; "
               "not an experimental structure"),
    )


def _gamma(x: str, *, name: str | None = None, volume_scale: float = 1.0,
           b_values: tuple | None = None, extra_source: str = "") -> Structure:
    lengths, cell_source = GAMMA_CELLS[x]
    if lengths is None:
        (ab, bb, cb), _ = GAMMA_CELLS["Br"]
        a_p_br = (ab * bb * cb / 4) ** (1 / 3)
        f = ALPHA_A["Cl"][0] / a_p_br
        lengths = (ab * f, bb * f, cb * f)
    s = volume_scale ** (1 / 3)
    a, b, c = (v * s for v in lengths)
    b_pb, b_cs, b_ax, b_eq, b_source = b_values or GAMMA_B[x]
    sites = (
        Site("Pb", "Pb", _pnbm_from_pnma(_GAMMA_PNMA["Pb"]), b_iso=b_pb, adp_group="Pb"),
        Site("Cs", "Cs", _pnbm_from_pnma(_GAMMA_PNMA["Cs"]), b_iso=b_cs, adp_group="Cs"),
        Site("Xax", x, _pnbm_from_pnma(_GAMMA_PNMA["X_ax"]), b_iso=b_ax, adp_group="X_ax"),
        Site("Xeq", x, _pnbm_from_pnma(_GAMMA_PNMA["X_eq"]), b_iso=b_eq, adp_group="X_eq"),
    )
    return Structure(
        name or f"CsPb{x}3-gamma", Cell(a, b, c), "P b n m", sites,
        source=(f"cell: {cell_source}{extra_source}; fractional coordinates: Materials Project "
                f"orthorhombic CsPbBr3 (PBE-relaxed, Pnma), (x,y,z)_Pbnm = (z,x,y)_Pnma; B: {b_source}"),
        notes=("the paper's frame: c long, X_ax along c" if x == "Br" else
               "isostructural with gamma-CsPbBr3 (the paper): CsPbBr3 fractional coordinates in this cell"),
    )


def _delta_cspbi3() -> Structure:
    # Materials Project mp-540839 (DFT-PBE), standardised by spglib to Pnma (a = 10.650, b = 4.847,
    # c = 18.031 Å); the cell is the experimental one of Trots & Myagkota (2008).
    sites = (
        Site("Cs", "Cs", (0.08128, 0.75, 0.67212), b_iso=4.0, adp_group="Cs"),
        Site("Pb", "Pb", (0.16185, 0.25, 0.93922), b_iso=2.5, adp_group="Pb"),
        Site("I1", "I", (0.33721, 0.75, 0.00204), b_iso=3.0, adp_group="X_1"),
        Site("I2", "I", (0.02927, 0.25, 0.11231), b_iso=3.0, adp_group="X_2"),
        Site("I3", "I", (0.29632, 0.25, 0.78731), b_iso=3.0, adp_group="X_3"),
    )
    return Structure(
        "CsPbI3-delta", Cell(10.458, 4.801, 17.776), "P n m a", sites,
        source=("cell: Trots & Myagkota, J. Phys. Chem. Solids 2008, 69, 2520 (RT, Pnma); coordinates: "
                "Materials Project mp-540839 (PBE), standardised to Pnma"),
        notes="yellow non-perovskite phase (edge-sharing PbI6 chains); B values are typical, not refined",
    )


def _pbs() -> Structure:
    return Structure(
        "PbS-rocksalt", Cell(5.934, 5.934, 5.934), "F m -3 m",
        (Site("Pb", "Pb", (0.5, 0.5, 0.5), b_iso=1.283), Site("S", "S", (0, 0, 0), b_iso=1.247)),
        source="Noda et al., Acta Cryst. B39 (1983) 312 (ICSD 38293)",
    )


def _cdse_zb() -> Structure:
    return Structure(
        "CdSe-zincblende", Cell(6.0504, 6.0504, 6.0504), "F -4 3 m",
        (Site("Cd", "Cd", (0, 0, 0), b_iso=2.23), Site("Se", "Se", (0.25, 0.25, 0.25), b_iso=4.35)),
        source="PDFgui fit of the CdSe nanoparticle PDF (pdfttp_data ch11, CdSe_AC.ddp3): a = 6.0504 Å, "
               "Uiso Cd 0.0282, Se 0.0551 Å^2",
    )


@cache
def _library() -> dict[str, Structure]:
    entries: list[Structure] = []
    for x in ("Cl", "Br", "I"):
        entries += [_alpha(x, False), _alpha(x, True), _beta(x), _gamma(x)]
    entries.append(_delta_cspbi3())
    entries.append(_gamma(
        "Br", name="CsPbBr3-gamma-410K", volume_scale=1.01,
        b_values=(3.60, 10.11, 2.06, 2.06, "Table 1, CsPbBr3 HT split-cubic values"),
        extra_source=", scaled by the ~1 % volume expansion 298 -> 410 K reported in the paper",
    ))
    entries += [_pbs(), _cdse_zb()]
    return {s.name: s for s in entries}


def list_structures() -> list[str]:
    """Names of the built-in structures."""
    return list(_library())


def get_structure(name: str) -> Structure:
    """A built-in structure by name (case-insensitive)."""
    lib = _library()
    if name in lib:
        return lib[name]
    folded = {k.lower(): k for k in lib}
    if name.lower() in folded:
        return lib[folded[name.lower()]]
    raise NanotwinError(f"unknown structure {name!r}; built-in: {', '.join(lib)}")


def structure_table() -> list[dict[str, str]]:
    """Rows (name, spacegroup, cell, source) for ``nanotwin structures``."""
    rows = []
    for s in _library().values():
        c = s.cell
        cell = f"{c.a:.4f} {c.b:.4f} {c.c:.4f}"
        if (c.alpha, c.beta, c.gamma) != (90.0, 90.0, 90.0):
            cell += f" {c.alpha:g} {c.beta:g} {c.gamma:g}"
        rows.append({"name": s.name, "spacegroup": s.spacegroup, "cell": cell, "source": s.source})
    return rows
