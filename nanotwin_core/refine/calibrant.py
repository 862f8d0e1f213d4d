"""The instrument from a calibrant pattern: a Pawley-like whole-pattern fit of a line standard.

The peaks sit at the calibrant's reflections (``phases.phase_reflections``; families at the same Q
merged), 2theta_obs = 2 asin(lambda Q / 4 pi) + zero. Each peak is the instrument profile of
``refine.instrument`` at its true 2theta: one pseudo-Voigt of mixing 0.5 and Caglioti FWHM
(``Instrument.lorentzian`` None), or with ``lorentzian=True`` the Thompson-Cox-Hastings combination
of the Gaussian Caglioti FWHM and a Lorentzian X / cos t + Y tan t; cut at +-``cutoff`` FWHM and
normalised on the grid as the convolution matrix does, so the numbers mean in a DSE fit what they
mean here. Peak intensities and a Chebyshev background are linear (solved at every step:
variable projection); U, V, W, zero (X, Y; optionally the wavelength) are nonlinear (scipy
``least_squares``). Esds: covariance (J^T W J)^-1 chi^2 / (N - P), P counting the linear terms.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from scipy import sparse
from scipy.linalg import cho_factor, cho_solve
from scipy.optimize import least_squares

from nanotwin_core.errors import Cancelled, NanotwinError
from nanotwin_core.io.data import read_pattern
from nanotwin_core.model_parts import Instrument
from nanotwin_core.phases import phase_reflections
from nanotwin_core.refine.background import chebyshev_basis
from nanotwin_core.refine.instrument import cell_widths, pseudo_voigt, tch_fwhm_eta
from nanotwin_core.scattering.lab_sources import source_polarization
from nanotwin_core.structures.calibrants import calibrant_structure
from nanotwin_core.structures.structure import Structure

__all__ = ["CalibrantFitError", "CalibrantResult", "calibrate_pattern_file", "fit_calibrant", "MAX_RWP",
           "MIN_PEAKS"]

MAX_RWP = 0.30  # above this the pattern is not taken for the calibrant
MIN_PEAKS = 3  # reflections seen above 3 sigma (U, V, W need three widths)
MIN_EXPLAINED = 0.8  # fraction of the chi^2 of a background-only fit that the peaks must remove
DIFF_STEP = 1e-6  # finite-difference step of the Jacobian x max(1, |p|): U, V, W ~ 1e-3 deg^2
_FWHM2_FLOOR = 1e-10  # deg^2: keeps the profile finite while the optimizer passes FWHM^2 <= 0


class CalibrantFitError(NanotwinError):
    """The pattern does not fit as the calibrant (few peaks, bad Rwp, zero out of range)."""


@dataclass
class CalibrantResult:
    """A calibrant fit: the instrument (``lorentzian`` set when X, Y were fitted), esds by name
    (U, V, W in deg^2, zero, X, Y in degrees, wavelength in Å), figures of merit and curves."""

    instrument: Instrument
    esd: dict[str, float]
    wavelength: float
    wavelength_refined: bool
    rwp: float
    rexp: float
    gof: float
    calibrant: str
    n_points: int
    n_peaks: int
    n_peaks_seen: int
    tth_range: tuple[float, float]
    x: np.ndarray = field(repr=False)
    y_obs: np.ndarray = field(repr=False)
    y_calc: np.ndarray = field(repr=False)
    messages: list[str] = field(default_factory=list)

    def values(self) -> dict[str, float]:
        """Fitted values by name (the keys of ``esd``)."""
        ins = self.instrument
        out = dict(zip(("U", "V", "W"), ins.caglioti or (), strict=False))
        out["zero"] = ins.zero
        if ins.lorentzian is not None:
            out.update(zip(("X", "Y"), ins.lorentzian, strict=True))
        if self.wavelength_refined:
            out["wavelength"] = self.wavelength
        return out

    def lines(self) -> list[str]:
        """The result as text lines: value(esd) per parameter and the figures of merit."""
        units = {"U": "deg^2", "V": "deg^2", "W": "deg^2", "zero": "deg", "X": "deg", "Y": "deg",
                 "wavelength": "A"}
        out = [f"calibrant: {self.calibrant}; {self.n_peaks_seen} of {self.n_peaks} reflections seen in "
               f"2theta {self.tth_range[0]:g}-{self.tth_range[1]:g} deg; {self.n_points} points",
               f"Rwp = {self.rwp:.4f}  Rexp = {self.rexp:.4f}  GoF = {self.gof:.3f}",
               f"polarization (not fitted, kept): {self.instrument.polarization}"]
        for name, value in self.values().items():
            out.append(f"  {name:<10} = {value:.8g} +- {self.esd.get(name, float('nan')):.2g} {units[name]}")
        profile = ("TCH: Gaussian Caglioti + Lorentzian X / cos t + Y tan t" if self.instrument.lorentzian
                   is not None else "pseudo-Voigt (mixing 0.5), FWHM^2 = U tan^2 t + V tan t + W")
        out.append(f"profile: {profile}")
        if self.instrument.kalpha2 is not None:
            lam2 = self.instrument.kalpha2_wavelength(self.wavelength)
            out.append(f"K-alpha2 (not fitted, kept): {lam2:.7g} A, "
                       f"I(Ka2)/I(Ka1) = {self.instrument.kalpha2:g}")
        return out


def _peak_positions(q: np.ndarray, wavelength: float, zero: float) -> tuple[np.ndarray, np.ndarray]:
    """(true 2theta, observed 2theta) in degrees of peaks at Q (1/Å); NaN beyond 2theta = 180."""
    s = wavelength * q / (4 * math.pi)
    with np.errstate(invalid="ignore"):
        true = 2 * np.degrees(np.arcsin(np.where(s < 1, s, np.nan)))
    return true, true + zero


class _Problem:
    """The separable least-squares problem of one calibrant pattern."""

    def __init__(self, x, y, sigma, q_peaks, start, background_order, cutoff, cancel, progress,
                 doublet: tuple[float, float] | None = None):
        self.x, self.y = x, y
        self.sw = 1.0 / sigma
        self.dx = cell_widths(x)
        self.q = q_peaks
        self.fixed = dict(start)
        self.background = chebyshev_basis(x, background_order)
        self.bw = self.background * self.sw[:, None]
        self.btb = self.bw.T @ self.bw
        self.yw = y * self.sw
        self.cutoff = cutoff
        self.cancel = cancel
        self.progress = progress
        self.nfev = 0
        self.lorentzian = "X" in start
        # K-alpha2: (ratio, lambda2 / lambda1); every peak column holds both lines
        self.lines = [(1.0, 1.0)] if doublet is None else [(1.0, 1.0), doublet]

    def full(self, p: np.ndarray, free: list[str]) -> dict[str, float]:
        values = dict(self.fixed)
        values.update(zip(free, (float(v) for v in p), strict=True))
        return values

    def peak_columns(self, v: dict[str, float], windows: dict | None = None
                     ) -> tuple[sparse.csc_matrix, dict]:
        """(n_points, n_peaks) sparse unit-area profiles at the peaks' observed 2theta, and each
        peak's window {k: (lo, hi, inside)}: +-cutoff FWHM, normalised on the grid when inside it.

        ``windows`` given: those windows are kept (the Jacobian's differences then see a smooth
        function, not points entering or leaving a window). With K-alpha2 a column is the sum of
        both lines' profiles, the second of area ``ratio``; windows are keyed (line, peak)."""
        rows, cols, data = [], [], []
        used = {}
        for line, (weight, factor) in enumerate(self.lines):
            self._line_columns(v, v["wavelength"] * factor, weight, line, windows, used, rows, cols, data)
        if not data:
            return sparse.csc_matrix((self.x.size, self.q.size)), used
        return sparse.csc_matrix((np.concatenate(data), (np.concatenate(rows), np.concatenate(cols))),
                                 shape=(self.x.size, self.q.size)), used

    def _line_columns(self, v, wavelength, weight, line, windows, used, rows, cols, data) -> None:
        """Append one emission line's unit-area profiles (times ``weight``) to rows, cols, data."""
        true, obs = _peak_positions(self.q, wavelength, v["zero"])
        ok = np.isfinite(true)
        t = np.tan(np.radians(true[ok]) / 2)
        fg = np.sqrt(np.maximum(v["U"] * t * t + v["V"] * t + v["W"], _FWHM2_FLOOR))
        if self.lorentzian:
            fl = np.maximum(v["X"] / np.cos(np.radians(true[ok]) / 2) + v["Y"] * t, 0.0)
            fwhm, eta = tch_fwhm_eta(fg, fl)
        else:
            fwhm, eta = fg, np.full(fg.shape, 0.5)
        x0, x1 = self.x[0], self.x[-1]
        for k, pos, f, e in zip(np.flatnonzero(ok), obs[ok], fwhm, eta, strict=True):
            if windows is not None:
                if (line, k) not in windows:
                    continue
                lo, hi, inside = windows[(line, k)]
            else:
                lo = int(np.searchsorted(self.x, pos - self.cutoff * f, side="left"))
                hi = int(np.searchsorted(self.x, pos + self.cutoff * f, side="right"))
                inside = bool(pos - self.cutoff * f >= x0 and pos + self.cutoff * f <= x1)
            if hi <= lo:
                continue
            used[(line, k)] = (lo, hi, inside)
            vals = pseudo_voigt(self.x[lo:hi] - pos, f, e)
            if inside:
                area = float(np.sum(vals * self.dx[lo:hi]))
                if area > 0:
                    vals = vals / area
            rows.append(np.arange(lo, hi))
            cols.append(np.full(hi - lo, k))
            data.append(weight * vals)

    def solve(self, v: dict[str, float], windows: dict | None = None
              ) -> tuple[np.ndarray, np.ndarray, sparse.csc_matrix, dict, np.ndarray]:
        """(weighted residual, linear coefficients, peak columns, peak windows, weighted normal
        matrix) at the nonlinear values ``v``."""
        peaks, used = self.peak_columns(v, windows)
        pw = peaks.copy()
        pw.data *= self.sw[pw.indices]  # CSC: indices are the rows
        coef, r, normal = block_solve(pw, self.bw, self.btb, self.yw)
        return r, coef, peaks, used, normal

    def _check(self) -> None:
        if self.cancel is not None and self.cancel():
            raise Cancelled("calibrant fit cancelled")

    def residual(self, p: np.ndarray, free: list[str]) -> np.ndarray:
        self._check()
        self.nfev += 1
        r = self.solve(self.full(p, free))[0]
        if self.progress is not None and self.nfev % 10 == 0:
            self.progress(min(0.95, 0.2 + self.nfev / 600), f"calibrant fit: chi2 {float(r @ r):.4g}")
        return r

    def jacobian(self, p: np.ndarray, free: list[str]) -> np.ndarray:
        """Central differences of the projected residual, steps DIFF_STEP x max(1, |p|), with the
        peak windows of ``p`` kept."""
        self._check()
        windows = self.solve(self.full(p, free))[3]
        jac = np.empty((self.x.size, p.size))
        for i in range(p.size):
            h = DIFF_STEP * max(1.0, abs(float(p[i])))
            up, down = p.copy(), p.copy()
            up[i] += h
            down[i] -= h
            jac[:, i] = (self.solve(self.full(up, free), windows)[0]
                         - self.solve(self.full(down, free), windows)[0]) / (2 * h)
        return jac


