"""A quick look at a measured pattern before any Debye sum: where its peaks are and how broad.

``survey_peaks`` fits the low-Q part of a pattern (Q in 1/Å) with one pseudo-Voigt per
reflection family of the model's structure (positions from its cell and space group, scaled by
1/(1 + e) for a lattice expansion e), every peak with its own non-negative area, all with one
common FWHM and Lorentzian fraction eta, on a Chebyshev background (variable projection, like
the DSE fit). Free areas make the breadth blind to wrong intensities (texture, a wrong
structure factor), one common width makes overlapping peaks tractable. It gives:

- the integral breadth beta = FWHM / (eta 2/pi + (1 - eta) 2 sqrt(ln2/pi)) in 1/Å, the
  instrument's removed when its resolution is known (parabolic rule beta_s = beta - beta_i^2/beta,
  Langford 1992, between the Lorentzian and the Gaussian limits);
- the ratio FWHM/beta, which tells a narrow size distribution (sphere profile: 0.835) from a
  broad one (0.72 at a relative dispersion 0.5), see ``dispersion_from_shape_ratio``;
- the expansion e, and the residual (peaks the model's reflections leave unexplained).

Size broadening does not change with Q, strain broadening grows with it, so the survey uses the
strongest low-Q reflections: the lowest ``SURVEY_FAMILIES`` families whose m |F|^2 reaches 5 %
of the strongest's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cache

import numpy as np
from scipy.optimize import brentq
from scipy.stats import lognorm

from nanotwin_core.errors import NanotwinError
from nanotwin_core.refine.background import chebyshev_basis
from nanotwin_core.refine.engine import Refinement
from nanotwin_core.refine.instrument import pseudo_voigt
from nanotwin_core.refine.parameters import Parameter, ParameterSet
from nanotwin_core.reflections import reflections

__all__ = ["PeakSurvey", "SURVEY_FAMILIES", "dispersion_from_shape_ratio", "integral_breadth",
           "shape_ratio_of_lognormal_spheres", "survey_peaks"]

SURVEY_FAMILIES = 8  # strong reflection families the survey fits (the lowest in Q)
STRONG_FRACTION = 0.05  # a family is strong when m |F|^2 >= this x the strongest family's
_G_HEIGHT = 2.0 * math.sqrt(math.log(2.0) / math.pi)  # unit-area Gaussian height x FWHM
_L_HEIGHT = 2.0 / math.pi  # unit-area Lorentzian height x FWHM


def integral_breadth(fwhm: float, eta: float) -> float:
    """Integral breadth (area / height) of a pseudo-Voigt of ``fwhm`` and Lorentzian fraction eta."""
    return fwhm / (eta * _L_HEIGHT + (1.0 - eta) * _G_HEIGHT)


@dataclass
class PeakSurvey:
    """What ``survey_peaks`` found (Q in 1/Å).

    ``breadth``: integral breadth beta of the common profile, instrument removed (1/Å);
    ``breadth_observed``: before removal; ``fwhm``, ``eta``: the common pseudo-Voigt;
    ``expansion``: lattice expansion e (data peaks at Q_hkl / (1 + e)); ``q``, ``y_obs``,
    ``y_calc``, ``sigma``: the surveyed points and the fit; ``positions``: fitted peak positions
    (1/Å) with their ``areas``; ``gof``: of the survey fit; ``notes``: what was assumed.
    """

    breadth: float
    breadth_observed: float
    fwhm: float
    eta: float
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
        """FWHM / integral breadth of the fitted profile (0.637 Lorentzian ... 0.939 Gaussian)."""
        return self.fwhm / self.breadth_observed

    @property
    def column_length(self) -> float:
        """Volume-weighted mean column length <L>_vol = 2 pi / beta (Å) of the size broadening."""
        return 2.0 * math.pi / self.breadth


def _strong_families(structure, q_lo: float, q_hi: float) -> np.ndarray:
    """Q (1/Å) of the reflection families the survey fits (see module doc)."""
    refl = reflections(structure, q_hi * 1.05, classify=False)
    if not refl:
        raise NanotwinError(f"{structure.name} has no reflection below Q = {q_hi:.3g} 1/Å")
    power = np.array([r.multiplicity * r.f_squared for r in refl])
    qs = np.array([r.q for r in refl])
    strong = np.flatnonzero((power >= STRONG_FRACTION * power.max()) & (qs >= q_lo))
    if strong.size == 0:
        raise NanotwinError(f"{structure.name}: no strong reflection in Q = {q_lo:.3g}-{q_hi:.3g} 1/Å")
    q_last = qs[strong[min(SURVEY_FAMILIES, strong.size) - 1]]
    keep = (qs >= q_lo) & (qs <= q_last) & (power >= 1e-3 * power.max())
    return qs[keep]


def survey_peaks(
    q: np.ndarray,
    y: np.ndarray,
    sigma: np.ndarray,
    structure,
    *,
    q_range: tuple[float, float] | None = None,
    instrument_fwhm_q: float | None = None,
    background_order: int = 4,
) -> PeakSurvey:
    """Fit the strong low-Q reflections of ``structure`` in the data (module doc).

    ``q``, ``y``, ``sigma``: the pattern on a Q axis (1/Å), increasing; ``q_range``: where to
    look (default: all of it); ``instrument_fwhm_q``: the instrument's FWHM in Q (1/Å) near the
    strong peaks, removed from the breadth; ``background_order``: Chebyshev order.
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
    qs, ys, ss = q[sel], y[sel], sigma[sel]
    bkg = chebyshev_basis(qs, background_order, qs.min(), qs.max())

    def basis(values: dict[str, float]) -> np.ndarray:
        pos = fam / (1.0 + values["expansion"])
        peaks = pseudo_voigt(qs[:, None] - pos[None, :], values["fwhm"], values["eta"])
        return np.column_stack([peaks, bkg])

    names = [f"peak_{k}" for k in range(len(fam))] + [f"bkg_{k}" for k in range(bkg.shape[1])]
    nonneg = [True] * len(fam) + [False] * bkg.shape[1]
    step_q = float(np.median(np.diff(qs)))
    params = ParameterSet([Parameter("fwhm", 0.1, True, max(2 * step_q, 1e-3), 2.0),
                           Parameter("eta", 0.5, True, 0.0, 1.0),
                           Parameter("expansion", 0.0, True, -0.04, 0.04)])
    ref = Refinement(basis, params, ys, ss, names, nonneg)
    widths = np.geomspace(max(4 * step_q, 0.005), 1.0, 16)
    shifts = np.arange(-0.03, 0.0301, 0.003)
    ref.global_start({"fwhm": list(widths), "expansion": list(shifts), "eta": [0.5]})
    result = ref.run(max_nfev=200)
    v = result.params.values()
    fwhm, eta = float(v["fwhm"]), float(v["eta"])
    beta_obs = integral_breadth(fwhm, eta)
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
    return PeakSurvey(breadth=beta, breadth_observed=beta_obs, fwhm=fwhm, eta=eta,
                      expansion=float(v["expansion"]), q=qs, y_obs=ys, y_calc=result.y_calc,
                      sigma=ss, positions=fam / (1.0 + float(v["expansion"])), areas=areas,
                      gof=float(result.gof), notes=notes)


