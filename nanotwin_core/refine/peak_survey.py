"""A quick look at a measured pattern before any Debye sum: where its peaks are and how broad.

``survey_peaks`` fits the low-Q part of a pattern (Q in 1/Å) with one line per reflection family
of the model's structure (positions from its cell and space group, scaled by 1/(1 + e) for a
lattice expansion e), every line with its own non-negative area, all with one common shape, on
a Chebyshev background (variable projection, like the DSE fit). Free areas make the breadth
blind to wrong intensities (texture, a wrong structure factor); one common shape makes
overlapping peaks tractable. The line is the size-broadened line of log-normal spheres
(``sphere_line``: the cosine transform of their volume-weighted characteristic function),
set by the volume-weighted mean diameter and the relative dispersion: a pseudo-Voigt misses
the far 1/Q^2 tails of such lines (the background takes them) and reads sizes ~14 % too large.
It gives:

- the integral breadth beta (1/Å) = 2 pi / <L>_vol, with <L>_vol = 3/4 of the volume-weighted
  mean diameter for spheres; the instrument's removed when its resolution is known (parabolic
  rule beta_s = beta - beta_i^2/beta, Langford 1992, between the Lorentzian and Gaussian limits);
- the relative dispersion from the line's shape (FWHM / beta: 0.830 for one size, 0.715 at 0.5);
- the expansion e, and the fit (peaks the model's reflections leave unexplained show there).

Size broadening does not change with Q, strain broadening grows with it, so the survey uses the
strongest low-Q reflections: the lowest ``SURVEY_FAMILIES`` families whose strength (m |F|^2 / Q^2,
``reflection_strength``) reaches 5 % of the strongest's. Data finer than ``SURVEY_STEP`` are binned.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cache

import numpy as np
from scipy.stats import lognorm

from nanotwin_core.errors import NanotwinError
from nanotwin_core.refine.background import chebyshev_basis
from nanotwin_core.refine.engine import Refinement
from nanotwin_core.refine.parameters import Parameter, ParameterSet
from nanotwin_core.reflections import reflections

__all__ = ["PeakSurvey", "SURVEY_FAMILIES", "integral_breadth", "line_fwhm_u", "reflection_strength",
           "shape_ratio_of_lognormal_spheres", "sphere_line", "survey_peaks"]

SURVEY_FAMILIES = 8  # strong reflection families the survey fits (the lowest in Q)
STRONG_FRACTION = 0.05  # a family is strong when its strength >= this x the strongest family's
SURVEY_STEP = 0.004  # 1/Å: the survey bins finer data to this step (>= 9 points per FWHM of 20 nm crystals)
_G_HEIGHT = 2.0 * math.sqrt(math.log(2.0) / math.pi)  # unit-area Gaussian height x FWHM
_L_HEIGHT = 2.0 / math.pi  # unit-area Lorentzian height x FWHM


def integral_breadth(fwhm: float, eta: float) -> float:
    """Integral breadth (area / height) of a pseudo-Voigt of ``fwhm`` and Lorentzian fraction eta."""
    return fwhm / (eta * _L_HEIGHT + (1.0 - eta) * _G_HEIGHT)


@dataclass
class PeakSurvey:
    """What ``survey_peaks`` found (Q in 1/Å).

    ``breadth``: integral breadth beta of the common line, instrument removed (1/Å);
    ``breadth_observed``: before removal; ``fwhm`` (1/Å) and ``dispersion`` (relative, number):
    of the common line;
    ``expansion``: lattice expansion e (data peaks at Q_hkl / (1 + e)); ``q``, ``y_obs``,
    ``y_calc``, ``sigma``: the surveyed points and the fit; ``positions``: fitted peak positions
    (1/Å) with their ``areas``; ``gof``: of the survey fit; ``notes``: what was assumed.
    """

    breadth: float
    breadth_observed: float
    fwhm: float
    dispersion: float
    expansion: float
    q: np.ndarray
    y_obs: np.ndarray
    y_calc: np.ndarray
    sigma: np.ndarray
    positions: np.ndarray
    areas: np.ndarray
    gof: float
    notes: list[str] = field(default_factory=list)

    @property
    def shape_ratio(self) -> float:
        """FWHM / integral breadth of the fitted line (0.830 for spheres of one size)."""
        return self.fwhm / self.breadth_observed

    @property
    def column_length(self) -> float:
        """Volume-weighted mean column length <L>_vol = 2 pi / beta (Å) of the size broadening."""
        return 2.0 * math.pi / self.breadth


def reflection_strength(refl) -> float:
    """A reflection family's powder strength for choosing the strong ones: m |F|^2 (f = Z) / Q^2
    (the 1/Q^2 of the powder Lorentz factor at small angles; f = Z has no fall-off with Q)."""
    return refl.multiplicity * refl.f_squared / refl.q**2


def _strong_families(structure, q_lo: float, q_hi: float) -> np.ndarray:
    """Q (1/Å) of the reflection families the survey fits (see module doc)."""
    refl = reflections(structure, q_hi * 1.05, classify=False)
    if not refl:
        raise NanotwinError(f"{structure.name} has no reflection below Q = {q_hi:.3g} 1/Å")
    power = np.array([reflection_strength(r) for r in refl])
    qs = np.array([r.q for r in refl])
    strong = np.flatnonzero((power >= STRONG_FRACTION * power.max()) & (qs >= q_lo))
    if strong.size == 0:
        raise NanotwinError(f"{structure.name}: no strong reflection in Q = {q_lo:.3g}-{q_hi:.3g} 1/Å")
    q_last = qs[strong[min(SURVEY_FAMILIES, strong.size) - 1]]
    keep = (qs >= q_lo) & (qs <= q_last) & (power >= 1e-3 * power.max())
    return qs[keep]


def _binned(q: np.ndarray, y: np.ndarray, sigma: np.ndarray, step: float):
    """Means of groups of consecutive points spanning at least ``step`` (1/Å); sigma of a mean."""
    k = max(1, int(step / float(np.median(np.diff(q)))))
    if k == 1:
        return q, y, sigma
    n = (q.size // k) * k
    shape = (n // k, k)
    return (q[:n].reshape(shape).mean(1), y[:n].reshape(shape).mean(1),
            np.sqrt((sigma[:n].reshape(shape) ** 2).sum(1)) / k)


def survey_peaks(
    q: np.ndarray,
    y: np.ndarray,
    sigma: np.ndarray,
    structure,
    *,
    q_range: tuple[float, float] | None = None,
    instrument_fwhm_q: float | None = None,
    background_order: int = 4,
    extra_columns: np.ndarray | None = None,
) -> PeakSurvey:
    """Fit the strong low-Q reflections of ``structure`` in the data (module doc).

    ``q``, ``y``, ``sigma``: the pattern on a Q axis (1/Å), increasing; ``q_range``: where to
    look (default: all of it); ``instrument_fwhm_q``: the instrument's FWHM in Q (1/Å) near the
    strong peaks, removed from the breadth; ``background_order``: Chebyshev order;
    ``extra_columns``: (n, k) more linear terms on the same points (a blank), scaled >= 0.
    """
    q = np.asarray(q, float)
    y = np.asarray(y, float)
    sigma = np.asarray(sigma, float)
    lo, hi = q_range if q_range is not None else (float(q[0]), float(q[-1]))
    fam = _strong_families(structure, lo, hi)
    # half a typical peak width beyond the last family, so its profile is seen on both sides
    q_top = min(hi, fam[-1] + 0.25 * (fam[-1] - lo) / max(len(fam), 1) + 0.3)
    sel = (q >= lo) & (q <= q_top)
    if sel.sum() < 20:
        raise NanotwinError(f"fewer than 20 data points in Q = {lo:.3g}-{q_top:.3g} 1/Å to survey")
    extra = np.zeros((int(sel.sum()), 0)) if extra_columns is None else np.asarray(extra_columns, float)[sel]
    qs, ys, ss = _binned(q[sel], y[sel], sigma[sel], SURVEY_STEP)
    if extra.shape[1]:
        extra = np.column_stack([np.interp(qs, q[sel], col) for col in extra.T])
    else:
        extra = np.zeros((qs.size, 0))
    bkg = chebyshev_basis(qs, background_order, qs.min(), qs.max())

    def basis(values: dict[str, float]) -> np.ndarray:
        pos = fam / (1.0 + values["expansion"])
        peaks = sphere_line(qs[:, None] - pos[None, :], values["size"], values["dispersion"])
        return np.column_stack([peaks, bkg, extra])

    names = ([f"peak_{k}" for k in range(len(fam))] + [f"bkg_{k}" for k in range(bkg.shape[1])]
             + [f"extra_{k}" for k in range(extra.shape[1])])
    nonneg = [True] * len(fam) + [False] * bkg.shape[1] + [True] * extra.shape[1]
    step_q = float(np.median(np.diff(qs)))
    largest = 2 * math.pi / (4 * step_q)  # Å: a line of at least ~4 points
    params = ParameterSet([Parameter("size", 50.0, True, 5.0, largest),
                           Parameter("dispersion", 0.2, True, 0.0, S_GRID[-1]),
                           Parameter("expansion", 0.0, True, -0.04, 0.04)])
    ref = Refinement(basis, params, ys, ss, names, nonneg)
    sizes = np.geomspace(8.0, largest / 2, 12)
    shifts = np.arange(-0.03, 0.0301, 0.004)
    ref.global_start({"size": list(sizes), "expansion": list(shifts), "dispersion": [0.2]})
    result = ref.run(max_nfev=200)
    v = result.params.values()
    d_vol, disp = float(v["size"]), float(v["dispersion"])
    beta_obs = 1.0 / float(sphere_line(np.zeros(1), d_vol, disp)[0])  # area (1) / height of the fitted line
    fwhm = 2 * math.pi * line_fwhm_u(disp) / d_vol
    notes = [f"peak survey: {len(fam)} reflection families of {structure.name} in Q = "
             f"{qs.min():.2f}-{qs.max():.2f} 1/Å, integral breadth {beta_obs:.4f} 1/Å"]
    beta = beta_obs
    if instrument_fwhm_q:
        beta_i = integral_breadth(float(instrument_fwhm_q), 0.0)
        beta = beta_obs - beta_i**2 / beta_obs
        notes.append(f"instrument breadth {beta_i:.4f} 1/Å removed (parabolic rule)")
        if beta <= 0.1 * beta_obs:
            raise NanotwinError(f"the peaks ({beta_obs:.4f} 1/Å) are hardly broader than the instrument "
                                f"({beta_i:.4f} 1/Å): no size can be read from them")
    areas = np.array([result.params[n].value for n in names[:len(fam)]])
    return PeakSurvey(breadth=beta, breadth_observed=beta_obs, fwhm=fwhm, dispersion=disp,
                      expansion=float(v["expansion"]), q=qs, y_obs=ys, y_calc=result.y_calc,
                      sigma=ss, positions=fam / (1.0 + float(v["expansion"])), areas=areas,
                      gof=float(result.gof), notes=notes)


# ---------------------------------------------------------------------------- sphere lines
S_GRID = np.round(np.arange(0.0, 0.62, 0.02), 2)  # relative dispersions of the tabulated lines
U_MAX = 40.0  # lines tabulated up to K <D>_vol = 40, then their 1/u^2 tails
_U = np.concatenate([np.linspace(0.0, 4.0, 801), np.linspace(4.02, U_MAX, 900)])


def _sphere_gamma(x: np.ndarray) -> np.ndarray:
    """Characteristic function of a sphere of unit diameter at distances x."""
    return np.where(x < 1.0, 1.0 - 1.5 * x + 0.5 * x**3, 0.0)


@cache
def _table(rel_sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """(u, P(u)): the unit-area line of log-normal spheres of relative number dispersion
    ``rel_sigma`` and volume-weighted mean diameter 1, at u = K <D>_vol (K = Q / 2 pi), from the
    volume-weighted characteristic function A(x) = int n(D) D^3 gamma0(x/D) dD / int n D^3 dD."""
    s = max(math.sqrt(math.log1p(rel_sigma**2)), 1e-6)  # one size: below, all diameters coincide
    mu = -3.5 * s * s  # number-based log mean for <D>_vol = exp(mu + 3.5 s^2) = 1
    z = np.linspace(-6.0, 6.0, 241)
    d = np.exp(mu + s * z)
    w = lognorm.pdf(d, s, scale=math.exp(mu)) * np.gradient(d) * d**3
    x = np.linspace(0.0, float(d.max()), 3001)
    a = (w[None, :] * _sphere_gamma(x[:, None] / d[None, :])).sum(axis=1)
    a /= a[0]
    dx = x[1] - x[0]
    line = 2.0 * np.trapezoid(a[None, :] * np.cos(2.0 * np.pi * _U[:, None] * x[None, :]), dx=dx, axis=1)
    return _U, np.maximum(line, 0.0)


def _line_u(u: np.ndarray, rel_sigma: float) -> np.ndarray:
    """The tabulated line at |u|, linear between the two nearest tabulated dispersions."""
    u = np.abs(u)
    k = int(np.clip(np.searchsorted(S_GRID, rel_sigma) - 1, 0, len(S_GRID) - 2))
    t = float(np.clip((rel_sigma - S_GRID[k]) / (S_GRID[k + 1] - S_GRID[k]), 0.0, 1.0))
    out = np.zeros(u.shape)
    for weight, s in ((1.0 - t, S_GRID[k]), (t, S_GRID[k + 1])):
        if weight:
            grid, line = _table(float(s))
            tail = line[-1] * (U_MAX / np.maximum(u, U_MAX)) ** 2
            out += weight * np.where(u <= U_MAX, np.interp(u, grid, line), tail)
    return out


def sphere_line(dq: np.ndarray, d_vol: float, rel_sigma: float) -> np.ndarray:
    """Unit-area (in Q) size-broadened line of log-normal spheres at offsets ``dq`` (1/Å):
    volume-weighted mean diameter ``d_vol`` (Å), relative number dispersion ``rel_sigma``."""
    return _line_u(np.asarray(dq) * d_vol / (2.0 * np.pi), rel_sigma) * d_vol / (2.0 * np.pi)


def line_fwhm_u(rel_sigma: float) -> float:
    """FWHM of the tabulated line in u = K <D>_vol."""
    grid, line = _table(float(S_GRID[int(np.argmin(np.abs(S_GRID - rel_sigma)))]))
    half = line[0] / 2
    i = int(np.argmax(line < half))
    return float(2 * (grid[i - 1] + (grid[i] - grid[i - 1]) * (line[i - 1] - half) / (line[i - 1] - line[i])))


def shape_ratio_of_lognormal_spheres(rel_sigma: float) -> float:
    """FWHM / integral breadth of the line of log-normal spheres (relative number dispersion
    ``rel_sigma``): 0.830 for one size, falling as the distribution broadens."""
    return line_fwhm_u(rel_sigma) * _table(float(S_GRID[int(np.argmin(np.abs(S_GRID - rel_sigma)))]))[1][0]
