"""Instrument function and intensity corrections on a 2theta grid (degrees).

- Peak width: Caglioti, Paoletti & Ricci (1958), FWHM^2 = U tan^2(theta) + V tan(theta) + W (deg^2);
  pseudo-Voigt profile with a fixed mixing ``eta`` or, with Lorentzian terms X, Y, the
  Thompson-Cox-Hastings (1987, J. Appl. Cryst. 20, 79) combination of a Gaussian (Caglioti) and a
  Lorentzian (X tan(theta) + Y/cos(theta)) width.
- The convolution is a sparse banded matrix: column j spreads the model intensity at x_j over
  +-``cutoff`` FWHM with the profile of width FWHM(x_j); columns are normalised on the (possibly
  non-uniform) grid, so integrated intensity is conserved.
- K-alpha2 (lab data): a second component at the same Q for lambda2 (Cu: 1.54439 Å) whose area in
  2theta is ``ratio`` times the K-alpha1 one (GSAS-II's I(L2)/I(L1) convention: the intensity at
  2theta is ratio x I1(2theta') x d2theta'/d2theta with sin(theta') = sin(theta) lambda1/lambda2).
- Zero shift: the observed 2theta is the true 2theta + zero; evaluate the model at 2theta - zero.
- Polarization P = f + (1 - f) cos^2(2theta) (f = 0.5 unpolarized lab source; f ~ 0.95 or more
  for a synchrotron with a vertical scattering plane).
- Capillary (Debye-Scherrer) absorption: the transmission factor of a cylinder fully bathed in
  the beam, by direct numerical integration over the cross-section (exact), or the Hewat (1979)
  approximation used by GSAS, A = exp[-(1.7133 - 0.0368 sin^2 t) muR + (0.0927 + 0.3750 sin^2 t)
  (muR)^2], for muR < ~1 (t = theta).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.special import erf

from nanotwin_core.cache_keys import content_key
from nanotwin_core.errors import NanotwinError
from nanotwin_core.geometry import q_from_two_theta
from nanotwin_core.scattering.polarization import polarization_factor

__all__ = [
    "CU_KA1",
    "CU_KA2",
    "caglioti_fwhm",
    "pseudo_voigt",
    "tch_fwhm_eta",
    "InstrumentProfile",
    "convolution_matrix",
    "polarization",
    "capillary_transmission",
    "kalpha2_positions",
    "resolution_profile",
    "cell_widths",
    "observed_pattern",
    "instrument_profile",
]

CU_KA1 = 1.540593  # Å
CU_KA2 = 1.54439  # Å

_LN2 = math.log(2.0)


def caglioti_fwhm(tth: np.ndarray, u: float, v: float, w: float) -> np.ndarray:
    """Gaussian FWHM (degrees) = sqrt(U tan^2 theta + V tan theta + W) at 2theta ``tth`` (degrees)."""
    t = np.tan(np.radians(np.asarray(tth, float)) / 2)
    f2 = u * t * t + v * t + w
    if np.any(f2 <= 0):
        raise NanotwinError(f"Caglioti U={u}, V={v}, W={w} give FWHM^2 <= 0 on the grid")
    return np.sqrt(f2)


def pseudo_voigt(dx: np.ndarray, fwhm: np.ndarray | float, eta: np.ndarray | float) -> np.ndarray:
    """Unit-area pseudo-Voigt eta L + (1 - eta) G at offsets ``dx`` (same units as fwhm)."""
    hw = 0.5 * np.asarray(fwhm, float)
    g = math.sqrt(_LN2 / math.pi) / hw * np.exp(-_LN2 * (dx / hw) ** 2)
    lo = 1.0 / (math.pi * hw * (1.0 + (dx / hw) ** 2))
    return eta * lo + (1.0 - eta) * g


def tch_fwhm_eta(fwhm_g: np.ndarray, fwhm_l: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Thompson-Cox-Hastings (1987) total FWHM and mixing eta from Gaussian and Lorentzian FWHMs."""
    g = np.asarray(fwhm_g, float)
    lz = np.asarray(fwhm_l, float)
    f = (
        g**5
        + 2.69269 * g**4 * lz
        + 2.42843 * g**3 * lz**2
        + 4.47163 * g**2 * lz**3
        + 0.07842 * g * lz**4
        + lz**5
    ) ** 0.2
    q = lz / f
    eta = 1.36603 * q - 0.47719 * q**2 + 0.11116 * q**3
    return f, np.clip(eta, 0.0, 1.0)


