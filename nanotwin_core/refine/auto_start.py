"""Defaults that work on a raw file: the fitted range and the size population, read from the data.

``fit_defaults(model, data)`` states each choice with its reason (the command line prints them,
the window shows them). The rules, none tuned to a data set:

- **Start of the range, above the small-angle rise and at the first peak.** Below
  ``SMALL_ANGLE_FRACTION`` of the first strong reflection's Q, a pattern is small-angle
  scattering (the particles' form factor, a beam stop's edge): from the highest point there the
  intensity falls to a minimum before the first peak rises. Between that minimum and the first
  reflection the data hold no peak of the model, only diffuse scattering and what the model
  lacks (halos of solvents, ligands, capillaries, which overlap the first peak's low side): the
  range starts at the half maximum on the low side of the first strong reflection (its FWHM from
  a survey of the peaks above it, ``peak_survey``), or at the minimum if that is higher. The
  upper half of the first peak carries its width as well as the whole peak would. If the survey
  from there still finds data above its model at the low end, below the first reflection
  (``diagnostics.low_q_excess``), the start moves to where that excess has died out.
- **End of the range, where the peaks fall into the noise.** The peak signal is the data
  smoothed over a quarter of the peak breadth beta minus the data smoothed over two breadths
  (what varies on the scale of a peak); in windows of two breadths its rms is compared with the
  noise of the smoothed data, sigma / sqrt(points in beta/4). The range ends one window after the
  last window whose signal-to-noise reaches ``SN_LEVEL``.
- **Sizes from the integral breadth of the strongest peaks** (Scherrer): the survey's common
  integral breadth beta (1/Å, instrument removed when known) gives the volume-weighted mean
  column length <L>_vol = 2 pi / beta; a sphere of diameter D has <L>_vol = 3 D / 4, so the
  volume-weighted mean diameter is ``SPHERE_SCHERRER_K`` x 2 pi / beta with K = 4/3 (Langford &
  Wilson 1978: K_beta = 1.0747 for the cube root of the volume). The relative dispersion comes
  from the line shape (FWHM / beta: 0.83 for one size, falling with the dispersion), the
  number-based mean from the log-normal's <D>_vol = <D> (1 + s^2)^3. Other shapes start from
  the crystal of the same volume as that sphere (bivariate shapes with equal sizes).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy.ndimage import uniform_filter1d

from nanotwin_core.builder.shape_kinds import get_shape
from nanotwin_core.errors import NanotwinError
from nanotwin_core.geometry import q_from_two_theta, two_theta_from_q
from nanotwin_core.model_parts import PopulationSpec
from nanotwin_core.refine.background import blank_on_grid
from nanotwin_core.refine.diagnostics import low_q_excess
from nanotwin_core.refine.instrument import caglioti_fwhm
from nanotwin_core.refine.peak_survey import (
    STRONG_FRACTION,
    PeakSurvey,
    reflection_strength,
    survey_peaks,
)
from nanotwin_core.reflections import reflections

__all__ = ["FitDefaults", "SMALL_ANGLE_FRACTION", "SN_LEVEL", "SPHERE_SCHERRER_K", "first_strong_q",
           "fit_defaults", "population_from_survey", "signal_end", "small_angle_end"]

SMALL_ANGLE_FRACTION = 0.75  # below this fraction of the first strong reflection's Q: small angles
SN_LEVEL = 3.0  # the range ends where the peaks' signal-to-noise falls below this
FIRST_PEAK_MARGIN = 0.98  # the first survey starts just below the first reflection (lattices differ ~2 %)
SPHERE_SCHERRER_K = 4.0 / 3.0  # volume-weighted mean diameter x beta / 2 pi for spheres
# the line shape's dispersion is a rough guide (other broadening makes the line more Lorentzian):
# the start dispersion is kept within these bounds, the fit refines it
START_DISPERSION = (0.1, 0.3)


@dataclass
class FitDefaults:
    """The defaults read from the data: ``q_range`` (1/Å), ``population`` (None when the model
    keeps its own), the ``survey`` they came from, and one ``reasons`` line per choice."""

    q_range: tuple[float, float]
    population: PopulationSpec | None
    survey: PeakSurvey
    reasons: list[str] = field(default_factory=list)
    volume_mean_nm: float = math.nan  # the Scherrer estimate of the volume-weighted mean diameter
    dispersion: float = math.nan  # and of the relative dispersion


def first_strong_q(structure, q_max: float) -> float:
    """Q (1/Å) of the structure's first reflection family with a strength (``reflection_strength``)
    of at least 5 % of the strongest's."""
    refl = reflections(structure, q_max, classify=False)
    if not refl:
        raise NanotwinError(f"{structure.name} has no reflection below Q = {q_max:.3g} 1/Å")
    power = np.array([reflection_strength(r) for r in refl])
    return float(refl[int(np.flatnonzero(power >= STRONG_FRACTION * power.max())[0])].q)


