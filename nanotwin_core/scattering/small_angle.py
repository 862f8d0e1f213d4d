"""The small-angle region: chains of stacked crystals and organic ligand shells.

The Debye sum of a crystal already holds its own form factor at low Q (the small-angle rise).
Two terms describe what surrounds it:

- **Chains** of N identical crystals stacked along c at spacing d (the crystal's size along c:
  L_c of a prism or platelet, the edge or diameter of a cuboid or sphere). With the crystal's
  scattering taken as orientation-independent relative to the chain axis (the decoupling
  approximation, exact for spheres and for any shape as Q -> 0), the powder intensity per crystal
  is I_1(Q) S_N(Q) with

      S_N(Q) = 1 + (2/N) sum_{m=1}^{N-1} (N - m) sin(Q m d) / (Q m d),

  S_1 = 1, S_N(0) = N, S_N -> 1 at Q d >> 1 (the wide-angle pattern is untouched). A real N
  between whole numbers is a mixture of chains of floor(N) and ceil(N) crystals, weighted by the
  crystals they hold, so the crystal-weighted mean length is N (what a refinement of N reports).
- **Ligand shell**: a shell of thickness t and uniform density rho (electrons/Å^3 for X-rays) around
  the crystal, taken as its equal-volume sphere of radius R (volume = atoms x volume per atom).
  With A_c(Q) = Z F(QR) the crystal's amplitude at low Q (Z = sum of f(0) of its atoms, F the
  sphere amplitude 3 (sin x - x cos x) / x^3) and A_s(Q) = rho [V(R+t) F(Q(R+t)) - V(R) F(QR)]
  exp(-Q^2 sigma^2 / 2) (a diffuse shell: sigma = 3 Å of interface width, as in fuzzy-sphere
  models, so the sharp-edge ripples of F do not reach the wide-angle pattern), the shell adds
  2 A_c A_s + A_s^2 to the crystal's Debye intensity (in vacuum; a solvent's own density is not
  subtracted: fit the solvent as a blank). Both terms vanish at wide angles.
"""

from __future__ import annotations

import math

import numpy as np

from nanotwin_core.errors import NanotwinError

__all__ = ["chain_factor", "ligand_shell_intensity", "sphere_amplitude"]

_SERIES_X = 1e-2  # below this x the sphere amplitude uses its Taylor series
SHELL_INTERFACE_A = 3.0  # Å, Gaussian width of the ligand shell's density profile


def _sinc(x: np.ndarray) -> np.ndarray:
    return np.sinc(x / np.pi)  # numpy's sinc is sin(pi x)/(pi x)


def _whole_chain(q: np.ndarray, d: float, n: int) -> np.ndarray:
    out = np.ones(len(q))
    if n <= 1:
        return out
    acc = np.zeros(len(q))
    for m in range(1, n):
        acc += (n - m) * _sinc(q * (m * d))
    return out + (2.0 / n) * acc


def chain_factor(q: np.ndarray, spacing_A: float, beads: float) -> np.ndarray:
    """S_N(Q) of chains of ``beads`` crystals at ``spacing_A`` (Å) (module doc); exactly 1 for N = 1."""
    q = np.asarray(q, dtype=float)
    n = float(beads)
    if not (math.isfinite(n) and n >= 1):
        raise NanotwinError(f"a chain holds N >= 1 crystals, got {beads}")
    if not spacing_A > 0:
        raise NanotwinError(f"chain spacing must be > 0 Å, got {spacing_A}")
    lo = math.floor(n)
    x = n - lo
    out = _whole_chain(q, spacing_A, lo)
    if x > 0:
        out = (1.0 - x) * out + x * _whole_chain(q, spacing_A, lo + 1)
    return out


def sphere_amplitude(x: np.ndarray) -> np.ndarray:
    """3 (sin x - x cos x) / x^3, the normalised amplitude of a uniform sphere (1 at x = 0)."""
    x = np.asarray(x, dtype=float)
    out = np.empty_like(x)
    small = np.abs(x) < _SERIES_X
    xs = x[small] ** 2
    out[small] = 1.0 - xs / 10.0 + xs * xs / 280.0
    xl = x[~small]
    out[~small] = 3.0 * (np.sin(xl) - xl * np.cos(xl)) / xl**3
    return out


def ligand_shell_intensity(q: np.ndarray, radius_A: np.ndarray, electrons: np.ndarray, thickness_A: float,
                           density: float, interface_A: float = SHELL_INTERFACE_A) -> np.ndarray:
    """(n_crystals, nq) intensity a ligand shell adds to crystals of equal-volume radius
    ``radius_A`` (Å) holding ``electrons`` (sum of f(0)): 2 A_c A_s + A_s^2 (module doc);
    ``interface_A``: the shell's diffuse width (0: a sharp shell)."""
    q = np.asarray(q, dtype=float)[None, :]
    r = np.asarray(radius_A, dtype=float).reshape(-1, 1)
    z = np.asarray(electrons, dtype=float).reshape(-1, 1)
    if not thickness_A > 0 or not density >= 0:
        raise NanotwinError("a ligand shell needs a thickness > 0 Å and a density >= 0")
    outer = r + thickness_A
    vol_in = 4.0 / 3.0 * np.pi * r**3
    vol_out = 4.0 / 3.0 * np.pi * outer**3
    core_amp = sphere_amplitude(q * r)
    a_core = z * core_amp
    a_shell = density * (vol_out * sphere_amplitude(q * outer) - vol_in * core_amp) \
        * np.exp(-0.5 * (q * interface_A) ** 2)
    return 2.0 * a_core * a_shell + a_shell**2
