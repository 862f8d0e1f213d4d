"""Radiations as small typed objects found by name in a registry.

A radiation gives every atom type its scattering factor on a Q grid (1/Å):

- ``XRay(wavelength=None, energy_kev=None, anomalous=True)``: f(Q) = f0(s) + f'(E) + i f''(E)
  (electrons), s = Q / (4 pi); f', f'' at the beam energy E (keV, = 12.398 / wavelength in Å)
  when the energy is known and ``anomalous`` is on, else 0.
- ``Neutron(wavelength=None)``: the coherent scattering length b_c (fm), constant in Q.

``RADIATIONS`` maps a name ("xray", "neutron") to its class; ``make_radiation(name, **params)``
builds one and ``radiation_from_dict`` reads the plain dict ``Radiation.to_dict`` writes.
Adding a radiation (electrons, say) is one class with ``kind``, ``form_factor``, ``to_dict``
and a ``register_radiation`` call (docs/internals.md).
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import ClassVar

import numpy as np

from nanotwin_core.checks import positive_number
from nanotwin_core.errors import NanotwinError
from nanotwin_core.scattering.form_factors import (
    HC_KEV_ANGSTROM,
    neutron_length,
    xray_form_factor,
)


@dataclass(frozen=True)
class Radiation:
    """Base of the radiations: a ``kind`` name, a wavelength (Å, optional) and form factors."""

    kind: ClassVar[str] = ""
    unit: ClassVar[str] = ""  # of the form factors: "electrons" or "fm"

    @property
    def beam_wavelength(self) -> float | None:
        """The wavelength in Å when the radiation knows it (2theta <-> Q needs it)."""
        return getattr(self, "wavelength", None)

    def form_factor(self, symbol: str, q: np.ndarray) -> np.ndarray:
        """Complex f(Q) of an element or ion on ``q`` (1/Å), shape of q."""
        raise NotImplementedError

    def with_wavelength(self, wavelength: float | None) -> Radiation:
        """This radiation with ``wavelength`` (Å) filled in where it had none (e.g. the data's)."""
        if wavelength is None or self.beam_wavelength is not None or not hasattr(self, "wavelength"):
            return self
        return replace(self, wavelength=float(wavelength))

    def to_dict(self) -> dict:
        """Plain JSON/TOML-safe dict (no None values) with ``kind``; see ``radiation_from_dict``."""
        out: dict = {"kind": self.kind}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is not None:
                out[f.name] = value
        return out

    def describe(self) -> str:
        """One line for file headers and reports."""
        return self.kind


def _check_positive(name: str, value: float | None, unit: str) -> float | None:
    return None if value is None else positive_number(value, name, unit)


XRAY_ENERGY_KEV = (1.0, 900.0)  # keV: the range of X-ray energies accepted (Chantler: 1 eV-966 keV)


@dataclass(frozen=True)
class XRay(Radiation):
    """X-rays: Waasmaier-Kirfel f0 plus Chantler f', f'' at the beam energy.

    ``wavelength`` (Å) or ``energy_kev`` (keV) give the beam; with neither, f' = f'' = 0.
    ``anomalous=False`` leaves f', f'' out at any energy.
    """

    kind: ClassVar[str] = "xray"
    unit: ClassVar[str] = "electrons"

    wavelength: float | None = None
    energy_kev: float | None = None
    anomalous: bool = True

    def __post_init__(self) -> None:
        wl = _check_positive("wavelength", self.wavelength, "Å")
        en = _check_positive("energy_kev", self.energy_kev, "keV")
        if wl is not None and en is not None and abs(HC_KEV_ANGSTROM / wl - en) > 1e-6 * en:
            raise NanotwinError(f"wavelength {wl:g} Å and energy {en:g} keV disagree "
                                f"({HC_KEV_ANGSTROM / wl:.6g} keV); give one of them")
        object.__setattr__(self, "wavelength", wl)
        object.__setattr__(self, "energy_kev", en)
        object.__setattr__(self, "anomalous", bool(self.anomalous))
        e = self.energy
        if e is not None and not XRAY_ENERGY_KEV[0] <= e <= XRAY_ENERGY_KEV[1]:
            raise NanotwinError(
                f"X-ray energy {e:.6g} keV (wavelength {HC_KEV_ANGSTROM / e:.6g} Å) is outside "
                f"{XRAY_ENERGY_KEV[0]:g}-{XRAY_ENERGY_KEV[1]:g} keV, where diffraction and the "
                "tabulated f', f'' make sense (energies are in keV, wavelengths in Å)")

    @property
    def energy(self) -> float | None:
        """Beam energy in keV (from ``energy_kev`` or the wavelength; None if neither)."""
        if self.energy_kev is not None:
            return self.energy_kev
        if self.wavelength is not None:
            return HC_KEV_ANGSTROM / self.wavelength
        return None

    @property
    def beam_wavelength(self) -> float | None:
        if self.wavelength is not None:
            return self.wavelength
        return HC_KEV_ANGSTROM / self.energy_kev if self.energy_kev is not None else None

    @property
    def anomalous_energy(self) -> float | None:
        """The energy (keV) at which f', f'' are evaluated; None when they are left out."""
        return self.energy if self.anomalous else None

    def form_factor(self, symbol: str, q: np.ndarray) -> np.ndarray:
        try:
            return xray_form_factor(symbol, q, self.anomalous_energy, True)
        except ValueError as exc:
            raise NanotwinError(str(exc)) from None

    def describe(self) -> str:
        e = self.anomalous_energy
        if e is not None:
            return f"xray, anomalous on at {e:.5g} keV"
        if self.energy is not None:
            return f"xray at {self.energy:.5g} keV, anomalous off"
        return "xray, no wavelength or energy given: f' = f'' = 0"


@dataclass(frozen=True)
class Neutron(Radiation):
    """Neutrons: coherent scattering lengths b_c (fm, complex for absorbers), constant in Q."""

    kind: ClassVar[str] = "neutron"
    unit: ClassVar[str] = "fm"

    wavelength: float | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "wavelength", _check_positive("wavelength", self.wavelength, "Å"))

    def form_factor(self, symbol: str, q: np.ndarray) -> np.ndarray:
        try:
            b = neutron_length(symbol)
        except ValueError as exc:
            raise NanotwinError(str(exc)) from None
        return np.full(np.shape(q), b, dtype=complex)