def block_solve(pw: sparse.csc_matrix, bw: np.ndarray, btb: np.ndarray, yw: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Weighted least squares of [pw bw] c = yw: (c, residual, normal matrix).

    The sparse peak columns ``pw`` and dense background ``bw`` (``btb`` = bw^T bw) enter the
    normal matrix by blocks; it is solved on unit-norm columns by Cholesky with one refinement
    step (an SVD of the tall matrix, or LAPACK's general solve under busy threads, costs 10-50x
    more); all-zero columns (peaks outside the range) get 0."""
    m = pw.shape[1]
    normal = np.empty((m + bw.shape[1],) * 2)
    normal[:m, :m] = (pw.T @ pw).toarray()
    ptb = np.asarray(pw.T @ bw)
    normal[:m, m:], normal[m:, :m], normal[m:, m:] = ptb, ptb.T, btb

    def transpose_times(r: np.ndarray) -> np.ndarray:
        return np.concatenate([pw.T @ r, bw.T @ r])

    def times(c: np.ndarray) -> np.ndarray:
        return pw @ c[:m] + bw @ c[m:]

    norms = np.sqrt(np.clip(np.diag(normal), 0.0, None))
    idx = np.flatnonzero(norms > 0)
    scaled = normal[np.ix_(idx, idx)] / np.outer(norms[idx], norms[idx])
    coef = np.zeros(normal.shape[0])
    try:
        factor = cho_factor(scaled)
        cs = cho_solve(factor, transpose_times(yw)[idx] / norms[idx])
        coef[idx] = cs / norms[idx]
        cs += cho_solve(factor, transpose_times(yw - times(coef))[idx] / norms[idx])
    except np.linalg.LinAlgError:  # rank-deficient (overlapping peaks): minimum-norm solution
        dense = np.hstack([pw.toarray(), bw])[:, idx] / norms[idx]
        cs = np.linalg.lstsq(dense, yw, rcond=None)[0]
    coef[idx] = cs / norms[idx]
    return coef, yw - times(coef), normal


def _esds(jac: np.ndarray, variance: float) -> np.ndarray:
    """sqrt(diag((J^T J)^-1) x variance), inverted on unit-norm columns (U, V, W and the zero
    differ by orders of magnitude: an unscaled inverse loses the small diagonal terms)."""
    norms = np.linalg.norm(jac, axis=0)
    if np.any(norms == 0):
        return np.full(jac.shape[1], np.nan)
    js = jac / norms
    try:
        cov = np.linalg.inv(js.T @ js) / np.outer(norms, norms) * variance
    except np.linalg.LinAlgError:
        return np.full(jac.shape[1], np.nan)
    diag = np.diag(cov)
    return np.where(diag > 0, np.sqrt(np.abs(diag)), np.nan)


def _start_fwhm(x: np.ndarray, y: np.ndarray) -> float:
    """FWHM (deg) of the strongest peak of the data above their median, at least 2 steps."""
    base = float(np.median(y))
    k = int(np.argmax(y))
    half = base + 0.5 * (y[k] - base)
    lo = k
    while lo > 0 and y[lo] > half:
        lo -= 1
    hi = k
    while hi < y.size - 1 and y[hi] > half:
        hi += 1
    step = float(np.median(np.diff(x)))
    return max(float(x[hi] - x[lo]), 2 * step)


def fit_calibrant(
    tth: np.ndarray,
    y: np.ndarray,
    structure: Structure,
    wavelength: float,
    *,
    sigma: np.ndarray | None = None,
    tth_range: tuple[float, float] | None = None,
    lorentzian: bool = False,
    refine_wavelength: bool = False,
    background_order: int = 6,
    polarization: str = "none",
    kalpha2: float | None = None,
    lambda2: float | None = None,
    cutoff: float = 20.0,
    progress: Callable[[float, str], None] | None = None,
    cancel: Callable[[], bool] | None = None,
) -> CalibrantResult:
    """Fit the instrument to a calibrant pattern (2theta in degrees, wavelength in Å).

    ``polarization`` is kept as given in the returned instrument (free intensities absorb it).
    ``kalpha2``: ratio I(K-alpha2)/I(K-alpha1) of a tube's doublet (``wavelength`` = K-alpha1) at
    ``lambda2`` (Å; None: the tube's), kept in the returned instrument; every reflection is then
    both lines (areas 1 : ratio), the K-alpha2 wavelength refined in proportion with K-alpha1.
    Raises ``CalibrantFitError`` when the pattern does not fit as the calibrant: fewer than
    ``MIN_PEAKS`` reflections seen, the peaks remove less than ``MIN_EXPLAINED`` of a
    background-only chi^2, Rwp above ``MAX_RWP``, or a zero shift beyond 0.5 degrees.
    """
    x = np.asarray(tth, float)
    y = np.asarray(y, float)
    if x.shape != y.shape or x.size < 20:
        raise NanotwinError("a calibrant pattern needs matching 2theta and intensity columns, >= 20 points")
    if not wavelength or wavelength <= 0:
        raise NanotwinError("the calibrant fit needs the wavelength (Å)")
    s = np.sqrt(np.maximum(y, 1.0)) if sigma is None else np.asarray(sigma, float)
    keep = np.isfinite(y) & np.isfinite(s) & (s > 0)
    if tth_range is not None:
        keep &= (x >= tth_range[0]) & (x <= tth_range[1])
    order = np.argsort(x[keep])
    x, y, s = x[keep][order], y[keep][order], s[keep][order]
    if x.size < 20 or np.any(np.diff(x) <= 0):
        raise NanotwinError("the calibrant pattern needs >= 20 points in the range, increasing 2theta")
    doublet_ins = Instrument(polarization=polarization, kalpha2=kalpha2, lambda2=lambda2).validate()
    lam2 = doublet_ins.kalpha2_wavelength(wavelength)
    doublet = None if lam2 is None else (float(kalpha2), lam2 / wavelength)
    name = structure.name.removesuffix("-calibrant")
    # reflections that can reach the range (+-0.5 deg zero, +-2 % wavelength when refined)
    span = 0.02 if refine_wavelength else 0.0
    q_lo = 4 * math.pi * math.sin(math.radians(max(x[0] - 1.0, 0.01) / 2)) / wavelength * (1 - span)
    q_hi = 4 * math.pi * math.sin(math.radians(min(x[-1] + 1.0, 179.9) / 2)) / wavelength * (1 + span)
    refl = phase_reflections(structure, q_hi, q_min=q_lo)
    q_peaks = np.unique(np.round([r.q for r in refl], 9))
    if q_peaks.size < MIN_PEAKS:
        raise CalibrantFitError(f"2theta {x[0]:g}-{x[-1]:g} deg at {wavelength:g} A holds {q_peaks.size} "
                                f"reflections of {name}: widen the range (>= {MIN_PEAKS} needed)")
    if progress is not None:
        progress(0.05, f"calibrant fit: {q_peaks.size} reflections of {name}")
    fwhm0 = _start_fwhm(x, y)
    start = {"U": 0.0, "V": 0.0, "W": fwhm0**2, "zero": 0.0, "wavelength": float(wavelength)}
    if lorentzian:
        start.update(X=0.0, Y=0.0)
    prob = _Problem(x, y, s, q_peaks, start, background_order, cutoff, cancel, progress, doublet)
    # the zero: a scan with the start width (a local fit cannot find a peak a few FWHM away)
    zeros = np.arange(-0.5, 0.5 + 1e-12, max(fwhm0 / 3, 0.5 / 150))
    chi2 = [float(np.sum(prob.residual(np.array([z]), ["zero"]) ** 2)) for z in zeros]
    prob.fixed["zero"] = float(zeros[int(np.argmin(chi2))])
    stages = [["W", "zero"], ["U", "V", "W", "zero"]]
    if lorentzian:
        stages.append(["U", "V", "W", "zero", "X", "Y"])
    if refine_wavelength:
        stages = [st + ["wavelength"] for st in stages]
    res = None
    for free in stages:
        p0 = np.array([prob.fixed[k] for k in free])
        res = least_squares(prob.residual, p0, jac=prob.jacobian, args=(free,), x_scale="jac",
                            max_nfev=300 * len(free), method="trf")
        prob.fixed.update(prob.full(res.x, free))
    assert res is not None
    free = stages[-1]
    values = prob.fixed
    r, coef, peaks, _, normal = prob.solve(values)
    n_lin = coef.size
    n_par = len(free) + n_lin
    chi2_fit = float(r @ r)
    dof = max(x.size - n_par, 1)
    sw2 = (y * prob.sw) @ (y * prob.sw)
    rwp = math.sqrt(chi2_fit / sw2)
    rexp = math.sqrt(dof / sw2)
    # esds: the projected Jacobian's covariance (the linear terms are profiled out)
    esd = dict(zip(free, _esds(np.asarray(res.jac), chi2_fit / dof), strict=True))
    # peaks seen: intensity above 3 esd of the linear solve
    try:
        cov_lin = np.linalg.pinv(normal) * chi2_fit / dof
        sig_lin = np.sqrt(np.maximum(np.diag(cov_lin), 0.0))
    except np.linalg.LinAlgError:
        sig_lin = np.full(n_lin, np.inf)
    intensities = coef[:q_peaks.size]
    seen = int(np.sum(intensities > 3 * sig_lin[:q_peaks.size]))
    r_bg = block_solve(sparse.csc_matrix((x.size, 0)), prob.bw, prob.btb, prob.yw)[1]
    chi2_bg = float(r_bg @ r_bg)
    explained = 1 - chi2_fit / chi2_bg if chi2_bg > 0 else 0.0
    if seen < MIN_PEAKS:
        raise CalibrantFitError(f"only {seen} of {q_peaks.size} {name} reflections found in 2theta "
                                f"{x[0]:g}-{x[-1]:g} deg: is this a {name} pattern at {wavelength:g} A?")
    if explained < MIN_EXPLAINED or rwp > MAX_RWP:
        raise CalibrantFitError(f"the pattern does not fit as {name}: Rwp {rwp:.3f} (limit {MAX_RWP}), the "
                                f"peaks explain {100 * explained:.0f} % of the signal above the background "
                                f"(limit {100 * MIN_EXPLAINED:.0f} %); check calibrant, wavelength and range")
    if abs(values["zero"]) > 0.5:
        raise CalibrantFitError(f"zero shift {values['zero']:.4f} deg is beyond +-0.5 deg: check the "
                                "wavelength")
    messages = []
    tt = np.tan(np.radians(x) / 2)
    if np.any(values["U"] * tt * tt + values["V"] * tt + values["W"] <= 0):
        raise CalibrantFitError(f"the fitted U, V, W give FWHM^2 <= 0 inside 2theta {x[0]:g}-{x[-1]:g} deg: "
                                "fit a wider range")
    if not res.success:
        messages.append(f"the optimizer stopped: {res.message}")
    if not refine_wavelength:
        messages.append(f"wavelength held at {wavelength:.8g} A (not refined)")
    lor = (values["X"], values["Y"]) if lorentzian else None
    try:
        ins = Instrument(polarization=polarization, caglioti=(values["U"], values["V"], values["W"]),
                         zero=values["zero"], lorentzian=lor, kalpha2=kalpha2,
                         lambda2=lam2 * values["wavelength"] / wavelength if refine_wavelength and lam2
                         else lambda2).validate()
    except NanotwinError as exc:
        raise CalibrantFitError(f"the fitted instrument is not usable: {exc}") from None
    if progress is not None:
        progress(1.0, f"calibrant fit: Rwp {rwp:.4f}")
    return CalibrantResult(
        instrument=ins, esd=esd, wavelength=values["wavelength"], wavelength_refined=refine_wavelength,
        rwp=rwp, rexp=rexp, gof=math.sqrt(chi2_fit / dof), calibrant=name, n_points=int(x.size),
        n_peaks=int(q_peaks.size), n_peaks_seen=seen, tth_range=(float(x[0]), float(x[-1])), x=x, y_obs=y,
        y_calc=peaks @ coef[:q_peaks.size] + prob.background @ coef[q_peaks.size:], messages=messages)


def calibrate_pattern_file(path: str, calibrant: str, wavelength: float | None = None, *,
                           cell: float | None = None, progress: Callable[[float, str], None] | None = None,
                           cancel: Callable[[], bool] | None = None, **options) -> CalibrantResult:
    """``fit_calibrant`` on a 2theta pattern file: ``calibrant`` a built-in name or a CIF path,
    ``wavelength`` in Å (None: the file's header), ``cell`` a built-in calibrant's a (Å) instead
    of the certified one; ``options`` go to ``fit_calibrant`` (a ``polarization`` None or left
    out: the source's, ``lab_sources.source_polarization``, said in the messages)."""
    structure = calibrant_structure(calibrant, a=cell)
    data = read_pattern(path, x_kind="tth", wavelength=wavelength)
    if data.wavelength is None:
        raise NanotwinError(f"{path}: no wavelength in the file: give the wavelength of the measurement")
    said = None
    if options.get("polarization") is None:
        options["polarization"], said = source_polarization(data.wavelength)
    result = fit_calibrant(data.x, data.y, structure, data.wavelength, sigma=data.sigma, progress=progress,
                           cancel=cancel, **options)
    if said:
        result.messages.append(said)
    return result
