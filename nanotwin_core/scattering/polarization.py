"""Polarization factors and I(2theta).

P(2theta) = f + (1 - f) cos^2(2theta), f = fraction of the beam polarized perpendicular to the
scattering plane (SCIENCE.md section 5): "none" -> P = 1; "lab" (unpolarized) -> f = 0.5, i.e.
(1 + cos^2 2theta) / 2; "sync" -> f = 0.95 (synchrotron, vertical scattering plane);
"sync:F" or a number -> f = F; "mono:A" -> a lab tube behind a monochromator whose diffraction
angle 2theta_M is A degrees (perpendicular geometry): f = 1 / (1 + cos^2 2theta_M), i.e.
P = (1 + cos^2 2theta_M cos^2 2theta) / (1 + cos^2 2theta_M) (e.g. graphite (002) with Cu,
2theta_M = 26.6: f = 0.556).
"""

from __future__ import annotations

import math

import numpy as np

from nanotwin_core.errors import NanotwinError
from nanotwin_core.geometry import q_from_two_theta
from nanotwin_core.scattering.debye import debye_intensity
from nanotwin_core.scattering.radiation import Radiation, as_radiation
from nanotwin_core.scattering.types import PairHistograms

SYNCHROTRON_FRACTION = 0.95


def polarization_fraction(mode: str | float | None) -> float | None:
    """The fraction f for a mode ("none" -> None)."""
    if mode is None:
        return None
    if isinstance(mode, (int, float)):
        f = float(mode)
    else:
        text = str(mode).strip().lower()
        if text in ("none", "off", ""):
            return None
        if text in ("lab", "unpolarized", "unpolarised"):
            return 0.5
        if text in ("sync", "synchrotron"):
            return SYNCHROTRON_FRACTION
        if text.startswith("mono:"):
            try:
                angle = float(text[5:])
            except ValueError as exc:
                raise NanotwinError(f"polarization {mode!r}: expected mono:A with the monochromator's "
                                    "2theta A in degrees") from exc
            if not 0.0 <= angle < 180.0:
                raise NanotwinError(f"polarization {mode!r}: the monochromator's 2theta must lie in "
                                    "[0, 180) degrees")
            return 1.0 / (1.0 + math.cos(math.radians(angle)) ** 2)
        if text.startswith("sync:"):
            try:
                f = float(text[5:])
            except ValueError as exc:
                raise NanotwinError(f"polarization {mode!r}: expected sync:F with a number F") from exc
        else:
            raise NanotwinError(f"polarization must be none, lab, sync, sync:F or mono:2THETA_M, "
                                f"got {mode!r}")
    if not 0.0 <= f <= 1.0:
        raise NanotwinError(f"polarization fraction must lie in [0, 1], got {f}")
    return f


def polarization_factor(two_theta: np.ndarray, mode: str | float | None = "lab") -> np.ndarray:
    """P(2theta) for 2theta in degrees; mode "none", "lab", "sync", "sync:F" or a fraction f."""
    tth = np.asarray(two_theta, dtype=np.float64)
    f = polarization_fraction(mode)
    if f is None:
        return np.ones_like(tth)
    c = np.cos(np.radians(tth))
    return f + (1.0 - f) * c * c


def intensity_2theta(
    hist: PairHistograms,
    two_theta: np.ndarray,
    wavelength: float,
    *,
    polarization: str | float | None = "none",
    radiation: Radiation | str | None = None,
    **kwargs,
) -> np.ndarray:
    """I(2theta) = I(Q(2theta)) * P(2theta) for a wavelength in Å.

    The radiation takes the wavelength where it has none (so X-rays get their anomalous terms at
    the beam energy; pass ``XRay(anomalous=False)`` to leave them out). Other keywords go to
    ``debye_intensity``.
    """
    tth = np.asarray(two_theta, dtype=np.float64)
    if np.any(tth <= 0) or np.any(tth >= 180):
        raise NanotwinError("2theta must lie inside (0, 180) degrees")
    q = q_from_two_theta(tth, wavelength)
    rad = as_radiation(radiation).with_wavelength(wavelength)
    return debye_intensity(hist, q, radiation=rad, **kwargs) * polarization_factor(two_theta, polarization)