RADIATIONS: dict[str, type[Radiation]] = {}


def register_radiation(cls: type[Radiation]) -> type[Radiation]:
    """Make a radiation class known by its ``kind`` (usable as a decorator)."""
    if not cls.kind:
        raise NanotwinError(f"{cls.__name__} has no kind name")
    RADIATIONS[cls.kind] = cls
    return cls


register_radiation(XRay)
register_radiation(Neutron)


def make_radiation(kind: str, **params) -> Radiation:
    """The radiation called ``kind`` with its parameters (NanotwinError naming the known kinds)."""
    cls = RADIATIONS.get(str(kind).strip().lower())
    if cls is None:
        raise NanotwinError(f"unknown radiation {kind!r}; known: {', '.join(RADIATIONS)}")
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(params) - known)
    if unknown:
        raise NanotwinError(f"{cls.kind} radiation has no parameter {', '.join(unknown)}; "
                            f"known: {', '.join(sorted(known)) or 'none'}")
    return cls(**params)


def radiation_from_dict(d: dict) -> Radiation:
    """Inverse of ``Radiation.to_dict`` (``kind`` defaults to "xray")."""
    d = dict(d)
    return make_radiation(d.pop("kind", "xray"), **d)


def as_radiation(radiation: Radiation | str | None) -> Radiation:
    """A Radiation from an object, a registered name (default parameters) or None (X-rays, no
    anomalous terms)."""
    if radiation is None:
        return XRay()
    if isinstance(radiation, Radiation):
        return radiation
    if isinstance(radiation, str):
        return make_radiation(radiation)
    raise NanotwinError(f"radiation must be a Radiation or a name, got {type(radiation).__name__}")
