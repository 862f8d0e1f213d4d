"""Diffraction geometry: Q <-> 2theta <-> d (the one copy of these formulas).

Q = 4 pi sin(theta) / lambda (1/Å), 2theta in degrees, lambda in Å, d = 2 pi / Q (Å).
"""

from __future__ import annotations

import numpy as np

from nanotwin_core.checks import positive_number
from nanotwin_core.errors import NanotwinError

__all__ = ["d_from_q", "q_from_two_theta", "two_theta_from_q"]


def _wavelength(wavelength: float) -> float:
    return positive_number(wavelength, "wavelength", "Å")


def q_from_two_theta(two_theta: np.ndarray | float, wavelength: float) -> np.ndarray:
    """Q (1/Å) = 4 pi sin(2theta / 2) / lambda for 2theta in degrees and lambda in Å."""
    wl = _wavelength(wavelength)
    return 4.0 * np.pi * np.sin(np.radians(np.asarray(two_theta, dtype=float)) / 2.0) / wl


def two_theta_from_q(q: np.ndarray | float, wavelength: float, *, beyond: str = "raise") -> np.ndarray:
    """2theta (degrees) of Q (1/Å) for lambda (Å). Where Q lambda / (4 pi) > 1 (no such angle):
    ``beyond="raise"`` raises NanotwinError, ``beyond="nan"`` gives NaN."""
    wl = _wavelength(wavelength)
    s = np.asarray(q, dtype=float) * wl / (4.0 * np.pi)
    bad = ~(np.abs(s) <= 1.0)
    if np.any(bad):
        if beyond != "nan":
            raise NanotwinError(f"Q up to {np.nanmax(np.abs(q)):.4g} 1/Å is beyond 4 pi/lambda = "
                                f"{4 * np.pi / wl:.4g} 1/Å for lambda = {wl:g} Å")
        return np.where(bad, np.nan, 2.0 * np.degrees(np.arcsin(np.clip(s, -1.0, 1.0))))
    return 2.0 * np.degrees(np.arcsin(s))


def d_from_q(q: np.ndarray | float) -> np.ndarray:
    """d (Å) = 2 pi / Q; NaN where Q <= 0."""
    q = np.asarray(q, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(q > 0, 2.0 * np.pi / np.where(q > 0, q, 1.0), np.nan)
