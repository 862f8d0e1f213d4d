"""Colours of the 3D view: a categorical palette that stays distinct for 100 domains (Okabe-Ito,
then glasbey from colorcet: one list for a dark background, one for a light one), fixed colours for the twin
variants, the Jmol/CPK element colours made readable on the background, and the colour science
behind "distinct" and "readable" (sRGB -> CIELAB, CIEDE2000 colour difference).

Pure numpy (no Qt, no vispy): the adapters and the tests use it without a GL context.
"""

from __future__ import annotations

import functools

import colorcet
import numpy as np

BACKGROUNDS = {"dark": (0x20 / 255, 0x24 / 255, 0x2B / 255), "light": (0.96, 0.96, 0.96)}
# glasbey palettes without black, white and greys (min chroma 20), min lightness 30 on a dark
# background, max lightness 70 on a light one
GLASBEY = {"dark": colorcet.glasbey_bw_minc_20_minl_30, "light": colorcet.glasbey_bw_minc_20_maxl_70}
# the twin variants (distinct total shifts, at most 4 in a gamma CsPbX3 network): Okabe-Ito,
# distinct for colour-blind readers; the domain palette starts with them (domains 0 and 1 blue
# and orange, never red and green)
VARIANT_COLOURS = ((0.0, 0.447, 0.698), (0.902, 0.624, 0.0), (0.0, 0.620, 0.451), (0.800, 0.475, 0.655))
# a glasbey colour joins the domain palette when it differs by this much (CIEDE2000) from every
# colour already in: 60 domains then differ by >= 10.1 (dark) and >= 9.7 (light), 100 by >= 9.0,
# and every colour stands >= 16 from its background (tests/test_app_palettes.py)
DOMAIN_DELTA_E = 9.0
READABLE_DELTA_E = 25.0  # CIEDE2000 an atom colour keeps from the background at least

# Jmol's element colours (the CPK convention as Jmol, OVITO and VESTA-like viewers draw it)
JMOL_COLOURS = {
    "H": "FFFFFF", "He": "D9FFFF", "Li": "CC80FF", "Be": "C2FF00", "B": "FFB5B5", "C": "909090",
    "N": "3050F8", "O": "FF0D0D", "F": "90E050", "Ne": "B3E3F5", "Na": "AB5CF2", "Mg": "8AFF00",
    "Al": "BFA6A6", "Si": "F0C8A0", "P": "FF8000", "S": "FFFF30", "Cl": "1FF01F", "Ar": "80D1E3",
    "K": "8F40D4", "Ca": "3DFF00", "Sc": "E6E6E6", "Ti": "BFC2C7", "V": "A6A6AB", "Cr": "8A99C7",
    "Mn": "9C7AC7", "Fe": "E06633", "Co": "F090A0", "Ni": "50D050", "Cu": "C88033", "Zn": "7D80B0",
    "Ga": "C28F8F", "Ge": "668F8F", "As": "BD80E3", "Se": "FFA100", "Br": "A62929", "Kr": "5CB8D1",
    "Rb": "702EB0", "Sr": "00FF00", "Y": "94FFFF", "Zr": "94E0E0", "Nb": "73C2C9", "Mo": "54B5B5",
    "Tc": "3B9E9E", "Ru": "248F8F", "Rh": "0A7D8C", "Pd": "006985", "Ag": "C0C0C0", "Cd": "FFD98F",
    "In": "A67573", "Sn": "668080", "Sb": "9E63B5", "Te": "D47A00", "I": "940094", "Xe": "429EB0",
    "Cs": "57178F", "Ba": "00C900", "La": "70D4FF", "Ce": "FFFFC7", "Nd": "C7FFC7", "Gd": "45FFC7",
    "Hf": "4DC2FF", "Ta": "4DA6FF", "W": "2194D6", "Re": "267DAB", "Os": "266696", "Ir": "175487",
    "Pt": "D0D0E0", "Au": "FFD123", "Hg": "B8B8D0", "Tl": "A6544D", "Pb": "575961", "Bi": "9E4FB5",
    "U": "008FFF",
}
UNKNOWN_ELEMENT = "FF1493"


def hex_rgb(text: str) -> tuple[float, float, float]:
    """'A62929' or '#a62929' -> (r, g, b) in 0-1."""
    t = text.lstrip("#")
    return tuple(int(t[i:i + 2], 16) / 255 for i in (0, 2, 4))  # type: ignore[return-value]


def categorical(n: int, background: str = "dark") -> np.ndarray:
    """``n`` distinct colours (n x 3, 0-1) for ``background`` "dark" or "light": the variant
    colours, then the glasbey colours DOMAIN_DELTA_E from those before, then the other glasbey
    colours; beyond those (260) colours repeat."""
    palette = domain_palette(background)
    return palette[np.arange(n) % len(palette)]


@functools.cache
def domain_palette(background: str) -> np.ndarray:
    """The whole ordered palette of ``categorical`` (m x 3, 0-1), computed once per background."""
    glasbey = np.array([hex_rgb(c) if isinstance(c, str) else c for c in GLASBEY[background]], float)
    kept = [np.array(c, float) for c in VARIANT_COLOURS]
    rest = []
    for colour in glasbey:
        near = ciede2000(srgb_to_lab(np.array(kept)), srgb_to_lab(colour)).min()
        (kept if near >= DOMAIN_DELTA_E else rest).append(colour)
    return np.array(kept + rest)