def _points(q: np.ndarray, width_q: float) -> int:
    """Points in a Q window of ``width_q`` (1/Å) at the data's median step (at least 3)."""
    return max(3, int(round(width_q / float(np.median(np.diff(q))))))


def small_angle_end(q: np.ndarray, y: np.ndarray, q_first: float) -> tuple[float, str]:
    """(Q where the small-angle rise ends, reason): the module doc's first rule."""
    region = np.flatnonzero(q < SMALL_ANGLE_FRACTION * q_first)
    if region.size < 10:
        return float(q[0]), (f"the data start at Q = {q[0]:.3g} 1/Å, above the small-angle region "
                             f"(below {SMALL_ANGLE_FRACTION:g} x the first reflection, {q_first:.3g} 1/Å)")
    ys = uniform_filter1d(y[: region[-1] + 1], _points(q, 0.02 * q_first), mode="nearest")
    top = int(np.argmax(ys))
    low = top + int(np.argmin(ys[top:]))
    return float(q[low]), (f"the small-angle rise ends at Q = {q[low]:.3g} 1/Å (the lowest intensity between "
                           f"its maximum at {q[top]:.3g} 1/Å and the first reflection at {q_first:.3g} 1/Å)")


def signal_end(q: np.ndarray, y: np.ndarray, sigma: np.ndarray, breadth: float) -> tuple[float, str]:
    """(Q where the peaks fall into the noise, reason): the module doc's second rule."""
    n_fine = _points(q, breadth / 4)
    n_wide = _points(q, 2 * breadth)
    signal = uniform_filter1d(y, n_fine, mode="nearest") - uniform_filter1d(y, n_wide, mode="nearest")
    noise = sigma / math.sqrt(n_fine)
    n_win = max(1, len(q) // n_wide)
    ratios = np.array([np.sqrt(np.mean(signal[k * n_wide:(k + 1) * n_wide] ** 2))
                       / np.median(noise[k * n_wide:(k + 1) * n_wide]) for k in range(n_win)])
    strong = np.flatnonzero(ratios >= SN_LEVEL)
    if strong.size == 0:
        raise NanotwinError(f"no peak stands {SN_LEVEL:g} times above the noise anywhere in the data")
    last = min(int(strong[-1]) + 2, n_win) * n_wide - 1
    if last >= len(q) - n_wide:
        return float(q[-1]), (f"the peaks stand above the noise up to the end of the data (signal-to-noise "
                              f">= {SN_LEVEL:g} in windows of {2 * breadth:.2g} 1/Å)")
    return float(q[last]), (f"the peaks fall into the noise above Q = {q[last]:.3g} 1/Å (signal-to-noise "
                            f"< {SN_LEVEL:g} in windows of {2 * breadth:.2g} 1/Å beyond)")


def population_from_survey(shape: str, structure,
                           survey: PeakSurvey) -> tuple[PopulationSpec, float, float, str]:
    """(start population, volume-weighted mean diameter (nm), relative dispersion, reason) from a
    survey's breadth and line shape (module doc)."""
    d_vol = SPHERE_SCHERRER_K * survey.column_length / 10.0
    s_shape = float(survey.dispersion)
    s = min(max(s_shape, START_DISPERSION[0]), START_DISPERSION[1])
    d_num = d_vol / (1.0 + s * s) ** 3
    kind = get_shape(shape)
    sphere_volume = math.pi / 6.0 * d_num**3
    ref = 10.0  # nm: a reference crystal for the shape's volume per size^3 (whole cells at this size)
    per_size3 = kind.volume_nm3(structure, {a: ref for a in kind.size_attrs}) / ref**3
    size = float((sphere_volume / per_size3) ** (1.0 / 3.0))
    if kind.bivariate:
        pop = PopulationSpec(Dab=size, sab=s, Lc=size, sc=s)
        what = f"Dab = Lc = {size:.3g} nm (the {shape} of the sphere's volume), sab = sc = {s:.2f}"
    else:
        pop = PopulationSpec(D=size, sD=s)
        what = (f"D = {size:.3g} nm, sD = {s:.2f}" if shape == "sphere" else
                f"D = {size:.3g} nm (the {shape} of the sphere's volume), sD = {s:.2f}")
    lo, hi = START_DISPERSION
    reason = (f"start sizes from the integral breadth {survey.breadth:.4g} 1/Å of the strongest peaks "
              f"(Scherrer, K = 4/3 for a sphere's diameter): volume-weighted mean diameter {d_vol:.3g} nm; "
              f"dispersion {s_shape:.2f} from the line shape (FWHM/breadth {survey.shape_ratio:.3f}), "
              f"started at {s:.2f} (kept within {lo:g}-{hi:g}); number-based {what}")
    return pop, d_vol, s, reason


def _instrument_fwhm_q(model, data, q_first: float) -> float | None:
    """The instrument's FWHM in Q (1/Å) at the first strong reflection (2theta data with a
    Caglioti resolution), else None."""
    cag = model.instrument.caglioti
    if cag is None or data.x_kind != "tth" or not data.wavelength:
        return None
    tth = float(two_theta_from_q(q_first, data.wavelength))
    fwhm_deg = float(caglioti_fwhm(np.array([tth]), *cag)[0])
    return 4 * math.pi / data.wavelength * math.cos(math.radians(tth / 2)) * math.radians(fwhm_deg / 2)


def fit_defaults(model, data, *, structure=None, blank=None, choose_range: bool = True,
                 choose_population: bool = True) -> FitDefaults:
    """The fitted range and start population read from ``data`` (``PatternData``) for ``model``
    (module doc). ``blank``: the blank pattern (``PatternData``), surveyed with the peaks.
    ``choose_range=False`` keeps ``model.fit``'s range; ``choose_population=False`` returns
    ``population=None``."""
    structure = model.load_structure() if structure is None else structure
    q = data.q()
    keep = np.asarray(data.mask, bool) & np.isfinite(data.y)
    q, y, sigma = q[keep], data.y[keep], data.sigma_used[keep]
    extra = None
    if blank is not None:
        extra = blank_on_grid(blank, data.x[keep], data.x_kind, data.wavelength)[:, None]
    q_first = first_strong_q(structure, float(q[-1]))
    reasons: list[str] = []
    fixed = model.fit.q_range
    if fixed is None and model.fit.tth_range is not None and data.wavelength:
        fixed = tuple(float(v) for v in q_from_two_theta(np.asarray(model.fit.tth_range), data.wavelength))
    instrument = _instrument_fwhm_q(model, data, q_first)

    def survey(lo: float, hi: float) -> PeakSurvey:
        return survey_peaks(q, y, sigma, structure, q_range=(lo, hi), instrument_fwhm_q=instrument,
                            extra_columns=extra)

    if choose_range or fixed is None:
        q_dip, why = small_angle_end(q, y, q_first)
        reasons.append(why)
        # the peaks' width first, from the first reflection's centre up (clear of any halo below it)
        first = survey(max(q_dip, FIRST_PEAK_MARGIN * q_first), float(q[-1]))
        q_peak = q_first / (1.0 + first.expansion)
        q_lo = max(q_dip, q_peak - first.fwhm / 2)
        if q_lo > q_dip:
            reasons.append(f"the range starts at the half maximum below the first strong reflection "
                           f"({q_peak:.3g} - {first.fwhm / 2:.3g} 1/Å): further down the data hold no peak "
                           "of the model, only diffuse scattering and what the model lacks (solvent, "
                           "ligand, capillary)")
        found = survey(q_lo, float(q[-1]))
        excess = low_q_excess(found.q, found.y_obs, found.y_calc, found.sigma)
        if excess is not None and q_lo < excess.x_end < q_first:
            q_lo = excess.x_end
            reasons.append(f"the data up to Q = {q_lo:.3g} 1/Å lie above the peaks' model (a halo at "
                           f"{excess.x_peak:.3g} 1/Å: solvent, ligand or capillary scattering"
                           + (" beyond the blank" if blank is not None else "") + "): the range starts there")
            found = survey(q_lo, float(q[-1]))
        q_hi, why = signal_end(q[q >= q_lo], y[q >= q_lo], sigma[q >= q_lo], found.breadth)
        reasons.append(why)
    else:
        q_lo, q_hi = fixed
        found = survey(q_lo, q_hi)
    survey_result = found
    reasons.extend(survey_result.notes)
    pop, d_vol, s = None, math.nan, math.nan
    if choose_population:
        pop, d_vol, s, why = population_from_survey(model.shape, structure, survey_result)
        reasons.append(why)
    return FitDefaults(q_range=(float(q_lo), float(q_hi)), population=pop, survey=survey_result,
                       reasons=reasons, volume_mean_nm=d_vol, dispersion=s)
