"""Atomic scattering factors: f0(s), anomalous f'(E), f''(E), neutron lengths.

X-ray: f(Q) = f0(s) + f'(E) + i f''(E), s = sin(theta)/lambda = Q / (4 pi) in 1/Å.
f0 is Waasmaier-Kirfel (1995) through xraydb (``xraydb.f0`` takes s, not Q);
f', f'' are Chantler's tables through xraydb; E in keV (E = 12.398 / lambda[Å]).
Neutron: coherent scattering lengths b_c (fm) from ``periodictable``, Q-independent.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import periodictable
import xraydb

from nanotwin_core.errors import NanotwinError
from nanotwin_core.structures.elements import element_of, normalise_symbol

__all__ = ["HC_KEV_ANGSTROM", "anomalous", "element_of", "energy_from_wavelength", "f0", "form_factor",
           "neutron_length", "normalise_symbol", "wavelength_from_energy", "xray_form_factor"]

HC_KEV_ANGSTROM = 12.398419843320026  # h c in keV Å


def energy_from_wavelength(wavelength_angstrom: float) -> float:
    """Photon energy in keV for a wavelength in Å."""
    if not wavelength_angstrom > 0:
        raise NanotwinError(f"wavelength must be > 0 Å, got {wavelength_angstrom}")
    return HC_KEV_ANGSTROM / wavelength_angstrom


def wavelength_from_energy(energy_kev: float) -> float:
    """Wavelength in Å for a photon energy in keV."""
    if not energy_kev > 0:
        raise NanotwinError(f"energy must be > 0 keV, got {energy_kev}")
    return HC_KEV_ANGSTROM / energy_kev


@lru_cache(maxsize=256)
def _check_f0_symbol(symbol: str) -> str:
    sym = normalise_symbol(symbol)
    el = element_of(sym)
    try:
        ions = xraydb.f0_ions(el)
    except Exception as exc:  # xraydb raises plain errors for unknown elements
        raise NanotwinError(f"unknown element {symbol!r}") from exc
    if not ions:
        raise NanotwinError(f"no form factor for {symbol!r}")
    if sym not in ions:
        raise NanotwinError(f"no form factor for ion {symbol!r}; known: {', '.join(ions)}")
    return sym


def f0(symbol: str, s: np.ndarray | float) -> np.ndarray:
    """Waasmaier-Kirfel f0 (electrons) at s = sin(theta)/lambda (1/Å) for an element or ion."""
    sym = _check_f0_symbol(symbol)
    s_arr = np.atleast_1d(np.asarray(s, dtype=float))
    if np.any(s_arr < 0):
        raise NanotwinError("s must be >= 0")
    return np.asarray(xraydb.f0(sym, s_arr), dtype=float).reshape(np.shape(s_arr))


@lru_cache(maxsize=1024)
def anomalous(symbol: str, energy_kev: float) -> tuple[float, float]:
    """Chantler f'(E), f''(E) in electrons for an element at a photon energy in keV."""
    el = element_of(symbol)
    if not energy_kev > 0:
        raise NanotwinError(f"energy must be > 0 keV, got {energy_kev}")
    try:
        fp = float(xraydb.f1_chantler(el, energy_kev * 1000.0))
        fpp = float(xraydb.f2_chantler(el, energy_kev * 1000.0))
    except Exception as exc:
        raise NanotwinError(f"no anomalous scattering data for {symbol!r} at {energy_kev} keV") from exc
    return fp, fpp


def xray_form_factor(
    symbol: str,
    q: np.ndarray,
    energy_kev: float | None = None,
    anomalous_dispersion: bool = True,
) -> np.ndarray:
    """Complex f(Q) = f0(Q/4pi) + f' + i f'' on a Q grid (1/Å).

    With ``energy_kev`` None or ``anomalous_dispersion`` False, f' = f'' = 0.
    """
    q = np.asarray(q, dtype=float)
    out = f0(symbol, q / (4.0 * np.pi)).astype(complex)
    if energy_kev is not None and anomalous_dispersion:
        fp, fpp = anomalous(symbol, float(energy_kev))
        out += fp + 1j * fpp
    return out


@lru_cache(maxsize=256)
def neutron_length(symbol: str) -> complex:
    """Coherent neutron scattering length b_c in fm (complex for absorbers), from periodictable."""
    el = element_of(symbol)
    try:
        atom = getattr(periodictable, el)
    except AttributeError as exc:
        raise NanotwinError(f"unknown element {symbol!r}") from exc
    b = atom.neutron.b_c
    if b is None:
        raise NanotwinError(f"no neutron scattering length for {symbol!r}")
    b_i = getattr(atom.neutron, "b_c_i", None) or 0.0
    return complex(b, -abs(b_i)) if b_i else complex(b, 0.0)


def form_factor(
    symbol: str,
    q: np.ndarray,
    radiation: str = "xray",
    energy_kev: float | None = None,
    anomalous_dispersion: bool = True,
) -> np.ndarray:
    """f(Q) for X-rays (electrons) or neutrons (fm, constant in Q), complex, shape of q."""
    if radiation == "xray":
        return xray_form_factor(symbol, q, energy_kev, anomalous_dispersion)
    if radiation == "neutron":
        return np.full(np.shape(q), neutron_length(symbol), dtype=complex)
    raise NanotwinError(f"radiation must be 'xray' or 'neutron', got {radiation!r}")