SRGB_TO_XYZ = np.array([[0.4124564, 0.3575761, 0.1804375], [0.2126729, 0.7151522, 0.0721750],
                        [0.0193339, 0.1191920, 0.9503041]])
D65_WHITE = np.array([0.95047, 1.0, 1.08883])


def srgb_to_lab(rgb) -> np.ndarray:
    """sRGB (0-1, ... x 3) -> CIELAB (D65 white)."""
    rgb = np.asarray(rgb, float)
    lin = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    t = (lin @ SRGB_TO_XYZ.T) / D65_WHITE
    d = 6 / 29
    f = np.where(t > d**3, np.cbrt(t), t / (3 * d * d) + 4 / 29)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], -1)


def ciede2000(lab1, lab2) -> np.ndarray:
    """The CIEDE2000 colour difference of CIELAB colours, broadcast over leading axes (Sharma, Wu
    and Dalal, Color Res. Appl. 30, 21 (2005); tests/test_app_palettes.py checks their test pairs)."""
    l1, a1, b1 = np.moveaxis(np.asarray(lab1, float), -1, 0)
    l2, a2, b2 = np.moveaxis(np.asarray(lab2, float), -1, 0)
    c_mean = (np.hypot(a1, b1) + np.hypot(a2, b2)) / 2
    g = 0.5 * (1 - np.sqrt(c_mean**7 / (c_mean**7 + 25.0**7)))
    a1p, a2p = (1 + g) * a1, (1 + g) * a2
    c1p, c2p = np.hypot(a1p, b1), np.hypot(a2p, b2)
    h1p = np.degrees(np.arctan2(b1, a1p)) % 360
    h2p = np.degrees(np.arctan2(b2, a2p)) % 360
    zero = c1p * c2p == 0
    dh = h2p - h1p
    dh = np.where(zero, 0.0, np.where(dh > 180, dh - 360, np.where(dh < -180, dh + 360, dh)))
    d_l, d_c = l2 - l1, c2p - c1p
    d_h = 2 * np.sqrt(c1p * c2p) * np.sin(np.radians(dh / 2))
    l_mean, cp_mean = (l1 + l2) / 2, (c1p + c2p) / 2
    hsum = h1p + h2p
    h_mean = np.where(zero, hsum, np.where(np.abs(h1p - h2p) <= 180, hsum / 2,
                                           np.where(hsum < 360, (hsum + 360) / 2, (hsum - 360) / 2)))
    t = (1 - 0.17 * np.cos(np.radians(h_mean - 30)) + 0.24 * np.cos(np.radians(2 * h_mean))
         + 0.32 * np.cos(np.radians(3 * h_mean + 6)) - 0.20 * np.cos(np.radians(4 * h_mean - 63)))
    rotation = 30 * np.exp(-(((h_mean - 275) / 25) ** 2))
    r_c = 2 * np.sqrt(cp_mean**7 / (cp_mean**7 + 25.0**7))
    s_l = 1 + 0.015 * (l_mean - 50) ** 2 / np.sqrt(20 + (l_mean - 50) ** 2)
    s_c = 1 + 0.045 * cp_mean
    s_h = 1 + 0.015 * cp_mean * t
    r_t = -np.sin(np.radians(2 * rotation)) * r_c
    return np.sqrt((d_l / s_l) ** 2 + (d_c / s_c) ** 2 + (d_h / s_h) ** 2 + r_t * (d_c / s_c) * (d_h / s_h))


def lab_to_srgb(lab) -> np.ndarray:
    """Inverse of ``srgb_to_lab`` (D65), clipped to 0-1."""
    lab = np.asarray(lab, float)
    fy = (lab[..., 0] + 16) / 116
    f = np.stack([fy + lab[..., 1] / 500, fy, fy - lab[..., 2] / 200], -1)
    d = 6 / 29
    t = np.where(f > d, f**3, 3 * d * d * (f - 4 / 29))
    xyz = t * D65_WHITE
    lin = np.clip(xyz @ np.linalg.inv(SRGB_TO_XYZ).T, 0, 1)
    return np.where(lin <= 0.0031308, 12.92 * lin, 1.055 * lin ** (1 / 2.4) - 0.055)


def readable(rgb, background: str, min_delta: float = READABLE_DELTA_E) -> tuple[float, float, float]:
    """``rgb`` (0-1) made lighter (dark background) or darker (light one) in CIELAB until it
    stands ``min_delta`` (CIEDE2000) from the background; hue and chroma kept as far as sRGB
    allows. Colours already that far are returned as they are."""
    bg = srgb_to_lab(BACKGROUNDS[background])
    lab = srgb_to_lab(rgb)
    step = 2.0 if background == "dark" else -2.0
    out = np.asarray(rgb, float)
    for _ in range(50):  # at most the whole lightness range
        if ciede2000(srgb_to_lab(out), bg) >= min_delta:
            break
        lab = np.array([np.clip(lab[0] + step, 0, 100), lab[1], lab[2]])
        out = lab_to_srgb(lab)
    return tuple(float(v) for v in out)  # type: ignore[return-value]


def element_colour(symbol: str, background: str = "dark") -> tuple[float, float, float]:
    """The Jmol colour of an element, readable on ``background``."""
    return readable(hex_rgb(JMOL_COLOURS.get(symbol, UNKNOWN_ELEMENT)), background)
