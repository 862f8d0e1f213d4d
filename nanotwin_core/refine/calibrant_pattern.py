"""A calibrant's 2theta pattern through a given instrument (a reference for the calibrant fit).

Sharp Bragg peaks (areas m |F|^2 P / (sin^2 t cos t), f = Z, with the polarization P of the
instrument) placed as delta functions on the grid itself (each peak's true 2theta is added to
the grid, so no sampling broadens it), convolved by ``InstrumentProfile.apply`` (the DSE fits'
own convolution, zero shift included; a K-alpha2 line as its own peaks at lambda2's Bragg angles
with ``kalpha2`` x the areas, independent of the fits' doublet), on a flat background, with
optional Poisson noise.
"""

from __future__ import annotations

import math

import numpy as np

from nanotwin_core.errors import NanotwinError
from nanotwin_core.model_parts import Instrument
from nanotwin_core.phases import phase_reflections
from nanotwin_core.refine.instrument import cell_widths, resolution_profile
from nanotwin_core.scattering.polarization import polarization_factor
from nanotwin_core.structures.structure import Structure

__all__ = ["calibrant_pattern"]


def calibrant_pattern(structure: Structure, tth: np.ndarray, wavelength: float, instrument: Instrument, *,
                      peak_counts: float = 1e4, background: float = 100.0,
                      rng: np.random.Generator | None = None) -> np.ndarray:
    """Intensity at the observed 2theta ``tth`` (degrees, increasing) of ``structure`` at
    ``wavelength`` (Å) through ``instrument`` (needs its Caglioti terms); the strongest peak's
    top is about ``peak_counts`` above ``background``; ``rng`` given: Poisson counts."""
    x = np.asarray(tth, float)
    if instrument.caglioti is None:
        raise NanotwinError("a calibrant pattern needs the instrument's Caglioti U, V, W")
    ins = instrument
    q_hi = 4 * math.pi * math.sin(math.radians(min(x[-1] + 1.0, 179.9) / 2)) / wavelength
    refl = phase_reflections(structure, q_hi)
    q = np.array([r.q for r in refl])
    strength = np.array([r.multiplicity * r.f_squared for r in refl])
    # a K-alpha2 line: its own delta peaks at Bragg's angles for lambda2 with ratio x the areas
    lines = [(wavelength, 1.0)]
    if ins.kalpha2 is not None:
        lines.append((ins.kalpha2_wavelength(wavelength), ins.kalpha2))
    true = np.concatenate([2 * np.degrees(np.arcsin(np.clip(lam * q / (4 * math.pi), 0, 1)))
                           for lam, _ in lines])
    weight = np.concatenate([np.full(q.size, w) for _, w in lines])
    th = np.radians(true) / 2
    area = weight * np.tile(strength, len(lines)) / (np.sin(th) ** 2 * np.cos(th))
    area *= polarization_factor(true, ins.polarization)
    obs = true + ins.zero
    inside = (obs > x[0]) & (obs < x[-1])
    grid = np.union1d(x, obs[inside])
    t = grid - ins.zero
    widths = cell_widths(t)
    density = np.zeros(grid.size)
    idx = np.searchsorted(grid, obs[inside])
    np.add.at(density, idx, area[inside] / widths[idx])
    profile = resolution_profile(ins.caglioti, ins.lorentzian, zero=ins.zero, wavelength=wavelength)
    peaks = profile.apply(grid, density)[np.searchsorted(grid, x)]
    y = background + peak_counts * peaks / peaks.max()
    return rng.poisson(y).astype(float) if rng is not None else y