def cell_widths(x: np.ndarray) -> np.ndarray:
    """Width of the grid cell of every point (midpoint rule, non-uniform grids allowed)."""
    edges = np.empty(x.size + 1)
    edges[1:-1] = 0.5 * (x[1:] + x[:-1])
    edges[0] = x[0] - 0.5 * (x[1] - x[0])
    edges[-1] = x[-1] + 0.5 * (x[-1] - x[-2])
    return np.diff(edges)


_cell_widths = cell_widths  # the name tests/test_refine.py imports


def convolution_matrix(
    x: np.ndarray, fwhm: np.ndarray, eta: np.ndarray | float, *, cutoff: float = 20.0, normalize: bool = True
) -> sparse.csc_matrix:
    """Sparse (CSC) matrix R with (R @ y)_i = sum_j PV(x_i - x_j; fwhm_j, eta_j) y_j dx_j.

    Parameters
    ----------
    x : strictly increasing grid (any spacing).
    fwhm, eta : profile width (units of x) and mixing at every source point.
    cutoff : the profile is cut at +-cutoff x FWHM.
    normalize : scale every column so that sum_i R_ij dx_i = dx_j: the area is conserved exactly,
        the truncated tails going back under the window; columns cut by the grid ends lose the
        part beyond the grid.

    Intensities are densities (per unit x): the area sum_i y_i dx_i is conserved.
    """
    x = np.asarray(x, float)
    n = x.size
    if n < 2 or np.any(np.diff(x) <= 0):
        raise NanotwinError("convolution grid must have >= 2 strictly increasing points")
    fwhm = np.broadcast_to(np.asarray(fwhm, float), x.shape)
    eta = np.broadcast_to(np.asarray(eta, float), x.shape)
    dx = cell_widths(x)
    lo = np.searchsorted(x, x - cutoff * fwhm, side="left")
    hi = np.searchsorted(x, x + cutoff * fwhm, side="right")
    counts = hi - lo
    indptr = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)
    nnz = int(indptr[-1])
    idx_type = np.int32 if nnz < 2**31 - 1 and n < 2**31 - 1 else np.int64
    data = np.empty(nnz)
    indices = np.empty(nnz, dtype=idx_type)
    # columns whose window lies inside the grid: discrete area normalised to 1 (the truncated
    # tails are put back under the window); columns cut by the grid ends: the analytic in-window
    # area is normalised to 1 and the part beyond the grid is lost
    full = (x - cutoff * fwhm >= x[0]) & (x + cutoff * fwhm <= x[-1])
    block = max(1, 2_000_000 // max(1, int(counts.max())))
    for j0 in range(0, n, block):
        j1 = min(n, j0 + block)
        c = counts[j0:j1]
        cols = np.repeat(np.arange(j0, j1), c)
        a0, a1 = int(indptr[j0]), int(indptr[j1])
        rows = np.arange(a0, a1) - indptr[cols] + lo[cols]
        vals = pseudo_voigt(x[rows] - x[cols], fwhm[cols], eta[cols])
        if normalize:
            area = np.bincount(cols - j0, weights=vals * dx[rows], minlength=j1 - j0)
            ok = full[j0:j1] & (area > 0)
            scale = np.where(
                ok, 1.0 / np.where(area > 0, area, 1.0), 1.0 / _pv_window_area(cutoff, eta[j0:j1])
            )
            vals *= scale[cols - j0]
        data[a0:a1] = vals * dx[cols]
        indices[a0:a1] = rows
    return sparse.csc_matrix((data, indices, indptr.astype(idx_type)), shape=(n, n))


def _pv_window_area(cutoff: float, eta: np.ndarray) -> np.ndarray:
    """Area of a unit pseudo-Voigt inside +-cutoff x FWHM."""
    g = erf(2 * cutoff * math.sqrt(_LN2))
    lz = 2 / math.pi * math.atan(2 * cutoff)
    return eta * lz + (1 - eta) * g


def kalpha2_positions(tth: np.ndarray, lambda1: float, lambda2: float) -> tuple[np.ndarray, np.ndarray]:
    """For each observed 2theta, the K-alpha1 2theta with the same Q seen by lambda2, and d2theta'/d2theta.

    A model I1(2theta) for lambda1 contributes ratio x I1(2theta') x (d2theta'/d2theta) through
    lambda2, with sin(theta') = sin(theta) lambda1/lambda2.  Points beyond 2theta' = 180 are NaN-free:
    their sine is clipped to 1.
    """
    th = np.radians(np.asarray(tth, float)) / 2
    s = np.clip(np.sin(th) * lambda1 / lambda2, -1.0, 1.0)
    th1 = np.arcsin(s)
    with np.errstate(divide="ignore", invalid="ignore"):
        jac = np.where(np.cos(th1) > 0, lambda1 / lambda2 * np.cos(th) / np.cos(th1), 0.0)
    return 2 * np.degrees(th1), jac


@dataclass
class InstrumentProfile:
    """Resolution and geometry of a powder diffractometer (2theta in degrees).

    Attributes
    ----------
    u, v, w : Caglioti terms (deg^2).
    eta : pseudo-Voigt mixing (used when x_l = y_l = 0).
    x_l, y_l : Lorentzian FWHM = x_l tan(theta) + y_l / cos(theta) (deg); non-zero = TCH mixing.
    zero : zero shift (deg); observed 2theta = true 2theta + zero.
    kalpha2 : add a K-alpha2 component of ``ratio`` at ``lambda2`` (lambda1 = the data wavelength).
    ratio, lambda1, lambda2 : doublet ratio and wavelengths (Å), Cu by default.
    cutoff : profile cut at +-cutoff FWHM.
    convolve : False = no resolution (u, v, w, eta, x_l, y_l unused): the doublet and zero only.
    """

    u: float = 0.0
    v: float = 0.0
    w: float = 0.01
    eta: float = 0.5
    x_l: float = 0.0
    y_l: float = 0.0
    zero: float = 0.0
    kalpha2: bool = False
    ratio: float = 0.5
    lambda1: float = CU_KA1
    lambda2: float = CU_KA2
    cutoff: float = 20.0
    convolve: bool = True

    def fwhm_eta(self, tth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(FWHM in degrees, eta) at every 2theta."""
        fg = caglioti_fwhm(tth, self.u, self.v, self.w)
        if self.x_l == 0.0 and self.y_l == 0.0:
            return fg, np.full(fg.shape, float(self.eta))
        th = np.radians(np.asarray(tth, float)) / 2
        fl = self.x_l * np.tan(th) + self.y_l / np.cos(th)
        return tch_fwhm_eta(fg, np.maximum(fl, 0.0))

    def reach(self, tth: np.ndarray) -> np.ndarray:
        """How far (degrees) the profile spreads the intensity at each 2theta: +-cutoff x FWHM."""
        if not self.convolve:
            return np.zeros(np.shape(tth))
        return self.cutoff * self.fwhm_eta(tth)[0]

    def doublet_source(self, tth: np.ndarray) -> np.ndarray:
        """The 2theta whose K-alpha1 intensity the K-alpha2 line puts at ``tth`` (``tth`` itself
        without a doublet)."""
        if not self.kalpha2:
            return np.asarray(tth, float)
        return kalpha2_positions(tth, self.lambda1, self.lambda2)[0]

    def matrix(self, tth: np.ndarray) -> sparse.csc_matrix:
        """Convolution matrix on the grid ``tth`` (see :func:`convolution_matrix`).

        The last matrix is cached (same grid and same profile parameters: no rebuild).
        """
        tth = np.asarray(tth, float)
        key = (
            self.u,
            self.v,
            self.w,
            self.eta,
            self.x_l,
            self.y_l,
            self.cutoff,
            content_key(tth),
        )
        cached = getattr(self, "_cache", None)
        if cached is not None and cached[0] == key:
            return cached[1]
        fwhm, eta = self.fwhm_eta(tth)
        mat = convolution_matrix(tth, fwhm, eta, cutoff=self.cutoff)
        object.__setattr__(self, "_cache", (key, mat))
        return mat

    def reach_mask(self, tth: np.ndarray, fitted: np.ndarray) -> np.ndarray:
        """The points whose model intensity reaches a ``fitted`` point through the profile.

        A point x_j spreads over +-cutoff x FWHM(x_j): it is needed when a fitted point lies in
        that window. Evaluate the model on this (padded) mask, convolve, then keep the fitted
        points: the edges of a fitted range are then not starved of their neighbours' intensity.
        With a K-alpha2 line a point is also needed where the doublet takes a fitted point's
        intensity from (its 2theta' lies lower): some fitted x_i with 2theta'(x_i) - reach <= x_j
        and x_i + reach >= x_j (both sorted with x_i).
        """
        tth = np.asarray(tth, float)
        fitted = np.asarray(fitted, bool)
        xs = np.sort(tth[fitted])
        if not len(xs):
            return fitted.copy()
        reach = self.reach(tth)
        lo = np.searchsorted(xs, tth - reach, side="left")
        hi = np.searchsorted(xs, tth + reach, side="right")
        need = fitted | (hi > lo)
        if self.kalpha2:
            doublet = np.searchsorted(self.doublet_source(xs), tth + reach, side="right") > lo
            doublet[:-1] |= doublet[1:]  # the grid neighbours 2theta' is interpolated between
            doublet[1:] |= doublet[:-1]
            need |= doublet
        return need

    def padded_grid(self, tth: np.ndarray) -> tuple[np.ndarray, slice]:
        """``tth`` extended at both ends (same end steps) by the profile's reach, within (0, 180)
        degrees, and the slice of the original points: convolve on the padded grid, then cut."""
        tth = np.asarray(tth, float)
        if tth.size < 2:
            return tth, slice(0, tth.size)
        reach = self.reach(tth[[0, -1]])
        below = reach[0] + tth[0] - float(self.doublet_source(tth[:1])[0])  # K-alpha2 reaches lower
        d0, d1 = tth[1] - tth[0], tth[-1] - tth[-2]
        n0 = int(min(np.ceil(below / d0), max(0, np.floor((tth[0] - 1e-3) / d0))))
        n1 = int(min(np.ceil(reach[1] / d1), max(0, np.floor((179.999 - tth[-1]) / d1))))
        grid = np.concatenate([tth[0] - d0 * np.arange(n0, 0, -1), tth, tth[-1] + d1 * np.arange(1, n1 + 1)])
        return grid, slice(n0, n0 + tth.size)

    def model_grid(self, tth_obs: np.ndarray) -> np.ndarray:
        """The true 2theta at which to evaluate the model: 2theta_obs - zero."""
        return np.asarray(tth_obs, float) - self.zero

    def apply(self, tth_obs: np.ndarray, model_on_grid: np.ndarray) -> np.ndarray:
        """Broaden a model already evaluated at ``model_grid(tth_obs)``; adds K-alpha2 if asked.

        Returns the observed-space pattern on ``tth_obs``.
        """
        t = self.model_grid(tth_obs)
        y = np.asarray(model_on_grid, float)
        if self.kalpha2:
            t1, jac = kalpha2_positions(t, self.lambda1, self.lambda2)
            y = y + self.ratio * np.interp(t1, t, y, left=0.0, right=0.0) * jac
        return self.matrix(t) @ y if self.convolve else y


def resolution_profile(caglioti: tuple[float, float, float] | None,
                       lorentzian: tuple[float, float] | None = None, *, zero: float = 0.0,
                       wavelength: float | None = None,
                       kalpha2: tuple[float, float] | None = None) -> InstrumentProfile:
    """The profile of a model's instrument (``model_parts.Instrument``).

    ``caglioti``: U, V, W (deg^2), None = no convolution; ``lorentzian``: None = one pseudo-Voigt
    of mixing 0.5 and Caglioti FWHM; (X, Y) in degrees = TCH of the Gaussian Caglioti FWHM and a
    Lorentzian FWHM X / cos(theta) + Y tan(theta) (GSAS-II's order: X is ``y_l`` here, Y is
    ``x_l``), pure Gaussian when both are 0. ``wavelength`` (Å): lambda1 of a K-alpha2 doublet;
    ``kalpha2``: (ratio, lambda2 in Å) of that doublet, None = one wavelength.
    """
    doublet = {} if kalpha2 is None else {"kalpha2": True, "ratio": float(kalpha2[0]),
                                          "lambda2": float(kalpha2[1])}
    if kalpha2 is not None and not wavelength:
        raise NanotwinError("a K-alpha2 doublet needs the data's wavelength (K-alpha1, Å)")
    lambda1 = wavelength or CU_KA1
    if caglioti is None:
        return InstrumentProfile(zero=zero, lambda1=lambda1, convolve=False, **doublet)
    u, v, w = (float(c) for c in caglioti)
    if lorentzian is None:
        return InstrumentProfile(u=u, v=v, w=w, zero=zero, lambda1=lambda1, **doublet)
    x_sec, y_tan = (float(c) for c in lorentzian)
    return InstrumentProfile(u=u, v=v, w=w, eta=0.0, x_l=y_tan, y_l=x_sec, zero=zero, lambda1=lambda1,
                             **doublet)


def instrument_profile(instrument, wavelength: float | None, *, zero: float | None = None
                       ) -> InstrumentProfile | None:
    """The profile of ``instrument`` (``model_parts.Instrument``: resolution, K-alpha2 doublet)
    for data at ``wavelength`` (Å); None when it has neither. ``zero``: the zero shift to build
    in (None: the instrument's)."""
    if instrument.caglioti is None and instrument.kalpha2 is None:
        return None
    doublet = None
    if instrument.kalpha2 is not None:
        if not wavelength:
            raise NanotwinError("a K-alpha2 doublet needs the data's wavelength (K-alpha1, Å)")
        doublet = (instrument.kalpha2, instrument.kalpha2_wavelength(wavelength))
    return resolution_profile(instrument.caglioti, instrument.lorentzian,
                              zero=instrument.zero if zero is None else zero, wavelength=wavelength,
                              kalpha2=doublet)


def observed_pattern(tth: np.ndarray, wavelength: float, instrument,
                     intensity_at_q: Callable[[np.ndarray], np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(intensity, Q in 1/Å of the true angles) at the observed 2theta ``tth`` (degrees) through
    ``instrument`` (``model_parts.Instrument``): the model ``intensity_at_q`` at 2theta - zero,
    times the polarization, with the K-alpha2 line (if any) and convolved with the resolution (if
    any) over a padded grid."""
    profile = instrument_profile(instrument, wavelength)
    tth = np.asarray(tth, float)
    grid, inner = profile.padded_grid(tth) if profile is not None else (tth, slice(None))
    true = grid - instrument.zero
    q = q_from_two_theta(true, wavelength)
    intensity = intensity_at_q(q) * polarization_factor(true, instrument.polarization)
    if profile is not None:
        intensity = profile.apply(grid, intensity)
    return intensity[inner], q[inner]


def polarization(tth: np.ndarray, f: float = 0.5) -> np.ndarray:
    """Polarization factor P = f + (1 - f) cos^2(2theta); f = 0.5 unpolarized, f = 1 none
    (``scattering.polarization_factor`` with a fraction)."""
    return polarization_factor(tth, float(f))


def capillary_transmission(
    tth: np.ndarray, mu_r: float, method: str = "numeric", n_r: int = 48, n_phi: int = 96
) -> np.ndarray:
    """Transmission factor A(2theta) of a cylindrical sample (Debye-Scherrer), 0 < A <= 1.

    Parameters
    ----------
    tth : 2theta (degrees).
    mu_r : linear absorption coefficient x capillary radius (dimensionless).
    method : "numeric" (exact integral over the cross-section, Gauss-Legendre in r, uniform in phi,
        evaluated on <= 181 angles and interpolated) or "hewat" (Hewat 1979, muR < ~1).

    Multiply the model by A (the scale absorbs the absolute level).
    """
    tth = np.asarray(tth, float)
    if mu_r < 0:
        raise NanotwinError(f"muR must be >= 0, got {mu_r}")
    if mu_r == 0:
        return np.ones(tth.shape)
    if method == "hewat":
        s2 = np.sin(np.radians(tth) / 2) ** 2
        return np.exp(-(1.7133 - 0.0368 * s2) * mu_r + (0.0927 + 0.3750 * s2) * mu_r**2)
    if method != "numeric":
        raise NanotwinError(f"unknown absorption method {method!r}")
    xg, wg = np.polynomial.legendre.leggauss(n_r)
    r = 0.5 * (xg + 1.0)
    wr = 0.5 * wg * r  # r dr
    phi = (np.arange(n_phi) + 0.5) * 2 * np.pi / n_phi
    rr, pp = np.meshgrid(r, phi, indexing="ij")
    px, py = rr * np.cos(pp), rr * np.sin(pp)
    weight = (wr[:, None] * np.full(n_phi, 2 * np.pi / n_phi)[None, :]) / np.pi
    l_in = px + np.sqrt(np.clip(1 - py * py, 0, None))
    grid = np.linspace(0.0, 180.0, 181)
    a = np.empty(grid.size)
    for k, t in enumerate(np.radians(grid)):
        dxo, dyo = math.cos(t), math.sin(t)
        pd = px * dxo + py * dyo
        l_out = -pd + np.sqrt(np.clip(pd * pd - (px * px + py * py - 1), 0, None))
        a[k] = float(np.sum(weight * np.exp(-mu_r * (l_in + l_out))))
    return np.interp(np.abs(tth), grid, a)