# ---------------------------------------------------------------------------- profile shape
def _sphere_gamma(x: np.ndarray) -> np.ndarray:
    """Characteristic function of a sphere of unit diameter at distances x."""
    return np.where(x < 1.0, 1.0 - 1.5 * x + 0.5 * x**3, 0.0)


@cache
def shape_ratio_of_lognormal_spheres(rel_sigma: float) -> float:
    """FWHM / integral breadth of the size-broadened line of log-normal spheres (relative
    number dispersion ``rel_sigma``), from the volume-weighted column-length function
    A(L) = int n(D) D^3 gamma0(L/D) dD / int n(D) D^3 dD and its cosine transform."""
    s = math.sqrt(math.log1p(rel_sigma**2)) if rel_sigma > 0 else 1e-6
    mu = -0.5 * s * s  # number mean 1
    z = np.linspace(-6.0, 6.0, 241)
    d = np.exp(mu + s * z)
    w = lognorm.pdf(d, s, scale=math.exp(mu)) * np.gradient(d) * d**3
    length = np.linspace(0.0, float(d.max()), 3001)
    a = (w[None, :] * _sphere_gamma(length[:, None] / d[None, :])).sum(axis=1)
    a /= a[0]
    dl = length[1] - length[0]

    def profile(k: float) -> float:  # the line at K = Q / 2 pi (unit area)
        return 2.0 * float(np.trapezoid(a * np.cos(2.0 * np.pi * k * length), dx=dl))

    height = profile(0.0)
    beta = 1.0 / height
    k_half = brentq(lambda k: profile(k) - height / 2.0, 1e-6, 2.0 * beta)
    return float(2.0 * k_half / beta)


def dispersion_from_shape_ratio(ratio: float, lo: float = 0.05, hi: float = 0.45) -> float:
    """The relative dispersion of log-normal spheres whose line has FWHM/beta = ``ratio``,
    clipped to [lo, hi] (the ratio falls from 0.835 for one size to 0.72 at 0.5)."""
    grid = np.linspace(lo, hi, 17)
    ratios = np.array([shape_ratio_of_lognormal_spheres(round(float(g), 4)) for g in grid])
    # ratios fall with the dispersion: interpolate on the reversed arrays
    return float(np.interp(ratio, ratios[::-1], grid[::-1]))
